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

import io
import struct
import zlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from . import arcs
from .arcs import TopK, Values
from .result import AttentionResult

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.collections import LineCollection, PathCollection
    from matplotlib.figure import Figure

#: zlib level 1: several times faster than matplotlib's default (6), ~15% bigger files.
PNG_COMPRESS_LEVEL = 1
DPI = 100
MAX_WIDTH_PX = 1600
#: Above this a picture is re-encoded with a palette, so that one explorer view (picture in
#: base64 plus the weights table) stays under 200 KB in a saved notebook at any length.
PNG_BUDGET = 100 * 1024
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


class GlyphCache:
    """Reuse shaped strings and rasterised glyphs between redraws (matplotlib >= 3.11).

    Matplotlib 3.11 shapes every string with libraqm and rasterises every
    glyph with FreeType on each draw, about ten times slower than 3.10; a
    redraw then spends most of its time on a title and a few numbers it drew
    a moment ago.  The cache keys a glyph by everything FreeType sees,
    including its 1/64-pixel offset, and places it at the same integer pixel
    that matplotlib would, so the picture is identical (tested against
    plot_arcs).  Installed on one renderer instance only; older matplotlib
    versions are left alone.
    """

    MAX_GLYPHS = 20_000

    def __init__(self, renderer: Any) -> None:
        from matplotlib.backends import backend_agg

        self.renderer = renderer
        self.agg = backend_agg
        self.layouts: dict[tuple[Any, ...], list[tuple[Any, float, int, float, float]]] = {}
        self.glyphs: dict[tuple[Any, ...], tuple[np.ndarray, int, int]] = {}

    @staticmethod
    def supported(renderer: Any) -> bool:
        from matplotlib import ft2font

        return (
            hasattr(renderer, "_draw_text_glyphs_and_boxes")
            and hasattr(renderer, "_prepare_font")
            and hasattr(ft2font.FT2Font, "_layout")
            and hasattr(ft2font.FT2Font, "_render_glyph")
        )

    @classmethod
    def install(cls, renderer: Any) -> GlyphCache | None:
        if getattr(renderer, "_attnviz_glyph_cache", None) is not None:
            return renderer._attnviz_glyph_cache
        if not cls.supported(renderer):
            return None
        cache = cls(renderer)
        original = renderer.draw_text

        def draw_text(
            gc: Any,
            x: float,
            y: float,
            s: str,
            prop: Any,
            angle: float,
            ismath: Any = False,
            mtext: Any = None,
        ) -> None:
            if ismath:
                return original(gc, x, y, s, prop, angle, ismath, mtext)
            try:
                cache.draw_text(gc, x, y, s, prop, angle, mtext)
            except Exception:  # an internal API changed: draw the normal way
                renderer.draw_text = original
                original(gc, x, y, s, prop, angle, ismath, mtext)
            return None

        renderer.draw_text = draw_text
        renderer._attnviz_glyph_cache = cache
        return cache

    def draw_text(self, gc: Any, x: float, y: float, s: str, prop: Any, angle: float, mtext: Any) -> None:
        import math

        from matplotlib.ft2font import RenderMode

        renderer = self.renderer
        flags = self.agg.get_hinting_flag()
        features = mtext.get_fontfeatures() if mtext is not None else None
        language = mtext.get_language() if mtext is not None else None
        size = prop.get_size_in_points()
        layout_key = (s, hash(prop), str(prop), features, language, flags, renderer.dpi)
        items = self.layouts.get(layout_key)
        if items is None:
            font = renderer._prepare_font(prop)
            items = [
                (item.ft_object, size, item.glyph_index, item.x, item.y)
                for item in font._layout(s, flags=flags, features=features, language=language)
            ]
            self.layouts[layout_key] = items
        antialiased = bool(gc.get_antialiased())
        cos = math.cos(math.radians(angle))
        sin = math.sin(math.radians(angle))
        height = renderer.height
        for font, glyph_size, glyph_index, dx, dy in items:
            fx = round(0x40 * (x + dx * cos - dy * sin))
            fy = round(0x40 * (height - y + dx * sin + dy * cos))
            key = (
                id(font),
                glyph_size,
                renderer.dpi,
                glyph_index,
                angle,
                fx & 63,
                fy & 63,
                flags,
                antialiased,
            )
            glyph = self.glyphs.get(key)
            if glyph is None:
                font.set_size(glyph_size, renderer.dpi)
                font._set_transform(
                    (0x10000 * np.array([[cos, -sin], [sin, cos]])).round().astype(int), [fx, fy]
                )
                bitmap = font._render_glyph(
                    glyph_index, flags, RenderMode.NORMAL if antialiased else RenderMode.MONO
                )
                buffer = np.array(bitmap.buffer, copy=True)
                if not antialiased:
                    buffer *= 0xFF
                if len(self.glyphs) >= self.MAX_GLYPHS:
                    self.glyphs.clear()
                # Offsets relative to the whole-pixel position: shifting by whole pixels is exact.
                glyph = (buffer, bitmap.left - (fx >> 6), bitmap.top - (fy >> 6))
                self.glyphs[key] = glyph
                self._keep_alive(font)
            buffer, left, top = glyph
            renderer._renderer.draw_text_image(
                buffer, (fx >> 6) + left, int(height) - ((fy >> 6) + top) + buffer.shape[0], 0, gc
            )

    def _keep_alive(self, font: Any) -> None:
        # Glyphs are keyed by id(font): holding the font keeps that id from being reused.
        fonts = self.__dict__.setdefault("fonts", {})
        fonts[id(font)] = font


def encode_png(
    figure: Figure,
    compress_level: int = PNG_COMPRESS_LEVEL,
    max_bytes: int | None = PNG_BUDGET,
    *,
    palette_first: bool = False,
) -> bytes:
    """The figure's Agg buffer as PNG bytes: RGB (the figure is opaque), no row filter.

    Pillow tries five filters per row and spends most of its time there; on
    a mostly white picture zlib alone at level 1 is several times faster and
    the file is as small.  A picture larger than ``max_bytes`` (hundreds of
    token labels) is stored with a 256-colour palette instead: about a
    quarter of the bytes, each channel within a few levels of the original.
    ``palette_first`` skips the RGB attempt, for a figure whose last picture needed the palette.
    """
    canvas: FigureCanvasAgg = figure.canvas  # type: ignore[assignment]
    width, height = canvas.get_width_height(physical=True)
    rgb = np.asarray(canvas.buffer_rgba()).reshape(height, width, 4)[..., :3]
    if palette_first and max_bytes is not None:
        return palette_png_bytes(rgb, compress_level)
    data = png_bytes(rgb, compress_level)
    if max_bytes is not None and len(data) > max_bytes:
        data = palette_png_bytes(rgb, compress_level)
    return data


def is_palette_png(data: bytes) -> bool:
    """True for an 8-bit palette PNG (IHDR colour type 3)."""
    return len(data) > 25 and data[25] == 3


def palette_png_bytes(rgb: np.ndarray, compress_level: int = PNG_COMPRESS_LEVEL) -> bytes:
    """An ``[h, w, 3]`` uint8 array as an 8-bit palette PNG (fast octree, no dithering)."""
    from PIL import Image

    image = Image.fromarray(np.ascontiguousarray(rgb), "RGB")
    paletted = image.quantize(256, method=Image.Quantize.FASTOCTREE, dither=Image.Dither.NONE)
    out = io.BytesIO()
    paletted.save(out, format="png", compress_level=compress_level)
    return out.getvalue()


def png_bytes(rgb: np.ndarray, compress_level: int = PNG_COMPRESS_LEVEL) -> bytes:
    """Encode an ``[h, w, 3]`` uint8 array as a PNG file (8-bit RGB, filter "none")."""
    height, width, _ = rgb.shape
    scanlines = np.zeros((height, 1 + 3 * width), dtype=np.uint8)
    scanlines[:, 1:] = rgb.reshape(height, 3 * width)
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"".join(
        [
            b"\x89PNG\r\n\x1a\n",
            _png_chunk(b"IHDR", header),
            _png_chunk(b"IDAT", zlib.compress(scanlines.tobytes(), compress_level)),
            _png_chunk(b"IEND", b""),
        ]
    )


def _png_chunk(tag: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))


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


def arc_figure_size(n: int) -> tuple[float, float]:
    """The size :func:`attnviz.arcs.plot_arcs` picks for ``n`` tokens."""
    return float(np.clip(0.55 * n + 2.5, 8.0, 24.0)), 4.8


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
        size = arc_figure_size(result.n_tokens)
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
        arcs.plot_arcs(result, 0, 0, 0, ax, top_k=self.top_k, values=self.values, matrix=widest)
        # Solve the layout without rasterising: one full draw (below) is all the build needs.
        self.figure.get_layout_engine().execute(self.figure)  # type: ignore[union-attr]
        # Freeze the layout: the constrained-layout solver would move things as the title changes.
        self.figure.set_layout_engine("none")
        self._arcs: LineCollection = next(c for c in ax.collections if c.get_gid() == "arcs")  # type: ignore[assignment]
        self._self_dot: PathCollection = next(c for c in ax.collections if c.get_gid() == "self")  # type: ignore[assignment]
        self._notes = next(t for t in ax.texts if t.get_gid() == "notes")
        self._labels = list(ax.get_xticklabels())
        self._colorbar = self.cax._colorbar  # type: ignore[attr-defined]
        self._dynamic_labels = result.causal  # greyed future depends on the source
        # The notes line (model, hidden links) depends on the source only for causal models;
        # otherwise it is drawn once, into the background.
        self._dynamic_notes = result.causal
        self._highlighted: list[int] = []
        self._colorbar_pictures: dict[float, Any] = {}
        self._value_pool: list[Any] = []
        self._palette = False

        hidden = [self._arcs, self._self_dot, ax.title, *self._value_texts()]
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
        self._remove_values()
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

    @property
    def cax(self) -> Axes:
        return self.figure.axes[1]

    def _value_texts(self) -> list[Any]:
        return [t for t in self.ax.texts if str(t.get_gid()).startswith("value-") and t.get_visible()]

    def _place_values(self, row: np.ndarray, source: int, draw_order: np.ndarray) -> None:
        """Move and relabel a pool of value texts: creating Text artists is a redraw's slowest step."""
        n = self.result.n_tokens
        labels = arcs.value_labels(row, source, draw_order, self.values, n)
        while len(self._value_pool) < len(labels):
            text = self.ax.text(0, 0, "", fontsize=arcs.value_font_size(n), **arcs.VALUE_STYLE)  # type: ignore[arg-type]
            self._value_pool.append(text)
        for text, (target, x, y, value) in zip(self._value_pool, labels, strict=False):
            text.set_position((x, y))
            text.set_text(value)
            text.set_gid(f"value-{target}")
            text.set_visible(True)
        for text in self._value_pool[len(labels) :]:
            text.set_visible(False)

    def _remove_values(self) -> None:
        for text in self._value_texts():
            text.remove()

    # -- per redraw ----------------------------------------------------------

    def update(
        self,
        layer: int,
        head: int,
        source: int,
        *,
        matrix: np.ndarray | None = None,
        title: str | None = None,
        rebuild_scale: bool = False,
    ) -> None:
        """Set every dynamic artist for this view (no drawing).

        ``rebuild_scale`` sets the colour scale even when it did not change, so that a
        full redraw also rebuilds the colour bar's gradient.
        """
        from matplotlib.colors import Normalize

        result = self.result
        if matrix is None:
            matrix = result.head(layer, head)
        source = result.check_token(source)
        row = np.asarray(matrix[source], dtype=np.float64)
        n = result.n_tokens
        vmax = arcs.colour_scale_max(row)
        # Changing a norm re-runs the colour bar's own layout; rounded maxima repeat, so
        # most redraws keep the one they have.
        scale_changed = rebuild_scale or vmax != self._arcs.norm.vmax
        norm = Normalize(vmin=0.0, vmax=vmax) if scale_changed else self._arcs.norm
        targets = arcs.selected_targets(row, source, self.top_k, 0.0, result.causal)
        draw_order = targets[::-1]
        weights = row[draw_order]

        self._arcs.set_segments(list(self.geometry.paths(source, draw_order)))
        if scale_changed:
            self._arcs.set_norm(norm)
        self._arcs.set_array(weights)
        self._arcs.set_linewidth(arcs.line_widths(weights, vmax).tolist())
        if len(weights):  # a causal model's first token attends to nothing else
            self._arcs.set_alpha(0.3 + 0.7 * np.clip(weights / vmax, 0.0, 1.0))
        else:
            self._arcs.set_alpha(None)

        self_weight = row[source]
        self._self_dot.set_offsets([[source, 0.0]])
        self._self_dot.set_sizes([40 + 500 * min(self_weight / vmax, 1.0)])
        if scale_changed:
            self._self_dot.set_norm(norm)
        self._self_dot.set_array(np.array([self_weight]))

        max_target = int(np.argmax(row))
        changed = range(n) if self._dynamic_labels else {*self._highlighted, source, max_target}
        for i in changed:
            arcs.style_token_label(self._labels[i], i, source, max_target, result.causal)
        self._highlighted = sorted({source, max_target})

        self._place_values(row, source, draw_order)
        if self._dynamic_notes:
            self._notes.set_text(arcs.arc_notes(result, source, len(targets)))
        self.ax.set_title(
            arcs.arc_title(result, layer, head, source) if title is None else title, fontsize=12
        )
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
        for text in self._value_texts():
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
        if full:
            self._skip_colorbar_gradient(False)
            self.update(layer, head, source, matrix=matrix, title=title, rebuild_scale=True)
            self._skip_colorbar_gradient(True)
            GlyphCache.install(self.canvas.get_renderer())
            self.canvas.draw()
        else:
            self.update(layer, head, source, matrix=matrix, title=title)
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


def naive_render(result: AttentionResult, layer: int, head: int, source: int, **kwargs: Any) -> bytes:
    """The approach the speed targets compare against: new figure, plot_arcs, savefig PNG."""
    figure = new_figure(*arc_figure_size(result.n_tokens))
    arcs.plot_arcs(result, layer, head, source, figure.add_subplot(), **kwargs)
    out = io.BytesIO()
    figure.savefig(out, format="png")
    return out.getvalue()
