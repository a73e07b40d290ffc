#!/usr/bin/env bash
# Installs torch==2.13.0 into the given Python, without ever pulling PyPI's multi-GB CUDA build on a
# machine that has no NVIDIA GPU unless the user asked for it.
#
#   bash tools/install_torch.sh .venv/bin/python               # install
#   bash tools/install_torch.sh .venv/bin/python --dry-run --report out.json   # what it would install
#
# 1. A torch wheel already on this machine's disk (pip's find-links, as on the course machines) is
#    used as is, with its small dependencies from PyPI.
# 2. Otherwise, without an NVIDIA GPU (no nvidia-smi): PyTorch's CPU wheel index, after one quick
#    probe of it (one request, 5-second timeout, no retries).  Left to itself, pip retried a dead
#    index ~145 times (4 minutes) and then quietly installed PyPI's CUDA build.
#    If the probe fails: on Linux, where PyPI's torch is the CUDA build (~3 GB with 24 NVIDIA
#    packages), nothing is installed and one Spanish line says how to retry or opt in; elsewhere
#    (macOS, Windows) PyPI's torch is the CPU build, so it is installed after saying so.
# 3. With an NVIDIA GPU: PyPI's default (CUDA) build, which that machine can use.
#
# Environment variables:
#   ATTNVIZ_TORCH_INDEX=URL  the CPU wheel index (default https://download.pytorch.org/whl/cpu):
#                            a mirror, or, in the tests, an address that does not answer.
#   ATTNVIZ_TORCH_NO_LOCAL=1 ignore a torch wheel on disk, to try the network path on a machine
#                            that has one.
#   ATTNVIZ_TORCH_CUDA=1     when the CPU index cannot be reached on Linux, install PyPI's CUDA
#                            build anyway.
set -euo pipefail
python="${1:?uso: bash tools/install_torch.sh PYTHON [opciones de pip]}"
shift
torch="torch==2.13.0"
index="${ATTNVIZ_TORCH_INDEX:-https://download.pytorch.org/whl/cpu}"
index="${index%/}"
pip=("$python" -m pip install --quiet "$@")

# One GET of the index's torch page through the target Python (always there, unlike curl), with a
# hard 8-second cap in a thread because urllib's timeout does not cover a slow DNS lookup.
probe='
import sys, threading, urllib.request
answers = []
def get():
    with urllib.request.urlopen(sys.argv[1], timeout=5) as answer:
        answers.append(answer.status)
worker = threading.Thread(target=get, daemon=True)
worker.start()
worker.join(8)
sys.exit(0 if answers else 1)
'

if [ "${ATTNVIZ_TORCH_NO_LOCAL:-}" != 1 ] &&
  "$python" -m pip download --quiet --no-index --no-deps -d "$(mktemp -d)" "$torch" >/dev/null 2>&1; then
  # The local wheel is "2.13.0+cpu", which pip ranks above PyPI's plain 2.13.0.
  exec "${pip[@]}" "$torch"
elif command -v nvidia-smi >/dev/null 2>&1; then
  exec "${pip[@]}" "$torch"
elif "$python" -c "$probe" "$index/torch/" >/dev/null 2>&1; then
  exec "${pip[@]}" "$torch" --index-url "$index" --extra-index-url https://pypi.org/simple
elif [ "$(uname -s)" != Linux ]; then
  echo "No se puede conectar con el índice de PyTorch para CPU ($index): se instala $torch de PyPI, que en este sistema ya es la versión para CPU." >&2
  exec "${pip[@]}" "$torch"
elif [ "${ATTNVIZ_TORCH_CUDA:-}" = 1 ]; then
  echo "No se puede conectar con el índice de PyTorch para CPU ($index): se instala $torch de PyPI con CUDA (varios GB) porque lo pediste con ATTNVIZ_TORCH_CUDA=1." >&2
  exec "${pip[@]}" "$torch"
else
  # Why stop instead of falling back: on a student's laptop PyPI's Linux torch means ~3 GB of CUDA
  # libraries that a machine without an NVIDIA GPU never uses (time, disk, metered data), and the
  # CPU index is often only briefly down.  Stopping costs seconds; the line says how to go on.
  echo "No se puede conectar con el índice de PyTorch para CPU ($index) y PyPI solo tiene aquí la versión con CUDA (varios GB, innecesaria sin GPU NVIDIA), así que no se instala nada: vuelve a intentarlo con internet, o instala esa versión igualmente con ATTNVIZ_TORCH_CUDA=1 bash tools/install_torch.sh $python" >&2
  exit 1
fi
