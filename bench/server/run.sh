#!/usr/bin/env bash
# The serving benchmark, in one command: `vexil serve examples/shop` against
# Unleash Edge (offline mode, the same flags from shop-unleash.json), single
# and bulk evaluation, with oha; the same load against a minimal axum server
# answering a fixed body (the floor: what this machine's HTTP stack and oha
# cost without Vexil); then a 10,000-flag reload under load.
#
#   bench/server/run.sh                 # everything (first run builds the tools)
#   BENCH_DURATION=20 bench/server/run.sh
#   BENCH_SKIP=edge,floor,reload bench/server/run.sh
#   BENCH_SKIP=usage bench/server/run.sh   # without the usage bookkeeping comparison
#   BENCH_SKIP=serving,edge,floor,reload bench/server/run.sh   # only that comparison (~3 min):
#       three `vexil serve` with one config file each (rollups on, an identical
#       twin, rollups off) and the first asked not to record exposures, in
#       BENCH_USAGE_ROUNDS (4) rounds of alternating order, BENCH_USAGE_DURATION
#       (4) s a run, at saturation then at a fixed half rate (bench/server/usage_cost.py)
#   BENCH_PIN=0:1 bench/server/run.sh   # servers on CPU 0, oha on CPU 1 (taskset)
#   BENCH_UNITS=150000 (default): the many-users run (BENCH_SKIP=units leaves it out):
#       an experiment's flag for users picked at random, exposures recorded and stored
#   BENCH_TAIL_ROUNDS=5 (default), BENCH_TAIL_DURATION=5: with the floor, Vexil and
#       the floor alternate at Vexil's half rates, and the summary gives the medians
#       of their p99s, Vexil's own time from its request-duration histogram, and the
#       hypervisor's steal time (/proc/stat) around the runs
#
# The tools are benchmark tools, never dependencies of the product: they are
# installed with `cargo install --locked` under $VEXIL_BENCH_TOOLS (default
# ~/.cache/vexil-bench), once per version, niced. Not part of scripts/test.sh.
# Results: target/bench-server/ (summary.md, results.json, oha's JSON, logs).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
TOOLS=${VEXIL_BENCH_TOOLS:-$HOME/.cache/vexil-bench}
OHA_VERSION=${OHA_VERSION:-1.16.0}
EDGE_VERSION=${EDGE_VERSION:-20.1.0}
OUT=${BENCH_OUT:-$ROOT/target/bench-server}
SKIP=${BENCH_SKIP:-}

# install <crate> <version> <binary> [cargo install flags]: idempotent, one
# root per version; the build directory is kept, so an interrupted build
# resumes.
install() {
    local crate=$1 version=$2 binary=$3
    shift 3
    local root="$TOOLS/$crate-$version"
    if [ ! -x "$root/bin/$binary" ]; then
        echo "[bench] installing $crate $version into $root (once; slow)" >&2
        CARGO_TARGET_DIR="$TOOLS/target-$crate" nice -n 19 \
            cargo install "$crate" --version "=$version" --locked --root "$root" "$@" >&2
    fi
    echo "$root/bin/$binary"
}

# Plain HTTP on loopback, but oha needs one TLS backend to compile: the
# system's OpenSSL when there is one (quick), else its default (rustls on
# aws-lc, a long C build).
if pkg-config --exists openssl 2>/dev/null; then
    OHA=$(install oha "$OHA_VERSION" oha --no-default-features --features native-tls)
else
    OHA=$(install oha "$OHA_VERSION" oha)
fi
EDGE=""
if [[ ",$SKIP," != *",edge,"* ]]; then
    # Without its default feature, S3 backup persistence (the AWS SDK, most
    # of its build time), which offline mode never uses.
    EDGE=$(install unleash-edge "$EDGE_VERSION" unleash-edge --no-default-features)
fi

echo "[bench] building vexil and the floor server (release)" >&2
(cd "$ROOT" && nice -n 10 cargo build --release -p vexil-cli -p vexil-bench-floor >&2)
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
VEXIL="$TARGET/release/vexil"
FLOOR="$TARGET/release/vexil-bench-floor"

mkdir -p "$OUT"
{
    echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "commit: $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)"
    echo "rustc: $(rustc --version)"
    echo "oha: $("$OHA" --version)"
    [ -n "$EDGE" ] && echo "unleash-edge: $EDGE_VERSION"
    echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
    lscpu | grep -E '^(Model name|CPU\(s\)|Thread|Core|Socket|CPU max MHz)' || true
} > "$OUT/machine.txt"
cat "$OUT/machine.txt" >&2

exec python3 "$ROOT/bench/server/bench.py" \
    --root "$ROOT" --vexil "$VEXIL" --oha "$OHA" ${EDGE:+--edge "$EDGE"} --floor "$FLOOR" --out "$OUT" \
    --duration "${BENCH_DURATION:-10}" --connections "${BENCH_CONNECTIONS:-64}" \
    --reload-duration "${BENCH_RELOAD_DURATION:-30}" --skip "$SKIP" --pin "${BENCH_PIN:-}" \
    --units "${BENCH_UNITS:-150000}" --tail-rounds "${BENCH_TAIL_ROUNDS:-5}" --tail-duration "${BENCH_TAIL_DURATION:-5}" \
    --usage-rounds "${BENCH_USAGE_ROUNDS:-4}" --usage-duration "${BENCH_USAGE_DURATION:-4}"
