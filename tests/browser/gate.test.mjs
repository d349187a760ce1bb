// The crawler gate in a real browser: a visitor who opens pages faster than
// the limit gets the interstitial, whose Web Worker solves the proof-of-work
// and opens the page by itself; with JavaScript off the interstitial waits
// and refreshes through; the interstitial is valid, accessible HTML.
// Runs against `cloudsms all` (gateway → captcha-verification over gRPC) in
// the embedded and the distributed mode.

import { test } from "node:test";
import assert from "node:assert/strict";
import { chromiumForTheseTests, startSite } from "./harness.mjs";

const PHONE_UA =
  "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Mobile Safari/537.36";

const GATE = {
  CLOUDSMS_GATEWAY__GATE__ENABLED: "true",
  CLOUDSMS_GATEWAY__GATE__VISITOR__PER_MINUTE: "1",
  CLOUDSMS_GATEWAY__GATE__VISITOR__BURST: "2",
  CLOUDSMS_GATEWAY__GATE__NOJS_WAIT_SECS: "2",
};

const browser = chromiumForTheseTests();

for (const mode of ["embedded", "distributed"]) {
  test(`${mode}: crawling past the limit shows the interstitial; the worker solves it and the page opens`, async () => {
    const site = await startSite(mode, "g", GATE);
    const context = await browser().newContext({ userAgent: PHONE_UA, locale: "en-GB", viewport: { width: 360, height: 740 } });
    const page = await context.newPage();
    const errors = [];
    page.on("pageerror", (e) => errors.push(String(e)));
    const seen = [];
    page.on("response", (r) => seen.push([r.url(), r.status()]));
    try {
      await site.sendSms("Telegram", "Telegram code: 55123");
      const numberPage = `${site.site}/numbers/${site.number}`;
      // Browse faster than the limit (burst 2, then 1 a minute; a number
      // page's live-update catch-up call counts too) until the gate answers.
      let view = 0;
      let status = 200;
      while (status === 200 && view < 10) {
        view += 1;
        const response = await page.goto(`${view % 2 ? numberPage : `${site.site}/`}?view=${view}`, { waitUntil: "commit" });
        status = response.status();
      }
      assert.ok(view >= 2, "the first pages open normally");
      assert.equal(status, 429, "the gate answers past the limit");
      const asked = `${view % 2 ? numberPage : `${site.site}/`}?view=${view}`;
      // The worker solves the challenge, the pass cookie is set and the page
      // that was asked for opens by itself.
      const deadline = Date.now() + 30_000;
      while (!seen.some(([url, s]) => url === asked && s === 200) && Date.now() < deadline) {
        await page.waitForTimeout(100);
      }
      assert.ok(seen.some(([url, s]) => url === asked && s === 200), `${asked} did not open: ${JSON.stringify(seen)}`);
      // The navigation may still be under way: read the title once it settles.
      let title = "";
      while (Date.now() < deadline) {
        try {
          await page.waitForLoadState();
          title = await page.title();
          // An empty title is a document still being replaced.
          if (title && !/moment/.test(title)) break;
        } catch { /* the page navigated meanwhile */ }
        await page.waitForTimeout(100);
      }
      assert.doesNotMatch(title, /moment/);
      // A navigation still settling (the worker's, or an earlier attempt's)
      // interrupts a new one: try again until one completes.
      for (let attempt = 1; ; attempt++) {
        try {
          await page.goto(numberPage);
          break;
        } catch (e) {
          if (attempt >= 5 || !/interrupted by another navigation/.test(String(e))) throw e;
          await page.waitForTimeout(250);
        }
      }
      assert.match(await page.locator("main").textContent(), /55123/);
      const cookies = await context.cookies();
      const pass = cookies.find((c) => c.name === "cloudsms_pass");
      assert.ok(pass, "pass cookie set");
      assert.ok(pass.httpOnly, "pass cookie is HttpOnly");
      // With the pass, the next pages open straight away.
      for (let i = 0; i < 3; i++) {
        assert.equal((await page.goto(numberPage)).status(), 200);
      }
      assert.deepEqual(errors, []);
    } finally {
      await context.close();
      await site.stop();
    }
  });
}

test("embedded: without JavaScript the interstitial waits and refreshes through", async () => {
  const site = await startSite("embedded", "g", GATE);
  const context = await browser().newContext({ javaScriptEnabled: false, userAgent: PHONE_UA, locale: "en-GB" });
  const page = await context.newPage();
  try {
    const numberPage = `${site.site}/numbers/${site.number}`;
    for (let i = 0; i < 3; i++) {
      assert.equal((await page.goto(numberPage)).status(), 200);
    }
    const response = await page.goto(numberPage);
    assert.equal(response.status(), 429);
    assert.match(await page.locator("main").textContent(), /JavaScript is off/);
    // The <noscript> refresh takes the visitor through after the wait.
    await page.waitForResponse((r) => r.url() === numberPage && r.status() === 200, { timeout: 20_000 });
    await page.locator("#messages").waitFor({ state: "attached" });
    assert.ok((await context.cookies()).some((c) => c.name === "cloudsms_pass"));
  } finally {
    await context.close();
    await site.stop();
  }
});

test("embedded: the interstitial is valid HTML with a text alternative", async () => {
  const { HtmlValidate } = await import("html-validate");
  const validator = new HtmlValidate({ extends: ["html-validate:standard"] });
  const site = await startSite("embedded", "g", GATE);
  try {
    // curl-like clients are challenged at their first page.
    const response = await fetch(`${site.site}/numbers/${site.number}`, { headers: { "user-agent": "curl/8.5.0" } });
    assert.equal(response.status, 429);
    const html = await response.text();
    const report = await validator.validateString(html);
    assert.ok(report.valid, JSON.stringify(report.results, null, 2));
    assert.match(html, /role="status"/);
    assert.match(html, /<progress[^>]+aria-label=/);
    assert.match(html, /<noscript><p>/);
  } finally {
    await site.stop();
  }
});
