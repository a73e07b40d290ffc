"""Fast heatmap redraws for the explorer: one persistent figure, a cached background, PNG bytes."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ..core.result import AttentionResult
from ..plots import style
from ..plots.heatmap import (
    MIN_PROJECTOR_WINDOW,
    WINDOW_MARGIN,
    figure_size,
    fit_colorbar_label,
    heatmap_notes,
    masked_matrix,
    plot_heatmap,
    readable_tokens,
    room_points,
    scaled,
    show_window,
    token_labels,
    window_range,
)
from ..plots.labels import LABEL_SPACING, SOURCE_MARK, join_lines, side_points, text_width
from ..plots.style import Scale
from .canvas import BlitCanvas, new_figure, screen_dpi

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

    ``render(layer, head, source)`` shows what ``plot_heatmap(result, layer, head, source=source)``
    shows, on a figure laid out once for the widest labels: each call only swaps the image's data,
    moves the zoom window and redraws the heatmap's Axes over a kept background.

    Parameters
    ----------
    result : AttentionResult
        The sentence.
    scale : "head", "absolute" or "row", optional
        Default colour scale of :meth:`render` (which can change it per picture).
    fontsize : float, optional
        Base text size (16 for a projector); fixes the layout.  Made in classroom mode
        (:func:`attnviz.plots.style.classroom`, as the explorer's «Modo clase» does), the figure fits
        the classroom box and the rows and the columns zoom separately around the source.
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
        scale: Scale | None = None,
        fontsize: float | None = None,
        palette: bool = True,
    ) -> None:
        from matplotlib.patches import Rectangle
        from matplotlib.transforms import Bbox

        from ..plots.token_ticks import TokenFormatter

        self.result = result
        n = result.n_tokens
        self.scale = style.check_scale(scale)
        self.sizes = style.font_sizes(fontsize)
        size = figure_size(n, MAX_SIDE, fontsize=self.sizes["labels"])
        self.figure = figure = new_figure(*size, dpi=screen_dpi(size[0]))
        self.canvas = BlitCanvas(figure, palette_colors() if palette else None)
        self.ax = ax = figure.add_subplot()
        plot_heatmap(
            result,
            0,
            0,
            ax,
            source=0,
            window=None,
            scale=self.scale,
            vmax=WIDEST_COLORBAR_VMAX,
            fontsize=fontsize,
        )
        self.image = ax.images[0]
        (self.frame,) = [p for p in ax.patches if isinstance(p, Rectangle) and p.get_gid() == "source"]
        (self.notes,) = [t for t in ax.texts if t.get_gid() == "notes"]
        colorbar = self.image.colorbar
        assert colorbar is not None
        self.colorbar = colorbar
        self.cax: Axes = colorbar.ax
        # Lay out for the widest label any window can show, then freeze the layout: the
        # constrained-layout solver would otherwise move the Axes as the labels change.
        labels = token_labels(result)
        widest = max(labels, key=lambda label: text_width(label.replace(r"\$", "$"), self.sizes["labels"]))
        ax.xaxis.set_major_formatter(TokenFormatter([widest] * n))
        ax.yaxis.set_major_formatter(TokenFormatter([widest + SOURCE_MARK] * n))
        self.notes.set_text("\n")  # two lines of notes, the most a window needs
        engine = figure.get_layout_engine()
        assert engine is not None
        engine.execute(figure)
        spacing = LABEL_SPACING * self.sizes["labels"]
        #: Laid out for a projector (made in classroom mode).
        self.projector = style.classroom_mode()
        if self.projector:
            # A projector's wide, short picture: the rows and the columns zoom each as far as they
            # must; laid out again with windows of those sizes, twice, as the room follows the labels.
            # A window of rows and one of columns: three lines at most.  Lines with ink, not empty
            # ones: matplotlib 3.8 gives an empty line less height than a line of text.
            self.notes.set_text("Ág\nÁg\nÁg")
            # The map fills its room: cells about as wide as tall, as both windows are as many labels as fit.
            ax.set_aspect("auto")
            self.window = self.column_window = None
            # The room follows the labels the windows leave: a few rounds until it holds them.
            for _ in range(4):
                fits = [max(1, int(points // spacing)) for points in room_points(ax)[::-1]]
                # No margin: the layout holds the widest labels, so no window can need more room.
                windows = [None if n <= fit else max(MIN_PROJECTOR_WINDOW, fit) for fit in fits]
                if (self.window, self.column_window) == tuple(windows):
                    break
                self.window, self.column_window = windows
                show_window(ax, 0, self.window or n, columns=(0, self.column_window or n))
                fit_colorbar_label(self.colorbar, style.colorbar_label(self.scale), self.sizes["notes"])
                engine.execute(figure)
        else:
            fit = readable_tokens(ax, self.sizes["labels"])
            #: Rows shown around the source (None: all), and columns (the same but in classroom mode).
            self.window = None if n <= fit else max(1, int(WINDOW_MARGIN * fit))
            self.column_window = self.window
        figure.set_layout_engine("none")
        # Pin the title and axis labels where the widest labels put them: matplotlib would
        # otherwise measure every tick label again on each draw to place them.
        figure.draw_without_rendering()
        for axis in (ax.xaxis, ax.yaxis):
            where = axis.label.get_transform().transform(axis.label.get_position())
            axis.set_label_coords(*ax.transAxes.inverted().transform(where))
        ax.set_title(ax.get_title(), y=ax.title.get_position()[1], fontsize=self.sizes["title"])
        self.y_labels = TokenFormatter(labels, marked=0)
        ax.xaxis.set_major_formatter(TokenFormatter(labels))
        ax.yaxis.set_major_formatter(self.y_labels)
        self.locators = [ax.xaxis.get_major_locator(), ax.yaxis.get_major_locator()]
        self._colorbar_key: tuple[str, float] = ("", -1.0)
        self._background = self.canvas.background([ax, self.cax])
        # The colour bar's ticks and label: right of the heatmap's Axes, around the bar.
        bar = self.cax.get_window_extent()
        margin = self.sizes["notes"] * figure.dpi / 72.0
        self._colorbar_box = Bbox.from_extents(
            ax.get_window_extent().x1 + 1,
            max(bar.y0 - margin, 0),
            figure.bbox.x1,
            min(bar.y1 + margin, figure.bbox.y1),
        )

    def span(self, source: int) -> tuple[int, int]:
        """The rows shown around ``source``: all of them, or the zoom window."""
        n = self.result.n_tokens
        return (0, n) if self.window is None else window_range(n, source, self.window)

    def column_span(self, source: int) -> tuple[int, int]:
        """The columns shown around ``source``: all of them, or the zoom window (:meth:`span` but in
        classroom mode, where a wide picture holds more columns than rows)."""
        n = self.result.n_tokens
        return (0, n) if self.column_window is None else window_range(n, source, self.column_window)

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

        Indices from 0; ``matrix`` and ``title`` draw an aggregate (mean of heads, rollout) instead.
        """
        result, ax, canvas = self.result, self.ax, self.canvas
        scale = style.check_scale(scale or self.scale)
        source = result.check_token(source)
        data, top = scaled(
            masked_matrix(result, result.head(layer, head) if matrix is None else matrix),
            scale,
            result.causal,
        )
        self.image.set_data(data)
        if self._colorbar_key != (scale, top):
            self._colorbar_key = (scale, top)
            self.image.set_clim(0.0, top)  # the colour bar follows (it rebuilds its gradient too)
            label = style.colorbar_label(scale)
            if self.projector:
                fit_colorbar_label(self.colorbar, label, self.sizes["notes"])
            else:
                self.colorbar.set_label(label, fontsize=self.sizes["notes"])
        span, columns = self.span(source), self.column_span(source)
        show_window(ax, *span, columns=columns)
        for locator in self.locators:
            locator.anchor = source  # type: ignore[attr-defined]
        self.y_labels.marked = source
        self.frame.set_bounds(columns[0] - 0.5, source - 0.5, columns[1] - columns[0], 1.0)
        ax.title.set_text(f"Capa {layer} · cabeza {head}" if title is None else title)
        notes = heatmap_notes(result, source, span, columns=columns)
        self.notes.set_text(join_lines(notes, side_points(ax, "x"), self.sizes["notes"]))
        if full:
            canvas.agg.draw()
        else:
            canvas.restore(self._background)
            canvas.paste_or_draw(("colorbar", *self._colorbar_key), [self.cax], self._colorbar_box)
            ax.draw(canvas.renderer())
        return canvas.png()
