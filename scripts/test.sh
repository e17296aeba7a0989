#!/usr/bin/env bash
# Every test of the project, as CI runs them (`.ci/run` calls this script).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TERM_COLOR=never
# The whole workspace: unit, integration, property, snapshot and process tests.
cargo test --workspace --locked --no-fail-fast
# The interpreter-only build (for targets without a JIT) passes too.
cargo test --locked -p vexil-runtime --no-default-features --features source
# The API documentation builds without a broken link or warning.
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --locked
# The editor extension builds and its grammar tests pass, when it exists.
if [ -x editors/vscode/build.sh ]; then
  editors/vscode/build.sh
fi
