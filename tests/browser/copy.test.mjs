// Copy buttons give what a form accepts: the national number without the
// country code, a code printed "G-717464" as its digits; where the browser
// refuses the clipboard the text is put in a field, selected, to copy by
// hand; every button is a tap target of at least 44 px.

import { test } from "node:test";
import assert from "node:assert/strict";
import { chromiumForTheseTests, startSite } from "./harness.mjs";

const browser = chromiumForTheseTests();

for (const mode of ["embedded", "distributed"]) {
  test(`${mode}: numbers and codes copy as forms want them`, async () => {
    const site = await startSite(mode, "c");
    const context = await browser().newContext({ viewport: { width: 360, height: 740 } });
    await context.grantPermissions(["clipboard-read", "clipboard-write"], { origin: site.site });
    const errors = [];
    try {
      await site.sendSms("Google", "G-717464 is your Google verification code.");
      const page = await context.newPage();
      page.on("pageerror", (e) => errors.push(String(e)));
      await page.goto(`${site.site}/numbers/${site.number}`);
      const code = page.locator("#messages button.code").first();
      await code.waitFor({ timeout: 15_000 });
      assert.equal(await code.textContent(), "G-717464");
      await code.click();
      assert.equal(await page.evaluate(() => navigator.clipboard.readText()), "717464");
      assert.equal(await page.locator("#messages .hint").first().textContent(), "copies 717464");

      // The national form, without +44, for forms with a country picker.
      const national = page.locator(".forms button.copy");
      await national.click();
      assert.equal(await page.evaluate(() => navigator.clipboard.readText()), site.number.replace(/^\+44/, ""));

      // Tap targets.
      for (const button of await page.locator("button.code, button.copy").all()) {
        const box = await button.boundingBox();
        if (!box) continue;
        assert.ok(box.height >= 44 && box.width >= 44, `a button of ${box.width}x${box.height}`);
      }

      // A live code copies the same way.
      await page.waitForTimeout(500);
      await site.sendSms("Facebook", "FB-12345 is your Facebook confirmation code");
      const fresh = page.locator("#messages li.msg.new").first();
      await fresh.waitFor({ timeout: 15_000 });
      await fresh.locator("button.code").click();
      assert.equal(await page.evaluate(() => navigator.clipboard.readText()), "12345");
      assert.equal(await fresh.locator(".hint").textContent(), "copies 12345");

      // The clipboard refused: the text is selected in a field instead.
      const denied = await browser().newContext();
      const bare = await denied.newPage();
      await bare.addInitScript(() => {
        Object.defineProperty(navigator, "clipboard", {
          value: { writeText: () => Promise.reject(new Error("denied")) },
        });
      });
      await bare.goto(`${site.site}/numbers/${site.number}`);
      await bare.locator("#messages button.code").first().click();
      const field = bare.locator("input.copy-by-hand");
      await field.waitFor({ timeout: 5_000 });
      assert.equal(await field.inputValue(), "12345");
      assert.equal(
        await bare.evaluate(() => document.activeElement.value.substring(
          document.activeElement.selectionStart, document.activeElement.selectionEnd)),
        "12345",
      );
      await denied.close();
      assert.deepEqual(errors, []);
    } finally {
      await context.close();
      await site.stop();
    }
  });
}
