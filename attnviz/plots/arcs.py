"""Token-arc plot: one arc from a source token to every token it attends to.

Where everything goes (which tokens get a label, where each number sits, how
long inputs are squeezed around the source) is decided by
:mod:`attnviz.plots.arc_layout` from font metrics, without drawing; this module
draws it with matplotlib.  :func:`plot_arcs` and the explorer's fast renderer
(:mod:`attnviz.explore.canvas`) share the drawing, so they draw the same picture.
"""

from __future__ import annotations

import dataclasses
import math
from typing import TYPE_CHECKING, Any, Literal, NamedTuple

import numpy as np

from ..core.errors import InvalidInputTypeError
from ..core.result import AttentionResult, require_result
from .arc_layout import (
    CAUSAL_NOTE,
    DEP_LEVEL_EM,
    DOT_AREA,
    HIGHLIGHT_PAD_EM,
    LINE_EM,
    TOP_BAR_GAP_EM,
    ArcLayout,
    ColorbarPlace,
    FigureLayout,
    TopK,
    arcs_between,
    colorbar_lines,
    colorbar_place,
    dependency_height,
    figure_layout,
    fit_text,
    notes_height,
    resolve_top_k,
    selected_targets,
    top_bar_box,
    top_bar_height,
    unlabelled_note,
    word_x,
    wrap_notes,
)
from .labels import MAX_TITLE_CHARS, label_text, text_width
from .style import CMAP, SCALE_LABELS, Scale, check_scale, colorbar_label, scale_top

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.collections import LineCollection
    from matplotlib.colorbar import Colorbar
    from matplotlib.colors import Normalize
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D
    from matplotlib.text import Text
    from matplotlib.transforms import Transform

    from ..syntax.parsing import SyntaxAnnotation

#: Line width of the weakest and the strongest arc, in points.
ARC_WIDTHS = (0.6, 7.6)
SOURCE_COLOR = "#1f5fbf"
MAX_COLOR = "#d62728"
TOP_VALUES = 5

Values = Literal["top", "all", "none"] | int

#: Name of the Axes that holds the dependency arcs (see :func:`dependency_axes`).
DEPENDENCY_AXES_LABEL = "dependencias"


# --------------------------------------------------------------------------- one view


class ArcArtists(NamedTuple):
    """What :func:`plot_arcs` drew, for a caller that redraws it in place (:mod:`attnviz.explore.canvas`)."""

    arcs: LineCollection
    self_dot: Line2D
    labels: list[Text]
    values: list[Text]
    notes: Text
    colorbar: Colorbar | None
    rug: Line2D
    #: The ``"top"`` colour bar's texts: its label, "0" and the scale's top (empty otherwise).
    colorbar_texts: tuple[Text, ...] = ()


class ArcPlot:
    """The arc view of one result: built once, drawn once, then shown for any head and source.

    ``show(layer, head, source)`` works out which links to draw and how each
    looks (the only place for the width, alpha, dot-size and placement
    formulas); once :meth:`draw` has made the artists on an Axes, each
    ``show`` updates them in place.  :func:`plot_arcs` is "build, show, draw";
    the explorer keeps one ``ArcPlot`` on a blitted canvas
    (:class:`attnviz.explore.canvas.ArcRenderer`) and calls ``show`` per move.

    Parameters
    ----------
    result : AttentionResult
        The sentence.
    layout : ArcLayout
        Where everything goes (:meth:`ArcLayout.build` or :func:`figure_layout`).
    top_k, threshold, values
        As in :func:`plot_arcs`.
    scale : "head", "absolute" or "row"
        Default top of the colour scale (``show`` can change it).
    title : bool
        Draw a title; the default one is fitted to ``title_width`` points when given.

    Examples
    --------
    >>> plot = ArcPlot(result, ArcLayout.build(result.tokens, None, 600.0))
    >>> artists = plot.show(3, 5, 2).draw(ax)
    >>> plot.show(4, 0, 1)  # the same artists now show layer 4, head 0, from token 1
    """

    def __init__(
        self,
        result: AttentionResult,
        layout: ArcLayout,
        *,
        top_k: TopK = "auto",
        threshold: float = 0.0,
        values: Values = "top",
        scale: Scale = "head",
        title: bool = True,
        title_width: float | None = None,
    ) -> None:
        self.result = result
        self.layout = layout
        self.n = result.n_tokens
        self.top_k = top_k
        self.threshold = threshold
        self.value_choice = values
        self.default_scale = scale
        self.with_title = title
        self.title_width = title_width
        self.artists: ArcArtists | None = None
        self._tick_labels = False
        #: Number labels made so far; the first ``len(self.values)`` show this view's.
        self._value_pool: list[Text] = []
        self._bar_key: tuple[str, float] = ("", -1.0)
        self._value_rows: list[Transform] = []
        self._rug_source = -1

    def show(
        self,
        layer: int,
        head: int,
        source: int,
        matrix: np.ndarray | None = None,
        *,
        title: str | None = None,
        scale: Scale | None = None,
    ) -> ArcPlot:
        """Work out the view from ``source`` in one head (or ``matrix``) and update the artists if drawn.

        Parameters
        ----------
        layer, head : int
            Which head, from 0 (only named in the title when ``matrix`` is given).
        source : int
            The token the attention comes from.
        matrix : ndarray, optional
            ``[n, n]`` to show instead of the head (an aggregate).
        title : str, optional
            Replaces the default title.
        scale : "head", "absolute" or "row", optional
            Top of the colour scale for this view (default: the plot's).

        Returns
        -------
        ArcPlot
            ``self``, so that ``plot.show(...).draw(ax)`` reads in order.

        Examples
        --------
        >>> plot.show(3, 5, 2).weights  # the drawn links' weights, weakest first
        """
        result, layout = self.result, self.layout
        if matrix is None:
            matrix = result.head(layer, head)
        self.source = result.check_token(source)
        self.row = np.asarray(matrix[self.source], dtype=np.float64)
        self.scale = scale or self.default_scale
        self.vmax = scale_top(matrix, self.source, self.scale, result.causal)
        #: Targets to draw, strongest first; drawn weakest first so that strong arcs lie on top.
        self.targets = selected_targets(self.row, self.source, self.top_k, self.threshold, result.causal)
        self.draw_order = self.targets[::-1]
        self.weights = self.row[self.draw_order]
        self.self_weight = float(self.row[self.source])
        self.max_target = int(np.argmax(self.row))
        self.x = layout.positions(self.source)
        # Besides the window, the labels of the drawn links' targets (strongest first) that fit.
        self.shown = layout.shown_labels(self.source, self.targets, self.x)
        # A number only under a token whose label is drawn: the rest are counted in the notes.
        printed = value_targets(self.row, self.source, self.draw_order, self.value_choice)
        self.values, self.values_without_room = layout.place_values(
            [j for j in printed if self.shown[j]], self.x
        )
        self.values_without_room += sum(not self.shown[j] for j in printed)
        if not self.with_title:
            self.title = ""
        elif title is not None:
            self.title = title
        else:
            self.title = arc_title(result, layer, head, self.source)
            if self.title_width is not None:
                self.title = fit_text(self.title, layout.sizes["title"], self.title_width)
        self.notes = arc_notes(result, self.source, len(self.targets), self)
        #: The notes as drawn: on lines that fit the Axes' width.
        self.notes_text = wrap_notes(self.notes, layout.sizes["notes"], layout.axes_width)
        if self.artists is not None:
            self._update()
        return self

    # -- the formulas --------------------------------------------------------------------

    def widths(self) -> np.ndarray:
        """Line width of each drawn arc, in points: thicker for heavier links."""
        thinnest, widest = ARC_WIDTHS
        return thinnest + (widest - thinnest) * np.clip(self.weights / max(self.vmax, 1e-12), 0.0, 1.0)

    def alphas(self) -> list[float]:
        """Opacity of each drawn arc: faint weak links keep the eye on the strong ones.

        Empty when no arc is drawn (a causal model's first token attends to nothing else).
        """
        if not len(self.weights):
            return []
        return (0.3 + 0.7 * np.clip(self.weights / self.vmax, 0.0, 1.0)).tolist()

    def dot_size(self) -> float:
        """Area of the dot that shows the source's attention to itself, in points²."""
        low, high = DOT_AREA
        return low + (high - low) * min(self.self_weight / self.vmax, 1.0)

    def dot_style(self, norm: Any = None) -> dict[str, Any]:
        """The self-attention dot as a marker: diameter (points) and colour on the arcs' scale."""
        import matplotlib.pyplot as plt

        colour = plt.get_cmap(CMAP)((norm or self.norm())(self.self_weight))
        return {"markersize": math.sqrt(self.dot_size()), "markerfacecolor": colour}

    def paths(self) -> np.ndarray:
        """``[len(draw_order), points, 2]`` arc shapes, weakest first."""
        return arcs_between(float(self.x[self.source]), self.x[self.draw_order])

    def value_texts(self) -> list[tuple[int, float, int, str]]:
        """``(target, x, row, text)`` of each weight printed under its token, strongest first."""
        return [(j, x, r, f"{self.row[j]:.2f}") for j, x, r in self.values]

    def rug(self) -> np.ndarray:
        """x of the tokens squeezed outside the focused window (a tick each), else empty."""
        if not self.layout.focus:
            return np.empty(0)
        first, last = self.layout.window_of(self.source)
        return np.concatenate([self.x[:first], self.x[last + 1 :]])

    def norm(self, vmax: float | None = None) -> Normalize:
        """The colour scale of the arcs: 0 to this view's top (or ``vmax``)."""
        from matplotlib.colors import Normalize

        return Normalize(vmin=0.0, vmax=self.vmax if vmax is None else vmax)

    # -- drawing -------------------------------------------------------------------------

    def draw(
        self,
        ax: Axes,
        *,
        colorbar: bool | Axes = True,
        syntax: SyntaxAnnotation | None = None,
        dependencies: Axes | None = None,
        tick_labels: bool = True,
    ) -> ArcArtists:
        """Make the artists of the view last shown (:meth:`show`) on ``ax`` and return them.

        Parameters
        ----------
        ax : matplotlib Axes
            Where the arcs go.
        colorbar : bool or Axes
            Add a colour bar, or the Axes to draw it into.
        syntax : SyntaxAnnotation, optional
            Dependency arcs under the labels (in ``dependencies``, or an Axes made below ``ax``).
        dependencies : Axes, optional
            Where the dependency arcs go.
        tick_labels : bool
            ``False`` leaves the token labels out (no ticks at all), for a caller
            that draws them itself with :func:`label_artist`.

        Returns
        -------
        ArcArtists
            What was drawn; later :meth:`show` calls update these artists.

        Examples
        --------
        >>> artists = ArcPlot(result, layout).show(3, 5, 2).draw(ax)
        >>> artists.arcs.get_gid()
        'arcs'
        """
        import matplotlib.pyplot as plt
        from matplotlib.collections import LineCollection
        from matplotlib.lines import Line2D

        layout, sizes = self.layout, self.layout.sizes
        norm = self.norm()
        cmap = plt.get_cmap(CMAP)
        arcs = LineCollection([], cmap=cmap, norm=norm, capstyle="round")
        arcs.set_gid("arcs")
        ax.add_collection(arcs)
        # A line's marker rather than a scatter: drawn alike, and a scatter of one point spends
        # ~0.5 ms per draw measuring its circle's Bézier extents (the explorer redraws it each move).
        (self_dot,) = ax.plot(
            [self.x[self.source]],
            [0.0],
            linestyle="none",
            marker="o",
            markeredgecolor="black",
            markeredgewidth=0.8,
            zorder=3,
            gid="self",
            clip_on=False,
        )
        rug = Line2D(
            [],
            [],
            color="0.6",
            linewidth=0.6,
            solid_capstyle="butt",
            transform=ax.get_xaxis_transform(),
            gid="rug",
            zorder=1,
        )
        ax.add_line(rug)
        self.base_colors = token_colors(self.result, syntax)
        self._tick_labels = tick_labels
        if not tick_labels:
            ax.set_xticks([])
        ax.set_xlim(*layout.xlim)
        ax.set_ylim(0.0, layout.top)
        ax.set_yticks([])
        for spine in ax.spines.values():
            spine.set_visible(False)
        lines = max(layout.notes_lines, self.notes_text.count("\n") + 1)
        ax.set_title(self.title, fontsize=sizes["title"], pad=notes_height(layout, lines))
        # Between the title and the arcs, where no arc reaches.
        notes = ax.text(
            0.0,
            1.0,
            "",
            transform=notes_transform(ax, layout),
            fontsize=sizes["notes"],
            color="0.35",
            va="bottom",
            ha="left",
            gid="notes",
        )
        bar = None
        ends: list[Text] = []
        if colorbar is not False:
            # The gradient is the same for any top: the bar spans 0-1 and its ticks say the scale.
            mappable = plt.cm.ScalarMappable(norm=self.norm(1.0), cmap=cmap)
            if layout.legend:
                # The colour bar on its own line above the arcs (the layout left it that room).
                cax = colorbar if colorbar is not True else top_bar_axes(ax, layout)
                bar = ax.figure.colorbar(mappable, cax=cax, orientation="horizontal")
                # Its ends say 0 and the top in texts of its own.
                cax.xaxis.set_visible(False)
                ends = top_bar_texts(cax, layout)
            else:
                if colorbar is True:
                    bar = ax.figure.colorbar(mappable, ax=ax, shrink=0.8, pad=0.01)
                else:
                    bar = ax.figure.colorbar(mappable, cax=colorbar)
                bar.ax.tick_params(labelsize=sizes["notes"])
        self.ax = ax
        self.artists = ArcArtists(arcs, self_dot, [], [], notes, bar, rug, tuple(ends))
        self._bar_key = ("", -1.0)
        self._update()
        if syntax is not None and not layout.focus:
            draw_syntax(ax, self, syntax, dependencies)
        return self.artists

    def adopt(self, previous: ArcPlot) -> None:
        """Take over the artists ``previous`` drew (another sentence on the same figure) and show this view.

        ``previous`` must have been drawn with ``tick_labels=False`` on a layout of
        the same text sizes; it draws nothing afterwards.

        Examples
        --------
        >>> plot = ArcPlot(new_result, layout).show(0, 0, 1)
        >>> plot.adopt(old_plot)  # old_plot's arcs, dot, numbers and notes now show new_result
        """
        assert previous.artists is not None and not previous._tick_labels
        self.artists, previous.artists = previous.artists, None
        self.ax = previous.ax
        self._value_pool = previous._value_pool
        self.base_colors = token_colors(self.result, None)
        self._bar_key = ("", -1.0)
        self._update()

    def _update(self) -> None:
        """Set every drawn artist to show the current view (nothing is drawn here)."""
        artists = self.artists
        assert artists is not None
        layout = self.layout
        norm = self.norm()
        arcs = artists.arcs
        arcs.set_norm(norm)
        alphas = self.alphas()
        # No arc at all (a causal model's first token): matplotlib cannot take an array of
        # opacities back to none, so the arcs are hidden and keep the last view's data.
        arcs.set_visible(bool(alphas))
        if alphas:
            arcs.set_segments(list(self.paths()))
            arcs.set_array(self.weights)
            arcs.set_linewidth(self.widths().tolist())
            arcs.set_alpha(alphas)
        dot = artists.self_dot
        dot.set_xdata([self.x[self.source]])
        style = self.dot_style(norm)
        dot.set_markersize(style["markersize"])
        dot.set_markerfacecolor(style["markerfacecolor"])
        if self._rug_source != self.source:
            artists.rug.set_data(*rug_xy(self.rug()))
            self._rug_source = self.source
        ax = self.ax
        if len(self._value_rows) != layout.value_rows:
            # One transform per row of numbers: they depend on the layout, not on the view.
            self._value_rows = [value_transform(ax, layout, r) for r in range(layout.value_rows)]
        if self._tick_labels:
            artists.labels[:] = _draw_labels(ax, self, self.base_colors)
        texts = self.value_texts()
        while len(self._value_pool) < len(texts):
            self._value_pool.append(value_text(ax, layout))
        for k, label in enumerate(self._value_pool):
            label.set_visible(k < len(texts))
        for label, (target, x, row, value) in zip(self._value_pool, texts, strict=False):
            label.set_x(x)
            label.set_transform(self._value_rows[row])
            label.set_text(value)
            label.set_gid(f"value-{target}")
        artists.values[:] = self._value_pool[: len(texts)]
        artists.notes.set_text(self.notes_text)
        ax.title.set_text(self.title)
        if artists.colorbar is not None and self._bar_key != (self.scale, self.vmax):
            self._bar_key = (self.scale, self.vmax)
            if artists.colorbar_texts:
                set_top_bar(list(artists.colorbar_texts), self.scale, self.vmax, layout)
            else:
                set_side_bar(artists.colorbar, self.scale, self.vmax, layout)


def set_side_bar(bar: Colorbar, scale: Scale, vmax: float, layout: ArcLayout) -> None:
    """Label the upright colour bar (a 0-1 gradient) from 0 to ``vmax``: round ticks and the scale's name.

    Examples
    --------
    >>> set_side_bar(artists.colorbar, "head", 0.8, layout)
    >>> [t.get_text() for t in artists.colorbar.ax.get_yticklabels()]
    ['0.0', '0.2', '0.4', '0.6', '0.8']
    """
    from matplotlib.ticker import MaxNLocator

    ticks = [t for t in MaxNLocator(nbins=5).tick_values(0.0, vmax) if -1e-12 <= t <= vmax * (1 + 1e-9)]
    # As matplotlib's own ticks read: every label with the decimals the finest one needs ("0.0" … "1.0").
    decimals = max(len(f"{t:.4g}".partition(".")[2]) for t in ticks)
    bar.set_ticks([t / vmax for t in ticks], labels=[f"{t:.{decimals}f}" for t in ticks])
    size = layout.sizes["notes"]
    height = _points(bar.ax.get_window_extent().height, bar.ax)
    bar.set_label(colorbar_lines(scale, size, height), fontsize=size)


def top_bar_axes(ax: Axes, layout: ArcLayout) -> Axes:
    """An Axes for the ``"top"`` colour bar above ``ax``, placed (when drawn) where
    :func:`top_bar_box` says: for a plot on an Axes the caller made."""
    from matplotlib.transforms import Bbox

    cax = ax.inset_axes((0.0, 1.0, 0.1, 0.1))

    def above(_axes: Any, renderer: Any) -> Bbox:
        main = ax.get_window_extent(renderer)
        pixels = root_figure(ax).dpi / 72.0
        x, y, width, height = (value * pixels for value in top_bar_box(layout))
        box = Bbox.from_bounds(main.x1 - x - width, main.y1 + y, width, height)
        return box.transformed(ax.figure.transSubfigure.inverted())

    cax.set_axes_locator(above)
    return cax


def top_bar_texts(cax: Axes, layout: ArcLayout) -> list[Text]:
    """The ``"top"`` colour bar's label, left of its "0", and the scale's top at its right end."""
    from matplotlib.transforms import offset_copy

    size = layout.sizes["notes"]
    gap = TOP_BAR_GAP_EM * size
    figure = root_figure(cax)
    zero = text_width("0", size)
    style: dict[str, Any] = {"fontsize": size, "va": "center_baseline"}
    where = [
        (0.0, -(2 * gap + zero), "right", "colorbar-label"),
        (0.0, -gap, "right", "colorbar-min"),
        (1.0, gap, "left", "colorbar-max"),
    ]
    return [
        cax.text(
            x,
            0.5,
            "",
            transform=offset_copy(cax.transAxes, fig=figure, x=dx, units="points"),
            ha=ha,
            gid=gid,
            **style,
        )
        for x, dx, ha, gid in where
    ]


def set_top_bar(texts: list[Text], scale: Scale, vmax: float, layout: ArcLayout) -> None:
    """Write which scale the ``"top"`` colour bar shows, from 0 to ``vmax``, into its texts."""
    label, low, high = texts
    size = layout.sizes["notes"]
    gap = TOP_BAR_GAP_EM * size
    # The label may take the line left of the bar, up to the figure's left margin (as wide as the
    # labels' overhang).  Short of room it names only the scale, which is what the bar must say.
    x, _, length, _ = top_bar_box(layout)
    room = layout.axes_width + layout.left_overhang - x - length - 3 * gap - text_width("0", size)
    words = colorbar_label(scale)
    if text_width(words, size) > room:
        words = f"escala {SCALE_LABELS[scale]}"
    label.set_text(fit_text(words, size, room))
    low.set_text("0")
    high.set_text(f"{vmax:g}")


def root_figure(ax: Axes) -> Figure:
    """The figure ``ax`` is drawn in (the root one when it sits in a subfigure)."""
    figure = ax.figure
    return figure.figure if figure.figure is not None else figure  # type: ignore[return-value]


def _points(pixels: float, ax: Axes) -> float:
    return pixels * 72.0 / root_figure(ax).dpi


def rug_xy(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """One short tick on the baseline for each squeezed token, as one line broken by NaNs
    (x in data, y in Axes fractions): hundreds of ticks set and drawn as one path."""
    ticks = len(x)
    xs = np.repeat(np.asarray(x, dtype=float), 3)
    xs[2::3] = np.nan
    ys = np.tile([0.0, 0.025, np.nan], ticks)
    return xs, ys


def notes_transform(ax: Axes, layout: ArcLayout | None = None) -> Transform:
    """Where the notes start: above the Axes, and above the colour bar's line when it has one."""
    from matplotlib.transforms import offset_copy

    legend = 0.0 if layout is None else layout.legend
    return offset_copy(ax.transAxes, fig=root_figure(ax), y=6.0 + legend, units="points")


def value_transform(ax: Axes, layout: ArcLayout, row: int) -> Transform:
    """x in data, y in points below the baseline: the row ``row`` of numbers."""
    from matplotlib.transforms import offset_copy

    return offset_copy(
        ax.get_xaxis_transform(), fig=root_figure(ax), y=-layout.value_offset(row), units="points"
    )


def value_text(ax: Axes, layout: ArcLayout, x: float = 0.0, row: int = 0, text: str = "") -> Text:
    """A weight label under its token, in the style every weight label has."""
    return ax.text(
        x,
        0.0,
        text,
        fontsize=layout.sizes["values"],
        transform=value_transform(ax, layout, row),
        in_layout=False,  # its room is the label pad, already part of the tick labels' offset
        **VALUE_STYLE,  # type: ignore[arg-type]
    )


def token_colors(result: AttentionResult, syntax: SyntaxAnnotation | None) -> list[str]:
    """Each token label's own colour: black, or its part of speech's colour made dark enough to read."""
    if syntax is None:
        return ["black"] * result.n_tokens
    from ..syntax.plots import pos_colors

    return [readable_color(c) for c in pos_colors(syntax, per_token=True)]


def readable_color(color: str) -> str:
    """``color`` darkened until it reads on white like body text.

    Relative luminance at most 0.18: a contrast of 4.5:1 with white (WCAG AA).
    """
    from matplotlib.colors import to_hex, to_rgb

    rgb = np.array(to_rgb(color))
    for _ in range(20):
        linear = np.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)
        if float(linear @ np.array([0.2126, 0.7152, 0.0722])) <= 0.18:
            break
        rgb = rgb * 0.85
    return str(to_hex((float(rgb[0]), float(rgb[1]), float(rgb[2]))))


def check_syntax(result: AttentionResult, syntax: object) -> SyntaxAnnotation | None:
    """The annotation to draw: ``None``, a :class:`SyntaxAnnotation` of this sentence (made at token
    or at word level), or this result parsed (``True``)."""
    if syntax is None or syntax is False:
        return None
    from ..syntax.parsing import SyntaxAnnotation, parse

    if syntax is True:
        return parse(result)
    if not isinstance(syntax, SyntaxAnnotation):
        raise InvalidInputTypeError(
            "syntax debe ser True (analizar la frase con spaCy) o el resultado de attnviz.syntax.parsing.",
            "syntax must be True (parse the sentence with spaCy) or what attnviz.syntax.parse returns.",
        )
    if syntax.words != tuple(result.words):
        raise InvalidInputTypeError(
            "La anotación sintáctica es de otra frase: créala con attnviz.syntax.parse(resultado) "
            "sobre este mismo resultado.",
            "The syntax annotation belongs to another sentence: make it with "
            "attnviz.syntax.parse(result) on this same result.",
        )
    if syntax.word_ids != tuple(result.word_ids):
        # The same sentence at the other level (tokens or words): the words are the same.
        syntax = dataclasses.replace(syntax, word_ids=tuple(result.word_ids))
    return syntax


def draw_syntax(ax: Axes, view: ArcPlot, syntax: SyntaxAnnotation, dependencies: Axes | None) -> Axes:
    """Dependency arcs under the token labels (in ``dependencies`` or a new Axes there) and a POS legend."""
    from ..syntax.parsing import POS_NAMES_ES
    from ..syntax.plots import POS_COLORS, draw_dependencies

    layout = view.layout
    size = layout.sizes["notes"]
    if dependencies is None:
        dependencies = _axes_below_labels(ax, dependency_height(layout, syntax))
    dependencies.set_label(DEPENDENCY_AXES_LABEL)
    dependencies.set_xlim(*layout.xlim)
    dependencies.set_axis_off()
    depth = 1.0
    # One nesting level is DEP_LEVEL_EM ems tall, whatever the Axes' height.
    height = dependencies.get_window_extent().height * 72.0 / ax.figure.dpi
    levels = max(1.0, (height - LINE_EM * size - 14.0) / (DEP_LEVEL_EM * size) - 0.8)
    dependencies.set_ylim(-(levels + 0.8) * depth, 0.05)
    draw_dependencies(dependencies, syntax, word_x(syntax, view.x), 0.0, fontsize=size, depth=depth)
    # Legend: the parts of speech present, each in the colour its token labels use.
    present = [tag for tag in POS_COLORS if tag in set(syntax.upos)]
    x = 0.0
    for tag in present:
        name = POS_NAMES_ES.get(tag, tag)
        dependencies.text(
            0.0,
            0.0,
            name,
            transform=_points_right(dependencies, x),
            fontsize=size,
            color=readable_color(POS_COLORS[tag]),
            va="bottom",
            ha="left",
            gid=f"pos-{tag}",
        )
        x += text_width(name, size) + size
    return dependencies


def _points_right(ax: Axes, x: float) -> Transform:
    from matplotlib.transforms import offset_copy

    return offset_copy(ax.transAxes, fig=root_figure(ax), x=x, y=0.0, units="points")


def _axes_below_labels(ax: Axes, height: float) -> Axes:
    """A child Axes sharing x with ``ax``, ``height`` points tall, put under its tick labels when drawn."""
    from matplotlib.transforms import Bbox

    child = ax.inset_axes((0.0, -0.5, 1.0, 0.4), sharex=ax)

    def below_labels(_axes: Any, renderer: Any) -> Bbox:
        main = ax.get_window_extent(renderer)
        labels = [t.get_window_extent(renderer) for t in ax.get_xticklabels() if t.get_visible()]
        lowest = min([b.y0 for b in labels], default=main.y0)
        pixels = height * ax.figure.dpi / 72.0
        box = Bbox.from_bounds(main.x0, lowest - 4.0 - pixels, main.width, pixels)
        return box.transformed(ax.figure.transSubfigure.inverted())

    child.set_axes_locator(below_labels)
    return child


def dependency_axes(ax: Axes) -> Axes | None:
    """The Axes with the dependency arcs that :func:`plot_arcs` drew under ``ax`` (``syntax=...``), or None.

    Examples
    --------
    >>> ax = attnviz.plot_arcs(result, 3, 5, 2, syntax=True)
    >>> lower = dependency_axes(ax)
    >>> [t.get_text() for t in lower.texts if t.get_gid().startswith("dep-label-")]
    ['det', 'nsubj', ...]
    """
    for candidate in [*ax.child_axes, *ax.figure.axes]:
        ours = candidate in ax.child_axes or candidate.get_shared_x_axes().joined(candidate, ax)
        if candidate is not ax and candidate.get_label() == DEPENDENCY_AXES_LABEL and ours:
            return candidate  # type: ignore[return-value]
    return None


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
    scale: Scale | None = None,
    colorbar: bool | ColorbarPlace = True,
    matrix: np.ndarray | None = None,
    title: str | bool | None = None,
    fontsize: float | None = None,
    syntax: SyntaxAnnotation | bool | None = None,
    figsize: tuple[float | None, float | None] | None = None,
) -> Axes:
    """Draw the attention from token ``source`` in one layer and head as arcs.

    Line width and colour follow the weight (blue low, red high, one scale
    with a colour bar that says which scale it is).  The source token is
    boxed in blue and the most attended token in red; the dot under the
    source is its attention to itself, and each printed weight sits under
    the token that receives it.  Long inputs focus on the source: its
    neighbours keep their labels, the rest are squeezed (a grey tick each)
    and only the strongest far targets are labelled; a note above the arcs
    counts what is hidden.

    Parameters
    ----------
    result : AttentionResult
        What :func:`attnviz.extract` (or :func:`attnviz.to_words`) returns.
    layer, head : int
        Which head, counted from 0.  Ignored when ``matrix`` is given, except in the title.
    source : int
        The token (or word) the attention comes from, counted from 0.
    ax : matplotlib Axes, optional
        Where to draw.  ``None`` makes a new figure laid out for the token
        count and text size (8 to 12.8 inches wide).
    top_k : int, None or "auto"
        Draw only the ``top_k`` strongest links; ``"auto"``: the 24 strongest above 48 tokens.
    threshold : float
        Hide links weaker than this.
    values : "top", "all", "none" or int
        Which weights to print: the 5 strongest, all, none or the N strongest.
        Numbers never overlap: one that finds no room is left out (and counted in the note).
    scale : "head", "absolute" or "row", optional
        Top of the colour and width scale: the head's maximum (default,
        :data:`attnviz.plots.style.DEFAULT_SCALE`), 1, or the source row's maximum;
        maxima are rounded up to round numbers.
    colorbar : bool, "right" or "top"
        Add a colour bar: upright on the right (``True``), or on a line of
        its own above the arcs (``"top"``: the whole width for the tokens,
        for a wide and short picture).
    matrix : ndarray, optional
        An ``[n, n]`` matrix (an aggregate, see :mod:`attnviz.core.aggregate`) to draw instead of one head.
    title : str or False, optional
        Replaces the default "Capa · cabeza · atención desde …" title
        (:func:`arc_title`); ``False`` draws none.
    fontsize : float, optional
        Base text size in points (token labels); numbers, title and notes
        follow it (:func:`attnviz.plots.style.font_sizes`).  ``16``
        (:data:`attnviz.plots.style.CLASSROOM_FONTSIZE`) reads on a projector.
    syntax : SyntaxAnnotation or True, optional
        Draw the sentence's dependencies below the tokens (one arc per
        dependency, labelled with its relation) and colour each token label
        by its part of speech.  ``True`` parses the sentence with
        :func:`attnviz.syntax.parse` (needs spaCy; otherwise
        :class:`attnviz.syntax.ParserUnavailableError`).  The dependency arcs
        live in their own Axes under the labels: :func:`dependency_axes`
        returns it.  Not drawn when a long input is focused.
    figsize : (float or None, float or None), optional
        Width and height in inches of the new figure (``ax=None``); a None
        keeps the default.  With a height, the arcs' area takes what the
        text leaves (see :func:`figure_layout`).

    Returns
    -------
    matplotlib Axes
        The main Axes (the attention arcs), like seaborn; save with ``ax.figure.savefig``.
        Artist gids: ``"arcs"``, ``"self"``, ``"notes"``, ``"rug"``, ``"token-<i>"``, ``"value-<j>"``.

    Examples
    --------
    >>> ax = attnviz.plot_arcs(result, layer=3, head=5, source=2)
    >>> ax.figure.savefig("arcos.svg")
    >>> attnviz.plot_arcs(result, 3, 5, 2, fontsize=16, scale="absolute")  # for the projector
    >>> attnviz.plot_arcs(result, 3, 5, 2, fontsize=16, colorbar="top", figsize=(8, 3.3))  # wide, short
    >>> attnviz.plot_arcs(result, 3, 0, 2, matrix=attnviz.rollout(result, 3), title="Rollout")
    """
    result = require_result(result)
    scale = check_scale(scale)
    annotation = check_syntax(result, syntax)
    place = colorbar_place(colorbar)
    dependencies = None
    colorbar_target: bool | Axes = place is not None
    if ax is None:
        import matplotlib.pyplot as plt

        width, height = figsize or (None, None)
        plan = figure_layout(
            result,
            fontsize,
            width=width,
            height=height,
            title=title is not False,
            colorbar=place or False,
            syntax=annotation,
            hides_links=threshold > 0 or resolve_top_k(top_k, result.n_tokens) is not None,
        )
        made = place_axes(plt.figure(figsize=plan.size), plan)
        ax, layout, dependencies = made.ax, made.layout, made.dependencies
        colorbar_target = made.colorbar if made.colorbar is not None else False
    else:
        layout = ArcLayout.build(result.tokens, fontsize, _points(ax.get_window_extent().width, ax))
        if place == "top":
            layout = dataclasses.replace(layout, legend=top_bar_height(layout.sizes))
    plot = ArcPlot(
        result,
        layout,
        top_k=top_k,
        threshold=threshold,
        values=values,
        scale=scale,
        title=title is not False,
        title_width=_points(ax.figure.bbox.width, ax) - 16,
    )
    plot.show(layer, head, source, matrix, title=title if isinstance(title, str) else None)
    plot.draw(ax, colorbar=colorbar_target, syntax=annotation, dependencies=dependencies)
    return ax


class ArcFigure(NamedTuple):
    """A figure laid out by :func:`place_axes`, its Axes and the layout they were placed for."""

    figure: Figure
    ax: Axes
    colorbar: Axes | None
    dependencies: Axes | None
    layout: ArcLayout


def place_axes(figure: Figure, plan: FigureLayout) -> ArcFigure:
    """Size ``figure`` (empty) as ``plan`` (from :func:`figure_layout`) says and add its Axes there.

    No layout engine: the Axes stay where the plan put them.
    """
    figure.set_size_inches(*plan.size)
    ax = figure.add_axes(plan.main)
    bar = figure.add_axes(plan.colorbar) if plan.colorbar is not None else None
    dependencies = None
    if plan.dependencies is not None and not plan.layout.focus:
        dependencies = figure.add_axes(plan.dependencies, sharex=ax)
    return ArcFigure(figure, ax, bar, dependencies, plan.layout)


def label_artist(ax: Axes, layout: ArcLayout, x: float = 0.0, text: str = "") -> Text:
    """A token label that is not a tick label but draws exactly like one (for the fast renderer)."""
    transform = label_transform(ax, layout)
    return ax.text(x, 0.0, text, transform=transform, fontsize=layout.sizes["labels"], **layout.label_style())


def label_transform(ax: Axes, layout: ArcLayout) -> Transform:
    """Where tick labels go: x in data, y ``label_pad`` points below the Axes."""
    return ax.get_xaxis_text1_transform(layout.label_pad)[0]


def _draw_labels(ax: Axes, view: ArcPlot, base: list[str]) -> list[Text]:
    """Tokens as x tick labels, so that layout engines leave room for them.

    One tick per token, in order; a label that cannot be read (a long input's
    squeezed tokens) is empty.
    """
    layout = view.layout
    texts = [label if shown else "" for label, shown in zip(layout.labels, view.shown, strict=True)]
    ax.set_xticks(view.x.tolist(), texts, fontsize=layout.sizes["labels"], **layout.label_style())
    ax.tick_params(axis="x", length=0, pad=layout.label_pad)
    labels = list(ax.get_xticklabels())
    for i, label in enumerate(labels):
        label.set_gid(f"token-{i}")
        style_token_label(label, i, view.source, view.max_target, view.result.causal, base[i])
    return labels


def style_token_label(
    label: Text, i: int, source: int, max_target: int, causal: bool, base: str = "black"
) -> None:
    """Colour token ``i``'s label: source boxed in blue, most attended in red, masked future grey.

    ``base`` is the label's own colour (its part of speech, or black).
    Also resets a label styled for another source, so that a reused figure
    (attnviz.explore.canvas) looks exactly like a fresh plot.
    """
    label.set_color("0.7" if causal and i > source else base)
    label.set_bbox(None)
    if i == max_target:
        label.set_color("white")
        label.set_bbox({"boxstyle": f"round,pad={HIGHLIGHT_PAD_EM}", "fc": MAX_COLOR, "ec": MAX_COLOR})
    if i == source:
        both = i == max_target
        label.set_color("white")
        label.set_bbox(
            {
                "boxstyle": f"round,pad={HIGHLIGHT_PAD_EM}",
                "fc": SOURCE_COLOR,
                "ec": MAX_COLOR if both else SOURCE_COLOR,
                "lw": 2.5 if both else 1,
            }
        )


def arc_title(result: AttentionResult, layer: int, head: int, source: int, *, mathtext: bool = True) -> str:
    """The default title: which head, and where the attention comes from.

    ``mathtext=False`` gives the plain text (for HTML beside the picture, escaped by the caller).

    Examples
    --------
    >>> arc_title(result, 3, 5, 2)
    'Capa 3 · cabeza 5 · atención desde «perro» (token 2)'
    """
    return f"Capa {layer} · cabeza {head} · {from_source(result, source, mathtext=mathtext)}"


def from_source(result: AttentionResult, source: int, *, mathtext: bool = True) -> str:
    """``atención desde «perro» (token 2)``: the end of every arc title (a long token is shortened)."""
    token = label_text(result.tokens[source], MAX_TITLE_CHARS, mathtext=mathtext)
    return f"atención desde «{token}» ({result.unit_noun} {source})"


def arc_notes(result: AttentionResult, source: int, n_drawn: int, view: ArcPlot | None = None) -> str:
    """The small grey line above the arcs: model, hidden links and labels, causal mask."""
    n = result.n_tokens
    hidden = n - 1 - n_drawn - (n - 1 - source if result.causal else 0)
    notes = [f"Índices desde 0 · {label_text(result.model_name, 60)}"]
    if hidden > 0:
        notes.append(_count(hidden, "enlace débil oculto", "enlaces débiles ocultos"))
    if view is not None and view.layout.focus:
        unnamed = n - int(view.shown.sum())
        notes.append(unlabelled_note(unnamed, result))
    if view is not None and view.values_without_room:
        notes.append(_count(view.values_without_room, "valor sin sitio", "valores sin sitio"))
    if result.causal:
        notes.append(CAUSAL_NOTE)
    return " · ".join(notes)


def _count(count: int, one: str, many: str) -> str:
    """``"1 valor sin sitio"``, ``"3 valores sin sitio"``."""
    return f"{count} {one if count == 1 else many}"


def value_targets(row: np.ndarray, source: int, drawn: np.ndarray, values: Values) -> list[int]:
    """The tokens whose weight is printed, strongest first (the source's own weight included)."""
    if values == "none":
        return []
    shown = np.concatenate([drawn, [source]]).astype(np.intp)
    shown = shown[np.argsort(-row[shown], kind="stable")]
    if values == "top":
        # A "0.00" label says nothing; the strongest links are the point.
        shown = shown[:TOP_VALUES]
        shown = shown[row[shown] >= 0.005]
    elif isinstance(values, int) and not isinstance(values, bool):
        shown = shown[:values]
    elif values != "all":
        raise ValueError(f"values must be 'top', 'all', 'none' or an int, not {values!r}")
    return [int(j) for j in shown]


#: Numbers sit in their own row under the tokens, on white: no box needed (a box costs a redraw ~2 ms).
VALUE_STYLE: dict[str, object] = {"ha": "center", "va": "top"}
