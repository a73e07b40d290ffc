"""How one row of weights is made: q·k, the scale, the softmax, and the weight the model returned."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ..core.measures import score_steps
from ..core.result import AttentionResult
from . import style
from .heatmap import settle_layout
from .labels import LABEL_SPACING, join_lines, label_text, side_points

if TYPE_CHECKING:
    from matplotlib.axes import Axes

#: Bar colours: scores can be negative (grey-blue), weights are shares (the arcs' red).
SCORE_COLOR = "#4c72b0"
WEIGHT_COLOR = "#c44e52"


def plot_scores(
    result: AttentionResult,
    layer: int,
    head: int,
    source: int,
    ax: Axes | None = None,
    *,
    scaled: bool = True,
    max_rows: int = 24,
    fontsize: float | None = None,
) -> Axes:
    """Draw how token ``source``'s attention in one head is computed, one row per target token.

    Columns, left to right: ``q·k``; ``q·k / √d_k`` (the model's own scale); the softmax of
    that; and the weight the model returned, which the softmax must equal.  With
    ``scaled=False`` the second column is left out and the softmax is taken of ``q·k``
    itself, so the class sees the peak sharpen without the scale.  Works on every model
    whose projections attnviz reads (:func:`attnviz.score_steps`); a causal model's future
    tokens get no weight.

    Parameters
    ----------
    result : AttentionResult
        From :func:`attnviz.extract`, weights (not contribution).
    layer, head, source : int
        The head and the token whose row is rebuilt.
    ax : matplotlib Axes, optional
        Where to draw; ``None`` makes a figure sized for the number of tokens.
    scaled : bool
        Divide by ``√d_k`` before the softmax, as the model does.
    max_rows : int
        On a longer text, only the targets with the largest returned weights (and the source)
        get a row, in sentence order; a note says how many are left out.  In classroom mode
        (:func:`attnviz.plots.style.modo_clase`) no more than the Axes holds at the labels' size.
    fontsize : float, optional
        Base text size; ``attnviz.plots.style.CLASSROOM_FONTSIZE`` for a projector.
        After :func:`attnviz.modo_clase`, at least that, on a figure laid out for a projector.

    Returns
    -------
    matplotlib Axes
        Bars have gids ``"scores-<column>"``; each number is a Text with gid
        ``"scores-value"``.

    Examples
    --------
    >>> ax = attnviz.plot_scores(result, layer=2, head=0, source=3)
    >>> ax.figure.savefig("qk.png")
    """
    import matplotlib.pyplot as plt

    steps = score_steps(result, layer, head, source)
    sizes = style.font_sizes(fontsize)
    n = len(steps.tokens)
    projector = style.classroom_mode()
    if projector:
        if ax is None:
            _, ax = plt.subplots(figsize=style.CLASSROOM_BOX, layout="constrained")
        # As many rows as the Axes holds at the labels' spacing, once the title and headings have their room.
        max_rows = min(max_rows, _rows_that_fit(ax, sizes))
    kept = _kept_rows(steps.returned, steps.source, max_rows)
    root = "√" + str(steps.d_k)
    columns: list[tuple[str, str, np.ndarray]] = [("dot", "q·k", steps.dot)]
    if scaled:
        columns.append(
            (
                "scaled",
                f"q·k × {steps.scale:.3g}"
                if abs(steps.scale * np.sqrt(steps.d_k) - 1) > 1e-6
                else f"q·k / {root}",
                steps.scaled,
            )
        )
        columns.append(("softmax", "softmax", steps.weights))
    else:
        columns.append(("softmax", "softmax sin escalar", steps.unscaled_weights))
    columns.append(("returned", "peso del modelo", steps.returned))
    if ax is None:
        height = max(3.0, 0.22 * len(kept) * sizes["labels"] / style.FONTSIZE + 1.6)
        _, ax = plt.subplots(
            figsize=(2.6 * len(columns) * sizes["labels"] / style.FONTSIZE + 1.5, height),
            layout="constrained",
        )
    rows = np.arange(len(kept))
    visible = (kept <= steps.source) if result.causal else np.ones(len(kept), dtype=bool)
    for column, (gid, title, values) in enumerate(columns):
        is_weight = gid in ("softmax", "returned")
        values = values[kept]
        shown = np.where(visible, values, 0.0)
        peak = float(np.abs(shown).max()) or 1.0
        # Each column on its own scale (scores and weights are not comparable): the bar on the
        # left 2/3 of its band, scores around a middle zero, and the number right-aligned after it.
        widths = shown / peak * (0.62 if is_weight else 0.31)
        left = column + (0.04 if is_weight else 0.35)
        colour = WEIGHT_COLOR if is_weight else SCORE_COLOR
        ax.barh(rows, widths, left=left, height=0.7, color=colour, gid=f"scores-{gid}")
        for row in range(len(kept)):
            text = f"{values[row]:.2f}" if visible[row] else "—"
            ax.text(
                column + 0.97,
                row,
                text,
                ha="right",
                va="center",
                fontsize=sizes["values"],
                gid="scores-value",
                color="0.1",
            )
        if not projector:
            ax.text(
                column + 0.5,
                -1.0,
                title,
                ha="center",
                va="bottom",
                fontsize=sizes["labels"],
                fontweight="bold",
            )
    for column in range(1, len(columns)):
        ax.axvline(column, color="0.8", linewidth=1)
    ax.set_xlim(0, len(columns))
    ax.set_ylim(len(kept) - 0.5, -0.6 if projector else -1.6)
    if projector:
        # The headings as top tick labels, in lines as wide as their columns: the title goes above them.
        _headings(ax, [title for _, title, _ in columns], sizes["labels"])
    # With rows left out, each keeps its index: a repeated "." or "the" must say which one it is.
    names = [label_text(steps.tokens[i]) + (f" ({i})" if len(kept) < n else "") for i in kept]
    ax.set_yticks(rows, names, fontsize=sizes["labels"])
    if not projector:
        ax.set_xticks([])
    for side in ("top", "right", "bottom"):
        ax.spines[side].set_visible(False)
    source_name = label_text(steps.tokens[steps.source])
    ax.set_title(f"Capa {layer} · cabeza {head}: cómo mira «{source_name}»", fontsize=sizes["title"])
    notes = [f"Índices desde 0 · {result.model_name}", f"d_k = {steps.d_k}"]
    if len(kept) < n:
        notes.append(f"se muestran las {len(kept)} filas de más peso de {n}")
    text = join_lines(notes, side_points(ax, "x"), sizes["notes"])
    style.add_notes(ax, 0.5, -0.01, text, sizes["notes"], ha="center").set_gid("notes")
    return ax


def _headings(ax: Axes, titles: list[str], fontsize: float) -> None:
    """Column headings as bold top tick labels, each broken into lines no wider than its column."""
    width = side_points(ax, "x") / len(titles) - 0.5 * fontsize
    wrapped = [join_lines(title.split(" "), width, fontsize, separator=" ") for title in titles]
    ax.set_xticks(np.arange(len(titles)) + 0.5, wrapped)
    ax.xaxis.tick_top()
    ax.tick_params(axis="x", length=0, labelsize=fontsize)
    for label in ax.get_xticklabels():
        label.set_fontweight("bold")


def _rows_that_fit(ax: Axes, sizes: dict[str, float]) -> int:
    """How many rows a classroom picture's Axes holds at the labels' spacing, after title, headings, notes."""
    from matplotlib.figure import Figure

    figure = ax.figure.canvas.figure
    assert isinstance(figure, Figure)
    # Stand-ins as tall as the title, two lines of headings and two of notes, laid out once.
    ax.set_title("Capa", fontsize=sizes["title"])
    _headings(ax, ["q\nk"], sizes["labels"])
    notes = style.add_notes(ax, 0.5, -0.01, "Índices\nd_k", sizes["notes"], ha="center")
    settle_layout(ax)
    figure.draw_without_rendering()
    fit = int(side_points(ax, "y") // (LABEL_SPACING * sizes["labels"]))
    notes.remove()
    return max(2, fit)


def _kept_rows(returned: np.ndarray, source: int, max_rows: int) -> np.ndarray:
    """All rows, or the ``max_rows`` with the largest returned weight (the source always), in order."""
    if len(returned) <= max_rows:
        return np.arange(len(returned))
    strongest = [int(j) for j in np.argsort(-returned, kind="stable") if j != source][: max_rows - 1]
    return np.array(sorted([source, *strongest]))
