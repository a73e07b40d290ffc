"""All heads at once: a layers x heads grid of small heatmaps in ONE image (144 Axes would be slow)."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from ..core.measures import MEASURES, with_measure
from ..core.result import AttentionResult
from . import style
from .heatmap import fit_colorbar_label, settle_layout
from .labels import LABEL_SPACING, join_lines, side_points

if TYPE_CHECKING:
    from matplotlib.axes import Axes

#: What the colour bar says for each scale (each thumbnail has its own maximum with "head").
GRID_SCALE_LABELS: dict[str, str] = {
    "head": "escala 0 – máximo de cada cabeza",
    "absolute": "escala 0 – 1 (fija)",
}

#: Longer texts are max-pooled to thumbnails of at most this many cells a side.
MAX_THUMBNAIL = 64

GridScale = Literal["head", "absolute"]
GRID_SCALES: tuple[GridScale, ...] = ("head", "absolute")


def thumbnail_size(n: int) -> int:
    """Cells per thumbnail side: ``n``, or fewer for long texts (see :func:`shrink`)."""
    return n if n <= MAX_THUMBNAIL else -(-n // -(-n // MAX_THUMBNAIL))


def gap_size(n: int) -> int:
    """Cells of blank between thumbnails of ``n`` tokens: about a sixth of a thumbnail, at least 1."""
    return max(1, round(thumbnail_size(n) / 6))


def shrink(matrix: np.ndarray, size: int) -> np.ndarray:
    """Max-pool an ``[n, n]`` matrix to ``[size, size]`` blocks, so a thin diagonal stays visible."""
    n = matrix.shape[-1]
    if size >= n:
        return matrix
    k = -(-n // size)
    padded = np.zeros((size * k, size * k), dtype=matrix.dtype)
    padded[:n, :n] = matrix
    return padded.reshape(size, k, size, k).max(axis=(1, 3))


def tile(result: AttentionResult, scale: GridScale = "head") -> np.ndarray:
    """The whole grid as one image: thumbnail (l, h) at rows l, columns h; gaps are NaN.

    ``scale="head"`` divides each thumbnail by its head's top (:func:`attnviz.plots.style.scale_top`),
    so a diffuse head shows its pattern as clearly as a sharp one; ``"absolute"`` keeps the weights.
    """
    style.check_scale(scale, GRID_SCALES)
    layers, heads, n = result.n_layers, result.n_heads, result.n_tokens
    size, gap = thumbnail_size(n), gap_size(n)
    step = size + gap
    image = np.full((layers * step - gap, heads * step - gap), np.nan, dtype=np.float32)
    for layer, head in np.ndindex(layers, heads):
        matrix = result.attention[layer, head]
        thumb = shrink(matrix, size) / style.scale_top(matrix, None, scale, result.causal)
        image[layer * step : layer * step + size, head * step : head * step + size] = thumb
    return image


def thumbnail_origin(result: AttentionResult, layer: int, head: int) -> tuple[int, int]:
    """``(row, column)`` of the top-left cell of thumbnail (layer, head) in :func:`tile`."""
    step = thumbnail_size(result.n_tokens) + gap_size(result.n_tokens)
    return layer * step, head * step


def figure_size(layers: int, heads: int) -> tuple[float, float]:
    """Inches for a ``layers x heads`` grid: about 0.75 inch a head, 5 to 12 inches each way.

    In classroom mode, the classroom box.
    """
    if style.classroom_mode():
        return style.CLASSROOM_BOX
    width = float(np.clip(0.75 * heads + 1.5, 5.0, 12.0))
    return width, float(np.clip(width * layers / heads, 4.0, 12.0))


def _index_ticks(ax: Axes, centres: list[float], along: str, name: str, sizes: dict[str, float]) -> None:
    """Classroom ticks: the indices as numbers (every one, or in even steps when they would touch) and
    the axis's name, short enough for a projector's picture."""
    size = sizes["values"]
    count = len(centres)
    room = side_points(ax, "x" if along == "x" else "y")
    step = max(1, math.ceil(LABEL_SPACING * size * count / max(room, 1e-9)))
    chosen = list(range(0, count, step))
    axis = ax.xaxis if along == "x" else ax.yaxis
    axis.set_ticks([centres[i] for i in chosen], [str(i) for i in chosen], fontsize=size)
    axis.set_label_text(name, fontsize=sizes["labels"])


def plot_grid(
    result: AttentionResult,
    ax: Axes | None = None,
    *,
    selected: tuple[int, int] | None = None,
    scale: GridScale = "head",
    title: str | None = None,
    colorbar: bool = True,
    fontsize: float | None = None,
    measure: str | None = None,
) -> Axes:
    """Draw every layer and head as a thumbnail heatmap; ``selected`` (layer, head) is outlined.

    Rows are layers, columns heads; inside a thumbnail rows are "from" tokens and columns
    "to" tokens, as in :func:`attnviz.plot_heatmap`.  Texts over 64 tokens are max-pooled.

    Parameters
    ----------
    result : AttentionResult
        What :func:`attnviz.extract` returns.
    ax : matplotlib Axes, optional
        Where to draw; ``None`` makes a new figure sized to the layers and heads (5 to 12 inches a side).
    selected : (int, int), optional
        The ``(layer, head)`` to outline in black.
    scale : "head" or "absolute"
        Each thumbnail on its own scale (diffuse heads stay visible) or one scale for all, 0 to 1.
    title : str, optional
        Replaces "Todas las cabezas · <modelo>".
    colorbar : bool
        Add a colour bar; its label names the scale.
    fontsize : float, optional
        Base text size in points; ``attnviz.plots.style.CLASSROOM_FONTSIZE`` for a projector.
        After :func:`attnviz.modo_clase`, at least that, on a figure laid out for a projector.
    measure : {"peso", "contribucion"}, optional
        The weights, or each arc's contribution (:func:`attnviz.with_measure`) (None: what ``result`` holds).

    Returns
    -------
    matplotlib Axes
        The Axes drawn on; the image has gid ``"grid"``, the outline ``"selected"``.

    Examples
    --------
    >>> ax = attnviz.plot_grid(result, selected=(3, 5))
    >>> attnviz.plot_grid(result, scale="absolute", fontsize=attnviz.plots.style.CLASSROOM_FONTSIZE)
    """
    result = with_measure(result, measure)
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle

    style.check_scale(scale, GRID_SCALES)
    sizes = style.font_sizes(fontsize)
    layers, heads = result.n_layers, result.n_heads
    n = thumbnail_size(result.n_tokens)
    image = tile(result, scale)
    if ax is None:
        _, ax = plt.subplots(figsize=figure_size(layers, heads), layout="constrained")
    cmap = plt.get_cmap(style.CMAP).with_extremes(bad="white")
    # "absolute" is the same 0-1 scale as the other views' "absolute", so the colours compare.
    artist = ax.imshow(image, cmap=cmap, vmin=0.0, vmax=1.0, interpolation="nearest", aspect="equal")
    artist.set_gid("grid")

    gap = gap_size(n)
    centres = [i * (n + gap) + (n - 1) / 2 for i in range(max(layers, heads))]
    projector = style.classroom_mode()
    label = f"{MEASURES[result.measure]} · {GRID_SCALE_LABELS[scale]}"
    if projector:
        model = f"{result.model_name}{style.measure_suffix(result)}"
        parts = [title] if title is not None else ["Todas las cabezas", model]
        _classroom_frame(ax, artist, parts, label if colorbar else None, centres, (layers, heads), sizes)
    else:
        ax.set_yticks(centres[:layers], [f"capa {i}" for i in range(layers)], fontsize=sizes["labels"])
        ax.set_xticks(
            centres[:heads], [f"cabeza {j}" for j in range(heads)], fontsize=sizes["labels"], rotation=90
        )
    ax.xaxis.tick_top()
    ax.tick_params(length=0)
    ax.spines[:].set_visible(False)

    if selected is not None:
        layer, head = result.check_layer(selected[0]), result.check_head(selected[1])
        row, col = thumbnail_origin(result, layer, head)
        outline = Rectangle(
            (col - 0.5 - gap / 2, row - 0.5 - gap / 2),
            n + gap,
            n + gap,
            fill=False,
            edgecolor="black",  # not red, which means a high weight
            linewidth=2.5,
            gid="selected",
            zorder=3,
        )
        ax.add_patch(outline)
    if projector:
        settle_layout(ax)
        return ax
    if title is None:
        title = f"Todas las cabezas · {result.model_name}{style.measure_suffix(result)}"
    ax.set_title(title, fontsize=sizes["title"])
    if colorbar:
        # Below the grid: the long scale label reads across, whatever the grid's height.
        where = {"ax": ax, "location": "bottom", "shrink": 0.6, "pad": 0.02, "aspect": 30}
        style.add_colorbar(ax.figure, artist, label, sizes["notes"], **where)
    settle_layout(ax)
    return ax


def _classroom_frame(
    ax: Axes,
    image: Any,
    parts: list[str],
    label: str | None,
    centres: list[float],
    shape: tuple[int, int],
    sizes: dict[str, float],
) -> None:
    """Title, ticks and colour bar of a classroom grid: short and wide, its indices as numbers under the
    axes' names, the bar upright on the right, the title in lines that stay inside the picture."""
    layers, heads = shape
    ax.set_title(" · ".join(parts), fontsize=sizes["title"])
    ax.set(xticks=[], yticks=[], xlabel="cabeza", ylabel="capa")
    bar = None
    if label is not None:
        bar = style.add_colorbar(ax.figure, image, label, sizes["notes"], ax=ax, shrink=0.9, pad=0.02)
    figure = ax.figure.canvas.figure
    settle_layout(ax)
    figure.draw_without_rendering()
    _index_ticks(ax, centres[:heads], "x", "cabeza", sizes)
    _index_ticks(ax, centres[:layers], "y", "capa", sizes)
    ax.xaxis.set_label_position("top")
    # Centred over the grid: no line wider than twice the room on its narrower side.
    box, edges = ax.get_window_extent(), ax.figure.bbox
    room = min(box.x0 + box.x1 - 2 * edges.x0, 2 * edges.x1 - box.x0 - box.x1) * 72.0 / ax.figure.dpi
    ax.set_title(join_lines(parts, room - sizes["title"], sizes["title"]), fontsize=sizes["title"])
    if bar is not None:
        figure.draw_without_rendering()
        fit_colorbar_label(bar, bar.ax.get_ylabel(), sizes["notes"])
