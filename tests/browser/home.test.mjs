// The home page and /latest in a real browser: the card grid uses the
// screen (three or more cards a row at 1366 px, one at 320 px), a new SMS
// updates its card on `/` and appears on top of `/latest` without a reload,
// and the country filter hides other countries' cards in place. Screenshots
// at 320 and 1366 px are kept in artifacts/ (git-ignored); axe-core finds
// no violations on either page.

import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { chromiumForTheseTests, startSite, axeViolations } from "./harness.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const artifacts = join(here, "artifacts");
mkdirSync(artifacts, { recursive: true });

const browser = chromiumForTheseTests();


// Besides the harness's +447700900555: another UK number and three countries.
const MORE = ["+447700900556", "+33639981234", "+12025550177", "+4915112345678"];

/** How many cards share the first row of the grid. */
function firstRow(page) {
  return page.evaluate(() => {
    const tops = Array.from(document.querySelectorAll("#cards .card"))
      .filter((c) => !c.hidden)
      .map((c) => c.offsetTop);
    return tops.filter((t) => t === tops[0]).length;
  });
}

for (const mode of ["embedded", "distributed"]) {
  test(`${mode}: the card grid fits the screen, updates live, and filters in place`, async () => {
    const site = await startSite(mode, "h", {}, MORE);
    const errors = [];
    const context = await browser().newContext({ viewport: { width: 1366, height: 900 } });
    try {
      const page = await context.newPage();
      page.on("pageerror", (e) => errors.push(String(e)));
      await page.goto(`${site.site}/`);
      await page.waitForFunction(() => document.readyState === "complete");
      assert.equal(await page.locator("#cards .card").count(), 5);
      const wide = await firstRow(page);
      assert.ok(wide >= 3, `${wide} cards a row at 1366 px`);
      // Let the EventSource connect before the message is sent.
      await page.waitForTimeout(500);

      const hostile = "<img src=x onerror=\"window.pwned=1\"> Your Telegram code is 424242";
      await site.sendSms("+14155550123", hostile, "+33639981234");
      const card = page.locator('#cards .card[data-number="+33639981234"]');
      await page.waitForFunction(
        () => /424242/.test(document.querySelector('#cards .card[data-number="+33639981234"] .preview').textContent),
        null,
        { timeout: 15_000 },
      );
      assert.equal(await card.locator(".preview").textContent(), hostile);
      assert.equal(await page.evaluate(() => window.pwned), undefined, "the body must not run");
      assert.equal(await page.locator("#cards img").count(), 0);
      assert.equal(await card.locator(".today").textContent(), "1 today");
      assert.match(await card.locator(".last").textContent(), /just now · \+14155550123 · Telegram/);
      assert.match(await card.getAttribute("data-services"), /\btelegram\b/);
      await page.screenshot({ path: join(artifacts, `home-1366-${mode}.png`), fullPage: true });
      assert.deepEqual(await axeViolations(page), [], "axe-core on /");

      // The country filter hides the other countries' cards, without a reload.
      await page.evaluate(() => { window.sameDocument = true; });
      await page.selectOption("#filter-country", "gb");
      assert.equal(await page.locator("#cards .card:visible").count(), 2);
      assert.equal(await page.locator('#cards .card[data-country="fr"]').isHidden(), true);
      assert.equal(await page.evaluate(() => window.sameDocument), true, "filtered in place");
      assert.match(page.url(), /\?country=gb$/);
      await page.selectOption("#filter-country", "");
      assert.equal(await page.locator("#cards .card:visible").count(), 5);

      // One card a row on a phone, and no sideways scrolling.
      await page.setViewportSize({ width: 320, height: 640 });
      assert.equal(await firstRow(page), 1);
      const width = await page.evaluate(() => document.documentElement.scrollWidth);
      assert.ok(width <= 320, `page is ${width}px wide at 320px`);
      await page.screenshot({ path: join(artifacts, `home-320-${mode}.png`), fullPage: true });

      // /latest: a new SMS appears on top, live.
      await page.goto(`${site.site}/latest`);
      await page.waitForFunction(() => document.readyState === "complete");
      await page.waitForTimeout(500);
      await site.sendSms("Bank", "Your code is 515151", "+4915112345678");
      const top = page.locator("#messages li.msg").first();
      await page.waitForFunction(
        () => /515151/.test(document.querySelector("#messages li.msg")?.textContent || ""),
        null,
        { timeout: 15_000 },
      );
      assert.equal(await top.locator(".body").textContent(), "Your code is 515151");
      assert.equal(await top.locator(".to a").getAttribute("href"), "/numbers/+4915112345678");
      await page.screenshot({ path: join(artifacts, `latest-320-${mode}.png`), fullPage: true });
      assert.deepEqual(await axeViolations(page), [], "axe-core on /latest");
      assert.deepEqual(errors, []);
    } finally {
      await context.close();
      await site.stop();
    }
  });
}
