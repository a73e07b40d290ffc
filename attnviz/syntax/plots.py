"""Drawing syntax: dependency arcs under the words, the syntax profile, the POS matrix."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from .heldout import HeldOutTable
from .metrics import PosMatrix, SyntaxProfile
from .parsing import SyntaxAnnotation

if TYPE_CHECKING:
    from matplotlib.artist import Artist
    from matplotlib.axes import Axes

#: One colour per part of speech (content words saturated, function words pale).
POS_COLORS: dict[str, str] = {
    "NOUN": "#1f77b4",
    "PROPN": "#17becf",
    "PRON": "#9467bd",
    "VERB": "#d62728",
    "AUX": "#ff9896",
    "ADJ": "#2ca02c",
    "ADV": "#bcbd22",
    "ADP": "#8c564b",
    "DET": "#7f7f7f",
    "NUM": "#e377c2",
    "CCONJ": "#ff7f0e",
    "SCONJ": "#ffbb78",
    "PART": "#c5b0d5",
    "INTJ": "#f7b6d2",
    "PUNCT": "#b0b0b0",
    "SYM": "#c49c94",
    "X": "#dbdb8d",
}
UNTAGGED_COLOR = "#000000"
ARC_COLOR = "0.25"
#: Depth of the arcs one nesting level down, in data units.
LEVEL_DEPTH = 0.45
#: The same colour map as the attention views (plots.style.CMAP), which this layer cannot import.
CMAP = "coolwarm"


def pos_colors(annotation: SyntaxAnnotation, *, per_token: bool = False) -> list[str]:
    """Each word's part-of-speech colour (black without tag); ``per_token=True`` repeats it for its tokens."""
    tags = annotation.per_token("upos") if per_token else annotation.upos
    return [POS_COLORS.get(tag, UNTAGGED_COLOR) for tag in tags]


def arc_levels(
    edges: Sequence[tuple[int, int]], labels: Sequence[tuple[float, float]] | None = None
) -> list[int]:
    """Nesting level of each ``(a, b)`` arc (1 = shallowest), so that labels do not collide.

    An arc is one level below the deepest arc inside it; when ``labels`` gives each label's ``(left, right)``
    extent, an arc also goes down until its label does not overlap another label at the same level.
    """
    spans = [(min(a, b), max(a, b)) for a, b in edges]
    order = sorted(range(len(spans)), key=lambda k: (spans[k][1] - spans[k][0], spans[k][0]))
    levels = [0] * len(spans)
    taken: dict[int, list[tuple[float, float]]] = {}
    for k in order:
        lo, hi = spans[k]
        inside = [
            levels[m] for m in range(len(spans)) if levels[m] and lo <= spans[m][0] and spans[m][1] <= hi
        ]
        level = 1 + max(inside, default=0)
        if labels is not None:
            left, right = labels[k]
            while any(left < end and start < right for start, end in taken.get(level, [])):
                level += 1
            taken.setdefault(level, []).append((left, right))
        levels[k] = level
    return levels


def _label_extents(
    ax: Axes, centres: Sequence[float], texts: Sequence[str], fontsize: float
) -> list[tuple[float, float]]:
    """``(left, right)`` in data units of each label centred at ``centres``, with a margin."""
    from matplotlib.text import Text

    try:
        renderer = ax.figure.canvas.get_renderer()  # type: ignore[attr-defined]
    except AttributeError:
        renderer = None
    (x0, _), (x1, _) = ax.transData.transform([(0.0, 0.0), (1.0, 0.0)])
    px_per_unit = abs(x1 - x0) or 1.0
    extents = []
    for centre, text in zip(centres, texts, strict=True):
        if renderer is not None:
            width_px = Text(0, 0, text, fontsize=fontsize, figure=ax.figure).get_window_extent(renderer).width
        else:  # about 0.6 em per character
            width_px = 0.6 * fontsize * len(text) * ax.figure.dpi / 72
        # The layout engine may still shrink the Axes: keep a generous margin.
        half = 0.65 * (width_px + fontsize * ax.figure.dpi / 72) / px_per_unit
        extents.append((centre - half, centre + half))
    return extents


def draw_dependencies(
    ax: Axes,
    annotation: SyntaxAnnotation,
    x: Sequence[float] | np.ndarray,
    y_baseline: float,
    *,
    fontsize: float = 8,
    depth: float = LEVEL_DEPTH,
    relations: Sequence[str] | None = None,
    color: Any = ARC_COLOR,
) -> list[Artist]:
    """Draw one arc per dependency below ``y_baseline``, labelled with its relation.

    Arcs nest, and go further down when their label would touch another; labels are measured at the
    current x scale, so set the x limits first.  The y limits grow downwards if the arcs need room.

    Parameters
    ----------
    ax
        The Axes to draw in (data coordinates).
    annotation
        From :func:`attnviz.syntax.parse` or :func:`attnviz.syntax.from_conllu`.
    x
        The x position of each word, or of each token (a word sits at the mean of its tokens).
    y_baseline
        Height of the token row; arcs hang below it.
    fontsize
        Size of the relation labels.
    depth
        How far each nesting level goes down, in data units.
    relations
        Draw only these base relations (default: all).
    color
        Colour of arcs and labels.

    Returns
    -------
    list of Artist
        For each dependency: its arc, the arrow head at the dependent and the label
        (gids ``"dep-arc-<dependent>"``, ``"dep-head-<dependent>"``, ``"dep-label-<dependent>"``).

    Examples
    --------
    >>> fig, ax = plt.subplots()
    >>> draw_dependencies(ax, syntax, x=range(syntax.n_words), y_baseline=0.0)
    """
    positions = _word_positions(annotation, x)
    edges = annotation.edges(relations)
    pairs = [(float(positions[e.dependent]), float(positions[e.governor])) for e in edges]
    centres = [(xd + xg) / 2 for xd, xg in pairs]
    labels = _label_extents(ax, centres, [e.relation for e in edges], fontsize)
    levels = arc_levels([(e.dependent, e.governor) for e in edges], labels)
    t = np.linspace(0.0, np.pi, 41)
    artists: list[Artist] = []
    arc_style = {"color": color, "zorder": 2}
    text_style = {"ha": "center", "va": "center", "fontsize": fontsize, "color": color, "zorder": 3}
    box = {"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none"}
    for edge, (xd, xg), centre, level in zip(edges, pairs, centres, levels, strict=True):
        low = y_baseline - depth * level
        xs = centre - (xd - xg) / 2 * np.cos(t)
        ys = y_baseline - (y_baseline - low) * np.sin(t)
        (line,) = ax.plot(
            xs, ys, linewidth=1.1, solid_capstyle="round", gid=f"dep-arc-{edge.dependent}", **arc_style
        )
        (tip,) = ax.plot([xd], [y_baseline], "^", markersize=5, gid=f"dep-head-{edge.dependent}", **arc_style)
        label = ax.text(centre, low, edge.relation, gid=f"dep-label-{edge.dependent}", bbox=box, **text_style)
        artists += [line, tip, label]
    bottom, top = ax.get_ylim()
    room = y_baseline - depth * max(levels, default=0) - depth * 0.6
    if room < bottom:
        ax.set_ylim(room, top)
    return artists


def _word_positions(annotation: SyntaxAnnotation, x: Sequence[float] | np.ndarray) -> np.ndarray:
    xs = np.asarray(list(x), dtype=np.float64)
    if len(xs) == annotation.n_words:
        return xs
    if len(xs) != len(annotation.word_ids):
        raise ValueError(
            f"x needs one position per word ({annotation.n_words}) or per token "
            f"({len(annotation.word_ids)}), not {len(xs)}"
        )
    ids = np.asarray(annotation.word_ids)
    return np.array([xs[ids == w].mean() if (ids == w).any() else np.nan for w in range(annotation.n_words)])


def plot_dependencies(annotation: SyntaxAnnotation, ax: Axes | None = None, *, tags: bool = True) -> Axes:
    """The sentence as a dependency tree: words in a row, coloured by part of speech, arcs below.

    Parameters
    ----------
    annotation
        From :func:`attnviz.syntax.parse` or :func:`attnviz.syntax.from_conllu`.
    ax
        Axes to draw in; a new figure if None.
    tags
        Write each word's UPOS tag above it.

    Returns
    -------
    Axes

    Examples
    --------
    >>> plot_dependencies(parse(result)).figure.savefig("sintaxis.png")
    """
    import matplotlib.pyplot as plt

    shown = [i for i in range(annotation.n_words) if annotation.aligned[i]]
    x = np.full(annotation.n_words, np.nan)
    x[shown] = np.arange(len(shown), dtype=np.float64)
    n = max(len(shown), 1)
    if ax is None:
        _, ax = plt.subplots(figsize=(float(np.clip(0.9 * n + 1.5, 6.0, 24.0)), 3.6), layout="constrained")
    colours = pos_colors(annotation)
    size = 11 if n <= 20 else 9
    for i in shown:
        word = annotation.words[i].replace("$", r"\$")
        ax.text(x[i], 0.0, word, ha="center", va="bottom", fontsize=size, color=colours[i], gid=f"word-{i}")
        if tags:
            ax.text(x[i], 0.42, annotation.upos[i], ha="center", va="bottom", fontsize=7, color="0.45")
    ax.set_xlim(-0.7, n - 0.3)
    ax.set_ylim(-0.3, 0.9)
    draw_dependencies(ax, annotation, x, -0.08)
    ax.set_axis_off()
    ax.set_title(f"Dependencias sintácticas · {annotation.parser}", fontsize=11)
    return ax


def _sized(points: float, role: str = "labels") -> float:
    """``points`` on a laptop; after ``attnviz.modo_clase()`` (matplotlib's text at its classroom size) the
    classroom size of ``role``: ``"labels"`` (words, legends), ``"values"`` (numbers) or ``"title"``."""
    import matplotlib

    base = float(matplotlib.rcParams["font.size"])
    if base <= 10.0:
        return points
    return {"labels": base, "values": 0.85 * base, "title": 1.2 * base}[role]


def _classroom() -> bool:
    """Whether ``attnviz.modo_clase()`` is on (it sets matplotlib's text above the laptop's 10 points)."""
    import matplotlib

    return float(matplotlib.rcParams["font.size"]) > 10.0


def plot_syntax_profile(values: SyntaxProfile, ax: Axes | None = None, *, title: str | None = None) -> Axes:
    """Per layer: share of attention to syntactic neighbours, against the position-only chance level.

    Parameters
    ----------
    values
        From :func:`attnviz.syntax.metrics.syntax_profile`.
    ax
        Axes to draw in; a new figure if None.
    title
        Title; a Spanish default says how many sentences were measured.

    Returns
    -------
    Axes
        Lines with gids ``"syntax-share"``, ``"syntax-baseline"``; heads as dots (``"syntax-heads"``).

    Examples
    --------
    >>> plot_syntax_profile(syntax_profile(pairs)).figure.savefig("perfil_sintaxis.png")
    """
    import matplotlib.pyplot as plt

    if ax is None:
        # After modo_clase() matplotlib's default size is the classroom box.
        _, ax = plt.subplots(figsize=None if _classroom() else (8.0, 4.4), layout="constrained")
    cmap = plt.get_cmap(CMAP)
    layers = np.arange(len(values.share))
    head_layers = np.repeat(layers, values.head_share.shape[1])
    head_style: dict[str, Any] = {"s": 10, "color": cmap(0.85), "alpha": 0.3}
    ax.scatter(head_layers, values.head_share.ravel(), gid="syntax-heads", label="cada cabeza", **head_style)
    share_style: dict[str, Any] = {"color": cmap(1.0), "marker": "o", "linewidth": 2}
    baseline_style: dict[str, Any] = {"color": cmap(0.0), "linestyle": "--", "marker": "s", "markersize": 4}
    for series, style, gid, label in (
        (values.share, share_style, "syntax-share", "media de las cabezas"),
        (values.baseline, baseline_style, "syntax-baseline", "azar según la posición"),
    ):
        ax.plot(layers, series, gid=gid, label=label, **style)
    ax.set_xticks(layers)
    ax.set_xlabel("capa (desde 0)")
    ax.set_ylabel("atención a su núcleo o dependientes")
    ax.set_ylim(0.0, max(1e-3, float(np.nanmax(values.head_share)) * 1.08))
    ax.grid(alpha=0.3)
    ax.legend(fontsize=_sized(8), loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    if title is None:
        title = f"¿Dónde vive la sintaxis? · {values.n_words} palabras de {values.n_sentences} frases"
    if _classroom():
        title = title.replace(" · ", "\n")  # a projector's picture is narrow for it at its size
    ax.set_title(title, fontsize=_sized(11, "title"), loc="left" if _classroom() else "center")
    return ax


def plot_pos_matrix(
    matrix: PosMatrix,
    ax: Axes | None = None,
    *,
    layer: int | None = None,
    head: int | None = None,
    codes: bool = False,
    values: bool = True,
    colorbar: bool = True,
) -> Axes:
    """Heatmap of attention between parts of speech: rows = from, columns = to.

    Parameters
    ----------
    matrix
        From :func:`attnviz.syntax.metrics.pos_matrix`.
    ax
        Axes to draw in; a new figure if None.
    layer, head
        Which layer (and head) to show; ``layer=None`` averages all layers.
    codes
        Label with UPOS codes (``NOUN``) instead of Spanish names.
    values
        Write each share in its cell.
    colorbar
        Add a colour bar.

    Returns
    -------
    Axes
        The image is ``ax.images[0]`` (gid ``"pos-matrix"``).

    Examples
    --------
    >>> plot_pos_matrix(pos_matrix(pairs), layer=2).figure.savefig("categorias.png")
    """
    import matplotlib.pyplot as plt

    data = matrix.matrix(layer, head)
    labels = list(matrix.tags if codes else matrix.names)
    k = len(labels)
    if ax is None:
        side = float(np.clip(0.5 * k + 2.5, 5.0, 12.0))
        # After modo_clase(): 8 inches wide, as tall as the rows' labels need.
        size = (side + 1.4, side) if not _classroom() else (8.0, max(4.25, 0.32 * k + 3.0))
        _, ax = plt.subplots(figsize=size, layout="constrained")
    vmax = max(float(np.nanmax(data)) if np.isfinite(data).any() else 1.0, 1e-6)
    cmap = plt.get_cmap(CMAP).with_extremes(bad="0.88")
    image = ax.imshow(
        np.ma.masked_invalid(data), cmap=cmap, vmin=0.0, vmax=vmax, interpolation="nearest", gid="pos-matrix"
    )
    # Upright on a projector: at its size, slanted names would touch.
    slant = {"rotation": 90, "va": "center"} if _classroom() else {"rotation": 45}
    ax.set_xticks(range(k), labels, ha="left", rotation_mode="anchor", fontsize=_sized(9), **slant)
    counted = [f"{name} ({c})" for name, c in zip(labels, matrix.counts, strict=True)]
    ax.set_yticks(range(k), counted, fontsize=_sized(9))
    ax.xaxis.tick_top()
    ax.xaxis.set_label_position("top")
    ax.tick_params(length=0)
    ax.set_xlabel("hacia (categoría de la palabra atendida)")
    ax.set_ylabel(
        "desde (categoría que atiende, nº)"
        if _classroom()
        else "desde (categoría de la palabra que atiende, nº de palabras)"
    )
    if values and _classroom():
        # A number needs 2.5 of its sizes of cell on a projector; else the colours speak alone.
        ax.figure.canvas.figure.draw_without_rendering()
        cell = min(ax.bbox.width, ax.bbox.height) * 72.0 / ax.figure.dpi / max(k, 1)
        values = cell >= 2.5 * _sized(7, "values")
    for (i, j), share in np.ndenumerate(data):
        if values and np.isfinite(share):
            # Dark text in the pale middle of coolwarm, white on the saturated ends.
            colour = "black" if 0.25 < share / vmax < 0.75 else "white"
            ax.text(
                j, i, f"{share:.2f}", ha="center", va="center", fontsize=_sized(7, "values"), color=colour,
                in_layout=False,
            )  # fmt: skip
    where = "media de todas las capas" if layer is None else f"capa {layer}"
    who = "media de las cabezas" if head is None else f"cabeza {head}"
    title = f"Atención entre categorías · {where} · {who}"
    ax.set_title(title.replace(" · ", "\n", 1) if _classroom() else title, fontsize=_sized(11, "title"))
    if colorbar:
        ax.figure.colorbar(image, ax=ax, shrink=0.8, pad=0.02, label="parte de la atención (sin [CLS]/[SEP])")
    return ax


#: Grey of the notes under a title (as :data:`attnviz.plots.style.NOTES_COLOR`), and their gap in points.
NOTES_COLOR = "0.35"
NOTES_GAP = 4.0
#: Colour of each verdict's points in :func:`plot_held_out` (coolwarm's red end for a head that beats its
#: baseline, its blue end for one that does not, grey for the rows that cannot be ranked); the verdict
#: is also written beside each row, so colour is never the only cue.
VERDICT_COLORS: dict[str, str] = {
    "beats": "#b40426",
    "unclear": "#f49a7b",
    "below": "#3b4cc0",
    "few": "0.6",
    "saturated": "0.6",
}


def _sizes(fontsize: float | None) -> dict[str, float]:
    """Text sizes from one base size, with the ratios of :func:`attnviz.plots.style.font_sizes`.

    The syntax layer sits below the plots layer and cannot import it; the base size defaults to
    matplotlib's ``font.size``, which the lesson's projector switch raises together with the package's.
    """
    import matplotlib as mpl

    base = float(mpl.rcParams["font.size"]) if fontsize is None else float(fontsize)
    return {"labels": base, "values": base * 0.85, "title": base * 1.2, "notes": base * 0.8}


def plot_held_out(table: HeldOutTable, ax: Axes | None = None, *, fontsize: float | None = None) -> Axes:
    """Each relation's head, chosen on one half and measured on the other, against its baseline.

    Parameters
    ----------
    table
        From :func:`attnviz.syntax.held_out_scores`.
    ax
        Axes to draw in; a new figure if None.
    fontsize
        Base text size (default: matplotlib's ``font.size``).

    Returns
    -------
    Axes
        One error bar per row (gid ``"held-out-<relation>"``: the point is the held-out accuracy, the
        bar its 95% Wilson interval), the baselines as vertical ticks (gid ``"held-out-baselines"``)
        and each row's ``n`` and verdict on the right (gid ``"held-out-verdict-<relation>"``).

    Examples
    --------
    >>> plot_held_out(held_out_scores(gsd_results(model, tokenizer))).figure.savefig("sintaxis.png")
    """
    import matplotlib.pyplot as plt

    from .heldout import VERDICTS_ES

    sizes = _sizes(fontsize)
    rows = table.rows
    k = max(len(rows), 1)
    if ax is None:
        scale = sizes["labels"] / 10.0
        _, ax = plt.subplots(figsize=(10.0 * scale, (1.4 + 0.42 * k) * scale), layout="constrained")
    y = np.arange(len(rows))[::-1]
    for row, yy in zip(rows, y, strict=True):
        colour = VERDICT_COLORS[row.verdict]
        ax.errorbar(
            [100 * row.accuracy],
            [yy],
            xerr=[[100 * max(row.accuracy - row.low, 0.0)], [100 * max(row.high - row.accuracy, 0.0)]],
            fmt="o",
            color=colour,
            markersize=sizes["labels"] * 0.8,
            elinewidth=2.5,
            capsize=4,
            gid=f"held-out-{row.relation}",
        )
    ax.scatter(
        [100 * row.baseline for row in rows],
        y,
        marker="|",
        s=(sizes["labels"] * 2.2) ** 2,
        linewidths=2.5,
        color="black",
        zorder=3,
        gid="held-out-baselines",
    )
    labels = [f"{row.relation} · capa {row.layer}, cabeza {row.head}" for row in rows]
    ax.set_yticks(y, labels, fontsize=sizes["labels"])
    # n and verdict as the right axis' labels, so that the layout engine makes room for them.
    right = ax.secondary_yaxis("right")
    right.set_yticks(y, [f"n = {row.n} · {VERDICTS_ES[row.verdict].split(':')[0]}" for row in rows])
    right.tick_params(length=0, labelsize=sizes["values"])
    for label, row in zip(right.get_yticklabels(), rows, strict=True):
        label.set_color("black" if row.ranked else NOTES_COLOR)
        label.set_gid(f"held-out-verdict-{row.relation}")
    ax.set_ylim(-0.7, len(rows) - 0.3)
    ax.set_xlim(-3, 103)  # a point at 0 or 100% stays whole
    ax.set_xticks(range(0, 101, 20))
    ax.tick_params(axis="x", labelsize=sizes["values"])
    ax.set_xlabel(
        "acierto en la otra mitad (%) · barra: intervalo del 95% (Wilson) · raya negra: línea base",
        fontsize=sizes["labels"],
    )
    ax.grid(axis="x", alpha=0.3)
    # The grey notes sit just above the Axes and the title above them (its pad leaves their line free).
    ax.annotate(
        f"{table.n_sentences} frases de {table.source} · capas y cabezas desde 0\n"
        f"cada cabeza, elegida con {table.n_choose} frases y medida con las otras {table.n_score}",
        xy=(0.0, 1.0),
        xycoords="axes fraction",
        xytext=(0.0, NOTES_GAP),
        textcoords="offset points",
        va="bottom",
        fontsize=sizes["notes"],
        color=NOTES_COLOR,
        gid="notes",
    )
    ax.set_title(
        f"Cabezas sintácticas medidas en la otra mitad · {table.model_name}",
        fontsize=sizes["title"],
        loc="left",
        pad=2 * NOTES_GAP + 2 * 1.3 * sizes["notes"],
    )
    return ax
