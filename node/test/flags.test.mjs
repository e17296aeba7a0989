// @vexil/node against the real thing: the addon built from this crate,
// `vexil eval` and `vexil build` for the answers and bundles, a real
// `vexil serve` to follow, and OpenFeature's official server SDK over the
// provider.
//
// Environment: VEXIL_BIN, VEXIL_NODE_ADDON (default: ../vexil.node, which
// `npm run build` copies). Run by scripts/test-web.sh.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";

import { OpenFeature } from "@openfeature/server-sdk";

import { copyShop, freePort, root, startVexil, stopProcess, vexil, vexilBin, waitFor } from "../../tests/js/processes.mjs";
import { evaluateForRequest, evaluateInProcess } from "../../sdk/js/dist/server.js";
import { Flags, VexilProvider } from "../index.js";

const shop = join(root, "examples/shop");
const work = mkdtempSync(join(tmpdir(), "vexil-node-test-"));
const opened = [];
after(() => opened.forEach((f) => f.close()));

/** `Flags.open`, closed after the tests. */
function open(path, options) {
  const flags = Flags.open(path, options);
  opened.push(flags);
  return flags;
}

/** `vexil eval DIR --all` for `context`: the answers by key. */
function cliAnswers(dir, context) {
  const r = spawnSync(vexilBin, ["eval", dir, "--all", "--context", "-"], { input: JSON.stringify(context), encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
  return Object.fromEntries(JSON.parse(r.stdout).flags.map((d) => [d.key, d]));
}

const SHOPPERS = [
  { user: { id: "u-5008", email: "ben@example.com", roles: [], orders: 2, tier: "bronze" }, location: { country: "CA" } },
  {
    user: { id: "u-1012", email: "eva@gmail.com", tier: "silver", orders: 4, roles: ["support"] },
    env: { name: "production", region: "eu-west-1" },
    device: { platform: "android", os_version: "15.0.0", app_version: "5.6.2" },
    location: { country: "DE", city: "Hamburg" },
  },
  { user: { id: "u-7", tier: "gold" }, env: { name: "staging" }, location: { country: "US" } },
  {},
];

test("every flag of the shop answers as `vexil eval` does, for every context", () => {
  const flags = open(shop, { watchMs: 0 });
  assert.equal(flags.keys().length, Object.keys(cliAnswers(shop, {})).length);
  for (const context of SHOPPERS) {
    const expected = cliAnswers(shop, context);
    const all = flags.evaluateAll(context);
    // Client flags only: exactly those marked `client`, answered alike.
    const client = flags.evaluateAll(context, { clientOnly: true });
    assert.deepEqual(Object.keys(client).sort(), flags.clientKeys().sort());
    assert.ok(flags.clientKeys().length > 0 && flags.clientKeys().length < flags.keys().length);
    for (const [key, d] of Object.entries(client)) assert.deepEqual(d, all[key], key);
    const bound = flags.with(context);
    const boundAll = bound.evaluateAll();
    for (const key of flags.keys()) {
      const got = flags.evaluate(key, context);
      for (const d of [got, all[key], bound.evaluate(key), boundAll[key]]) {
        const pick = ({ key, value, variant, reason, errorCode, rule }) => ({ key, value, variant, reason, errorCode, rule });
        assert.deepEqual(pick(d), pick(expected[key]), `${key} for ${JSON.stringify(context)}`);
      }
    }
  }
});

test("bad input is a clear error or an OpenFeature error code, never a crash", () => {
  const flags = open(shop, { watchMs: 0 });
  const missing = flags.evaluate("no-such-flag", {});
  assert.deepEqual(
    [missing.key, missing.reason, missing.errorCode, missing.errorMessage],
    ["no-such-flag", "ERROR", "FLAG_NOT_FOUND", "no flag or experiment named `no-such-flag`"],
  );
  assert.throws(() => flags.evaluate("new-checkout", [1]), TypeError);
  assert.throws(() => flags.evaluate("new-checkout", null), TypeError);
  // A field of the wrong type: INVALID_CONTEXT for what reads it, naming
  // it, with the default served.
  const wrong = flags.evaluate("free-shipping-threshold", { user: { id: "u-1", tier: 5 } });
  assert.deepEqual([wrong.errorCode, wrong.value], ["INVALID_CONTEXT", 50], JSON.stringify(wrong));
  assert.match(wrong.errorMessage, /`user\.tier`/);
  // A declared context that is not an object: its fields are invalid.
  const notObject = flags.evaluate("free-shipping-threshold", { user: "u-1" });
  assert.deepEqual([notObject.errorCode, notObject.value], ["INVALID_CONTEXT", 50], JSON.stringify(notObject));
  assert.throws(() => Flags.open(join(work, "nowhere")), /nowhere/);
  assert.throws(() => Flags.open(shop, { backend: "gpu" }), /no backend `gpu`/);
});

test("any context of any shape is answered, never a crash (2,000 random contexts)", () => {
  const flags = open(shop, { watchMs: 0 });
  // A small seeded generator: the same contexts every run.
  let seed = 12345;
  const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  const pick = (xs) => xs[Math.floor(rand() * xs.length)];
  const names = ["user", "env", "device", "location", "order", "nope", "targetingKey"];
  const fields = ["id", "email", "tier", "orders", "roles", "age", "beta", "created_at", "country", "name", "platform", "os_version", "x"];
  const value = (depth) =>
    pick([
      () => null,
      () => rand() < 0.5,
      () => Math.floor(rand() * 2e9) - 1e9,
      () => rand() * 1e6,
      () => pick(["", "u-1", "gold", "DE", "2026-12-01T00:00:00Z", "1.2.3", "not a date", "\u0000", "é".repeat(50)]),
      () => (depth > 2 ? [] : Array.from({ length: Math.floor(rand() * 4) }, () => value(depth + 1))),
      () => (depth > 2 ? {} : Object.fromEntries(Array.from({ length: Math.floor(rand() * 4) }, () => [pick(fields), value(depth + 1)]))),
    ])();
  const codes = new Set([undefined, "INVALID_CONTEXT", "TARGETING_KEY_MISSING"]);
  const keys = flags.keys();
  for (let i = 0; i < 2000; i++) {
    const context = Object.fromEntries(Array.from({ length: Math.floor(rand() * 5) }, () => [pick(names), value(0)]));
    const all = flags.evaluateAll(context);
    assert.deepEqual(Object.keys(all).sort(), [...keys].sort());
    for (const d of Object.values(all)) {
      assert.ok(codes.has(d.errorCode), `${JSON.stringify(context)}: ${JSON.stringify(d)}`);
      assert.ok(d.errorCode || d.value !== undefined, JSON.stringify(d));
    }
  }
});

test("a directory is followed: a change is served, a broken or failing one refused", async () => {
  const dir = join(work, "followed");
  copyShop(dir);
  const flags = open(dir, { watchMs: 50 });
  const ctx = { user: { id: "u-1" }, location: { country: "US" } };
  assert.equal(flags.evaluate("free-shipping-threshold", ctx).value, 50);
  const file = join(dir, "checkout.flag");
  const text = readFileSync(file, "utf8");
  const edited = text.replace("standard = 50.0", "standard = 75.0");
  assert.notEqual(edited, text, "free-shipping-threshold's standard arm is no longer 50.0");
  writeFileSync(file, edited);
  await waitFor("the new value", () => flags.evaluate("free-shipping-threshold", ctx).value === 75, 10000);
  assert.equal(flags.version, 2);
  assert.equal(flags.lastError, null);
  // A type error: refused, reported, the last good version still serves.
  writeFileSync(file, edited.replace("standard = 75.0", 'standard = "seventy"'));
  await waitFor("the refusal", () => flags.lastError, 10000);
  assert.match(flags.lastError, /float|string|type/i);
  assert.equal(flags.evaluate("free-shipping-threshold", ctx).value, 75);
  // A change that compiles but fails the file's own tests: refused too.
  writeFileSync(file, edited.replace("rule members: when user.tier >= gold => 0.0", "rule members: when user.tier >= gold => 1.0"));
  await waitFor("the test failure", () => /test/i.test(flags.lastError ?? "") && !/seventy/.test(flags.lastError), 10000);
  assert.match(flags.lastError, /free shipping threshold/);
  assert.equal(flags.evaluate("free-shipping-threshold", { user: { id: "u-9", tier: "gold" } }).value, 0);
  assert.equal(flags.version, 2);
});

test("a bundle file is loaded and read again when rewritten", () => {
  const bundle = join(work, "shop.bundle.json");
  const build = (dir) => {
    const r = spawnSync(vexilBin, ["build", dir, "-o", bundle], { encoding: "utf8" });
    assert.equal(r.status, 0, r.stderr);
  };
  build(shop);
  const flags = open(bundle, { watchMs: 0 });
  const ctx = { user: { id: "u-1" }, location: { country: "US" } };
  assert.equal(flags.evaluate("free-shipping-threshold", ctx).value, 50);
  assert.equal(flags.reload(), null, "nothing changed");
  const changed = join(work, "rebuilt");
  copyShop(changed);
  const file = join(changed, "checkout.flag");
  writeFileSync(file, readFileSync(file, "utf8").replace("standard = 50.0", "standard = 60.0"));
  build(changed);
  assert.equal(flags.reload(), 2);
  assert.equal(flags.evaluate("free-shipping-threshold", ctx).value, 60);
});

test("a server is followed: an override reaches the process within two seconds", async () => {
  const port = await freePort();
  const [serverKey, adminKey] = ["node-server-secret", "node-admin-secret"];
  // checkout-layout running until 2099, so that shoppers are enrolled
  // whatever the day.
  const served = join(work, "served");
  copyShop(served);
  const server = await startVexil({
    dir: served,
    port,
    keys: `server:node:${serverKey},admin:tests:${adminKey}`,
    dataDir: join(work, "serve-data"),
  });
  try {
    const url = `http://127.0.0.1:${port}`;
    assert.throws(() => Flags.follow({ server: url, key: "wrong" }), /401|refused|key/i);
    const flags = Flags.follow({ server: url, key: serverKey });
    opened.push(flags);
    assert.equal(flags.server.connected, true);
    assert.equal(flags.server.fromCache, false);
    const ctx = { user: { id: "u-1" } };
    assert.equal(flags.evaluate("wishlist-sharing", ctx).reason !== "ERROR", true);
    vexil(adminKey, "override", "set", "recommendations", "--off", "--reason", "node test", "--server", url);
    await waitFor("the override", () => flags.evaluate("recommendations", ctx).reason === "DISABLED", 2000);
    assert.match(flags.server.version, /-o\d+$/);

    // Exposures: kept once per unit and variant, in the events' format,
    // accepted by the server's intake as they are.
    const exposing = Flags.follow({ server: url, key: serverKey, events: true });
    opened.push(exposing);
    const shoppers = ["u-5003", "u-5008"].map((id) => ({
      user: { id, email: `${id}@example.com`, roles: [], orders: 2, tier: "bronze" },
      location: { country: "US" },
      env: { name: "staging" },
    }));
    for (const shopper of [...shoppers, ...shoppers]) exposing.evaluate("checkout-layout", shopper);
    const events = exposing.takeEvents();
    assert.deepEqual(
      events.map((e) => [e.type, e.experiment, e.unit]),
      [["exposure", "checkout-layout", "u-5003"], ["exposure", "checkout-layout", "u-5008"]],
    );
    assert.deepEqual(exposing.takeEvents(), []);
    assert.equal(exposing.eventsDropped, 0);
    // Metric events join them, in the same format.
    exposing.track("purchase", "u-5003", 42.5);
    exposing.track("checkout_started", "u-5008");
    const tracked = exposing.takeEvents();
    assert.deepEqual(
      tracked.map((e) => [e.type, e.event, e.unit, e.value]),
      [["track", "purchase", "u-5003", 42.5], ["track", "checkout_started", "u-5008", undefined]],
    );
    events.push(...tracked);
    assert.throws(() => exposing.track("", "u-1"), /event name and a unit/);
    assert.throws(() => exposing.track("purchase", "u-1", Infinity), /finite/);
    const intake = await fetch(`${url}/v1/events`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${serverKey}` },
      body: JSON.stringify(events),
    });
    assert.equal(intake.status, 200, await intake.text());
    assert.throws(() => flags.takeEvents(), /events: true/);
    assert.throws(() => flags.track("purchase", "u-1"), /events: true/);

    // Or sent by the addon itself, every second: the server counts them.
    const accepted = async () => {
      const text = await (await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${serverKey}` } })).text();
      return Number(/^vexil_events_accepted_total(?:\{[^}]*\})? (\d+)/m.exec(text)?.[1] ?? 0);
    };
    const before = await accepted();
    const sending = Flags.follow({ server: url, key: serverKey, sendEvents: true });
    opened.push(sending);
    const others = Array.from({ length: 20 }, (_, i) => `u-60${10 + i}`).map((id) => ({
      ...shoppers[0],
      user: { ...shoppers[0].user, id },
    }));
    for (const shopper of [...others, ...others]) sending.evaluate("checkout-layout", shopper);
    const enrolled = others.filter((o) => sending.evaluate("checkout-layout", o).reason === "SPLIT").length;
    assert.ok(enrolled > 0, "nobody enrolled");
    // And OpenFeature's tracking API through the provider: one more event.
    const tracking = new VexilProvider(sending, { targetingKey: "user.id" });
    tracking.track("purchase", { targetingKey: "u-6010" }, { value: 19.99 });
    tracking.track("purchase", { user: { id: "u-6011" } });
    assert.throws(() => tracking.track("purchase", {}), /needs a unit/);
    await waitFor("the events sent", () => sending.eventsSent.sent === enrolled + 2, 5000);
    assert.equal(sending.eventsSent.lastError ?? null, null);
    assert.equal(await accepted(), before + enrolled + 2);
    assert.throws(() => sending.takeEvents(), /sent to the server/);
    // What waits when the flags close is sent before `close()` returns.
    const late = others.find((o) => sending.evaluate("checkout-layout", o).reason === "SPLIT");
    sending.evaluate("checkout-layout", { ...late, user: { ...late.user, id: "u-late" } });
    const lateReason = sending.evaluate("checkout-layout", { ...late, user: { ...late.user, id: "u-late" } }).reason;
    assert.equal(lateReason, "SPLIT", "u-late is enrolled (its bucket)");
    sending.close();
    assert.equal(await accepted(), before + enrolled + 2 + 1);

    // @vexil/react's server half: the bootstrap evaluated in-process is
    // the one a client key gets over OFREP, client flags only.
    const clientKey = "node-client-secret";
    const clientServer = await startVexil({
      dir: served,
      port: await freePort(),
      keys: `client:ssr:${clientKey}`,
      dataDir: join(work, "client-data"),
    });
    const local = open(served, { watchMs: 0 });
    try {
      const clientUrl = clientServer.spawnargs[clientServer.spawnargs.indexOf("--listen") + 1];
      for (const shopper of shoppers) {
        const context = { ...shopper, targetingKey: shopper.user.id };
        const overHttp = await evaluateForRequest({ url: `http://${clientUrl}`, clientKey, context });
        const inProcess = evaluateInProcess(local, context);
        assert.equal(overHttp.error, undefined, overHttp.error);
        assert.deepEqual(Object.keys(inProcess.flags).sort(), Object.keys(overHttp.flags).sort());
        assert.deepEqual(inProcess.flags, overHttp.flags, shopper.user.id);
        assert.ok(!("payments-circuit-breaker" in inProcess.flags), "a server-only flag reached the page");
      }
    } finally {
      await stopProcess(clientServer);
    }
  } finally {
    await stopProcess(server);
  }
});

test("OpenFeature's server SDK evaluates and tracks through the provider", async () => {
  const flags = open(shop, { watchMs: 0, events: true });
  await OpenFeature.setProviderAndWait(new VexilProvider(flags, { targetingKey: "user.id" }));
  const client = OpenFeature.getClient();
  const context = { targetingKey: "u-5008", location: { country: "CA" } };
  const expected = cliAnswers(shop, { user: { id: "u-5008" }, location: { country: "CA" } });
  const layout = await client.getStringDetails("checkout-layout", "multi-page", context);
  assert.deepEqual(
    [layout.value, layout.variant, layout.reason],
    [expected["checkout-layout"].value, expected["checkout-layout"].variant, expected["checkout-layout"].reason],
  );
  const threshold = await client.getNumberDetails("free-shipping-threshold", 0, context);
  assert.equal(threshold.value, expected["free-shipping-threshold"].value);
  const gifts = await client.getObjectDetails("gift-options", {}, context);
  assert.deepEqual(gifts.value, expected["gift-options"].value);
  // Not found and the wrong type: the default, with OpenFeature's codes.
  const missing = await client.getBooleanDetails("no-such-flag", true, context);
  assert.deepEqual([missing.value, missing.errorCode], [true, "FLAG_NOT_FOUND"]);
  const mismatch = await client.getBooleanDetails("checkout-layout", false, context);
  assert.deepEqual([mismatch.value, mismatch.errorCode], [false, "TYPE_MISMATCH"]);
  // The tracking API: a metric event for the context's unit.
  flags.takeEvents();
  client.track("purchase", context, { value: 12.5 });
  const tracked = flags.takeEvents();
  assert.deepEqual(
    tracked.map((e) => [e.type, e.event, e.unit, e.value]),
    [["track", "purchase", "u-5008", 12.5]],
  );
  await OpenFeature.close();
});
