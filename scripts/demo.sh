#!/usr/bin/env bash
# Vexil's main job on the bundled examples: check the shop's flags against
# their schemas, run the tests written beside them, evaluate a flag, and show
# what the checker says about the deliberately broken copy.
set -uo pipefail
cd "$(dirname "$0")/.."
cargo build -q -p vexil-cli || exit 1
vexil=target/debug/vexil

step() { printf '\n\033[1m== %s\033[0m\n$ %s\n' "$1" "$2"; }

step "Check the shop's flags" "vexil check examples/shop"
$vexil check examples/shop || exit 1

step "Run the tests written beside them" "vexil test examples/shop"
$vexil test examples/shop || exit 1

step "Evaluate one flag for one shopper" "vexil eval examples/shop search-ranking --context - --now 2026-12-05T10:00:00Z"
echo '{"user": {"id": "u-1001", "tier": "platinum", "roles": []}, "env": {"name": "production"}}' |
  $vexil eval examples/shop search-ranking --context - --now 2026-12-05T10:00:00Z || exit 1

step "Build the bundle a service loads" "vexil build examples/shop -o target/shop.bundle.json"
$vexil build examples/shop -o target/shop.bundle.json || exit 1

step "What the checker says about a copy with deliberate mistakes (this one fails, on purpose)" "vexil check examples/shop-broken"
$vexil check examples/shop-broken
[ $? -eq 1 ] || { echo "expected the broken copy to fail with exit code 1"; exit 1; }
echo
echo "All done: the shop checks clean, its tests pass, and every mistake in the broken copy is reported."
