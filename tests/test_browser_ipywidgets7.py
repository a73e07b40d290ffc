"""The explorer on ipywidgets 7.7.1, Colab's version, in a real browser.

Colab's own front end cannot be reached from here; the closest one that can is Jupyter Notebook 6.5,
which renders ipywidgets 7 through widgetsnbextension 3.x as Colab's does. This runs in the oldest
corner's venv (``make compat``: ipywidgets 7.7.1, notebook 6.5.7), where the main run's Jupyter 4
servers are absent; the main run deselects it (marker ``ipywidgets7``).
"""

from __future__ import annotations

import contextlib
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from .test_browser import (
    EXPLORER_IMAGE,
    NOTEBOOK_RUN_SECONDS,
    PICTURE_CHANGE_SECONDS,
    SERVER_START_SECONDS,
    assert_picture_changed,
    chromium,
    copy_notebook,
    free_port,
    image_png,
    require_browser,
    server_env,
    stop,
    wait_for_port,
)

pytestmark = [pytest.mark.browser, pytest.mark.ipywidgets7, pytest.mark.slow]

# ipywidgets 7 draws sliders with jQuery UI: the handle of the slider labelled "Capa".
LAYER_SLIDER_7 = ".widget-hslider:has(.widget-label:text-matches('^\\\\s*Capa', 'i'))"
LAYER_HANDLE_7 = LAYER_SLIDER_7 + " .ui-slider-handle"
# The slider's own readout: widgetsnbextension bundles its own jQuery UI, out of the page's reach.
LAYER_READOUT_7 = LAYER_SLIDER_7 + " .widget-readout"

# Read through the classic notebook's own objects: which code cells ran, and their errors.
CLASSIC_STATE = """() => {
    const cells = Jupyter.notebook.get_cells().filter(c => c.cell_type === 'code');
    const errors = [];
    for (const cell of cells) {
        for (const out of cell.output_area.outputs) {
            if (out.output_type === 'error') errors.push(out.ename + ': ' + out.evalue);
        }
    }
    return {
        pending: cells.filter(c => c.input_prompt_number === null || c.input_prompt_number === '*'
                                   || c.input_prompt_number === undefined).length,
        errors: errors,
    };
}"""


@contextlib.contextmanager
def classic_notebook_server(workdir: Path, notebook: str, home: Path) -> Iterator[str]:
    """Jupyter Notebook 6.5 on 127.0.0.1, a free port, no token; stopped by PID."""
    import notebook as classic

    assert classic.__version__.startswith("6.5"), f"expected Notebook 6.5, found {classic.__version__}"
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "notebook",
        "--no-browser",
        f"--port={port}",
        "--NotebookApp.ip=127.0.0.1",
        "--NotebookApp.port_retries=0",
        "--NotebookApp.token=",
        "--NotebookApp.password=",
        "--NotebookApp.disable_check_xsrf=True",
        f"--NotebookApp.notebook_dir={workdir}",
        "--allow-root",
    ]
    log_path = home / "notebook6.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            command,
            cwd=workdir,
            env=server_env(home),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            wait_for_port(port, process, log_path)
            yield f"http://127.0.0.1:{port}/notebooks/{notebook}"
        finally:
            stop(process)


def run_all_classic(page) -> None:
    page.wait_for_function(
        "() => window.Jupyter?.notebook?.kernel?.is_connected?.() === true",
        timeout=SERVER_START_SECONDS * 1000,
    )
    page.evaluate("() => Jupyter.notebook.execute_all_cells()")
    deadline = time.monotonic() + NOTEBOOK_RUN_SECONDS
    state: dict = {}
    while time.monotonic() < deadline:
        state = page.evaluate(CLASSIC_STATE)
        assert state["errors"] == [], f"a cell failed in Notebook 6.5: {state['errors']}"
        if state["pending"] == 0:
            return
        time.sleep(0.5)
    raise AssertionError(f"the notebook did not finish in {NOTEBOOK_RUN_SECONDS} s: {state}")


def test_notebook6_with_ipywidgets_7_runs_the_lesson_and_the_slider_redraws(tmp_path: Path) -> None:
    import ipywidgets

    assert ipywidgets.__version__ == "7.7.1"
    require_browser()
    name = copy_notebook(tmp_path / "work")
    with classic_notebook_server(tmp_path / "work", name, tmp_path) as url, chromium() as browser:
        page = browser.new_page(viewport={"width": 1400, "height": 1600})
        page.goto(url, timeout=SERVER_START_SECONDS * 1000)
        run_all_classic(page)
        image = page.locator(EXPLORER_IMAGE).first
        image.wait_for(state="visible", timeout=PICTURE_CHANGE_SECONDS * 1000)
        image.scroll_into_view_if_needed()

        handle = page.locator(LAYER_HANDLE_7).first
        start = float(page.locator(LAYER_READOUT_7).first.inner_text())
        before = image_png(page, EXPLORER_IMAGE)
        on_screen_before = image.screenshot()
        before_src = image.get_attribute("src")
        handle.focus()
        handle.press("ArrowRight")
        page.wait_for_function(
            "([sel, src]) => { const img = document.querySelector(sel); return img && img.src !== src"
            " && img.complete && img.naturalWidth > 0; }",
            arg=[EXPLORER_IMAGE, before_src],
            timeout=PICTURE_CHANGE_SECONDS * 1000,
        )
        assert float(page.locator(LAYER_READOUT_7).first.inner_text()) == start + 1
        assert image.screenshot() != on_screen_before, "the picture on screen did not change"
        assert_picture_changed(before, image_png(page, EXPLORER_IMAGE))
        page.screenshot(path=str(tmp_path / "notebook6.png"))
