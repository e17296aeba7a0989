#!/usr/bin/env bash
# Installs the official OpenFeature clients the end-to-end tests drive
# against `vexil serve` (and sqlglot, DuckDB and Spark SQL with a Java
# runtime, which check the metric query's SQL dialects, and Schemathesis,
# which fuzzes the OFREP endpoints), from the package registries, at pinned versions:
# - Python: openfeature-sdk + openfeature-provider-ofrep in a virtualenv,
#   from tests/clients/python/requirements.txt;
# - Node: @openfeature/server-sdk, web-sdk and their OFREP providers, with
#   `npm ci` from the committed tests/clients/node/package-lock.json.
# Idempotent and fast when nothing changed: each install leaves a stamp (a
# digest of its pins and of the interpreter's version) and is redone only
# when the stamp differs. Any failure stops the script with a non-zero exit:
# the tests never skip a client that is missing.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
venv="${VEXIL_CLIENTS_VENV:-$root/target/clients/venv}"
node_dir="$root/tests/clients/node"
requirements="$root/tests/clients/python/requirements.txt"

need() {
  command -v "$1" >/dev/null 2>&1 || {
    echo "install-clients: \`$1\` is required (the OpenFeature client tests need it) but is not installed" >&2
    exit 1
  }
}
need python3
need node
need npm
need flock
node -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 20 ? 0 : 1)' || {
  echo "install-clients: Node.js 20 or newer is required, found $(node --version)" >&2
  exit 1
}

# A Java runtime for Spark SQL (pyspark: the Databricks dialect's test).
if ! java -version >/dev/null 2>&1; then
  [ "$(id -u)" = 0 ] || {
    echo "install-clients: Java is not installed and this is not root: run \`apt-get install -y openjdk-17-jre-headless\` as root" >&2
    exit 1
  }
  echo "install-clients: installing Java (apt-get install openjdk-17-jre-headless)" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -qq --no-install-recommends openjdk-17-jre-headless >&2 \
    || { apt-get update -qq >&2 && apt-get install -y -qq --no-install-recommends openjdk-17-jre-headless >&2; } \
    || { echo "install-clients: apt-get could not install openjdk-17-jre-headless" >&2; exit 1; }
fi

mkdir -p "$(dirname "$venv")"
# Test processes may call this concurrently: one installs, the others wait.
exec 9>"$(dirname "$venv")/.install.lock"
flock 9

digest() { cat "$@" | sha256sum | cut -d' ' -f1; }

# Python
py_stamp="$( { python3 --version; digest "$requirements"; } | sha256sum | cut -d' ' -f1)"
if [ "$(cat "$venv/.vexil-stamp" 2>/dev/null)" != "$py_stamp" ]; then
  echo "install-clients: Python virtualenv $venv" >&2
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-input \
    --require-virtualenv -r "$requirements"
  # Fail now, not in a test, if the providers cannot be imported.
  "$venv/bin/python" -c 'import openfeature.api, openfeature.contrib.provider.ofrep, sqlglot, duckdb, pyspark, schemathesis, yaml'
  echo "$py_stamp" >"$venv/.vexil-stamp"
fi

# Node
node_stamp="$( { node --version; digest "$node_dir/package.json" "$node_dir/package-lock.json"; } | sha256sum | cut -d' ' -f1)"
if [ "$(cat "$node_dir/node_modules/.vexil-stamp" 2>/dev/null)" != "$node_stamp" ]; then
  echo "install-clients: npm ci in $node_dir" >&2
  (cd "$node_dir" && npm ci --no-audit --no-fund --loglevel=error) >&2
  (cd "$node_dir" && node -e 'for (const p of ["@openfeature/server-sdk", "@openfeature/ofrep-provider", "@openfeature/web-sdk", "@openfeature/ofrep-web-provider", "eventsource"]) import(p).catch((e) => { console.error(e); process.exit(1); })')
  echo "$node_stamp" >"$node_dir/node_modules/.vexil-stamp"
fi
