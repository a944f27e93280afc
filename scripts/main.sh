#!/usr/bin/env bash
# The main job on the embedded default: set up .venv, start the local search node and install the
# package into it. Later stages run the collector (against Cloudflare when credentials are given,
# otherwise against the bundled mock API).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
.venv/bin/intpkg stack up
.venv/bin/intpkg stack status
