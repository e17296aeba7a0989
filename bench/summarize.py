#!/usr/bin/env python3
"""Summarize the workload bench as markdown tables: engine x flag, median ns
per iteration, and each figure's ratio to the floor engine.

Reads criterion's `target/criterion/**/new/estimates.json` and the
`benchmark.json` beside each (whose `full_id` is the benchmark id, e.g.
`yggdrasil/F2/json`). Benchmarks whose id is not `ENGINE/FLAG`,
`ENGINE/FLAG/json` or `ENGINE/all` are ignored.

    python3 bench/summarize.py [--criterion-dir DIR] [--floor ENGINE]
"""

import argparse
import json
import pathlib
import re
import sys

FLAGS = ["F1", "F2", "F3", "F4", "F5", "F6"]
# Engines in the order a reader wants them: the floor, Vexil's own, peers.
KNOWN_ORDER = ["native", "interp", "jit", "yggdrasil", "launchdarkly", "growthbook"]
BENCH_ID = re.compile(r"^(?P<engine>[^/]+)/(?P<what>F[1-6](?:/json)?|all)$")


def default_criterion_dir():
    # bench/summarize.py -> workspace root -> target/criterion
    return pathlib.Path(__file__).resolve().parent.parent / "target" / "criterion"


def load_medians(criterion_dir):
    """{(engine, what): median ns} for every workload benchmark found."""
    medians = {}
    for estimates_path in sorted(criterion_dir.glob("**/new/estimates.json")):
        bench_path = estimates_path.with_name("benchmark.json")
        try:
            full_id = json.loads(bench_path.read_text())["full_id"]
            median = json.loads(estimates_path.read_text())["median"]["point_estimate"]
        except (OSError, ValueError, KeyError, TypeError) as error:
            print(f"skipping {estimates_path}: {error}", file=sys.stderr)
            continue
        match = BENCH_ID.match(full_id)
        if match:
            medians[(match["engine"], match["what"])] = float(median)
    return medians


def engine_order(engines, floor):
    known = [e for e in KNOWN_ORDER if e in engines]
    rest = sorted(e for e in engines if e not in KNOWN_ORDER)
    ordered = known + rest
    if floor in ordered:
        ordered.remove(floor)
        ordered.insert(0, floor)
    return ordered


def format_ns(ns):
    if ns is None:
        return "–"
    if ns < 100:
        return f"{ns:.1f}"
    return f"{ns:,.0f}"


def format_ratio(value, floor_value):
    if value is None or not floor_value:
        return "–"
    ratio = value / floor_value
    if ratio < 10:
        return f"{ratio:.1f}×"
    return f"{ratio:,.0f}×"


def table(title, columns, engines, medians, floor, ratios):
    header = ["engine"] + [label for label, _ in columns]
    lines = [f"**{title}**", "", "| " + " | ".join(header) + " |",
             "|---|" + "---:|" * len(columns)]
    for engine in engines:
        cells = [engine]
        for _, what in columns:
            value = medians.get((engine, what))
            if ratios:
                cells.append(format_ratio(value, medians.get((floor, what))))
            else:
                cells.append(format_ns(value))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--criterion-dir", type=pathlib.Path, default=default_criterion_dir(),
                        help="criterion's output directory (default: target/criterion)")
    parser.add_argument("--floor", default="native",
                        help="engine the ratios are taken to (default: native)")
    args = parser.parse_args()

    medians = load_medians(args.criterion_dir)
    if not medians:
        print(f"no workload benchmarks under {args.criterion_dir}; "
              "run `cargo bench -p vexil-bench --bench workload` first", file=sys.stderr)
        return 1
    engines = engine_order({engine for engine, _ in medians}, args.floor)

    prepared = [(flag, flag) for flag in FLAGS] + [("all six", "all")]
    from_json = [(f"{flag}/json", f"{flag}/json") for flag in FLAGS]
    sections = [
        ("Median ns per iteration, context built before timing "
         "(`all six`: one iteration evaluates the six flags for one user)", prepared, False),
        (f"Ratio to `{args.floor}`, context built before timing", prepared, True),
        ("Median ns per evaluation, context built from the user's JSON inside the loop",
         from_json, False),
        (f"Ratio to `{args.floor}`, context built from JSON", from_json, True),
    ]
    print("\n\n".join(table(title, columns, engines, medians, args.floor, ratios)
                      for title, columns, ratios in sections))
    return 0


if __name__ == "__main__":
    sys.exit(main())
