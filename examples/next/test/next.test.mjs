// The shop's checkout on Next.js (App Router) in a real browser (Debian's
// chromium, driven by puppeteer-core) against the real `vexil serve` and
// `next start`: the server component's evaluation rendered into the HTML
// before any script runs, hydrated into the same DOM with no warning, and
// a kill switch reaching the open page without a reload; and the same app
// evaluating in process (@vexil/node following the flag server) rendering
// the same page, overrides included; and the Pages Router's page
// (pages/classic.tsx, getServerSideProps) rendering, hydrating and
// following the same checkout. A screenshot is kept in
// target/web-test/.
//
// The flag server serves a copy of examples/shop whose `checkout-layout`
// experiment ends in 2099 (`copyShop`), so the variants expected do not
// depend on the day the tests run.
//
// Environment: VEXIL_BIN (default target/debug/vexil), CHROMIUM (default:
// `chromium` on PATH). Run by scripts/test-web.sh after `npm run build`.
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";

import {
  artefacts,
  assertHydratesAndFollowsKillSwitch,
  assertRenderedBeforeScripts,
  checkoutSection,
  copyShop,
  freePort,
  launchBrowser,
  startProcess,
  startVexil,
  stopProcess,
  vexil,
  waitFor,
} from "../../web/browser-support.mjs";

const app = join(dirname(fileURLToPath(import.meta.url)), "..");
const work = mkdtempSync(join(tmpdir(), "vexil-next-test-"));
const adminKey = "next-admin-secret";
const clientKey = "next-client-secret";
const serverKey = "next-server-secret";

let flagPort, appPort, localPort, flagServer, next, local, browser;
const flagUrl = () => `http://127.0.0.1:${flagPort}`;
const appUrl = (user) => `http://127.0.0.1:${appPort}/?user=${user}`;
const localUrl = (user) => `http://127.0.0.1:${localPort}/?user=${user}`;

/** `next start` on `port`, with `env`. */
const startNext = (port, env) =>
  startProcess(
    process.execPath,
    [join(app, "node_modules/next/dist/bin/next"), "start", "--port", String(port), "--hostname", "127.0.0.1"],
    { VEXIL_URL: flagUrl(), VEXIL_CLIENT_KEY: clientKey, NEXT_TELEMETRY_DISABLED: "1", ...env },
    /Ready in/,
    { cwd: app },
  );

before(async () => {
  mkdirSync(artefacts, { recursive: true });
  copyShop(join(work, "shop"));
  [flagPort, appPort, localPort] = [await freePort(), await freePort(), await freePort()];
  // The page's origin may follow the flag server from the browser.
  writeFileSync(join(work, "vexil.toml"), `[cors]\norigins = ["http://127.0.0.1:${appPort}"]\n`);
  flagServer = await startVexil({
    dir: join(work, "shop"),
    port: flagPort,
    keys: `client:next:${clientKey},server:next-ssr:${serverKey},admin:tests:${adminKey}`,
    config: join(work, "vexil.toml"),
    dataDir: join(work, "data"),
  });
  next = await startNext(appPort, {});
  // The same app evaluating in process (@vexil/node following the server).
  local = await startNext(localPort, { VEXIL_SERVER_KEY: serverKey });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await stopProcess(next);
  await stopProcess(local);
  await stopProcess(flagServer);
});

test("the server component's evaluation is in the HTML before any script runs", () =>
  assertRenderedBeforeScripts(browser, appUrl));

test("hydration keeps the server's DOM with no warning, and a kill switch reaches the page without a reload", () =>
  assertHydratesAndFollowsKillSwitch({
    browser,
    url: appUrl("u-5008"),
    adminKey,
    flagServer: flagUrl(),
    screenshot: "next-checkout.png",
  }));

test("evaluated in process (@vexil/node following the server), the page is the same, overrides included", async () => {
  const checkoutHtml = async (url) => checkoutSection(await (await fetch(url)).text());
  for (const user of ["u-5003", "u-5008"]) {
    const overHttp = await checkoutHtml(appUrl(user));
    assert.ok(overHttp, user);
    assert.equal(await checkoutHtml(localUrl(user)), overHttp, user);
  }
  // The bootstrap handed to the browser says where it was evaluated.
  assert.match(await (await fetch(localUrl("u-5008"))).text(), /in-process-\d+/);
  assert.doesNotMatch(await (await fetch(appUrl("u-5008"))).text(), /in-process-\d+/);
  vexil(adminKey, "override", "set", "new-checkout", "--off", "--reason", "next in-process test", "--server", flagUrl());
  try {
    await waitFor(
      "the override in the in-process render",
      async () => /data-checkout="classic"/.test((await checkoutHtml(localUrl("u-5008"))) ?? ""),
      2000,
    );
  } finally {
    vexil(adminKey, "override", "lift", "new-checkout", "--reason", "next in-process test done", "--server", flagUrl());
  }
});

test("on the Pages Router (getServerSideProps) the same checkout is rendered, hydrated and followed live", async () => {
  const classicUrl = (user) => `http://127.0.0.1:${appPort}/classic?user=${user}`;
  for (const user of ["u-5003", "u-5008"]) {
    const pages = checkoutSection(await (await fetch(classicUrl(user))).text());
    assert.ok(pages, user);
    assert.equal(pages, checkoutSection(await (await fetch(appUrl(user))).text()), user);
  }
  assert.match(await (await fetch(classicUrl("u-5008"))).text(), /Pages Router/);
  await assertHydratesAndFollowsKillSwitch({ browser, url: classicUrl("u-5008"), adminKey, flagServer: flagUrl() });
});
