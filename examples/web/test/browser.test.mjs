// The storefront in a real browser (Debian's chromium, driven by
// puppeteer-core) against the real `vexil serve` and the real app server:
// server-rendered variants before any script runs, the same DOM after
// hydration with no warning, a kill switch reaching the page without a
// reload, one exposure per shopper in the event store, and the page
// surviving the flag server's absence. A screenshot is kept in
// target/web-test/.
//
// The server serves a copy of examples/shop whose `checkout-layout`
// experiment ends in 2099 instead of 2027-01-15, so the variants the tests
// expect do not depend on the day they run (after the real end date every
// shopper gets the control). Nothing else the tests read depends on the
// date: the rules they go through start in the past and never end.
//
// Environment: VEXIL_BIN (default ../../target/debug/vexil), CHROMIUM
// (default: `chromium` on PATH). Run by scripts/test-web.sh.
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";

import puppeteer from "puppeteer-core";

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, "../../..");
const vexilBin = process.env.VEXIL_BIN ?? join(root, "target/debug/vexil");
const chromium = process.env.CHROMIUM ?? "chromium";
const artefacts = join(root, "target/web-test");
const work = mkdtempSync(join(tmpdir(), "vexil-web-test-"));
const adminKey = "test-admin-secret";
const clientKey = "test-client-secret";
const shop = join(work, "shop");

/** examples/shop with the checkout-layout experiment's end moved to 2099. */
function copyShop() {
  cpSync(join(root, "examples/shop"), shop, { recursive: true });
  const file = join(shop, "experiments.flag");
  const text = readFileSync(file, "utf8");
  const moved = text.replace(/^(experiment checkout-layout:[^]*?\n  end )2027-01-15$/m, "$12099-01-15");
  assert.notEqual(moved, text, "examples/shop's checkout-layout no longer ends on 2027-01-15: update copyShop");
  writeFileSync(file, moved);
}

function freePort() {
  return new Promise((res, rej) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => res(port));
    });
    s.on("error", rej);
  });
}

/** Starts a process and resolves once `ready` matches a line of its output. */
function startProcess(cmd, args, env, ready) {
  const child = spawn(cmd, args, { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  return new Promise((res, rej) => {
    const timer = setTimeout(() => rej(new Error(`${cmd} did not start:\n${output}`)), 30000);
    const onData = (chunk) => {
      output += chunk;
      if (ready.test(output)) {
        clearTimeout(timer);
        res(child);
      }
    };
    child.stdout.on("data", onData);
    child.stderr.on("data", onData);
    child.on("exit", (code) => {
      clearTimeout(timer);
      rej(new Error(`${cmd} exited with ${code}:\n${output}`));
    });
  });
}

function stopProcess(child) {
  if (!child || child.exitCode !== null) return Promise.resolve();
  return new Promise((res) => {
    child.removeAllListeners("exit");
    child.on("exit", () => res());
    child.kill("SIGTERM");
  });
}

let flagPort, appPort, flagServer, app, browser;
const flagUrl = () => `http://127.0.0.1:${flagPort}`;
const appUrl = (user) => `http://127.0.0.1:${appPort}/?user=${user}`;

function startFlagServer() {
  return startProcess(
    vexilBin,
    ["serve", shop, "--config", join(work, "vexil.toml"), "--listen", `127.0.0.1:${flagPort}`, "--data-dir", join(work, "data")],
    { VEXIL_KEYS: `client:storefront:${clientKey},admin:tests:${adminKey}`, RUST_LOG: "warn,vexil_server=info" },
    /serving OFREP at/,
  );
}

function vexil(...args) {
  const r = spawnSync(vexilBin, args, { env: { ...process.env, VEXIL_KEY: adminKey }, encoding: "utf8" });
  assert.equal(r.status, 0, `vexil ${args.join(" ")}:\n${r.stdout}\n${r.stderr}`);
}

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

async function waitFor(what, check, timeoutMs = 10000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** A page whose console errors and warnings are collected. */
async function openPage() {
  const page = await browser.newPage();
  const messages = [];
  page.on("console", (m) => {
    if (m.type() === "error" || m.type() === "warn") messages.push(`${m.type()}: ${m.text()}`);
  });
  page.on("pageerror", (e) => messages.push(`pageerror: ${e.message}`));
  return { page, messages };
}

async function hydrated(page, user) {
  const response = await page.goto(appUrl(user));
  assert.equal(response.status(), 200);
  await page.waitForSelector("body[data-hydrated=true]", { timeout: 10000 });
}

const rootHtml = (page) =>
  page.$eval("#root", (el) => el.innerHTML.replace(/<!--.*?-->/g, ""));

before(async () => {
  mkdirSync(artefacts, { recursive: true });
  copyShop();
  [flagPort, appPort] = [await freePort(), await freePort()];
  writeFileSync(join(work, "vexil.toml"), `[cors]\norigins = ["http://127.0.0.1:${appPort}"]\n`);
  flagServer = await startFlagServer();
  app = await startProcess(
    "node",
    [join(here, "../dist/server.js")],
    { VEXIL_URL: flagUrl(), VEXIL_CLIENT_KEY: clientKey, PORT: String(appPort) },
    /^http:\/\//m,
  );
  browser = await puppeteer.launch({
    executablePath: chromium,
    headless: true,
    args: ["--no-sandbox", "--disable-dev-shm-usage"],
  });
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
