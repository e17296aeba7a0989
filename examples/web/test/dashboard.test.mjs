// The admin dashboard (`vexil serve`'s /admin) in a real browser (Debian's
// chromium, driven by puppeteer-core) against the real `vexil serve
// examples/shop` with some OFREP traffic: sign in, the inventory lists every
// flag with kind and owner, filters work, a kill switch set with a reason
// is served as DISABLED within a second and audited with actor and reason,
// then lifted; the Why page explains why a user does not get new-checkout;
// the Experiments page draws the checkout layer; an experiment's page,
// answered before its analysis is read, has its script put in the
// always-valid analysis of events sent to the server, the fixed-horizon
// view on request, and shows its usage over time;
// a viewer has no buttons and is refused with 403; a write
// without the CSRF token is refused; no page loads anything from another
// origin or logs a console error. Screenshots of each page are kept in
// target/web-test/dashboard-*.png.
//
// Environment: VEXIL_BIN (default ../../target/debug/vexil), CHROMIUM
// (default: `chromium` on PATH). Run by scripts/test-web.sh.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";

import {
  artefacts,
  freePort,
  launchBrowser,
  openPage as openPageOf,
  root,
  startVexil,
  stopProcess,
  vexilBin,
} from "../browser-support.mjs";

const work = mkdtempSync(join(tmpdir(), "vexil-dashboard-test-"));
const adminKey = "dash-admin-secret";
const viewerKey = "dash-viewer-secret";
const serverKey = "dash-server-secret";

let port, server, browser;
const origin = () => `http://127.0.0.1:${port}`;

function startServer() {
  // The storefront's code is searched for the flags it reads; an
  // experiment's page never waits for its analysis (its script fills it in).
  const config = join(work, "vexil.toml");
  const code = JSON.stringify(join(root, "examples/web/src"));
  writeFileSync(config, `[dashboard]\ncode = [${code}]\nanalysis_wait_ms = 0\n`);
  return startVexil({
    dir: join(root, "examples/shop"),
    port,
    keys: `admin:oncall:${adminKey},viewer:auditor:${viewerKey},server:backend:${serverKey}`,
    config,
    dataDir: join(work, "data"),
  });
}

async function evaluate(flag, user = "u-42") {
  const r = await fetch(`${origin()}/ofrep/v1/evaluate/flags/${flag}`, {
    method: "POST",
    headers: { "content-type": "application/json", "x-api-key": serverKey },
    body: JSON.stringify({ context: { targetingKey: user } }),
  });
  const text = await r.text();
  assert.equal(r.status, 200, `${flag}: ${text}`);
  return JSON.parse(text);
}

before(async () => {
  mkdirSync(artefacts, { recursive: true });
  port = await freePort();
  server = await startServer();
  browser = await launchBrowser();
  // Some traffic, so that evaluation counts are not all zero.
  for (let i = 0; i < 20; i++) await evaluate("new-checkout", `u-${i}`);
});

after(async () => {
  await browser?.close();
  await stopProcess(server);
});

/** A page in its own browser context (its own cookies), watching console
 * messages and every request it makes. */
async function openPage() {
  const context = await browser.createBrowserContext();
  const { page, messages } = await openPageOf(context);
  const requests = [];
  page.on("request", (r) => requests.push(r.url()));
  page.on("dialog", (d) => d.accept());
  return { page, messages, requests, context };
}

async function signIn(page, key) {
  await page.goto(`${origin()}/admin/flags`);
  assert.equal(new URL(page.url()).pathname, "/admin/login", "no page without a session");
  await page.type("#key", key);
  await Promise.all([page.waitForNavigation(), page.click("form.login button")]);
  assert.equal(new URL(page.url()).pathname, "/admin/flags");
}

function assertClean({ messages, requests }, what) {
  assert.deepEqual(messages, [], `${what}: console errors or warnings`);
  const foreign = requests.filter((u) => !u.startsWith(origin()));
  assert.deepEqual(foreign, [], `${what}: requests to another origin`);
}

test("the inventory lists every flag with kind and owner, and filters work", async () => {
  const w = await openPage();
  const { page } = w;
  await signIn(page, adminKey);
  const bulk = await fetch(`${origin()}/ofrep/v1/evaluate/flags`, {
    method: "POST",
    headers: { "content-type": "application/json", "x-api-key": serverKey },
    body: JSON.stringify({ context: { targetingKey: "u-1" } }),
  }).then((r) => r.json());
  const rows = await page.$$eval("tr[data-flag]", (trs) =>
    Object.fromEntries(
      trs.map((tr) => [tr.dataset.flag, { kind: tr.querySelector(".kind").textContent, owner: tr.querySelector(".owner").textContent }]),
    ),
  );
  for (const f of bulk.flags) assert.ok(rows[f.key], `${f.key} is listed`);
  assert.deepEqual(rows["payments-circuit-breaker"], { kind: "operational", owner: "team-payments" });
  assert.deepEqual(rows["new-checkout"], { kind: "release", owner: "team-checkout" });
  await page.screenshot({ path: join(artefacts, "dashboard-flags.png"), fullPage: true });

  // Choosing a kind applies the filter at once (the page's script).
  await Promise.all([page.waitForNavigation(), page.select("select[name=kind]", "operational")]);
  const kinds = await page.$$eval("tr[data-flag] .kind", (tds) => tds.map((td) => td.textContent));
  assert.ok(kinds.length > 0);
  assert.ok(kinds.every((k) => k === "operational"), kinds.join(","));
  await Promise.all([page.waitForNavigation(), page.select("select[name=owner]", "team-payments")]);
  const names = await page.$$eval("tr[data-flag]", (trs) => trs.map((tr) => tr.dataset.flag));
  assert.ok(names.includes("payments-circuit-breaker"));
  assert.ok(!names.includes("recommendations"), "owned by team-catalog");
  assertClean(w, "flags");
  await w.context.close();
});

test("an admin switches payments-circuit-breaker off with a reason, it is served and audited, then lifted", async () => {
  const w = await openPage();
  const { page } = w;
  await signIn(page, adminKey);
  await page.goto(`${origin()}/admin/flags/payments-circuit-breaker`);
  assert.notEqual((await evaluate("payments-circuit-breaker")).reason, "DISABLED");
  await page.select("form.override-set select[name=action]", "off");
  await page.type("form.override-set input[name=reason]", "INC-4711 payments provider down");
  await Promise.all([page.waitForNavigation(), page.click("form.override-set button")]);
  const clicked = Date.now();
  let seen;
  while (Date.now() - clicked < 1000) {
    seen = (await evaluate("payments-circuit-breaker")).reason;
    if (seen === "DISABLED") break;
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.equal(seen, "DISABLED", "an OFREP client sees the kill switch within a second");
  assert.match(await page.$eval(".override-active", (e) => e.textContent), /INC-4711/);
  await page.screenshot({ path: join(artefacts, "dashboard-flag.png"), fullPage: true });

  await page.goto(`${origin()}/admin/audit?flag=payments-circuit-breaker`);
  const entries = await page.$$eval("table.audit tbody tr", (trs) =>
    trs.map((tr) => ({ kind: tr.dataset.kind, actor: tr.querySelector(".actor").textContent, reason: tr.querySelector(".reason").textContent })),
  );
  assert.deepEqual(entries[0], { kind: "override_set", actor: "oncall", reason: "INC-4711 payments provider down" });
  await page.screenshot({ path: join(artefacts, "dashboard-audit.png"), fullPage: true });

  await page.goto(`${origin()}/admin/flags/payments-circuit-breaker`);
  await page.type("form.override-lift input[name=reason]", "provider is back");
  await Promise.all([page.waitForNavigation(), page.click("form.override-lift button")]);
  assert.notEqual((await evaluate("payments-circuit-breaker")).reason, "DISABLED");
  assertClean(w, "flag and audit");

  // A write without the CSRF token is refused (a fresh page: the refused
  // request's 403 is logged to that page's console).
  const status = await page.evaluate(async () => {
    const r = await fetch(`${location.pathname}/override`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ action: "off", reason: "no token" }),
    });
    return r.status;
  });
  assert.equal(status, 403);
  assert.notEqual((await evaluate("payments-circuit-breaker")).reason, "DISABLED");
  await w.context.close();
});

test("a viewer has no buttons, and its request is refused with 403", async () => {
  const w = await openPage();
  const { page } = w;
  await signIn(page, viewerKey);
  await page.goto(`${origin()}/admin/flags/payments-circuit-breaker`);
  assert.equal(await page.$("form.override-set"), null);
  assert.equal(await page.$("form.override-lift"), null);
  assertClean(w, "viewer's flag page");
  const status = await page.evaluate(async () => {
    const csrf = document.querySelector("input[name=csrf]").value;
    const r = await fetch(`${location.pathname}/override`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ csrf, action: "off", reason: "curious" }),
    });
    return r.status;
  });
  assert.equal(status, 403);
  assert.notEqual((await evaluate("payments-circuit-breaker")).reason, "DISABLED");
  await w.context.close();
});

test("the Why page explains why a user does not get new-checkout", async () => {
  const w = await openPage();
  const { page } = w;
  await signIn(page, viewerKey);
  await page.goto(`${origin()}/admin/why`);
  await page.select("select[name=flag]", "new-checkout");
  await page.type("input[name='user.id']", "u-77");
  await page.type("input[name='location.country']", "JP");
  await Promise.all([page.waitForNavigation(), page.click("form.why button[type=submit]")]);
  const title = await page.$eval(".explanation h2", (h) => h.textContent);
  assert.match(title, /new-checkout serves false/);
  const steps = await page.$$eval("ol.steps > li", (lis) => lis.map((li) => li.textContent));
  assert.match(steps[0], /requires payments-v2 == true/);
  assert.match(steps[0], /not matched/);
  assert.match(steps[0], /payments-v2 served false/);
  await page.screenshot({ path: join(artefacts, "dashboard-why.png"), fullPage: true });
  assertClean(w, "why");
  await w.context.close();
});

test("an experiment's page analyses with always-valid intervals, offers the fixed-horizon view, and shows its usage", async () => {
  // Two weeks of checkout-layout as `vexil simulate` makes them (10,000
  // visitors, every metric), sent to the server's events intake.
  const simulated = execFileSync(vexilBin, ["simulate", join(root, "examples/shop"), "checkout-layout", "--units", "10000", "-o", "-"], {
    encoding: "utf8",
    maxBuffer: 64 * 1024 * 1024,
    stdio: ["ignore", "pipe", "pipe"],
  })
    .split("\n")
    .filter((l) => l.trim() !== "");
  assert.ok(simulated.length > 1000, `${simulated.length} lines simulated`);
  for (let at = 0; at < simulated.length; at += 300) {
    const r = await fetch(`${origin()}/v1/events`, {
      method: "POST",
      headers: { "content-type": "application/x-ndjson", authorization: `Bearer ${serverKey}` },
      body: simulated.slice(at, at + 300).join("\n"),
    });
    assert.equal(r.status, 200, await r.text());
  }
  for (let i = 0; i < 5; i++) await evaluate("checkout-layout", `x-${i}`);

  const w = await openPage();
  const { page } = w;
  await signIn(page, viewerKey);
  // Answered before the analysis is read; the page's script puts the
  // section in when it is.
  const answer = await page.goto(`${origin()}/admin/experiments/checkout-layout`);
  assert.match(await answer.text(), /<section id="analysis" data-src="[^"]+" aria-busy="true">/);
  await page.waitForSelector("section#analysis:not([data-src]) table.exposures");
  const units = await page.$$eval("table.exposures td.units", (tds) => tds.map((td) => Number(td.textContent.replace(/,/g, ""))));
  assert.equal(units.length, 2);
  assert.ok(units.every((n) => n > 100), units.join(", "));
  assert.match(await page.$eval("p.validity", (p) => p.textContent), /Always-valid intervals and p-values/);
  assert.match(await page.$eval("p.as-of", (p) => p.textContent), /as of \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC/);
  assert.ok(await page.$("div.forest svg"), "the forest plot");
  assert.ok(await page.$('svg.usage[data-by="variant"]'), "evaluations over time by variant");
  const sequential = await page.$eval('tr[data-metric="conversion"] td.interval', (td) => td.textContent);
  await page.screenshot({ path: join(artefacts, "dashboard-experiment.png"), fullPage: true });
  // The page down to the forest plot, as the README shows it.
  const bottom = await page.$eval("div.forest", (d) => d.getBoundingClientRect().bottom + window.scrollY);
  const width = await page.evaluate(() => document.documentElement.clientWidth);
  await page.screenshot({
    path: join(artefacts, "dashboard-experiment-top.png"),
    clip: { x: 0, y: 0, width, height: Math.ceil(bottom) + 12 },
    captureBeyondViewport: true,
  });

  // The fixed-horizon view, one click away, says what it is valid for; its
  // interval is narrower.
  await Promise.all([page.waitForNavigation(), page.click("p.validity a")]);
  assert.equal(new URL(page.url()).search, "?mode=fixed");
  await page.waitForSelector("section#analysis:not([data-src]) p.validity.fixed");
  assert.match(await page.$eval("p.validity.fixed", (p) => p.textContent), /valid only for one look at the planned end/);
  const fixed = await page.$eval('tr[data-metric="conversion"] td.interval', (td) => td.textContent);
  const span = (text) => {
    const [lo, hi] = text.replace(/[[\]%+]/g, "").split(",").map(Number);
    return hi - lo;
  };
  assert.ok(span(fixed) < span(sequential), `${fixed} inside ${sequential}`);
  assertClean(w, "experiment");
  await w.context.close();
});

test("every page loads only from its own origin, with no console errors", async () => {
  const w = await openPage();
  const { page } = w;
  await signIn(page, viewerKey);
  for (const [path, shot] of [
    ["/admin/flags", null],
    ["/admin/flags/new-checkout", "dashboard-new-checkout.png"],
    ["/admin/experiments", "dashboard-experiments.png"],
    ["/admin/experiments/checkout-layout", null],
    ["/admin/rollouts", "dashboard-rollouts.png"],
    ["/admin/why?flag=new-checkout&user.id=u-1", null],
    ["/admin/schedule?past=1", null],
    ["/admin/audit", null],
    ["/admin/health", "dashboard-health.png"],
  ]) {
    const response = await page.goto(`${origin()}${path}`);
    assert.equal(response.status(), 200, path);
    assert.match(response.headers()["content-security-policy"], /default-src 'self'/);
    if (shot) await page.screenshot({ path: join(artefacts, shot), fullPage: true });
    if (path === "/admin/flags/new-checkout") {
      // Where the storefront reads it: its React hook in App.tsx (the
      // generated flags.ts is not a reference).
      let refs = "";
      for (let i = 0; i < 100 && !/in the code/.test(refs); i++) {
        if (i > 0) {
          await new Promise((r) => setTimeout(r, 100));
          await page.reload();
        }
        refs = await page.$eval("section#code", (s) => s.textContent);
      }
      assert.match(refs, /1 reference in the code/, refs);
      assert.match(refs, /examples\/web\/src\/App\.tsx:\d+/, refs);
      assert.match(refs, /React hook/, refs);
      assert.match(refs, /useNewCheckout\(\)/, refs);
      if (shot) await page.screenshot({ path: join(artefacts, shot), fullPage: true });
    }
    if (path === "/admin/experiments") {
      // The checkout layer drawn with both of its experiments' ranges.
      const ranges = await page.$$eval("svg.layer g.range", (gs) => gs.map((g) => g.dataset.experiment));
      assert.deepEqual(ranges, ["checkout-layout", "shipping-promise"]);
    }
  }
  assertClean(w, "every page");
  await w.context.close();
});
