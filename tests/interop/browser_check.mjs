// Loads agenda's pages in Debian's Chromium (puppeteer-core, never a downloaded browser) and
// reports, as JSON on stdout, what tests/it/pages.rs asserts on: console errors, axe-core's
// serious and critical violations, whether any script of an XSS attempt ran, and the
// screenshots taken at desktop and phone widths.
//
// Per page also: its <html lang>, the text of its first <time data-local> (the session's
// start as the page writes it in its language) and the viewer's-time note the script added.
// "switches": from a page, click the language switch's links in turn (by hreflang) and report
// each page reached.
//
// Input (stdin, JSON): { "base": "http://127.0.0.1:PORT", "chromium": "/usr/bin/chromium",
//   "out_dir": "...", "pages": ["/", ...], "xss": ["/sessions/..."],
//   "switches": [{ "path": "/sessions/...", "through": ["es", "fr"] }] (optional),
//   "timezone": "Europe/London" (optional: the viewer's zone; else the machine's) }
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import puppeteer from "puppeteer-core";

const require = createRequire(import.meta.url);
const axeSource = readFileSync(require.resolve("axe-core/axe.min.js"), "utf8");
const input = JSON.parse(readFileSync(0, "utf8"));

const VIEWPORTS = [
  { name: "desktop", width: 1280, height: 900, isMobile: false },
  { name: "phone", width: 375, height: 740, isMobile: true, deviceScaleFactor: 2, hasTouch: true },
];

const userDataDir = mkdtempSync(join(tmpdir(), "agenda-chromium-"));
const browser = await puppeteer.launch({
  executablePath: input.chromium,
  headless: true,
  userDataDir,
  args: [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
  ],
});

/** Opens `path`, collecting console errors, page errors and dialogs (an XSS payload's alert). */
async function open(path, viewport) {
  const page = await browser.newPage();
  await page.setViewport(viewport);
  if (input.timezone) await page.emulateTimezone(input.timezone);
  const errors = [];
  const dialogs = [];
  page.on("console", (m) => { if (m.type() === "error") errors.push(m.text()); });
  page.on("pageerror", (e) => errors.push(String(e)));
  page.on("requestfailed", (r) => errors.push(`request failed: ${r.url()}`));
  page.on("dialog", async (d) => { dialogs.push(d.message()); await d.dismiss(); });
  // A payload that runs without a dialog still leaves a mark.
  await page.evaluateOnNewDocument(() => { window.__agendaXss = []; });
  const response = await page.goto(input.base + path, { waitUntil: "networkidle0" });
  return { page, errors, dialogs, status: response.status() };
}

const report = { pages: [], xss: [], switches: [] };

/** What a page says about its language. */
async function language(page) {
  return page.evaluate(() => ({
    lang: document.documentElement.lang,
    first_time: document.querySelector("time[data-local]")?.textContent ?? null,
    local_note: document.querySelector("span.local")?.textContent ?? null,
  }));
}
try {
  for (const path of input.pages) {
    const { page, errors, dialogs, status } = await open(path, VIEWPORTS[0]);
    await page.evaluate(axeSource);
    const axe = await page.evaluate(async () => {
      const r = await window.axe.run(document, { resultTypes: ["violations"] });
      return r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.length }));
    });
    const screenshots = [];
    for (const viewport of VIEWPORTS) {
      await page.setViewport(viewport);
      const file = join(input.out_dir, `${path.replace(/[^a-z0-9]+/gi, "_") || "_"}-${viewport.name}.png`);
      await page.screenshot({ path: file, fullPage: true });
      screenshots.push(file);
    }
    const localTimes = await page.$$eval("span.local", (els) => els.length);
    report.pages.push({
      path, status, errors, dialogs, screenshots, local_times: localTimes, ...(await language(page)),
      serious: axe.filter((v) => v.impact === "serious" || v.impact === "critical"),
      other: axe.filter((v) => v.impact !== "serious" && v.impact !== "critical"),
    });
    await page.close();
  }
  for (const path of input.xss) {
    const { page, errors, dialogs, status } = await open(path, VIEWPORTS[0]);
    const marks = await page.evaluate(() => window.__agendaXss.length);
    const title = await page.$eval("h1", (h) => h.textContent);
    const injected = await page.evaluate(() => document.querySelectorAll("main script, main img, main iframe").length);
    report.xss.push({ path, status, errors, dialogs, marks, title, injected });
    await page.close();
  }
  for (const { path, through } of input.switches ?? []) {
    const { page, errors } = await open(path, VIEWPORTS[0]);
    const visited = [];
    for (const lang of through) {
      await Promise.all([
        page.waitForNavigation({ waitUntil: "networkidle0" }),
        page.click(`nav.languages a[hreflang="${lang}"]`),
      ]);
      const url = new URL(page.url());
      visited.push({ path: url.pathname + url.search, ...(await language(page)) });
    }
    report.switches.push({ path, errors, visited });
    await page.close();
  }
} finally {
  await browser.close();
  rmSync(userDataDir, { recursive: true, force: true });
}
process.stdout.write(JSON.stringify(report));
