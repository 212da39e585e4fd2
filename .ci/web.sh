#!/usr/bin/env bash
# Web UI prerequisites for CI: Debian's chromium (for the browser end-to-end test), the locked npm
# dependencies, and a production build in web/dist (the build regenerates the typed API client from the
# server's OpenAPI schema, so run it after `uv sync`). Idempotent; safe to run on a warm machine.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -x /usr/bin/chromium ]; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium
fi
command -v node >/dev/null 2>&1 || { echo "node (>= 20) is required for the web UI" >&2; exit 1; }

cd web
npm ci --no-audit --no-fund
npm run build
