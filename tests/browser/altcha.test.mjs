// The captcha protocol against independent implementations: altcha-lib
// (the ALTCHA project's own server library, v1 = the SHA-256 challenge the
// widget solves) as the oracle, and the real `altcha` 3.2 widget in headless
// chromium. Runs `cloudsms captcha-verification` from the debug build with a
// known HMAC key, in the embedded and distributed modes.

import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { createChallenge, solveChallenge, verifySolution } from "altcha-lib/v1";
import { freePorts, isolatedEnv, launchChromium, startCloudsms, waitReady } from "./harness.mjs";

const here = dirname(fileURLToPath(import.meta.url));

const SITE = "oracle-site";
const SECRET = "oracle-site-secret-0123456789";
const HOST = "example.org";
// The widget's page is served (by playwright) on the captcha service's own
// origin: chromium needs a secure context (loopback is one) and refuses
// loopback requests from other origins.
const WIDGET_SITE = "widget-site";
const WIDGET_SECRET = "widget-site-secret-0123456789";

async function startCaptcha(mode) {
  const iso = isolatedEnv(mode, "a");
  const { dir, id } = iso;
  const hmacKey = `oracle-hmac-key-${id}`;
  const [port, grpcPort] = await freePorts(2);
  const config = join(dir, "cloudsms.toml");
  writeFileSync(config, [
    "[captcha]",
    `listen = "127.0.0.1:${port}"`,
    `grpc_listen = "127.0.0.1:${grpcPort}"`,
    `hmac_key = "${hmacKey}"`,
    "default_max_number = 20000",
    "source_levels = []",
    "global_levels = []",
    "[[captcha.sites]]",
    `site_key = "${SITE}"`,
    `secret = "${SECRET}"`,
    `hostnames = ["${HOST}"]`,
    "[[captcha.sites]]",
    `site_key = "${WIDGET_SITE}"`,
    `secret = "${WIDGET_SECRET}"`,
    `hostnames = ["127.0.0.1"]`,
    "",
  ].join("\n"));
  iso.env.CLOUDSMS_CONFIG = config;
  const service = startCloudsms(["captcha-verification"], iso);
  const base = `http://127.0.0.1:${port}`;
  await waitReady(`${base}/readyz`, service);
  return {
    base,
    hmacKey,
    // As from a page on HOST: the hostname is the Origin's, never the body's.
    async redeem(payload) {
      const r = await fetch(`${base}/redeem`, {
        method: "POST",
        headers: { "content-type": "application/json", origin: `https://${HOST}` },
        body: JSON.stringify({ payload, sitekey: SITE }),
      });
      return r.json();
    },
    async siteverify(token, secret = SECRET) {
      const r = await fetch(`${base}/siteverify`, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({ secret, response: token }).toString(),
      });
      return r.json();
    },
    stop: () => service.stop(),
  };
}

// The payload exactly as the altcha widget (3.x, createPayloadV1) submits it.
function widgetPayload(challenge, solution) {
  return btoa(JSON.stringify({
    algorithm: challenge.algorithm,
    challenge: challenge.challenge,
    number: solution.number,
    salt: challenge.salt,
    signature: challenge.signature,
    took: solution.took,
  }));
}

for (const mode of ["embedded", "distributed"]) {
  test(`${mode}: altcha-lib solves our challenge, accepts our signature, and we accept its challenges`, async () => {
    const svc = await startCaptcha(mode);
    try {
      // 1. Our challenge, solved by altcha-lib's solver, redeemed and verified.
      const r = await fetch(`${svc.base}/challenge?sitekey=${SITE}&action=login`);
      assert.equal(r.status, 200);
      assert.equal(r.headers.get("access-control-allow-origin"), "*");
      const challenge = await r.json();
      assert.equal(challenge.algorithm, "SHA-256");
      assert.equal(challenge.maxnumber, 20000);
      assert.match(challenge.salt, /&$/);
      const solution = await solveChallenge(challenge.challenge, challenge.salt, challenge.algorithm, challenge.maxnumber).promise;
      assert.ok(solution, "altcha-lib found the number");
      const payload = widgetPayload(challenge, solution);

      // 2. altcha-lib's verifySolution accepts our challenge and its solution
      // with the same key (signature and expiry in the salt), and refuses
      // another key.
      assert.equal(await verifySolution(payload, svc.hmacKey), true);
      assert.equal(await verifySolution(payload, "another key"), false);

      const redeemed = await svc.redeem(payload);
      assert.equal(redeemed.ok, true, JSON.stringify(redeemed));
      const again = await svc.redeem(payload);
      assert.deepEqual(again["error-codes"], ["timeout-or-duplicate"]);
      const verified = await svc.siteverify(redeemed.token);
      assert.equal(verified.success, true, JSON.stringify(verified));
      assert.equal(verified.hostname, HOST);
      assert.equal(verified.action, "login");
      assert.deepEqual((await svc.siteverify(redeemed.token))["error-codes"], ["timeout-or-duplicate"]);

      // 3. A challenge made by altcha-lib with our key (its salt carries our
      // parameters; altcha-lib appends `expires` and the `&` delimiter).
      const theirs = await createChallenge({
        hmacKey: svc.hmacKey,
        maxnumber: 5000,
        expires: new Date(Date.now() + 120_000),
        params: { site: SITE, max: "5000" },
      });
      const theirSolution = await solveChallenge(theirs.challenge, theirs.salt, theirs.algorithm, theirs.maxnumber).promise;
      const accepted = await svc.redeem(widgetPayload(theirs, theirSolution));
      assert.equal(accepted.ok, true, JSON.stringify(accepted));

      // Signed with another key: refused.
      const foreign = await createChallenge({
        hmacKey: "not our key",
        maxnumber: 50,
        expires: new Date(Date.now() + 120_000),
        params: { site: SITE, max: "50" },
      });
      const foreignSolution = await solveChallenge(foreign.challenge, foreign.salt, foreign.algorithm, foreign.maxnumber).promise;
      const refused = await svc.redeem(widgetPayload(foreign, foreignSolution));
      assert.deepEqual(refused["error-codes"], ["invalid-input-response"]);
    } finally {
      await svc.stop();
    }
  });
}

test("embedded: the altcha 3.2 widget in chromium solves our challenge, and its payload redeems", async () => {
  const svc = await startCaptcha("embedded");
  const browser = await launchChromium();
  try {
    const page = await browser.newPage();
    const errors = [];
    page.on("pageerror", (e) => errors.push(String(e)));
    await page.route(`${svc.base}/widget-page`, (route) => route.fulfill({
      contentType: "text/html",
      body: `<!doctype html><form><altcha-widget challenge="/challenge?sitekey=${WIDGET_SITE}&action=comment" auto="onload"></altcha-widget></form>`,
    }));
    await page.goto(`${svc.base}/widget-page`);
    await page.addScriptTag({
      content: readFileSync(join(here, "node_modules", "altcha", "dist", "main", "altcha.umd.cjs"), "utf8"),
    });
    const handle = await page.waitForFunction(
      () => document.querySelector("input[name=altcha]")?.value, null, { timeout: 30_000 });
    const payload = await handle.jsonValue();
    const submitted = JSON.parse(atob(payload));
    assert.deepEqual(Object.keys(submitted).sort(), ["algorithm", "challenge", "number", "salt", "signature", "took"]);
    assert.equal(await verifySolution(payload, svc.hmacKey), true);
    // Redeemed from the page: the hostname comes from its Origin.
    const redeemed = await page.evaluate(async (altcha) => {
      const r = await fetch("/redeem", {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({ altcha, sitekey: "widget-site" }).toString(),
      });
      return r.json();
    }, payload);
    assert.equal(redeemed.ok, true, JSON.stringify(redeemed));
    const verified = await svc.siteverify(redeemed.token, WIDGET_SECRET);
    assert.equal(verified.success, true, JSON.stringify(verified));
    assert.equal(verified.hostname, "127.0.0.1");
    assert.equal(verified.action, "comment");
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
    await svc.stop();
  }
});
