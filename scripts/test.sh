#!/usr/bin/env bash
# Every test: set up .venv, then run pytest. The tests start (and stop) their own local search node
# on INTPKG_TEST_PORT (default 9250, or any free port when 9250 is taken), or use the cluster named by
# INTPKG_ES_URL.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
exec .venv/bin/python -m pytest "$@"
