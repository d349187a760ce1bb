// The operators' audit log in a real browser: the operator logs in (which is
// itself the first entry), opens /admin/audit from the console's navigation,
// narrows it with the filter form (a plain GET form, no script), and axe-core
// finds no accessibility violations on the page at 320 and 1366 px. Both
// modes.

import { test } from "node:test";
import assert from "node:assert/strict";
import { chromiumForTheseTests, startSite, axeViolations } from "./harness.mjs";

const browser = chromiumForTheseTests();


for (const mode of ["embedded", "distributed"]) {
  test(`${mode}: the operator finds their login in the audit log; no axe violations`, async () => {
    const token = `operator-token-audit-${mode}-0123456789`;
    const site = await startSite(mode, "u", { CLOUDSMS_GATEWAY__ADMIN_TOKEN: token });
    const context = await browser().newContext({ locale: "en-GB" });
    try {
      const page = await context.newPage();
      assert.equal((await page.goto(`${site.site}/admin/audit`)).status(), 401);
      await page.fill("#token", token);
      await page.click("form.login button");
      await page.waitForSelector("svg.chart");
      await page.click("nav a[href='/admin/audit']");
      await page.waitForURL(`${site.site}/admin/audit`);

      // The login reaches the audit log through the LOGS stream.
      const row = page.locator("table.audit tbody tr", { hasText: "session.login" });
      const deadline = Date.now() + 20_000;
      while ((await row.count()) === 0 && Date.now() < deadline) {
        await page.waitForTimeout(300);
        await page.reload();
      }
      assert.equal(await row.count(), 1);
      assert.match(await row.locator("td").nth(1).textContent(), /^admin$/);

      // The filter form, without script: no match, then the login again.
      await page.fill("input[name=action]", "number.retire");
      await page.click("form.range button");
      await page.waitForURL(/action=number\.retire/);
      assert.match(await page.locator("main").textContent(), /No operator action matches/);
      await page.fill("input[name=action]", "session.login");
      await page.click("form.range button");
      await page.waitForURL(/action=session\.login/);
      assert.equal(await page.locator("table.audit tbody tr").count(), 1);

      const found = [];
      for (const width of [320, 1366]) {
        await page.setViewportSize({ width, height: 900 });
        for (const line of await axeViolations(page)) found.push(`audit ${width}px: ${line}`);
      }
      assert.deepEqual(found, []);
    } finally {
      await context.close();
      await site.stop();
    }
  });
}
