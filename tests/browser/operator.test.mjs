// Visitor self-service and the operator's statistics in a real browser:
// a visitor reads a few pages, sees them on "Your data", downloads the
// export and deletes it (the identifier cookie changes); the operator logs
// in to /admin/stats with the token and sees those page views counted, in
// SVG charts and tables, with a CSV export. Both modes.

import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { chromiumForTheseTests, startSite } from "./harness.mjs";

const PHONE_UA =
  "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Mobile Safari/537.36";

const browser = chromiumForTheseTests();

for (const mode of ["embedded", "distributed"]) {
  test(`${mode}: a visitor exports and deletes their data; the operator sees the visit counted`, async () => {
    const token = `operator-token-${mode}-0123456789`;
    const site = await startSite(mode, "o", { CLOUDSMS_GATEWAY__ADMIN_TOKEN: token });
    const visitor = await browser().newContext({ userAgent: PHONE_UA, locale: "en-GB", acceptDownloads: true });
    const operator = await browser().newContext({ locale: "en-GB", acceptDownloads: true });
    try {
      const page = await visitor.newPage();
      for (const path of ["/", `/numbers/${site.number}`, "/latest"]) {
        assert.equal((await page.goto(`${site.site}${path}`)).status(), 200);
      }
      const before = (await visitor.cookies()).find((c) => c.name === "cloudsms_vid").value;

      // Request logs reach log-retention in batches: wait until the three
      // page views are stored (the export of the same browser shows them).
      const wanted = ["/", "/latest", `/numbers/${site.number}`];
      const deadline = Date.now() + 20_000;
      let stored = [];
      while (Date.now() < deadline) {
        const r = await visitor.request.get(`${site.site}/my-data/export?format=json`);
        stored = (await r.text()).split("\n").filter(Boolean).map((l) => JSON.parse(l).path).filter(Boolean);
        if (wanted.every((p) => stored.includes(p))) break;
        await page.waitForTimeout(300);
      }
      assert.ok(wanted.every((p) => stored.includes(p)), `stored: ${stored}`);
      await page.goto(`${site.site}/my-data`);
      const cell = page.locator("table.data tr", { hasText: "Server log" }).locator("td").nth(1);
      const rows = Number(await cell.textContent());
      assert.ok(rows >= 3, `the page views (and the page's own API and live-update requests): ${rows}`);
      assert.match(await page.locator("main").textContent(), new RegExp(before));

      const [download] = await Promise.all([page.waitForEvent("download"), page.click("text=JSON")]);
      const lines = readFileSync(await download.path(), "utf8").trim().split("\n").map((l) => JSON.parse(l));
      const paths = lines.filter((l) => l.path).map((l) => l.path);
      for (const path of ["/", "/latest", `/numbers/${site.number}`]) {
        assert.ok(paths.includes(path), `${path} in ${paths}`);
      }
      assert.ok(!paths.some((p) => p.startsWith("/my-data")), "looking at one's data is not logged under the id");

      await page.click("form[action='/my-data/delete'] button");
      await page.waitForURL(`${site.site}/my-data/delete`);
      const deleted = page.locator("table.data tr", { hasText: "Server log" }).locator("td").nth(1);
      assert.ok(Number(await deleted.textContent()) >= 3);
      const after = (await visitor.cookies()).find((c) => c.name === "cloudsms_vid").value;
      assert.notEqual(after, before, "a new identifier after deletion");

      // The operator: login page first, a wrong token is refused.
      const admin = await operator.newPage();
      assert.equal((await admin.goto(`${site.site}/admin/stats`)).status(), 401);
      await admin.fill("#token", "not-the-token");
      await admin.click("form.login button");
      assert.match(await admin.locator("[role=alert]").textContent(), /not the operator token/);
      await admin.fill("#token", token);
      await admin.click("form.login button");
      await admin.waitForSelector("svg.chart");
      assert.ok((await admin.locator("svg.chart").count()) >= 2, "visitors per day and pageviews per hour");
      // The deleted visitor's page views still count: statistics hold no identifier.
      const pageviews = admin.locator("li.kpi", { hasText: "Pageviews" }).locator(".value");
      assert.ok(Number((await pageviews.textContent()).replace(/\D/g, "")) >= 3);
      assert.ok((await admin.locator("table.data", { hasText: "/latest" }).count()) >= 1);
      const [csv] = await Promise.all([admin.waitForEvent("download"), admin.click("text=CSV export")]);
      assert.match(readFileSync(await csv.path(), "utf8"), /\/latest/);
    } finally {
      await visitor.close();
      await operator.close();
      await site.stop();
    }
  });
}
