#!/usr/bin/env bash
# The lifecycle benchmarks of BENCHMARKS.md ("Flag lifecycle"): builds the
# release binary, generates the inputs (bench/lifecycle/generate.py) under
# DIR (default /tmp/vexil-lifecycle-bench, kept for the next run), and times
# each command: one warm-up run, then RUNS runs (default 5); prints the
# fastest and the median wall time of each.
set -euo pipefail
cd "$(dirname "$0")/../.."
out=${1:-/tmp/vexil-lifecycle-bench}
runs=${RUNS:-5}
cargo build --release --locked -p vexil-cli
vexil=$PWD/target/release/vexil
mkdir -p "$out"
[ -d "$out/tree" ] || python3 bench/lifecycle/generate.py tree "$out/tree"
[ -d "$out/flags" ] || python3 bench/lifecycle/generate.py flags "$out/flags"
[ -d "$out/history" ] || python3 bench/lifecycle/generate.py history "$out/history"

# NAME then the command; its output goes to /dev/null, its exit status is
# not a failure (refs and stale exit 1 when they find something).
bench() {
  local name=$1
  shift
  "$@" >/dev/null 2>&1 || true
  local times=()
  for _ in $(seq "$runs"); do
    local start end
    start=$(date +%s.%N)
    "$@" >/dev/null 2>&1 || true
    end=$(date +%s.%N)
    times+=("$(awk -v a="$start" -v b="$end" 'BEGIN { print b - a }')")
  done
  printf '%s\n' "${times[@]}" | sort -n | awk -v name="$name" '
    { t[NR] = $1 }
    END { printf "%-40s fastest %.3f s, median %.3f s (%d runs)\n", name, t[1], t[int((NR + 1) / 2)], NR }'
}

files=$(find "$out/tree/app" -type f -not -path '*/build/*' | wc -l)
echo "refs: $files files searched (plus a .gitignored build/)"
bench "refs (100,000 files, 500 flags)" "$vexil" refs --flags "$out/tree/flags" "$out/tree/app"
bench "refs --format json" "$vexil" refs --flags "$out/tree/flags" "$out/tree/app" --format json
bench "diff (10,000 flags each side)" "$vexil" diff "$out/flags/old" "$out/flags/new"
bench "diff --format json" "$vexil" diff "$out/flags/old" "$out/flags/new" --format json
echo "history: $(git -C "$out/history" rev-list --count HEAD) commits"
bench "inventory (200 flags, 1,000 commits)" "$vexil" inventory "$out/history"
bench "stale (200 flags, 1,000 commits)" "$vexil" stale "$out/history"
