"""Heatmap of one head: the whole ``n x n`` matrix, rows = from, columns = to."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from .aggregate import segment_mask
from .result import AttentionResult, require_result

if TYPE_CHECKING:
    from matplotlib.axes import Axes

CMAP = "viridis"
MASKED_COLOR = "0.88"


def token_labels(result: AttentionResult) -> list[str]:
    """Token texts safe for matplotlib (no mathtext, visible spaces)."""
    return [t.replace("$", r"\$").strip("\n") or "␣" for t in result.tokens]


def figure_size(n: int, max_side: float = 16.0) -> tuple[float, float]:
    """Inches for ``n`` tokens: a square map (5 to ``max_side`` inches a side), room for the colour bar."""
    side = float(np.clip(0.38 * n + 2.5, 5.0, max_side))
    return side + 1.2, side


def masked_matrix(
    result: AttentionResult, matrix: np.ndarray, segments: Sequence[str] | str | None = None
) -> np.ma.MaskedArray:
    """``matrix`` with the causal future and the cells outside ``segments`` masked."""
    n = result.n_tokens
    data = np.asarray(matrix, dtype=np.float64)
    if data.shape != (n, n):
        raise ValueError(f"matrix must be [{n}, {n}], got {data.shape}")
    hidden = ~segment_mask(result, segments)
    if result.causal:
        hidden |= np.triu(np.ones((n, n), dtype=bool), k=1)
    return np.ma.masked_array(data, mask=hidden)


def plot_heatmap(
    result: AttentionResult,
    layer: int | None,
    head: int | None,
    ax: Axes | None = None,
    *,
    matrix: np.ndarray | None = None,
    values: bool = False,
    segments: Sequence[str] | str | None = None,
    colorbar: bool = True,
    title: str | None = None,
    vmax: float | None = None,
) -> Axes:
    """Draw one head (or ``matrix``, e.g. an aggregate) as a heatmap.

    Rows are the tokens attention comes FROM, columns the tokens it goes TO.
    Hidden cells (outside ``segments``, and the masked future of a causal
    model) are grey.

    Parameters
    ----------
    result : AttentionResult
        What :func:`attnviz.extract` (or :func:`attnviz.to_words`) returns.
    layer, head : int or None
        Which head, counted from 0; None with ``matrix``.
    ax : matplotlib Axes, optional
        Where to draw.  ``None`` makes a new figure sized to the token count
        (a square of 5 to 16 inches a side, plus the colour bar).
    matrix : ndarray, optional
        An ``[n, n]`` matrix to draw instead of one head (see :mod:`attnviz.aggregate`).
    values : bool
        Write each weight in its cell.
    segments : str or sequence of str, optional
        Keep only some sentence-pair blocks: ``"A->A"``, ``"A->B"``, ``"B->A"``, ``"B->B"``.
    colorbar : bool
        Add a colour bar.
    title : str, optional
        Replaces "Capa · cabeza"; the notes line (model, masks) follows it.
    vmax : float, optional
        Top of the colour scale; default: the largest visible weight.

    Returns
    -------
    matplotlib Axes
        The Axes drawn on; the image is ``ax.images[0]`` (gid ``"heatmap"``).

    Examples
    --------
    >>> ax = attnviz.plot_heatmap(result, 3, 5, values=True)
    >>> attnviz.plot_heatmap(pair, 3, 5, segments=["A->B"])
    """
    result = require_result(result)
    import matplotlib.pyplot as plt

    if matrix is None:
        if layer is None or head is None:
            raise ValueError("pass layer and head, or a matrix")
        matrix = result.head(layer, head)
    data = masked_matrix(result, matrix, segments)
    n = result.n_tokens
    if ax is None:
        _, ax = plt.subplots(figsize=figure_size(n), layout="constrained")

    cmap = plt.get_cmap(CMAP).with_extremes(bad=MASKED_COLOR)
    if vmax is None:
        # Scaled to the strongest visible weight, so that diffuse heads still show a pattern.
        vmax = max(float(data.compressed().max()), 1e-6) if data.count() else 1.0
    image = ax.imshow(data, cmap=cmap, vmin=0.0, vmax=vmax, interpolation="nearest", aspect="equal")
    image.set_gid("heatmap")

    labels = token_labels(result)
    size = 10 if n <= 20 else (8 if n <= 48 else 6)
    ax.set_xticks(range(n), labels, rotation=90, fontsize=size)
    ax.set_yticks(range(n), labels, fontsize=size)
    ax.tick_params(length=0)
    ax.xaxis.tick_top()
    ax.xaxis.set_label_position("top")
    ax.set_xlabel("hacia (to)")
    ax.set_ylabel("desde (from)")
    for i in range(n):
        if result.special[i]:
            ax.get_xticklabels()[i].set_color("0.4")
            ax.get_yticklabels()[i].set_color("0.4")

    if values:
        _draw_values(ax, data, vmax, n)
    if title is None:
        title = f"Capa {layer} · cabeza {head}" if layer is not None and head is not None else ""
    notes = [f"Índices desde 0 · {result.model_name}"]
    if result.causal:
        notes.append("gris: futuro enmascarado")
    if segments is not None:
        notes.append("bloques: " + ", ".join([segments] if isinstance(segments, str) else segments))
    ax.set_title(f"{title}\n{' · '.join(notes)}" if title else " · ".join(notes), fontsize=11)
    if colorbar:
        ax.figure.colorbar(image, ax=ax, shrink=0.8, pad=0.02, label="peso de atención")
    return ax


def _draw_values(ax: Axes, data: np.ma.MaskedArray, vmax: float, n: int) -> None:
    size = 8 if n <= 16 else (6 if n <= 28 else 5)
    hidden = np.ma.getmaskarray(data)
    for i in range(n):
        for j in range(n):
            if hidden[i, j]:
                continue
            value = float(data[i, j])
            # Light text on the dark (low) end of viridis, dark text on the light end.
            color = "white" if value < 0.6 * vmax else "black"
            ax.text(
                j,
                i,
                f"{value:.2f}",
                ha="center",
                va="center",
                fontsize=size,
                color=color,
                gid=f"value-{i}-{j}",
                # Cells sit inside the Axes: leaving them out of the layout keeps savefig fast.
                in_layout=False,
            )
