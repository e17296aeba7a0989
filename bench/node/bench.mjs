// The measurements behind bench/node/run.sh: in-process evaluations with
// @vexil/node against OFREP over HTTP from the same process, one after the
// other (sequential: the time of one evaluation, not a throughput).
import { request as httpRequest, Agent } from "node:http";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { Flags, VexilProvider } from "../../node/index.js";
import { freePort, root, startVexil, stopProcess } from "../../tests/js/processes.mjs";

const N = Number(process.env.BENCH_N ?? 300000);
const HTTP_N = Number(process.env.BENCH_HTTP_N ?? 20000);
const FLAG = "search-ranking";
const shop = join(root, "examples/shop");
// The serving benchmark's shopper (bench/server/context-vexil.json), as Vexil's contexts.
const context = {
  user: { id: "u-1012", email: "eva@gmail.com", tier: "silver", orders: 4, lifetime_spend: 350.5, beta: false, terms_version: "3.1.0", created_at: "2025-03-01T00:00:00Z", roles: ["support"], age: 34, last_order_at: "2026-10-01T00:00:00Z" },
  env: { name: "production", region: "eu-west-1" },
  device: { platform: "android", os_version: "15.0.0", app_version: "5.6.2", model: "Pixel 8 Pro" },
  location: { country: "DE", city: "Hamburg" },
};

/** Median of `rounds` timings of `n` calls of `f`, in µs a call. */
async function time(n, f, rounds = 5) {
  const each = [];
  for (let r = 0; r < rounds; r++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < n; i++) await f(i);
    each.push(Number(process.hrtime.bigint() - t0) / 1e3 / n);
  }
  each.sort((a, b) => a - b);
  return each[Math.floor(rounds / 2)];
}

/** Like `time`, for a synchronous `f` (no await between calls). */
function timeSync(n, f, rounds = 5) {
  const each = [];
  for (let r = 0; r < rounds; r++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < n; i++) f(i);
    each.push(Number(process.hrtime.bigint() - t0) / 1e3 / n);
  }
  each.sort((a, b) => a - b);
  return each[Math.floor(rounds / 2)];
}

const flags = Flags.open(shop, { watchMs: 0 });
while (!flags.compiled) await new Promise((r) => setTimeout(r, 10));
const provider = new VexilProvider(flags);
const check = flags.evaluate(FLAG, context);
if (check.errorCode) throw new Error(JSON.stringify(check));

timeSync(N / 10, () => flags.evaluate(FLAG, context), 1); // warm-up
const rows = [];
rows.push(["in-process: `flags.evaluate` (one flag)", timeSync(N, () => flags.evaluate(FLAG, context))]);
const bound = flags.with(context);
rows.push(["in-process: `flags.with(context).evaluate` (the context read once)", timeSync(N, () => bound.evaluate(FLAG))]);
rows.push(["in-process: OpenFeature provider (one flag)", timeSync(N, () => provider.resolveStringEvaluation(FLAG, "classic", context))]);
rows.push([`in-process: \`flags.evaluateAll\` (${flags.keys().length} flags)`, timeSync(N / 20, () => flags.evaluateAll(context))]);

const work = mkdtempSync(join(tmpdir(), "vexil-bench-node-"));
const port = await freePort();
const key = "bench-node-server";
const server = await startVexil({ dir: shop, port, keys: `server:bench:${key}`, dataDir: join(work, "data") });
try {
  const url = `http://127.0.0.1:${port}/ofrep/v1/evaluate/flags/${FLAG}`;
  // OFREP's flat form: the same shopper.
  const body = JSON.stringify({ context: { targetingKey: context.user.id, ...context } });
  const headers = { "content-type": "application/json", authorization: `Bearer ${key}` };
  const viaFetch = async () => {
    const r = await fetch(url, { method: "POST", headers, body });
    const d = await r.json();
    if (d.errorCode) throw new Error(JSON.stringify(d));
  };
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const viaHttp = () =>
    new Promise((res, rej) => {
      const req = httpRequest(url, { method: "POST", headers, agent }, (r) => {
        let text = "";
        r.setEncoding("utf8");
        r.on("data", (c) => (text += c));
        r.on("end", () => {
          const d = JSON.parse(text);
          d.errorCode ? rej(new Error(text)) : res();
        });
      });
      req.on("error", rej);
      req.end(body);
    });
  await time(HTTP_N / 10, viaFetch, 1);
  rows.push(["OFREP over HTTP: `fetch` (one flag)", await time(HTTP_N, viaFetch)]);
  await time(HTTP_N / 10, viaHttp, 1);
  rows.push(["OFREP over HTTP: `node:http`, keep-alive (one flag)", await time(HTTP_N, viaHttp)]);
  agent.destroy();
} finally {
  await stopProcess(server);
  flags.close();
}

const inProcess = rows[0][1];
console.log("| path | µs per evaluation (median of 5 rounds) | × in-process |");
console.log("|---|---:|---:|");
for (const [what, us] of rows) console.log(`| ${what} | ${us.toFixed(3)} | ${(us / inProcess).toFixed(1)} |`);
writeFileSync(join(process.env.OUT ?? work, "results.json"), JSON.stringify(rows));
