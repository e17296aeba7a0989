// The shop's checkout on React Router 7's framework mode (built by Vite,
// served by `react-router-serve`) in a real browser (Debian's chromium,
// driven by puppeteer-core) against the real `vexil serve`: the loader's
// evaluation rendered into the HTML before any script runs, the same DOM
// after hydration with no console warning, and a kill switch reaching the
// open page without a reload (and the next request's HTML). A screenshot
// is kept in target/web-test/.
//
// The flag server serves a copy of examples/shop whose `checkout-layout`
// experiment ends in 2099 (`copyShop`), so the variants expected do not
// depend on the day the tests run.
//
// Environment: VEXIL_BIN (default target/debug/vexil), CHROMIUM (default:
// `chromium` on PATH). Run by scripts/test-web.sh after `npm run build`.
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";

import {
  artefacts,
  assertHydratesAndFollowsKillSwitch,
  assertRenderedBeforeScripts,
  copyShop,
  freePort,
  launchBrowser,
  startProcess,
  startVexil,
  stopProcess,
} from "../../web/browser-support.mjs";

const app = join(dirname(fileURLToPath(import.meta.url)), "..");
const work = mkdtempSync(join(tmpdir(), "vexil-react-router-test-"));
const adminKey = "rr-admin-secret";
const clientKey = "rr-client-secret";

let flagPort, appPort, flagServer, server, browser;
const flagUrl = () => `http://127.0.0.1:${flagPort}`;
const appUrl = (user) => `http://127.0.0.1:${appPort}/?user=${user}`;

before(async () => {
  mkdirSync(artefacts, { recursive: true });
  copyShop(join(work, "shop"));
  [flagPort, appPort] = [await freePort(), await freePort()];
  // The page's origin may follow the flag server from the browser.
  writeFileSync(join(work, "vexil.toml"), `[cors]\norigins = ["http://127.0.0.1:${appPort}"]\n`);
  flagServer = await startVexil({
    dir: join(work, "shop"),
    port: flagPort,
    keys: `client:react-router:${clientKey},admin:tests:${adminKey}`,
    config: join(work, "vexil.toml"),
    dataDir: join(work, "data"),
  });
  server = await startProcess(
    process.execPath,
    [join(app, "node_modules/@react-router/serve/bin.js"), join(app, "build/server/index.js")],
    { VEXIL_URL: flagUrl(), VEXIL_CLIENT_KEY: clientKey, PORT: String(appPort), HOST: "127.0.0.1", NODE_ENV: "production" },
    /\[react-router-serve\]/,
    { cwd: app },
  );
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await stopProcess(server);
  await stopProcess(flagServer);
});

test("the loader's evaluation is in the HTML before any script runs", () => assertRenderedBeforeScripts(browser, appUrl));

test("hydration keeps the server's DOM with no warning, and a kill switch reaches the page without a reload", () =>
  assertHydratesAndFollowsKillSwitch({
    browser,
    url: appUrl("u-5008"),
    adminKey,
    flagServer: flagUrl(),
    screenshot: "react-router-checkout.png",
  }));
