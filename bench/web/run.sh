#!/usr/bin/env bash
# The React/SSR benchmark (issue 15), in one command: the server-side render
# path of examples/web in parts (bulk evaluation round trip, serialising the
# bootstrap, the React render; the same bootstrap in process with
# @vexil/node), whole-page request rates with and without flags (and with
# them evaluated in process), the bytes the bootstrap adds to the page, and the time from a flag
# change (an override, a `.flag` file edit) to the updated DOM in headless
# chromium. Against `vexil serve` (release) on 127.0.0.1.
#
#   bench/web/run.sh
#   BENCH_DURATION=20 BENCH_CHANGES=60 bench/web/run.sh
#   VEXIL_BIN=/path/to/release/vexil bench/web/run.sh   # skip the build
#
# Installs what it needs, idempotently: Debian's chromium and the npm
# packages through the project's scripts (scripts/install-chromium.sh,
# scripts/install-web.sh). The load tool is oha from
# $VEXIL_BENCH_TOOLS/oha-1.16.0 (default ~/.cache/vexil-bench; installed by
# bench/server/run.sh) when it is there, else a Node loop. Not part of
# scripts/test.sh. Results: target/bench-web/ (summary.md, results.json,
# machine.txt, oha's JSON, the server's log).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
TOOLS=${VEXIL_BENCH_TOOLS:-$HOME/.cache/vexil-bench}
OUT=${BENCH_OUT:-$ROOT/target/bench-web}

CHROMIUM=$("$ROOT/scripts/install-chromium.sh")
"$ROOT/scripts/install-web.sh"
if [ -n "${VEXIL_BIN:-}" ]; then
    VEXIL=$VEXIL_BIN
else
    echo "[bench-web] building vexil (release)" >&2
    (cd "$ROOT" && nice -n 10 cargo build --locked --release -p vexil-cli >&2)
    VEXIL="$ROOT/target/release/vexil"
fi
# @vexil/node's addon, for the in-process rows.
(cd "$ROOT/node" && VEXIL_NODE_PROFILE=release nice -n 10 npm run --silent build >&2)
OHA="$TOOLS/oha-${OHA_VERSION:-1.16.0}/bin/oha"
[ -x "$OHA" ] || OHA=""

mkdir -p "$OUT"
{
    echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "commit: $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)"
    echo "vexil: $VEXIL"
    echo "node: $(node --version)"
    echo "chromium: $("$CHROMIUM" --version 2>/dev/null || echo unknown)"
    echo "load tool: ${OHA:-node loop} $([ -n "$OHA" ] && "$OHA" --version)"
    echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
    lscpu | grep -E '^(Model name|CPU\(s\)|Thread|Core|Socket|CPU max MHz)' || true
} > "$OUT/machine.txt"
cat "$OUT/machine.txt" >&2

exec node "$ROOT/bench/web/bench.mjs" --root "$ROOT" --vexil "$VEXIL" --chromium "$CHROMIUM" \
    --oha "$OHA" --out "$OUT" --requests "${BENCH_REQUESTS:-2000}" \
    --duration "${BENCH_DURATION:-10}" --connections "${BENCH_CONNECTIONS:-16}" \
    --changes "${BENCH_CHANGES:-30}" --edits "${BENCH_EDITS:-10}"
