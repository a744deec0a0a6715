#!/usr/bin/env bash
# Create .venv with hardneg and its dependencies. `setup.sh test` adds the test tools.
# Safe to rerun: an existing .venv is reused and only what is missing gets installed.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3.11}
command -v "$PYTHON" >/dev/null || PYTHON=python3
"$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { echo "hardneg needs Python >= 3.11" >&2; exit 1; }
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv

pip_quiet() {  # pip's exit status is kept; only its notes about absent local mirrors are hidden
    .venv/bin/python -m pip -q "$@" 2> >(grep -v '^WARNING: Location' >&2)
}

pip_quiet install --upgrade pip
# torch goes first, on its own, so that no other package pulls another build: with torch present the
# other requirements are satisfied by it. TORCH_SPEC chooses the version, TORCH_INDEX_URL the index it
# comes from: PyPI's Linux torch is the multi-GB CUDA build, https://download.pytorch.org/whl/cpu has
# the CPU one (README.md, "Install").
torch_index=()
[ -n "${TORCH_INDEX_URL:-}" ] && torch_index=(--index-url "$TORCH_INDEX_URL")
.venv/bin/python -c 'import torch' 2>/dev/null || pip_quiet install "${TORCH_SPEC:-torch==2.13.0}" ${torch_index[@]+"${torch_index[@]}"}
# The demo needs the offline default model and the report's plots; `test` adds pytest, ruff and Ray.
extra="[default-model,plots]"
[ "${1:-}" = "test" ] && extra="[default-model,plots,test]"
pip_quiet install -e ".${extra}"
.venv/bin/python -c 'import hardneg, torch; print(f"hardneg {hardneg.__version__} ready (torch {torch.__version__})")'
