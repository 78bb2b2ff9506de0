#!/usr/bin/env bash
# One entry point for a fresh machine (idempotent; fast when everything is installed):
#   bash setup.sh run    install, start the devnet and the Streamlit page
#   bash setup.sh test   install (incl. chromium for e2e), run the whole test suite
set -euo pipefail
cd "$(dirname "$0")"
ROOT=$(pwd)
export CHATDAPP_HOME="${CHATDAPP_HOME:-$HOME/.chatdapp}"
VENV="$ROOT/.venv"
PY="$VENV/bin/python"
# Portable llama.cpp build: a native build crashes on hosts with Intel AMX (see README).
export CMAKE_ARGS="-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON"
export FORCE_CMAKE=1

say() { printf '\033[1;34m==>\033[0m %s\n' "$*"; }

install_python() {
  local stamp="$VENV/.chatdapp-installed-$(sha256sum pyproject.toml | cut -c1-16)"
  [ -f "$stamp" ] && return 0
  say "Python environment (.venv; first run builds llama.cpp, ~5-7 min on 2 cores)"
  [ -x "$PY" ] || python3 -m venv "$VENV"
  "$PY" -m pip install -q --upgrade pip
  # torch first and pinned: an unpinned torch pulled by sentence-transformers would be a CUDA build.
  "$PY" -m pip install -q torch==2.13.0
  "$PY" -m pip install -q -e ".[dev,model]"
  rm -f "$VENV"/.chatdapp-installed-*
  touch "$stamp"
}

install_node() {
  local stamp="node_modules/.chatdapp-installed-$(sha256sum package-lock.json | cut -c1-16)"
  [ -f "$stamp" ] && return 0
  say "npm packages (anvil, solc-js, Uniswap V2 and OpenZeppelin artifacts)"
  npm ci --no-audit --no-fund --loglevel=error
  touch "$stamp"
}

install_chromium() {
  if command -v chromium >/dev/null 2>&1; then return 0; fi
  say "Debian chromium for the browser tests"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq chromium chromium-driver >/dev/null
}

install_model() {
  "$VENV/bin/chatdapp" model install
}

case "${1:-}" in
  run)
    install_node
    install_python
    install_model
    "$VENV/bin/chatdapp" devnet up --detach
    say "Opening the page at http://localhost:${CHATDAPP_PORT:-8501}"
    exec "$VENV/bin/streamlit" run streamlit_app.py --server.headless true --server.port "${CHATDAPP_PORT:-8501}"
    ;;
  test)
    install_node
    install_python
    install_chromium
    install_model
    shift
    # Each test tier starts the anvil it needs (tests/conftest.py); all tiers run here.
    exec "$PY" -m pytest -p no:cacheprovider "$@"
    ;;
  install)
    install_node
    install_python
    install_model
    ;;
  *)
    echo "usage: bash setup.sh run|test [pytest args]|install" >&2
    exit 2
    ;;
esac
