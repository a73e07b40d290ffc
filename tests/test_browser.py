"""The notebook in a real browser: Debian's Chromium, driven by Playwright, against real JupyterLab,
Jupyter Notebook 7 and Voilà.

Skipped only when /usr/bin/chromium is absent; ATTNVIZ_REQUIRE_BROWSER=1 (set by CI) makes that a failure.
Servers listen on 127.0.0.1 on a free port with no token and are stopped by their PID.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

# free_port, server_env, stop and wait_for_port are re-exported for the other browser tests.
from bench.jupyter_browser import (  # noqa: F401
    CHROMIUM,
    NOTEBOOK_RUN_SECONDS,
    SERVER_START_SECONDS,
    chromium,
    free_port,
    jupyter_server,
    run_all_cells,
    server_env,
    stop,
    wait_for_port,
)

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "demo-atencion.ipynb"
SCREENSHOT = ROOT / "docs" / "explorer.png"
PICTURE_CHANGE_SECONDS = 30
# The explorer's layer slider is the ipywidgets slider labelled "Capa".
LAYER_HANDLE = ".widget-slider:has(.widget-label:text-matches('^\\\\s*Capa', 'i')) .noUi-handle"
EXPLORER_IMAGE = "img.widget-image"


def require_browser() -> None:
    """Skip when no browser is installed, unless CI demands one."""
    if CHROMIUM.exists():
        return
    message = f"{CHROMIUM} is not installed (apt-get install -y chromium)"
    if os.environ.get("ATTNVIZ_REQUIRE_BROWSER") == "1":
        pytest.fail(f"ATTNVIZ_REQUIRE_BROWSER=1 but {message}")
    pytest.skip(message)


def copy_notebook(workdir: Path, source: Path = NOTEBOOK) -> str:
    """Servers autosave: they work on a copy, never on the repository's notebook."""
    workdir.mkdir(parents=True, exist_ok=True)
    shutil.copy(source, workdir / source.name)
    return source.name


def image_png(page, selector: str) -> bytes:
    """The explorer's picture as the browser holds it: the bytes behind the <img> blob URL."""
    encoded = page.eval_on_selector(
        selector,
        """async img => {
            const blob = await (await fetch(img.src)).blob();
            const buf = new Uint8Array(await blob.arrayBuffer());
            let s = ''; for (const b of buf) s += String.fromCharCode(b);
            return btoa(s);
        }""",
    )
    import base64

    return base64.b64decode(encoded)


def press_layer_key(page, key: str = "ArrowRight") -> None:
    handle = page.locator(LAYER_HANDLE).first
    handle.focus()
    handle.press(key)


def click_layer_track(page) -> None:
    """Click the layer slider's track near its right end, as a student with a mouse would."""
    track = page.locator(LAYER_HANDLE).first.locator("xpath=ancestor::*[contains(@class,'noUi-target')]")
    box = track.bounding_box()
    track.click(position={"x": box["width"] * 0.9, "y": box["height"] / 2})


def move_layer_slider_and_wait(page, move=press_layer_key) -> tuple[bytes, bytes]:
    """Move the layer slider with ``move(page)`` and wait until the picture is a different one.

    Returns the PNG bytes behind the <img> before and after; also checks that what is
    on screen (a screenshot of the element) changed.
    """
    image = page.locator(EXPLORER_IMAGE).first
    image.scroll_into_view_if_needed()
    before = image_png(page, EXPLORER_IMAGE)
    on_screen_before = image.screenshot()
    before_src = image.get_attribute("src")
    move(page)
    page.wait_for_function(
        "([sel, src]) => { const img = document.querySelector(sel); return img && img.src !== src"
        " && img.complete && img.naturalWidth > 0; }",
        arg=[EXPLORER_IMAGE, before_src],
        timeout=PICTURE_CHANGE_SECONDS * 1000,
    )
    after = image_png(page, EXPLORER_IMAGE)
    assert image.screenshot() != on_screen_before, "the picture on screen did not change"
    return before, after


def layer_value(page) -> int:
    return int(page.locator(LAYER_HANDLE).first.get_attribute("aria-valuenow").split(".")[0])


def assert_layer_key_redraws(page) -> None:
    """ArrowRight on the layer slider moves it up by one and draws a different picture."""
    start = layer_value(page)
    before, after = move_layer_slider_and_wait(page)
    assert layer_value(page) == start + 1
    assert_picture_changed(before, after)


def open_and_run_notebook(page, url: str, app: str) -> None:
    """Open the notebook in JupyterLab or Notebook 7, run all cells and wait for the explorer's picture."""
    page.goto(url, timeout=SERVER_START_SECONDS * 1000)
    run_all_cells(page, app)
    page.locator(EXPLORER_IMAGE).first.wait_for(state="visible", timeout=PICTURE_CHANGE_SECONDS * 1000)


def assert_picture_changed(before: bytes, after: bytes) -> None:
    import io

    import matplotlib.image as mpimg
    import numpy as np

    a = mpimg.imread(io.BytesIO(before), format="png")
    b = mpimg.imread(io.BytesIO(after), format="png")
    assert a.shape[0] > 100 and a.shape[1] > 200, "the picture is too small to be the arc plot"
    assert a[..., :3].std() > 0.01, "the picture before the key press is blank"
    changed = a.shape != b.shape or float(np.abs(a[..., :3] - b[..., :3]).max()) > 0.1
    assert changed, "the picture did not change after moving the layer slider"


@pytest.fixture
def browser():
    require_browser()
    with chromium() as instance:
        yield instance


@pytest.mark.browser
@pytest.mark.slow
def test_jupyterlab_runs_the_notebook_and_the_slider_redraws(browser, tmp_path: Path) -> None:
    name = copy_notebook(tmp_path / "work")
    with jupyter_server("lab", tmp_path / "work", name, tmp_path) as url:
        page = browser.new_page(viewport={"width": 1400, "height": 1600})
        open_and_run_notebook(page, url, "JupyterLab")
        assert_layer_key_redraws(page)
        explorer = page.locator(".widget-vbox:has(img.widget-image)").last
        explorer.scroll_into_view_if_needed()
        SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
        explorer.screenshot(path=str(SCREENSHOT))
        assert SCREENSHOT.stat().st_size > 10_000


@pytest.mark.browser
@pytest.mark.slow
def test_voila_serves_the_notebook_and_the_slider_redraws(browser, tmp_path: Path) -> None:
    name = copy_notebook(tmp_path / "work")
    with jupyter_server("voila", tmp_path / "work", name, tmp_path) as url:
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(url, timeout=NOTEBOOK_RUN_SECONDS * 1000, wait_until="domcontentloaded")
        page.locator(EXPLORER_IMAGE).first.wait_for(state="visible", timeout=NOTEBOOK_RUN_SECONDS * 1000)
        assert "Traceback" not in page.inner_text("body")
        assert_layer_key_redraws(page)
        page.screenshot(path=str(tmp_path / "voila.png"))


@pytest.mark.browser
@pytest.mark.slow
def test_notebook7_runs_the_notebook_and_a_click_on_the_slider_redraws(browser, tmp_path: Path) -> None:
    """Notebook 7 keeps ArrowRight for its own shortcut (moving between cells) even on a focused
    slider, so the keyboard cannot move it there (README, "Solución de problemas"); a click can."""
    name = copy_notebook(tmp_path / "work")
    with jupyter_server("notebook", tmp_path / "work", name, tmp_path) as url:
        page = browser.new_page(viewport={"width": 1400, "height": 1600})
        open_and_run_notebook(page, url, "Notebook 7")
        start = layer_value(page)
        before, after = move_layer_slider_and_wait(page, click_layer_track)
        assert layer_value(page) > start
        assert_picture_changed(before, after)
        page.screenshot(path=str(tmp_path / "notebook7.png"))
