"""Speed benchmark: naive redraw vs attnviz's renderer, explorer vs BertViz, in one process.

    python bench/redraw_speed.py --out bench.md            # about 5 minutes on 2 cores
    python bench/redraw_speed.py --quick --out bench.md    # fewer repeats, BertViz up to n=128
    python bench/redraw_speed.py --quick --sizes 14,512 --threads 1   # comparable runs on a busy machine

Development code, not part of the installed package: it needs the
repository's tests/fixtures.

Uses a BETO-shaped random model (12 layers x 12 heads, hidden 768: the real
forward cost) built from tests/fixtures/beto-cased, so no download, and
BETO's real vocabulary, so the labels the renderer draws are real words
(the run stops if more than 3 % of the tokens are ``[UNK]``).  BertViz is
optional (``pip install --no-deps bertviz==1.4.1``); without it its columns
say why they are missing.  Timings are wall clock on whatever else the
machine is doing: every report gives torch's thread count and the load
average before and after each size; ``--threads 1`` keeps torch off the
second core, for runs comparable on a shared machine.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import gc
import io
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
import tracemalloc
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from attnviz.core.extraction import extract
from attnviz.core.result import AttentionResult
from attnviz.explore.canvas import ArcRenderer
from attnviz.explore.png import encode_png

# The naive redraw is the tests' (tests/baseline.py, checked by tests/test_render.py). Run as a script,
# this file's folder is first on sys.path, not the repository's.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.baseline import naive_render

SIZES = (14, 64, 128, 512)
FIXTURE = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "beto-cased"
TEXT = (
    "El perro que persiguió al gato cruzó la calle. La niña que leía un libro en el parque "
    "levantó la vista cuando oyó los ladridos, y su abuelo, que dormía en un banco, se despertó. "
)
TARGETS = {
    "attnviz": "≤ 10 ms p50 a n=14; ≤ 15 ms a n=512 (con etiquetas reales)",
    "first": "≤ pasada + 50 ms",
    "bytes": "≤ 200 KB por vista en el cuaderno; ≤ 35 KB por imagen a n=14",
}
#: Largest share of [UNK] tokens a run accepts: more means the tokenizer lost its vocabulary.
MAX_UNKNOWN = 0.03


def beto_shaped_model() -> tuple[Any, Any]:
    """Random BertModel with BETO's real config (12x12, hidden 768) and BETO's vocabulary."""
    import torch
    from transformers import BertConfig, BertModel, BertTokenizerFast  # type: ignore[attr-defined]

    config = BertConfig(**json.loads((FIXTURE / "config.json").read_text()))
    config._attn_implementation = "eager"
    torch.manual_seed(0)
    model = BertModel(config).eval()
    model.name_or_path = "BETO-shaped (aleatorio, 12x12, 768)"
    # From the folder, as attnviz.load_model builds a vocab.txt-only tokenizer for the tests
    # (``BertTokenizerFast(vocab_file=...)`` silently keeps 5 tokens under transformers 5).
    tokenizer = BertTokenizerFast.from_pretrained(str(FIXTURE), do_lower_case=False)
    check_vocabulary(tokenizer)
    return model, tokenizer


def check_vocabulary(tokenizer: Any) -> float:
    """Share of [UNK] in the benchmark's text; stop the run above :data:`MAX_UNKNOWN`."""
    ids = tokenizer(TEXT, add_special_tokens=False)["input_ids"]
    share = sum(i == tokenizer.unk_token_id for i in ids) / max(len(ids), 1)
    if share > MAX_UNKNOWN:
        raise SystemExit(
            f"El tokenizador del benchmark convierte el {share:.0%} de los tokens en [UNK] "
            f"(vocabulario de {len(tokenizer)}): las etiquetas no serían reales. Revisa cómo se construye."
        )
    return share


def sentence(n: int) -> str:
    """A Spanish text of at least ``n`` tokens (extraction cuts it to exactly ``n``)."""
    return TEXT * (1 + n // 40)


def result_of_length(model: Any, tokenizer: Any, n: int) -> Any:
    with limited_length(tokenizer, n), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = extract(model, tokenizer, sentence(n))
    assert result.n_tokens == n, (result.n_tokens, n)
    return result


class limited_length:
    """Make the tokenizer cut at ``n`` tokens, so every size is exact."""

    def __init__(self, tokenizer: Any, n: int) -> None:
        self.tokenizer, self.n = tokenizer, n

    def __enter__(self) -> None:
        self.saved = self.tokenizer.model_max_length
        self.tokenizer.model_max_length = self.n

    def __exit__(self, *exc: object) -> None:
        self.tokenizer.model_max_length = self.saved


def slider_moves(result: Any, count: int) -> Iterator[tuple[int, int, int]]:
    """What a student does: step the layer, then the head, now and then another token."""
    layers, heads, n = result.n_layers, result.n_heads, result.n_tokens
    for i in range(count):
        yield (i % layers, (i // layers) % heads, (1 + 3 * (i // (layers * heads // 4 or 1))) % n)


def timed(function: Callable[[], object], repeat: int, cpu: list[float] | None = None) -> list[float]:
    """Wall-clock milliseconds per call; ``cpu`` also collects this thread's CPU milliseconds.

    On a shared machine the wall clock includes time waiting for a core;
    the thread's CPU time does not, and says what the redraw itself costs.
    """
    samples = []
    for _ in range(repeat):
        start, start_cpu = time.perf_counter(), time.thread_time()
        function()
        samples.append((time.perf_counter() - start) * 1000.0)
        if cpu is not None:
            cpu.append((time.thread_time() - start_cpu) * 1000.0)
    return samples


def p50_p95(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return statistics.median(ordered), p95


def widget_state_bytes(widget: Any) -> int:
    """Bytes the widget state of ``widget`` and its children adds to a saved notebook."""
    import ipywidgets as widgets

    found: dict[str, Any] = {}

    def walk(w: Any) -> None:
        if w.model_id in found:
            return
        found[w.model_id] = w
        for name in w.keys:
            value = getattr(w, name, None)
            for item in value if isinstance(value, (list, tuple)) else [value]:
                if isinstance(item, widgets.Widget):
                    walk(item)

    walk(widget)
    state = widgets.Widget.get_manager_state(drop_defaults=True, widgets=list(found.values()))
    view = {
        "application/vnd.jupyter.widget-view+json": {
            "model_id": widget.model_id,
            "version_major": 2,
            "version_minor": 0,
        }
    }
    return len(json.dumps(state).encode()) + len(json.dumps(view).encode())


def bertviz_view(result: Any) -> tuple[int | None, float | None, str]:
    """(bytes, ms, note) of one BertViz ``head_view`` of the same attention."""
    try:
        import torch
        from bertviz import head_view
    except Exception as err:  # the benchmark reports why instead of failing
        return None, None, f"BertViz no se puede importar ({type(err).__name__}: {err})"
    start = time.perf_counter()
    attention = tuple(torch.from_numpy(np.array(layer))[None] for layer in result.attention)
    html = head_view(attention, list(result.tokens), html_action="return")
    elapsed = (time.perf_counter() - start) * 1000.0
    size = len(html.data.encode())
    del html, attention
    gc.collect()
    return size, elapsed, ""


def time_calls(owner: Any, name: str, log: list[float]) -> None:
    """Replace ``owner.name`` by a wrapper that appends its milliseconds to ``log``."""
    original: Callable[..., Any] = getattr(owner, name)

    @functools.wraps(original)  # the model's signature is read to filter its inputs
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            log.append((time.perf_counter() - start) * 1000.0)

    setattr(owner, name, wrapper)


@contextlib.contextmanager
def timing(owner: Any, name: str, log: list[float]) -> Iterator[None]:
    """:func:`time_calls` for the duration of a ``with`` block."""
    own = vars(owner).get(name, None) if hasattr(owner, "__dict__") else None
    time_calls(owner, name, log)
    try:
        yield
    finally:
        if own is None:
            delattr(owner, name)
        else:
            setattr(owner, name, own)


def forward_ms(model: Any, tokenizer: Any, n: int, repeat: int, warm: bool = True) -> list[float]:
    import torch

    encoding = tokenizer(sentence(n), truncation=True, max_length=n, return_tensors="pt")
    with torch.inference_mode():
        if warm:
            model(**encoding, output_attentions=True)
        return timed(lambda: model(**encoding, output_attentions=True), repeat)


def first_picture_ms(
    model: Any, tokenizer: Any, result: AttentionResult, move: tuple[int, int, int]
) -> tuple[float, float, float]:
    """Milliseconds from a new sentence's result to its first arc picture, in the three cases
    the renderer has: no spare figure, a spare one of another length, one of the same length."""
    from attnviz.explore import canvas as render

    def build() -> float:
        start = time.perf_counter()
        ArcRenderer(result).render(*move)  # gone at once: its figure is free for the next one
        return (time.perf_counter() - start) * 1000.0

    render._FIGURES.clear()
    cold = build()
    other = result_of_length(model, tokenizer, result.n_tokens - 1)
    ArcRenderer(other).render(*move)
    laid_out_again = build()
    same = build()
    return cold, laid_out_again, same


def redraw_parts(renderer: ArcRenderer, moves: list[tuple[int, int, int]]) -> dict[str, float]:
    """Median milliseconds of each part of a redraw: the view's numbers, artists, drawing, PNG."""
    parts: dict[str, list[float]] = {"vista": [], "artistas": [], "dibujo": [], "PNG": []}
    for layer, head, source in moves:
        start = time.perf_counter()
        view = renderer._view(layer, head, source, None, None, renderer.scale)
        viewed = time.perf_counter()
        renderer.update(view)
        updated = time.perf_counter()
        renderer.draw()
        drawn = time.perf_counter()
        assert renderer.encoder is not None
        renderer.encoder.encode(renderer.figure)
        encoded = time.perf_counter()
        for name, a, b in (
            ("vista", start, viewed),
            ("artistas", viewed, updated),
            ("dibujo", updated, drawn),
            ("PNG", drawn, encoded),
        ):
            parts[name].append((b - a) * 1000.0)
    return {name: statistics.median(values) for name, values in parts.items()}


def palette_fidelity(
    renderer: ArcRenderer, moves: list[tuple[int, int, int]]
) -> tuple[float, float, float, int]:
    """Palette PNG against the lossless canvas: max and mean channel difference, worst 99.9th
    percentile, and the RGB PNG's bytes (median), over ``moves``."""
    from PIL import Image

    worst, means, high, rgb_bytes = 0, [], [], []
    for move in moves:
        png = renderer.render(*move)
        canvas = np.asarray(renderer.canvas.agg.buffer_rgba())[..., :3].astype(np.int16)
        decoded = np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).astype(np.int16)
        difference = np.abs(decoded - canvas)
        worst = max(worst, int(difference.max()))
        means.append(float(difference.mean()))
        high.append(float(np.percentile(difference.max(axis=-1), 99.9)))
        rgb_bytes.append(len(encode_png(renderer.figure, max_bytes=None)))
    return float(worst), float(np.mean(means)), float(max(high)), int(statistics.median(rgb_bytes))


def machine_state() -> str:
    """torch's thread count and the load average, for the report."""
    import torch

    load = " ".join(f"{x:.1f}" for x in _loadavg())
    threads = torch.get_num_threads()
    return f"{threads} {'hilo' if threads == 1 else 'hilos'} de torch; carga {load}"


def measure_size(
    model: Any,
    tokenizer: Any,
    n: int,
    quick: bool,
    bertviz_max: int,
    put: Callable[[str, int, str], None],
    notes: list[str],
) -> None:
    """Every measurement at one sentence length, in the order a student meets them."""
    from attnviz.explore.widget import Explorer

    before = machine_state()
    redraws = 12 if quick else 40
    naive_repeat = {14: 10, 64: 8, 128: 6, 512: 3} if quick else {14: 30, 64: 20, 128: 12, 512: 5}
    result = result_of_length(model, tokenizer, n)
    unknown = sum(token == "[UNK]" for token in result.tokens) / n
    put("etiquetas reales: tokens [UNK]", n, f"{unknown:.0%}")

    moves = list(slider_moves(result, redraws))
    naive_moves = iter(moves * 3)
    naive_cpu: list[float] = []
    naive = timed(lambda: naive_render(result, *next(naive_moves)), naive_repeat.get(n, 3), naive_cpu)
    put(
        "redibujo ingenuo (figura nueva + plot_arcs + PNG), ms p50 / p95",
        n,
        "{:.0f} / {:.0f}".format(*p50_p95(naive)),
    )

    build_ms = first_picture_ms(model, tokenizer, result, moves[0])
    renderer = ArcRenderer(result)
    renderer.render(*moves[0])
    fast_moves = iter(moves)
    fast_cpu: list[float] = []
    fast = timed(lambda: renderer.render(*next(fast_moves)), len(moves), fast_cpu)
    p50, p95 = p50_p95(fast)
    put(
        "redibujo attnviz con título (blit + PNG), ms p50 / p95 (CPU del hilo p50)",
        n,
        f"{p50:.1f} / {p95:.1f} ({statistics.median(fast_cpu):.1f})",
    )
    untitled = ArcRenderer(result, title=False)
    untitled.render(*moves[0])
    bare_moves = iter(moves)
    bare_cpu: list[float] = []
    bare = timed(lambda: untitled.render(*next(bare_moves)), len(moves), bare_cpu)
    put(
        "redibujo attnviz sin título (title=False: el título va fuera), ms p50 / p95 (CPU del hilo p50)",
        n,
        "{:.1f} / {:.1f} ({:.1f})".format(*p50_p95(bare), statistics.median(bare_cpu)),
    )
    parts = redraw_parts(renderer, moves)
    put(
        "redibujo con título por partes, ms p50: " + " / ".join(parts),
        n,
        " / ".join(f"{v:.1f}" for v in parts.values()),
    )
    put(
        "tiempo de CPU del hilo por redibujo, ms p50: ingenuo / attnviz",
        n,
        f"{statistics.median(naive_cpu):.0f} / {statistics.median(fast_cpu):.1f}",
    )
    put("aceleración (p50 ingenuo / p50 attnviz)", n, f"×{p50_p95(naive)[0] / p50:.1f}")
    sizes = [len(renderer.render(*move)) for move in moves]
    worst, mean, high, rgb = palette_fidelity(renderer, moves[:6])
    width, height = renderer.canvas.get_width_height()
    put(
        "bytes por imagen: PNG con paleta p50 (RGB sin pérdida), píxeles",
        n,
        f"{statistics.median(sizes) / 1024:.1f} KB ({rgb / 1024:.0f} KB), {width}×{height}",
    )
    put(
        "paleta frente a RGB: diferencia máx / media / percentil 99,9 (niveles 0–255)",
        n,
        f"{worst:.0f} / {mean:.3f} / {high:.0f}",
    )
    put(
        "primera imagen de una frase nueva (renderizador + imagen), ms: sin figura libre / "
        "figura de otra longitud / de la misma longitud",
        n,
        " / ".join(f"{ms:.0f}" for ms in build_ms),
    )

    forward = forward_ms(model, tokenizer, n, 3 if n == 512 else 5)
    put("pasada del modelo sola (forward con atención), ms p50", n, f"{statistics.median(forward):.0f}")

    # The explorer end to end: new sentences, each paired with a forward pass alone, so that the
    # pairs see the same machine (one sample varied by +-100 ms at n=512).  The pass alone comes
    # after the sentence in even pairs and before it in odd ones: whichever runs second was
    # measured up to 60 ms faster or slower in a fixed order.
    # The explorer's own pass is timed too (its model.forward), which gives the time after the
    # pass without the pass's noise.
    firsts, excess, after_pass, own_pass, passes, alones = [], [], [], [], [], []
    with limited_length(tokenizer, n), warnings.catch_warnings(), timing(model, "forward", own_pass):
        warnings.simplefilter("ignore")
        explorer = Explorer((model, tokenizer), sentence(n))
        for i in range(8 if n == 512 else 6):  # n=512: more pairs, its forward varies by +-50 ms
            alone = forward_ms(model, tokenizer, n, 1, warm=False)[0] if i % 2 else None
            own_pass.clear()
            start = time.perf_counter()
            explorer.text.value = sentence(n) + f" Otra {i}."
            firsts.append((time.perf_counter() - start) * 1000.0)
            after_pass.append(firsts[-1] - own_pass[0])
            passes.append(own_pass[0])
            if alone is None:
                alone = forward_ms(model, tokenizer, n, 1, warm=False)[0]
            alones.append(alone)
            excess.append(firsts[-1] - alone)
    put(
        "explorador: frase nueva → primera imagen, ms p50; "
        "menos la pasada sola justo antes o después, p50 (máx)",
        n,
        f"{statistics.median(firsts):.0f}; {statistics.median(excess):+.0f} ({max(excess):+.0f})",
    )
    put(
        "explorador: frase nueva, de la respuesta del modelo a la primera imagen, ms p50 (máx)",
        n,
        f"{statistics.median(after_pass):.0f} ({max(after_pass):.0f})",
    )
    put(
        "explorador: su propia pasada / la pasada sola de los mismos pares, ms p50",
        n,
        f"{statistics.median(passes):.0f} / {statistics.median(alones):.0f}",
    )
    steps = iter(range(1, 10_000))

    def move_layer() -> None:
        # Forget the pictures already made: every move must draw (revisits are instant otherwise).
        explorer.session.clear_pictures()
        explorer.layer_slider.value = next(steps) % result.n_layers

    slider = timed(move_layer, redraws)
    put(
        "explorador: capa nueva (redibujo + tabla + métricas), ms p50 / p95",
        n,
        "{:.1f} / {:.1f}".format(*p50_p95(slider)),
    )
    back_and_forth = iter([0, 1] * redraws)

    def revisit() -> None:
        explorer.layer_slider.value = next(back_and_forth)

    revisit()
    revisit()  # both pictures are now in the explorer's cache
    cached = timed(revisit, redraws)
    put(
        "explorador: capa ya vista (imagen de la caché), ms p50 / p95",
        n,
        "{:.1f} / {:.1f}".format(*p50_p95(cached)),
    )
    put(
        "explorador: bytes guardados en el cuaderno (una vista)",
        n,
        f"{widget_state_bytes(explorer) / 1024:.0f} KB",
    )

    if n <= bertviz_max:
        size, ms, why = bertviz_view(result)
        if size is None or ms is None:
            put("BertViz head_view: bytes de salida", n, "falta")
            notes.append(why)
        else:
            put("BertViz head_view: bytes de salida", n, f"{size / 1024:.0f} KB")
            put(
                "BertViz: frase nueva → vista (pasada + HTML), ms",
                n,
                f"{statistics.median(forward) + ms:.0f}",
            )
    else:
        put("BertViz head_view: bytes de salida", n, f"no medido (n > {bertviz_max})")
    explorer.close()
    put("máquina: antes → después de esta columna", n, f"{before} → {machine_state()}")


def run(
    quick: bool, bertviz_max: int, sizes: tuple[int, ...] = SIZES, memory: bool = True
) -> tuple[list[list[str]], list[str]]:
    import matplotlib

    matplotlib.use("Agg")
    model, tokenizer = beto_shaped_model()
    rows: dict[str, list[str]] = {}
    notes: list[str] = []

    def put(name: str, n: int, text: str) -> None:
        rows.setdefault(name, [""] * len(sizes))[sizes.index(n)] = text

    for n in sizes:
        print(f"n={n}…", file=sys.stderr, flush=True)
        measure_size(model, tokenizer, n, quick, bertviz_max, put, notes)
        gc.collect()

    header = ["medida", *(f"n={n}" for n in sizes)]
    if not memory or 512 not in sizes:
        return [header, *([name, *cells] for name, cells in rows.items())], notes
    print("memoria a n=512…", file=sys.stderr, flush=True)
    probe_run = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--memory-probe"], capture_output=True, text=True
    )
    try:
        probe = json.loads(probe_run.stdout.strip().splitlines()[-1])
        put(
            "memoria pico a n=512 sobre el modelo cargado (proceso aparte): extracción / + primera imagen",
            512,
            f"+{probe['extract_mib']:.0f} / +{probe['render_mib']:.0f} MiB (numpy {probe['numpy_mib']:.0f} "
            f"MiB; pila de atención {probe['stack_mib']:.0f} MiB)",
        )
    except (ValueError, IndexError, KeyError):
        put("memoria pico a n=512 (proceso aparte)", 512, "falta")
        notes.append(f"La medida de memoria falló: {probe_run.stderr.strip().splitlines()[-1:]}")
    table = [header, *([name, *cells] for name, cells in rows.items())]
    return table, notes


def memory_probe() -> dict[str, float]:
    """Peak resident memory of one n=512 extraction and first picture, above the loaded model.

    Runs in its own process (``--memory-probe``) so that the other
    measurements, and BertViz's huge lists, do not hide it.  The kernel's
    high-water mark is reset after loading the model where Linux allows it.
    """
    import matplotlib

    matplotlib.use("Agg")

    model, tokenizer = beto_shaped_model()
    # Warm up at n=512 once: the first forward pass maps kernels and thread
    # buffers that belong to torch, not to what attnviz keeps.
    del_me = result_of_length(model, tokenizer, 512)
    del del_me
    gc.collect()
    base = _reset_peak_rss()
    tracemalloc.start()
    result = result_of_length(model, tokenizer, 512)
    _, numpy_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    extract_peak = _peak_rss()
    ArcRenderer(result).render(0, 0, 1)
    render_peak = _peak_rss()
    return {
        "extract_mib": (extract_peak - base) / 2**20,
        "render_mib": (render_peak - base) / 2**20,
        "numpy_mib": numpy_peak / 2**20,
        "stack_mib": result.attention.nbytes / 2**20,
    }


def _peak_rss() -> float:
    """Peak resident bytes: VmHWM (resettable) on Linux, else ru_maxrss."""
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return float(line.split()[1]) * 1024
    scale = 1 if sys.platform == "darwin" else 1024
    return float(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) * scale


def _current_rss() -> float:
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmRSS:"):
                return float(line.split()[1]) * 1024
    return _peak_rss()


def _reset_peak_rss() -> float:
    """Reset the high-water mark to the current size (Linux) and return the baseline."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return _current_rss()
    except OSError:
        return _peak_rss()  # cannot reset: measure the rise above the earlier peak


def markdown(table: list[list[str]]) -> str:
    lines = ["| " + " | ".join(table[0]) + " |", "|" + "---|" * len(table[0])]
    lines += ["| " + " | ".join(row) + " |" for row in table[1:]]
    return "\n".join(lines)


def environment() -> str:
    import matplotlib
    import torch
    import transformers

    try:
        import ipywidgets

        widgets_version = ipywidgets.__version__
    except ImportError:
        widgets_version = "—"
    return (
        f"Python {platform.python_version()} · torch {torch.__version__} · transformers "
        f"{transformers.__version__} · matplotlib {matplotlib.__version__} · ipywidgets "
        f"{widgets_version} · {platform.machine()} · {_cpu_count()} CPU"
    )


def _cpu_count() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python bench/redraw_speed.py", description=__doc__.split("\n")[0])
    parser.add_argument("--out", help="write the table as markdown to this file too")
    parser.add_argument("--quick", action="store_true", help="fewer repeats")
    parser.add_argument(
        "--bertviz-max",
        type=int,
        default=128,
        help="largest n for BertViz (n=512 takes ~1 min and ~2 GB; default 128)",
    )
    parser.add_argument(
        "--sizes",
        default=",".join(map(str, SIZES)),
        help=f"comma-separated sentence lengths from 2 to 512 (default: {','.join(map(str, SIZES))})",
    )
    parser.add_argument(
        "--threads", type=int, help="torch threads (1: comparable runs on a shared machine; default: torch's)"
    )
    parser.add_argument(
        "--no-memory", action="store_true", help="skip the n=512 memory probe (a second process)"
    )
    parser.add_argument("--memory-probe", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.threads is not None:
        import torch

        torch.set_num_threads(args.threads)
    if args.memory_probe:
        print(json.dumps(memory_probe()))
        return 0
    sizes = tuple(int(n) for n in args.sizes.split(","))
    if any(not 2 <= n <= 512 for n in sizes):
        parser.error("--sizes: each length must be from 2 to 512")
    started = time.perf_counter()
    table, notes = run(args.quick, args.bertviz_max, sizes, memory=not args.no_memory)
    command = "python bench/redraw_speed.py " + " ".join(sys.argv[1:] if argv is None else argv)
    text = "\n".join(
        [
            markdown(table),
            "",
            f"Objetivos: redibujo {TARGETS['attnviz']}; frase nueva {TARGETS['first']}; "
            f"salida {TARGETS['bytes']}.",
            f"Entorno: {environment()}. Al terminar: {machine_state()}. "
            f"Duración: {time.perf_counter() - started:.0f} s.",
            f"Comando: `{command.strip()}`",
            *notes,
        ]
    )
    print(text)
    if args.out:
        Path(args.out).write_text(text + "\n", encoding="utf-8")
    return 0


def _loadavg() -> tuple[float, ...]:
    return os.getloadavg() if hasattr(os, "getloadavg") else ()


if __name__ == "__main__":
    raise SystemExit(main())
