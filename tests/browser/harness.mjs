// Shared by the browser tests: runs the debug `cloudsms` binary in an
// isolated environment (own data folder, stream and key prefixes, and in the
// distributed mode its own Postgres database) and launches Debian's chromium.

import assert from "node:assert/strict";
import { spawn, execFileSync } from "node:child_process";
import { createHmac, randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import net from "node:net";
import { before, after } from "node:test";
import { chromium } from "playwright-core";

const here = dirname(fileURLToPath(import.meta.url));
const targetDir = process.env.CARGO_TARGET_DIR || join(here, "..", "..", "target");

/** The debug build of `cloudsms`. */
export const bin = join(targetDir, "debug", "cloudsms");

/**
 * `n` TCP ports free on loopback right now, all different: every one is
 * bound before any is released (ports asked for one by one can repeat, and
 * a process given one port twice cannot start).
 */
export async function freePorts(n) {
  const servers = [];
  try {
    for (let i = 0; i < n; i++) {
      const server = net.createServer();
      servers.push(server);
      await new Promise((resolve, reject) => {
        server.once("error", reject);
        server.listen(0, "127.0.0.1", resolve);
      });
    }
    return servers.map((s) => s.address().port);
  } finally {
    await Promise.all(servers.filter((s) => s.listening).map((s) => new Promise((r) => s.close(r))));
  }
}

/**
 * Waits until `url` answers 200 (at most 60 s); fails at once, with its exit
 * status, if `service` (from `startCloudsms`) exits first.
 */
export async function waitReady(url, service) {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (service?.exit) {
      throw new Error(`cloudsms exited (${service.exit}) before ${url} was ready; its stderr is above`);
    }
    try {
      const r = await fetch(url);
      if (r.status === 200) return;
    } catch { /* not up yet */ }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${url} not ready after 60 s`);
}

function psql(sql) {
  execFileSync("psql", ["-h", "127.0.0.1", "-U", "postgres", "-qc", sql]);
}

/**
 * An isolated environment for `mode` ("embedded" or "distributed"): no
 * inherited CLOUDSMS_/OTEL_ variables, its own data folder, bus prefix, cache
 * key prefix and, when distributed, its own database on the standard ports.
 * `tag` (a letter) keeps names of different test files apart.
 */
export function isolatedEnv(mode, tag) {
  const dir = mkdtempSync(join(tmpdir(), `cloudsms-${tag}-`));
  const id = randomBytes(6).toString("hex");
  const env = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !k.startsWith("CLOUDSMS_") && !k.startsWith("OTEL_")),
  );
  Object.assign(env, {
    RUST_LOG: "warn",
    // Headless chromium looks automated to the crawler gate: only
    // gate.test.mjs turns it on.
    CLOUDSMS_GATEWAY__GATE__ENABLED: "false",
    CLOUDSMS_DATA_DIR: dir,
    CLOUDSMS_BUS__PREFIX: `${tag}${id}`,
    CLOUDSMS_CACHE__KEY_PREFIX: `${tag}:${id}:`,
  });
  let database = null;
  if (mode === "distributed") {
    database = `cloudsms_${tag}_${id}`;
    psql(`CREATE DATABASE ${database}`);
    Object.assign(env, {
      CLOUDSMS_NATS__URL: process.env.TEST_NATS_URL || "nats://127.0.0.1:4222",
      CLOUDSMS_REDIS__URL: process.env.TEST_REDIS_URL || "redis://127.0.0.1:6379",
      CLOUDSMS_DATABASE__URL: `postgres://postgres@127.0.0.1:5432/${database}`,
    });
  }
  return {
    env,
    id,
    dir,
    cleanup() {
      if (database) psql(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
    },
  };
}

/**
 * Starts `cloudsms <args>` in `iso`; `exit` says how it ended once it has
 * (else null); `stop()` sends SIGTERM, waits and cleans up.
 */
export function startCloudsms(args, iso) {
  const child = spawn(bin, args, { env: iso.env, cwd: iso.dir, stdio: ["ignore", "ignore", "inherit"] });
  const exited = new Promise((resolve) => child.once("exit", (code, signal) => resolve({ code, signal })));
  const service = {
    exit: null,
    async stop() {
      if (!service.exit) child.kill("SIGTERM");
      await exited;
      iso.cleanup();
    },
  };
  exited.then(({ code, signal }) => {
    service.exit = signal ? `signal ${signal}` : `exit code ${code}`;
  });
  return service;
}

/** Headless chromium with the flags this closed network needs. */
export function launchChromium() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-quic",
      "--no-first-run", "--disable-component-update", "--disable-sync"],
  });
}

/**
 * One chromium for a test file's tests: launched before them, closed after.
 * Returns a function that gives it (it exists once `before` has run).
 */
export function chromiumForTheseTests() {
  let browser;
  before(async () => {
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
  });
  return () => browser;
}

/**
 * `cloudsms all` in an isolated environment with one registered number (and
 * `moreNumbers`), on free ports, `extraEnv` on top; `sendSms` posts a signed
 * generic webhook (to `number` unless `to` is given).
 */
export async function startSite(mode, tag, extraEnv = {}, moreNumbers = []) {
  const iso = isolatedEnv(mode, tag);
  const secret = `test-browser-secret-${iso.id}`;
  const names = ["gateway", "ingest", "grpc", "captcha", "captchaGrpc", "retention", "retentionGrpc"];
  const free = await freePorts(names.length);
  const ports = Object.fromEntries(names.map((name, i) => [name, free[i]]));
  Object.assign(iso.env, {
    CLOUDSMS_INGEST__PROVIDERS__GENERIC__SECRET: secret,
    CLOUDSMS_GATEWAY__LISTEN: `127.0.0.1:${ports.gateway}`,
    CLOUDSMS_INGEST__LISTEN: `127.0.0.1:${ports.ingest}`,
    CLOUDSMS_INGEST__GRPC_LISTEN: `127.0.0.1:${ports.grpc}`,
    CLOUDSMS_CAPTCHA__LISTEN: `127.0.0.1:${ports.captcha}`,
    CLOUDSMS_CAPTCHA__GRPC_LISTEN: `127.0.0.1:${ports.captchaGrpc}`,
    CLOUDSMS_RETENTION__LISTEN: `127.0.0.1:${ports.retention}`,
    CLOUDSMS_RETENTION__GRPC_LISTEN: `127.0.0.1:${ports.retentionGrpc}`,
  }, extraEnv);
  const number = "+447700900555";
  for (const n of [number, ...moreNumbers]) {
    execFileSync(bin, ["numbers", "add", n], { env: iso.env, cwd: iso.dir });
  }
  const service = startCloudsms(["all"], iso);
  const site = `http://127.0.0.1:${ports.gateway}`;
  try {
    await waitReady(`${site}/readyz`, service);
  } catch (e) {
    await service.stop();
    throw e;
  }
  return {
    site,
    number,
    async sendSms(from, body, to = number) {
      const raw = JSON.stringify({ to, from, body, id: randomBytes(8).toString("hex") });
      const ts = Math.floor(Date.now() / 1000).toString();
      const sig = createHmac("sha256", secret).update(`${ts}.${raw}`).digest("hex");
      const r = await fetch(`http://127.0.0.1:${ports.ingest}/webhooks/generic`, {
        method: "POST",
        headers: { "content-type": "application/json", "x-cloudsms-timestamp": ts, "x-cloudsms-signature": `sha256=${sig}` },
        body: raw,
      });
      assert.equal(r.status, 202, await r.text());
    },
    stop: () => service.stop(),
  };
}

const axeSource = readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");

/**
 * axe-core's violations (WCAG 2.1 A/AA and best practices) on the open page,
 * or within the `include` selectors, as readable lines. axe is evaluated
 * through the debugger, so the page's CSP holds.
 */
export async function axeViolations(page, include = null) {
  await page.evaluate(axeSource);
  const result = await page.evaluate((include) =>
    window.axe.run(include ? { include: include.map((s) => [s]) } : document, {
      runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"] },
      resultTypes: ["violations"],
    }), include);
  return result.violations.map((v) =>
    `${v.id} (${v.impact}): ${v.help} — ${v.nodes.map((n) => n.target.join(" ")).slice(0, 3).join(", ")}`);
}
