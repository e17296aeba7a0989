// What the browser tests share (examples/web's and examples/next's):
// Debian's chromium through puppeteer-core (resolved from this package),
// and everything tests/js/processes.mjs has.
//
// Environment: CHROMIUM (default: `chromium` on PATH), and VEXIL_BIN.
import assert from "node:assert/strict";
import { join } from "node:path";

import puppeteer from "puppeteer-core";

import { root, vexil } from "../../tests/js/processes.mjs";

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


// The checkout examples' shared checks (examples/next, examples/react-router):
// each renders examples/shop's checkout for `?user=` u-5003 (US) and u-5008
// (CA), against a copy of the shop whose experiment runs until 2099.

/** The checkout's state on an open page: [data-checkout, data-layout]. */
export const checkoutOf = (page) => page.$eval("#checkout", (el) => [el.dataset.checkout, el.dataset.layout]);

/** The checkout's section of a page's HTML, React's text separators removed. */
export const checkoutSection = (html) => /<section id="checkout".*?<\/section>/s.exec(html)?.[0]?.replace(/<!--.*?-->/g, "");

/**
 * Each shopper's variant (and the threshold) is in the HTML `url(user)`
 * answers, and a browser without scripts shows it.
 */
export async function assertRenderedBeforeScripts(browser, url) {
  for (const [user, layout] of [["u-5003", "multi-page"], ["u-5008", "one-page"]]) {
    const html = await (await fetch(url(user))).text();
    assert.match(html, new RegExp(`<section id="checkout" data-checkout="new" data-layout="${layout}">`), user);
    assert.match(html, /Free shipping from <!-- -->50<!-- --> EUR/, user);
  }
  const { page } = await openPage(browser);
  await page.setJavaScriptEnabled(false);
  await page.goto(url("u-5008"));
  assert.deepEqual(await checkoutOf(page), ["new", "one-page"]);
  await page.close();
}

/**
 * `url` (u-5008's checkout) hydrates into the DOM the server rendered, with
 * no console error or warning; `new-checkout` switched off by an override
 * (`vexil override set` with `adminKey` against `flagServer`) reaches the
 * open page without a reload and the next request's HTML, and lifted, it
 * comes back. `screenshot` names a file in `artefacts`, if given.
 */
export async function assertHydratesAndFollowsKillSwitch({ browser, url, adminKey, flagServer, screenshot }) {
  const { page, messages } = await openPage(browser);
  const ssr = checkoutSection(await (await fetch(url)).text());
  assert.ok(ssr, `no checkout in ${url}`);
  await page.goto(url);
  await page.waitForSelector("body[data-hydrated=true]", { timeout: 10000 });
  await new Promise((r) => setTimeout(r, 500)); // the provider has connected
  assert.equal(checkoutSection(await page.$eval("#checkout", (el) => el.outerHTML)), ssr, "the DOM changed after hydration");
  assert.deepEqual(await checkoutOf(page), ["new", "one-page"]);
  await page.evaluate(() => {
    window.__sameDocument = true;
  });
  if (screenshot) await page.screenshot({ path: join(artefacts, screenshot), fullPage: true });
  vexil(adminKey, "override", "set", "new-checkout", "--off", "--reason", `test of ${url}`, "--server", flagServer);
  try {
    await page.waitForSelector("#checkout[data-checkout=classic]", { timeout: 2000 });
    assert.equal(await page.evaluate(() => window.__sameDocument), true, "the page was reloaded");
    assert.match(await (await fetch(url)).text(), /<section id="checkout" data-checkout="classic">/);
  } finally {
    vexil(adminKey, "override", "lift", "new-checkout", "--reason", `test of ${url} done`, "--server", flagServer);
  }
  await page.waitForSelector("#checkout[data-checkout=new][data-layout=one-page]", { timeout: 2000 });
  assert.deepEqual(messages, [], "console errors or warnings");
  await page.close();
}
