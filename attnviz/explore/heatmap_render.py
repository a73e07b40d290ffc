"""Fast heatmap redraws for the explorer: one persistent figure, a cached background, PNG bytes.

:func:`attnviz.plots.heatmap.plot_heatmap` is the reference picture; solving its
layout and drawing hundreds of tick labels took 2.1 s per slider step at
304 tokens.  :class:`HeatmapRenderer` draws it once, freezes a layout made
for the widest labels, caches everything outside the heatmap's Axes (the
figure) as a background, and on each call only swaps the image's data,
moves the zoom window and redraws that Axes (image, the labels that fit,
frame, title, notes); the colour bar is pasted from a picture of the same
scale when one was drawn before.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from ..core.result import AttentionResult
from ..plots import style
from ..plots.heatmap import (
    WINDOW_MARGIN,
    figure_size,
    heatmap_notes,
    masked_matrix,
    plot_heatmap,
    readable_tokens,
    scaled,
    show_window,
    token_labels,
    window_range,
)
from ..plots.labels import SOURCE_MARK, join_lines, side_points, text_width
from ..plots.style import Scale
from .canvas import BlitCanvas, new_figure, screen_dpi
from .png import PNG_COMPRESS_LEVEL

if TYPE_CHECKING:
    from matplotlib.axes import Axes

#: The explorer's heatmap is at most this many inches a side (a notebook shows it ~1000 px wide).
MAX_SIDE = 10.0
#: A colour-bar top whose tick labels are the widest any head can need ("0.0000" … "0.0018").
WIDEST_COLORBAR_VMAX = 0.0019


def palette_colors() -> np.ndarray:
    """``[k, 3]`` uint8: the colour map, the hatch grey and black and white, for :class:`PaletteEncoder`."""
    import matplotlib.pyplot as plt

    ramp = plt.get_cmap(style.CMAP)(np.linspace(0.0, 1.0, 128))[:, :3]
    greys = np.linspace(0.0, 1.0, 16)[:, None].repeat(3, axis=1)
    return np.round(np.concatenate([ramp, greys]) * 255).astype(np.uint8)


class HeatmapRenderer:
    """Heatmap pictures of one result as PNG bytes, redrawn by blitting.

    ``render(layer, head, source)`` shows what
    ``plot_heatmap(result, layer, head, source=source)`` shows (same data,
    zoom window, labels, frame, title and notes) on a figure whose layout is
    fixed when the renderer is built.  At long ``n`` the picture zooms on a
    window around the source's row, as many tokens as can be labelled.

    Parameters
    ----------
    result : AttentionResult
        The sentence.
    scale : "head", "absolute" or "row", optional
        Default colour scale of :meth:`render` (which can change it per picture).
    fontsize : float, optional
        Base text size (16 for a projector); fixes the layout.
    max_side : float
        Largest side of the square heatmap, in inches.
    dpi : float, optional
        Default: 100, less if that would be wider than ``attnviz.explore.canvas.MAX_WIDTH_PX``.
    compress_level : int
        zlib level of the PNG.
    palette : bool
        256-colour palette PNG (default, a fraction of the bytes); ``False`` for lossless RGB.

    Examples
    --------
    >>> renderer = HeatmapRenderer(result, fontsize=16)
    >>> png = renderer.render(3, 5, source=2)
    """

    def __init__(
        self,
        result: AttentionResult,
        *,
        scale: style.Scale | None = None,
        fontsize: float | None = None,
        max_side: float = MAX_SIDE,
        dpi: float | None = None,
        compress_level: int = PNG_COMPRESS_LEVEL,
        palette: bool = True,
    ) -> None:
        self.result = result
        self.scale = style.check_scale(scale)
        self.fontsize = fontsize
        self.sizes = style.font_sizes(fontsize)
        size = figure_size(result.n_tokens, max_side, fontsize=self.sizes["labels"])
        self.figure = new_figure(*size, dpi=screen_dpi(size[0]) if dpi is None else dpi)
        self.canvas = BlitCanvas(self.figure, palette_colors() if palette else None, compress_level)
        self.ax: Axes = self.figure.add_subplot()
        self._build()

    # -- setup ---------------------------------------------------------------

    def _build(self) -> None:
        from matplotlib.patches import Rectangle

        from ..plots.token_ticks import TokenFormatter

        result, ax, n = self.result, self.ax, self.result.n_tokens
        plot_heatmap(
            result,
            0,
            0,
            ax,
            source=0,
            window=None,
            scale=self.scale,
            vmax=WIDEST_COLORBAR_VMAX,
            fontsize=self.fontsize,
        )
        self.image = ax.images[0]
        (frame,) = [p for p in ax.patches if p.get_gid() == "source"]
        assert isinstance(frame, Rectangle)
        self.frame = frame
        (self.notes,) = [t for t in ax.texts if t.get_gid() == "notes"]
        colorbar = self.image.colorbar
        assert colorbar is not None
        self.colorbar = colorbar
        self.cax: Axes = colorbar.ax
        # Lay out for the widest label any window can show, then freeze the layout: the
        # constrained-layout solver would otherwise move the Axes as the labels change.
        labels = token_labels(result)
        size = self.sizes["labels"]
        widest = max(labels, key=lambda label: text_width(label.replace(r"\$", "$"), size))
        ax.xaxis.set_major_formatter(TokenFormatter([widest] * n))
        ax.yaxis.set_major_formatter(TokenFormatter([widest + SOURCE_MARK] * n))
        self.notes.set_text("\n")  # two lines of notes, the most a window needs
        self.figure.get_layout_engine().execute(self.figure)  # type: ignore[union-attr]
        self.figure.set_layout_engine("none")
        self._pin_decorations()
        self.x_labels = TokenFormatter(labels)
        self.y_labels = TokenFormatter(labels, marked=0)
        ax.xaxis.set_major_formatter(self.x_labels)
        ax.yaxis.set_major_formatter(self.y_labels)
        self.locators = [ax.xaxis.get_major_locator(), ax.yaxis.get_major_locator()]

        fit = readable_tokens(ax, self.sizes["labels"])
        self.window = None if n <= fit else max(1, int(WINDOW_MARGIN * fit))
        self._colorbar_key: tuple[str, float] = ("", -1.0)

        # The background: everything but the heatmap's Axes and the colour bar.
        ax.set_visible(False)
        self.cax.set_visible(False)
        self.canvas.draw_all()
        self._background = self.canvas.copy()
        ax.set_visible(True)
        self.cax.set_visible(True)
        self._colorbar_box = self._colorbar_region()

    def _pin_decorations(self) -> None:
        """Fix the title and the axis labels where the widest labels put them.

        Matplotlib otherwise measures every tick label again on each draw to
        place them, which was most of a redraw at 300 tokens.
        """
        ax = self.ax
        self.figure.draw_without_rendering()
        for axis in (ax.xaxis, ax.yaxis):
            label = axis.label
            where = label.get_transform().transform(label.get_position())
            axis.set_label_coords(*ax.transAxes.inverted().transform(where))
        ax.set_title(ax.get_title(), y=ax.title.get_position()[1], fontsize=self.sizes["title"])

    def _colorbar_region(self) -> Any:
        """Pixels right of the heatmap's Axes around the colour bar: its ticks and label."""
        from matplotlib.transforms import Bbox

        figure_box = self.figure.bbox
        bar = self.cax.get_window_extent()
        margin = self.sizes["notes"] * self.figure.dpi / 72.0
        left = self.ax.get_window_extent().x1 + 1
        return Bbox.from_extents(
            left, max(bar.y0 - margin, 0), figure_box.x1, min(bar.y1 + margin, figure_box.y1)
        )

    # -- per redraw ----------------------------------------------------------

    def span(self, source: int) -> tuple[int, int]:
        """The tokens shown around ``source``: all of them, or the zoom window."""
        n = self.result.n_tokens
        return (0, n) if self.window is None else window_range(n, source, self.window)

    def _show(
        self,
        scale: Scale,
        layer: int,
        head: int,
        source: int,
        matrix: np.ndarray | None,
        title: str | None,
    ) -> None:
        """Set every dynamic artist to show one view (no drawing)."""
        result = self.result
        source = result.check_token(source)
        data, top = scaled(
            masked_matrix(result, result.head(layer, head) if matrix is None else matrix),
            scale,
            result.causal,
        )
        self.image.set_data(data)
        self._set_scale(scale, top)
        span = self.span(source)
        show_window(self.ax, *span)
        for locator in self.locators:
            locator.anchor = source  # type: ignore[attr-defined]
        self.y_labels.marked = source
        self.frame.set_bounds(span[0] - 0.5, source - 0.5, span[1] - span[0], 1.0)
        self.ax.title.set_text(f"Capa {layer} · cabeza {head}" if title is None else title)
        parts = heatmap_notes(result, source, span)
        self.notes.set_text(join_lines(parts, side_points(self.ax, "x"), self.sizes["notes"]))

    def _set_scale(self, scale: style.Scale, top: float) -> None:
        """The image's colour limits, and the colour bar's ticks and label for them."""
        if self._colorbar_key == (scale, top):
            return
        self._colorbar_key = (scale, top)
        self.image.set_clim(0.0, top)  # the colour bar follows (it rebuilds its gradient too)
        self.colorbar.set_label(style.colorbar_label(scale), fontsize=self.sizes["notes"])

    def draw(self) -> None:
        """Restore the cached background and draw the heatmap's Axes and the colour bar."""
        canvas = self.canvas
        renderer = canvas.renderer()
        canvas.restore(self._background)

        def draw_bar() -> Any:
            self.cax.draw(renderer)
            return self._colorbar_box

        canvas.paste_or_draw(("colorbar", *self._colorbar_key), draw_bar)
        self.ax.draw(renderer)

    def render(
        self,
        layer: int,
        head: int,
        source: int,
        /,
        *,
        scale: Scale | None = None,
        matrix: np.ndarray | None = None,
        title: str | None = None,
        full: bool = False,
    ) -> bytes:
        """One view as PNG bytes, blitted; ``full=True`` draws the whole figure instead (for tests).

        ``layer``, ``head`` and ``source`` are indices from 0; ``matrix`` and
        ``title`` draw an aggregate (mean of heads, rollout) instead of the head.
        """
        self._show(style.check_scale(scale or self.scale), layer, head, source, matrix, title)
        if full:
            self.canvas.draw_all()
        else:
            self.draw()
        return self.canvas.png()

    def rgba(self) -> np.ndarray:
        """The canvas as it stands, ``[height, width, 4]`` uint8 (for tests)."""
        return self.canvas.rgba()
