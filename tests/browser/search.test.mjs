// Find a number: the search box lists results as you type (digits, a
// country in Chinese, a service), from the header of any page and on
// /search; with JavaScript off the same form submits to /search.

import { test } from "node:test";
import assert from "node:assert/strict";
import { chromiumForTheseTests, startSite } from "./harness.mjs";

const browser = chromiumForTheseTests();

async function until(what, check) {
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`never: ${what}`);
}

for (const mode of ["embedded", "distributed"]) {
  test(`${mode}: search as you type, and without JavaScript`, async () => {
    // The snapshot is read on every search: what was sent is found at once.
    const site = await startSite(mode, "s", { CLOUDSMS_GATEWAY__ACTIVITY_REFRESH_SECS: "0" });
    const context = await browser().newContext();
    const noJs = await browser().newContext({ javaScriptEnabled: false });
    const errors = [];
    try {
      await site.sendSms("WhatsApp", "Your WhatsApp code: 123-456");
      await until("the WhatsApp code to be counted", async () => {
        const r = await fetch(`${site.site}/api/v1/search?q=whatsapp`);
        return (await r.json()).numbers.length === 1;
      });
      const numberLink = `a[href="/numbers/${site.number}"]`;

      const page = await context.newPage();
      page.on("pageerror", (e) => errors.push(String(e)));
      await page.goto(`${site.site}/search`);
      const live = page.locator("#search-live");
      // Digits, national form.
      await page.locator("#q").pressSequentially("07700 900555", { delay: 20 });
      await live.locator(numberLink).waitFor({ timeout: 10_000 });
      assert.match(await live.textContent(), /codes from WhatsApp ×1 in 24 h · 1 messages in all/);
      // A country in Chinese.
      await page.locator("#q").fill("");
      await page.locator("#q").pressSequentially("英国", { delay: 20 });
      await live.locator('a[href="/countries/gb"]').waitFor({ timeout: 10_000 });
      // A service, any case.
      await page.locator("#q").fill("");
      await page.locator("#q").pressSequentially("whatsA", { delay: 20 });
      await live.locator('a[href="/services/whatsapp"]').waitFor({ timeout: 10_000 });
      assert.ok(await live.locator(numberLink).count() === 1);
      assert.equal(await page.locator("#search-results").isHidden(), true);

      // In Chinese, from the header of the home page.
      const zh = await context.newPage();
      zh.on("pageerror", (e) => errors.push(String(e)));
      await zh.goto(`${site.site}/?lang=zh-CN`);
      await zh.locator("#site-q").pressSequentially("英国", { delay: 20 });
      const header = zh.locator("#site-results");
      // Links stay in the page's language.
      await header.locator('a[href="/zh-CN/countries/gb"]').waitFor({ timeout: 10_000 });
      assert.match(await header.textContent(), /英国/);
      assert.match(await header.textContent(), /24 小时内验证码来自 WhatsApp ×1/);
      await zh.locator("#site-q").fill("微信");
      await header.locator('a[href="/zh-CN/services/wechat"]').waitFor({ timeout: 10_000 });
      assert.match(await header.textContent(), /微信/);

      // JavaScript off: the header's form submits to /search.
      const plain = await noJs.newPage();
      await plain.goto(`${site.site}/`);
      await plain.locator("#site-q").fill("+44 7700 900555");
      await Promise.all([plain.waitForURL(/\/search\?q=/), plain.locator("#site-q").press("Enter")]);
      assert.match(plain.url(), /\/search\?q=%2B44\+7700\+900555$/);
      await plain.locator(`#search-results ${numberLink}`).waitFor({ timeout: 5_000 });
      assert.equal(await plain.locator("#q").inputValue(), "+44 7700 900555");
      // And the service's page from there.
      await plain.goto(`${site.site}/search?q=whatsapp`);
      await Promise.all([plain.waitForURL(/\/services\/whatsapp$/), plain.locator('#search-results a[href="/services/whatsapp"]').click()]);
      await plain.locator(`ol.ranked ${numberLink}`).waitFor({ timeout: 5_000 });
      assert.deepEqual(errors, []);
    } finally {
      await context.close();
      await noJs.close();
      await site.stop();
    }
  });
}

for (const mode of ["embedded", "distributed"]) {
  test(`${mode}: a service's page ranks numbers by its codes of the last 24 h`, async () => {
    const other = "+447700900556";
    const site = await startSite(mode, "r", { CLOUDSMS_GATEWAY__ACTIVITY_REFRESH_SECS: "0" }, [other]);
    const context = await browser().newContext();
    try {
      await site.sendSms("WhatsApp", "Your WhatsApp code: 111-222");
      await site.sendSms("WhatsApp", "Your WhatsApp code: 333-444", other);
      await site.sendSms("WhatsApp", "Your WhatsApp code: 555-666", other);
      await site.sendSms("Telegram", "Telegram code: 77777");
      const page = await context.newPage();
      const ranked = async () => {
        await page.goto(`${site.site}/services/whatsapp`);
        return page.locator("ol.ranked li a").evaluateAll((links) => links.map((a) => a.getAttribute("href")));
      };
      await until("both numbers to be ranked", async () => (await ranked()).length === 2);
      // Two codes before one, whatever the order they were sent in.
      assert.deepEqual(await ranked(), [`/numbers/${other}`, `/numbers/${site.number}`]);
      assert.match(await page.locator("ol.ranked li").first().textContent(), /2 codes in 24 h/);
      // The newest code on top, one tap to copy; Telegram's is not here.
      assert.equal(await page.locator("ol.codes button").first().getAttribute("data-copy"), "555666");
      assert.equal(await page.getByText("77777").count(), 0);
      // In Chinese, the same ranking at the Chinese URL.
      await page.goto(`${site.site}/zh-CN/services/whatsapp`);
      assert.deepEqual(
        await page.locator("ol.ranked li a").evaluateAll((links) => links.map((a) => a.getAttribute("href"))),
        [`/zh-CN/numbers/${other}`, `/zh-CN/numbers/${site.number}`],
      );
    } finally {
      await context.close();
      await site.stop();
    }
  });
}
