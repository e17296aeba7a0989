#!/usr/bin/env bash
# The dashboard's page times (BENCHMARKS.md, "Dashboard pages"): generates
# 10,000 flags in 100 files (bench/lifecycle/generate.py's `flags` input,
# its old/ side) once under target/bench-dashboard/, then runs the
# dashboard_pages example (release build) over them: a week of hourly
# usage rollups seeded for every flag, each page timed.
set -euo pipefail
cd "$(dirname "$0")/../.."
out=target/bench-dashboard
[ -d "$out/flags/old" ] || python3 bench/lifecycle/generate.py flags "$out/flags"
cargo run --release -q -p vexil-server --example dashboard_pages -- "$out/flags/old" "${ROUNDS:-20}"
