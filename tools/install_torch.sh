#!/usr/bin/env bash
# Installs torch==2.13.0 into the given Python, without ever pulling PyPI's multi-GB CUDA build on a
# machine that has no NVIDIA GPU.
#
#   bash tools/install_torch.sh .venv/bin/python               # install
#   bash tools/install_torch.sh .venv/bin/python --dry-run --report out.json   # what it would install
#
# 1. A torch wheel already on this machine's disk (pip's find-links, as on the course machines) is
#    used as is, with its small dependencies from PyPI.
# 2. Otherwise, without an NVIDIA GPU (no nvidia-smi): PyTorch's CPU wheel index.
# 3. With an NVIDIA GPU: PyPI's default (CUDA) build, which that machine can use.
set -euo pipefail
python="${1:?uso: bash tools/install_torch.sh PYTHON [opciones de pip]}"
shift
torch="torch==2.13.0"
pip=("$python" -m pip install --quiet "$@")

if "$python" -m pip download --quiet --no-index --no-deps -d "$(mktemp -d)" "$torch" >/dev/null 2>&1; then
  # The local wheel is "2.13.0+cpu", which pip ranks above PyPI's plain 2.13.0.
  exec "${pip[@]}" "$torch"
elif command -v nvidia-smi >/dev/null 2>&1; then
  exec "${pip[@]}" "$torch"
else
  exec "${pip[@]}" "$torch" --index-url https://download.pytorch.org/whl/cpu \
    --extra-index-url https://pypi.org/simple
fi
