"""Fast redraws for the explorer: one persistent figure, a cached background, PNG bytes.

:func:`attnviz.arcs.plot_arcs` is the reference picture; it builds a new
figure each time.  :class:`ArcRenderer` lays that same picture out once
(:func:`attnviz.arc_layout.figure_layout`: font metrics, no layout engine), draws
what does not depend on the layer, head or source (axes, token labels,
dependency arcs, the colour bar's gradient) into a cached background, and on
each call restores it and draws only what changed (arcs, highlighted labels,
numbers, notes, title; the colour bar's ticks are pasted from a picture of
that scale when one was drawn before).  The canvas is encoded as a
256-colour palette PNG (:class:`attnviz.png.PaletteEncoder`).
"""

from __future__ import annotations

import functools
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from . import arc_layout, arcs
from ._glyph_cache import GlyphCache
from .arc_layout import TopK
from .arcs import Values, _ArcPlotter
from .png import PNG_COMPRESS_LEVEL, PaletteEncoder, encode_png
from .result import AttentionResult
from .style import CMAP, Scale, check_scale

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.text import Text

    from .syntax import SyntaxAnnotation

DPI = 100
#: No picture is wider than a notebook shows it (and a 1280-pixel screen).
MAX_WIDTH_PX = 1280
#: Pictures of texts kept for pasting back (numbers, the notes line): each a few KB.
MAX_TEXT_PICTURES = 2000
#: Backgrounds kept per source in a focused layout (a whole canvas each, ~2.5 MB).
MAX_SOURCE_BACKGROUNDS = 4


@dataclass(frozen=True)
class TextBox:
    """One text of a picture as drawn."""

    #: ``"token-<i>"`` or ``"value-<j>"`` (the token it belongs to).
    gid: str
    text: str
    #: Font size in points.
    fontsize: float
    #: (left, top, right, bottom) of the text's own box (rotated text: the box around it; a
    #: highlighted label's coloured box not included), in the PNG's pixels, origin top-left.
    box: tuple[float, float, float, float]


@dataclass(frozen=True)
class PictureText:
    """The token labels and numbers of an arc picture, as drawn: how large, and where.

    With the size of the picture on a screen, it gives the size of its text
    there (:meth:`on_screen`): what a projector test measures.
    """

    #: The PNG's size in pixels, and the figure's dots per inch.
    width: int
    height: int
    dpi: float
    #: The token labels in the picture, and the numbers (weights) printed under the tokens.
    labels: tuple[TextBox, ...]
    values: tuple[TextBox, ...]

    def on_screen(self, fontsize: float, shown_width: float) -> float:
        """The size of text ``fontsize`` points tall when the picture is shown ``shown_width`` wide.

        Parameters
        ----------
        fontsize : float
            A size in points, e.g. ``min(t.fontsize for t in text.labels)``.
        shown_width : float
            The picture's width on screen (CSS px, say).

        Returns
        -------
        float
            The text's size in the same unit as ``shown_width``.

        Examples
        --------
        >>> text = renderer.picture_text()
        >>> text.on_screen(min(t.fontsize for t in text.labels), shown_width=673)  # CSS px
        18.69
        """
        return fontsize * self.dpi / 72.0 * shown_width / self.width


class ArcGeometry:
    """Every arc's shape for one sentence length, with numpy.

    Kept for callers of earlier versions: :meth:`paths` equals
    ``arc_paths(n, source)[targets]``.
    """

    def __init__(self, n: int, points: int = arc_layout.ARC_POINTS) -> None:
        self.n = n
        self.points = points

    def paths(self, source: int, targets: np.ndarray) -> np.ndarray:
        """``[len(targets), points, 2]``, equal to ``arc_paths(n, source)[targets]``."""
        return arc_layout.arcs_between(float(source), np.asarray(targets, dtype=np.float64), self.points)


def new_figure(
    width: float, height: float, dpi: float = DPI, *, layout: Literal["constrained"] | None = "constrained"
) -> Figure:
    """A figure outside pyplot: nothing is shown by the notebook's inline backend, nothing leaks."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height), dpi=dpi, layout=layout)
    FigureCanvasAgg(figure)
    return figure


def screen_dpi(width_inches: float) -> float:
    """DPI that keeps a picture at most MAX_WIDTH_PX wide."""
    return min(float(DPI), MAX_WIDTH_PX / width_inches)


@functools.lru_cache(maxsize=1)
def palette_colors() -> np.ndarray:
    """``[k, 3]`` uint8: the colours an arc picture can bring, for :class:`PaletteEncoder`.

    The colour map at the opacities arcs use over white, the highlight boxes
    and every part-of-speech colour (as the labels draw it).
    """
    import matplotlib.pyplot as plt
    from matplotlib.colors import to_rgb

    from .syntax_plots import POS_COLORS

    ramp = plt.get_cmap(CMAP)(np.linspace(0.0, 1.0, 64))[:, :3]
    shades = [alpha * ramp + (1.0 - alpha) for alpha in (1.0, 0.75, 0.5, 0.3)]
    named = [to_rgb(c) for c in (arcs.SOURCE_COLOR, arcs.MAX_COLOR, *POS_COLORS.values())]
    named += [to_rgb(arcs.readable_color(c)) for c in POS_COLORS.values()]
    colours = np.round(np.concatenate([*shades, np.array(named)]) * 255).astype(np.uint8)
    colours.setflags(write=False)
    return colours


class _ArcFigure:
    """One laid-out arc figure, its artists and what depends only on its layout.

    The next sentence with the same layout (same length, similar words) takes
    it over: no new figure, Axes, colour bar or ticks; its blank background
    (axes and colour bar without token labels), its colour-bar pictures and its
    pictures of numbers all stay valid.  A sentence of another length lays a
    spare figure out again (new size and places, one full draw), which is
    still cheaper than new Axes and a new colour bar.
    """

    def __init__(self, key: tuple[Any, ...], made: arcs.ArcFigure, drawn: arcs.ArcArtists) -> None:
        self.key = key
        self.figure: Figure = made.figure
        self.canvas: FigureCanvasAgg = made.figure.canvas  # type: ignore[assignment]
        self.ax: Axes = made.ax
        assert made.colorbar is not None and drawn.colorbar is not None
        self.cax: Axes = made.colorbar
        self.colorbar: Any = drawn.colorbar
        #: The ``"top"`` colour bar's label and end values (drawn with its ticks' picture).
        self.colorbar_texts = list(drawn.colorbar_texts)
        self.arcs = drawn.arcs
        self.self_dot = drawn.self_dot
        self.notes = drawn.notes
        self.rug = drawn.rug
        #: Token labels in their own colour: one per token, or the focused window's.
        self.labels: list[Text] = []
        #: Focused layout: the labels a view adds (far targets, highlighted window tokens).
        self.extra_labels: list[Text] = []
        self.values: list[Text] = []
        self.value_rows: list[Any] = []
        self.blank: Any = None
        self.colorbar_box: Any = None
        self.colorbar_key: tuple[str, float] = ("", -1.0)
        #: Colour bars drawn before, by (scale, maximum): their ticks and label, pasted back.
        self.colorbar_pictures: dict[tuple[str, float], Any] = {}
        #: Pixels of texts that stand alone on white (numbers, notes), by text and position.
        self.text_pictures: dict[tuple[Any, ...], Any] = {}
        self.owner: weakref.ref[ArcRenderer] | None = None
        #: What a figure must share to be laid out again for another sentence.
        self.family: tuple[Any, ...] = ()

    def free(self) -> bool:
        return self.owner is None or self.owner() is None


#: Laid-out figures kept for the next sentences (see :class:`_ArcFigure`); a figure serves one
#: live renderer at a time and is free again when that renderer is gone.
_FIGURES: list[_ArcFigure] = []
MAX_SPARE_FIGURES = 3


def _take_figure(key: tuple[Any, ...], family: tuple[Any, ...], owner: ArcRenderer) -> _ArcFigure | None:
    """A free figure laid out as ``key``, else a free one of the same ``family`` (text size,
    title, dpi, encoding) that the caller lays out again, else None."""
    free = [f for f in _FIGURES if f.free() and f.family == family]
    figure = next((f for f in free if f.key == key), free[-1] if free else None)
    if figure is not None:
        figure.owner = weakref.ref(owner)
        _FIGURES.remove(figure)
        _FIGURES.append(figure)  # most recently used last
    return figure


def _keep_figure(figure: _ArcFigure) -> None:
    _FIGURES.append(figure)
    while len(_FIGURES) > MAX_SPARE_FIGURES:
        spare = next((f for f in _FIGURES if f.free()), None)
        if spare is None:
            break
        _FIGURES.remove(spare)


class ArcRenderer:
    """Arc pictures of one result as PNG bytes, redrawn by blitting.

    ``render(layer, head, source)`` gives the same picture as
    ``plot_arcs(result, layer, head, source)`` with the same options (tested
    pixel by pixel).  Pass ``matrix`` (``[n, n]``) and ``title`` to draw an
    aggregate (mean of heads, rollout) instead of one head.

    Building one lays the figure out from font metrics (no drawing) and
    takes over the figure of an earlier renderer that is gone: with the
    same layout (a new sentence of the same length) only the token labels
    are drawn again; with another, the figure is laid out again and drawn
    once.  At most :data:`MAX_SPARE_FIGURES` figures are kept.

    Parameters
    ----------
    result : AttentionResult
        The sentence.
    top_k, values
        As in :func:`attnviz.plot_arcs`.
    scale : "head", "absolute" or "row", optional
        Default colour scale of :meth:`render` (which can change it per picture).
    fontsize : float, optional
        Base text size (16 for a projector); fixes the layout.
    syntax : SyntaxAnnotation or True, optional
        Dependency arcs under the tokens and labels coloured by part of speech.
    title : bool
        Draw the title in the picture.  ``False`` leaves it out (and its room):
        a front end shows :func:`attnviz.arcs.arc_title` as text instead, and
        each redraw is about 3 ms cheaper.
    width, height : float, optional
        Figure size in inches (default: the width from the token count and
        text size, the height from the text); with a height, the arcs' area
        takes what the text leaves (:func:`attnviz.arc_layout.figure_layout`).
    colorbar : "right" or "top"
        The colour bar upright on the right, or on a line of its own above
        the arcs (the whole width for the tokens: a wide, short picture).
    dpi : float, optional
        Default: 100, less if that would be wider than :data:`MAX_WIDTH_PX`.
    compress_level : int
        zlib level of the PNG.
    palette : bool
        256-colour palette PNG (default, about a third of the bytes); ``False`` for lossless RGB.

    Examples
    --------
    >>> renderer = ArcRenderer(result, fontsize=16, title=False)
    >>> png = renderer.render(3, 5, 2)
    >>> caption = arc_title(result, 3, 5, 2, mathtext=False)
    >>> projector = ArcRenderer(result, fontsize=16, title=False, width=8, height=3.3, colorbar="top")
    >>> png = projector.render(3, 5, 2)
    >>> projector.picture_text().on_screen(16, shown_width=673)  # CSS px on a projector at 150 %
    18.69
    """

    def __init__(
        self,
        result: AttentionResult,
        *,
        top_k: TopK = "auto",
        values: Values = "top",
        scale: Scale | None = None,
        fontsize: float | None = None,
        syntax: SyntaxAnnotation | bool | None = None,
        title: bool = True,
        width: float | None = None,
        height: float | None = None,
        colorbar: Literal["right", "top"] = "right",
        dpi: float | None = None,
        compress_level: int = PNG_COMPRESS_LEVEL,
        palette: bool = True,
    ) -> None:
        self.result = result
        self.top_k = top_k
        self.values = values
        self.scale = check_scale(scale)
        self.fontsize = fontsize
        self.syntax = arcs.check_syntax(result, syntax)
        self.title = bool(title)
        self.compress_level = compress_level
        self.colorbar = arc_layout.colorbar_place(colorbar) or "right"
        plan = arc_layout.figure_layout(
            result,
            fontsize,
            width=width,
            height=height,
            title=self.title,
            colorbar=self.colorbar,
            syntax=self.syntax,
            hides_links=arc_layout.resolve_top_k(top_k, result.n_tokens) is not None,
        )
        self.layout = plan.layout
        self._width = plan.size[0] * 72.0
        dpi = screen_dpi(plan.size[0]) if dpi is None else float(dpi)
        key = (
            plan.size,
            plan.main,
            plan.colorbar,
            plan.layout.shape(),
            self.title,
            dpi,
            palette,
            compress_level,
        )
        family = (
            self.title,
            self.colorbar,
            dpi,
            palette,
            compress_level,
            tuple(sorted(plan.layout.sizes.items())),
        )
        # A figure with dependency arcs draws this sentence's syntax into its background: its own.
        taken = _take_figure(key, family, self) if self.syntax is None else None
        if taken is None:
            self._f = self._new_figure(key, family, plan, dpi, palette)
        else:
            self._f = taken
            if taken.key != key:
                self._lay_out_again(plan, key)
        self.figure, self.canvas, self.ax, self.cax = self._f.figure, self._f.canvas, self._f.ax, self._f.cax
        # A palette of its own per sentence, from its first picture (about 2 ms).
        self.encoder = PaletteEncoder(palette_colors(), compress_level) if palette else None
        self._arcs, self._self_dot, self._notes, self._rug = (
            self._f.arcs,
            self._f.self_dot,
            self._f.notes,
            self._f.rug,
        )
        self._colorbar = self._f.colorbar
        self._colorbar_pictures = self._f.colorbar_pictures
        self._attach()

    # -- setup ---------------------------------------------------------------

    def _new_figure(
        self,
        key: tuple[Any, ...],
        family: tuple[Any, ...],
        plan: arc_layout.FigureLayout,
        dpi: float,
        palette: bool,
    ) -> _ArcFigure:
        """Make the figure and its artists, and draw its blank background (no token labels)."""
        made = arcs.place_axes(new_figure(1.0, 1.0, dpi, layout=None), plan)
        assert made.colorbar is not None
        first = min(1, self.result.n_tokens - 1)
        drawn = self._view(0, 0, first, None, None, self.scale).plot(
            made.ax,
            colorbar=made.colorbar,
            syntax=self.syntax,
            dependencies=made.dependencies,
            tick_labels=False,
        )
        figure = _ArcFigure(key, made, drawn)
        figure.family = family
        figure.owner = weakref.ref(self)
        for text in drawn.values:
            text.remove()
        self._f = figure
        self._draw_blank(plan.layout)
        _skip_colorbar_gradient(figure.colorbar, True)
        if self.syntax is None:
            _keep_figure(figure)
        return figure

    def _lay_out_again(self, plan: arc_layout.FigureLayout, key: tuple[Any, ...]) -> None:
        """Fit a spare figure of another shape to ``plan``: new size, Axes places, limits and
        offsets, then a new blank background.  Cheaper than new Axes and a new colour bar."""
        f, layout = self._f, plan.layout
        assert plan.colorbar is not None
        f.key = key
        f.figure.set_size_inches(*plan.size)
        f.ax.set_position(plan.main)
        f.cax.set_position(plan.colorbar)
        f.ax.set_xlim(*layout.xlim)
        f.ax.set_ylim(0.0, layout.top)
        f.ax.set_title("", fontsize=layout.sizes["title"], pad=arc_layout.notes_height(layout))
        f.rug.set_data([], [])
        transform = arcs.label_transform(f.ax, layout)
        for text in [*f.labels, *f.extra_labels]:
            text.set_transform(transform)
            text.update(layout.label_style())
        f.colorbar_pictures.clear()
        f.text_pictures.clear()
        f.colorbar_key = ("", -1.0)
        # The gradient was built for the scale of the figure's first picture; the colour bar now
        # spans the last one: build it again so that it fills the bar.
        _skip_colorbar_gradient(f.colorbar, False)
        f.colorbar.update_normal(f.colorbar.mappable)
        _skip_colorbar_gradient(f.colorbar, True)
        self._draw_blank(layout)

    def _draw_blank(self, layout: arc_layout.ArcLayout) -> None:
        """Draw the figure without anything that changes with the sentence or the view, and keep it."""
        f = self._f
        f.value_rows = [arcs.value_transform(f.ax, layout, r) for r in range(layout.value_rows)]
        # An empty title rather than a hidden one: matplotlib would move a hidden title far up.
        f.ax.title.set_text("")
        dynamic = [f.arcs, f.self_dot, f.notes, f.rug, *f.values, *f.labels, *f.extra_labels]
        for artist in dynamic:
            artist.set_visible(False)
        # The colour bar's ticks and label follow the scale; its gradient does not.
        scale_texts = [f.cax.yaxis, *f.colorbar_texts]
        for artist in scale_texts:
            artist.set_visible(False)
        GlyphCache.install(f.canvas.get_renderer())
        f.canvas.draw()
        f.blank = f.canvas.copy_from_bbox(f.figure.bbox)
        f.colorbar_box = self._colorbar_region(f, layout)
        for artist in [f.arcs, f.self_dot, f.notes, f.rug, *scale_texts]:
            artist.set_visible(True)

    def _attach(self) -> None:
        """This sentence's token labels, drawn once onto the blank background."""
        f, layout, result = self._f, self.layout, self.result
        self._base_colors = arcs.token_colors(result, self.syntax)
        #: Labels drawn on every redraw: all of them when they move (focused) or grey out (causal).
        self._dynamic_labels = layout.focus or result.causal
        self._highlighted: list[int] = []
        self._shown_labels: list[Text] = []
        self._shown_values: list[Text] = []
        self._window_labels: list[Text] = []
        self._value_keys: list[tuple[Any, ...]] = []
        renderer = self.canvas.get_renderer()
        GlyphCache.install(renderer)
        self.canvas.restore_region(f.blank)
        #: Focused layout: the background of each source (window labels and grey ticks drawn).
        self._source_backgrounds: dict[int, Any] = {}
        #: Labels drawn alone, by what their pixels depend on: their pictures and boxes.
        self._label_pictures: dict[tuple[Any, ...], Any] = {}
        self._label_boxes: dict[tuple[Any, ...], Any] = {}
        self._reach: Any = None
        self._source_key = -1
        if layout.focus:
            self._labels: list[Text] = []
            _pooled(f.labels, 0, lambda: arcs.label_artist(self.ax, layout))
            _pooled(f.extra_labels, 0, lambda: arcs.label_artist(self.ax, layout))
        else:
            _pooled(f.extra_labels, 0, lambda: arcs.label_artist(self.ax, layout))
            self._labels = _pooled(f.labels, result.n_tokens, lambda: arcs.label_artist(self.ax, layout))
            for i, label in enumerate(self._labels):
                label.set_x(float(i))
                label.set_text(layout.labels[i])
                label.set_gid(f"token-{i}")
                arcs.style_token_label(label, i, -1, -1, False, self._base_colors[i])
                if not self._dynamic_labels:
                    label.draw(renderer)
        self._background = self.canvas.copy_from_bbox(self.figure.bbox)

    def _view(
        self,
        layer: int,
        head: int,
        source: int,
        matrix: np.ndarray | None,
        title: str | None,
        scale: Scale,
    ) -> _ArcPlotter:
        view = _ArcPlotter(
            self.result,
            layer,
            head,
            source,
            self.layout,
            self.top_k,
            0.0,
            self.values,
            scale,
            matrix,
            "" if not self.title else title,
        )
        if self.title and title is None:
            width = self._width - 16
            view.title = arc_layout.fit_text(view.title, self.layout.sizes["title"], width)
        return view

    @staticmethod
    def _colorbar_region(figure: _ArcFigure, layout: arc_layout.ArcLayout) -> Any:
        """The pixels of the colour bar, its ticks and label, where nothing else is drawn: right of
        the arcs' Axes and as tall as the figure, or (``"top"``) the line between the Axes and the notes."""
        from matplotlib.transforms import Bbox

        figure_box = figure.figure.bbox
        main = figure.ax.get_window_extent()
        if layout.legend:
            line = layout.legend * figure.figure.dpi / 72.0
            return Bbox.from_extents(figure_box.x0, main.y1 + 1, figure_box.x1, main.y1 + line)
        return Bbox.from_extents(main.x1 + 1, figure_box.y0, figure_box.x1, figure_box.y1)

    # -- per redraw ----------------------------------------------------------

    def update(self, view: _ArcPlotter) -> None:
        """Set every dynamic artist to show ``view`` (no drawing)."""
        result, layout, f = self.result, self.layout, self._f
        norm = self._arcs.norm
        if view.vmax != norm.vmax:
            norm = view.norm()
            self._arcs.set_norm(norm)
        alphas = view.alphas()
        # No arc at all (a causal model's first token): matplotlib cannot take an array of
        # opacities back to none, so the arcs are hidden and keep the last view's data.
        self._arcs.set_visible(bool(alphas))
        if alphas:
            self._arcs.set_segments(list(view.paths()))
            self._arcs.set_array(view.weights)
            self._arcs.set_linewidth(view.widths().tolist())
            self._arcs.set_alpha(alphas)

        self._self_dot.set_xdata([view.x[view.source]])
        dot = view.dot_style(norm)
        self._self_dot.set_markersize(dot["markersize"])
        self._self_dot.set_markerfacecolor(dot["markerfacecolor"])
        if layout.focus and view.source != self._source_key:
            # Drawn only into the source's background: set when the source changes.
            self._rug.set_data(*arcs.rug_xy(view.rug()))

        source, max_target = view.source, view.max_target
        if layout.focus:
            self._place_labels(view)
        else:
            changed = (
                range(result.n_tokens) if self._dynamic_labels else {*self._highlighted, source, max_target}
            )
            for i in changed:
                arcs.style_token_label(
                    self._labels[i], i, source, max_target, result.causal, self._base_colors[i]
                )
            self._highlighted = sorted({source, max_target})
            self._shown_labels = (
                self._labels if self._dynamic_labels else [self._labels[i] for i in self._highlighted]
            )

        texts = view.value_texts()
        pool = _pooled(f.values, len(texts), lambda: arcs.value_text(self.ax, layout))
        for text, (target, x, row, value) in zip(pool, texts, strict=True):
            text.set_x(x)
            text.set_transform(f.value_rows[row])
            text.set_text(value)
            text.set_gid(f"value-{target}")
        self._shown_values = pool
        self._value_keys = [("value", x, row, value) for _, x, row, value in texts]
        self._notes.set_text(view.notes_text)
        self.ax.title.set_text(view.title)
        self._scale_key = (view.scale, float(view.vmax))
        self._view_norm = norm

    def _place_labels(self, view: _ArcPlotter) -> None:
        """Focused layout: the window's labels in their own colour (drawn into a background kept
        per source, as layer and head change far more often than the source), then the labels
        this view adds: far targets, and the highlighted source and most attended token.
        """
        layout, f = self.layout, self._f
        first, last = layout.window_of(view.source)
        window = list(range(first, last + 1))
        pool = _pooled(f.labels, len(window), lambda: arcs.label_artist(self.ax, layout))
        for text, i in zip(pool, window, strict=True):
            self._set_label(text, i, view, -1, -1)
        highlighted = {view.source, view.max_target}
        extra = [i for i in np.flatnonzero(view.shown).tolist() if not first <= i <= last or i in highlighted]
        added = _pooled(f.extra_labels, len(extra), lambda: arcs.label_artist(self.ax, layout))
        for text, i in zip(added, extra, strict=True):
            self._set_label(text, i, view, view.source, view.max_target)
        self._window_labels = pool
        self._shown_labels = added
        self._source_key = view.source

    def _set_label(self, text: Text, i: int, view: _ArcPlotter, source: int, max_target: int) -> None:
        text.set_x(float(view.x[i]))
        text.set_text(self.layout.labels[i])
        text.set_gid(f"token-{i}")
        arcs.style_token_label(text, i, source, max_target, self.result.causal, self._base_colors[i])

    def _background_of_view(self) -> Any:
        """The background to restore: the sentence's, or (focused) the current source's."""
        if not self.layout.focus:
            return self._background
        picture = self._source_backgrounds.get(self._source_key)
        if picture is None:
            canvas = self.canvas
            renderer = canvas.get_renderer()
            canvas.restore_region(self._background)
            self._rug.draw(renderer)
            for label in self._window_labels:
                label.draw(renderer)
            picture = canvas.copy_from_bbox(self.figure.bbox)
            if len(self._source_backgrounds) >= MAX_SOURCE_BACKGROUNDS:
                self._source_backgrounds.pop(next(iter(self._source_backgrounds)))
            self._source_backgrounds[self._source_key] = picture
        return picture

    def draw(self) -> None:
        """Restore the cached background and draw only the dynamic artists."""
        canvas, f = self.canvas, self._f
        renderer = canvas.get_renderer()
        GlyphCache.install(renderer)
        canvas.restore_region(self._background_of_view())
        # The colour bar first: its area overlaps nothing else, and a scale drawn once (round
        # maxima repeat) is pasted back without recomputing its ticks.
        ticks = f.colorbar_pictures.get(self._scale_key)
        if ticks is None:
            self._set_colorbar(*self._scale_key)
            if f.colorbar_texts:
                for text in f.colorbar_texts:
                    text.draw(renderer)
            else:
                self.cax.yaxis.draw(renderer)
            f.colorbar_pictures[self._scale_key] = canvas.copy_from_bbox(f.colorbar_box)
        else:
            canvas.restore_region(ticks)
        # A full draw's order is (rug and labels in the background,) arcs, labels, zorder-3
        # artists in creation order, title.  A label that touches neither the arcs nor another
        # label looks the same drawn before the arcs: it goes first, pasted when it can be.
        touching = self._shown_labels if self.layout.focus else self._draw_lone_labels(renderer)
        self._arcs.draw(renderer)
        for label in touching:
            label.draw(renderer)
        self._self_dot.draw(renderer)
        # Numbers and notes stand alone on white (the layout keeps them clear of everything
        # else): a text drawn once at a place is pasted back there.
        for text, key in zip(self._shown_values, self._value_keys, strict=True):
            self._draw_text(text, key, renderer)
        self._draw_text(self._notes, ("notes", self._notes.get_text()), renderer)
        if self.title:
            # Alone on white above the notes: a title shown before is pasted back.
            self._draw_text(self.ax.title, ("title", self.ax.title.get_text()), renderer)

    def _draw_lone_labels(self, renderer: Any) -> list[Text]:
        """Draw the shown labels that touch neither the arcs nor each other; return the rest.

        Each lone label is pasted from a picture of itself on this background, taken
        the first time it was drawn: a highlighted label with its box costs ~0.5 ms
        to draw and ~0.01 ms to paste, and a move draws two (a causal model's, every
        label).  Nothing else is ever drawn where a lone label sits, so its
        picture holds only the background and the label.  Not for a focused layout:
        there each view brings other far targets, and measuring a new label's box
        costs about as much as drawing it (first visits at n=512 drew in 6.8 ms
        instead of 5.4).
        """
        shown = self._shown_labels
        if not shown:
            return []
        keys = [self._label_key(label) for label in shown]
        boxes = [self._label_box(label, key, renderer) for label, key in zip(shown, keys, strict=True)]
        crowded = _touching(np.array([box.extents for box in boxes]), self._arcs_reach().extents)
        touching = []
        for label, key, box, in_the_way in zip(shown, keys, boxes, crowded, strict=True):
            if in_the_way:
                touching.append(label)
                continue
            picture = self._label_pictures.get(key)
            if picture is not None:
                self.canvas.restore_region(picture)
                continue
            label.draw(renderer)
            if len(self._label_pictures) >= MAX_TEXT_PICTURES:
                self._label_pictures.clear()
            self._label_pictures[key] = self.canvas.copy_from_bbox(box)
        return touching

    def _label_key(self, label: Text) -> tuple[Any, ...]:
        """What a label's pixels depend on (the sentence's background is the renderer's own)."""
        patch = label.get_bbox_patch()
        box = None
        if patch is not None:
            box = (tuple(patch.get_facecolor()), tuple(patch.get_edgecolor()), patch.get_linewidth())
        return (label.get_text(), label.get_position(), str(label.get_color()), box)

    def _label_box(self, label: Text, key: tuple[Any, ...], renderer: Any) -> Any:
        """Where the label's ink can be, in pixels: its text and box, edge line and smoothing included."""
        box = self._label_boxes.get(key)
        if box is None:
            from matplotlib.transforms import Bbox

            label.update_bbox_position_size(renderer)
            extents = [label.get_window_extent(renderer)]
            patch = label.get_bbox_patch()
            if patch is not None:
                extents.append(patch.get_window_extent(renderer))
            edge = 0.0 if patch is None else patch.get_linewidth()
            box = Bbox.union(extents).padded(edge * self.figure.dpi / 72.0 / 2.0 + 2.0)
            if len(self._label_boxes) >= MAX_TEXT_PICTURES:
                self._label_boxes.clear()
            self._label_boxes[key] = box
        return box

    def _arcs_reach(self) -> Any:
        """Where an arc can draw: the Axes, and half the widest line beyond it (round caps)."""
        if self._reach is None:
            widest = arcs.ARC_WIDTHS[1]
            self._reach = self.ax.get_window_extent().padded(widest / 2.0 * self.figure.dpi / 72.0 + 2.0)
        return self._reach

    def _draw_text(self, text: Text, key: tuple[Any, ...], renderer: Any) -> None:
        pictures = self._f.text_pictures
        picture = pictures.get(key)
        if picture is not None:
            self.canvas.restore_region(picture)
            return
        text.draw(renderer)
        if len(pictures) >= MAX_TEXT_PICTURES:
            pictures.clear()
        pictures[key] = self.canvas.copy_from_bbox(text.get_window_extent(renderer).padded(1.0))

    def _set_colorbar(self, scale: Scale, vmax: float) -> None:
        """Give the colour bar this scale's norm and label (this re-runs its tick layout)."""
        f = self._f
        if f.colorbar_key == (scale, vmax):
            return
        f.colorbar_key = (scale, vmax)
        self._colorbar.mappable.set_norm(self._view_norm)
        if f.colorbar_texts:
            arcs.set_top_bar(f.colorbar_texts, scale, vmax, self.layout)
            return
        height = self.cax.get_position().height * self.figure.get_figheight() * 72.0
        size = self.layout.sizes["notes"]
        self._colorbar.set_label(arc_layout.colorbar_lines(scale, size, height), fontsize=size)

    def render(
        self,
        layer: int,
        head: int,
        source: int,
        *,
        matrix: np.ndarray | None = None,
        title: str | None = None,
        scale: Scale | None = None,
        full: bool = False,
    ) -> bytes:
        """PNG bytes of one view; ``full=True`` redraws the whole figure (the slow reference path)."""
        view = self._view(layer, head, source, matrix, title, check_scale(scale or self.scale))
        self.update(view)
        if full:
            _skip_colorbar_gradient(self._colorbar, False)
            self._f.colorbar_key = ("", -1.0)
            self._set_colorbar(*self._scale_key)
            # Rebuild the gradient for this scale (a blitted redraw pastes the background's).
            self._colorbar.update_normal(self._colorbar.mappable)
            _skip_colorbar_gradient(self._colorbar, True)
            GlyphCache.install(self.canvas.get_renderer())
            self.canvas.draw()
        else:
            self.draw()
        if self.encoder is None:
            return encode_png(self.figure, self.compress_level, max_bytes=None)
        return self.encoder.encode(self.figure)

    def picture_text(self) -> PictureText:
        """The token labels and numbers of the last picture :meth:`render` made, as drawn.

        Returns
        -------
        PictureText
            Font sizes and boxes in the PNG's pixels, and the PNG's size and dpi.

        Examples
        --------
        >>> png = renderer.render(3, 5, 2)
        >>> text = renderer.picture_text()
        >>> min(t.fontsize for t in text.labels), len(text.values)
        (16.0, 5)
        """
        renderer = self.canvas.get_renderer()
        width, height = self.canvas.get_width_height()
        # Unfocused, every label is in the picture (in the background, or drawn again when highlighted).
        labels = self._window_labels + self._shown_labels if self.layout.focus else self._labels

        def boxes(texts: list[Text]) -> tuple[TextBox, ...]:
            # A focused window's label drawn again highlighted is one label.
            found: dict[str, TextBox] = {}
            for text in texts:
                if not (text.get_visible() and text.get_text()):
                    continue
                x0, y0, x1, y1 = text.get_window_extent(renderer).extents
                corners = (float(x0), float(height - y1), float(x1), float(height - y0))
                gid = str(text.get_gid())
                found[gid] = TextBox(gid, text.get_text(), float(text.get_fontsize()), corners)
            return tuple(found.values())

        return PictureText(width, height, float(self.figure.dpi), boxes(labels), boxes(self._shown_values))

    def rgba(self) -> np.ndarray:
        """The canvas as it stands, ``[height, width, 4]`` uint8 (for tests)."""
        return np.asarray(self.canvas.buffer_rgba()).copy()


def _pooled(pool: list[Text], count: int, make: Callable[[], Text]) -> list[Text]:
    """The first ``count`` texts of ``pool`` (made as needed); the rest hidden from a full draw."""
    while len(pool) < count:
        pool.append(make())
    for k, text in enumerate(pool):
        text.set_visible(k < count)
    return pool[:count]


def _skip_colorbar_gradient(colorbar: Any, skip: bool) -> None:
    """Stop the colour bar from rebuilding its gradient mesh on every norm change.

    The gradient looks the same for any maximum and lives in the cached
    background; rebuilding it is a third of a redraw.  A full redraw turns
    the rebuild back on.  (Uses a private hook; skipped if absent.)
    """
    if not hasattr(type(colorbar), "_add_solids"):
        return
    if skip:
        colorbar._add_solids = lambda *args, **kwargs: None
    else:
        colorbar.__dict__.pop("_add_solids", None)


class FigureRenderer:
    """Any plot function as PNG bytes on one reused figure (heat map, head grid).

    These views change most of their pixels on every slider move, so there
    is nothing to blit; reusing the figure and encoding fast still halves
    the cost of a new figure each time.
    """

    def __init__(
        self, size: tuple[float, float], *, dpi: int = DPI, compress_level: int = PNG_COMPRESS_LEVEL
    ) -> None:
        self.figure = new_figure(*size, dpi=dpi)
        self.compress_level = compress_level

    def render(self, draw: Callable[[Axes], object]) -> bytes:
        self.figure.clear()
        draw(self.figure.add_subplot())
        # Token labels sit at the same place on every redraw: their glyphs come from the cache.
        GlyphCache.install(self.figure.canvas.get_renderer())  # type: ignore[attr-defined]
        self.figure.canvas.draw()
        return encode_png(self.figure, self.compress_level)


def _touching(boxes: np.ndarray, reach: np.ndarray) -> np.ndarray:
    """Which ``[x0, y0, x1, y1]`` boxes meet the reach or another box (edges count, as in
    ``Bbox.overlaps``): all pairs at once, as a causal model shows every label (45 labels
    were 2,000 ``overlaps`` calls, half of an 11 ms redraw)."""
    x0, y0, x1, y1 = boxes.T
    meets = (
        (x0[:, None] <= x1[None, :])
        & (x0[None, :] <= x1[:, None])
        & (y0[:, None] <= y1[None, :])
        & (y0[None, :] <= y1[:, None])
    )
    np.fill_diagonal(meets, False)
    rx0, ry0, rx1, ry1 = reach
    in_reach = (x0 <= rx1) & (rx0 <= x1) & (y0 <= ry1) & (ry0 <= y1)
    return meets.any(axis=1) | in_reach
