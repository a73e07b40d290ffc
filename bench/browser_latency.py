"""Browser latency: key press on the layer slider -> new picture on screen, in a real JupyterLab.

Headless Debian Chromium (Playwright) against JupyterLab on 127.0.0.1, one notebook with the
attnviz explorer twice (its picture cache on, and off), a naive ``interact`` + ``plt.show``
version of the same arc plot, and the floor (the same widgets swapping PNGs made in advance).
For each, ``--presses`` key presses (ArrowRight/ArrowLeft alternating) on the layer slider;
each is timed in the page from the keydown event to the first animation frame after the new
image has been decoded.

- **cache hit**: alternating layers 0 and 1, every move after the two warm-up presses is served
  from the explorer's picture cache (what a student sliding back and forth gets);
- **redraw**: the same moves with the picture cache emptied before each one, so every move
  draws (what a student gets on a view not seen before).  The kernel's own time per move is
  logged to tell the two apart.

The same is measured again through ``tests/slow_link.py`` (``--links``, default 150 ms round trip at
10 and at 5 Mbit/s), a loopback proxy between Chromium and the Jupyter server that imitates a
remote kernel behind a student's link, with the bytes each move puts on the wire.

Every report names torch's thread count in the kernel (``--threads 1`` for comparable runs on a
shared machine) and the machine's load before and after.

Usage: python bench/browser_latency.py [--presses 20] [--threads 1] [--links 150:10,150:5] [--out f.md]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

# The servers, the browser and the slow link are the browser tests' (tests/jupyter_browser.py,
# tests/slow_link.py). Run as a script, this file's folder is first on sys.path, not the repository's.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.jupyter_browser import CHROMIUM, chromium, jupyter_server, run_all_cells
from tests.slow_link import SlowLink

# 14 tokens with the offline model's tokenizer ([CLS] and [SEP] included), like the seed with BETO.
DEFAULT_TEXT = "The big dog that chased the cat crossed the busy street."
DEFAULT_LINKS = "150:10,150:5"
#: Where the kernel logs each explorer move: "<label> <ms>" per line, in the notebook's folder.
FRAME_LOG = "kernel_frames.txt"

SETUP = """
import os, time
import matplotlib.pyplot as plt
import torch
from ipywidgets import IntSlider, interact

import attnviz

THREADS = {threads!r}
if THREADS:
    torch.set_num_threads(THREADS)
model, tokenizer = attnviz.load_model("minilm")
TEXT = {text!r}
result = attnviz.extract(model, tokenizer, TEXT)


def timed(explorer, label, cache=True):
    \"\"\"Log the kernel's time per move; cache=False empties the picture cache first (a redraw).\"\"\"
    session = explorer.session
    frame = session.frame

    def timed_frame(controls):
        if not cache:
            session.clear_pictures()
        start, cpu = time.perf_counter(), time.thread_time()
        shown = frame(controls)
        wall, cpu = time.perf_counter() - start, time.thread_time() - cpu
        with open({log!r}, "a") as log:
            log.write(f"{{label}} {{1000 * wall:.3f}} {{1000 * cpu:.3f}} {{len(shown.picture)}}\\n")
        return shown

    session.frame = timed_frame
    return explorer


print("n =", result.n_tokens, "| threads =", torch.get_num_threads())
"""

EXPLORER = """
explorer = timed(attnviz.explorer(model=(model, tokenizer), text=TEXT), "hit")
explorer.add_class("bench-explorer");
explorer
"""

REDRAW = """
redraw_explorer = timed(attnviz.explorer(model=(model, tokenizer), text=TEXT), "redraw", cache=False)
redraw_explorer.add_class("bench-redraw");
redraw_explorer
"""

NAIVE = """
def naive(capa, cabeza, token):
    attnviz.plot_arcs(result, capa, cabeza, token)
    plt.show()


shown = interact(
    naive,
    capa=IntSlider(0, 0, result.n_layers - 1, description="Capa:"),
    cabeza=IntSlider(0, 0, result.n_heads - 1, description="Cabeza:"),
    token=IntSlider(1, 0, result.n_tokens - 1, description="Token:"),
)
shown.widget.add_class("bench-naive");
"""

# The floor: the same slider and Image widgets, swapping two PNGs made in advance (no drawing).
FLOOR = """
import ipywidgets as widgets

floor_pictures = [explorer.image.value, bytes(explorer.image.value)]
explorer.layer_slider.value = 1
floor_pictures[1] = explorer.image.value
explorer.layer_slider.value = 0
floor_slider = widgets.IntSlider(0, 0, 5, description="Capa:")
floor_image = widgets.Image(value=floor_pictures[0], format="png")
floor_slider.observe(lambda change: setattr(floor_image, "value", floor_pictures[change["new"] % 2]), "value")
floor = widgets.VBox([floor_slider, floor_image])
floor.add_class("bench-floor");
floor
"""

#: label -> (container, image selector, kernel log label or None)
TARGETS: dict[str, tuple[str, str, str | None]] = {
    "attnviz explorer, cache hit (layers 0<->1, seen before)": (".bench-explorer", "img.widget-image", "hit"),
    "attnviz explorer, redraw (picture cache off)": (".bench-redraw", "img.widget-image", "redraw"),
    "naive interact + plt.show": (".bench-naive", ".jp-OutputArea-output img", None),
    "floor: Image widget, PNGs made in advance": (".bench-floor", "img.widget-image", None),
}

# Resolves with [total, arrived, blank]: ms from the next keydown to the first frame after the
# picture on screen changed (another visible <img>, or a new src) and decoded, and to the change
# itself; "visible" is an <img> with a layout box, so containers that switch children by hiding
# them count too.  An empty picture (a 0-byte blob) is not the new picture: it sets "blank" and
# the wait goes on.
ARM = """([container, imgSelector]) => {
    const visible = (root) =>
        [...root.querySelectorAll(imgSelector)].find(i => i.getClientRects().length > 0);
    const size = async (img) => {
        if (!img.src.startsWith('blob:')) return 1;
        try { return (await (await fetch(img.src)).blob()).size; } catch (e) { return 1; }
    };
    window.__latency = new Promise((resolve, reject) => {
        const root = document.querySelector(container);
        if (!root) { reject(new Error('no ' + container)); return; }
        const first = visible(root);
        let last = [first, first ? first.src : null];
        let t0 = null, done = false, busy = false, blank = false;
        document.addEventListener('keydown', () => { t0 = performance.now(); }, {capture: true, once: true});
        const check = async () => {
            if (done || busy || t0 === null) return;
            const img = visible(root);
            if (!img || !img.src || (img === last[0] && img.src === last[1])) return;
            last = [img, img.src];
            const arrived = performance.now() - t0;
            busy = true;
            const [bytes] = await Promise.all([size(img), img.decode().catch(() => null)]);
            busy = false;
            if (bytes === 0) { blank = true; check(); return; }
            done = true;
            observer.disconnect();
            window.__shown = img;
            requestAnimationFrame(() => resolve([performance.now() - t0, arrived, blank]));
        };
        const observer = new MutationObserver(check);
        const fail = () => {
            if (!done) { observer.disconnect(); reject(new Error('no new picture in 30 s')); }
        };
        setTimeout(fail, 30000);
        observer.observe(root, {subtree: true, childList: true, attributes: true,
                                attributeFilter: ['src', 'class', 'style']});
    });
}"""

SHOWN_BYTES = "async () => (await (await fetch(window.__shown.src)).blob()).size"


@dataclass
class Target:
    """One measured row: latencies and sizes of each timed press."""

    label: str
    totals: list[float] = field(default_factory=list)
    arrivals: list[float] = field(default_factory=list)
    png_bytes: list[int] = field(default_factory=list)
    wire_bytes: list[int] = field(default_factory=list)
    kernel_ms: list[float] = field(default_factory=list)
    kernel_cpu_ms: list[float] = field(default_factory=list)


def write_notebook(folder: Path, name: str, text: str, threads: int | None) -> str:
    import nbformat
    from nbformat.v4 import new_code_cell, new_notebook

    setup = SETUP.format(text=text, threads=threads, log=FRAME_LOG)
    notebook = new_notebook(cells=[new_code_cell(c.strip()) for c in (setup, EXPLORER, REDRAW, NAIVE, FLOOR)])
    notebook.metadata["kernelspec"] = {"display_name": "Python 3", "language": "python", "name": "python3"}
    folder.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook, folder / name)
    return name


def layer_handle(page, container: str):
    return page.locator(
        f"{container} .widget-slider:has(.widget-label:text-matches('^\\\\s*Capa')) .noUi-handle"
    ).first


def press_and_time(page, container: str, image: str, key: str) -> tuple[float, float, bool]:
    """One key press on the focused slider.

    Returns (key -> picture shown, key -> new <img> in the page) in ms, and whether an empty
    picture was shown on the way.
    """
    page.evaluate(ARM, [container, image])
    page.keyboard.press(key)
    total, arrived, blank = page.evaluate("window.__latency")
    return float(total), float(arrived), bool(blank)


def measure(
    page, container: str, image: str, presses: int, link: SlowLink | None = None, warmup: int = 2
) -> Target:
    """``presses`` timed presses alternating ArrowRight/ArrowLeft, after ``warmup`` untimed ones."""
    handle = layer_handle(page, container)
    page.locator(f"{container} {image}").first.wait_for(state="visible", timeout=60_000)
    handle.scroll_into_view_if_needed()
    handle.focus()
    target = Target("")
    for i in range(presses + warmup):
        down_before = link.counters()[0] if link else 0
        key = "ArrowRight" if i % 2 == 0 else "ArrowLeft"
        total, arrived, _ = press_and_time(page, container, image, key)
        time.sleep(0.15 + (link.rtt_ms / 1000 if link else 0.0))  # a student's pace, not a burst
        if i < warmup:
            continue
        target.totals.append(total)
        target.arrivals.append(arrived)
        target.png_bytes.append(int(page.evaluate(SHOWN_BYTES)))
        if link:
            target.wire_bytes.append(link.counters()[0] - down_before)
    return target


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    if not ordered:
        return float("nan")
    index = (len(ordered) - 1) * q
    low, high = int(index), min(int(index) + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (index - low)


def kernel_log(folder: Path) -> list[tuple[str, float, float]]:
    """(label, wall ms, CPU ms of the kernel's thread) per logged move."""
    path = folder / FRAME_LOG
    if not path.exists():
        return []
    lines = (line.split() for line in path.read_text().splitlines())
    return [(label, float(wall), float(cpu)) for label, wall, cpu, _ in lines]


def shut_down_kernels(port_url: str) -> None:
    """Stop the kernels of every open session (the next page gets a fresh one)."""
    parts = urllib.parse.urlsplit(port_url)
    base = f"{parts.scheme}://{parts.netloc}"
    with urllib.request.urlopen(f"{base}/api/sessions", timeout=10) as answer:
        sessions = json.load(answer)
    for session in sessions:
        request = urllib.request.Request(f"{base}/api/sessions/{session['id']}", method="DELETE")
        urllib.request.urlopen(request, timeout=30).close()


def run_page(
    browser, url: str, folder: Path, presses: int, link: SlowLink | None
) -> tuple[list[Target], str]:
    """Open one notebook (through ``link`` when given), run it and measure every target."""
    page = browser.new_page(viewport={"width": 1400, "height": 2400})
    try:
        page.goto(url, timeout=300_000)
        run_all_cells(page)
        header = page.locator("text=/^n = \\d+/").first.inner_text().strip()
        rows = []
        for label, (container, image, log_label) in TARGETS.items():
            logged = len(kernel_log(folder))
            target = measure(page, container, image, presses, link)
            target.label = label
            if log_label:
                moves = [(wall, cpu) for name, wall, cpu in kernel_log(folder)[logged:] if name == log_label]
                target.kernel_ms = [wall for wall, _ in moves[2:]]  # after the warm-up presses
                target.kernel_cpu_ms = [cpu for _, cpu in moves[2:]]
            rows.append(target)
        return rows, header
    finally:
        page.close()


def environment(threads_line: str, load_before: tuple[float, ...], load_after: tuple[float, ...]) -> str:
    import ipywidgets
    import jupyterlab
    import matplotlib
    import torch

    return (
        f"Python {platform.python_version()} · torch {torch.__version__} · "
        f"matplotlib {matplotlib.__version__} · "
        f"ipywidgets {ipywidgets.__version__} · JupyterLab {jupyterlab.__version__} · Chromium "
        f"{chromium_version()} · {platform.machine()} · {os.cpu_count()} CPU · kernel: {threads_line}. "
        + load_line(load_before, load_after)
    )


def chromium_version() -> str:
    import subprocess

    out = subprocess.run([str(CHROMIUM), "--version"], capture_output=True, text=True, timeout=30).stdout
    return out.split()[1] if len(out.split()) > 1 else "?"


def parse_links(spec: str) -> list[tuple[float, float | None]]:
    """``"150:10,150:5"`` -> [(150.0, 10.0), (150.0, 5.0)]; a 0 rate means uncapped."""
    links = []
    for item in filter(None, (part.strip() for part in spec.split(","))):
        rtt, mbit = item.split(":")
        links.append((float(rtt), float(mbit) or None))
    return links


def table(title: str, rows: list[Target], with_wire: bool) -> Iterator[str]:
    yield f"**{title}**"
    yield ""
    head = "| what | p50 ms | p95 ms | new <img> p50 ms | kernel per move p50 ms (its CPU) | PNG bytes p50 |"
    rule = "|---|---|---|---|---|---|"
    if with_wire:
        head += " bytes on the wire per move p50 |"
        rule += "---|"
    yield head
    yield rule
    for row in rows:
        kernel = (
            f"{percentile(row.kernel_ms, 0.5):.1f} ({percentile(row.kernel_cpu_ms, 0.5):.1f})"
            if row.kernel_ms
            else ""
        )
        png = percentile([float(b) for b in row.png_bytes], 0.5)
        line = (
            f"| {row.label} | {percentile(row.totals, 0.5):.1f} | {percentile(row.totals, 0.95):.1f} | "
            f"{percentile(row.arrivals, 0.5):.1f} | {kernel} | {png:.0f} |"
        )
        if with_wire:
            line += f" {percentile([float(b) for b in row.wire_bytes], 0.5):.0f} |"
        yield line
    yield ""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--presses", type=int, default=20)
    parser.add_argument("--text", default=DEFAULT_TEXT)
    parser.add_argument(
        "--threads", type=int, default=None, help="torch threads in the kernel (default: torch's)"
    )
    parser.add_argument(
        "--links",
        default=DEFAULT_LINKS,
        help="slow links as rtt_ms:mbit,... ('' for none; mbit 0 = uncapped)",
    )
    parser.add_argument("--out", type=Path, help="also write the report (markdown) here")
    args = parser.parse_args(argv)
    if not CHROMIUM.exists():
        print(f"{CHROMIUM} is not installed: apt-get install -y chromium", file=sys.stderr)
        return 2

    started = time.perf_counter()
    load_before = os.getloadavg()
    sections: list[str] = []
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        work = home / "work"
        configs: list[tuple[str, float, float | None] | None] = [None]
        configs += [("link", rtt, mbit) for rtt, mbit in parse_links(args.links)]
        names = [
            write_notebook(work, f"latency{i}.ipynb", args.text, args.threads) for i in range(len(configs))
        ]
        with jupyter_server("lab", work, names[0], home) as url, chromium() as browser:
            port = int(url.split(":")[2].split("/")[0])
            header = ""
            for config, name in zip(configs, names, strict=True):
                (work / FRAME_LOG).unlink(missing_ok=True)
                # "?reset": a fresh workspace, or JupyterLab would also reopen the previous notebook.
                page_url = url.replace(names[0], name) + "?reset"
                if config is None:
                    rows, header = run_page(browser, page_url, work, args.presses, None)
                    sections += table("Direct (loopback, no proxy)", rows, with_wire=False)
                else:
                    _, rtt, mbit = config
                    with SlowLink(port, rtt, mbit) as link:
                        proxied = page_url.replace(f":{port}/", f":{link.port}/")
                        rows, header = run_page(browser, proxied, work, args.presses, link)
                    sections += table(f"Through the slow link: {link.label}", rows, with_wire=True)
                shut_down_kernels(url)
    load_after = os.getloadavg()
    threads = header.split("threads =")[-1].strip() if "threads =" in header else "?"
    n = header.split("|")[0].strip()
    command = " ".join(argv if argv is not None else sys.argv[1:])
    report = [
        f"Key press on the layer slider -> new picture displayed (JupyterLab, headless Chromium, {n})",
        "",
        *sections,
        "p50/p95: key press -> first frame with the new picture decoded; new <img>: key press -> the page",
        "holds the new image; kernel per move: the explorer's own time per move (picture + table + metrics),",
        "wall clock and, in brackets, the CPU time of the kernel's thread (their gap: waiting for a core);",
        "PNG bytes: the picture shown; bytes on the wire: everything the server sent during the move.",
        "",
        environment(f"torch threads = {threads}", load_before, load_after)
        + f" Duration: {time.perf_counter() - started:.0f} s.",
        f"Command: python bench/browser_latency.py {command}".rstrip(),
    ]
    publish(report, args.out)
    return 0


def publish(lines: list[str], out: Path | None) -> None:
    """Print a report, and write it to ``out`` too when given."""
    text = "\n".join(lines)
    print(text)
    if out:
        out.write_text(text + "\n")


def load_line(before: tuple[float, ...], after: tuple[float, ...]) -> str:
    """The machine's load average before and after a measurement, for its report."""
    return (
        f"Load average before: {' '.join(f'{x:.2f}' for x in before)}; "
        f"after: {' '.join(f'{x:.2f}' for x in after)}."
    )


if __name__ == "__main__":
    sys.exit(main())
