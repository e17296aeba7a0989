#!/usr/bin/env bash
# The React storefront (examples/web) over the shop's flags: starts
# `vexil serve examples/shop` (a client key for the page, an admin key for
# overrides, CORS for the page's origin) and the server-rendering Node app,
# prints the app's URL alone on a line, and stays in the foreground until
# interrupted, then stops both. Try ?user=u-5008 for the other checkout
# layout, and `vexil override set new-checkout --off --reason demo
# --server VEXIL_URL` (with VEXIL_KEY=demo-admin-secret) to watch the page
# change without a reload.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build -q -p vexil-cli
./scripts/install-web.sh
work=target/demo-web
mkdir -p "$work"
vexil=target/debug/vexil
# A free port for the app, so that the flag server can allow its origin.
app_port=$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
app_url="http://127.0.0.1:$app_port"
# The dashboard searches the storefront's code for the flags it reads.
printf '[cors]\norigins = ["%s"]\n\n[dashboard]\ncode = ["../../examples/web/src"]\n' "$app_url" >"$work/vexil.toml"
export VEXIL_KEYS="client:storefront:demo-client-secret,admin:demo:demo-admin-secret"
log="$work/serve.log"
$vexil serve examples/shop --config "$work/vexil.toml" --listen 127.0.0.1:0 --data-dir "$work/data" >"$log" 2>&1 &
serve=$!
app=""
stop() {
  [ -n "$app" ] && kill "$app" 2>/dev/null
  kill "$serve" 2>/dev/null
  wait 2>/dev/null
}
trap stop EXIT
trap 'exit 130' INT TERM
flags=""
for _ in $(seq 1 100); do
  flags=$(sed -n 's|.*serving OFREP at \(http://[0-9.:]*\)/ofrep/v1.*|\1|p' "$log" | head -n 1)
  [ -n "$flags" ] && break
  kill -0 "$serve" 2>/dev/null || break
  sleep 0.1
done
[ -n "$flags" ] || { cat "$log" >&2; echo "demo-web: vexil serve did not start" >&2; exit 1; }
echo "flag server: $flags (VEXIL_KEY=demo-admin-secret for overrides; log in $log)" >&2
VEXIL_URL="$flags" VEXIL_CLIENT_KEY=demo-client-secret PORT="$app_port" \
  node examples/web/dist/server.js &
app=$!
wait "$app"
