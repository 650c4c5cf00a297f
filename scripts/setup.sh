#!/usr/bin/env bash
# Sets up .venv with the right PyTorch build and the project's dependencies.
#   bash scripts/setup.sh          runtime dependencies
#   bash scripts/setup.sh --test   plus test dependencies
# Idempotent: a second run with nothing changed takes a second.
set -euo pipefail
cd "$(dirname "$0")/.."
want_test=0
[ "${1:-}" = "--test" ] && want_test=1

PYTHON=${PYTHON:-python3}
VENV=${VENV:-.venv}
stamp="$VENV/.setup-$(cat pyproject.toml scripts/setup.sh | sha256sum | cut -c1-16)-$want_test"
if [ -f "$stamp" ]; then exit 0; fi

if [ ! -x "$VENV/bin/python" ]; then
  "$PYTHON" -m venv "$VENV"
fi
pip=("$VENV/bin/python" -m pip --disable-pip-version-check -q)

# PyTorch: an unpinned torch pulls the newest CUDA build (gigabytes). Without an NVIDIA
# GPU take the CPU build 2.13.0 (on this project's machines it is a local wheel); with one,
# the default (CUDA) build. LATENTGRAPH_TORCH overrides, e.g. "torch==2.13.0+cu130".
if ! "$VENV/bin/python" -c "import torch" 2>/dev/null; then
  if [ -n "${LATENTGRAPH_TORCH:-}" ]; then
    torch_spec="$LATENTGRAPH_TORCH"
  elif command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; then
    torch_spec="torch"
  else
    torch_spec="torch==2.13.0"
  fi
  echo "setup: installing $torch_spec"
  "${pip[@]}" install "$torch_spec"
fi

if [ "$want_test" = 1 ]; then
  "${pip[@]}" install -e ".[test]"
else
  "${pip[@]}" install -e .
fi
# spandrel (upscale models) without its dependencies: it asks for torch and torchvision, and
# PyPI's torchvision is a CUDA build that pulls CUDA torch and fails beside the CPU one. No
# upscaling architecture needs torchvision (diffusion/models/upscale/loading.py); its other
# needs (numpy, safetensors, einops, typing_extensions) are ours already.
"${pip[@]}" install --no-deps "spandrel==0.4.1"
rm -f "$VENV"/.setup-*
touch "$stamp"
