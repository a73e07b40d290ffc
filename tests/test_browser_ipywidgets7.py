"""The explorer on ipywidgets 7.7.1, Colab's version, in a real browser.

Colab's own front end cannot be reached from here; the closest one that can is Jupyter Notebook 6.5,
which renders ipywidgets 7 through widgetsnbextension 3.x as Colab's does. This runs in the oldest
corner's venv (``make compat``: ipywidgets 7.7.1, notebook 6.5.7), where the main run's Jupyter 4
servers are absent; the main run deselects it (marker ``ipywidgets7``).

It used to fail about one run in two: the explorer's cell came out empty (its output's model_id "").
The cause is widgetsnbextension's start-up, not the explorer: see ``open_classic`` in
``tests/jupyter_browser.py``, which the test waits on before "Run all".
"""

from __future__ import annotations

from pathlib import Path

import pytest

from .jupyter_browser import CLASSIC_STATE, chromium, jupyter_server, open_classic, run_all_classic
from .test_browser import (
    EXPLORER_IMAGE,
    assert_picture_changed,
    copy_notebook,
    move_layer_slider_and_wait,
    require_browser,
)

pytestmark = [pytest.mark.browser, pytest.mark.ipywidgets7, pytest.mark.slow]

PICTURE_SECONDS = 60
# ipywidgets 7 draws sliders with jQuery UI: the slider labelled "Capa", its handle and its track.
LAYER_SLIDER_7 = ".widget-hslider:has(.widget-label:text-matches('^\\\\s*Capa', 'i'))"
LAYER_HANDLE_7 = LAYER_SLIDER_7 + " .ui-slider-handle"
LAYER_TRACK_7 = LAYER_SLIDER_7 + " .slider-container .ui-slider"
# The slider's own readout (widgetsnbextension bundles its own jQuery UI, out of the page's reach).
LAYER_READOUT_7 = LAYER_SLIDER_7 + " .widget-readout"
# The explorer's first child: the banner for notices, warnings and errors (hidden when empty).
EXPLORER_BANNER = ".widget-vbox:has(> img.widget-image) > .widget-html:first-child"
#: all-MiniLM-L6-v2 has 6 layers: the slider goes from 0 to 5.
LAST_LAYER = 5


def layer_readout(page) -> int:
    return int(page.locator(LAYER_READOUT_7).first.inner_text().strip())


def press_right(page) -> None:
    """The keyboard: focus the slider's handle and press ArrowRight."""
    handle = page.locator(LAYER_HANDLE_7).first
    handle.focus()
    handle.press("ArrowRight")


def click_track_end(page) -> None:
    """The mouse: click the slider's track at its right end (jQuery UI jumps the handle there)."""
    track = page.locator(LAYER_TRACK_7).first
    box = track.bounding_box()
    assert box is not None and box["width"] > 50, f"the layer slider's track is not on screen: {box}"
    track.click(position={"x": box["width"] - 2, "y": box["height"] / 2})


def test_notebook6_with_ipywidgets_7_runs_the_lesson_and_the_slider_redraws(tmp_path: Path) -> None:
    import ipywidgets
    import notebook

    assert ipywidgets.__version__ == "7.7.1"
    assert notebook.__version__.startswith("6.5."), notebook.__version__
    require_browser()
    name = copy_notebook(tmp_path / "work")
    with jupyter_server("notebook6", tmp_path / "work", name, tmp_path) as url, chromium() as browser:
        page = browser.new_page(viewport={"width": 1400, "height": 1600})
        open_classic(page, url)
        run_all_classic(page)  # fails on the first cell with an error output

        # The explorer is drawn: a loaded picture, on screen.
        image = page.locator(EXPLORER_IMAGE).first
        image.wait_for(state="visible", timeout=PICTURE_SECONDS * 1000)
        image.scroll_into_view_if_needed()
        page.wait_for_function(
            "sel => { const img = document.querySelector(sel); return img.complete && img.naturalWidth > 0 }",
            arg=EXPLORER_IMAGE,
            timeout=PICTURE_SECONDS * 1000,
        )
        width, height = image.evaluate("img => [img.naturalWidth, img.naturalHeight]")
        assert width > 200 and height > 100, f"the picture is {width}x{height} px"
        # The attention picture; the experiment panel's image stays hidden until a word is hidden.
        assert page.locator(f"{EXPLORER_IMAGE}:visible").count() == 1
        # The lesson opens the explorer on the worked example's head (layer 1), not on an answer.
        assert layer_readout(page) == 1

        # The keyboard: ArrowRight moves the layer from 1 to 2 and draws another picture.
        before, after = move_layer_slider_and_wait(page, press_right)
        assert layer_readout(page) == 2
        assert_picture_changed(before, after)

        # The mouse: a click at the track's right end jumps to the last layer and draws it.
        before, after = move_layer_slider_and_wait(page, click_track_end)
        assert layer_readout(page) == LAST_LAYER
        assert_picture_changed(before, after)

        # Nothing went wrong on the way: no cell shows an error, the explorer shows no banner.
        state = page.evaluate(CLASSIC_STATE)
        assert state == {"pending": 0, "errors": []}
        banner = page.locator(EXPLORER_BANNER)
        assert banner.count() == 1
        assert banner.evaluate("el => [el.textContent.trim(), getComputedStyle(el).display]") == ["", "none"]
        page.screenshot(path=str(tmp_path / "notebook6.png"))
