// The operator console in a real browser: the operator logs in on the page
// asked for, adds a number, retires it, and hides a message, which leaves a
// visitor's open page of that number at once (the live `hidden` event).
// axe-core finds no accessibility violations on any console page. Both modes.

import { test } from "node:test";
import assert from "node:assert/strict";
import { chromiumForTheseTests, startSite, axeViolations } from "./harness.mjs";

const browser = chromiumForTheseTests();


async function axeClean(page, name) {
  const found = await axeViolations(page);
  assert.deepEqual(found, [], `${name}:\n${found.join("\n")}`);
}

for (const mode of ["embedded", "distributed"]) {
  test(`${mode}: the operator adds and retires a number and hides a message`, async () => {
    const token = `operator-token-${mode}-0123456789`;
    const site = await startSite(mode, "a", { CLOUDSMS_GATEWAY__ADMIN_TOKEN: token });
    const operator = await browser().newContext({ locale: "en-GB" });
    const visitor = await browser().newContext({ locale: "en-GB" });
    const errors = [];
    try {
      await site.sendSms("Bank", "Your card 4111 1111 1111 1111 was charged");
      await site.sendSms("Google", "G-135790 is your Google verification code.");

      // A visitor has the number's page open.
      const reader = await visitor.newPage();
      await reader.goto(`${site.site}/numbers/${site.number}`);
      await reader.waitForSelector("text=4111 1111");
      await reader.waitForSelector("#live:not([hidden])", { timeout: 10_000 }).catch(() => {});

      const admin = await operator.newPage();
      admin.on("pageerror", (e) => errors.push(String(e)));
      admin.on("console", (m) => { if (m.type() === "error") errors.push(m.text()); });
      assert.equal((await admin.goto(`${site.site}/admin/numbers`)).status(), 401);
      await axeClean(admin, "login");
      await admin.fill("#token", token);
      await admin.click("form.login button");
      await admin.waitForURL(`${site.site}/admin/numbers`);
      // (The login page's own 401 is the browser's only complaint so far.)
      errors.length = 0;
      await admin.waitForSelector("svg.spark");
      await axeClean(admin, "numbers");

      // Add a number, then retire it.
      const added = "+447700900999";
      await admin.fill("input[name=e164]", added);
      await admin.fill("form[action='/admin/numbers'] input[name=label]", "browser SIM");
      await admin.fill("input[name=provider]", "twilio");
      await admin.click("form[action='/admin/numbers'] button");
      await admin.waitForSelector("text=Number added.");
      const row = admin.locator("tr", { hasText: added });
      assert.match(await row.textContent(), /active/);
      assert.equal(await row.locator("input[name=label]").inputValue(), "browser SIM");
      await axeClean(admin, "numbers after adding");
      await row.locator("button", { hasText: "Retire" }).click();
      await admin.waitForSelector("text=Number retired");
      assert.match(await admin.locator("tr", { hasText: added }).textContent(), /retired/);
      assert.equal((await (await visitor.newPage()).goto(`${site.site}/numbers/${added}`)).status(), 410);

      // Find the card message and hide it.
      await admin.click("nav >> text=Messages");
      await admin.waitForURL(`${site.site}/admin/messages`);
      await axeClean(admin, "messages");
      await admin.fill("form[action='/admin/messages'] input[name=q]", "4111");
      await admin.click("form[action='/admin/messages'] button");
      const message = admin.locator("tbody tr", { hasText: "4111" });
      assert.equal(await message.count(), 1);
      await message.locator("input[name=reason]").fill("a card number");
      await message.locator("button", { hasText: "Hide" }).click();
      await admin.waitForSelector("text=Message hidden");
      assert.match(await admin.locator("tbody tr", { hasText: "4111" }).textContent(), /by admin: a card number/);
      await axeClean(admin, "messages after hiding");

      // The visitor's open page lost it, without a reload; the other stays.
      await reader.waitForSelector("text=4111 1111", { state: "detached", timeout: 5_000 });
      assert.ok(await reader.locator("text=G-135790").count() >= 1);
      await reader.reload();
      assert.equal(await reader.locator("text=4111 1111").count(), 0);
      assert.deepEqual(errors, []);
    } finally {
      await operator.close();
      await visitor.close();
      await site.stop();
    }
  });
}
