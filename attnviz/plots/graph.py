"""Graph of one head: tokens as nodes on a circle, an arrow for every link above a threshold."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from ..core.measures import with_measure
from ..core.result import AttentionResult
from . import style
from .heatmap import masked_matrix, settle_layout
from .labels import LABEL_SPACING, MAX_TITLE_CHARS, join_lines, label_text, side_points, text_width

if TYPE_CHECKING:
    from matplotlib.axes import Axes

#: At most this many arrows, the strongest: more would hide the pattern.
MAX_EDGES = 150
DEFAULT_THRESHOLD = 0.1
#: Gap between a node and its label, in multiples of the font size.
LABEL_GAP_EM = 0.9
#: Longest node label, ellipsis included.
MAX_NODE_CHARS = 12
#: The circle's radius is at least this share of half the Axes' side, however long the labels.
MIN_RADIUS_SHARE = 0.4
#: In classroom mode an Axes this many times wider than tall gets its notes beside the circle.
NOTES_BESIDE = 1.3


def figure_size() -> tuple[float, float]:
    """Inches of a new graph's figure: 8 x 8, or in classroom mode the classroom box (notes beside it).

    Examples
    --------
    >>> figure_size()
    (8.0, 8.0)
    """
    if style.classroom_mode():
        return style.CLASSROOM_WIDTH, style.CLASSROOM_HEIGHT
    return 8.0, 8.0


def circle_positions(n: int) -> np.ndarray:
    """``[n, 2]`` points on the unit circle, clockwise from the top."""
    angles = np.pi / 2 - 2 * np.pi * np.arange(n) / max(n, 1)
    return np.stack([np.cos(angles), np.sin(angles)], axis=1)


def graph_edges(
    matrix: np.ndarray,
    threshold: float,
    *,
    source: int | None = None,
    causal: bool = False,
    max_edges: int | None = MAX_EDGES,
) -> tuple[np.ndarray, int]:
    """Links to draw as ``[k, 2]`` (from, to) pairs, strongest first, and how many passed the threshold.

    Never a self-link (the node's colour shows it) or a causal future; with ``source`` only its links.
    """
    weights = np.asarray(matrix, dtype=np.float64)
    keep = weights >= threshold
    np.fill_diagonal(keep, False)
    if causal:
        keep &= np.tril(np.ones_like(keep, dtype=bool))
    if source is not None:
        keep[np.arange(len(keep)) != source] = False
    pairs = np.argwhere(keep)[np.argsort(-weights[keep], kind="stable")]
    return (pairs if max_edges is None else pairs[:max_edges]), len(pairs)


def labelled_nodes(n: int, wanted: list[int], circumference_pt: float, fontsize: float) -> list[int]:
    """The nodes whose labels fit around the circle: ``wanted`` in order of priority, none too close."""
    if n == 0:
        return []
    min_gap = LABEL_SPACING * fontsize / max(circumference_pt, 1e-9) * n  # in node steps
    chosen: list[int] = []
    for i in wanted:
        if all(min(abs(i - j), n - abs(i - j)) >= min_gap for j in chosen):
            chosen.append(i)
    return sorted(chosen)


def plot_graph(
    result: AttentionResult,
    layer: int,
    head: int,
    threshold: float = DEFAULT_THRESHOLD,
    ax: Axes | None = None,
    *,
    matrix: np.ndarray | None = None,
    source: int | None = None,
    max_edges: int | None = MAX_EDGES,
    colorbar: bool = True,
    scale: style.Scale | None = None,
    vmax: float | None = None,
    fontsize: float | None = None,
    title: str | None = None,
    measure: str | None = None,
) -> Axes:
    """Draw one head as a graph: an arrow from each token to every token it gives at least ``threshold``.

    Tokens sit on a circle in the sentence's order, clockwise from the top (a previous-token head
    is a ring of short arrows, a head that looks at [SEP] a star).  An arrow's width and colour
    follow its weight (blue low, red high); a node's colour is its attention to itself.  Labels
    that would overlap are left out (a note counts them), the source's and arrows' first.

    Parameters
    ----------
    result : AttentionResult
        The sentence's attention, from :func:`attnviz.extract` or :func:`attnviz.to_words`.
    layer, head : int
        The head drawn, indices from 0; with ``matrix`` only the title uses them.
    threshold : float
        Draw only links of at least this weight (0 to 1).
    ax : matplotlib Axes, optional
        Where to draw; ``None`` makes a new 8 x 8 inch figure.
    matrix : ndarray, optional
        An ``[n, n]`` matrix (an aggregate, see :mod:`attnviz.core.aggregate`) to draw instead of one head.
    source : int, optional
        Draw only this token's links, and frame its node.
    max_edges : int or None
        Draw at most this many links, the strongest; None for all.
    colorbar : bool
        Add a colour bar; its label names the scale.
    scale : {"head", "absolute", "row"}, optional
        Top of the colours (:func:`attnviz.plots.style.scale_top`): the head's largest weight
        (default), 1, or the source row's (without ``source``: each row on its own top).
    vmax : float, optional
        Top of the colour scale given by hand, e.g. shared by several panels; overrides ``scale``.
    fontsize : float, optional
        Base text size in points; ``attnviz.plots.style.CLASSROOM_FONTSIZE`` for a projector.
        After :func:`attnviz.modo_clase`, at least that, on a figure laid out for a projector.
    title : str, optional
        Replaces "Capa · cabeza · grafo".
    measure : {"peso", "contribucion"}, optional
        The weights, or each arc's contribution (:func:`attnviz.with_measure`); None: what
        ``result`` holds.  The title and the colour bar say which.

    Returns
    -------
    matplotlib Axes
        Gids: ``"nodes"`` (array = attention to itself, over the row's top on a ``"row"`` scale without
        ``source``), ``"edge-<i>-<j>"``, ``"label-<i>"``, ``"notes"``.

    Examples
    --------
    >>> attnviz.plot_graph(result, 3, 5, threshold=0.2, source=2, fontsize=16)
    """
    result = with_measure(result, measure)
    import matplotlib.pyplot as plt
    from matplotlib.colors import Normalize
    from matplotlib.patches import FancyArrowPatch

    scale = style.check_scale(scale)
    sizes = style.font_sizes(fontsize)
    if not 0.0 <= threshold <= 1.0:
        raise ValueError(f"threshold must be between 0 and 1, not {threshold!r}")
    if source is not None:
        source = result.check_token(source)
    # Only checked here: graph_edges leaves out a causal model's future itself.
    weights = np.ma.getdata(masked_matrix(result, result.head(layer, head) if matrix is None else matrix))
    n = result.n_tokens
    pairs, total = graph_edges(weights, threshold, source=source, causal=result.causal, max_edges=max_edges)
    # Every row at once on a "row" scale: each on its own top, as the heat map draws it.
    shown = weights / style.row_tops(weights)[:, None] if scale == "row" and source is None else weights
    top = style.scale_top(weights, source, scale, result.causal) if vmax is None else vmax
    norm = Normalize(0.0, top)
    cmap = plt.get_cmap(style.CMAP)

    if ax is None:
        _, ax = plt.subplots(figsize=figure_size(), layout="constrained")
    ax.set_aspect("equal")
    ax.set_axis_off()
    default_title = f"Capa {layer} · cabeza {head}{style.measure_suffix(result)} · grafo"
    ax.set_title(default_title if title is None else title, fontsize=sizes["title"])
    # A wide Axes (the classroom box): the circle on the left, its notes and colour bar beside it,
    # all inside the Axes, laid out once for good (nothing under the circle takes its height).
    beside = style.classroom_mode() and side_points(ax, "x") > NOTES_BESIDE * side_points(ax, "y")
    if beside:
        ax.set_adjustable("datalim")
        settle_layout(ax)
        ax.figure.canvas.figure.draw_without_rendering()
    where = circle_positions(n)
    node_size = max(2.0, min(0.9 * sizes["labels"], 900.0 / max(n, 1)))  # diameter in points
    texts = [label_text(t, MAX_NODE_CHARS) for t in result.tokens]
    label_offset = node_size / 2 + LABEL_GAP_EM * sizes["labels"]
    # Limits such that the circle and its labels fill the Axes; radius in points.
    half = 0.5 * min(side_points(ax, "x"), side_points(ax, "y"))
    longest = max((text_width(t, sizes["labels"]) for t in texts), default=0.0)
    # Very long labels must not shrink the circle to a dot.
    radius = max(half - (label_offset + longest + 0.5 * sizes["labels"]), MIN_RADIUS_SHARE * half)
    right = half / radius
    if beside:
        right += (side_points(ax, "x") - 2 * half) / radius
    ax.set_xlim(-half / radius, right)
    ax.set_ylim(-half / radius, half / radius)

    # Weakest first, so that the strong arrows lie on top.
    for i, j in pairs[::-1].tolist():
        weight = shown[i, j]
        share = min(weight / top, 1.0)
        ax.add_patch(
            FancyArrowPatch(
                tuple(where[i]),
                tuple(where[j]),
                connectionstyle="arc3,rad=0.25",
                arrowstyle="-|>",
                mutation_scale=6 + 10 * share,
                linewidth=0.6 + 4.0 * share,
                color=cmap(norm(weight)),
                alpha=0.35 + 0.65 * share,
                shrinkA=node_size / 2,
                shrinkB=node_size / 2,
                gid=f"edge-{i}-{j}",
                zorder=2,
            )
        )
    nodes = ax.scatter(
        where[:, 0],
        where[:, 1],
        s=node_size**2,
        c=np.diag(shown).copy(),
        cmap=cmap,
        norm=norm,
        edgecolors="0.25",
        linewidths=0.8,
        zorder=3,
        gid="nodes",
    )
    if source is not None:
        ax.scatter(
            [where[source, 0]],
            [where[source, 1]],
            s=(node_size + 8) ** 2,
            facecolors="none",
            edgecolors="black",
            linewidths=2.5,
            zorder=4,
            gid="source",
        )

    # Labels outside the circle, as long as they fit: the source's, the strongest links' ends, the rest.
    wanted = [*([source] if source is not None else []), *pairs.flatten().tolist(), *range(n)]
    labelled = labelled_nodes(n, list(dict.fromkeys(wanted)), 2 * np.pi * radius, sizes["labels"])
    for i in labelled:
        x, y = where[i]
        degrees = float(np.degrees(np.arctan2(y, x)))
        left = x < -1e-9
        ax.annotate(
            texts[i],
            xy=(x, y),
            xytext=(x * label_offset, y * label_offset),
            textcoords="offset points",
            rotation=degrees + 180 if left else degrees,
            rotation_mode="anchor",
            ha="right" if left else "left",
            va="center",
            fontsize=sizes["labels"],
            fontweight="bold" if i == source else "normal",
            color="0.4" if result.special[i] else "black",
            gid=f"label-{i}",
        )
    notes = [f"Índices desde 0 · {result.model_name}", f"flechas de peso ≥ {threshold:.2f}"]
    if total > len(pairs):
        notes.append(f"se dibujan las {len(pairs)} más fuertes de {total}")
    if source is not None:
        word = label_text(result.tokens[source], MAX_TITLE_CHARS)
        notes.append(f"solo desde «{word}» ({result.unit_noun} {source})")
    notes.append("color del nodo: atención a sí mismo")
    if len(labelled) < n:
        notes.append(f"{n - len(labelled)} etiquetas omitidas (no caben)")
    label = style.colorbar_label(scale, vmax, result.measure)
    if beside:
        _notes_and_bar_beside(ax, 2 * half, notes, nodes if colorbar else None, label, sizes["notes"])
        return ax
    text = join_lines(notes, side_points(ax, "x"), sizes["notes"])
    style.add_notes(ax, 0.5, -0.02, text, sizes["notes"], ha="center")
    if colorbar:
        style.add_colorbar(ax.figure, nodes, label, sizes["notes"], ax=ax, shrink=0.6, pad=0.02)
    settle_layout(ax)
    return ax


def _notes_and_bar_beside(
    ax: Axes, circle: float, notes: list[str], nodes: Any, label: str, fontsize: float
) -> None:
    """The notes, and a flat colour bar under them, right of the circle's ``circle``-point square."""
    width, height = side_points(ax, "x"), side_points(ax, "y")
    gap = 1.5 * fontsize
    # Room for the last tick label's overhang ("0.0025"), which is centred on the bar's end.
    left, room = (circle + gap) / width, width - circle - gap - 0.5 * text_width("0.0025", fontsize) - 4.0
    parts = [piece for part in notes for piece in part.split(" · ")]
    text = style.add_notes(ax, left, 1.0, join_lines(parts, room, fontsize), fontsize)
    text.set_in_layout(False)
    if nodes is None:
        return
    # The bar 0.7 em tall, its ticks and its label (as many lines as the room needs) under it.
    lines = join_lines(label.replace(" · ", "\u00a0· ").split(" "), room, fontsize, separator=" ")
    under = (1.6 + 1.3 * (lines.count("\n") + 1)) * fontsize
    cax = ax.inset_axes((left, under / height, room / width, 0.7 * fontsize / height))
    cax.set_in_layout(False)
    bar = style.add_colorbar(ax.figure, nodes, lines, fontsize, cax=cax, orientation="horizontal")
    bar.ax.set_label("colorbar")
