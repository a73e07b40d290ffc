"""Jupyter servers and headless Chromium for the browser tests and the browser benchmark.

The browser tests (``tests/test_browser.py``, ``tests/test_browser_ipywidgets7.py``) and the browser
benchmark (``bench/browser_latency.py``, which imports this module from here) start JupyterLab,
Jupyter Notebook 7, Notebook 6.5 (ipywidgets 7, in the compat venv) or Voilà on 127.0.0.1 (a free
port, no token, private Jupyter folders, the offline model) and drive Debian's Chromium with
Playwright; this module is the one copy of how.  Servers are stopped by PID.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

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
    """Start JupyterLab (``kind="lab"``), Notebook 7 (``"notebook"``), Notebook 6.5 (``"notebook6"``)
    or Voilà on a free port.

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
    elif kind == "notebook6":
        # Jupyter Notebook 6.5 (classic), ipywidgets 7's front end (the compat venv has it).
        command = [
            sys.executable,
            "-m",
            "notebook",
            *common,
            "--NotebookApp.ip=127.0.0.1",
            "--NotebookApp.port_retries=0",
            "--NotebookApp.token=",
            "--NotebookApp.password=",
            "--NotebookApp.disable_check_xsrf=True",
            f"--NotebookApp.notebook_dir={workdir}",
            "--allow-root",
        ]
        url = f"http://127.0.0.1:{port}/notebooks/{notebook}"
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
    _run_all(
        page,
        app,
        ready="() => window.jupyterapp?.shell.currentWidget?.sessionContext?.session?.kernel?.status"
        " === 'idle'",
        run="() => window.jupyterapp.commands.execute('notebook:run-all-cells')",
        state=NOTEBOOK_STATE,
    )


def _run_all(page, app: str, *, ready: str, run: str, state: str) -> None:
    """Wait for ``ready``, evaluate ``run``, then poll ``state`` until every cell ran, or fail."""
    page.wait_for_function(ready, timeout=SERVER_START_SECONDS * 1000)
    page.evaluate(run)
    deadline = time.monotonic() + NOTEBOOK_RUN_SECONDS
    now: dict = {}
    while time.monotonic() < deadline:
        now = page.evaluate(state)
        # "Run all" stops at the first error, so an error means it is over.
        assert now["errors"] == [], f"a cell failed in {app}: {now['errors']}"
        if now.get("idle", True) and now["pending"] == 0:
            return
        time.sleep(0.5)
    raise AssertionError(f"the notebook did not finish in {NOTEBOOK_RUN_SECONDS} s: {now}")


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


#: What widgetsnbextension 3.x logs when the kernel (ipywidgets 7) has no control comm and it
#: falls back to asking the kernel for each widget: the start of its last start-up step.
WIDGETS_FALLBACK = 'Failed to fetch ipywidgets through the "jupyter.widget.control" comm channel'

# One comm_info round trip: the kernel answers shell requests in order, so its reply comes after
# the reply to the widget manager's own comm_info request, sent before it.
COMM_INFO_ROUND_TRIP = """() => new Promise((resolve) =>
    Jupyter.notebook.kernel.comm_info('jupyter.widget', (msg) => resolve(msg.content.comms)))"""


def open_classic(page, url: str, timeout_ms: int = SERVER_START_SECONDS * 1000) -> None:
    """Open a notebook in Jupyter Notebook 6.5 and wait until its widget manager has started.

    Why: widgetsnbextension 3.x ends its start-up by re-rendering every output that holds a
    widget, and a widget displayed before that moment loses its view (the output's model_id
    becomes ""): "Run all" pressed while the manager still loads — its last step, a comm_info
    request, waits behind the queued cells — leaves the explorer's cell empty.  The manager's
    start is over once that request is answered: the warning about the control comm says it
    was sent, and a comm_info round trip of ours, answered after it, says it is done.
    """
    messages: list[str] = []
    page.on("console", lambda message: messages.append(message.text))
    page.goto(url, timeout=timeout_ms)
    page.wait_for_function(
        "() => window.Jupyter?.notebook?.kernel?.is_connected?.() === true", timeout=timeout_ms
    )
    deadline = time.monotonic() + timeout_ms / 1000
    while not any(WIDGETS_FALLBACK in text for text in messages):
        if time.monotonic() > deadline:
            raise AssertionError(f"the widget manager never started its fallback: {messages[-10:]}")
        page.wait_for_timeout(100)
    page.evaluate(COMM_INFO_ROUND_TRIP)


def run_all_classic(page) -> None:
    """Run every cell in Jupyter Notebook 6.5 (classic); fail at the first error.

    Open the page with :func:`open_classic` first, so that no widget is drawn mid start-up.
    """
    _run_all(
        page,
        "Notebook 6.5",
        ready="() => window.Jupyter?.notebook?.kernel?.is_connected?.() === true",
        run="() => Jupyter.notebook.execute_all_cells()",
        state=CLASSIC_STATE,
    )


# Run code in the page's kernel and collect what it prints, up to a sentinel line.
KERNEL_PRINT = {
    "lab": """async ([code, end]) => {
        const kernel = window.jupyterapp.shell.currentWidget.sessionContext.session.kernel;
        const future = kernel.requestExecute({code: code, store_history: false});
        let out = '';
        future.onIOPub = (msg) => { if (msg.header.msg_type === 'stream') out += msg.content.text; };
        await future.done;
        return out;
    }""",
    "notebook6": """([code, end]) => new Promise((resolve) => {
        let out = '';
        const output = (msg) => {
            if (msg.msg_type === 'stream') out += msg.content.text;
            if (out.includes(end)) resolve(out);
        };
        Jupyter.notebook.kernel.execute(code, {iopub: {output: output}}, {store_history: false});
    })""",
}


def kernel_print(page, code: str, front: str = "lab") -> str:
    """What ``code`` prints when run in the kernel of the notebook open in ``page`` (not in a cell)."""
    end = "__kernel_print_end__"
    out = page.evaluate(KERNEL_PRINT[front], [f"{code}\nprint({end!r})", end])
    return str(out).split(end)[0].strip()
