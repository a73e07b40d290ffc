"""The explorer's pictures: one reused figure per view, redrawn by blitting, as palette PNG bytes."""

from __future__ import annotations

import functools
from collections.abc import Callable, Hashable
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from ..core.result import AttentionResult
from ..plots import arc_layout, arcs
from ..plots.arc_layout import TopK
from ..plots.arcs import ArcPlot, Values
from ..plots.style import CMAP, Scale, check_scale
from .png import PaletteEncoder, encode_png

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.text import Text
    from matplotlib.transforms import Bbox

    from ..syntax.parsing import SyntaxAnnotation

DPI = 100
#: No picture is wider than a notebook shows it (and a 1280-pixel screen).
MAX_WIDTH_PX = 1280
#: Pictures of texts kept for pasting back (numbers, notes, colour-bar ticks): each a few KB.
MAX_TEXT_PICTURES = 2000
#: Backgrounds kept per source in a focused layout (a whole canvas each, ~2.5 MB).
MAX_SOURCE_BACKGROUNDS = 4


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


class BlitCanvas:
    """A figure drawn in full once, then redrawn by restoring a background and drawing what changed.

    Parameters
    ----------
    figure : Figure
        A figure with an Agg canvas (:func:`new_figure`).
    colors : ndarray, optional
        ``[k, 3]`` uint8 colours the picture can bring, for a 256-colour palette PNG
        (:class:`attnviz.explore.png.PaletteEncoder`); ``None`` encodes lossless RGB.

    Examples
    --------
    >>> canvas = BlitCanvas(new_figure(4, 3), None)
    >>> canvas.agg.draw()
    >>> png = canvas.png()
    """

    def __init__(self, figure: Figure, colors: np.ndarray | None) -> None:
        self.figure = figure
        self.agg: FigureCanvasAgg = figure.canvas  # type: ignore[assignment]
        self.encoder = None if colors is None else PaletteEncoder(colors)
        #: Pixels of texts that stand alone (numbers, notes, colour-bar ticks), by what they show.
        self.pictures: dict[Hashable, Any] = {}

    def renderer(self) -> Any:
        return self.agg.get_renderer()

    def copy(self, box: Bbox | None = None) -> Any:
        """The pixels of ``box`` (default: the whole figure), to :meth:`restore` later."""
        return self.agg.copy_from_bbox(self.figure.bbox if box is None else box)

    def restore(self, region: Any) -> None:
        self.agg.restore_region(region)

    def background(self, hidden: list[Any]) -> Any:
        """Draw the whole figure but ``hidden`` and :meth:`copy` it; ``hidden`` is then as it was."""
        shown = [artist.get_visible() for artist in hidden]
        for artist in hidden:
            artist.set_visible(False)
        self.agg.draw()
        picture = self.copy()
        for artist, visible in zip(hidden, shown, strict=True):
            artist.set_visible(visible)
        return picture

    def paste_or_draw(self, key: Hashable, artists: list[Any], box: Bbox | None = None) -> None:
        """Paste the picture kept under ``key``, or draw ``artists`` and keep ``box`` (or a lone text's).

        Only for things that stand alone on a background that does not change under them.
        """
        picture = self.pictures.get(key)
        if picture is not None:
            self.agg.restore_region(picture)
            return
        renderer = self.renderer()
        for artist in artists:
            artist.draw(renderer)
        if box is None:
            box = artists[0].get_window_extent(renderer).padded(1.0)
        if len(self.pictures) >= MAX_TEXT_PICTURES:
            self.pictures.clear()
        self.pictures[key] = self.agg.copy_from_bbox(box)

    def png(self) -> bytes:
        """The canvas as it stands, as PNG bytes."""
        if self.encoder is None:
            return encode_png(self.figure, max_bytes=None)
        return self.encoder.encode(self.figure)


@functools.lru_cache(maxsize=1)
def palette_colors() -> np.ndarray:
    """``[k, 3]`` uint8: the colours an arc picture can bring (arcs on white, highlights, parts of speech)."""
    import matplotlib.pyplot as plt
    from matplotlib.colors import to_rgb

    from ..syntax.plots import POS_COLORS

    ramp = plt.get_cmap(CMAP)(np.linspace(0.0, 1.0, 64))[:, :3]
    shades = [alpha * ramp + (1.0 - alpha) for alpha in (1.0, 0.75, 0.5, 0.3)]
    named = [to_rgb(c) for c in (arcs.SOURCE_COLOR, arcs.MAX_COLOR, *POS_COLORS.values())]
    named += [to_rgb(arcs.readable_color(c)) for c in POS_COLORS.values()]
    colours = np.round(np.concatenate([*shades, np.array(named)]) * 255).astype(np.uint8)
    colours.setflags(write=False)
    return colours


class ArcRenderer:
    """Arc pictures of one result as PNG bytes: one :class:`ArcPlot` on a :class:`BlitCanvas`.

    ``render(layer, head, source)`` gives the same picture as
    ``plot_arcs(result, layer, head, source)`` with the same options (tested
    pixel by pixel); ``matrix`` and ``title`` draw an aggregate instead of one head.

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
        a front end shows :func:`attnviz.plots.arcs.arc_title` as text instead.
    notes : bool
        Draw the grey notes above the arcs.  ``False`` leaves them out (and their room): a front
        end shows :attr:`notes` as text instead.
    width, height : float, optional
        Figure size in inches (default: from the token count and text size).
    colorbar : "right" or "top"
        The colour bar upright on the right, or on a line of its own above the arcs.
    dpi : float, optional
        Default: 100, less if that would be wider than :data:`MAX_WIDTH_PX`.
    previous : ArcRenderer, optional
        The previous sentence's renderer: its figure and artists are taken over (and it is then
        unusable) when made with the same options; only the labels, or the layout, are redone.

    Examples
    --------
    >>> png = ArcRenderer(result, fontsize=16, title=False, colorbar="top").render(3, 5, 2)
    """

    _blank: Any
    _colorbar_box: Bbox

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
        previous: ArcRenderer | None = None,
        notes: bool = True,
    ) -> None:
        self.result = result
        self.scale = check_scale(scale)
        self.fontsize, self.top_k, self.values = fontsize, top_k, values
        self.syntax = arcs.check_syntax(result, syntax)
        self.title = bool(title)
        place = arc_layout.colorbar_place(colorbar) or "right"
        plan = arc_layout.figure_layout(
            result,
            fontsize,
            width=width,
            height=height,
            title=self.title,
            colorbar=place,
            syntax=self.syntax,
            hides_links=arc_layout.resolve_top_k(top_k, result.n_tokens) is not None,
            notes=notes,
        )
        self.layout = layout = plan.layout
        dpi = screen_dpi(plan.size[0]) if dpi is None else float(dpi)
        title_width = plan.size[0] * 72.0 - 16
        self.plot = ArcPlot(
            result,
            layout,
            top_k=top_k,
            values=values,
            scale=self.scale,
            title=title,
            title_width=title_width,
            notes=notes,
        )
        self.plot.show(0, 0, min(1, result.n_tokens - 1))
        #: Figures that can be taken over share these; the layout decides if they must be laid out again.
        sizes = tuple(sorted(layout.sizes.items()))
        self.family = (self.title, notes, place, dpi, sizes, self.syntax is None)
        self._shape = (plan.size, plan.main, plan.colorbar, layout.shape())
        # A figure with dependency arcs draws this sentence's syntax into its background: its own.
        if previous is None or self.syntax is not None or previous.family != self.family:
            made = arcs.place_axes(new_figure(1.0, 1.0, dpi, layout=None), plan)
            assert made.colorbar is not None
            self.canvas = BlitCanvas(made.figure, palette_colors())
            self.ax, self.cax = made.ax, made.colorbar
            self.plot.draw(
                self.ax,
                colorbar=self.cax,
                syntax=self.syntax,
                dependencies=made.dependencies,
                tick_labels=False,
            )
            self._labels: list[Text] = []
            self._extra_labels: list[Text] = []
            self._draw_blank()
        else:
            self.canvas, self.ax, self.cax = previous.canvas, previous.ax, previous.cax
            self.plot.adopt(previous.plot)
            self._labels, self._extra_labels = previous._labels, previous._extra_labels
            previous.plot.artists = None
            # A palette of its own per sentence, chosen from its first picture.
            self.canvas.encoder = PaletteEncoder(palette_colors())
            if previous._shape != self._shape:
                self._lay_out_again(plan)
            else:
                self._blank, self._colorbar_box = previous._blank, previous._colorbar_box
        self.figure = self.canvas.figure
        #: Labels drawn on every redraw: all of them when they move (focused) or grey out (causal).
        self._dynamic_labels = layout.focus or result.causal
        self._highlighted: list[int] = []
        self._shown_labels: list[Text] = []
        self._window_labels: list[Text] = []
        self._source_backgrounds: dict[int, Any] = {}
        #: Pictures of labels that stood alone, by what their pixels depend on (and, focused, the source);
        #: their boxes by look, relative to the label's anchor (per sentence).
        self._label_pictures: dict[Hashable, Any] = {}
        self._label_boxes: dict[Hashable, Bbox] = {}
        self._label_backgrounds: set[int | None] = set()
        # Where an arc can draw: the Axes, and half the widest line beyond it (round caps).
        pad = arcs.ARC_WIDTHS[1] / 2.0 * self.figure.dpi / 72.0 + 2.0
        self._reach = self.ax.get_window_extent().padded(pad)
        # This sentence's token labels, drawn once onto the blank background (unless redrawn each view).
        _pooled(self._extra_labels, 0, self._new_label)
        self._all_labels = _pooled(self._labels, 0 if layout.focus else result.n_tokens, self._new_label)
        for i, label in enumerate(self._all_labels):
            self._set_label(label, i, -1, -1)
        self._background = self._blank
        if not self._dynamic_labels:
            self.canvas.restore(self._blank)
            renderer = self.canvas.renderer()
            for label in self._all_labels:
                label.draw(renderer)
            self._background = self.canvas.copy()

    def _lay_out_again(self, plan: arc_layout.FigureLayout) -> None:
        """Fit a taken-over figure of another shape to ``plan``: cheaper than new Axes and colour bar."""
        layout, ax = plan.layout, self.ax
        assert plan.colorbar is not None
        self.canvas.figure.set_size_inches(*plan.size)
        ax.set(position=plan.main, xlim=layout.xlim, ylim=(0.0, layout.top))
        self.cax.set_position(plan.colorbar)
        ax.set_title("", fontsize=layout.sizes["title"], pad=arc_layout.notes_height(layout))
        transform = arcs.label_transform(ax, layout)
        for text in [*self._labels, *self._extra_labels]:
            text.set_transform(transform)
            text.update(layout.label_style())
        self.canvas.pictures.clear()
        self._draw_blank()

    def _draw_blank(self) -> None:
        """Draw the figure without anything that changes with the sentence or the view, and keep it."""
        from matplotlib.transforms import Bbox

        artists = self.plot.artists
        assert artists is not None
        # An empty title rather than a hidden one: matplotlib would move a hidden title far up.
        self.ax.title.set_text("")
        dynamic = [artists.arcs, artists.self_dot, artists.notes, artists.rug, self.cax.yaxis]
        hidden = [*dynamic, *artists.colorbar_texts, *artists.values, *self._labels, *self._extra_labels]
        self._blank = self.canvas.background(hidden)
        # The colour bar's ticks and label, where nothing else is drawn: right of the arcs' Axes
        # and as tall as the figure, or (legend on top) the line between the Axes and the notes.
        figure_box = self.canvas.figure.bbox
        main = self.ax.get_window_extent()
        if self.layout.legend:
            line = self.layout.legend * self.canvas.figure.dpi / 72.0
            self._colorbar_box = Bbox.from_extents(figure_box.x0, main.y1 + 1, figure_box.x1, main.y1 + line)
        else:
            self._colorbar_box = Bbox.from_extents(main.x1 + 1, figure_box.y0, figure_box.x1, figure_box.y1)

    def _new_label(self) -> Text:
        return arcs.label_artist(self.ax, self.layout)

    def _place_labels(self) -> None:
        """Set the token labels for the plot's current view (no drawing)."""
        plot, layout, result = self.plot, self.layout, self.result
        source, max_target = plot.source, plot.max_target
        if not layout.focus:
            changed = (
                range(result.n_tokens) if self._dynamic_labels else {*self._highlighted, source, max_target}
            )
            for i in changed:
                self._set_label(self._all_labels[i], i, source, max_target)
            self._highlighted = sorted({source, max_target})
            labels = self._all_labels
            self._shown_labels = labels if self._dynamic_labels else [labels[i] for i in self._highlighted]
            return
        # Focused: the window's labels go into a background kept per source (layer and head change
        # far more often); the view adds far targets and the highlighted source and maximum.
        first, last = layout.window_of(source)
        window = list(range(first, last + 1))
        self._window_labels = _pooled(self._labels, len(window), self._new_label)
        for text, i in zip(self._window_labels, window, strict=True):
            self._set_label(text, i, -1, -1)
        highlighted = {source, max_target}
        extra = [i for i in np.flatnonzero(plot.shown).tolist() if not first <= i <= last or i in highlighted]
        self._shown_labels = _pooled(self._extra_labels, len(extra), self._new_label)
        for text, i in zip(self._shown_labels, extra, strict=True):
            self._set_label(text, i, source, max_target)

    def _set_label(self, text: Text, i: int, source: int, max_target: int) -> None:
        text.set_x(float(self.plot.x[i]))
        text.set_text(self.layout.labels[i])
        text.set_gid(f"token-{i}")
        arcs.style_token_label(text, i, source, max_target, self.result.causal, self.plot.base_colors[i])

    def _background_of_view(self) -> Any:
        """The background to restore: the sentence's, the current source's (focused), or None: just drawn."""
        if not self.layout.focus:
            return self._background
        picture = self._source_backgrounds.get(self.plot.source)
        if picture is None:
            renderer = self.canvas.renderer()
            self.canvas.restore(self._background)
            assert self.plot.artists is not None
            for artist in [self.plot.artists.rug, *self._window_labels]:
                artist.draw(renderer)
            picture = self.canvas.copy()
            if len(self._source_backgrounds) >= MAX_SOURCE_BACKGROUNDS:
                self._source_backgrounds.pop(next(iter(self._source_backgrounds)))
            self._source_backgrounds[self.plot.source] = picture
            return None
        return picture

    def draw(self) -> None:
        """Restore the background and draw only what the view changes."""
        canvas, artists = self.canvas, self.plot.artists
        assert artists is not None
        renderer = canvas.renderer()
        background = self._background_of_view()
        if background is not None:
            canvas.restore(background)
        # The colour bar first: its area overlaps nothing else, and a scale drawn once is pasted back.
        bar_texts: list[Any] = list(artists.colorbar_texts) or [self.cax.yaxis]
        canvas.paste_or_draw(("colorbar", self.plot.scale, self.plot.vmax), bar_texts, self._colorbar_box)
        # A full draw's order: (rug and labels in the background,) arcs, labels, zorder-3 artists, title.
        # A label touching neither the arcs nor another label looks the same drawn first: it is pasted.
        crowded = self._lone_labels(renderer)
        for artist in [artists.arcs, *crowded, artists.self_dot]:
            artist.draw(renderer)
        # Numbers and notes stand alone on white: a text drawn once at a place is pasted back there.
        notes = [artists.notes] if self.plot.with_notes else []
        for text in [*artists.values, *notes, *([self.ax.title] if self.title else [])]:
            key = ("text", text.get_text(), text.get_position(), text.get_transform().get_matrix().tobytes())
            canvas.paste_or_draw(key, [text])

    def _lone_labels(self, renderer: Any) -> list[Text]:
        """Paste (or draw and keep) the shown labels that stand alone; return the others, to draw."""
        shown = self._shown_labels
        # Focused, the background under a label is its source's (with the window's labels).
        background = self.plot.source if self.layout.focus else None
        if background not in self._label_backgrounds:
            # The first view on a background (a new sentence's first picture) draws them all and keeps
            # nothing: measuring them would make that picture later (1-5 ms at n=64-128).
            self._label_backgrounds.add(background)
            return shown
        keys = [_label_key(label) for label in shown]
        boxes = [self._label_box(label, look, renderer) for label, (look, _) in zip(shown, keys, strict=True)]
        crowded = []
        for k, (label, key, box) in enumerate(zip(shown, keys, boxes, strict=True)):
            others = [self._reach, *boxes[:k], *boxes[k + 1 :]]
            if box.count_overlaps(others):
                crowded.append(label)
                continue
            picture = self._label_pictures.get((key, background))
            if picture is not None:
                self.canvas.restore(picture)
                continue
            label.draw(renderer)
            if len(self._label_pictures) >= MAX_TEXT_PICTURES:
                self._label_pictures.clear()
            self._label_pictures[key, background] = self.canvas.copy(box)
        return crowded

    def _label_box(self, label: Text, look: Hashable, renderer: Any) -> Bbox:
        """Where the label's ink can be, in pixels: its text and box, edge and smoothing included."""
        # Measured once per look (text and box style), then moved to where the label is anchored.
        x, y = label.get_transform().transform(label.get_unitless_position())
        box = self._label_boxes.get(look)
        if box is None:
            from matplotlib.transforms import Bbox

            label.update_bbox_position_size(renderer)
            patch = label.get_bbox_patch()
            extents = [label.get_window_extent(renderer)]
            edge = 0.0
            if patch is not None:
                extents.append(patch.get_window_extent(renderer))
                edge = patch.get_linewidth()
            padded = Bbox.union(extents).padded(edge * self.figure.dpi / 144.0 + 2.0)
            box = self._label_boxes[look] = padded.translated(-x, -y)
        return box.translated(x, y)

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
        self.plot.show(layer, head, source, matrix, title=title, scale=check_scale(scale or self.scale))
        self._place_labels()
        if full:
            self.canvas.agg.draw()
        else:
            self.draw()
        return self.canvas.png()

    def drawn_texts(self) -> tuple[list[Text], list[Text]]:
        """The token labels and the numbers of the last picture :meth:`render` made, as artists.

        For a caller that measures the picture's text; a hidden artist (``get_visible()``) is not in it.

        Examples
        --------
        >>> labels, numbers = renderer.drawn_texts()
        >>> min(t.get_fontsize() for t in labels if t.get_visible())  # 16.0 after a render at fontsize=16
        """
        # Unfocused, every label is in the picture (in the background, or drawn again when highlighted).
        labels = self._window_labels + self._shown_labels if self.layout.focus else self._all_labels
        assert self.plot.artists is not None
        return labels, list(self.plot.artists.values)


def _label_key(label: Text) -> tuple[Hashable, Hashable]:
    """What a label's pixels depend on, on a given background: its look (text and box), and where and
    in which colour it is drawn."""
    patch = label.get_bbox_patch()
    style = None
    if patch is not None:
        style = (tuple(patch.get_facecolor()), tuple(patch.get_edgecolor()), patch.get_linewidth())
    return (label.get_text(), style), (label.get_position(), str(label.get_color()))


def _pooled(pool: list[Text], count: int, make: Callable[[], Text]) -> list[Text]:
    """The first ``count`` texts of ``pool`` (made as needed); the rest hidden from a full draw."""
    while len(pool) < count:
        pool.append(make())
    for k, text in enumerate(pool):
        text.set_visible(k < count)
    return pool[:count]


class FigureRenderer:
    """Any plot function as PNG bytes on one reused figure (the grid, the graph).

    These views change most of their pixels on every move, so there is nothing
    to blit; reusing the figure still halves the cost of a new one each time.

    Examples
    --------
    >>> png = FigureRenderer((8.0, 8.0)).render(lambda ax: attnviz.plot_grid(result, ax=ax))
    """

    def __init__(self, size: tuple[float, float]) -> None:
        self.figure = new_figure(*size)

    def render(self, draw: Callable[[Axes], object]) -> bytes:
        self.figure.clear()
        draw(self.figure.add_subplot())
        self.figure.canvas.draw()
        return encode_png(self.figure)
