"""The notebook in a real browser: Debian's Chromium, driven by Playwright, against real JupyterLab,
Jupyter Notebook 7 and Voilà.

Skipped only when /usr/bin/chromium is absent; ATTNVIZ_REQUIRE_BROWSER=1 (set by CI) makes that a failure.
Servers listen on 127.0.0.1 on a free port with no token and are stopped by their PID.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "demo-atencion.ipynb"
SCREENSHOT = ROOT / "docs" / "explorer.png"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SERVER_START_SECONDS = 90
NOTEBOOK_RUN_SECONDS = 240
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


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def server_env(home: Path) -> dict[str, str]:
    """Environment for a server and its kernels: offline model, private Jupyter dirs."""
    env = dict(os.environ)
    env.update(
        ATTNVIZ_MODEL=env.get("ATTNVIZ_MODEL", "minilm"),
        HF_HUB_OFFLINE="1",
        JUPYTER_CONFIG_DIR=str(home / "config"),
        JUPYTER_DATA_DIR=str(home / "data"),
        JUPYTER_RUNTIME_DIR=str(home / "runtime"),
        JUPYTERLAB_SETTINGS_DIR=str(home / "settings"),
        JUPYTERLAB_WORKSPACES_DIR=str(home / "workspaces"),
        IPYTHONDIR=str(home / "ipython"),
        PYTHONUNBUFFERED="1",
    )
    # A student's first visit asks about news: answer it before the page loads.
    settings = home / "settings" / "@jupyterlab" / "apputils-extension"
    settings.mkdir(parents=True, exist_ok=True)
    (settings / "notification.jupyterlab-settings").write_text(
        json.dumps({"fetchNews": "false", "checkForUpdates": False})
    )
    return env


@contextlib.contextmanager
def jupyter_server(kind: str, workdir: Path, notebook: str, home: Path) -> Iterator[str]:
    """Start JupyterLab (``kind="lab"``), Notebook 7 (``"notebook"``) or Voilà on a free port.

    Yields the page URL; stops the server by PID.
    """
    port = free_port()
    common = ["--no-browser", f"--port={port}"]
    if kind in ("lab", "notebook"):
        # Notebook 7 is a JupyterLab application: same server flags, its own app class and URL.
        app_class = "LabApp" if kind == "lab" else "JupyterNotebookApp"
        command = [
            sys.executable,
            "-m",
            "jupyterlab" if kind == "lab" else "notebook",
            *common,
            "--ServerApp.ip=127.0.0.1",
            "--ServerApp.port_retries=0",
            "--IdentityProvider.token=",
            "--ServerApp.password=",
            "--ServerApp.disable_check_xsrf=True",
            f"--ServerApp.root_dir={workdir}",
            f"--{app_class}.expose_app_in_browser=True",
            "--allow-root",
        ]
        path = "lab/tree" if kind == "lab" else "notebooks"
        url = f"http://127.0.0.1:{port}/{path}/{notebook}"
    elif kind == "voila":
        command = [
            sys.executable,
            "-m",
            "voila",
            *common,
            "--Voila.ip=127.0.0.1",
            "--Voila.port_retries=0",
            "--Voila.auto_token=False",
            notebook,
        ]
        url = f"http://127.0.0.1:{port}/"
    else:
        raise ValueError(kind)
    log = (home / f"{kind}.log").open("wb")
    process = subprocess.Popen(
        command,
        cwd=workdir,
        env=server_env(home),
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        wait_for_port(port, process, home / f"{kind}.log")
        yield url
    finally:
        stop(process)
        log.close()


def wait_for_port(port: int, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + SERVER_START_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}:\n{log.read_text()[-3000:]}")
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2).close()
            return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError(f"server did not answer on port {port}:\n{log.read_text()[-3000:]}")


def stop(process: subprocess.Popen) -> None:
    """Stop the server and the kernels it started (its own process group), by PID."""
    if process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=5)


@contextlib.contextmanager
def chromium() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def copy_notebook(workdir: Path, source: Path = NOTEBOOK) -> str:
    """Servers autosave: they work on a copy, never on the repository's notebook."""
    workdir.mkdir(parents=True, exist_ok=True)
    shutil.copy(source, workdir / source.name)
    return source.name


NOTEBOOK_STATE = """() => {
    const panel = window.jupyterapp.shell.currentWidget;
    const cells = panel.content.widgets.filter(c => c.model.type === 'code');
    const errors = [];
    for (const cell of cells) {
        for (const out of cell.model.outputs.toJSON()) {
            if (out.output_type === 'error') errors.push(out.ename + ': ' + out.evalue);
        }
    }
    return {
        idle: panel.sessionContext.session?.kernel?.status === 'idle',
        pending: cells.filter(c => c.model.executionCount === null).length,
        errors: errors,
    };
}"""


def run_all_cells(page, app: str = "JupyterLab") -> None:
    """Run every cell through the app's own command (JupyterLab or Notebook 7); fail at the first error."""
    page.wait_for_function(
        "() => window.jupyterapp?.shell.currentWidget?.sessionContext?.session?.kernel?.status === 'idle'",
        timeout=SERVER_START_SECONDS * 1000,
    )
    page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
    deadline = time.monotonic() + NOTEBOOK_RUN_SECONDS
    state: dict = {}
    while time.monotonic() < deadline:
        state = page.evaluate(NOTEBOOK_STATE)
        # "Run all" stops at the first error, so an error means it is over.
        assert state["errors"] == [], f"a cell failed in {app}: {state['errors']}"
        if state["idle"] and state["pending"] == 0:
            return
        time.sleep(0.5)
    raise AssertionError(f"the notebook did not finish in {NOTEBOOK_RUN_SECONDS} s: {state}")


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
