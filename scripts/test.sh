#!/usr/bin/env bash
# Every test of the project, as CI runs them (`.ci/run` calls this script).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TERM_COLOR=never
# A CI run is one cold build: incremental state would only add gigabytes
# to target/ (set CARGO_INCREMENTAL=1 to keep it on a developer machine).
export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"
# One PostgreSQL cluster for every test that needs one (the override
# store's); installed if missing, stopped when this script ends.
pg_dir=$(mktemp -d -u "${TMPDIR:-/tmp}/vexil-test-pg.XXXXXX")
VEXIL_TEST_POSTGRES_URL=$(scripts/postgres.sh start "$pg_dir")
export VEXIL_TEST_POSTGRES_URL
trap 'scripts/postgres.sh stop "$pg_dir"' EXIT
# The official OpenFeature clients (Python and Node, pinned) that the
# end-to-end tests in cli/tests/clients.rs drive; fast when installed.
./scripts/install-clients.sh
# The whole workspace: unit, integration, property, snapshot and process tests.
cargo test --workspace --locked --no-fail-fast
# The React SDK and the example storefront: the generated hooks under
# `tsc --strict`, and the storefront in Debian's chromium against the real
# server (installs chromium and the npm packages when missing).
./scripts/test-web.sh
# The runtime's own configurations (the workspace run above unifies its
# features with its users', which turns `source` on):
# - the default, bundles only, as a service embeds it: the JIT, no compiler
#   (the same evaluation code as above, whose differential test ran 10,000
#   cases: a thousand here);
PROPTEST_CASES=1000 cargo test --locked -p vexil-runtime
# - the interpreter alone (for targets without a JIT), loading sources;
cargo test --locked -p vexil-runtime --no-default-features --features source
# - the leanest: the interpreter on bundles, nothing else.
cargo build --locked -p vexil-runtime --no-default-features
# An embedded follower alone, as a service depends on it: vexil-control
# without its stores (the workspace unifies them in).
cargo build --locked -p vexil-follow
# The API documentation builds without a broken link or warning.
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --locked
# The editor extension builds and its grammar tests pass, when it exists.
if [ -x editors/vscode/build.sh ]; then
  editors/vscode/build.sh
fi
