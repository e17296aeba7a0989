#!/usr/bin/env bash
# Installs and builds the JavaScript half: the `@vexil/react` package
# (sdk/js, built with tsc) and the example storefront (examples/web, bundled
# with esbuild), each with `npm ci` from its committed package-lock.json,
# and installs the Next.js and React Router examples (examples/next,
# examples/react-router) and @vexil/node (node/).
# Idempotent: an install is redone only when its pins change (a stamp in
# node_modules); the builds always run (a few seconds). Any failure stops
# the script with a non-zero exit. No browser is downloaded here
# (puppeteer-core never downloads one; scripts/install-chromium.sh installs
# Debian's).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
command -v node >/dev/null && command -v npm >/dev/null || {
  echo "install-web: node and npm are required" >&2
  exit 1
}
command -v flock >/dev/null || { echo "install-web: flock is required" >&2; exit 1; }
mkdir -p "$root/target"
exec 9>"$root/target/.install-web.lock"
flock 9
export PUPPETEER_SKIP_DOWNLOAD=1 PUPPETEER_SKIP_CHROME_DOWNLOAD=1
install() {
  local dir="$1" stamp
  stamp="$( { node --version; cat "$dir/package.json" "$dir/package-lock.json"; } | sha256sum | cut -d' ' -f1)"
  if [ "$(cat "$dir/node_modules/.vexil-stamp" 2>/dev/null)" != "$stamp" ]; then
    echo "install-web: npm ci in $dir" >&2
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error) >&2
    echo "$stamp" >"$dir/node_modules/.vexil-stamp"
  fi
}
install "$root/sdk/js"
(cd "$root/sdk/js" && npm run --silent build) >&2
install "$root/examples/web"
(cd "$root/examples/web" && npm run --silent build) >&2
# Built by scripts/test-web.sh, once `vexil` is (its build runs `vexil codegen`).
install "$root/examples/next"
install "$root/examples/react-router"
# The in-process addon's package (its dev dependency: OpenFeature's server SDK).
install "$root/node"
