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

step "Serve them to OpenFeature clients (OFREP) and ask for one flag over HTTP" "vexil serve examples/shop --listen 127.0.0.1:0 & curl -d CONTEXT \$ADDR/ofrep/v1/evaluate/flags/search-ranking"
log=target/demo-serve.log
$vexil serve examples/shop --listen 127.0.0.1:0 --data-dir target/demo-serve >"$log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null' EXIT
addr=""
for _ in $(seq 1 100); do
  addr=$(sed -n 's|.*serving OFREP at \(http://[0-9.:]*\)/ofrep/v1.*|\1|p' "$log" | head -n 1)
  [ -n "$addr" ] && break
  kill -0 $server 2>/dev/null || break
  sleep 0.1
done
[ -n "$addr" ] || { cat "$log"; echo "vexil serve did not start"; exit 1; }
curl -sS --fail-with-body "$addr/ofrep/v1/evaluate/flags/search-ranking" -H 'content-type: application/json' \
  -d '{"context": {"targetingKey": "u-1001", "tier": "platinum", "roles": [], "env": {"name": "production"}}}' || exit 1
echo
kill $server; wait $server 2>/dev/null
trap - EXIT

step "What the checker says about a copy with deliberate mistakes (this one fails, on purpose)" "vexil check examples/shop-broken"
$vexil check examples/shop-broken
[ $? -eq 1 ] || { echo "expected the broken copy to fail with exit code 1"; exit 1; }
echo
echo "All done: the shop checks clean, its tests pass, and every mistake in the broken copy is reported."
