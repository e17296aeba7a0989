#!/usr/bin/env bash
# Coverage-guided fuzzing of a `.flag` file's whole path (fuzz/: parse,
# check, diagnostics, lowering, interpreter against JIT, `test` blocks, the
# formatter) with cargo-fuzz and libFuzzer, for SECONDS (default 600).
# Installs cargo-fuzz if missing. The seed corpus is every `.flag` file of
# the repository, and each example project as one file; libFuzzer's finds
# go to target/fuzz/corpus, a crash to target/fuzz/artifacts (rerun it with
# `scripts/fuzz.sh <that file>`). A developer's tool, not part of
# scripts/test.sh: libFuzzer needs the compiler's unstable sanitizer flags,
# allowed here on the stable toolchain with RUSTC_BOOTSTRAP=1, for this
# build only.
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"
command -v cargo-fuzz >/dev/null 2>&1 || cargo install --locked cargo-fuzz@0.13.2
corpus="$root/target/fuzz/corpus/flag_file"
artifacts="$root/target/fuzz/artifacts/flag_file/"
mkdir -p "$corpus" "$artifacts"
seeds="$root/target/fuzz/seeds"
rm -rf "$seeds" && mkdir -p "$seeds"
i=0
while IFS= read -r -d '' file; do
  i=$((i + 1))
  cp "$file" "$seeds/file-$i.flag"
done < <(find . -name '*.flag' -not -path './target/*' -not -path '*/node_modules/*' -print0)
for project in examples/shop examples/shop-broken bench/workload; do
  cat "$project"/*.flag >"$seeds/project-$(basename "$project").flag"
done
export RUSTC_BOOTSTRAP=1
cd fuzz
if [ $# -gt 0 ]; then
  exec cargo fuzz run --target-dir "$root/target/fuzz/build" flag_file "$@"
fi
exec cargo fuzz run --target-dir "$root/target/fuzz/build" flag_file "$corpus" "$seeds" -- \
  -max_total_time="${SECONDS_TO_RUN:-600}" -max_len=65536 -timeout=10 -rss_limit_mb=4096 \
  -artifact_prefix="$artifacts" -print_final_stats=1
