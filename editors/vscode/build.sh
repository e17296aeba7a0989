#!/bin/sh
# Builds the VS Code extension and checks its TextMate grammar:
# `editors/vscode/build.sh` from anywhere. Needs Node 18+ and npm.
set -eu
cd "$(dirname "$0")"
if [ -f package-lock.json ]; then npm ci --no-audit --no-fund; else npm install --no-audit --no-fund; fi
npm run compile
npm test
