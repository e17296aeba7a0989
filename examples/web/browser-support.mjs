// What the browser tests share (examples/web's and examples/next's):
// Debian's chromium through puppeteer-core (resolved from this package),
// and everything tests/js/processes.mjs has.
//
// Environment: CHROMIUM (default: `chromium` on PATH), and VEXIL_BIN.
import { join } from "node:path";

import puppeteer from "puppeteer-core";

import { root } from "../../tests/js/processes.mjs";

export * from "../../tests/js/processes.mjs";

/** Where screenshots go. */
export const artefacts = join(root, "target/web-test");

/** Debian's chromium, headless. */
export function launchBrowser() {
  return puppeteer.launch({
    executablePath: process.env.CHROMIUM ?? "chromium",
    headless: true,
    args: ["--no-sandbox", "--disable-dev-shm-usage"],
  });
}

/** A page of `browser` (or of a browser context) whose console errors and warnings are collected. */
export async function openPage(browser) {
  const page = await browser.newPage();
  const messages = [];
  page.on("console", (m) => {
    if (m.type() === "error" || m.type() === "warn") messages.push(`${m.type()}: ${m.text()}`);
  });
  page.on("pageerror", (e) => messages.push(`pageerror: ${e.message}`));
  return { page, messages };
}

