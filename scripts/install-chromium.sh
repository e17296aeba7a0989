#!/usr/bin/env bash
# Installs Debian's `chromium` for the browser tests (examples/web/test),
# which drive it with puppeteer-core: no browser is downloaded from
# anywhere else. Idempotent: nothing happens when it is installed. Prints
# the browser's path; fails loudly when it cannot be installed.
set -euo pipefail
find_chromium() { command -v chromium || command -v chromium-browser || true; }
path="$(find_chromium)"
if [ -z "$path" ]; then
  echo "install-chromium: apt-get install chromium" >&2
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq chromium >&2
  path="$(find_chromium)"
fi
[ -n "$path" ] || { echo "install-chromium: chromium is not installed and could not be" >&2; exit 1; }
echo "$path"
