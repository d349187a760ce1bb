// The site in a real browser (Debian chromium via playwright-core): a number
// page shows new messages without reload, copy buttons fill the clipboard,
// hostile bodies render as text, and the page fits a 320 px phone screen.
// Runs against `cloudsms all` in the embedded mode and in the distributed mode
// (NATS, Redis, Postgres on their standard loopback ports).

import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { chromiumForTheseTests, startSite } from "./harness.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const artifacts = join(here, "artifacts");
mkdirSync(artifacts, { recursive: true });

const browser = chromiumForTheseTests();

for (const mode of ["embedded", "distributed"]) {
  test(`${mode}: a new SMS appears live, as text, with a working copy button`, async () => {
    const site = await startSite(mode, "b");
    const context = await browser().newContext({ viewport: { width: 320, height: 640 } });
    await context.grantPermissions(["clipboard-read", "clipboard-write"], { origin: site.site });
    const page = await context.newPage();
    const errors = [];
    page.on("pageerror", (e) => errors.push(String(e)));
    try {
      await page.goto(`${site.site}/numbers/${site.number}`);
      await page.waitForFunction(() => document.readyState === "complete");
      // Let the EventSource connect before the message is sent.
      await page.waitForTimeout(500);

      const hostile = "<script>window.pwned=1</script><img src=x onerror=\"window.pwned=2\"> Your code is 864209";
      await site.sendSms("Signal", hostile);
      const item = page.locator("#messages li.msg.new").first();
      await item.waitFor({ timeout: 15_000 });
      assert.equal(await item.locator(".body").textContent(), hostile);
      assert.equal(await page.evaluate(() => window.pwned), undefined, "the body must not run");
      assert.equal(await page.locator("#messages script, #messages img").count(), 0);
      assert.match(await page.locator("#live").textContent(), /864209/);

      // One click copies the code.
      await item.locator("button.code").click();
      assert.equal(await page.evaluate(() => navigator.clipboard.readText()), "864209");
      // And the number.
      await page.locator("h1 button.copy").click();
      assert.equal(await page.evaluate(() => navigator.clipboard.readText()), site.number);

      // A phone-width screen needs no sideways scrolling.
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth);
      assert.ok(overflow <= 320, `page is ${overflow}px wide at 320px`);
      await page.screenshot({ path: join(artifacts, `number-320-${mode}.png`), fullPage: true });

      // After a reload the message comes from the server, still as text.
      await page.reload();
      assert.equal(await page.locator("#messages li.msg .body").first().textContent(), hostile);

      // Switch language; the choice is remembered on the next page.
      await page.click("a[hreflang=zh-CN]");
      assert.equal(await page.getAttribute("html", "lang"), "zh-CN");
      assert.match(await page.locator("main").textContent(), /最新短信在前/);
      await page.click("header nav a[href=\"/zh-CN/latest\"]");
      assert.match(page.url(), /\/zh-CN\/latest$/);
      assert.equal(await page.getAttribute("html", "lang"), "zh-CN");
      await page.click("a[hreflang=en]");
      assert.equal(await page.getAttribute("html", "lang"), "en");
      assert.deepEqual(errors, []);
    } finally {
      await context.close();
      await site.stop();
    }
  });
}

test("embedded: a refused live stream falls back to polling", async () => {
  // One live stream per process: the test holds it, so the page's is refused (429).
  const site = await startSite("embedded", "b", { CLOUDSMS_GATEWAY__LIVE__MAX_STREAMS: "1" });
  const held = await fetch(`${site.site}/numbers/${site.number}/events`);
  assert.equal(held.status, 200);
  const reader = held.body.getReader();
  const context = await browser().newContext();
  const page = await context.newPage();
  try {
    const refused = page.waitForResponse((r) => r.url().endsWith("/events") && r.status() === 429);
    await page.goto(`${site.site}/numbers/${site.number}`);
    await refused;
    await site.sendSms("Bank", "Your code is 135790");
    // The page polls the API (every 10 s) instead of waiting for a stream.
    const item = page.locator("#messages li.msg.new").first();
    await item.waitFor({ timeout: 25_000 });
    assert.match(await item.locator(".body").textContent(), /135790/);
  } finally {
    await reader.cancel();
    await context.close();
    await site.stop();
  }
});

test("embedded: pages work with JavaScript off", async () => {
  const site = await startSite("embedded", "b");
  const context = await browser().newContext({ javaScriptEnabled: false });
  const page = await context.newPage();
  try {
    await site.sendSms("Google", "G-246810 is your Google verification code.");
    const deadline = Date.now() + 15_000;
    let html = "";
    while (Date.now() < deadline) {
      await page.goto(`${site.site}/numbers/${site.number}`);
      html = await page.content();
      if (html.includes("G-246810")) break;
      await page.waitForTimeout(200);
    }
    assert.ok(html.includes("G-246810"), "server-rendered message without JavaScript");
    await page.goto(`${site.site}/`);
    assert.ok((await page.content()).includes("United Kingdom"));
    await page.click("text=Latest SMS");
    assert.ok((await page.content()).includes("G-246810"));
  } finally {
    await context.close();
    await site.stop();
  }
});

test("embedded: every page is valid HTML and every internal link resolves", async () => {
  const { HtmlValidate } = await import("html-validate");
  const validator = new HtmlValidate({ extends: ["html-validate:standard"] });
  const site = await startSite("embedded", "b");
  try {
    await site.sendSms("Google", "G-975310 is your Google verification code.");
    await site.sendSms("+14155550123", "<b>bold?</b> & \"quotes\" 'too' https://evil.example/x");
    // Wait until both are on the page.
    const deadline = Date.now() + 15_000;
    while (Date.now() < deadline) {
      const html = await (await fetch(`${site.site}/numbers/${site.number}`)).text();
      if (html.includes("G-975310") && html.includes("evil.example")) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    const queue = ["/", "/robots.txt", "/sitemap.xml", "/api/openapi.json"];
    const seen = new Set(queue);
    const problems = [];
    let pages = 0;
    while (queue.length > 0 && seen.size < 300) {
      const path = queue.shift();
      const response = await fetch(`${site.site}${path}`, { headers: { accept: "text/html,*/*" } });
      if (response.status !== 200) {
        problems.push(`${path}: HTTP ${response.status}`);
        continue;
      }
      const type = response.headers.get("content-type") || "";
      const body = await response.text();
      if (!type.startsWith("text/html")) continue;
      pages += 1;
      const report = await validator.validateString(body, path);
      if (!report.valid) {
        for (const result of report.results) {
          for (const m of result.messages) problems.push(`${path}:${m.line}:${m.column} ${m.ruleId}: ${m.message}`);
        }
      }
      const links = [...body.matchAll(/(?:href|src|action)="([^"]+)"/g)].map((m) => m[1].replaceAll("&amp;", "&"));
      for (const link of links) {
        if (!link.startsWith("/") || link.startsWith("//")) continue; // external or protocol-relative
        if (!seen.has(link)) {
          seen.add(link);
          queue.push(link);
        }
      }
    }
    assert.ok(pages >= 8, `crawled only ${pages} pages`);
    assert.deepEqual(problems, []);
    // Links inside SMS bodies are text, never anchors.
    const number = await (await fetch(`${site.site}/numbers/${site.number}`)).text();
    assert.ok(!number.includes('href="https://evil.example'), "SMS links must not be clickable");
  } finally {
    await site.stop();
  }
});
