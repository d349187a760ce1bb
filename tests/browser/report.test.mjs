// Takedown reports in a real browser: a visitor opens a number page, clicks
// "Report" on a message, picks a reason, writes a note and sends the form;
// the page's script solves the proof-of-work challenge for this one report
// (captcha-verification over gRPC behind the gateway) and the thank-you
// page opens; the operator finds it in the console's queue (axe-clean) and
// answers it by hiding the message, which resolves the report and takes the
// message off the number's page. The report form is accessible (axe-core)
// in English and Chinese. Runs against `cloudsms all` in the embedded and distributed modes.

import { test } from "node:test";
import assert from "node:assert/strict";
import { chromiumForTheseTests, startSite, axeViolations } from "./harness.mjs";

const PHONE_UA =
  "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Mobile Safari/537.36";

// The gate is on (the report needs its challenge) with limits a visitor
// reading a few pages does not reach.
const GATE = {
  CLOUDSMS_GATEWAY__GATE__ENABLED: "true",
  CLOUDSMS_GATEWAY__GATE__VISITOR__PER_MINUTE: "600",
  CLOUDSMS_GATEWAY__GATE__VISITOR__BURST: "100",
};

const browser = chromiumForTheseTests();


for (const mode of ["embedded", "distributed"]) {
  test(`${mode}: a visitor reports a message; the page solves the proof-of-work and thanks them; the operator hides it`, async () => {
    const token = `operator-token-${mode}-0123456789`;
    const site = await startSite(mode, "r", { ...GATE, CLOUDSMS_GATEWAY__ADMIN_TOKEN: token });
    const context = await browser().newContext({ userAgent: PHONE_UA, locale: "en-GB", viewport: { width: 360, height: 740 } });
    const page = await context.newPage();
    const errors = [];
    page.on("pageerror", (e) => errors.push(String(e)));
    try {
      await site.sendSms("Shop", "Your parcel for Ann Lee, 12 High St, is on its way");
      await page.goto(`${site.site}/numbers/${site.number}`);
      await page.locator(".msg .report-link").first().click();
      await page.waitForURL(/\/messages\/\d+\/report$/);
      assert.match(await page.locator("h1").innerText(), /Report this message/);
      assert.match(await page.locator(".msg .body").innerText(), /12 High St/);
      await page.getByLabel("It exposes someone's personal data").check();
      await page.getByLabel(/Note/).fill("This is my address");
      await page.getByRole("button", { name: "Send the report" }).click();
      await page.waitForURL(/\/report\?sent=1$/, { timeout: 30_000 });
      assert.match(await page.locator("h1").innerText(), /Thank you/);
      assert.match(await page.locator("main").innerText(), /in the operator's queue/);
      assert.deepEqual(errors, []);

      // The operator's queue has it; "Hide message" resolves it.
      const operator = await browser().newContext({ locale: "en-GB" });
      try {
        const admin = await operator.newPage();
        assert.equal((await admin.goto(`${site.site}/admin/reports`)).status(), 401);
        await admin.fill("#token", token);
        await admin.click("form.login button");
        await admin.waitForURL(`${site.site}/admin/reports`);
        const report = admin.locator(".report", { hasText: "This is my address" });
        assert.equal(await report.count(), 1);
        assert.match(await report.textContent(), /12 High St/);
        assert.deepEqual(await axeViolations(admin), [], "the reports queue");
        await report.getByRole("button", { name: "Hide message" }).click();
        await admin.waitForSelector("text=Message hidden; its open reports are resolved.");
        assert.equal(await admin.locator(".report", { hasText: "This is my address" }).count(), 0);
        assert.deepEqual(await axeViolations(admin), [], "the reports queue after hiding");
        await page.goto(`${site.site}/numbers/${site.number}`);
        assert.equal(await page.locator("text=12 High St").count(), 0);
      } finally {
        await operator.close();
      }
    } finally {
      await context.close();
      await site.stop();
    }
  });

  test(`${mode}: the report form is accessible in en and zh-CN`, async () => {
    const site = await startSite(mode, "ra", GATE);
    const context = await browser().newContext({ userAgent: PHONE_UA, locale: "en-GB", viewport: { width: 360, height: 740 } });
    const page = await context.newPage();
    try {
      await site.sendSms("Shop", "Your code is 123456");
      await page.goto(`${site.site}/numbers/${site.number}`);
      const href = await page.locator(".msg .report-link").first().getAttribute("href");
      assert.match(href, /^\/numbers\/\+\d+\/messages\/\d+\/report$/);
      for (const path of [href, `/zh-CN${href}`]) {
        const response = await page.goto(`${site.site}${path}`);
        assert.equal(response.status(), 200, path);
        assert.deepEqual(await axeViolations(page), [], path);
        for (const width of [320, 1366]) {
          await page.setViewportSize({ width, height: 800 });
          const overflow = await page.evaluate(() => document.documentElement.scrollWidth > window.innerWidth);
          assert.equal(overflow, false, `${path} fits ${width} px`);
        }
        await page.setViewportSize({ width: 360, height: 740 });
      }
      // Without JavaScript the form says that reporting needs it.
      const nojs = await browser().newContext({ userAgent: PHONE_UA, locale: "en-GB", javaScriptEnabled: false });
      const plain = await nojs.newPage();
      await plain.goto(`${site.site}${href}`);
      assert.match(await plain.locator("main").innerText(), /Reporting needs JavaScript/);
      await nojs.close();
    } finally {
      await context.close();
      await site.stop();
    }
  });
}
