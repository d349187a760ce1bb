// Wait for my code: on a number page the visitor picks a service or sender;
// when a matching SMS arrives live (sent through the real webhook) the tab
// title flashes, the message is on top and highlighted, its code is copied
// and a notification shown (recorded by a wrapper around `Notification`);
// a message that does not match does none of that. The connection's state
// says "live", "reconnecting…" when the stream is cut, and the refresh
// button brings in what arrived meanwhile, once.

import { test } from "node:test";
import assert from "node:assert/strict";
import { chromiumForTheseTests, startSite, axeViolations } from "./harness.mjs";

const browser = chromiumForTheseTests();

// Titles as they change and notifications as they are made.
function recorders() {
  window.__titles = [];
  window.__notes = [];
  new MutationObserver(() => {
    if (window.__titles[window.__titles.length - 1] !== document.title) window.__titles.push(document.title);
  }).observe(document, { subtree: true, childList: true, characterData: true });
  const Real = window.Notification;
  function Recording(title, options) {
    window.__notes.push({ title, body: options && options.body });
    return new Real(title, options);
  }
  Object.defineProperty(Recording, "permission", { get: () => Real.permission });
  Recording.requestPermission = (callback) => Real.requestPermission(callback);
  window.Notification = Recording;
}

const connState = (page) => page.evaluate(() => document.getElementById("conn").dataset.state);
const waitState = (page, state, timeout = 20_000) =>
  page.waitForFunction((s) => document.getElementById("conn").dataset.state === s, state, { timeout });

for (const mode of ["embedded", "distributed"]) {
  test(`${mode}: waiting for a code flashes the title, surfaces, copies and notifies; the connection state shows`, async () => {
    // Streams end after 8 s (and reopen), so the test can cut one.
    const site = await startSite(mode, "w", { CLOUDSMS_GATEWAY__LIVE__MAX_STREAM_SECS: "8" });
    const context = await browser().newContext();
    await context.grantPermissions(["notifications", "clipboard-read", "clipboard-write"], { origin: site.site });
    await context.addInitScript(recorders);
    const errors = [];
    try {
      await site.sendSms("WhatsApp", "Your WhatsApp code is 100200");
      const url = `${site.site}/numbers/${site.number}`;

      // Without JavaScript the control is not shown.
      const off = await browser().newContext({ javaScriptEnabled: false });
      const bare = await off.newPage();
      await bare.goto(url);
      assert.equal(await bare.locator("#wait").isVisible(), false);
      await off.close();

      const page = await context.newPage();
      page.on("pageerror", (e) => errors.push(String(e)));
      await page.goto(url);
      await page.locator("#wait").waitFor({ state: "visible" });
      const original = await page.title();
      assert.deepEqual(await page.locator("#wait-for option").allTextContents(), ["any code", "WhatsApp"]);
      assert.equal(await page.locator("#wait-notify").isVisible(), false, "permission given already");
      assert.equal(await page.locator("#wait-notify-state").textContent(), "Notifications on");
      await page.selectOption("#wait-for", "WhatsApp");
      await page.click("#wait-toggle");
      assert.equal(await page.locator("#wait-toggle").getAttribute("aria-pressed"), "true");
      assert.equal(await page.locator("#wait-toggle").textContent(), "Stop waiting");
      assert.equal(await page.locator("#wait-status").textContent(), "Waiting for WhatsApp: keep this tab open.");

      await waitState(page, "live");
      assert.equal(await page.locator("#conn .state").textContent(), "live");
      assert.match(await page.locator("#conn .checked").textContent(), /^last checked \d\d:\d\d/);

      // Another sender's code: nothing happens.
      await site.sendSms("Bank", "Your bank code is 333444");
      await page.locator("#messages li.msg", { hasText: "333444" }).waitFor({ timeout: 15_000 });
      await page.waitForTimeout(1500);
      assert.deepEqual(await page.evaluate(() => window.__titles.filter((t) => t.startsWith("("))), []);
      assert.equal(await page.locator("#messages li.msg.matched").count(), 0);
      assert.deepEqual(await page.evaluate(() => window.__notes), []);

      // The awaited one.
      await site.sendSms("WhatsApp", "Your WhatsApp code is 482913");
      const matched = page.locator("#messages li.msg.matched");
      await matched.waitFor({ timeout: 15_000 });
      assert.match(await matched.textContent(), /482913/);
      assert.match(await page.locator("#messages li.msg").first().getAttribute("class"), /\bmatched\b/);
      await page.waitForFunction((t) => document.title === `(1) Code 482913 — ${t}`, original);
      await page.waitForFunction((t) => document.title === t, original, { timeout: 3000 });
      await page.waitForFunction((t) => document.title.startsWith("(1) Code 482913"), original, { timeout: 3000 });
      const titles = await page.evaluate(() => window.__titles);
      assert.ok(titles.every((t) => t === original || t === `(1) Code 482913 — ${original}`), titles.join(" | "));
      await page.waitForFunction(() => window.__notes.length === 1);
      const [note] = await page.evaluate(() => window.__notes);
      assert.equal(note.title, "Code 482913");
      assert.match(note.body, /^WhatsApp: Your WhatsApp code is 482913/);
      await page.waitForFunction(() => /copied$/.test(document.getElementById("wait-status").textContent));
      assert.equal(await page.evaluate(() => navigator.clipboard.readText()), "482913");
      assert.equal(await page.locator("#wait-status").textContent(), "Code 482913 · copied");
      // axe-core finds nothing wrong with the control, the state and the highlighted message.
      assert.deepEqual(await axeViolations(page, ["#wait", "#messages li.matched"]), []);
      // Back at the page: the title stops flashing.
      await page.mouse.click(5, 5);
      await page.waitForTimeout(1200);
      assert.equal(await page.title(), original);

      // The choice is kept for the tab.
      await page.reload();
      await page.locator("#wait").waitFor({ state: "visible" });
      assert.equal(await page.locator("#wait-for").inputValue(), "WhatsApp");
      assert.equal(await page.locator("#wait-toggle").getAttribute("aria-pressed"), "true");

      // The stream cut: "reconnecting…"; a message sent meanwhile comes with "refresh", once.
      await waitState(page, "live");
      await page.route("**/events", (route) => route.abort());
      await waitState(page, "reconnecting");
      assert.equal(await page.locator("#conn .state").textContent(), "reconnecting…");
      await site.sendSms("Shop", "Order 7788 shipped");
      const deadline = Date.now() + 15_000;
      for (;;) {
        const api = await (await fetch(`${site.site}/api/v1/numbers/${site.number}/messages`)).json();
        if (api.messages.some((m) => m.body.includes("7788"))) break;
        assert.ok(Date.now() < deadline, "the SMS was not stored");
        await new Promise((r) => setTimeout(r, 200));
      }
      const order = page.locator("#messages li.msg", { hasText: "Order 7788" });
      assert.equal(await order.count(), 0);
      assert.equal(await connState(page), "reconnecting");
      await page.click("#refresh");
      await order.waitFor({ timeout: 5000 });
      await page.unroute("**/events");
      await waitState(page, "live");
      await page.waitForTimeout(500);
      assert.equal(await order.count(), 1);

      // Permission is asked for only on a click of "Notify me".
      const asking = await browser().newContext();
      await asking.addInitScript(() => {
        window.__asked = 0;
        let permission = "default";
        function Fake() {}
        Object.defineProperty(Fake, "permission", { get: () => permission });
        Fake.requestPermission = () => {
          window.__asked += 1;
          permission = "granted";
          return Promise.resolve(permission);
        };
        window.Notification = Fake;
      });
      const ask = await asking.newPage();
      ask.on("pageerror", (e) => errors.push(String(e)));
      await ask.goto(url);
      const notifyMe = ask.locator("#wait-notify");
      await notifyMe.waitFor({ state: "visible" });
      assert.equal(await notifyMe.textContent(), "Notify me");
      assert.equal(await ask.evaluate(() => window.__asked), 0);
      await notifyMe.click();
      await ask.locator("#wait-notify-state", { hasText: "Notifications on" }).waitFor();
      assert.equal(await notifyMe.isVisible(), false);
      assert.equal(await ask.evaluate(() => window.__asked), 1);
      await asking.close();

      // In Chinese.
      const zh = await context.newPage();
      zh.on("pageerror", (e) => errors.push(String(e)));
      await zh.goto(`${url}?lang=zh-CN`);
      await waitState(zh, "live");
      assert.equal(await zh.locator("#conn .state").textContent(), "实时连接中");
      assert.equal(await zh.locator("#wait-toggle").textContent(), "等待验证码");
      assert.match(await zh.locator("#conn .checked").textContent(), /^最后检查 /);
      assert.deepEqual(errors, []);
    } finally {
      await context.close();
      await site.stop();
    }
  });
}
