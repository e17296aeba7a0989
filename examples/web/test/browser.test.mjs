// The storefront in a real browser (Debian's chromium, driven by
// puppeteer-core) against the real `vexil serve` and the real app server:
// server-rendered variants before any script runs, the same DOM after
// hydration with no warning, a kill switch reaching the page without a
// reload, one exposure per shopper in the event store, and the page
// surviving the flag server's absence. A screenshot is kept in
// target/web-test/.
//
// The server serves a copy of examples/shop whose `checkout-layout`
// experiment ends in 2099 (`copyShop`, in ../browser-support.mjs), so the
// variants the tests expect do not depend on the day they run.
//
// Environment: VEXIL_BIN (default ../../target/debug/vexil), CHROMIUM
// (default: `chromium` on PATH). Run by scripts/test-web.sh.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";

import {
  artefacts,
  copyShop,
  freePort,
  launchBrowser,
  openPage as openPageOf,
  startProcess,
  startVexil,
  stopProcess,
  vexil as vexilWith,
  waitFor,
} from "../browser-support.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const work = mkdtempSync(join(tmpdir(), "vexil-web-test-"));
const adminKey = "test-admin-secret";
const clientKey = "test-client-secret";
const shop = join(work, "shop");

let flagPort, appPort, flagServer, app, browser;
const flagUrl = () => `http://127.0.0.1:${flagPort}`;
const appUrl = (user) => `http://127.0.0.1:${appPort}/?user=${user}`;

function startFlagServer() {
  return startVexil({
    dir: shop,
    port: flagPort,
    keys: `client:storefront:${clientKey},admin:tests:${adminKey}`,
    config: join(work, "vexil.toml"),
    dataDir: join(work, "data"),
  });
}

const vexil = (...args) => vexilWith(adminKey, ...args);

/** The exposures in the event store, as "experiment unit variant" lines. */
function exposures() {
  const r = spawnSync(
    "python3",
    [
      "-c",
      "import sqlite3,sys\nc=sqlite3.connect(sys.argv[1])\nfor r in c.execute('SELECT experiment, unit, variant FROM exposures ORDER BY unit, experiment'): print(*r)",
      join(work, "data", "vexil-events.db"),
    ],
    { encoding: "utf8" },
  );
  assert.equal(r.status, 0, r.stderr);
  return r.stdout.trim().split("\n").filter(Boolean);
}

const openPage = () => openPageOf(browser);

async function hydrated(page, user) {
  const response = await page.goto(appUrl(user));
  assert.equal(response.status(), 200);
  await page.waitForSelector("body[data-hydrated=true]", { timeout: 10000 });
}

const rootHtml = (page) =>
  page.$eval("#root", (el) => el.innerHTML.replace(/<!--.*?-->/g, ""));

before(async () => {
  mkdirSync(artefacts, { recursive: true });
  copyShop(shop);
  [flagPort, appPort] = [await freePort(), await freePort()];
  writeFileSync(join(work, "vexil.toml"), `[cors]\norigins = ["http://127.0.0.1:${appPort}"]\n`);
  flagServer = await startFlagServer();
  app = await startProcess(
    "node",
    [join(here, "../dist/server.js")],
    { VEXIL_URL: flagUrl(), VEXIL_CLIENT_KEY: clientKey, PORT: String(appPort) },
    /^http:\/\//m,
  );
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await stopProcess(app);
  await stopProcess(flagServer);
});

test("the server-rendered HTML has each shopper's variant before any script runs", async () => {
  const { page } = await openPage();
  await page.setJavaScriptEnabled(false);
  for (const [user, layout] of [["u-5003", "multi-page"], ["u-5008", "one-page"]]) {
    await page.goto(appUrl(user));
    const checkout = await page.$eval("#checkout", (el) => [el.dataset.checkout, el.dataset.layout]);
    assert.deepEqual(checkout, ["new", layout], user);
    assert.equal(await page.$eval("#banner", (el) => el.textContent), "Staging: payments are simulated.");
  }
  await page.close();
});

test("after hydration the DOM is the server's, with no warning; one exposure per shopper", async () => {
  for (const user of ["u-5003", "u-5008"]) {
    const { page, messages } = await openPage();
    const served = await (await fetch(appUrl(user))).text();
    const ssr = /<div id="root">(.*?)<\/div>\n<script id="__vexil_bootstrap__"/s.exec(served)?.[1]?.replace(/<!--.*?-->/g, "");
    assert.ok(ssr, served);
    await hydrated(page, user);
    // Let the provider connect and the exposures go out.
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(await rootHtml(page), ssr, `${user}: the DOM changed after hydration`);
    assert.deepEqual(messages, [], `${user}: console errors or warnings`);
    if (user === "u-5003") await page.screenshot({ path: join(artefacts, "storefront.png"), fullPage: true });
    await page.reload();
    await page.waitForSelector("body[data-hydrated=true]");
    await page.close();
  }
  const expected = ["checkout-layout u-5003 multi-page", "checkout-layout u-5008 one-page"];
  await waitFor("both exposures", () => exposures().length >= 2);
  // Loaded twice each: still one exposure each, and nothing for what was not shown.
  assert.deepEqual(exposures(), expected);
});

test("a kill switch reaches the open page within two seconds, without a reload", async () => {
  const { page, messages } = await openPage();
  await hydrated(page, "u-5003");
  await page.evaluate(() => {
    window.__sameDocument = true;
  });
  await new Promise((r) => setTimeout(r, 500)); // the event stream is open
  vexil("override", "set", "new-checkout", "--off", "--reason", "browser test", "--server", flagUrl());
  await page.waitForSelector("#checkout[data-checkout=classic]", { timeout: 2000 });
  assert.equal(await page.evaluate(() => window.__sameDocument), true, "the page was reloaded");
  vexil("override", "lift", "new-checkout", "--reason", "browser test done", "--server", flagUrl());
  await page.waitForSelector("#checkout[data-checkout=new]", { timeout: 2000 });
  assert.deepEqual(messages, []);
  await page.close();
});

test("with the flag server stopped the page still renders, and recovers when it returns", async () => {
  const { page } = await openPage();
  await hydrated(page, "u-5008");
  await new Promise((r) => setTimeout(r, 500));
  await stopProcess(flagServer);
  // The open page keeps its values.
  await new Promise((r) => setTimeout(r, 500));
  assert.equal(await page.$eval("#checkout", (el) => el.dataset.layout), "one-page");
  // A new page load is still answered (the server renders the defaults),
  // and the browser's cached values come back.
  await hydrated(page, "u-5008");
  await page.waitForSelector("#checkout[data-layout=one-page]", { timeout: 5000 });
  await page.screenshot({ path: join(artefacts, "storefront-flag-server-down.png"), fullPage: true });
  // The server returns: a change made there reaches the page again.
  flagServer = await startFlagServer();
  vexil("override", "set", "new-checkout", "--off", "--reason", "browser test: recovery", "--server", flagUrl());
  await page.waitForSelector("#checkout[data-checkout=classic]", { timeout: 20000 });
  vexil("override", "lift", "new-checkout", "--reason", "browser test done", "--server", flagUrl());
  await page.close();
});
