"""Token-arc plot: one arc from a source token to every token it attends to."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal, NamedTuple

import numpy as np

from .result import AttentionResult, require_result

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.collections import LineCollection, PathCollection
    from matplotlib.colorbar import Colorbar
    from matplotlib.colors import Normalize
    from matplotlib.text import Text

SOURCE_COLOR = "#1f5fbf"
MAX_COLOR = "#d62728"
CMAP = "coolwarm"
ARC_POINTS = 33
AUTO_TOP_K_ABOVE = 48
AUTO_TOP_K = 24
TOP_VALUES = 5

TopK = int | None | Literal["auto"]
Values = Literal["top", "all", "none"] | int
Scale = Literal["row", "absolute"]


def arc_paths(n: int, source: int, points: int = ARC_POINTS) -> np.ndarray:
    """``[n, points, 2]`` half-ellipses from ``source`` to every token.

    The height grows with the distance so that nested arcs do not overlap;
    the row for ``source`` itself is degenerate (a point) and is drawn as a
    marker instead.
    """
    t = np.linspace(0.0, np.pi, points)
    targets = np.arange(n, dtype=np.float64)[:, None]
    middle = (source + targets) / 2.0
    half = (targets - source) / 2.0
    x = middle - half * np.cos(t)[None, :]
    y = arc_height(np.abs(targets - source)) * np.sin(t)[None, :]
    return np.stack([x, y], axis=-1)


def arc_height(distance: np.ndarray | float) -> np.ndarray:
    """Apex height of an arc spanning ``distance`` tokens: sub-linear, so long arcs stay low."""
    return 0.5 * np.power(np.asarray(distance, dtype=np.float64), 0.75)


def selected_targets(
    row: np.ndarray, source: int, top_k: TopK = "auto", threshold: float = 0.0, causal: bool = False
) -> np.ndarray:
    """Indices of the targets to draw, strongest first (the source itself excluded)."""
    n = len(row)
    candidates = np.arange(n)
    keep = (candidates != source) & (row >= threshold)
    if causal:
        keep &= candidates < source
    candidates = candidates[keep]
    k = resolve_top_k(top_k, n)
    order = np.argsort(-row[candidates], kind="stable")
    if k is not None:
        order = order[:k]
    return candidates[order]


def resolve_top_k(top_k: TopK, n: int) -> int | None:
    if top_k == "auto":
        return AUTO_TOP_K if n > AUTO_TOP_K_ABOVE else None
    if top_k is not None and (isinstance(top_k, bool) or not isinstance(top_k, int) or top_k < 1):
        raise ValueError(f"top_k must be a positive int, None or 'auto', not {top_k!r}")
    return top_k


#: Colour-scale maxima: a row's maximum is rounded up to one of these (times a power of ten),
#: so the colour bar reads in round numbers and a redraw can reuse a colour bar drawn before.
NICE_STEPS = (1.0, 1.25, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0)


def colour_scale_max(row: np.ndarray, scale: Scale = "row") -> float:
    """Top of the colour and width scale: 1 for ``"absolute"``, else the row's maximum rounded up.

    Rounding keeps the strongest link at 75 % or more of the scale, so it stays red.
    """
    if scale == "absolute":
        return 1.0
    peak = float(max(np.max(row), 1e-6))
    decade = 10.0 ** np.floor(np.log10(peak))
    for step in NICE_STEPS:
        # The tolerance keeps exact steps (0.5) from rounding up to the next one.
        if peak <= step * decade * (1 + 1e-9):
            return float(step * decade)
    return float(10.0 * decade)


class ArcArtists(NamedTuple):
    """What :func:`plot_arcs` drew, for a caller that redraws it in place (:mod:`attnviz.render`)."""

    arcs: LineCollection
    self_dot: PathCollection
    labels: list[Text]
    values: list[Text]
    notes: Text
    colorbar: Colorbar | None


class _ArcPlotter:
    """One arc view: which links to draw and how each looks, then the artists (as seaborn's ``_HeatMapper``).

    The only place for the width, alpha, dot-size and figure-size formulas:
    :func:`plot_arcs` draws a plotter once, and the explorer's renderer
    builds one per redraw and copies its numbers onto the artists it keeps.
    """

    def __init__(
        self,
        result: AttentionResult,
        layer: int,
        head: int,
        source: int,
        top_k: TopK = "auto",
        threshold: float = 0.0,
        values: Values = "top",
        scale: Scale = "row",
        matrix: np.ndarray | None = None,
        title: str | None = None,
    ) -> None:
        if matrix is None:
            matrix = result.head(layer, head)
        self.result = result
        self.n = result.n_tokens
        self.source = result.check_token(source)
        self.row = np.asarray(matrix[self.source], dtype=np.float64)
        self.vmax = colour_scale_max(self.row, scale)
        #: Targets to draw, strongest first; drawn weakest first so that strong arcs lie on top.
        self.targets = selected_targets(self.row, self.source, top_k, threshold, result.causal)
        self.draw_order = self.targets[::-1]
        self.weights = self.row[self.draw_order]
        self.self_weight = float(self.row[self.source])
        self.max_target = int(np.argmax(self.row))
        self.values = values
        self.title = arc_title(result, layer, head, self.source) if title is None else title
        self.notes = arc_notes(result, self.source, len(self.targets))

    # -- the formulas --------------------------------------------------------------------

    @staticmethod
    def figure_size(n: int) -> tuple[float, float]:
        """Inches for ``n`` tokens: wider with more tokens, from 8 to 24."""
        return float(np.clip(0.55 * n + 2.5, 8.0, 24.0)), 4.8

    def widths(self) -> np.ndarray:
        """Line width of each drawn arc, in points: thicker for heavier links."""
        return 0.6 + 7.0 * np.clip(self.weights / max(self.vmax, 1e-12), 0.0, 1.0)

    def alphas(self) -> list[float] | None:
        """Opacity of each drawn arc: faint weak links keep the eye on the strong ones."""
        if not len(self.weights):  # a causal model's first token attends to nothing else
            return None
        return (0.3 + 0.7 * np.clip(self.weights / self.vmax, 0.0, 1.0)).tolist()

    def dot_size(self) -> float:
        """Area of the dot that shows the source's attention to itself, in points²."""
        return 40 + 500 * min(self.self_weight / self.vmax, 1.0)

    def paths(self) -> np.ndarray:
        """``[len(draw_order), points, 2]`` arc shapes, weakest first."""
        return arc_paths(self.n, self.source)[self.draw_order]

    def value_labels(self) -> list[tuple[int, float, float, str]]:
        """``(target, x, y, text)`` of each weight printed on the plot, strongest first."""
        return value_labels(self.row, self.source, self.draw_order, self.values, self.n)

    def value_text(self, ax: Axes, x: float = 0.0, y: float = 0.0, text: str = "") -> Text:
        """A new weight label, in the style every weight label has."""
        size = 9 if self.n <= 30 else 7
        return ax.text(x, y, text, fontsize=size, **VALUE_STYLE)  # type: ignore[arg-type]

    # -- drawing -------------------------------------------------------------------------

    def plot(self, ax: Axes, colorbar: bool = True) -> ArcArtists:
        """Draw the view on ``ax`` and return its artists."""
        import matplotlib.pyplot as plt
        from matplotlib.collections import LineCollection

        norm = self.norm()
        cmap = plt.get_cmap(CMAP)
        arcs = LineCollection(
            list(self.paths()), cmap=cmap, norm=norm, linewidths=self.widths(), capstyle="round"
        )
        arcs.set_array(self.weights)
        alphas = self.alphas()
        if alphas is not None:
            arcs.set_alpha(alphas)
        arcs.set_gid("arcs")
        ax.add_collection(arcs)

        self_dot = ax.scatter(
            [self.source],
            [0.0],
            s=[self.dot_size()],
            c=[self.self_weight],
            cmap=cmap,
            norm=norm,
            zorder=3,
            edgecolors="black",
            linewidths=0.8,
            gid="self",
        )
        labels = _draw_labels(ax, self.result, self.source, self.max_target)
        values = []
        for j, x, y, text in self.value_labels():
            label = self.value_text(ax, x, y, text)
            label.set_gid(f"value-{j}")
            values.append(label)

        n = self.n
        height = max(1.0, float(arc_height(n - 1)))
        ax.set_xlim(-0.8, n - 0.2)
        ax.set_ylim(-0.08 * height, 1.12 * height)
        ax.set_yticks([])
        for spine in ax.spines.values():
            spine.set_visible(False)
        ax.set_title(self.title, fontsize=12)
        # Inside the top-left corner, where arcs are lowest: above the axes it
        # would collide with a long (e.g. rollout) title.
        notes = ax.text(
            0.0,
            1.0,
            self.notes,
            transform=ax.transAxes,
            fontsize=8,
            color="0.35",
            va="top",
            ha="left",
            gid="notes",
        )
        bar = None
        if colorbar:
            mappable = plt.cm.ScalarMappable(norm=norm, cmap=cmap)
            bar = ax.figure.colorbar(mappable, ax=ax, shrink=0.8, pad=0.01, label="peso de atención")
        return ArcArtists(arcs, self_dot, labels, values, notes, bar)

    def norm(self) -> Normalize:
        from matplotlib.colors import Normalize

        return Normalize(vmin=0.0, vmax=self.vmax)


def plot_arcs(
    result: AttentionResult,
    layer: int,
    head: int,
    source: int,
    ax: Axes | None = None,
    *,
    top_k: TopK = "auto",
    threshold: float = 0.0,
    values: Values = "top",
    scale: Scale = "row",
    colorbar: bool = True,
    matrix: np.ndarray | None = None,
    title: str | None = None,
) -> Axes:
    """Draw the attention from token ``source`` in one layer and head as arcs.

    Line width and colour follow the weight (blue low, red high, one scale
    with a colour bar).  The source token is boxed in blue and the most
    attended token in red; the dot under the source is its attention to itself.

    Parameters
    ----------
    result : AttentionResult
        What :func:`attnviz.extract` (or :func:`attnviz.to_words`) returns.
    layer, head : int
        Which head, counted from 0.  Ignored when ``matrix`` is given, except in the title.
    source : int
        The token (or word) the attention comes from, counted from 0.
    ax : matplotlib Axes, optional
        Where to draw.  ``None`` makes a new figure sized to the token count
        (8 to 24 inches wide, 4.8 high) with a constrained layout.
    top_k : int, None or "auto"
        Draw only the ``top_k`` strongest links; ``"auto"``: the 24 strongest above 48 tokens.
    threshold : float
        Hide links weaker than this.
    values : "top", "all", "none" or int
        Which weights to print: the 5 strongest, all, none or the N strongest.
    scale : "row" or "absolute"
        Colour and width scale up to the row's maximum (rounded up) or up to 1.
    colorbar : bool
        Add a colour bar.
    matrix : ndarray, optional
        An ``[n, n]`` matrix (an aggregate, see :mod:`attnviz.aggregate`) to draw instead of one head.
    title : str, optional
        Replaces the default "Capa · cabeza · atención desde …" title.

    Returns
    -------
    matplotlib Axes
        The Axes drawn on, like seaborn; save with ``ax.figure.savefig``.
        Artist gids: ``"arcs"``, ``"self"``, ``"notes"``, ``"token-<i>"``, ``"value-<j>"``.

    Examples
    --------
    >>> ax = attnviz.plot_arcs(result, layer=3, head=5, source=2)
    >>> ax.figure.savefig("arcos.svg")
    >>> attnviz.plot_arcs(result, 3, 0, 2, matrix=attnviz.rollout(result, 3), title="Rollout")
    """
    result = require_result(result)
    plotter = _ArcPlotter(result, layer, head, source, top_k, threshold, values, scale, matrix, title)
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots(figsize=_ArcPlotter.figure_size(result.n_tokens), layout="constrained")
    plotter.plot(ax, colorbar)
    return ax


def _draw_labels(ax: Axes, result: AttentionResult, source: int, max_target: int) -> list[Text]:
    """Tokens as x tick labels, so that layout engines leave room for them."""
    n = result.n_tokens
    rotation = 0 if n <= 14 else (45 if n <= 40 else 90)
    size = 11 if n <= 20 else (9 if n <= 64 else 7)
    labels = [token.replace("$", r"\$") or "␣" for token in result.tokens]
    ax.set_xticks(
        range(n),
        labels,
        rotation=rotation,
        fontsize=size,
        ha="center" if rotation == 0 else "right",
        rotation_mode="anchor",
    )
    ax.tick_params(axis="x", length=0, pad=6)
    texts = list(ax.get_xticklabels())
    for i, text in enumerate(texts):
        text.set_gid(f"token-{i}")
        style_token_label(text, i, source, max_target, result.causal)
    return texts


def style_token_label(label: Text, i: int, source: int, max_target: int, causal: bool) -> None:
    """Colour token ``i``'s label: source boxed in blue, most attended in red, masked future grey.

    Also resets a label styled for another source, so that a reused figure
    (attnviz.render) looks exactly like a fresh plot.
    """
    label.set_color("0.7" if causal and i > source else "black")
    label.set_bbox(None)
    if i == max_target:
        label.set_color("white")
        label.set_bbox({"boxstyle": "round,pad=0.25", "fc": MAX_COLOR, "ec": MAX_COLOR})
    if i == source:
        both = i == max_target
        label.set_color("white")
        label.set_bbox(
            {
                "boxstyle": "round,pad=0.25",
                "fc": SOURCE_COLOR,
                "ec": MAX_COLOR if both else SOURCE_COLOR,
                "lw": 2.5 if both else 1,
            }
        )


def arc_title(result: AttentionResult, layer: int, head: int, source: int) -> str:
    """The default title: which head, and where the attention comes from."""
    return f"Capa {layer} · cabeza {head} · {from_source(result, source)}"


def from_source(result: AttentionResult, source: int) -> str:
    """``atención desde «perro» (token 2)``: the end of every arc title."""
    return f"atención desde «{result.tokens[source]}» ({result.unit_noun} {source})"


def arc_notes(result: AttentionResult, source: int, n_drawn: int) -> str:
    """The small grey line above the arcs: model, hidden links, causal mask."""
    n = result.n_tokens
    hidden = n - 1 - n_drawn - (n - 1 - source if result.causal else 0)
    notes = [f"Índices desde 0 · {result.model_name}"]
    if hidden > 0:
        notes.append(f"{hidden} enlaces débiles ocultos")
    if result.causal:
        notes.append("modelo causal: el futuro está enmascarado")
    return " · ".join(notes)


def value_labels(
    row: np.ndarray, source: int, drawn: np.ndarray, values: Values, n: int
) -> list[tuple[int, float, float, str]]:
    """``(target, x, y, text)`` of each weight printed on the plot, strongest first."""
    if values == "none":
        return []
    shown = np.concatenate([drawn, [source]])
    shown = shown[np.argsort(-row[shown], kind="stable")]
    if values == "top":
        # A "0.00" label says nothing; the strongest links are the point.
        shown = shown[:TOP_VALUES]
        shown = shown[row[shown] >= 0.005]
    elif isinstance(values, int) and not isinstance(values, bool):
        shown = shown[:values]
    elif values != "all":
        raise ValueError(f"values must be 'top', 'all', 'none' or an int, not {values!r}")
    top = float(arc_height(n - 1)) if n > 1 else 1.0
    labels = []
    for j in shown.tolist():
        x = (source + j) / 2.0
        y = float(arc_height(abs(j - source))) + 0.03 * top if j != source else 0.08 * top
        labels.append((j, x, y, f"{row[j]:.2f}"))
    return labels


VALUE_STYLE: dict[str, object] = {
    "ha": "center",
    "va": "bottom",
    "bbox": {"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none", "alpha": 0.8},
}
