// Explanations: a number's page explains how to use it in a <details> that
// opens, and shows a QR code of its address as a lazily loaded image; the
// FAQ page reads at 320 px in both languages without scrolling sideways.

import { test } from "node:test";
import assert from "node:assert/strict";
import { chromiumForTheseTests, startSite } from "./harness.mjs";

const browser = chromiumForTheseTests();

for (const mode of ["embedded", "distributed"]) {
  test(`${mode}: the number page explains itself, its QR code loads, the FAQ fits a phone`, async () => {
    const site = await startSite(mode, "x");
    const context = await browser().newContext({ viewport: { width: 320, height: 640 } });
    const errors = [];
    const requests = [];
    try {
      const page = await context.newPage();
      page.on("pageerror", (e) => errors.push(String(e)));
      // Any failed request but the favicon (the site has none yet).
      page.on("response", (r) => {
        if (r.status() >= 400 && !r.url().endsWith("/favicon.ico")) errors.push(`${r.status()} ${r.url()}`);
      });
      page.on("request", (r) => requests.push(r.url()));
      await page.goto(`${site.site}/numbers/${site.number}`);

      // The explainer is closed, then opens on a tap.
      const help = page.locator("details.help");
      assert.equal(await help.getAttribute("open"), null);
      const point = help.locator("li").first();
      assert.equal(await point.isVisible(), false);
      await help.locator("summary").click();
      assert.equal(await point.isVisible(), true);
      assert.match(await point.textContent(), /without \+44/);
      assert.equal(await help.locator('a[href="/faq"]').count(), 1);

      // The QR code is not fetched before it is shown, then loads.
      assert.equal(requests.some((u) => u.includes("/qr.svg")), false, "a closed QR code is not loaded");
      await page.locator("details.qr summary").click();
      const img = page.locator("details.qr img");
      await img.waitFor({ state: "visible" });
      await page.waitForFunction(() => {
        const i = document.querySelector("details.qr img");
        return i.complete && i.naturalWidth > 0;
      }, null, { timeout: 10_000 });
      assert.ok(await img.evaluate((i) => i.naturalWidth) > 0);
      assert.ok(requests.every((u) => u.startsWith(site.site)), "no third-party request");
      assert.equal(
        await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth),
        true,
        "the number page fits 320 px with both open",
      );

      // The FAQ, linked from the explainer, in both languages at 320 px.
      await help.locator('a[href="/faq"]').click();
      await page.waitForURL(`${site.site}/faq`);
      for (const [lang, heading] of [["en", "Questions and answers"], ["zh-CN", "常见问题"]]) {
        await page.goto(`${site.site}/faq?lang=${lang}`);
        assert.equal(await page.locator("h1").textContent(), heading);
        assert.ok(await page.locator("section.faq-item").count() >= 8);
        assert.equal(await page.locator("html").getAttribute("lang"), lang);
        assert.equal(
          await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth),
          true,
          `the ${lang} FAQ scrolls sideways at 320 px`,
        );
        const data = JSON.parse(await page.locator('script[type="application/ld+json"]').textContent());
        assert.equal(data["@type"], "FAQPage");
        assert.equal(data.mainEntity.length, await page.locator("section.faq-item").count());
      }
      assert.deepEqual(errors, []);
    } finally {
      await context.close();
      await site.stop();
    }
  });
}
