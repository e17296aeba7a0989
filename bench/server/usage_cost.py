"""What the server's per-request bookkeeping costs single evaluation (issue
17: "keeping the usage counters must not slow OFREP evaluation measurably").

Called by `bench.py` (`BENCH_SKIP=usage` leaves it out). Three `vexil serve
examples/shop` processes, each started with its own config file that
differs from the others' in one setting at most:

- `on`: the defaults written out (`[usage] enabled = true`);
- `twin`: the same file again, a second process: what two identical
  servers differ by on this machine (the noise floor of the comparison);
- `usage_off`: `[usage] enabled = false`.

A fourth variant, `exposures_off`, is the `on` process asked not to record
exposures: its requests carry `Vexil-Exposures: rendered` (the caller
records them itself), the others' `Vexil-Exposures: recorded` (any other
value: the server records them), so every request has the same size.

What is evaluated: the experiment `checkout-layout` for a shopper in its
audience and traffic (`context-vexil-experiment.json`, answered `SPLIT`,
checked before measuring), so that each evaluation does every piece of
bookkeeping: the Prometheus counter, the usage cell, and an exposure
offered to the recorder. oha sends one body, so after the first request
the exposure is a duplicate the recorder's dedup set drops (its lookup
is the cost measured; writing new units to the event store is not).

Rounds alternate the order (A B C D, then D C B A, ...), first at
saturation, then all at one fixed rate (half the median saturation), so
that a variant measured first or last, or in a quieter minute, does not
decide the result. Each run reports requests per second, latency, and the
server process's CPU time per request (from /proc/PID/task/*/schedstat),
the figure least moved by other load: at a fixed rate a bookkeeping cost
shows as CPU per request even when throughput hides it.
"""

import glob
import json
import os
import statistics

VARIANTS = ("on", "twin", "usage_off", "exposures_off")
LABELS = {
    "on": "rollups on (defaults)",
    "twin": "rollups on, a second process",
    "usage_off": "`[usage] enabled = false`",
    "exposures_off": "rollups on, exposures not recorded",
}


def cpu_ns(pid):
    """CPU time of every thread of `pid`, in nanoseconds (threads that have
    exited are not counted: the server's request threads live as long as it
    does)."""
    total = 0
    for path in glob.glob(f"/proc/{pid}/task/*/schedstat"):
        try:
            with open(path) as f:
                total += int(f.read().split()[0])
        except (OSError, ValueError, IndexError):
            pass
    return total


HERE = os.path.dirname(os.path.abspath(__file__))
TARGET = "checkout-layout"
BODY = os.path.join(HERE, "context-vexil-experiment.json")


def run(args, bench, oha, out, server_secret, env, rounds, duration):
    """Start the three servers, measure every variant `rounds` times in
    alternating order, and return the figures (see `render`)."""
    servers = {}
    try:
        for name in ("on", "twin", "usage_off"):
            port = bench.free_port()
            config = os.path.join(out, f"usage-cost-{name}.toml")
            with open(config, "w") as f:
                f.write("[usage]\nenabled = %s\n" % ("false" if name == "usage_off" else "true"))
            base = f"http://127.0.0.1:{port}"
            servers[name] = (bench.Server(
                f"vexil-usage-{name}",
                [args.vexil, "serve", os.path.join(args.root, "examples/shop"), "--config", config,
                 "--listen", f"127.0.0.1:{port}",
                 "--data-dir", os.path.join(out, f"vexil-usage-{name}-data")],
                env, out, f"{base}/readyz"), base)
        auth = f"Authorization: Bearer {server_secret}"

        def target(variant):
            server, base = servers["on" if variant == "exposures_off" else variant]
            header = "Vexil-Exposures: " + ("rendered" if variant == "exposures_off" else "recorded")
            return server, f"{base}/ofrep/v1/evaluate/flags/{TARGET}", [auth, header]

        with open(BODY, "rb") as f:
            body_bytes = f.read()
        for variant in ("on", "usage_off"):
            _, url, headers = target(variant)
            status, text = bench.http("POST", url, body_bytes,
                                      dict([h.split(": ", 1) for h in headers], **{"Content-Type": "application/json"}))
            answer = json.loads(text) if status == 200 else {}
            if answer.get("reason") != "SPLIT":
                raise SystemExit(f"usage cost: {TARGET} answered HTTP {status} {text[:300]!r}, not a SPLIT: "
                                 "the experiment has ended or changed; give the benchmark another one "
                                 "(bench/server/usage_cost.py, context-vexil-experiment.json)")
        body = BODY

        for variant in VARIANTS:
            _, url, headers = target(variant)
            oha.run(f"warmup-usage-{variant}", url, body, headers, 2, args.connections)

        # The exposure reached the event store once (then deduplicated).
        recorded = exposures_recorded(bench, servers["on"][1], auth)
        if not recorded:
            raise SystemExit(f"usage cost: no exposure of {TARGET} was recorded by the `on` server")

        def measure(kind, r, variant, qps=None):
            server, url, headers = target(variant)
            before = cpu_ns(server.proc.pid)
            res = oha.run(f"usage-{kind}-{r}-{variant}", url, body, headers, duration,
                          args.connections, qps=qps)
            spent = cpu_ns(server.proc.pid) - before
            res["cpu_us_per_request"] = spent / 1000 / res["ok"] if res["ok"] else None
            return res

        def orders():
            for r in range(rounds):
                yield r, (VARIANTS if r % 2 == 0 else tuple(reversed(VARIANTS)))

        saturation = []
        for r, order in orders():
            row = {}
            for variant in order:
                row[variant] = measure("saturation", r, variant)
                bench.log(f"usage round {r + 1} {variant}: {row[variant]['rps_ok']:.0f} req/s, "
                          f"{row[variant]['cpu_us_per_request']:.2f} us CPU a request")
            saturation.append({"order": list(order), "runs": row})
        qps = max(100, int(statistics.median(
            run["rps_ok"] for rnd in saturation for run in rnd["runs"].values()) / 2))
        fixed = []
        for r, order in orders():
            row = {}
            for variant in order:
                row[variant] = measure("fixed", r, variant, qps=qps)
                bench.log(f"usage round {r + 1} at {qps} req/s {variant}: p50 {row[variant]['p50_ms']:.3f} ms, "
                          f"p99 {row[variant]['p99_ms']:.3f} ms, "
                          f"{row[variant]['cpu_us_per_request']:.2f} us CPU a request")
            fixed.append({"order": list(order), "runs": row})
        return {"exposures_recorded": exposures_recorded(bench, servers["on"][1], auth),
                "rounds": rounds, "duration_s": duration, "fixed_qps": qps,
                "saturation": saturation, "fixed": fixed}
    finally:
        for server, _ in servers.values():
            server.stop()


def exposures_recorded(bench, base, auth):
    """`vexil_exposures_recorded_total` on `/metrics`."""
    name, _, secret = auth.partition(": ")
    status, text = bench.http("GET", f"{base}/metrics", headers={name: secret})
    for line in text.decode().splitlines() if status == 200 else []:
        if line.startswith("vexil_exposures_recorded_total "):
            return int(float(line.split()[1]))
    return 0


def ratios(rounds, variant, key, base="on"):
    """Per round, `variant`'s figure over `base`'s in the same round."""
    out = []
    for rnd in rounds:
        a, b = rnd["runs"][variant].get(key), rnd["runs"][base].get(key)
        if a is not None and b:
            out.append(a / b)
    return out


def spread(values, digits=3):
    if not values:
        return "-"
    return (f"**{statistics.median(values):.{digits}f}** "
            f"({min(values):.{digits}f}-{max(values):.{digits}f})")


def render(u, fmt):
    lines = ["", f"Usage bookkeeping on single evaluation of the experiment `{TARGET}` ({u['rounds']} rounds of "
             f"{u['duration_s']} s per variant, order alternating; fixed rate {u['fixed_qps']} req/s; "
             f"exposures recorded by `on`: {u['exposures_recorded']}, the rest deduplicated):", "",
             "| round | order | " + " | ".join(f"{v}: req/s, CPU us/req" for v in VARIANTS) + " |",
             "|---|---|" + "---:|" * len(VARIANTS)]
    for i, rnd in enumerate(u["saturation"]):
        cells = [f"{rnd['runs'][v]['rps_ok']:.0f}, {fmt(rnd['runs'][v]['cpu_us_per_request'], 2)}"
                 for v in VARIANTS]
        lines.append(f"| saturation {i + 1} | {' '.join(rnd['order'])} | " + " | ".join(cells) + " |")
    lines += ["", "| round | order | " + " | ".join(f"{v}: p50 / p99 ms, CPU us/req" for v in VARIANTS) + " |",
              "|---|---|" + "---:|" * len(VARIANTS)]
    for i, rnd in enumerate(u["fixed"]):
        cells = [f"{fmt(rnd['runs'][v]['p50_ms'])} / {fmt(rnd['runs'][v]['p99_ms'])}, "
                 f"{fmt(rnd['runs'][v]['cpu_us_per_request'], 2)}" for v in VARIANTS]
        lines.append(f"| fixed {i + 1} | {' '.join(rnd['order'])} | " + " | ".join(cells) + " |")
    lines += ["", "Each variant over `on` in the same round, median (min-max over rounds):", "",
              "| variant | req/s at saturation | CPU/req at saturation | CPU/req at fixed rate | p99 at fixed rate |",
              "|---|---:|---:|---:|---:|"]
    for v in VARIANTS[1:]:
        lines.append(f"| {v} ({LABELS[v]}) | {spread(ratios(u['saturation'], v, 'rps_ok'))} | "
                     f"{spread(ratios(u['saturation'], v, 'cpu_us_per_request'))} | "
                     f"{spread(ratios(u['fixed'], v, 'cpu_us_per_request'))} | "
                     f"{spread(ratios(u['fixed'], v, 'p99_ms'))} |")
    lines.append("")
    lines.append("`twin` is an identical second process: the other variants' ratios mean something only "
                 "where they leave the twin's range.")
    return lines
