// What the JavaScript tests share (examples/web's, examples/next's and
// node/'s): the repository's paths, free ports, processes started and
// stopped (`vexil serve` among them), waiting, and a copy of examples/shop
// whose dates the tests can rely on. No dependency: any package's tests
// import it.
//
// Environment: VEXIL_BIN (default target/debug/vexil).
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { cpSync, readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
export const vexilBin = process.env.VEXIL_BIN ?? join(root, "target/debug/vexil");

/** A port free on loopback now. */
export function freePort() {
  return new Promise((res, rej) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => res(port));
    });
    s.on("error", rej);
  });
}

/** Starts a process and resolves once `ready` matches its output. */
export function startProcess(cmd, args, env, ready, options = {}) {
  const child = spawn(cmd, args, { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"], ...options });
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

/** Stops a process started by `startProcess` (SIGTERM) and waits for it. */
export function stopProcess(child) {
  if (!child || child.exitCode !== null) return Promise.resolve();
  return new Promise((res) => {
    child.removeAllListeners("exit");
    child.on("exit", () => res());
    child.kill("SIGTERM");
  });
}

/** `vexil serve DIR` on 127.0.0.1:`port` with `keys` (VEXIL_KEYS) and an optional config file. */
export function startVexil({ dir, port, keys, config, dataDir }) {
  const args = ["serve", dir, "--listen", `127.0.0.1:${port}`, "--data-dir", dataDir];
  if (config) args.push("--config", config);
  return startProcess(vexilBin, args, { VEXIL_KEYS: keys, RUST_LOG: "warn,vexil_server=info" }, /serving OFREP at/);
}

/** Runs the `vexil` command with `VEXIL_KEY=key`; it must succeed. */
export function vexil(key, ...args) {
  const r = spawnSync(vexilBin, args, { env: { ...process.env, VEXIL_KEY: key }, encoding: "utf8" });
  assert.equal(r.status, 0, `vexil ${args.join(" ")}:\n${r.stdout}\n${r.stderr}`);
}

/** Resolves with `check()`'s first truthy value, polled every 100 ms. */
export async function waitFor(what, check, timeoutMs = 10000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * examples/shop copied to `dir`, its checkout-layout experiment ending in
 * 2099 instead of 2027-01-15, so that the variants the tests expect do not
 * depend on the day they run (after the real end date every shopper gets
 * the control). Nothing else the tests read depends on the date: the rules
 * they go through start in the past and never end.
 */
export function copyShop(dir) {
  cpSync(join(root, "examples/shop"), dir, { recursive: true });
  const file = join(dir, "experiments.flag");
  const text = readFileSync(file, "utf8");
  const moved = text.replace(/^(experiment checkout-layout:[^]*?\n  end )2027-01-15$/m, "$12099-01-15");
  assert.notEqual(moved, text, "examples/shop's checkout-layout no longer ends on 2027-01-15: update copyShop");
  writeFileSync(file, moved);
}
