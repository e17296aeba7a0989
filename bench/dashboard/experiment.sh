#!/usr/bin/env bash
# An experiment's dashboard page over a large event store (BENCHMARKS.md,
# "Dashboard pages"): the experiment_page example (release build) fills
# target/bench-dashboard/experiment-UNITS.db once (`checkout-layout` of
# examples/shop simulated for UNITS units, default 1,000,000, and
# ingested), then times the page with its analysis run on every view
# against kept for a minute, alternating the two (A B A B).
set -euo pipefail
cd "$(dirname "$0")/../.."
units="${UNITS:-1000000}"
mkdir -p target/bench-dashboard
cargo run --release -q -p vexil-server --example experiment_page -- \
  "target/bench-dashboard/experiment-$units.db" "$units" "${ROUNDS:-10}" "${PAIRS:-2}"
