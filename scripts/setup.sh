#!/usr/bin/env bash
# Create .venv with intpkg and its pinned dependencies (idempotent; the venv is cached).
# Maven (OpenSearch from Maven Central), npm (the ECS reference and handlebars.js from the npm
# registry) and Chromium (the browser tests) are installed with apt-get when missing and this runs as
# root on Debian; otherwise intpkg names them when it needs them (browser tests are skipped).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
missing=()
command -v mvn >/dev/null 2>&1 || missing+=(maven)
command -v npm >/dev/null 2>&1 || missing+=(npm)
[ -x /usr/bin/chromium ] || command -v chromium >/dev/null 2>&1 || missing+=(chromium)
if [ ${#missing[@]} -gt 0 ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "setup: installing ${missing[*]} with apt-get" >&2
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
stamp=.venv/.intpkg-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  .venv/bin/python -m pip install --quiet --upgrade pip
  # Dependencies the project dropped, removed from a .venv made before (-qq: names not installed are
  # skipped silently): js2py and the PyPI `handlebars` transpilation that ran on it (handlebars.js now
  # runs on V8 through mini-racer).
  .venv/bin/python -m pip uninstall -qq -y handlebars js2py-wheel pyjsparser-wheel js2py pyjsparser
  .venv/bin/python -m pip install --quiet -e '.[test]'
  touch "$stamp"
fi
