// Times stay true while a page is open: ages ("3 min ago") move on, and a
// code whose text says how long it is valid counts down and is greyed out
// once expired, in both languages. The browser's clock is faked
// (playwright's clock API) and fast-forwarded instead of waiting.

import { test } from "node:test";
import assert from "node:assert/strict";
import { chromiumForTheseTests, startSite } from "./harness.mjs";

const browser = chromiumForTheseTests();

for (const mode of ["embedded", "distributed"]) {
  test(`${mode}: ages move on and a code's validity counts down to a greyed code`, async () => {
    const site = await startSite(mode, "t");
    const context = await browser().newContext();
    const errors = [];
    try {
      // Live: a message that arrives while the page is open.
      const page = await context.newPage();
      page.on("pageerror", (e) => errors.push(String(e)));
      await page.clock.install();
      await page.goto(`${site.site}/numbers/${site.number}`);
      await page.waitForFunction(() => document.readyState === "complete");
      await page.waitForTimeout(500);
      await site.sendSms("Bank", "Your code is 552211. Valid for 2 minutes.");
      const item = page.locator("#messages li.msg.new").first();
      await item.waitFor({ timeout: 15_000 });
      assert.equal(await item.locator("time.ago").textContent(), "just now");
      assert.match(await item.locator(".validity").textContent(), /^expires in [12]:\d\d$/);
      assert.doesNotMatch(await item.locator("button.code").getAttribute("class"), /expired/);

      await page.clock.fastForward("00:30");
      assert.match(await item.locator("time.ago").textContent(), /^(3\d|4\d) s ago$/);
      assert.match(await item.locator(".validity").textContent(), /^expires in 1:\d\d$/);

      await page.clock.fastForward("03:00");
      assert.equal(await item.locator("time.ago").textContent(), "3 min ago");
      assert.equal(await item.locator(".validity").textContent(), "expired");
      assert.match(await item.locator("button.code").getAttribute("class"), /\bexpired\b/);

      // Rendered by the server, in Chinese: the same, after a reload.
      const zh = await context.newPage();
      zh.on("pageerror", (e) => errors.push(String(e)));
      await zh.clock.install();
      await zh.goto(`${site.site}/numbers/${site.number}?lang=zh-CN`);
      const first = zh.locator("#messages li.msg").first();
      assert.match(await first.locator("time.ago").textContent(), /^(刚刚|\d+ 秒前)$/);
      assert.match(await first.locator(".validity").textContent(), /^\d:\d\d 后过期$/);
      await zh.clock.fastForward("10:00");
      assert.equal(await first.locator("time.ago").textContent(), "10 分钟前");
      assert.equal(await first.locator(".validity").textContent(), "已过期");
      assert.match(await first.locator("button.code").getAttribute("class"), /\bexpired\b/);
      // The home page's card age moves on too.
      await zh.goto(`${site.site}/?lang=zh-CN`);
      await zh.clock.fastForward("02:00:00");
      assert.equal(await zh.locator(".card time.ago").first().textContent(), "2 小时前");
      assert.deepEqual(errors, []);
    } finally {
      await context.close();
      await site.stop();
    }
  });
}
