"""Token-arc plot: one arc from a source token to every token it attends to.

:func:`plot_arcs` and the explorer's fast renderer (:mod:`attnviz.explore.canvas`) both draw through
:class:`ArcPlot`, so they draw the same picture; :mod:`attnviz.plots.arc_layout` places everything.
"""

from __future__ import annotations

import dataclasses
import math
from typing import TYPE_CHECKING, Any, Literal, NamedTuple

import numpy as np

from ..core.errors import InvalidInputTypeError
from ..core.measures import with_measure
from ..core.result import AttentionResult
from .arc_layout import (
    DEP_LEVEL_EM,
    DOT_AREA,
    HIGHLIGHT_PAD_EM,
    LINE_EM,
    TOP_BAR_GAP_EM,
    ArcLayout,
    ColorbarPlace,
    FigureLayout,
    TopK,
    arc_notes,
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
    word_x,
)
from .labels import MAX_TITLE_CHARS, label_text, side_points, text_width
from .style import CMAP, NOTES_COLOR, SCALE_LABELS, Scale, check_scale, colorbar_label, root_figure, scale_top

# Re-exported: the explorer's renderer draws labels in these colours too.
from .style import readable_color as readable_color

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.collections import LineCollection
    from matplotlib.colorbar import Colorbar
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


class ArcArtists(NamedTuple):
    """What :meth:`ArcPlot.draw` made, for a caller that redraws it in place."""

    arcs: LineCollection
    self_dot: Line2D
    values: list[Text]
    notes: Text
    colorbar: Colorbar | None
    rug: Line2D
    #: The ``"top"`` colour bar's texts: its label, "0" and the scale's top (empty otherwise).
    colorbar_texts: tuple[Text, ...] = ()


class ArcPlot:
    """The arc view of one result: :meth:`draw` makes the artists once, each :meth:`show` updates them.

    Parameters
    ----------
    result : AttentionResult
    layout : ArcLayout
        Where everything goes (:meth:`ArcLayout.build` or :func:`figure_layout`).
    top_k, threshold, values, scale
        As in :func:`plot_arcs`; ``scale`` is the default of :meth:`show`.
    title : bool
        Draw a title; the default one is fitted to ``title_width`` points when given.
    notes : bool
        Draw the grey notes above the arcs (:attr:`notes_text` holds them either way).

    Examples
    --------
    >>> artists = ArcPlot(result, ArcLayout.build(result.tokens, None, 600.0)).show(3, 5, 2).draw(ax)
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
        notes: bool = True,
    ) -> None:
        self.result = result
        self.layout = layout
        self.top_k = top_k
        self.threshold = threshold
        self.value_choice = values
        self.default_scale = scale
        self.with_title = title
        self.title_width = title_width
        self.with_notes = notes
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
        layer, head, source, matrix, title, scale
            As in :func:`plot_arcs` (``scale`` defaults to the plot's).

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
        self.shown = layout.shown_labels(self.source, self.targets, self.x)
        # A number only under a token whose label is drawn: the rest are counted in the notes.
        printed = value_targets(self.row, self.source, self.draw_order, self.value_choice)
        self.values, self.values_without_room = layout.place_values(
            [j for j in printed if self.shown[j]], self.x
        )
        self.values_without_room += sum(not self.shown[j] for j in printed)
        if not self.with_title:
            title = ""
        elif title is None:
            title = arc_title(result, layer, head, self.source)
            if self.title_width is not None:
                title = fit_text(title, layout.sizes["title"], self.title_width)
        self.title = title
        n = result.n_tokens
        hidden = n - 1 - len(self.targets) - (n - 1 - self.source if result.causal else 0)
        unlabelled = n - int(self.shown.sum())
        counts = (hidden, unlabelled, self.values_without_room)
        self.notes_text = arc_notes(result, layout, *counts)
        #: The same notes on one line of plain text, for a front end that writes them beside the picture.
        self.notes_line = arc_notes(result, layout, *counts, mathtext=False).replace("\n", " · ")
        if self.artists is not None:
            self._update()
        return self

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
        colorbar : bool or Axes
            Add a colour bar, or the Axes to draw it into.
        syntax : SyntaxAnnotation, optional
            Dependency arcs under the labels, in ``dependencies`` (default: an Axes made below ``ax``).
        dependencies : Axes, optional
        tick_labels : bool
            ``False`` leaves the token labels out, for a caller that draws them with :func:`label_artist`.

        Returns
        -------
        ArcArtists
            What was drawn; later :meth:`show` calls update these artists.

        Examples
        --------
        >>> ArcPlot(result, layout).show(3, 5, 2).draw(ax).arcs.get_gid()  # 'arcs'
        """
        import matplotlib.pyplot as plt
        from matplotlib.collections import LineCollection
        from matplotlib.colors import Normalize
        from matplotlib.lines import Line2D
        from matplotlib.transforms import offset_copy

        layout, sizes = self.layout, self.layout.sizes
        cmap = plt.get_cmap(CMAP)
        arcs = LineCollection([], cmap=cmap, norm=Normalize(0.0, self.vmax), capstyle="round", gid="arcs")
        ax.add_collection(arcs)
        # A line's marker, not a scatter: a one-point scatter measures its circle's extents at every draw.
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
        ax.spines[:].set_visible(False)
        lines = max(layout.notes_lines, self.notes_text.count("\n") + 1) if self.with_notes else 0
        ax.set_title(self.title, fontsize=sizes["title"], pad=notes_height(layout, lines))
        # Between the title and the arcs (and above the colour bar's line), where no arc reaches.
        notes = ax.text(
            0.0,
            1.0,
            "",
            transform=offset_copy(ax.transAxes, fig=root_figure(ax), y=6.0 + layout.legend, units="points"),
            fontsize=sizes["notes"],
            color=NOTES_COLOR,
            va="bottom",
            ha="left",
            gid="notes",
            visible=self.with_notes,
        )
        bar = None
        ends: list[Text] = []
        if colorbar is not False:
            # The gradient is the same for any top: the bar spans 0-1 and its ticks say the scale.
            mappable = plt.cm.ScalarMappable(norm=Normalize(0.0, 1.0), cmap=cmap)
            if layout.legend:
                cax = colorbar if colorbar is not True else _top_bar_axes(ax, layout)
                bar = ax.figure.colorbar(mappable, cax=cax, orientation="horizontal")
                cax.xaxis.set_visible(False)  # its ends say 0 and the top in texts of their own
                ends = _top_bar_texts(cax, layout)
            else:
                side = {"ax": ax, "shrink": 0.8, "pad": 0.01} if colorbar is True else {"cax": colorbar}
                bar = ax.figure.colorbar(mappable, **side)
                bar.ax.tick_params(labelsize=sizes["notes"])
        self.ax = ax
        self.artists = ArcArtists(arcs, self_dot, [], notes, bar, rug, tuple(ends))
        self._bar_key = ("", -1.0)
        self._update()
        if syntax is not None and not layout.focus:
            _draw_syntax(ax, self, syntax, dependencies)
        return self.artists

    def adopt(self, previous: ArcPlot) -> None:
        """Take over the artists ``previous`` drew (another sentence on the same figure).

        ``previous`` was drawn with ``tick_labels=False`` and the same text sizes; it draws nothing after.
        The next :meth:`show` makes the artists show this plot's view.

        Examples
        --------
        >>> plot = ArcPlot(new_result, layout)
        >>> plot.adopt(old_plot)
        >>> plot.show(0, 0, 1)  # old_plot's artists show new_result
        """
        assert previous.artists is not None and not previous._tick_labels
        self.artists, previous.artists = previous.artists, None
        self.ax = previous.ax
        self._value_pool = previous._value_pool
        self.base_colors = token_colors(self.result, None)
        # The artists still show the old sentence: the next show() (the new one's first view) updates them.
        self._bar_key = ("", -1.0)

    def _update(self) -> None:
        """Set every drawn artist to show the current view (nothing is drawn here)."""
        import matplotlib.pyplot as plt
        from matplotlib.colors import Normalize

        artists = self.artists
        assert artists is not None
        layout, ax = self.layout, self.ax
        norm = Normalize(0.0, self.vmax)
        arcs = artists.arcs
        arcs.set_norm(norm)
        # With no arc (a causal model's first token) hide the last view's: an alpha array cannot be unset.
        arcs.set_visible(bool(len(self.weights)))
        if len(self.weights):
            thinnest, widest = ARC_WIDTHS
            relative = np.clip(self.weights / self.vmax, 0.0, 1.0)
            arcs.set_segments(list(arcs_between(float(self.x[self.source]), self.x[self.draw_order])))
            arcs.set_array(self.weights)
            arcs.set_linewidth((thinnest + (widest - thinnest) * relative).tolist())
            arcs.set_alpha((0.3 + 0.7 * relative).tolist())
        low, high = DOT_AREA
        dot = artists.self_dot
        dot.set_xdata([self.x[self.source]])
        dot.set_markersize(math.sqrt(low + (high - low) * min(self.self_weight / self.vmax, 1.0)))
        dot.set_markerfacecolor(plt.get_cmap(CMAP)(norm(self.self_weight)))
        if self._rug_source != self.source:
            # A tick per token squeezed outside the window, as one line broken by NaNs: one path to draw.
            first, last = layout.window_of(self.source)
            xs = np.repeat(np.concatenate([self.x[:first], self.x[last + 1 :]]), 3)
            xs[2::3] = np.nan
            artists.rug.set_data(xs, np.tile([0.0, 0.025, np.nan], len(xs) // 3))
            self._rug_source = self.source
        if len(self._value_rows) != layout.value_rows:
            from matplotlib.transforms import offset_copy

            # Made once per layout: x in data, y in points below the baseline.
            self._value_rows = [
                offset_copy(
                    ax.get_xaxis_transform(), fig=root_figure(ax), y=-layout.value_offset(r), units="points"
                )
                for r in range(layout.value_rows)
            ]
        if self._tick_labels:
            _draw_labels(ax, self)
        while len(self._value_pool) < len(self.values):
            # No box (slow to redraw), out of the layout (their room is part of the label pad).
            self._value_pool.append(
                ax.text(0.0, 0.0, "", fontsize=layout.sizes["values"], ha="center", va="top", in_layout=False)
            )
        for k, number in enumerate(self._value_pool):
            number.set_visible(k < len(self.values))
        for number, (target, x, row) in zip(self._value_pool, self.values, strict=False):
            number.set_x(x)
            number.set_transform(self._value_rows[row])
            number.set_text(f"{self.row[target]:.2f}")
            number.set_gid(f"value-{target}")
        artists.values[:] = self._value_pool[: len(self.values)]
        artists.notes.set_text(self.notes_text)
        ax.title.set_text(self.title)
        # A title of several lines grows upwards from the pad, not down over the notes.
        ax.title.set_verticalalignment("bottom" if "\n" in self.title else "baseline")
        if artists.colorbar is not None and self._bar_key != (self.scale, self.vmax):
            self._bar_key = (self.scale, self.vmax)
            if artists.colorbar_texts:
                _set_top_bar(list(artists.colorbar_texts), self.scale, self.vmax, layout, self.result.measure)
            else:
                _set_side_bar(artists.colorbar, self.scale, self.vmax, layout, self.result.measure)


def _set_side_bar(bar: Colorbar, scale: Scale, vmax: float, layout: ArcLayout, measure: str) -> None:
    """Label the upright 0-1 colour bar from 0 to ``vmax``: round ticks and the scale's name."""
    from matplotlib.ticker import MaxNLocator

    ticks = [t for t in MaxNLocator(nbins=5).tick_values(0.0, vmax) if -1e-12 <= t <= vmax * (1 + 1e-9)]
    # As matplotlib's own ticks read: every label with the decimals the finest one needs ("0.0" … "1.0").
    decimals = max(len(f"{t:.4g}".partition(".")[2]) for t in ticks)
    bar.set_ticks([t / vmax for t in ticks], labels=[f"{t:.{decimals}f}" for t in ticks])
    size = layout.sizes["notes"]
    bar.set_label(colorbar_lines(scale, size, side_points(bar.ax, "y"), measure), fontsize=size)


def _top_bar_axes(ax: Axes, layout: ArcLayout) -> Axes:
    """An Axes for the ``"top"`` colour bar, placed at draw time where :func:`top_bar_box` says."""
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


def _top_bar_texts(cax: Axes, layout: ArcLayout) -> list[Text]:
    """The ``"top"`` colour bar's label, left of its "0", and the scale's top at its right end."""
    from matplotlib.transforms import offset_copy

    size = layout.sizes["notes"]
    gap = TOP_BAR_GAP_EM * size
    texts = []
    for x, dx, ha, gid in [
        (0.0, -(2 * gap + text_width("0", size)), "right", "colorbar-label"),
        (0.0, -gap, "right", "colorbar-min"),
        (1.0, gap, "left", "colorbar-max"),
    ]:
        transform = offset_copy(cax.transAxes, fig=root_figure(cax), x=dx, units="points")
        texts.append(
            cax.text(x, 0.5, "", transform=transform, ha=ha, gid=gid, fontsize=size, va="center_baseline")
        )
    return texts


def _set_top_bar(texts: list[Text], scale: Scale, vmax: float, layout: ArcLayout, measure: str) -> None:
    label, low, high = texts
    size = layout.sizes["notes"]
    gap = TOP_BAR_GAP_EM * size
    # The label may reach the figure's left margin; short of room it names only the scale, which it must.
    x, _, length, _ = top_bar_box(layout)
    room = layout.axes_width + layout.left_overhang - x - length - 3 * gap - text_width("0", size)
    words = colorbar_label(scale, measure=measure)
    if text_width(words, size) > room:
        # Short of room the scale must stay named, and a contribution must still say it is one.
        words = (
            f"escala {SCALE_LABELS[scale]}"
            if measure == "peso"
            else f"contribución · escala {SCALE_LABELS[scale]}"
        )
    label.set_text(fit_text(words, size, room))
    low.set_text("0")
    high.set_text(f"{vmax:g}")


def token_colors(result: AttentionResult, syntax: SyntaxAnnotation | None) -> list[str]:
    """Each token label's own colour: black, or its part of speech's colour made dark enough to read."""
    if syntax is None:
        return ["black"] * result.n_tokens
    from ..syntax.plots import pos_colors

    return [readable_color(c) for c in pos_colors(syntax, per_token=True)]


def check_syntax(result: AttentionResult, syntax: object) -> SyntaxAnnotation | None:
    """The annotation to draw: None, ``syntax`` (this sentence's, at any level), or (True) the parse."""
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


def _draw_syntax(ax: Axes, view: ArcPlot, syntax: SyntaxAnnotation, dependencies: Axes | None) -> None:
    """Dependency arcs under the token labels (in ``dependencies`` or a new Axes there) and a POS legend."""
    from matplotlib.transforms import offset_copy

    from ..syntax.parsing import POS_NAMES_ES
    from ..syntax.plots import POS_COLORS, draw_dependencies

    layout = view.layout
    size = layout.sizes["notes"]
    if dependencies is None:
        dependencies = _axes_below_labels(ax, dependency_height(layout, syntax))
    dependencies.set_label(DEPENDENCY_AXES_LABEL)
    dependencies.set_xlim(*layout.xlim)
    dependencies.set_axis_off()
    # One nesting level is DEP_LEVEL_EM ems tall, whatever the Axes' height.
    height = side_points(dependencies, "y")
    levels = max(1.0, (height - LINE_EM * size - 14.0) / (DEP_LEVEL_EM * size) - 0.8)
    dependencies.set_ylim(-(levels + 0.8), 0.05)
    draw_dependencies(dependencies, syntax, word_x(syntax, view.x), 0.0, fontsize=size, depth=1.0)
    x = 0.0
    for tag in [tag for tag in POS_COLORS if tag in set(syntax.upos)]:
        name = POS_NAMES_ES.get(tag, tag)
        dependencies.text(
            0.0,
            0.0,
            name,
            transform=offset_copy(dependencies.transAxes, fig=root_figure(ax), x=x, y=0.0, units="points"),
            fontsize=size,
            color=readable_color(POS_COLORS[tag]),
            va="bottom",
            ha="left",
            gid=f"pos-{tag}",
        )
        x += text_width(name, size) + size


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
    >>> dependency_axes(attnviz.plot_arcs(result, 3, 5, 2, syntax=True)).texts
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
    measure: str | None = None,
    notes: bool = True,
) -> Axes:
    """Draw the attention from token ``source`` in one layer and head as arcs.

    Width and colour follow the weight (blue low, red high); the source is boxed in blue, the most
    attended token in red, and the dot under the source is its attention to itself.  Long inputs focus
    on the source: far tokens are squeezed (a grey tick each) and only the strongest far targets labelled.

    Parameters
    ----------
    result : AttentionResult
        What :func:`attnviz.extract` (or :func:`attnviz.to_words`) returns.
    layer, head : int
        Which head, counted from 0; with ``matrix`` only the title uses them.
    source : int
        The token (or word) the attention comes from, counted from 0.
    ax : matplotlib Axes, optional
        Where to draw; ``None`` makes a new figure laid out for the tokens and text size.
    top_k : int, None or "auto"
        Draw only the ``top_k`` strongest links; ``"auto"``: the 24 strongest above 48 tokens.
    threshold : float
        Hide links weaker than this.
    values : "top", "all", "none" or int
        Which weights to print: the 5 strongest, all, none or the N strongest; a number without room
        is left out (and counted in the notes).
    scale : "head", "absolute" or "row", optional
        Top of the colour and width scale: the head's maximum (default), 1, or the source row's
        maximum; maxima are rounded up to round numbers.
    colorbar : bool, "right" or "top"
        Add a colour bar: upright on the right (``True``), or on its own line above the arcs (``"top"``).
    matrix : ndarray, optional
        An ``[n, n]`` matrix (an aggregate, see :mod:`attnviz.core.aggregate`) to draw instead of one head.
    title : str or False, optional
        Replaces the default title (:func:`arc_title`); ``False`` draws none.
    fontsize : float, optional
        Base text size in points; :data:`attnviz.plots.style.CLASSROOM_FONTSIZE` (16) reads on a projector.
    syntax : SyntaxAnnotation or True, optional
        Dependencies below the tokens (:func:`dependency_axes`) and labels coloured by part of speech;
        ``True`` parses with :func:`attnviz.syntax.parse` (spaCy).  Not drawn on a focused long input.
    figsize : (float or None, float or None), optional
        Width and height in inches of a new figure; a None keeps the default.
    measure : {"peso", "contribucion"}, optional
        The weights, or each arc's contribution (:func:`attnviz.with_measure`); None: what
        ``result`` holds.  The title and the colour bar say which.
    notes : bool
        The grey line above the arcs: indices from 0, the model, what is hidden.  ``False`` leaves it
        out (and its room), as the explorer does, which writes it as text beside the picture.

    Returns
    -------
    matplotlib Axes
        The arcs' Axes; gids ``"arcs"``, ``"self"``, ``"notes"``, ``"rug"``, ``"token-<i>"``, ``"value-<j>"``.

    Examples
    --------
    >>> attnviz.plot_arcs(result, 3, 5, 2, fontsize=16, colorbar="top", figsize=(8, 3.3))  # projector
    """
    result = with_measure(result, measure)
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
            notes=notes,
        )
        made = place_axes(plt.figure(figsize=plan.size), plan)
        ax, layout, dependencies = made.ax, made.layout, made.dependencies
        colorbar_target = made.colorbar if made.colorbar is not None else False
    else:
        layout = ArcLayout.build(result.tokens, fontsize, side_points(ax, "x"))
        if place == "top":
            layout = dataclasses.replace(layout, legend=top_bar_height(layout.sizes))
        if not notes:
            layout = dataclasses.replace(layout, notes_lines=0)
    plot = ArcPlot(
        result,
        layout,
        top_k=top_k,
        threshold=threshold,
        values=values,
        scale=scale,
        title=title is not False,
        title_width=ax.figure.bbox.width * 72.0 / ax.figure.dpi - 16,
        notes=notes,
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
    """Size ``figure`` (empty, no layout engine) as ``plan`` (:func:`figure_layout`) says and add its Axes."""
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


def _draw_labels(ax: Axes, view: ArcPlot) -> None:
    """Tokens as x tick labels (so that layout engines leave room for them); unshown ones empty."""
    layout = view.layout
    texts = [label if shown else "" for label, shown in zip(layout.labels, view.shown, strict=True)]
    ax.set_xticks(view.x.tolist(), texts, fontsize=layout.sizes["labels"], **layout.label_style())
    ax.tick_params(axis="x", length=0, pad=layout.label_pad)
    for i, label in enumerate(ax.get_xticklabels()):
        label.set_gid(f"token-{i}")
        style_token_label(label, i, view.source, view.max_target, view.result.causal, view.base_colors[i])


def style_token_label(
    label: Text, i: int, source: int, max_target: int, causal: bool, base: str = "black"
) -> None:
    """Colour label ``i``: source boxed in blue, most attended in red, masked future grey, else ``base``.

    Also resets a label styled for another source, so that a reused figure looks like a fresh plot.
    """
    box = f"round,pad={HIGHLIGHT_PAD_EM}"
    if i == source:
        both = i == max_target
        label.set_color("white")
        edge = MAX_COLOR if both else SOURCE_COLOR
        label.set_bbox({"boxstyle": box, "fc": SOURCE_COLOR, "ec": edge, "lw": 2.5 if both else 1})
    elif i == max_target:
        label.set_color("white")
        label.set_bbox({"boxstyle": box, "fc": MAX_COLOR, "ec": MAX_COLOR})
    else:
        label.set_color("0.7" if causal and i > source else base)
        label.set_bbox(None)


def arc_title(result: AttentionResult, layer: int, head: int, source: int, *, mathtext: bool = True) -> str:
    """The default title: which head, and where the attention comes from (``mathtext=False``: plain text).

    Examples
    --------
    >>> arc_title(result, 3, 5, 2)  # 'Capa 3 · cabeza 5 · atención desde «perro» (token 2)'
    """
    return f"Capa {layer} · cabeza {head} · {from_source(result, source, mathtext=mathtext)}"


def from_source(result: AttentionResult, source: int, *, mathtext: bool = True) -> str:
    """``atención desde «perro» (token 2)``: the end of every arc title (a long token is shortened)."""
    token = label_text(result.tokens[source], MAX_TITLE_CHARS, mathtext=mathtext)
    if result.measure == "contribucion":
        return f"contribución a «{token}» ({result.unit_noun} {source})"
    return f"atención desde «{token}» ({result.unit_noun} {source})"


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
