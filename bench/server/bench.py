#!/usr/bin/env python3
"""The serving benchmark: `vexil serve` against Unleash Edge, driven by oha.

Called by `run.sh` (which installs the tools and builds the release binary);
Python 3 standard library only. Writes `results.json`, `summary.md`, the
servers' logs and answers to `--out`, and prints the summary.
"""

import argparse
import json
import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

import usage_cost

HERE = os.path.dirname(os.path.abspath(__file__))
CLIENT_SECRET = "bench-client-secret"
SERVER_SECRET = "bench-server-secret"
VEXIL_KEYS = f"client:bench:{CLIENT_SECRET},server:ops:{SERVER_SECRET}"
EDGE_CLIENT_TOKEN = "*:development.benchclienttoken"
EDGE_FRONTEND_TOKEN = "*:development.benchfrontendtoken"
SINGLE_FLAG = "search-ranking"
# The routes as Vexil's metrics name them.
ROUTES = {"single": "/ofrep/v1/evaluate/flags/{key}", "bulk": "/ofrep/v1/evaluate/flags"}


def log(msg):
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http(method, url, body=None, headers=None, timeout=5):
    req = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def wait_until(check, what, timeout):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            if check():
                return
        except OSError:
            pass
        time.sleep(0.1)
    raise SystemExit(f"timed out after {timeout}s waiting for {what}")


# `--pin SERVER_CPUS:LOAD_CPUS`: the servers on some CPUs, oha on others
# (taskset), so that the load generator never takes the server's CPU.
PIN = None


def pinned(cmd, role):
    if PIN is None:
        return cmd
    return ["taskset", "-c", PIN[0] if role == "server" else PIN[1]] + cmd


class Server:
    def __init__(self, name, cmd, env, out, ready_url, ready_headers=None, ready_timeout=60):
        cmd = pinned(cmd, "server")
        self.name = name
        self.log_path = os.path.join(out, f"{name}.log")
        self.log = open(self.log_path, "w")
        full_env = dict(os.environ, **env)
        log(f"starting {name}: {' '.join(cmd)}")
        self.proc = subprocess.Popen(cmd, env=full_env, stdout=self.log, stderr=subprocess.STDOUT)

        def ready():
            if self.proc.poll() is not None:
                raise SystemExit(f"{name} exited with {self.proc.returncode}; see {self.log_path}")
            return http("GET", ready_url, headers=ready_headers)[0] == 200

        wait_until(ready, f"{name} to be ready", ready_timeout)

    def rss_kb(self):
        """(current RSS, peak RSS) in kB, from /proc."""
        fields = {}
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                key, _, value = line.partition(":")
                fields[key] = value.strip()
        return int(fields["VmRSS"].split()[0]), int(fields["VmHWM"].split()[0])

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


class RssSampler:
    """The largest RSS seen while a load runs (every 100 ms)."""

    def __init__(self, server):
        self.server = server
        self.peak_kb = 0
        self.stop_flag = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self):
        while not self.stop_flag.is_set():
            try:
                self.peak_kb = max(self.peak_kb, self.server.rss_kb()[0])
            except (OSError, KeyError, ValueError):
                pass
            time.sleep(0.1)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop_flag.set()
        self.thread.join()


class Oha:
    def __init__(self, binary, out):
        self.binary = binary
        self.out = out

    def run(self, label, url, body_path, headers, duration, connections, qps=None, db=None,
            lines=False):
        """`lines`: each request's body is a line of the file, picked at random."""
        cmd = [self.binary, "--no-tui", "--output-format", "json", "-z", f"{duration}s", "-w",
               "-c", str(connections), "-m", "POST", "-T", "application/json",
               "-Z" if lines else "-D", body_path]
        for h in headers:
            cmd += ["-H", h]
        if qps:
            cmd += ["-q", str(qps), "--latency-correction"]
        if db:
            # oha appends to an existing database: each run gets a fresh
            # one, or the counts below would add up every earlier run's.
            if os.path.exists(db):
                os.remove(db)
            cmd += ["--db-url", db]
        cmd.append(url)
        before = cpu_times()
        result = subprocess.run(pinned(cmd, "load"), capture_output=True, text=True, check=False)
        after = cpu_times()
        if result.returncode != 0:
            raise SystemExit(f"oha failed ({label}): {result.stderr}")
        data = json.loads(result.stdout)
        with open(os.path.join(self.out, f"oha-{label}.json"), "w") as f:
            json.dump(data, f, indent=1)
        summary = summarise(data)
        summary["steal_pct"] = steal_pct(before, after)
        return summary


def cpu_times():
    """The machine's CPU times (/proc/stat's `cpu` line, in ticks), or None."""
    try:
        with open("/proc/stat") as f:
            fields = f.readline().split()
    except OSError:
        return None
    return [int(x) for x in fields[1:]] if fields and fields[0] == "cpu" else None


def steal_pct(before, after):
    """The share of CPU time the hypervisor gave to others (steal) between
    two readings, in percent: a run with much of it measured a busier host,
    not the server."""
    if not before or not after or len(before) < 8 or len(after) < 8:
        return None
    delta = [a - b for a, b in zip(after, before)]
    total = sum(delta[:8])
    return 100.0 * delta[7] / total if total > 0 else None


def summarise(data):
    s = data["summary"]
    codes = {int(k): v for k, v in data.get("statusCodeDistribution", {}).items()}
    errors = data.get("errorDistribution", {})
    total = sum(codes.values()) + sum(errors.values())
    ok = codes.get(200, 0)
    p = data["latencyPercentiles"]
    ms = lambda v: None if v is None else v * 1000.0  # noqa: E731
    return {
        "requests": total,
        "ok": ok,
        "failed": total - ok,
        "status": codes,
        "errors": errors,
        "rps_ok": ok / s["total"] if s["total"] else 0.0,
        "p50_ms": ms(p.get("p50")),
        "p99_ms": ms(p.get("p99")),
        "p999_ms": ms(p.get("p99.9")),
        "max_ms": ms(s.get("slowest")),
        "bytes_per_response": s.get("sizePerRequest"),
    }


def server_histogram(base, headers, endpoint):
    """Vexil's own request-duration histogram for one route, from
    `/metrics`: {upper bound in seconds: cumulative count}. It times a
    request from routing to the response (the handler and every layer),
    not the socket, hyper or the wait for a thread."""
    status, text = http("GET", f"{base}/metrics", headers=dict(h.split(": ", 1) for h in headers))
    if status != 200:
        raise SystemExit(f"GET /metrics: HTTP {status}")
    buckets = {}
    needle = f'endpoint="{endpoint}"'
    for line in text.decode().splitlines():
        if line.startswith("vexil_http_request_duration_seconds_bucket{") and needle in line:
            le = line.split('le="', 1)[1].split('"', 1)[0]
            buckets[float("inf") if le == "+Inf" else float(le)] = float(line.rsplit(" ", 1)[1])
    return buckets


def server_quantiles(before, after):
    """The histogram's bucket bounds (µs) under which 50%, 99% and 99.9% of
    the requests between two readings fell: an upper bound for each."""
    counts = sorted((le, after[le] - before.get(le, 0.0)) for le in after)
    total = counts[-1][1] if counts else 0
    out = {"requests": total}
    for name, q in (("p50", 0.5), ("p99", 0.99), ("p999", 0.999)):
        bound = next((le for le, n in counts if total and n >= q * total), None)
        out[f"{name}_le_us"] = None if bound is None or bound == float("inf") else bound * 1e6
    return out


# ------------------------------------------------------------------ answers

def compare_answers(vexil_bulk, edge_all):
    """Per flag: Vexil's value, Edge's, and whether they agree."""
    edge = {t["name"]: t for t in edge_all.get("toggles", [])}
    rows = []
    for item in vexil_bulk["flags"]:
        key = item["key"]
        v = item.get("value")
        t = edge.get(key)
        if t is None:
            e = "(missing)"
        else:
            payload = (t.get("variant") or {}).get("payload")
            if payload and t["enabled"]:
                raw = payload["value"]
                e = json.loads(raw) if payload["type"] in ("number", "json") else raw
            else:
                e = t["enabled"]
        rows.append((key, v, e, v == e))
    return rows


# ------------------------------------------------------------------ 10k flags

SCHEMA = """context user {
  key id: string
  email: string
  country: string
  plan: enum { free, pro, enterprise }
  age: int
  app_version: semver
  beta: bool
  created_at: timestamp
  roles: list<string>
}

context env {
  name: enum { development, staging, production }
}

segment staff {
  user.email ends_with "@shop.example" or "staff" in user.roles
}
"""


def generate_10k(directory, generation, files=100, per_file=100):
    """10,000 flags of four shapes (the shapes of compiler/benches/check.rs),
    `generation` changes every flag's owner and its rollout, so that each
    generation compiles to a different version."""
    os.makedirs(directory, exist_ok=True)
    with open(os.path.join(directory, "schema.flag"), "w") as f:
        f.write(SCHEMA)
    for fi in range(files):
        parts = []
        for i in range(per_file):
            n = fi * per_file + i
            shape = n % 4
            if shape == 0:
                body = ("  rule staff: when staff => true\n"
                        "  rule launch: from 2026-12-01 when user.country in [\"US\", \"CA\", \"GB\"]"
                        f" and user.plan >= pro => {20 + generation}% by user.id\n")
            elif shape == 1:
                body = (f"  rule old: when user.app_version < 2.{n % 10}.0 and not user.beta => false\n"
                        "  rule env: when env.name != production => true\n")
            elif shape == 2:
                body = (f"  rule adults: when user.age >= {18 + n % 50} and user.created_at < 2025-06-01 => true\n"
                        "  rule qa: when user.email starts_with \"qa+\" => true\n")
            else:
                body = "  rule halves: => split by user.id { true 50%, false 50% }\n"
            parts.append(f"/// Generated flag {n}.\nflag gen-{n}: bool {{\n  kind release\n"
                         f"  owner \"team-{(n + generation) % 12}\"\n  default false\n{body}}}\n\n")
        path = os.path.join(directory, f"flags-{fi:03}.flag")
        with open(path + ".tmp", "w") as f:
            f.write("".join(parts))
        os.replace(path + ".tmp", path)


# ------------------------------------------------------------------ main

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--root", required=True)
    ap.add_argument("--vexil", required=True)
    ap.add_argument("--oha", required=True)
    ap.add_argument("--edge")
    ap.add_argument("--floor", help="the floor server (vexil-bench-floor): axum answering a fixed body")
    ap.add_argument("--out", required=True)
    ap.add_argument("--duration", type=int, default=10)
    ap.add_argument("--connections", type=int, default=64)
    ap.add_argument("--reload-duration", type=int, default=30)
    ap.add_argument("--skip", default="", help="comma list of: serving, edge, floor, reload, usage, units")
    ap.add_argument("--tail-rounds", type=int, default=5,
                    help="alternating Vexil/floor rounds at Vexil's half rates (0: none)")
    ap.add_argument("--tail-duration", type=int, default=5)
    ap.add_argument("--units", type=int, default=150000,
                    help="users in each file of the many-users run")
    ap.add_argument("--usage-rounds", type=int, default=4)
    ap.add_argument("--usage-duration", type=int, default=4)
    ap.add_argument("--pin", default="", help="SERVER_CPUS:LOAD_CPUS for taskset, e.g. 0:1")
    args = ap.parse_args()
    global PIN
    if args.pin:
        server_cpus, _, load_cpus = args.pin.partition(":")
        if not server_cpus or not load_cpus:
            raise SystemExit("--pin takes SERVER_CPUS:LOAD_CPUS, e.g. 0:1")
        PIN = (server_cpus, load_cpus)
    skip = set(filter(None, args.skip.split(",")))
    out = args.out
    os.makedirs(out, exist_ok=True)
    oha = Oha(args.oha, out)
    results = {"pin": args.pin or None,
               "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
               "duration_s": args.duration, "connections": args.connections, "runs": {}}

    vexil_body = os.path.join(HERE, "context-vexil.json")
    edge_body = os.path.join(HERE, "context-unleash.json")
    vexil_port = free_port()
    vexil_base = f"http://127.0.0.1:{vexil_port}"
    servers = []
    try:
        vexil = start_shop(args, out, "vexil", vexil_port)
        servers.append(vexil)
        # A server key: it sees every flag, as Edge's frontend token sees
        # every toggle (a client key sees only flags marked `client`).
        vexil_auth = [f"Authorization: Bearer {SERVER_SECRET}"]
        targets = {
            ("vexil", "single"): (f"{vexil_base}/ofrep/v1/evaluate/flags/{SINGLE_FLAG}", vexil_body, vexil_auth, vexil),
            ("vexil", "bulk"): (f"{vexil_base}/ofrep/v1/evaluate/flags", vexil_body, vexil_auth, vexil),
        }
        edge = None
        if "edge" not in skip:
            edge_port = free_port()
            edge_base = f"http://127.0.0.1:{edge_port}"
            edge = Server("edge", [args.edge, "--port", str(edge_port), "--interface", "127.0.0.1",
                                   "offline", "--bootstrap-file", os.path.join(HERE, "shop-unleash.json"),
                                   "--client-tokens", EDGE_CLIENT_TOKEN,
                                   "--frontend-tokens", EDGE_FRONTEND_TOKEN],
                          {"RUST_LOG": "warn"}, out, f"{edge_base}/internal-backstage/health")
            servers.append(edge)
            edge_auth = [f"Authorization: {EDGE_FRONTEND_TOKEN}"]
            targets[("edge", "single")] = (f"{edge_base}/api/frontend/features/{SINGLE_FLAG}", edge_body, edge_auth, edge)
            targets[("edge", "bulk")] = (f"{edge_base}/api/frontend/all", edge_body, edge_auth, edge)

        # The answers, once, for the record (and a check that both answer 200).
        answers = {}
        for (name, endpoint), (url, body, headers, _) in targets.items():
            hdrs = dict(h.split(": ", 1) for h in headers)
            hdrs["Content-Type"] = "application/json"
            with open(body, "rb") as f:
                status, text = http("POST", url, f.read(), hdrs)
            if status != 200:
                raise SystemExit(f"{name} {endpoint}: HTTP {status}: {text[:500]!r}")
            answers[f"{name}-{endpoint}"] = json.loads(text)
            with open(os.path.join(out, f"answer-{name}-{endpoint}.json"), "wb") as f:
                f.write(text)
        if edge:
            rows = compare_answers(answers["vexil-bulk"], answers["edge-bulk"])
            results["answers"] = [{"flag": k, "vexil": v, "edge": e, "agree": a} for k, v, e, a in rows]
            agree = sum(1 for r in rows if r[3])
            log(f"answers for the benchmark's shopper: {agree}/{len(rows)} flags agree")
            for k, v, e, a in rows:
                if not a:
                    log(f"  differs: {k}: vexil {v!r}, edge {e!r}")

        # Warm up every target, then saturation and half-rate runs, one
        # endpoint at a time, the two servers back to back.
        for (name, endpoint), (url, body, headers, _) in targets.items():
            oha.run(f"warmup-{name}-{endpoint}", url, body, headers, 2, args.connections)
        for endpoint in ("single", "bulk"):
            for name in ("vexil", "edge"):
                if (name, endpoint) not in targets or (name == "vexil" and "serving" in skip):
                    continue
                url, body, headers, server = targets[(name, endpoint)]
                with RssSampler(server) as rss:
                    sat = oha.run(f"{name}-{endpoint}-saturation", url, body, headers,
                                  args.duration, args.connections)
                log(f"{name} {endpoint}: {sat['rps_ok']:.0f} req/s at saturation "
                    f"({sat['failed']} failed), peak RSS {rss.peak_kb / 1024:.1f} MiB")
                half = max(1, int(sat["rps_ok"] / 2))
                route = ROUTES.get(endpoint)
                before = server_histogram(vexil_base, vexil_auth, route) if name == "vexil" else None
                with RssSampler(server) as rss2:
                    lat = oha.run(f"{name}-{endpoint}-half", url, body, headers,
                                  args.duration, args.connections, qps=half)
                if before is not None:
                    lat["server"] = server_quantiles(before, server_histogram(vexil_base, vexil_auth, route))
                    log(f"vexil {endpoint} at {half} req/s, its own time (routing to response): "
                        f"p99 <= {fmt(lat['server']['p99_le_us'], 0)} us, "
                        f"p99.9 <= {fmt(lat['server']['p999_le_us'], 0)} us")
                log(f"{name} {endpoint} at {half} req/s: p50 {lat['p50_ms']:.3f} ms, "
                    f"p99 {lat['p99_ms']:.3f} ms, p99.9 {lat['p999_ms']:.3f} ms, "
                    f"max {lat['max_ms']:.3f} ms ({lat['failed']} failed, steal {fmt(lat['steal_pct'], 1)}%)")
                results["runs"][f"{name}-{endpoint}"] = {
                    "saturation": sat, "half_rate_qps": half, "half": lat,
                    "peak_rss_mib": max(rss.peak_kb, rss2.peak_kb) / 1024,
                }
        results["rss_mib"] = {s.name: s.rss_kb()[1] / 1024 for s in servers}
        for s in servers:
            s.stop()
        servers = []

        if "units" not in skip:
            results["units"] = units_run(args, oha, out, results)

        if "usage" not in skip:
            results["usage"] = usage_cost.run(
                args, sys.modules[__name__], oha, out, SERVER_SECRET,
                {"VEXIL_KEYS": VEXIL_KEYS, "RUST_LOG": "warn"}, args.usage_rounds, args.usage_duration)

        if args.floor and "floor" not in skip:
            results["floor"] = floor_run(args, oha, out, results, vexil_body, vexil_auth)

        if "reload" not in skip:
            results["reload"] = reload_run(args, oha, out, results)
    finally:
        for s in servers:
            s.stop()

    with open(os.path.join(out, "results.json"), "w") as f:
        json.dump(results, f, indent=1)
    summary = render(results)
    with open(os.path.join(out, "summary.md"), "w") as f:
        f.write(summary)
    print(summary)


def start_shop(args, out, name, port):
    """`vexil serve examples/shop` on a port, with the benchmark's keys and
    a data directory emptied first (an earlier run's event store and usage
    would be counted with this one's)."""
    shutil.rmtree(os.path.join(out, f"{name}-data"), ignore_errors=True)
    return Server(name, [args.vexil, "serve", os.path.join(args.root, "examples/shop"),
                         "--listen", f"127.0.0.1:{port}",
                         "--data-dir", os.path.join(out, f"{name}-data")],
                  {"VEXIL_KEYS": VEXIL_KEYS, "RUST_LOG": "warn"}, out, f"http://127.0.0.1:{port}/readyz")


def tail_rounds(args, oha, out, results, floor_url, body, headers):
    """Vexil and the floor at each of Vexil's half rates, alternating, in
    `--tail-rounds` rounds of `--tail-duration` seconds: one run's p99 on
    this machine moves by a millisecond from run to run, so the comparison
    is of medians over rounds taken in the same minutes."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    vexil = start_shop(args, out, "vexil-tail", port)
    urls = {"single": f"{base}/ofrep/v1/evaluate/flags/{SINGLE_FLAG}", "bulk": f"{base}/ofrep/v1/evaluate/flags"}
    rounds = {}
    try:
        for endpoint, url in urls.items():
            oha.run(f"warmup-tail-{endpoint}", url, body, headers, 2, args.connections)
        for endpoint, url in urls.items():
            run = results["runs"].get(f"vexil-{endpoint}")
            if not run:
                continue
            qps = run["half_rate_qps"]
            rows = {"vexil": [], "floor": [], "vexil_server_p99_le_us": []}
            for i in range(args.tail_rounds):
                before = server_histogram(base, headers, ROUTES[endpoint])
                v = oha.run(f"tail-vexil-{endpoint}-{i}", url, body, headers, args.tail_duration,
                            args.connections, qps=qps)
                own = server_quantiles(before, server_histogram(base, headers, ROUTES[endpoint]))
                f = oha.run(f"tail-floor-{endpoint}-{i}", floor_url, body, headers, args.tail_duration,
                            args.connections, qps=qps)
                rows["vexil"].append(v["p99_ms"])
                rows["floor"].append(f["p99_ms"])
                rows["vexil_server_p99_le_us"].append(own["p99_le_us"])
                log(f"tail round {i + 1} at {qps} req/s ({endpoint}): vexil p99 {fmt(v['p99_ms'])} ms "
                    f"(its own <= {fmt(own['p99_le_us'], 0)} us, steal {fmt(v['steal_pct'], 1)}%), "
                    f"floor p99 {fmt(f['p99_ms'])} ms (steal {fmt(f['steal_pct'], 1)}%)")
                rows.setdefault("steal_pct", []).append((v["steal_pct"], f["steal_pct"]))
            rounds[endpoint] = {"qps": qps, **rows}
    finally:
        vexil.stop()
    return rounds


UNITS_FLAG = "checkout-layout"


def units_run(args, oha, out, results):
    """Single evaluation of an experiment's flag for many users, so that
    the server records an exposure for each new unit it enrolls (the
    serving runs send one user, whose exposure is recorded once): oha
    picks each request's body at random from a file of contexts that
    differ in `targetingKey`, one file for the half-rate run and another
    for saturation, so both meet new users. Counts what was recorded,
    dropped (the writer's queue full) and is in the event store after a
    graceful stop."""
    template = json.load(open(os.path.join(HERE, "context-vexil-experiment.json")))
    files = {}
    for part in ("half", "saturation"):
        path = os.path.join(out, f"units-{part}.jsonl")
        with open(path, "w") as f:
            for i in range(args.units):
                template["context"]["targetingKey"] = f"{part}-{i}"
                f.write(json.dumps(template, separators=(",", ":")) + "\n")
        files[part] = path
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    auth = [f"Authorization: Bearer {SERVER_SECRET}"]
    url = f"{base}/ofrep/v1/evaluate/flags/{UNITS_FLAG}"
    server = start_shop(args, out, "vexil-units", port)
    try:
        sat = oha.run("units-saturation", url, files["saturation"], auth, args.duration,
                      args.connections, lines=True)
        qps = max(1, int(sat["rps_ok"] / 2))
        half = oha.run("units-half", url, files["half"], auth, args.duration, args.connections,
                       qps=qps, lines=True)
        status, text = http("GET", f"{base}/metrics", headers={"Authorization": f"Bearer {SERVER_SECRET}"})
        metrics = {}
        for line in text.decode().splitlines():
            for name in ("vexil_exposures_recorded_total", "vexil_exposures_dropped_total"):
                if line.startswith(name + " "):
                    metrics[name] = int(float(line.split()[1]))
    finally:
        server.stop()
    db = sqlite3.connect(os.path.join(out, "vexil-units-data", "vexil-events.db"))
    rows, units = db.execute("SELECT count(*), count(DISTINCT unit) FROM exposures").fetchone()
    db.close()
    r = {"flag": UNITS_FLAG, "units_per_file": args.units, "half_qps": qps, "half": half,
         "saturation": sat, "recorded": metrics.get("vexil_exposures_recorded_total"),
         "dropped": metrics.get("vexil_exposures_dropped_total"), "stored": rows,
         "stored_units": units}
    log(f"many users ({UNITS_FLAG}): {sat['rps_ok']:.0f} req/s at saturation, p99 {fmt(half['p99_ms'])} ms "
        f"at {qps} req/s; exposures recorded {r['recorded']}, dropped {r['dropped']}, stored {rows} "
        f"({units} units)")
    return r


def steals(pairs):
    """The largest steal of Vexil's runs and of the floor's, as text."""
    def top(xs):
        xs = [x for x in xs if x is not None]
        return fmt(max(xs), 1) if xs else "-"
    return f"{top([p[0] for p in pairs])}, {top([p[1] for p in pairs])}"


def median(values):
    v = sorted(x for x in values if x is not None)
    if not v:
        return None
    mid = len(v) // 2
    return v[mid] if len(v) % 2 else (v[mid - 1] + v[mid]) / 2


def floor_run(args, oha, out, results, body, headers):
    """The same load against a minimal axum server answering a fixed JSON
    body: at its own saturation, then at each of Vexil's half rates. Its
    latency is what this machine (loopback, oha on the same cores) gives
    without any of Vexil's work: the floor under Vexil's."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = Server("floor", [args.floor, f"127.0.0.1:{port}"], {}, out, f"{base}/readyz")
    url = f"{base}/ofrep/v1/evaluate/flags/{SINGLE_FLAG}"
    try:
        oha.run("warmup-floor", url, body, headers, 2, args.connections)
        sat = oha.run("floor-saturation", url, body, headers, args.duration, args.connections)
        log(f"floor: {sat['rps_ok']:.0f} req/s at saturation ({sat['failed']} failed)")
        at = {}
        for endpoint in ("single", "bulk"):
            run = results["runs"].get(f"vexil-{endpoint}")
            if not run:
                continue
            qps = run["half_rate_qps"]
            lat = oha.run(f"floor-at-vexil-{endpoint}-half", url, body, headers,
                          args.duration, args.connections, qps=qps)
            log(f"floor at {qps} req/s (vexil {endpoint}'s half rate): p50 {lat['p50_ms']:.3f} ms, "
                f"p99 {lat['p99_ms']:.3f} ms, p99.9 {lat['p999_ms']:.3f} ms, max {lat['max_ms']:.3f} ms")
            at[endpoint] = {"qps": qps, "half": lat}
        tail = None
        if args.tail_rounds > 0 and "serving" not in set(filter(None, args.skip.split(","))):
            tail = tail_rounds(args, oha, out, results, url, body, headers)
        long = None
        single = results["runs"].get("vexil-single")
        if single and "reload" not in set(filter(None, args.skip.split(","))):
            # The reload run's load, without Vexil: what the machine and oha
            # give over its duration (its slow requests and where they fall).
            db = os.path.join(out, "floor-long.sqlite")
            qps = max(100, int(single["half_rate_qps"]))
            run = oha.run("floor-long", url, body, headers, args.reload_duration, args.connections,
                          qps=qps, db=db)
            long = {"qps": qps, "run": run, "over_10ms": slow_requests(db),
                    "over_10ms_outside_pauses":
                        split_slow(db, oha_pauses(qps, args.reload_duration))["outside_slow"],
                    "slow_by_half_second": slow_clusters(db)}
            log(f"floor at {qps} req/s for {args.reload_duration} s: {long['over_10ms']} over 10 ms, "
                f"p99.9 {run['p999_ms']:.3f} ms, max {run['max_ms']:.2f} ms")
        return {"saturation": sat, "at": at, "tail": tail, "long": long}
    finally:
        server.stop()


def reload_run(args, oha, out, results):
    directory = os.path.join(out, "flags-10k")
    shutil.rmtree(directory, ignore_errors=True)
    generate_10k(directory, 0)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    ops = {"Authorization": f"Bearer {SERVER_SECRET}"}
    t0 = time.time()
    server = Server("vexil-10k", [args.vexil, "serve", directory, "--listen", f"127.0.0.1:{port}",
                                          "--data-dir", os.path.join(out, "vexil-10k-data")],
                    {"VEXIL_KEYS": VEXIL_KEYS, "RUST_LOG": "warn"}, out, f"{base}/readyz",
                    ready_timeout=300)
    start_s = time.time() - t0
    log(f"10,000 flags served after {start_s:.1f} s")

    def version():
        status, text = http("GET", f"{base}/status", headers=ops)
        assert status == 200, (status, text)
        return json.loads(text)["version"]

    url = f"{base}/ofrep/v1/evaluate/flags/gen-0"
    body = os.path.join(out, "context-10k.json")
    with open(body, "w") as f:
        json.dump({"context": {"targetingKey": "u-77", "email": "a@b.example", "country": "US",
                               "plan": "pro", "age": 30, "app_version": "2.5.0", "beta": False,
                               "created_at": "2024-01-01T00:00:00Z", "roles": [],
                               "env": {"name": "production"}}}, f)
    headers = [f"Authorization: Bearer {SERVER_SECRET}"]
    single = results["runs"].get("vexil-single")
    rate = max(100, int(single["half_rate_qps"])) if single else 2000
    try:
        oha.run("warmup-10k", url, body, headers, 2, args.connections)
        # The same load without a reload: what this machine does anyway.
        baseline = oha.run("10k-baseline", url, body, headers, args.reload_duration,
                           args.connections, qps=rate, db=os.path.join(out, "10k-baseline.sqlite"))
        slow_base = slow_requests(os.path.join(out, "10k-baseline.sqlite"))
        pauses = oha_pauses(rate, args.reload_duration)
        log(f"10k baseline at {rate} req/s: {baseline['failed']} failed, max {baseline['max_ms']:.2f} ms, "
            f"{slow_base} over 10 ms")

        db = os.path.join(out, "10k-reload.sqlite")
        if os.path.exists(db):
            os.remove(db)
        swaps = []
        with RssSampler(server) as rss:
            load = subprocess.Popen(
                pinned([args.oha, "--no-tui", "--output-format", "json", "-z", f"{args.reload_duration}s",
                 "-c", str(args.connections), "-m", "POST", "-T", "application/json", "-D", body,
                 "-q", str(rate), "--latency-correction", "--db-url", db]
                + sum((["-H", h] for h in headers), []) + [url], "load"),
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            load_start = time.time()
            generation = 0
            # Replace the repository, wait for the new version, twice.
            for at in (args.reload_duration * 0.2, args.reload_duration * 0.55):
                time.sleep(max(0.0, load_start + at - time.time()))
                before = version()
                generation += 1
                t = time.time()
                generate_10k(directory, generation)
                written = time.time()
                wait_until(lambda: version() != before, "the 10k reload", 120)
                swapped = time.time()
                swaps.append({"write_at_s": t - load_start, "write_s": written - t,
                              "swapped_after_s": swapped - t})
                log(f"reload {generation}: files written in {written - t:.2f} s, "
                    f"new version served {swapped - t:.2f} s after the write began")
            stdout, stderr = load.communicate()
        if load.returncode != 0:
            raise SystemExit(f"oha failed during the reload: {stderr}")
        data = json.loads(stdout)
        with open(os.path.join(out, "oha-10k-reload.json"), "w") as f:
            json.dump(data, f, indent=1)
        during = summarise(data)
        slow = slow_requests(db)
        # The same run split: requests sent while a new version was being
        # written, built and swapped in (and for a second after), and the
        # rest. oha's clock starts within milliseconds of `load_start`.
        windows = [(w["write_at_s"] - 0.1, w["write_at_s"] + w["swapped_after_s"] + 1.0) for w in swaps]
        split = split_slow(db, windows)
        log(f"10k reload at {rate} req/s: {during['failed']} failed, max {during['max_ms']:.2f} ms, "
            f"p99.9 {during['p999_ms']:.3f} ms, {slow} over 10 ms "
            f"({split['in_swaps_slow']} of {split['in_swaps']} sent during the swaps, "
            f"{split['outside_slow']} of {split['outside']} outside them)")
        return {"flags": 10000, "start_s": start_s, "rate_qps": rate, "swaps": swaps,
                "baseline": baseline, "baseline_over_10ms": slow_base,
                "baseline_over_10ms_outside_pauses":
                    split_slow(os.path.join(out, "10k-baseline.sqlite"), pauses)["outside_slow"],
                "during_over_10ms_outside_pauses": split_slow(db, pauses)["outside_slow"],
                "baseline_slow_by_half_second": slow_clusters(os.path.join(out, "10k-baseline.sqlite")),
                "during": during, "during_over_10ms": slow, "during_split": split,
                "during_slow_by_half_second": slow_clusters(db),
                "slow_list": slow_list(db), "peak_rss_mib": rss.peak_kb / 1024}
    finally:
        server.stop()


def slow_requests(db, ms=10.0):
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT COUNT(*) FROM oha WHERE duration > ?", (ms / 1000,)).fetchone()[0]


def split_slow(db, windows, ms=10.0):
    """Requests (and those over `ms`) sent inside the windows, and outside."""
    inside = " OR ".join("(start >= ? AND start < ?)" for _ in windows) or "0"
    bounds = [t for w in windows for t in w]
    with sqlite3.connect(db) as conn:
        def count(where, extra=()):
            return conn.execute(f"SELECT COUNT(*) FROM oha WHERE {where}", (*bounds, *extra)).fetchone()[0]
        return {"windows_s": [[round(a, 2), round(b, 2)] for a, b in windows],
                "in_swaps": count(f"({inside})"),
                "in_swaps_slow": count(f"({inside}) AND duration > ?", (ms / 1000,)),
                "outside": count(f"NOT ({inside})"),
                "outside_slow": count(f"NOT ({inside}) AND duration > ?", (ms / 1000,))}


def oha_pauses(rate, duration):
    """Where oha itself pauses: when its record array doubles (at 2^k
    requests, k >= 16), from half a second before to 0.75 s after, at a
    steady `rate`."""
    return [(2 ** k / rate - 0.5, 2 ** k / rate + 0.75) for k in range(16, 40)
            if 2 ** k / rate - 0.5 < duration]


def slow_clusters(db, ms=10.0):
    """Where the slow requests were sent: [half-second, count], in time order.
    (oha keeps every request's record in one growing array; each time it
    doubles, the copy stalls oha itself, at 2^k requests.)"""
    with sqlite3.connect(db) as conn:
        rows = conn.execute(
            "SELECT CAST(start * 2 AS INTEGER), COUNT(*) FROM oha WHERE duration > ? GROUP BY 1 ORDER BY 1",
            (ms / 1000,)).fetchall()
    return [[k / 2, n] for k, n in rows]


def slow_list(db, ms=10.0):
    with sqlite3.connect(db) as conn:
        rows = conn.execute(
            "SELECT start, duration FROM oha WHERE duration > ? ORDER BY duration DESC LIMIT 20",
            (ms / 1000,)).fetchall()
    return [{"start_s": round(s, 3), "ms": round(d * 1000, 2)} for s, d in rows]


def fmt(v, digits=3):
    return "-" if v is None else f"{v:.{digits}f}"


def render(r):
    lines = ["## Serving benchmark summary", "",
             f"Started {r['started']}, {r['duration_s']} s per run, {r['connections']} connections, "
             "keep-alive, loopback"
             + (f"; servers pinned to CPUs {r['pin'].split(':')[0]}, oha to {r['pin'].split(':')[1]}"
                if r.get("pin") else "; servers and oha share every CPU") + ".", "",
             "| server | endpoint | req/s at saturation | failed | half rate | p50 ms | p99 ms | p99.9 ms | max ms | peak RSS MiB |",
             "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for key, run in r["runs"].items():
        name, endpoint = key.split("-")
        sat, half = run["saturation"], run["half"]
        lines.append(
            f"| {name} | {endpoint} | {sat['rps_ok']:.0f} | {sat['failed'] + half['failed']} | "
            f"{run['half_rate_qps']} | {fmt(half['p50_ms'])} | {fmt(half['p99_ms'])} | "
            f"{fmt(half['p999_ms'])} | {fmt(half['max_ms'], 2)} | {run['peak_rss_mib']:.1f} |")
    fl = r.get("floor")
    if fl:
        sat = fl["saturation"]
        lines.append(f"| floor (axum, fixed body) | single | {sat['rps_ok']:.0f} | {sat['failed']} | - | - | - | - | - | - |")
        for endpoint, run in fl["at"].items():
            half = run["half"]
            lines.append(
                f"| floor at vexil {endpoint}'s half rate | single | - | {half['failed']} | {run['qps']} | "
                f"{fmt(half['p50_ms'])} | {fmt(half['p99_ms'])} | {fmt(half['p999_ms'])} | "
                f"{fmt(half['max_ms'], 2)} | - |")
    lines.append("")
    for endpoint in ("single", "bulk"):
        v, e = r["runs"].get(f"vexil-{endpoint}"), r["runs"].get(f"edge-{endpoint}")
        if v and e and e["saturation"]["rps_ok"]:
            ratio = v["saturation"]["rps_ok"] / e["saturation"]["rps_ok"]
            lines.append(f"- {endpoint}: vexil / edge = **{ratio:.2f}x** (aim >= 3x: "
                         f"{'met' if ratio >= 3 else 'missed'})")
    for endpoint in ("single", "bulk"):
        v = r["runs"].get(f"vexil-{endpoint}")
        if v:
            p99 = v["half"]["p99_ms"]
            floor = (fl or {}).get("at", {}).get(endpoint)
            own = v["half"].get("server") or {}
            lines.append(f"- vexil {endpoint} p99 at half rate: {fmt(p99)} ms (aim < 1 ms: "
                         f"{'met' if p99 is not None and p99 < 1 else 'missed'})"
                         + (f"; the floor's at the same rate: {fmt(floor['half']['p99_ms'])} ms" if floor else "")
                         + (f"; Vexil's own time (routing to response) p99 <= {fmt(own.get('p99_le_us'), 0)} us, "
                            f"p99.9 <= {fmt(own.get('p999_le_us'), 0)} us" if own else ""))
    tail = (fl or {}).get("tail")
    if tail:
        lines += ["", "Vexil and the floor at Vexil's half rates, alternating round by round "
                  "(p99 ms: median, then the range; Vexil's own time is its request-duration "
                  "histogram's bucket bound, routing to response, the largest of the rounds):", "",
                  "| at | rounds | vexil p99 ms | floor p99 ms | vexil minus floor (median) | vexil's own p99 | largest steal % (vexil, floor) |",
                  "|---|---:|---:|---:|---:|---:|---:|"]
        for endpoint, t in tail.items():
            mv, mf = median(t["vexil"]), median(t["floor"])
            rng = lambda xs: f"{fmt(min(xs))}-{fmt(max(xs))}" if xs else "-"  # noqa: E731
            owns = [x for x in t["vexil_server_p99_le_us"] if x is not None]
            own = max(owns) if owns else None
            lines.append(f"| {t['qps']} req/s ({endpoint}'s half rate) | {len(t['vexil'])} | "
                         f"**{fmt(mv)}** ({rng(t['vexil'])}) | {fmt(mf)} ({rng(t['floor'])}) | "
                         f"{fmt(None if mv is None or mf is None else mv - mf)} | "
                         f"<= {fmt(own, 0)} us | {steals(t.get('steal_pct', []))} |")
        lines.append("")
    if "rss_mib" in r:
        peak = r["rss_mib"].get("vexil")
        lines.append(f"- vexil serve examples/shop peak RSS: {peak:.1f} MiB (aim < 64 MB: "
                     f"{'met' if peak * 1.048576 < 64 else 'missed'})")
        if "edge" in r["rss_mib"]:
            lines.append(f"- Unleash Edge peak RSS: {r['rss_mib']['edge']:.1f} MiB")
    if "answers" in r:
        agree = sum(1 for a in r["answers"] if a["agree"])
        lines.append(f"- the two servers' answers for the benchmark's shopper agree on "
                     f"{agree}/{len(r['answers'])} flags")
    rl = r.get("reload")
    if rl:
        d, b = rl["during"], rl["baseline"]
        ok = d["failed"] == 0 and rl["during_over_10ms"] == 0
        lines += ["",
                  f"10,000-flag reload ({len(rl['swaps'])} swaps during {d['requests']} requests at "
                  f"{rl['rate_qps']} req/s; first start {rl['start_s']:.1f} s; peak RSS {rl['peak_rss_mib']:.1f} MiB):",
                  "",
                  "| run | requests | failed | over 10 ms | of those, outside oha's pauses | p99 ms | p99.9 ms | max ms |",
                  "|---|---:|---:|---:|---:|---:|---:|---:|",
                  f"| no reload (baseline) | {b['requests']} | {b['failed']} | {rl['baseline_over_10ms']} | "
                  f"{rl.get('baseline_over_10ms_outside_pauses', '-')} | "
                  f"{fmt(b['p99_ms'])} | {fmt(b['p999_ms'])} | {fmt(b['max_ms'], 2)} |",
                  f"| with reloads | {d['requests']} | {d['failed']} | {rl['during_over_10ms']} | "
                  f"{rl.get('during_over_10ms_outside_pauses', '-')} | "
                  f"{fmt(d['p99_ms'])} | {fmt(d['p999_ms'])} | {fmt(d['max_ms'], 2)} |"]
        long = (r.get("floor") or {}).get("long")
        if long:
            f = long["run"]
            lines.append(f"| the floor (axum, fixed body), same rate and duration | {f['requests']} | {f['failed']} | "
                         f"{long['over_10ms']} | {long.get('over_10ms_outside_pauses', '-')} | "
                         f"{fmt(f['p99_ms'])} | {fmt(f['p999_ms'])} | {fmt(f['max_ms'], 2)} |")
        lines += [
                  "",
                  "oha's pauses: from 0.5 s before to 0.75 s after oha's own record array doubles (at 2^k "
                  "requests, k >= 16, at the run's rate), when oha stalls and, with its latency correction, "
                  "counts the requests it could not send as slow.",
                  "",
                  "Where the requests over 10 ms were sent (half-seconds with the most; `*`: within 0.75 s "
                  "of oha's own record array doubling, at 2^k requests, k >= 16):",
                  ""]
        growth = [2 ** k / rl["rate_qps"] for k in range(16, 30)]
        def clusters(name, rows):
            top = sorted(rows, key=lambda x: -x[1])[:6]
            text = ", ".join(f"{t:.1f} s: {n}" + ("*" if any(abs(t + 0.25 - g) < 0.75 for g in growth) else "")
                             for t, n in sorted(top))
            lines.append(f"- {name}: {text or 'none'}")
        clusters("no reload", rl.get("baseline_slow_by_half_second", []))
        clusters("with reloads", rl.get("during_slow_by_half_second", []))
        if long:
            clusters("the floor", long["slow_by_half_second"])
        lines += [
                  "",
                  f"The reload run split: {rl['during_split']['in_swaps_slow']} of "
                  f"{rl['during_split']['in_swaps']} requests sent during the swaps (from the write to a second "
                  f"after the new version was served) over 10 ms, {rl['during_split']['outside_slow']} of "
                  f"{rl['during_split']['outside']} outside them.",
                  "",
                  "swaps: " + "; ".join(f"written at {s['write_at_s']:.1f} s, served {s['swapped_after_s']:.2f} s later"
                                        for s in rl["swaps"]),
                  f"- reload aim (no failed request, none over 10 ms): {'met' if ok else 'missed'}"]
    u = r.get("units")
    if u:
        h, sat = u["half"], u["saturation"]
        lines += ["", f"Many users: single evaluation of the experiment's flag `{u['flag']}`, each request's "
                  f"context one of {u['units_per_file']} users picked at random (new users in each run), "
                  "so the server records an exposure for each new unit it enrolls:", "",
                  f"- {sat['rps_ok']:.0f} req/s at saturation ({sat['failed']} failed); at half that, {u['half_qps']} req/s, "
                  f"p50 {fmt(h['p50_ms'])} ms, p99 {fmt(h['p99_ms'])} ms, p99.9 {fmt(h['p999_ms'])} ms "
                  f"({h['failed']} failed)",
                  f"- exposures recorded {u['recorded']}, dropped (queue full) {u['dropped']}; in the event store "
                  f"after a graceful stop: {u['stored']} rows, {u['stored_units']} units "
                  "(a unit forgotten by the deduplicating window and seen again is written again)"]
    if "usage" in r:
        lines += usage_cost.render(r["usage"], fmt)
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
