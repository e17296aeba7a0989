#!/usr/bin/env bash
# The JavaScript half's tests (called by scripts/test.sh): installs Debian's
# chromium and the npm packages if missing, builds `vexil`, then runs
# sdk/js's tests (the server half: serialisation, an unreachable server) and
# examples/web's: the generated hooks under `tsc --strict`
# (test/typecheck.test.mjs), the storefront in the browser against the
# real `vexil serve` (test/browser.test.mjs) and `vexil serve`'s admin
# dashboard in the browser (test/dashboard.test.mjs). Screenshots go to
# target/web-test/. Nothing is skipped: a missing tool is installed or the
# script fails.
set -euo pipefail
cd "$(dirname "$0")/.."
CHROMIUM="$(./scripts/install-chromium.sh)"
export CHROMIUM
./scripts/install-web.sh
cargo build --locked -q -p vexil-cli
export VEXIL_BIN="$PWD/target/debug/vexil"
(cd sdk/js && node --test test/)
cd examples/web
node --test --test-concurrency=1 test/
