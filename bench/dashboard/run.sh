#!/usr/bin/env bash
# The dashboard's page times (BENCHMARKS.md, "Dashboard pages"): generates
# 10,000 flags in 100 files (bench/lifecycle/generate.py's `flags` input,
# its old/ side) once under target/bench-dashboard/, then runs the
# dashboard_pages example (release build) over them: a week of hourly
# usage rollups seeded for every flag, each page timed. On SQLite, then on
# a throwaway PostgreSQL (scripts/postgres.sh) unless PG=0.
set -euo pipefail
cd "$(dirname "$0")/../.."
out=target/bench-dashboard
[ -d "$out/flags/old" ] || python3 bench/lifecycle/generate.py flags "$out/flags"
# BIN: another build of the example (say, main's, to compare).
bin=${BIN:-target/release/examples/dashboard_pages}
[ -n "${BIN:-}" ] || cargo build --release -q -p vexil-server --example dashboard_pages
echo "SQLite:"
"$bin" "$out/flags/old" "${ROUNDS:-20}"
if [ "${PG:-1}" != 0 ]; then
  pg_dir=$(mktemp -d -u "${TMPDIR:-/tmp}/vexil-bench-pg.XXXXXX")
  url=$(scripts/postgres.sh start "$pg_dir")
  trap 'scripts/postgres.sh stop "$pg_dir"' EXIT
  echo "PostgreSQL:"
  STORE="$url" "$bin" "$out/flags/old" "${ROUNDS:-20}"
fi
