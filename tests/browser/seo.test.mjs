// Per-language URLs in a real browser: the language link in the header
// lands on the page's /zh-CN URL (and back), the head names the page's own
// URL as canonical with hreflang alternates, and no request fails (the
// browser's own /favicon.ico included). Runs in both modes.

import { test } from "node:test";
import assert from "node:assert/strict";
import { chromiumForTheseTests, startSite } from "./harness.mjs";

const browser = chromiumForTheseTests();

for (const mode of ["embedded", "distributed"]) {
  test(`${mode}: the language link leads to the page's Chinese URL, and nothing 404s`, async () => {
    const site = await startSite(mode, "s");
    const context = await browser().newContext({ locale: "en-US" });
    const page = await context.newPage();
    const failed = [];
    const seen = [];
    page.on("response", (r) => {
      seen.push(new URL(r.url()).pathname);
      if (r.status() >= 400) failed.push(`${r.status()} ${r.url()}`);
    });
    // Leaving a page aborts what it still loads (its live stream, the
    // favicon): that is no failure; an answer >= 400 is caught above.
    page.on("requestfailed", (r) => {
      if (r.failure()?.errorText !== "net::ERR_ABORTED") {
        failed.push(`failed ${r.url()} ${r.failure()?.errorText}`);
      }
    });
    const errors = [];
    page.on("pageerror", (e) => errors.push(String(e)));
    page.on("console", (m) => {
      if (m.type() === "error") errors.push(m.text());
    });
    const head = () =>
      page.evaluate(() => ({
        lang: document.documentElement.lang,
        canonical: document.querySelector('link[rel="canonical"]')?.href,
        alternates: Object.fromEntries(
          [...document.querySelectorAll('link[rel="alternate"][hreflang]')].map((l) => [l.hreflang, l.href]),
        ),
      }));
    try {
      await site.sendSms("Bank", "Your code is 135790");
      const path = `/numbers/${site.number}`;
      await page.goto(`${site.site}${path}`);
      await page.waitForFunction(() => document.readyState === "complete");
      let info = await head();
      assert.equal(info.lang, "en");
      assert.equal(decodeURIComponent(info.canonical), `${site.site}${path}`);

      // The switcher: same page, Chinese URL, Chinese text.
      await page.click("header nav a[hreflang=zh-CN]");
      await page.waitForURL((u) => decodeURIComponent(u.pathname) === `/zh-CN${path}` && u.search === "");
      info = await head();
      assert.equal(info.lang, "zh-CN");
      assert.match(await page.locator("main").textContent(), /最新短信在前/);
      assert.equal(decodeURIComponent(info.canonical), `${site.site}/zh-CN${path}`);
      assert.equal(decodeURIComponent(info.alternates["en"]), `${site.site}${path}`);
      assert.equal(decodeURIComponent(info.alternates["zh-CN"]), `${site.site}/zh-CN${path}`);
      assert.equal(decodeURIComponent(info.alternates["x-default"]), `${site.site}${path}`);

      // Links stay in Chinese.
      await page.click('header nav a[href="/zh-CN/latest"]');
      await page.waitForURL(`${site.site}/zh-CN/latest`);
      assert.equal((await head()).lang, "zh-CN");
      await page.click("header a:first-child");
      await page.waitForURL(`${site.site}/zh-CN/`);

      // The choice is remembered: `/` now leads to the Chinese home page.
      await page.goto(`${site.site}/`);
      assert.equal(page.url(), `${site.site}/zh-CN/`);

      // And back to English.
      await page.click("header nav a[hreflang=en]");
      await page.waitForURL(`${site.site}/`);
      assert.equal((await head()).lang, "en");

      // The browser's default icon request answers, with an icon (asked
      // for outside a page: chromium's image viewer styles itself inline,
      // which our CSP refuses).
      const icon = await page.request.get(`${site.site}/favicon.ico`);
      assert.equal(icon.status(), 200);
      assert.equal(icon.headers()["content-type"], "image/x-icon");
      assert.deepEqual(failed, []);
      assert.deepEqual(errors, [], "no CSP violation or script error (the JSON-LD is data)");
    } finally {
      await context.close();
      await site.stop();
    }
  });
}
