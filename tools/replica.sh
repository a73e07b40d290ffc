#!/usr/bin/env bash
# Builds (once) a virtualenv that replicates what a platform preinstalls, and prints its folder.
#
#   bash tools/replica.sh colab    # Python 3.13, as Colab's default runtime since 2026-08-25
#   bash tools/replica.sh kaggle   # Python 3.12, as Kaggle's image
#
# The versions are those of each platform's published image (googlecolab/backend-info pip-freeze.txt;
# Kaggle/docker-python), checked 2026-11. The replica holds only what the platform preinstalls and never
# attnviz: tests/test_replicas.py uploads demo-atencion.ipynb alone into it and runs all cells.
#
# torch on Python 3.12/3.13 comes from PyPI as the CUDA build (3-4 GB with its dependencies), so each
# replica is cached outside the repository, keyed by its Python and its pins: it is built once per
# machine, and a change of any pin builds a new one. Set ATTNVIZ_REPLICA_CACHE to move the cache.
set -euo pipefail

platform="${1:?uso: bash tools/replica.sh colab|kaggle}"
case "$platform" in
  colab)
    python_version=3.13.0
    # Colab's front end only renders ipywidgets 7; Colab keeps IPython 7.34 and ipykernel 6.17.1.
    pins=(torch==2.11.0 transformers==5.15.0 ipywidgets==7.7.1 matplotlib==3.10.0 numpy==2.1.3
          ipykernel==6.17.1 ipython==7.34.0 spacy==3.8.7 tqdm)
    ;;
  kaggle)
    python_version=3.12.1
    pins=(torch==2.11.0 transformers==5.0.0 ipywidgets==8.1.5 matplotlib==3.10.0 numpy==2.0.2
          ipykernel==6.29.5 spacy==3.8.7 tqdm)
    ;;
  *)
    echo "plataforma desconocida: $platform (colab o kaggle)" >&2
    exit 2
    ;;
esac

python="$(pyenv root 2>/dev/null)/versions/$python_version/bin/python"
[ -x "$python" ] || python="$(command -v "python${python_version%.*}" || true)"
if [ -z "$python" ] || [ ! -x "$python" ]; then
  echo "replica $platform: no hay Python $python_version (pyenv install $python_version)" >&2
  exit 1
fi

cache="${ATTNVIZ_REPLICA_CACHE:-$HOME/.cache/attnviz/replicas}"
key=$(printf '%s\n' "$python_version" "${pins[@]}" | cksum | cut -d' ' -f1)
venv="$cache/$platform-$key"

if [ ! -f "$venv/.complete" ]; then
  mkdir -p "$cache"
  building="$venv.building.$$"
  rm -rf "$building"
  echo "replica $platform: creando $venv (Python $python_version, ${pins[*]})" >&2
  "$python" -m venv "$building"
  export PIP_DISABLE_PIP_VERSION_CHECK=1
  "$building/bin/python" -m pip install --quiet "${pins[@]}" >&2
  # The venv is moved into place only when complete, so an interrupted build is never reused.
  # (Scripts carry the building path in their shebang; the replica is always run as .../bin/python.)
  "$building/bin/python" -m pip freeze --all > "$building/preinstalled.txt"
  touch "$building/.complete"
  rm -rf "$venv"
  mv "$building" "$venv"
fi
echo "$venv"
