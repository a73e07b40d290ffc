"""Experiment: answer layer moves in the browser, without the kernel (issue 14, "remote kernel").

Every explorer move today is a round trip to the kernel: on a remote kernel (Colab) 150 ms of
a ~250 ms move is the link.  :class:`LayerStack` is a prototype, kept here and not in the
package: it renders the pictures of the layers next to the one shown (for the current head and
source) into a container with one child per layer, and links the layer slider to the container's
index with ``jslink``, so the browser switches pictures by itself.  The kernel only hears about
the move afterwards and renders the new neighbours in idle time.

- ipywidgets 8: ``Stack`` (shows only the selected child);
- ipywidgets 7.7.1 (Colab's): no ``Stack``; ``Tab`` has the same ``selected_index`` and is used
  with its tab bar hidden by one CSS rule (CSS, no JavaScript).

``main()`` measures it in a real browser, directly and through :mod:`slow_link`, beside the
explorer: key press -> new picture for layer moves (answered in the browser) and head moves
(answered by the kernel, with the pre-rendering running after them), whether each picture shown
is the right one (its SHA-256 against the kernel's), bytes on the wire per move, the kernel's
extra rendering, and the widget state a saved notebook would carry per view.

    python bench/jslink_layers.py                       # JupyterLab 4, ipywidgets 8
    .venv-compat/bin/python bench/jslink_layers.py --front notebook6   # Notebook 6.5, ipywidgets 7.7.1

Result (README, «Rendimiento»): layer moves through a 150 ms link drop from ~240 ms to 29-61 ms on
both ipywidgets versions, but the package does not adopt it: head moves got slower and twice as
heavy on ipywidgets 8, fast moves outrun the pre-rendering, and a saved view reaches 245 KB at n=512.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import platform
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import ipywidgets as widgets

# The checkout's attnviz, also in a venv where an installed copy would shadow it (run as a script,
# this file's folder is first on sys.path, not the repository's).
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from attnviz.session import Controls, Session  # noqa: E402

#: Layers on each side of the one shown that are rendered ahead (None: every layer).
NEIGHBOURS = 1
#: Seconds without a move before the kernel pre-renders: the visible picture leaves first.
IDLE_DELAY = 0.05
#: Hides the tab bar of ipywidgets 7's Tab (Lumino/PhosphorJS class names differ by version).
HIDE_TABS = (
    "<style>.attnviz-capas > .p-TabBar, .attnviz-capas > .lm-TabBar {display: none !important}</style>"
)


class LayerStack(widgets.VBox):
    """Prototype: layer slider linked in the browser to a container holding each layer's picture.

    ``layer_slider`` moves are answered by the browser (``jslink`` to the container's
    ``selected_index``); ``head_slider`` moves go to the kernel, which draws the shown layer
    first and then, ``idle_delay`` seconds after the last move, its ``neighbours`` on each side
    (``None``: all layers), one per event-loop turn.  Pictures that no longer match the head are
    emptied, never left stale, and so are pages outside the neighbours (to bound what a saved
    notebook carries).  ``log`` (a path)
    receives one JSON line per kernel event, for the benchmark.
    """

    def __init__(
        self,
        session: Session,
        source: int = 1,
        neighbours: int | None = NEIGHBOURS,
        log: str | None = None,
        idle_delay: float = IDLE_DELAY,
    ) -> None:
        result = session.result
        assert result is not None
        self.session = session
        self.source = source
        self.neighbours = neighbours
        self.event_log = log
        self.idle_delay = idle_delay
        self.layer_slider = widgets.IntSlider(0, 0, result.n_layers - 1, description="Capa:")
        self.head_slider = widgets.IntSlider(0, 0, result.n_heads - 1, description="Cabeza:")
        self.pages = [
            (widgets.Image(format="png"), widgets.HTML(), widgets.HTML()) for _ in range(result.n_layers)
        ]
        children = [widgets.VBox(list(page)) for page in self.pages]
        #: What each page shows: the head it was drawn for, or None (empty).
        self.shown: list[int | None] = [None] * result.n_layers
        if hasattr(widgets, "Stack"):
            self.container: widgets.Box = widgets.Stack(children, selected_index=0)
            extra: list[widgets.Widget] = []
        else:  # ipywidgets 7: Tab has selected_index too; its tab bar is hidden
            self.container = widgets.Tab(children)
            self.container.selected_index = 0
            self.container.add_class("attnviz-capas")
            extra = [widgets.HTML(HIDE_TABS)]
        self.link = widgets.jslink((self.layer_slider, "value"), (self.container, "selected_index"))
        self._last_move = 0.0
        self._scheduled = False
        super().__init__([*extra, self.layer_slider, self.head_slider, self.container])
        self._fill(0)
        self._prefetch()
        self.layer_slider.observe(self._on_layer, names="value")
        self.head_slider.observe(self._on_head, names="value")

    # -- kernel side --------------------------------------------------------------------

    def _fill(self, layer: int) -> float:
        """Draw one layer's page for the current head; returns the ms it took."""
        start = time.perf_counter()
        head = self.head_slider.value
        frame = self.session.frame(Controls(layer=layer, head=head, source=self.source))
        image, metrics, table = self.pages[layer]
        image.value = frame.picture
        metrics.value = frame.metrics
        table.value = frame.table
        self.shown[layer] = head
        ms = 1000 * (time.perf_counter() - start)
        self._write(
            event="fill", layer=layer, head=head, ms=ms, bytes=len(frame.picture),
            sha=hashlib.sha256(frame.picture).hexdigest(),
        )  # fmt: skip
        return ms

    def _on_layer(self, change: dict[str, Any]) -> None:
        layer = change["new"]
        hit = self.shown[layer] == self.head_slider.value
        self._write(event="layer", layer=layer, hit=hit)
        if not hit:  # moved faster than the pre-rendering: draw it now
            self._fill(layer)
        self._prefetch()

    def _on_head(self, change: dict[str, Any]) -> None:
        layer = self.layer_slider.value
        # Never a stale picture: the other pages are emptied, then refilled in idle time.
        for other in range(len(self.pages)):
            if other != layer:
                self._empty(other)
        self._fill(layer)
        self._prefetch()

    def _empty(self, layer: int) -> None:
        if self.shown[layer] is not None:
            image, metrics, table = self.pages[layer]
            image.value, metrics.value, table.value = b"", "", ""
            self.shown[layer] = None

    def _wanted(self) -> list[int]:
        layer, n = self.layer_slider.value, len(self.pages)
        reach = n if self.neighbours is None else self.neighbours
        order = sorted(range(max(0, layer - reach), min(n, layer + reach + 1)), key=lambda i: abs(i - layer))
        return [i for i in order if self.shown[i] != self.head_slider.value]

    def _prefetch(self) -> None:
        """Draw the neighbours once the kernel has been idle for ``idle_delay``, one per loop turn."""
        self._last_move = time.monotonic()
        if self.neighbours is not None:
            layer = self.layer_slider.value
            for other in range(len(self.pages)):
                if abs(other - layer) > self.neighbours:
                    self._empty(other)
        if self._wanted() and not self._scheduled:
            self._scheduled = True
            _later(self.idle_delay, self._prefetch_one)

    def _prefetch_one(self) -> None:
        self._scheduled = False
        quiet = time.monotonic() - self._last_move
        if quiet < self.idle_delay:  # a move came in meanwhile: wait for quiet again
            self._scheduled = True
            _later(self.idle_delay - quiet, self._prefetch_one)
            return
        wanted = self._wanted()
        if not wanted:
            return
        ms = self._fill(wanted[0])
        self._write(event="prefetch", layer=wanted[0], ms=ms)
        if len(wanted) > 1:
            self._scheduled = True
            _later(0.0, self._prefetch_one)

    def _write(self, **event: Any) -> None:
        if self.event_log:
            event["t"] = time.time()
            with open(self.event_log, "a") as out:
                out.write(json.dumps(event) + "\n")


def _later(seconds: float, callback: Any) -> None:
    """Run ``callback`` on the kernel's event loop after ``seconds``, between messages."""
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        loop = asyncio.get_event_loop()
    loop.call_later(seconds, callback)


def state_bytes(widget: widgets.Widget) -> int:
    """Bytes of the widget state a notebook saved with "Save widget state" would carry for ``widget``."""
    from ipywidgets.embed import dependency_state, embed_data

    state = dependency_state(widget)  # this widget and the widgets it holds, no others
    return len(json.dumps(embed_data(views=[widget], state=state)["manager_state"]))


# -- the measurement --------------------------------------------------------------------------

DEFAULT_TEXT = "The big dog that chased the cat crossed the busy street."
LOG = "stack_events.jsonl"
FRAME_LOG = "explorer_frames.jsonl"

CELLS = [
    """
import hashlib, json, sys, time
sys.path[:0] = [{root!r}, {bench!r}]
import torch
import attnviz
from attnviz.session import Session
from jslink_layers import LayerStack, state_bytes

model, tokenizer = attnviz.load_model("minilm")
session = Session()
session.load((model, tokenizer))
session.analyze({text!r})
""",
    """
stack = LayerStack(session, source=1, neighbours={neighbours!r}, log={log!r}, idle_delay={idle!r})
stack.add_class("bench-stack")
stack
""",
    """
explorer = attnviz.explorer(model=(model, tokenizer), text={text!r})
explorer_frame = explorer.session.frame


def logged_frame(controls):
    explorer.session.clear_pictures()  # every move draws, like the stack's first visit
    shown = explorer_frame(controls)
    with open({frame_log!r}, "a") as out:
        sha = hashlib.sha256(shown.picture).hexdigest()
        out.write(json.dumps(dict(layer=controls.layer, head=controls.head, sha=sha)) + "\\n")
    return shown


explorer.session.frame = logged_frame
explorer.add_class("bench-explorer")
explorer
""",
    """
result = session.result
print("threads =", torch.get_num_threads(), "| layers =", result.n_layers, "| n =", result.n_tokens)
""",
]

#: The row of the slider labelled ``{label}`` and its handle, on ipywidgets 8 (noUiSlider) and 7 (jQuery UI).
SLIDER_ROW = ".widget-hslider:has(.widget-label:text-matches('^\\\\s*{label}'))"
HANDLE = {8: ".noUi-handle", 7: ".ui-slider-handle"}

#: Printed by the kernel after the moves: what a notebook saved with its widget state would carry.
STATE = """print(json.dumps({"stack": state_bytes(stack), "explorer": state_bytes(explorer),
                  "stack pages filled": sum(bool(page[0].value) for page in stack.pages)}))"""

DISPLAYED_SHA = """async () => {
    const data = await (await fetch(window.__shown.src)).arrayBuffer();
    const digest = await crypto.subtle.digest('SHA-256', data);
    return [...new Uint8Array(digest)].map(b => b.toString(16).padStart(2, '0')).join('');
}"""


def write_notebook(folder: Path, name: str, text: str, neighbours: int | None, idle: float) -> str:
    import nbformat
    from nbformat.v4 import new_code_cell, new_notebook

    values = {
        "root": str(ROOT),
        "bench": str(Path(__file__).resolve().parent),
        "text": text,
        "neighbours": neighbours,
        "idle": idle,
        "log": LOG,
        "frame_log": FRAME_LOG,
    }
    notebook = new_notebook(cells=[new_code_cell(cell.format(**values).strip()) for cell in CELLS])
    notebook.metadata["kernelspec"] = {"display_name": "Python 3", "language": "python", "name": "python3"}
    folder.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook, folder / name)
    return name


def events(folder: Path, name: str) -> list[dict[str, Any]]:
    path = folder / name
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def sweep(layers: int, presses: int, position: int) -> Iterator[str]:
    """From ``position``, ArrowRight up to the last layer, ArrowLeft back down, and so on."""
    step = 1
    for _ in range(presses):
        if not 0 <= position + step < layers:
            step = -step
        position += step
        yield "ArrowRight" if step > 0 else "ArrowLeft"


def readout(page, container: str, label: str) -> int:
    """What the slider labelled ``label`` in ``container`` reads now."""
    row = page.locator(f"{container} {SLIDER_ROW.replace('{label}', label)}").first
    return int(float(row.locator(".widget-readout").first.inner_text()))


def run_moves(
    page, container: str, slider: str, keys: list[str], link: Any, pause: float, version: int
) -> list[dict[str, Any]]:
    """Press ``keys`` on ``slider`` in ``container``.

    Per press: latency, bytes down, the SHA-256 of the picture shown and the layer and head the
    sliders then read (to check that the picture is the one for them).
    """
    from browser_latency import press_and_time

    handle = page.locator(f"{container} {SLIDER_ROW.replace('{label}', slider)} {HANDLE[version]}").first
    handle.scroll_into_view_if_needed()
    handle.focus()
    moves = []
    for i, key in enumerate(keys):
        before = link.counters()[0] if link else 0
        try:
            total, arrived, blank = press_and_time(page, container, "img.widget-image", key)
        except Exception as err:
            where = f"layer {readout(page, container, 'Capa')}, head {readout(page, container, 'Cabeza')}"
            raise RuntimeError(f"{container} {slider}: press {i} ({key}) at {where}: {err}") from err
        sha = page.evaluate(DISPLAYED_SHA)
        time.sleep(pause)
        moves.append(
            {
                "total": total,
                "arrived": arrived,
                "blank": blank,
                "sha": sha,
                "view": (readout(page, container, "Capa"), readout(page, container, "Cabeza")),
                "wire": (link.counters()[0] - before) if link else None,
            }
        )
    return moves


def widgets_shown(page, seconds: float = 30.0) -> bool:
    """Whether the stack's and the explorer's pictures appear within ``seconds``."""
    try:
        for who in ("stack", "explorer"):
            page.locator(f".bench-{who} img.widget-image").first.wait_for(
                state="attached", timeout=seconds * 1000
            )
    except Exception:
        return False
    return True


def measure_page(browser, url: str, folder: Path, front: str, presses: int, link: Any) -> dict[str, Any]:
    from browser_latency import percentile
    from jupyter_browser import kernel_print, open_classic, run_all_cells, run_all_classic

    version = 7 if front == "notebook6" else 8
    pause = 0.15 + (link.rtt_ms / 1000 if link else 0.0)
    page = browser.new_page(viewport={"width": 1400, "height": 2400})
    try:
        if front == "notebook6":
            # Notebook 6's widget manager redraws widget outputs at the end of its start-up:
            # run the cells after it (see jupyter_browser.open_classic).
            open_classic(page, url, timeout_ms=300_000)
            run_all_classic(page)
        else:
            page.goto(url, timeout=300_000)
            run_all_cells(page)
        assert widgets_shown(page), "the widgets did not appear"
        header = page.locator("text=/^threads = /").first.inner_text().strip()
        layers = int(header.split("layers =")[1].split("|")[0])
        time.sleep(2 + (link.rtt_ms / 100 if link else 0))  # the first neighbours arrive
        rows: dict[str, Any] = {"header": header}
        # Layer moves answered in the browser, then the same moves through the kernel (explorer, redraws).
        for who in ("stack", "explorer"):
            container = f".bench-{who}"
            keys = list(sweep(layers, presses, readout(page, container, "Capa")))
            rows[f"{who} layer"] = run_moves(page, container, "Capa", keys, link, pause, version)
        # Head moves: the kernel draws the shown layer, then pre-renders its neighbours.
        head_keys = ["ArrowRight" if i % 2 == 0 else "ArrowLeft" for i in range(presses)]
        rows["stack head"] = run_moves(page, ".bench-stack", "Cabeza", head_keys, link, pause, version)
        rows["explorer head"] = run_moves(page, ".bench-explorer", "Cabeza", head_keys, link, pause, version)
        # A fast burst through the layers right after a head move: does pre-rendering keep up?
        burst_keys = list(sweep(layers, layers - 1, readout(page, ".bench-stack", "Capa")))
        run_moves(page, ".bench-stack", "Cabeza", ["ArrowRight"], link, 0.0, version)
        rows["stack layer burst"] = run_moves(page, ".bench-stack", "Capa", burst_keys, link, 0.05, version)
        time.sleep(1 + (link.rtt_ms / 100 if link else 0))  # pre-rendering done
        state = json.loads(kernel_print(page, STATE, front))
    finally:
        page.close()

    fills = events(folder, LOG)
    # The pictures the kernel drew for each (layer, head): what the page may show for that view.
    drawn: dict[str, dict[tuple[int, int], set[str]]] = {"stack": {}, "explorer": {}}
    for who, entries in (
        ("stack", [e for e in fills if e["event"] == "fill"]),
        ("explorer", events(folder, FRAME_LOG)),
    ):
        for entry in entries:
            drawn[who].setdefault((entry["layer"], entry["head"]), set()).add(entry["sha"])
    summary: dict[str, Any] = {"header": rows.pop("header"), "state": state}
    for name, moves in rows.items():
        totals = [move["total"] for move in moves]
        wire = [float(move["wire"]) for move in moves if move["wire"] is not None]
        summary[name] = {
            "p50": percentile(totals, 0.5),
            "p95": percentile(totals, 0.95),
            "wire_p50": percentile(wire, 0.5) if wire else None,
            "moves": len(moves),
            "blanks": sum(move["blank"] for move in moves),
            "wrong_pictures": sum(
                move["sha"] not in drawn[name.split()[0]].get(move["view"], ()) for move in moves
            ),
        }
    layer_events = [entry for entry in fills if entry["event"] == "layer"]
    prefetches = [entry["ms"] for entry in fills if entry["event"] == "prefetch"]
    # A page drawn for the first time is a real redraw; refills come from the session's picture cache.
    first_draws: dict[tuple[int, int], float] = {}
    for entry in fills:
        if entry["event"] == "fill":
            first_draws.setdefault((entry["layer"], entry["head"]), entry["ms"])
    summary["kernel"] = {
        "layer moves heard": len(layer_events),
        "misses (page empty when the move reached the kernel)": sum(
            not entry["hit"] for entry in layer_events
        ),
        "pre-rendered pictures": len(prefetches),
        "pre-render ms p50": round(percentile(prefetches, 0.5), 1),
        "first drawing of a page ms p50": round(percentile(list(first_draws.values()), 0.5), 1),
        "pages drawn": len(first_draws),
    }
    return summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--front", choices=["lab", "notebook6"], default="lab")
    parser.add_argument("--presses", type=int, default=20)
    parser.add_argument("--neighbours", type=int, default=NEIGHBOURS, help="-1: every layer")
    parser.add_argument(
        "--links", default="150:10", help="rtt_ms:mbit,... besides the direct run ('' for none)"
    )
    parser.add_argument(
        "--idle-delay", type=float, default=IDLE_DELAY, help="seconds of quiet before pre-rendering"
    )
    parser.add_argument("--text", default=DEFAULT_TEXT)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from browser_latency import load_line, parse_links, publish, shut_down_kernels
    from jupyter_browser import chromium, jupyter_server
    from slow_link import SlowLink

    neighbours = None if args.neighbours < 0 else args.neighbours
    load_before = os.getloadavg()
    started = time.perf_counter()
    results: list[tuple[str, dict[str, Any]]] = []
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        work = home / "work"
        configs: list[tuple[float, float | None] | None] = [None, *parse_links(args.links)]
        names = [
            write_notebook(work, f"stack{i}.ipynb", args.text, neighbours, args.idle_delay)
            for i in range(len(configs))
        ]
        kind = "notebook6" if args.front == "notebook6" else "lab"
        with jupyter_server(kind, work, names[0], home) as url, chromium() as browser:
            port = int(url.split(":")[2].split("/")[0])
            for config, name in zip(configs, names, strict=True):
                for log in (LOG, FRAME_LOG):
                    (work / log).unlink(missing_ok=True)
                page_url = url.replace(names[0], name) + ("?reset" if kind == "lab" else "")
                if config is None:
                    results.append(
                        ("direct", measure_page(browser, page_url, work, args.front, args.presses, None))
                    )
                else:
                    with SlowLink(port, *config) as link:
                        proxied = page_url.replace(f":{port}/", f":{link.port}/")
                        summary = measure_page(browser, proxied, work, args.front, args.presses, link)
                    results.append((link.label, summary))
                shut_down_kernels(url)
    load_after = os.getloadavg()

    container = "Stack" if hasattr(widgets, "Stack") else "Tab with its bar hidden"
    lines = [
        f"jslink prototype ({args.front}, ipywidgets {widgets.__version__}, neighbours = {neighbours}, "
        f"idle delay = {args.idle_delay} s, {container}): key press -> new picture, ms",
        "",
        "| link | what | p50 | p95 | bytes on the wire per move p50 | moves | empty first | wrong pictures |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for label, summary in results:
        for name in ("stack layer", "explorer layer", "stack head", "explorer head", "stack layer burst"):
            row = summary[name]
            wire = "" if row["wire_p50"] is None else f"{row['wire_p50']:.0f}"
            lines.append(
                f"| {label} | {name} | {row['p50']:.1f} | {row['p95']:.1f} | {wire} | {row['moves']} | "
                f"{row['blanks']} | "
                f"{row['wrong_pictures']} |"
            )
    lines.append("")
    for label, summary in results:
        lines.append(
            f"{label}: {summary['header']}; kernel: {json.dumps(summary['kernel'])}; "
            f"widget state bytes after the moves: {json.dumps(summary['state'])}"
        )
    command = " ".join(argv if argv is not None else sys.argv[1:])
    lines += [
        "",
        f"Python {platform.python_version()} · {os.cpu_count()} CPU · {time.perf_counter() - started:.0f} s. "
        + load_line(load_before, load_after),
        f"Command: {Path(sys.executable).parent.parent.name}/bin/python bench/jslink_layers.py {command}",
    ]
    publish(lines, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
