// The React/SSR benchmark (issue 15), driven by bench/web/run.sh:
//   1. the server-side render path of examples/web, in parts (ssr.tsx);
//   2. the bytes the bootstrap adds to the page;
//   3. whole-page request rates with and without flags (oha, or a Node
//      loop when oha is not installed);
//   4. the time from a flag change to the updated DOM in headless chromium:
//      an override written from the page, and a `.flag` file edited.
// Against a real `vexil serve` (a copy of examples/shop, so that editing it
// leaves the repository alone) on 127.0.0.1, free ports, everything stopped
// at the end. Writes results.json and summary.md to --out.
import { spawn } from "node:child_process";
import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import http from "node:http";
import { createServer } from "node:net";
import { loadavg } from "node:os";
import { dirname, join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { fileURLToPath, pathToFileURL } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));

if (process.argv[2] === "load") {
  // The Node load loop (when oha is missing): URL, seconds, connections.
  await nodeLoad(process.argv[3], Number(process.argv[4]), Number(process.argv[5]));
  process.exit(0);
}

const { values: args } = parseArgs({
  options: {
    root: { type: "string", default: resolve(here, "../..") },
    vexil: { type: "string" },
    chromium: { type: "string", default: "chromium" },
    oha: { type: "string", default: "" },
    out: { type: "string" },
    requests: { type: "string", default: "2000" },
    duration: { type: "string", default: "10" },
    connections: { type: "string", default: "16" },
    changes: { type: "string", default: "30" },
    edits: { type: "string", default: "10" },
  },
});
const root = args.root;
const out = args.out ?? join(root, "target/bench-web");
const web = join(root, "examples/web");
const webRequire = createRequire(join(web, "package.json"));
const adminKey = "bench-admin-secret";
const clientKey = "bench-client-secret";
const log = (msg) => console.error(`[bench-web] ${msg}`);
const load = () => loadavg().map((l) => l.toFixed(2)).join(" ");

function freePort() {
  return new Promise((res, rej) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => res(port));
    });
    s.on("error", rej);
  });
}

const children = [];
/** Starts a process and resolves with it and the first match of `ready` in its output. */
function start(cmd, argv, env, ready, logFile) {
  const child = spawn(cmd, argv, { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
  children.push(child);
  let output = "";
  return new Promise((res, rej) => {
    const timer = setTimeout(() => rej(new Error(`${cmd} did not start:\n${output}`)), 60000);
    const onData = (chunk) => {
      output += chunk;
      if (logFile) writeFileSync(logFile, output);
      const m = ready.exec(output);
      if (m && timer) {
        clearTimeout(timer);
        res({ child, match: m });
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

function stopAll() {
  for (const c of children) {
    c.removeAllListeners("exit");
    if (c.exitCode === null) c.kill("SIGTERM");
  }
}
process.on("exit", stopAll);
for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => process.exit(130));

/** Runs a process to its end; its standard output. */
function run(cmd, argv, env = {}) {
  return new Promise((res, rej) => {
    const child = spawn(cmd, argv, { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (c) => (stdout += c));
    child.stderr.on("data", (c) => (stderr += c));
    child.on("exit", (code) => (code === 0 ? res(stdout) : rej(new Error(`${cmd} ${argv.join(" ")} failed (${code}):\n${stderr}`))));
  });
}

/** CPU time a process has used (user + system, ms), from /proc (Linux); clock ticks of 10 ms. */
function cpuMs(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return NaN;
  }
}

function summary(samples) {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
  return { n: sorted.length, median_ms: at(0.5), p95_ms: at(0.95), p99_ms: at(0.99), min_ms: sorted[0], max_ms: sorted.at(-1) };
}

// ------------------------------------------------------------- load tools

async function nodeLoad(url, seconds, connections) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: connections });
  const latencies = [];
  let failed = 0;
  const end = performance.now() + seconds * 1000;
  const one = () =>
    new Promise((res) => {
      const t0 = performance.now();
      http
        .get(url, { agent }, (r) => {
          r.resume();
          r.on("end", () => {
            if (r.statusCode === 200) latencies.push(performance.now() - t0);
            else failed++;
            res();
          });
        })
        .on("error", () => {
          failed++;
          res();
        });
    });
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: connections }, async () => {
      while (performance.now() < end) await one();
    }),
  );
  const elapsed = (performance.now() - t0) / 1000;
  const s = summary(latencies);
  console.log(JSON.stringify({ tool: "node", ok: latencies.length, failed, rps_ok: latencies.length / elapsed, p50_ms: s.median_ms, p99_ms: s.p99_ms }));
}

async function loadRun(label, url, seconds, connections) {
  if (args.oha) {
    const text = await run(args.oha, ["--no-tui", "--output-format", "json", "-z", `${seconds}s`, "-w", "-c", String(connections), url]);
    writeFileSync(join(out, `oha-${label}.json`), text);
    const data = JSON.parse(text);
    const codes = data.statusCodeDistribution ?? {};
    const total = Object.values(codes).reduce((a, b) => a + b, 0) + Object.values(data.errorDistribution ?? {}).reduce((a, b) => a + b, 0);
    const ok = codes["200"] ?? 0;
    return {
      tool: "oha",
      ok,
      failed: total - ok,
      rps_ok: ok / data.summary.total,
      p50_ms: data.latencyPercentiles.p50 * 1000,
      p99_ms: data.latencyPercentiles.p99 * 1000,
    };
  }
  return JSON.parse(await run(process.execPath, [fileURLToPath(import.meta.url), "load", url, String(seconds), String(connections)]));
}

// ---------------------------------------------------------------- browser

/**
 * One change seen in the page: `trigger` makes it (from the page or from
 * here); the page's MutationObserver notes when `#root` shows `expected`
 * (`check` run in the page). Times are in the page's clock.
 */
async function observe(page, check, expected, timeoutMs = 10000) {
  await page.evaluate(
    (check, expected, timeoutMs) => {
      const test = new Function("root", `return (${check})(root)`);
      const root = document.getElementById("root");
      window.__seen = new Promise((res, rej) => {
        const timer = setTimeout(() => rej(new Error(`the page did not show ${expected}`)), timeoutMs);
        const mo = new MutationObserver(() => {
          if (test(root) === expected) {
            mo.disconnect();
            clearTimeout(timer);
            res(performance.timeOrigin + performance.now());
          }
        });
        mo.observe(root, { subtree: true, childList: true, attributes: true, characterData: true });
      });
    },
    check,
    expected,
    timeoutMs,
  );
}

/** The page's clock minus this process's (both wall-clock based, ms), from the tightest of 20 round trips. */
async function clockOffset(page) {
  let best = { rtt: Infinity, offset: 0 };
  for (let i = 0; i < 20; i++) {
    const a = performance.timeOrigin + performance.now();
    const p = await page.evaluate(() => performance.timeOrigin + performance.now());
    const b = performance.timeOrigin + performance.now();
    if (b - a < best.rtt) best = { rtt: b - a, offset: p - (a + b) / 2 };
  }
  return best;
}

const checkoutOf = "(root) => root.querySelector('#checkout')?.dataset.checkout";
const bannerOf = "(root) => root.querySelector('#banner')?.textContent";

async function overrideChanges(page, flagUrl, count) {
  const samples = { dom: [], write: [] };
  for (let i = -2; i < count; i++) {
    const off = (i & 1) === 0;
    await observe(page, checkoutOf, off ? "classic" : "new");
    const result = await page.evaluate(
      async (flagUrl, adminKey, off) => {
        const t0 = performance.timeOrigin + performance.now();
        const r = await fetch(`${flagUrl}/v1/overrides/new-checkout`, {
          method: off ? "PUT" : "DELETE",
          headers: { Authorization: `Bearer ${adminKey}`, "If-Match": "*", "Content-Type": "application/json" },
          body: JSON.stringify(off ? { action: { kind: "off" }, reason: "bench/web" } : { reason: "bench/web done" }),
        });
        const t1 = performance.timeOrigin + performance.now();
        if (!r.ok) throw new Error(`the override write answered ${r.status}: ${await r.text()}`);
        const seen = await window.__seen;
        return { write: t1 - t0, dom: seen - t0 };
      },
      flagUrl,
      adminKey,
      off,
    );
    if (i < 0) continue; // warm-up: the CORS preflight, the first re-render
    samples.dom.push(result.dom);
    samples.write.push(result.write);
    await new Promise((r) => setTimeout(r, 100));
  }
  return { dom: summary(samples.dom), write_acknowledged: summary(samples.write) };
}

async function fileEdits(page, shopDir, count) {
  const file = join(shopDir, "ops.flag");
  const original = readFileSync(file, "utf8");
  const notice = "Staging: payments are simulated.";
  if (!original.includes(notice)) throw new Error(`${file} no longer has the staging notice this benchmark edits`);
  const samples = [];
  let offset;
  try {
    for (let i = -1; i < count; i++) {
      const text = `Staging: payments are simulated (edit ${i + 2}).`;
      await observe(page, bannerOf, text, 20000);
      offset = await clockOffset(page);
      const t0 = performance.timeOrigin + performance.now();
      writeFileSync(file, original.replace(notice, text));
      const seen = await page.evaluate(() => window.__seen);
      if (i >= 0) samples.push(seen - offset.offset - t0);
      await new Promise((r) => setTimeout(r, 300));
    }
  } finally {
    writeFileSync(file, original);
  }
  return { dom: summary(samples), clock_offset_ms: offset.offset, clock_uncertainty_ms: offset.rtt / 2 };
}

// ------------------------------------------------------------------- main

rmSync(join(out, "run"), { recursive: true, force: true });
const work = join(out, "run");
mkdirSync(work, { recursive: true });
const shopDir = join(work, "shop");
cpSync(join(root, "examples/shop"), shopDir, { recursive: true });

log("bundling bench/web/ssr.tsx with examples/web's esbuild");
const esbuild = (await import(pathToFileURL(webRequire.resolve("esbuild")).href)).default;
const modules = join(web, "node_modules");
await esbuild.build({
  entryPoints: [join(here, "ssr.tsx")],
  outfile: join(work, "ssr.js"),
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  jsx: "automatic",
  logLevel: "warning",
  nodePaths: [modules],
  alias: { react: join(modules, "react"), "react-dom": join(modules, "react-dom") },
  define: { "process.env.NODE_ENV": '"production"' },
  banner: { js: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);" },
});

const [flagPort, appPort] = [await freePort(), await freePort()];
const flagUrl = `http://127.0.0.1:${flagPort}`;
const appOrigin = `http://127.0.0.1:${appPort}`;
writeFileSync(join(work, "vexil.toml"), `[cors]\norigins = ["${appOrigin}"]\n`);
log(`vexil serve (${args.vexil}) on ${flagUrl}`);
const serve = await start(
  args.vexil,
  ["serve", shopDir, "--config", join(work, "vexil.toml"), "--listen", `127.0.0.1:${flagPort}`, "--data-dir", join(work, "data")],
  { VEXIL_KEYS: `client:storefront:${clientKey},admin:bench:${adminKey}`, RUST_LOG: "warn,vexil_server=info" },
  /serving OFREP at/,
  join(work, "serve.log"),
);
const flagEnv = { VEXIL_URL: flagUrl, VEXIL_CLIENT_KEY: clientKey, VEXIL_NODE: join(root, "node/index.js"), VEXIL_FLAGS_DIR: shopDir };
const results = { load_before: load() };

log(`SSR parts: ${args.requests} requests, one at a time`);
results.parts = JSON.parse(await run(process.execPath, [join(work, "ssr.js"), "parts", args.requests], flagEnv));
results.load_after_parts = load();

log("whole pages under load");
const bench = await start(process.execPath, [join(work, "ssr.js"), "serve"], flagEnv, /^(http:\/\/\S+)\//m);
const benchUrl = bench.match[1];
const app = await start(process.execPath, [join(web, "dist/server.js")], { ...flagEnv, PORT: String(appPort) }, /^http:\/\//m);
const seconds = Number(args.duration);
const connections = Number(args.connections);
results.load_tool = args.oha ? "oha" : "node";
results.pages = {};
for (const [label, url] of [
  ["static", `${benchUrl}/static?user=u-5003`],
  ["flags", `${benchUrl}/?user=u-5003`],
  ["in-process", `${benchUrl}/inprocess?user=u-5003`],
  ["example", `${appOrigin}/?user=u-5003`],
]) {
  await loadRun(`warmup-${label}`, url, 2, connections);
  const node = label === "example" ? app.child.pid : bench.child.pid;
  const before = [cpuMs(node), cpuMs(serve.child.pid)];
  const r = await loadRun(label, url, seconds, connections);
  // CPU per page of the Node server and of vexil serve (ms over the run / pages served, in µs).
  r.node_cpu_us = ((cpuMs(node) - before[0]) / r.ok) * 1000;
  r.serve_cpu_us = ((cpuMs(serve.child.pid) - before[1]) / r.ok) * 1000;
  results.pages[label] = { ...r, load_after: load() };
  log(`${label}: ${results.pages[label].rps_ok.toFixed(0)} pages/s, p50 ${results.pages[label].p50_ms.toFixed(2)} ms`);
}
bench.child.kill("SIGTERM");

log(`change -> DOM in chromium (${args.chromium})`);
const puppeteer = (await import(pathToFileURL(webRequire.resolve("puppeteer-core")).href)).default;
const browser = await puppeteer.launch({ executablePath: args.chromium, headless: true, args: ["--no-sandbox", "--disable-dev-shm-usage"] });
try {
  const page = await browser.newPage();
  const problems = [];
  page.on("pageerror", (e) => problems.push(e.message));
  await page.goto(`${appOrigin}/?user=u-5003`);
  await page.waitForSelector("body[data-hydrated=true]", { timeout: 20000 });
  await new Promise((r) => setTimeout(r, 1000)); // the event stream is open
  results.override = { changes: Number(args.changes), ...(await overrideChanges(page, flagUrl, Number(args.changes))) };
  log(`override -> DOM: median ${results.override.dom.median_ms.toFixed(1)} ms, p95 ${results.override.dom.p95_ms.toFixed(1)} ms`);
  results.file_edit = { edits: Number(args.edits), ...(await fileEdits(page, shopDir, Number(args.edits))) };
  log(`.flag edit -> DOM: median ${results.file_edit.dom.median_ms.toFixed(1)} ms, p95 ${results.file_edit.dom.p95_ms.toFixed(1)} ms`);
  if (problems.length) throw new Error(`page errors: ${problems.join("; ")}`);
} finally {
  await browser.close();
}
app.child.kill("SIGTERM");
results.load_after = load();

writeFileSync(join(out, "results.json"), JSON.stringify(results, null, 1));
writeFileSync(join(out, "summary.md"), summaryMarkdown(results));
console.log(summaryMarkdown(results));
// The servers' pipes would keep this process alive: stop them and end.
process.exit(0);

function summaryMarkdown(r) {
  const f = (v, d = 2) => v.toFixed(d);
  const p = r.parts.with_flags;
  const lines = [
    `SSR parts (${r.parts.requests} requests one at a time, median / p99 ms):`,
    "",
    "| part | median | p99 |",
    "|---|---:|---:|",
    ...Object.entries(p).map(([k, s]) => `| ${k} | ${f(s.median_ms, 3)} | ${f(s.p99_ms, 3)} |`),
    `| without flags: render | ${f(r.parts.without_flags.render.median_ms, 3)} | ${f(r.parts.without_flags.render.p99_ms, 3)} |`,
    `| without flags: total | ${f(r.parts.without_flags.total.median_ms, 3)} | ${f(r.parts.without_flags.total.p99_ms, 3)} |`,
    `| GET /healthz round trip (HTTP floor) | ${f(r.parts.healthz_round_trip.median_ms, 3)} | ${f(r.parts.healthz_round_trip.p99_ms, 3)} |`,
    `| for comparison: the evaluation through node:http | ${f(r.parts.evaluate_node_http.median_ms, 3)} | ${f(r.parts.evaluate_node_http.p99_ms, 3)} |`,
    `| for comparison: the same bootstrap in process (@vexil/node) | ${f(r.parts.evaluate_in_process.median_ms, 3)} | ${f(r.parts.evaluate_in_process.p99_ms, 3)} |`,
    "",
    `CPU of the Node process per evaluation: fetch ${f(r.parts.evaluate_cpu_us.fetch, 0)} µs, node:http ${f(r.parts.evaluate_cpu_us.node_http, 0)} µs, in process ${f(r.parts.evaluate_cpu_us.in_process, 0)} µs`,
    "",
    `Whole pages (${r.load_tool}, ${args.duration} s, ${args.connections} connections):`,
    "",
    "| page | pages/s | p50 ms | p99 ms | failed | Node CPU µs/page | vexil serve CPU µs/page | load after |",
    "|---|---:|---:|---:|---:|---:|---:|---|",
    ...Object.entries(r.pages).map(
      ([k, s]) =>
        `| ${k} | ${f(s.rps_ok, 0)} | ${f(s.p50_ms)} | ${f(s.p99_ms)} | ${s.failed} | ${f(s.node_cpu_us, 0)} | ${f(s.serve_cpu_us, 0)} | ${s.load_after} |`,
    ),
    "",
    "Bootstrap bytes:",
    "",
    "| shopper | flags | script | script gzip | page | page gzip added | context | flags | per flag |",
    "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ...r.parts.bytes.map(
      (b) =>
        `| ${b.shopper} | ${b.flags} | ${b.script_bytes} | ${b.script_gzip_bytes} | ${b.page_without_bytes} → ${b.page_bytes} | ${b.added_gzip_bytes} | ${b.context_bytes} | ${b.flags_bytes} | ${f(b.flags_bytes / b.flags, 0)} |`,
    ),
    "",
    `Per flag (bytes of \`"key":{...}\`, ${r.parts.bytes[0].shopper}): ` +
      Object.entries(r.parts.bytes[0].per_flag_bytes).map(([k, v]) => `${k} ${v}`).join(", "),
    "",
    "Change -> DOM (ms):",
    "",
    "| change | n | median | p95 | max |",
    "|---|---:|---:|---:|---:|",
    `| override written from the page (write acknowledged) | ${r.override.write_acknowledged.n} | ${f(r.override.write_acknowledged.median_ms, 1)} | ${f(r.override.write_acknowledged.p95_ms, 1)} | ${f(r.override.write_acknowledged.max_ms, 1)} |`,
    `| override written from the page -> DOM | ${r.override.dom.n} | ${f(r.override.dom.median_ms, 1)} | ${f(r.override.dom.p95_ms, 1)} | ${f(r.override.dom.max_ms, 1)} |`,
    `| .flag file written -> DOM (clock offset ${f(r.file_edit.clock_offset_ms, 2)} ± ${f(r.file_edit.clock_uncertainty_ms, 2)} ms) | ${r.file_edit.dom.n} | ${f(r.file_edit.dom.median_ms, 1)} | ${f(r.file_edit.dom.p95_ms, 1)} | ${f(r.file_edit.dom.max_ms, 1)} |`,
    "",
    `Load average: before ${r.load_before}, after the parts ${r.load_after_parts}, at the end ${r.load_after}`,
    "",
  ];
  return lines.join("\n");
}
