// Solve time of the gate's proof of work per difficulty level, with the
// solver the browser runs (services/gateway/static/gate-worker.js), one
// puzzle against four sub-puzzles sharing the same work; baseline: Node's
// native SHA-256 (OpenSSL) on the same inputs in the same run.
// Prints a Markdown table. Bounded: a few seconds per level.

import { createHash, randomBytes, randomInt } from "node:crypto";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import { dirname, join } from "node:path";

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);
const { solve } = require(join(here, "..", "services", "gateway", "static", "gate-worker.js"));

function puzzle(max, parts) {
  const each = Math.max(1, Math.floor(max / parts));
  const salt = `${randomBytes(12).toString("hex")}?expires=1900000000&site=cloudsms-gate&max=${each}&action=gate&${parts > 1 ? `parts=${parts}&` : ""}`;
  const number = randomInt(1, each + 1);
  return { salt, max: each, number, challenge: createHash("sha256").update(salt + number).digest("hex") };
}

function stats(ms) {
  const s = [...ms].sort((a, b) => a - b);
  const mean = s.reduce((a, b) => a + b, 0) / s.length;
  const sd = Math.sqrt(s.reduce((a, b) => a + (b - mean) ** 2, 0) / s.length);
  const at = (q) => s[Math.min(s.length - 1, Math.floor(q * s.length))];
  return { mean, p50: at(0.5), p90: at(0.9), max: s[s.length - 1], cv: sd / mean };
}

function timeSolve(max, parts) {
  const puzzles = Array.from({ length: parts }, () => puzzle(max, parts));
  const started = performance.now();
  let hashes = 0;
  for (const p of puzzles) {
    const n = solve(p.salt, p.challenge, p.max);
    if (n !== p.number) throw new Error(`wrong solution ${n} != ${p.number}`);
    hashes += n + 1;
  }
  return { ms: performance.now() - started, hashes };
}

// Baseline: native hashes per second on the same salt shape.
function nativeRate() {
  const salt = puzzle(100000, 4).salt;
  const started = performance.now();
  let n = 0;
  while (performance.now() - started < 1000) {
    for (let i = 0; i < 10000; i++, n++) createHash("sha256").update(salt + n).digest();
  }
  return n / ((performance.now() - started) / 1000);
}

const native = nativeRate();
const levels = [
  [100000, 30, "default"],
  [300000, 16, "source level 1"],
  [1000000, 8, "source level 2"],
  [5000000, 3, "source level 3"],
];
let totalHashes = 0;
let totalMs = 0;
const rows = [];
for (const [max, samples, label] of levels) {
  for (const parts of [1, 4]) {
    const ms = [];
    for (let i = 0; i < samples; i++) {
      const r = timeSolve(max, parts);
      ms.push(r.ms);
      totalHashes += r.hashes;
      totalMs += r.ms;
    }
    const s = stats(ms);
    rows.push(`| ${max.toLocaleString("en")} (${label}) | ${parts} | ${samples} | ${s.mean.toFixed(0)} | ${s.p50.toFixed(0)} | ${s.p90.toFixed(0)} | ${s.max.toFixed(0)} | ${s.cv.toFixed(2)} |`);
  }
}
const js = totalHashes / (totalMs / 1000);
console.log(`| maxnumber | puzzles | samples | mean ms | p50 ms | p90 ms | max ms | spread (CV) |`);
console.log(`|---:|---:|---:|---:|---:|---:|---:|---:|`);
for (const row of rows) console.log(row);
console.log("");
console.log(`JavaScript solver: ${(js / 1e6).toFixed(2)} M hashes/s = ${(js / native).toFixed(2)} of Node's native SHA-256 (${(native / 1e6).toFixed(2)} M/s) on this machine.`);
console.log(`A mid-range phone hashes roughly 5-10 times slower than this machine's core: multiply the times accordingly.`);
