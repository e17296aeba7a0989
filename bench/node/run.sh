#!/usr/bin/env bash
# @vexil/node against a flag server, in one command: the time of one
# evaluation in-process (the addon, machine code), of all of the shop's
# flags for one context, through the OpenFeature provider, and of one
# OFREP evaluation of the same flag over HTTP from the same Node process
# against `vexil serve` on 127.0.0.1 (Node's fetch, and node:http with a
# keep-alive agent), in the same run.
#
#   bench/node/run.sh
#   BENCH_N=500000 bench/node/run.sh
#
# Builds the addon and `vexil` in release and installs the npm packages
# (scripts/install-web.sh), idempotently. Not part of scripts/test.sh.
# Results: target/bench-node/ (summary.md, machine.txt, the server's log).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
OUT=${BENCH_OUT:-$ROOT/target/bench-node}
mkdir -p "$OUT"
"$ROOT/scripts/install-web.sh"
cargo build --release --locked -q -p vexil-cli --manifest-path "$ROOT/Cargo.toml"
(cd "$ROOT/node" && VEXIL_NODE_PROFILE=release npm run --silent build)
{
  echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "commit: $(git -C "$ROOT" rev-parse --short HEAD)"
  echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs) x $(nproc)"
  echo "node: $(node --version)"
} >"$OUT/machine.txt"
VEXIL_BIN="$ROOT/target/release/vexil" OUT="$OUT" node "$ROOT/bench/node/bench.mjs" | tee "$OUT/summary.md"
cat "$OUT/machine.txt"
