// Every visitor page, in both languages, on a phone (320 px) and a laptop
// (1366 px): axe-core finds no accessibility violations (WCAG 2.1 A/AA and
// axe's best practices), the browser asks nothing of any other origin, and
// a full-page screenshot of each is kept in artifacts/ for a person to look
// at. The page's own Content-Security-Policy
// stays on: axe is evaluated through the DevTools protocol, not injected as
// a script element.

import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { chromiumForTheseTests, startSite, axeViolations } from "./harness.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const artifacts = join(here, "artifacts");
mkdirSync(artifacts, { recursive: true });

const browser = chromiumForTheseTests();

/** The pages a visitor reaches, by a short name for the screenshots. */
function pages(number) {
  return [
    ["home", "/"],
    ["latest", "/latest"],
    ["country", "/countries/gb"],
    ["number", `/numbers/${number}`],
    ["faq", "/faq"],
    ["search", "/search?q=44"],
    ["service", "/services/whatsapp"],
    ["privacy", "/privacy"],
    ["my-data", "/my-data"],
    ["not-found", "/nowhere"],
  ];
}

/** `path` in `lang`. */
function inLang(path, lang) {
  return lang === "en" ? path : `/${lang}${path}`;
}


for (const mode of ["embedded", "distributed"]) {
  test(`${mode}: no axe violations on any visitor page, 320 and 1366 px, en and zh-CN`, async () => {
    const site = await startSite(mode, "y");
    try {
      await site.sendSms("WhatsApp", "Your WhatsApp code: 898-830. Don't share it. Valid for 10 minutes.");
      await site.sendSms("+15550001111", "Hello <b>there</b> — see you at 5");
      const found = [];
      for (const width of [320, 1366]) {
        const context = await browser().newContext({ viewport: { width, height: 900 } });
        try {
          const page = await context.newPage();
          page.on("request", (r) => {
            if (new URL(r.url()).origin !== site.site) found.push(`third-party request: ${r.url()}`);
          });
          for (const lang of ["en", "zh-CN"]) {
            for (const [name, path] of pages(site.number)) {
              await page.goto(`${site.site}${inLang(path, lang)}`);
              if (name === "number") await page.locator("#messages li.msg").nth(1).waitFor();
              for (const line of await axeViolations(page)) found.push(`${name} ${lang} ${width}px: ${line}`);
              if (mode === "embedded") {
                await page.screenshot({ path: join(artifacts, `${name}-${width}-${lang}.png`), fullPage: true });
              }
            }
          }
        } finally {
          await context.close();
        }
      }
      assert.deepEqual(found, []);
    } finally {
      await site.stop();
    }
  });
}
