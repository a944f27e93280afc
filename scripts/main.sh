#!/usr/bin/env bash
# The main job on the embedded default: set up .venv, start the local search node, install the
# package and collect Cloudflare audit logs into it (until Ctrl-C; pass --once for a single pass).
# With CLOUDFLARE_API_TOKEN (or CLOUDFLARE_EMAIL + CLOUDFLARE_API_KEY) and CLOUDFLARE_ACCOUNT_ID in the
# environment it reads the real Cloudflare API; otherwise the mock API bundled with the package.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
exec .venv/bin/intpkg up "$@"
