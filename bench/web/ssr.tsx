// The storefront's server-side render path, timed (bundled by bench.mjs
// with examples/web's esbuild; run as its own process so the orchestrator
// never shares its event loop):
//
//   node ssr.js parts N   one request at a time, N times after a warm-up:
//                         the bulk evaluation's round trip, serialising the
//                         bootstrap, the React render and the page template,
//                         each timed; the same page without flags; a
//                         round trip to /healthz (the HTTP floor under the
//                         evaluation's); the same bulk request through
//                         node:http, with the CPU each client used; the
//                         bootstrap's bytes. Prints one JSON object.
//   node ssr.js serve     the whole page over HTTP for a load tool: `/` as
//                         examples/web serves it, `/static` without flags.
//                         Prints its URL.
//
// "Without flags" is the same page with every value fixed when the process
// starts (one evaluation, kept): no evaluation per request and no bootstrap
// script, as if the values were constants in the code. The markup is the
// same, so the difference is what flags cost a request.
//
// Also "in process": the same bootstrap from `@vexil/node` following the
// flag server's directory (`evaluateInProcess`), timed in `parts` and
// served as `/inprocess`.
//
// Environment: VEXIL_URL, VEXIL_CLIENT_KEY (a `client` key), VEXIL_NODE
// (the path of node/index.js, with its addon built) and VEXIL_FLAGS_DIR
// (the directory the flag server serves).
import { Agent, createServer, request } from "node:http";
import { gzipSync } from "node:zlib";

import type { Bootstrap } from "@vexil/react";
import { bootstrapScript, evaluateForRequest, evaluateInProcess, type InProcessFlags } from "@vexil/react/server";

import { pageHtml, type PageConfig, renderApp } from "../../examples/web/src/page.js";
import { contextFor, shopperById, shoppers } from "../../examples/web/src/shoppers.js";

const flagServer = process.env.VEXIL_URL ?? "http://127.0.0.1:8080";
const clientKey = process.env.VEXIL_CLIENT_KEY || undefined;

/** @vexil/node's flags over the directory the flag server serves (loaded at run time: a native addon). */
type NodeAddon = { Flags: { open(path: string, options?: object): InProcessFlags & { compiled: boolean } } };
const addonPath = process.env.VEXIL_NODE;
const inProcess = addonPath ? ((await import(addonPath)) as NodeAddon).Flags.open(process.env.VEXIL_FLAGS_DIR ?? "", { watchMs: 200 }) : undefined;
if (inProcess) while (!inProcess.compiled) await new Promise((r) => setTimeout(r, 10));

function configFor(user: string | null): PageConfig {
  const shopper = shopperById(user);
  return { publicUrl: flagServer, clientKey, shopper, context: contextFor(shopper) };
}

async function evaluate(config: PageConfig): Promise<Bootstrap> {
  const bootstrap = await evaluateForRequest({ url: flagServer, clientKey, context: config.context, timeoutMs: 5000 });
  if (bootstrap.error) throw new Error(bootstrap.error);
  return bootstrap;
}

/**
 * The same bulk request through `node:http` with a keep-alive agent, for
 * comparison only: `evaluateForRequest` uses `fetch`, which runs wherever
 * React renders, and costs a Node server more CPU.
 */
const agent = new Agent({ keepAlive: true });
function evaluateNodeHttp(config: PageConfig): Promise<unknown> {
  const headers: Record<string, string> = { "Content-Type": "application/json", "Vexil-Exposures": "rendered" };
  if (clientKey) headers.Authorization = `Bearer ${clientKey}`;
  return new Promise((res, rej) => {
    const req = request(`${flagServer}/ofrep/v1/evaluate/flags`, { method: "POST", headers, agent }, (r) => {
      let text = "";
      r.setEncoding("utf8");
      r.on("data", (c: string) => (text += c));
      r.on("end", () => (r.statusCode === 200 ? res(JSON.parse(text)) : rej(new Error(`status ${r.statusCode}`))));
    });
    req.on("error", rej);
    req.end(JSON.stringify({ context: config.context }));
  });
}

/** CPU time this process used (user + system, µs) since `from`. */
const cpuSince = (from: NodeJS.CpuUsage) => {
  const d = process.cpuUsage(from);
  return d.user + d.system;
};

/** Every shopper's flags, evaluated once: the constants of the page without flags. */
async function fixedValues(): Promise<Map<string, Bootstrap>> {
  const fixed = new Map<string, Bootstrap>();
  for (const s of shoppers) fixed.set(s.id, await evaluate(configFor(s.id)));
  return fixed;
}

const nowMs = () => Number(process.hrtime.bigint()) / 1e6;

function summary(samples: number[]) {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
  const mean = sorted.reduce((a, b) => a + b, 0) / sorted.length;
  return { n: sorted.length, median_ms: at(0.5), p99_ms: at(0.99), mean_ms: mean, min_ms: sorted[0]! };
}

/** The bytes the bootstrap adds: raw, gzipped alone, and to the gzipped page; per flag. */
function bootstrapBytes(config: PageConfig, bootstrap: Bootstrap) {
  const app = renderApp(config, bootstrap);
  const script = bootstrapScript(bootstrap);
  const withScript = pageHtml(config, app, script);
  const without = pageHtml(config, app, "");
  const gz = (s: string) => gzipSync(s).length;
  const flags = Object.entries(bootstrap.flags);
  const perFlag = Object.fromEntries(flags.map(([key, item]) => [key, Buffer.byteLength(JSON.stringify({ [key]: item })) - 2]));
  return {
    shopper: config.shopper.id,
    flags: flags.length,
    script_bytes: Buffer.byteLength(script),
    script_gzip_bytes: gz(script),
    page_bytes: Buffer.byteLength(withScript),
    page_without_bytes: Buffer.byteLength(without),
    page_gzip_bytes: gz(withScript),
    page_without_gzip_bytes: gz(without),
    added_gzip_bytes: gz(withScript) - gz(without),
    context_bytes: Buffer.byteLength(JSON.stringify(bootstrap.context)),
    flags_bytes: Buffer.byteLength(JSON.stringify(bootstrap.flags)),
    per_flag_bytes: perFlag,
  };
}

async function parts(n: number) {
  const fixed = await fixedValues();
  const times = { evaluate: [] as number[], serialise: [] as number[], render: [] as number[], template: [] as number[], total: [] as number[] };
  const httpFloor: number[] = [];
  const nodeHttp: number[] = [];
  const inProcessTimes: number[] = [];
  const cpu = { fetch: 0, node_http: 0, in_process: 0 };
  const staticTotal: number[] = [];
  const staticRender: number[] = [];
  const warmup = Math.max(50, Math.floor(n / 10));
  for (let i = 0; i < warmup + n; i++) {
    const config = configFor(shoppers[i % shoppers.length]!.id);
    // With flags: what examples/web's server does for a request.
    const c0 = process.cpuUsage();
    const t0 = nowMs();
    const bootstrap = await evaluate(config);
    const t1 = nowMs();
    const fetchCpu = cpuSince(c0);
    const script = bootstrapScript(bootstrap);
    const t2 = nowMs();
    const app = renderApp(config, bootstrap);
    const t3 = nowMs();
    const page = pageHtml(config, app, script);
    const t4 = nowMs();
    // Without flags: the same page from the fixed values, no script.
    const s0 = nowMs();
    const staticApp = renderApp(config, fixed.get(config.shopper.id)!);
    const s1 = nowMs();
    const staticPage = pageHtml(config, staticApp, "");
    const s2 = nowMs();
    if (staticApp !== app) throw new Error(`${config.shopper.id}: the page without flags renders other markup`);
    if (page.length <= staticPage.length) throw new Error("the page with flags has no bootstrap");
    // The HTTP floor: the same fetch to an endpoint that evaluates nothing.
    const h0 = nowMs();
    await (await fetch(`${flagServer}/healthz`)).text();
    const h1 = nowMs();
    const c1 = process.cpuUsage();
    const n0 = nowMs();
    await evaluateNodeHttp(config);
    const n1 = nowMs();
    const nodeHttpCpu = cpuSince(c1);
    // In process: the same bootstrap, from @vexil/node.
    let inProcessCpu = 0;
    if (inProcess) {
      const c2 = process.cpuUsage();
      const p0 = nowMs();
      const local = evaluateInProcess(inProcess, config.context);
      const p1 = nowMs();
      inProcessCpu = cpuSince(c2);
      if (JSON.stringify(local.flags) !== JSON.stringify(bootstrap.flags)) {
        throw new Error(`${config.shopper.id}: the in-process bootstrap differs from the server's`);
      }
      if (i >= warmup) inProcessTimes.push(p1 - p0);
    }
    if (i < warmup) continue;
    httpFloor.push(h1 - h0);
    nodeHttp.push(n1 - n0);
    cpu.fetch += fetchCpu;
    cpu.node_http += nodeHttpCpu;
    cpu.in_process += inProcessCpu;
    times.evaluate.push(t1 - t0);
    times.serialise.push(t2 - t1);
    times.render.push(t3 - t2);
    times.template.push(t4 - t3);
    times.total.push(t4 - t0);
    staticRender.push(s1 - s0);
    staticTotal.push(s2 - s0);
  }
  const bytes = shoppers.map((s) => bootstrapBytes(configFor(s.id), fixed.get(s.id)!));
  return {
    requests: n,
    with_flags: Object.fromEntries(Object.entries(times).map(([k, v]) => [k, summary(v)])),
    without_flags: { render: summary(staticRender), total: summary(staticTotal) },
    healthz_round_trip: summary(httpFloor),
    evaluate_node_http: summary(nodeHttp),
    evaluate_in_process: inProcess ? summary(inProcessTimes) : null,
    evaluate_cpu_us: { fetch: cpu.fetch / n, node_http: cpu.node_http / n, in_process: cpu.in_process / n },
    bytes,
  };
}

async function serve() {
  const fixed = await fixedValues();
  const server = createServer(async (req, res) => {
    const url = new URL(req.url ?? "/", "http://localhost");
    const config = configFor(url.searchParams.get("user"));
    let html: string;
    if (url.pathname === "/") {
      const bootstrap = await evaluateForRequest({ url: flagServer, clientKey, context: config.context });
      html = pageHtml(config, renderApp(config, bootstrap), bootstrapScript(bootstrap));
    } else if (url.pathname === "/inprocess" && inProcess) {
      const bootstrap = evaluateInProcess(inProcess, config.context);
      html = pageHtml(config, renderApp(config, bootstrap), bootstrapScript(bootstrap));
    } else if (url.pathname === "/static") {
      html = pageHtml(config, renderApp(config, fixed.get(config.shopper.id)!), "");
    } else {
      res.writeHead(404, { "Content-Type": "text/plain" });
      res.end("not found\n");
      return;
    }
    res.writeHead(200, { "Content-Type": "text/html; charset=utf-8" });
    res.end(html);
  });
  server.listen(0, "127.0.0.1", () => {
    const address = server.address();
    if (address && typeof address === "object") console.log(`http://${address.address}:${address.port}/`);
  });
  process.on("SIGTERM", () => server.close(() => process.exit(0)));
}

const [mode, count] = process.argv.slice(2);
if (mode === "parts") {
  console.log(JSON.stringify(await parts(Number(count ?? 2000))));
} else if (mode === "serve") {
  await serve();
} else {
  console.error("usage: node ssr.js parts N | serve");
  process.exit(2);
}
