"""Heatmap slider steps: the explorer's old path (new figure per step) vs :class:`HeatmapRenderer`.

    python bench/heatmap_speed.py                  # n = 14, 128, 300, 512; about 2 minutes on 2 cores
    python bench/heatmap_speed.py --sizes 300 --out heatmap.md

Development code, not part of the installed package: it needs the
offline model (all-MiniLM-L6-v2, 6 x 12: real attention patterns and real
word pieces as labels).  Each step is what a
student does: the layer slider (one head), the head mean and the rollout
of that layer, then the source token.  Target: a layer step ≤ 100 ms at
n = 300.  Timings are wall clock (and this thread's CPU time) on whatever
else the machine is doing.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

# A sibling module: run as a script, this file's folder is first on sys.path.
from redraw_speed import result_of_length

from attnviz.core.aggregate import head_mean, rollout
from attnviz.core.loading import load_model
from attnviz.core.result import AttentionResult
from attnviz.explore.canvas import FigureRenderer
from attnviz.explore.heatmap_render import MAX_SIDE, HeatmapRenderer
from attnviz.plots.heatmap import figure_size, plot_heatmap

SIZES = (14, 128, 300, 512)
TARGET_MS = 100.0
TARGET_N = 300


def timed(step: Callable[[int], object], count: int) -> tuple[list[float], list[float]]:
    """Wall-clock and thread-CPU milliseconds of ``step(0)``, ``step(1)``, …"""
    wall, cpu = [], []
    for i in range(count):
        start, start_cpu = time.perf_counter(), time.thread_time()
        step(i)
        wall.append((time.perf_counter() - start) * 1000.0)
        cpu.append((time.thread_time() - start_cpu) * 1000.0)
    return wall, cpu


def p50_p90(samples: list[float]) -> str:
    ordered = sorted(samples)
    p90 = ordered[min(len(ordered) - 1, round(0.9 * (len(ordered) - 1)))]
    return f"{statistics.median(ordered):.0f} / {p90:.0f}"


def steps(result: AttentionResult, matrices: dict[str, list[np.ndarray]]) -> dict[str, Callable[..., Any]]:
    """What each kind of slider move draws: ``draw(layer, head, source, matrix, title)``."""
    source = result.n_tokens // 2
    layers = result.n_layers
    return {
        "capa (una cabeza)": lambda draw, i: draw(i % layers, 5, source, None, None),
        "capa (media de cabezas)": lambda draw, i: draw(
            i % layers, 0, source, matrices["mean"][i % layers], "Media"
        ),
        "capa (rollout)": lambda draw, i: draw(
            i % layers, 0, source, matrices["rollout"][i % layers], "Rollout"
        ),
        "token de origen": lambda draw, i: draw(3, 5, (7 * i + 1) % result.n_tokens, None, None),
    }


def measure(result: AttentionResult, count: int, old_count: int) -> list[tuple[str, str, str, str]]:
    """Rows (move, old path ms, renderer ms, renderer CPU ms) at one length."""
    matrices = {
        "mean": [head_mean(result, layer) for layer in range(result.n_layers)],
        "rollout": [rollout(result, layer) for layer in range(result.n_layers)],
    }
    old = FigureRenderer(figure_size(result.n_tokens, MAX_SIDE))

    def old_draw(layer: int, head: int, source: int, matrix: np.ndarray | None, title: str | None) -> bytes:
        return old.render(
            lambda ax: plot_heatmap(result, layer, head, ax, matrix=matrix, title=title, source=source)
        )

    start = time.perf_counter()
    renderer = HeatmapRenderer(result)
    renderer.render(0, 0, 0)
    build = (time.perf_counter() - start) * 1000.0

    def new_draw(layer: int, head: int, source: int, matrix: np.ndarray | None, title: str | None) -> bytes:
        return renderer.render(layer, head, source, matrix=matrix, title=title)

    rows = [("primera imagen (construir el renderer)", "", f"{build:.0f}", "")]
    for name, step in steps(result, matrices).items():

        def before_step(i: int, step: Callable[..., Any] = step) -> object:
            return step(old_draw, i)

        def after_step(i: int, step: Callable[..., Any] = step) -> object:
            return step(new_draw, i)

        before, _ = timed(before_step, old_count)
        after, after_cpu = timed(after_step, count)
        rows.append((name, p50_p90(before), p50_p90(after), p50_p90(after_cpu)))
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python bench/heatmap_speed.py", description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=list(SIZES), help="token counts")
    parser.add_argument("--steps", type=int, default=36, help="renderer steps per move (default 36)")
    parser.add_argument("--old-steps", type=int, default=6, help="old-path steps per move (default 6)")
    parser.add_argument("--out", help="write the table as markdown to this file too")
    args = parser.parse_args(argv)

    model, tokenizer = load_model("minilm")
    lines = [
        "| n | movimiento | antes: figura nueva, ms p50 / p90 | HeatmapRenderer, ms p50 / p90 "
        "| CPU del renderer, ms |",
        "|---|---|---|---|---|",
    ]
    verdict = ""
    for n in args.sizes:
        result = result_of_length(model, tokenizer, n)
        for name, before, after, cpu in measure(result, args.steps, args.old_steps):
            lines.append(f"| {n} | {name} | {before} | {after} | {cpu} |")
            if n == TARGET_N and name == "capa (una cabeza)":
                p50 = float(after.split(" / ")[0])
                verdict = (
                    f"Objetivo: paso de capa ≤ {TARGET_MS:.0f} ms a n={TARGET_N}: p50 {p50:.0f} ms "
                    f"(CPU del hilo {cpu.split(' / ')[0]} ms; la diferencia es espera por un núcleo), "
                    + ("cumplido." if p50 <= TARGET_MS else "NO cumplido.")
                )
    machine = (
        f"{platform.machine()} · {os.cpu_count()} núcleos · carga media {os.getloadavg()[0]:.1f} · "
        f"Python {platform.python_version()} · {platform.platform(terse=True)}"
    )
    text = "\n".join([*lines, "", verdict, "", f"Máquina: {machine}"]).strip() + "\n"
    print(text)
    if args.out:
        Path(args.out).write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
