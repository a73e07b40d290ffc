"""Fast redraws for the explorer: one persistent figure, a cached background, PNG bytes.

:func:`attnviz.arcs.plot_arcs` is the reference picture; it builds a new
figure each time (50-120 ms).  :class:`ArcRenderer` builds that same
picture once, freezes the layout, caches everything that does not depend on
the layer, head or source (axes, token labels, colour bar gradient) and on
each call restores that background and draws only what changed (arcs,
highlighted labels, values, title, colour bar ticks), then encodes the
canvas as PNG with a fast compression level.  Long inputs draw only the
strongest ``top_k`` links, as the reference does.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from . import arcs
from ._glyph_cache import GlyphCache
from .arcs import TopK, Values, _ArcPlotter
from .png import PNG_COMPRESS_LEVEL, encode_png, is_palette_png
from .result import AttentionResult

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.text import Text

DPI = 100
MAX_WIDTH_PX = 1600
#: A row's largest weight is at least 1/n >= 1/512; its colour bar then has the longest
#: tick labels ("0.00175"), which the frozen layout must leave room for.
WIDEST_COLORBAR_VMAX = 0.0019


class ArcGeometry:
    """Every arc's shape for one sentence length, precomputed once with numpy.

    An arc from ``source`` to ``target`` is the same half-ellipse as
    :func:`attnviz.arcs.arc_paths`; only the cosine/sine table and the
    height per distance are stored (``O(n)``, not ``O(n^2)`` paths).
    """

    def __init__(self, n: int, points: int = arcs.ARC_POINTS) -> None:
        t = np.linspace(0.0, np.pi, points)
        self.n = n
        self.cos = np.cos(t)
        self.sin = np.sin(t)
        self.heights = arcs.arc_height(np.arange(max(n, 1), dtype=np.float64))

    def paths(self, source: int, targets: np.ndarray) -> np.ndarray:
        """``[len(targets), points, 2]``, equal to ``arc_paths(n, source)[targets]``."""
        targets = np.asarray(targets, dtype=np.float64)[:, None]
        middle = (source + targets) / 2.0
        half = (targets - source) / 2.0
        x = middle - half * self.cos[None, :]
        y = self.heights[np.abs(targets - source).astype(np.intp)] * self.sin[None, :]
        return np.stack([x, y], axis=-1)


def new_figure(width: float, height: float, dpi: float = DPI) -> Figure:
    """A figure outside pyplot: nothing is shown by the notebook's inline backend, nothing leaks."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height), dpi=dpi, layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def screen_dpi(width_inches: float) -> float:
    """DPI that keeps a picture at most MAX_WIDTH_PX wide.

    A notebook shows the image about 1000 px wide; the 24-inch figure of a
    long sentence at 100 dpi (2400 px) only costs encoding time and bytes.
    """
    return min(float(DPI), MAX_WIDTH_PX / width_inches)


class ArcRenderer:
    """Arc pictures of one result as PNG bytes, redrawn by blitting.

    ``render(layer, head, source)`` gives the same picture as
    ``plot_arcs(result, layer, head, source)`` on a figure of the same size
    (tested pixel by pixel).  Pass ``matrix`` (``[n, n]``) and ``title`` to
    draw an aggregate (mean of heads, rollout) instead of one head.
    """

    def __init__(
        self,
        result: AttentionResult,
        *,
        top_k: TopK = "auto",
        values: Values = "top",
        dpi: float | None = None,
        compress_level: int = PNG_COMPRESS_LEVEL,
    ) -> None:
        self.result = result
        self.top_k = top_k
        self.values = values
        self.compress_level = compress_level
        self.geometry = ArcGeometry(result.n_tokens)
        size = _ArcPlotter.figure_size(result.n_tokens)
        self.figure = new_figure(*size, dpi=screen_dpi(size[0]) if dpi is None else dpi)
        self.canvas: FigureCanvasAgg = self.figure.canvas  # type: ignore[assignment]
        self.ax: Axes = self.figure.add_subplot()
        self._build()

    # -- setup ---------------------------------------------------------------

    def _build(self) -> None:
        result = self.result
        ax = self.ax
        # The reference plot builds every artist and the layout; we then take them over.  The
        # layout is computed for the widest colour-bar labels a row can need, so that it fits
        # every later view once frozen.
        widest = np.full((result.n_tokens, result.n_tokens), WIDEST_COLORBAR_VMAX)
        drawn = _ArcPlotter(result, 0, 0, 0, top_k=self.top_k, values=self.values, matrix=widest).plot(ax)
        # Solve the layout without rasterising: one full draw (below) is all the build needs.
        self.figure.get_layout_engine().execute(self.figure)  # type: ignore[union-attr]
        # Freeze the layout: the constrained-layout solver would move things as the title changes.
        self.figure.set_layout_engine("none")
        self._arcs = drawn.arcs
        self._self_dot = drawn.self_dot
        self._notes = drawn.notes
        self._labels = drawn.labels
        assert drawn.colorbar is not None
        self._colorbar: Any = drawn.colorbar
        self.cax: Axes = drawn.colorbar.ax
        self._dynamic_labels = result.causal  # greyed future depends on the source
        # The notes line (model, hidden links) depends on the source only for causal models;
        # otherwise it is drawn once, into the background.
        self._dynamic_notes = result.causal
        self._highlighted: list[int] = []
        self._colorbar_pictures: dict[float, Any] = {}
        #: Weight labels, moved and relabelled on each redraw (creating Text artists is slow).
        self._value_pool: list[Text] = []
        self._palette = False

        hidden = [self._arcs, self._self_dot, ax.title, *drawn.values]
        if self._dynamic_notes:
            hidden.append(self._notes)
        for artist in hidden:
            artist.set_visible(False)
        for i, label in enumerate(self._labels):
            arcs.style_token_label(label, i, -1, -1, False)
            if self._dynamic_labels:
                label.set_visible(False)
        # The colour bar's ticks follow each row's maximum; its gradient does not.
        colorbar_axis = self.cax.yaxis
        colorbar_axis.set_visible(False)
        GlyphCache.install(self.canvas.get_renderer())
        self.canvas.draw()
        self._background = self.canvas.copy_from_bbox(self.figure.bbox)
        self._colorbar_box = self._colorbar_region()
        for artist in [self._arcs, self._self_dot, self._notes, ax.title, colorbar_axis]:
            artist.set_visible(True)
        for label in self._labels:
            label.set_visible(True)
        for text in drawn.values:
            text.remove()
        self._skip_colorbar_gradient(True)

    def _skip_colorbar_gradient(self, skip: bool) -> None:
        """Stop the colour bar from rebuilding its gradient mesh on every norm change.

        The gradient looks the same for any maximum and lives in the cached
        background; rebuilding it is a third of a redraw.  A full redraw
        turns the rebuild back on.  (Uses a private hook; skipped if absent.)
        """
        colorbar = self._colorbar
        if not hasattr(type(colorbar), "_add_solids"):
            return
        if skip:
            colorbar._add_solids = lambda *args, **kwargs: None
        else:
            colorbar.__dict__.pop("_add_solids", None)

    def _colorbar_region(self) -> Any:
        """Pixels of the colour bar with room for its tick labels: right of the arcs' axes."""
        from matplotlib.transforms import Bbox

        figure_box = self.figure.bbox
        bar = self.cax.get_window_extent()
        margin = 12.0 * self.figure.dpi / 72.0  # half a tick label above and below the bar
        arcs_right = self.ax.get_window_extent().x1
        return Bbox.from_extents(
            arcs_right + 1, max(bar.y0 - margin, 0), figure_box.x1, min(bar.y1 + margin, figure_box.y1)
        )

    def _shown_values(self) -> list[Text]:
        return [text for text in self._value_pool if text.get_visible()]

    def _place_values(self, plotter: _ArcPlotter) -> None:
        """Move and relabel a pool of value texts: creating Text artists is a redraw's slowest step."""
        labels = plotter.value_labels()
        while len(self._value_pool) < len(labels):
            self._value_pool.append(plotter.value_text(self.ax))
        for text, (target, x, y, value) in zip(self._value_pool, labels, strict=False):
            text.set_position((x, y))
            text.set_text(value)
            text.set_gid(f"value-{target}")
            text.set_visible(True)
        for text in self._value_pool[len(labels) :]:
            text.set_visible(False)

    # -- per redraw ----------------------------------------------------------

    def update(self, view: _ArcPlotter, *, rebuild_scale: bool = False) -> None:
        """Set every dynamic artist to show ``view`` (no drawing).

        ``rebuild_scale`` sets the colour scale even when it did not change, so that a
        full redraw also rebuilds the colour bar's gradient.
        """
        result = self.result
        # Changing a norm re-runs the colour bar's own layout; rounded maxima repeat, so
        # most redraws keep the one they have.
        scale_changed = rebuild_scale or view.vmax != self._arcs.norm.vmax
        norm = view.norm() if scale_changed else self._arcs.norm

        self._arcs.set_segments(list(self.geometry.paths(view.source, view.draw_order)))
        if scale_changed:
            self._arcs.set_norm(norm)
        self._arcs.set_array(view.weights)
        self._arcs.set_linewidth(view.widths().tolist())
        self._arcs.set_alpha(view.alphas())

        self._self_dot.set_offsets([[view.source, 0.0]])
        self._self_dot.set_sizes([view.dot_size()])
        if scale_changed:
            self._self_dot.set_norm(norm)
        self._self_dot.set_array(np.array([view.self_weight]))

        source, max_target = view.source, view.max_target
        changed = range(result.n_tokens) if self._dynamic_labels else {*self._highlighted, source, max_target}
        for i in changed:
            arcs.style_token_label(self._labels[i], i, source, max_target, result.causal)
        self._highlighted = sorted({source, max_target})

        self._place_values(view)
        if self._dynamic_notes:
            self._notes.set_text(view.notes)
        self.ax.set_title(view.title, fontsize=12)
        if scale_changed:
            self._colorbar.mappable.set_norm(norm)

    def draw(self) -> None:
        """Restore the cached background and draw only the dynamic artists."""
        canvas = self.canvas
        renderer = canvas.get_renderer()
        GlyphCache.install(renderer)
        canvas.restore_region(self._background)
        # The colour bar first: its area overlaps nothing else, and a scale drawn once
        # (round maxima repeat) is pasted back instead of drawing its tick labels again.
        vmax = float(self._colorbar.mappable.norm.vmax)
        ticks = self._colorbar_pictures.get(vmax)
        if ticks is None:
            self.cax.yaxis.draw(renderer)
            self._colorbar_pictures[vmax] = canvas.copy_from_bbox(self._colorbar_box)
        else:
            canvas.restore_region(ticks)
        labels = self._labels if self._dynamic_labels else [self._labels[i] for i in self._highlighted]
        # Same order as a full draw: axis labels, arcs, zorder-3 artists in creation order, title.
        for label in labels:
            label.draw(renderer)
        self._arcs.draw(renderer)
        self._self_dot.draw(renderer)
        for text in self._shown_values():
            text.draw(renderer)
        if self._dynamic_notes:
            self._notes.draw(renderer)
        self.ax.title.draw(renderer)

    def render(
        self,
        layer: int,
        head: int,
        source: int,
        *,
        matrix: np.ndarray | None = None,
        title: str | None = None,
        full: bool = False,
    ) -> bytes:
        """PNG bytes of one view; ``full=True`` redraws the whole figure (the slow reference path)."""
        view = _ArcPlotter(
            self.result, layer, head, source, self.top_k, 0.0, self.values, "row", matrix, title
        )
        if full:
            self._skip_colorbar_gradient(False)
            self.update(view, rebuild_scale=True)
            self._skip_colorbar_gradient(True)
            GlyphCache.install(self.canvas.get_renderer())
            self.canvas.draw()
        else:
            self.update(view)
            self.draw()
        picture = encode_png(self.figure, self.compress_level, palette_first=self._palette)
        # Views of one sentence have about the same size: encode the next like this one.
        self._palette = is_palette_png(picture)
        return picture

    def rgba(self) -> np.ndarray:
        """The canvas as it stands, ``[height, width, 4]`` uint8 (for tests)."""
        return np.asarray(self.canvas.buffer_rgba()).copy()


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
