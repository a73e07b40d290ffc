"""Highlighted text: the sentence as wrapped text, each token on the colour of the weight it receives.

Boxes are laid out in points from the Axes' top-left corner, so a layout engine never makes them overlap.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from ..core.measures import with_measure
from ..core.result import AttentionResult
from . import style
from .arcs import arc_title
from .heatmap import MASKED_EDGE, MASKED_HATCH, masked_matrix
from .labels import MAX_TITLE_CHARS, join_lines, label_text, side_points, text_width

if TYPE_CHECKING:
    from matplotlib.axes import Axes

#: Width of a new figure, in inches (a notebook shows it at about its cell's width).
FIGURE_WIDTH = 10.0
#: Longest token shown, ellipsis included (a longer one would not fit a line).
MAX_TOKEN_CHARS = 30
#: Box padding, gaps and line height, in multiples of the font size.
PAD_EM = 0.18
WORD_GAP_EM = 0.35
PIECE_GAP_PT = 1.0
LINE_EM = 1.75
#: A token's box height, in multiples of the font size.
BOX_EM = 1.35
#: Extra width: a hinted raster at screen dpi can be a few percent wider than the summed glyph advances.
HINTING_SLACK = 1.04
#: Margins of a new figure, in inches: around the text, and the colour bar below it.
MARGIN = 0.25
COLORBAR_HEIGHT = 0.22
#: Label of an Axes made by :func:`text_axes`, with room left under it for the colour bar.
TEXT_AXES = "attnviz-texto"


@dataclass(frozen=True)
class TextLayout:
    """Where each token's box sits, in points from the Axes' top-left corner (y grows downwards)."""

    #: Text shown for each token.
    texts: tuple[str, ...]
    #: Left edge, top edge, width of each box; every box is ``height`` high.
    x: np.ndarray
    y: np.ndarray
    width: np.ndarray
    height: float
    #: How many lines the text takes (those drawn, after :meth:`window`).
    lines: int
    #: The tokens drawn: all (None), or those of a window of lines (:meth:`window`).
    shown: np.ndarray | None = None
    #: After :meth:`window`: the first line drawn, and how many lines the whole text takes.
    first_line: int = 0
    all_lines: int = 0

    @property
    def drawn(self) -> np.ndarray:
        """``[n]`` bool: the tokens drawn."""
        return np.ones(len(self.texts), dtype=bool) if self.shown is None else self.shown

    @property
    def bottom(self) -> float:
        """Points from the top to the bottom of the last line drawn."""
        y = self.y[self.drawn]
        return float(y.max()) + self.height if len(y) else 0.0

    @property
    def line_step(self) -> float:
        """Points from one line's top to the next's."""
        return self.height / BOX_EM * LINE_EM

    def window(self, source: int, count: int) -> TextLayout:
        """Only ``count`` lines, the source's in the middle, moved up to the top.

        Parameters
        ----------
        source : int
            The token whose line stays.
        count : int
            Lines kept.

        Returns
        -------
        TextLayout

        Examples
        --------
        >>> layout_text(result, 200.0, 16.0).window(2, 3).lines
        3
        """
        lines = np.rint((self.y + self.first_line * self.line_step) / self.line_step).astype(int)
        total = self.all_lines or self.lines
        count = max(1, min(count, total))
        first = int(np.clip(lines[source] - (count - 1) // 2, 0, total - count))
        shown = (lines >= first) & (lines < first + count)
        y = (lines - first) * self.line_step
        return dataclasses.replace(self, y=y, lines=count, shown=shown, first_line=first, all_lines=total)


def layout_text(
    result: AttentionResult, line_width: float, fontsize: float, source: int | None = None
) -> TextLayout:
    """Lay the tokens out in lines of at most ``line_width`` points, a word's pieces side by side.

    A word's pieces stay on one line when the word fits a line; a piece shows no ``##``.

    Parameters
    ----------
    result : AttentionResult
    line_width, fontsize : float
        Room for one line and font size of the tokens, in points.
    source : int, optional
        The token drawn in bold (its box is measured bold).

    Returns
    -------
    TextLayout

    Examples
    --------
    >>> layout_text(result, 500.0, 10.0, source=2).lines
    """
    n, special, ids = result.n_tokens, result.special, result.word_ids
    # Token i is a later piece of the same word as token i - 1.
    glued = [i > 0 and not special[i] and not special[i - 1] and ids[i] == ids[i - 1] for i in range(n)]
    texts = [
        label_text(token.removeprefix("##") if glued[i] else token, MAX_TOKEN_CHARS, mathtext=False)
        for i, token in enumerate(result.tokens)
    ]
    measured = np.array([text_width(t, fontsize, i == source) for i, t in enumerate(texts)], dtype=np.float64)
    widths = np.minimum(measured * HINTING_SLACK + 2 * PAD_EM * fontsize, line_width)
    gaps = np.where(glued, PIECE_GAP_PT, WORD_GAP_EM * fontsize)
    x = np.zeros(n)
    line = np.zeros(n, dtype=np.intp)
    cursor, row = 0.0, 0
    # Words as units: a line breaks only between words, unless a word is longer than a line.
    starts = [i for i in range(n) if not glued[i]]
    for start, end in zip(starts, [*starts[1:], n], strict=True):
        word = float(widths[start:end].sum() + gaps[start + 1 : end].sum())
        if cursor > 0 and cursor + gaps[start] + word > line_width:
            cursor, row = 0.0, row + 1
        for i in range(start, end):
            gap = gaps[i] if cursor > 0 else 0.0
            if cursor > 0 and cursor + gap + widths[i] > line_width:
                cursor, row, gap = 0.0, row + 1, 0.0
            x[i] = cursor + gap
            line[i] = row
            cursor = x[i] + widths[i]
    return TextLayout(
        texts=tuple(texts),
        x=x,
        y=line * LINE_EM * fontsize,
        width=widths,
        height=BOX_EM * fontsize,
        lines=int(line.max()) + 1 if n else 0,
    )


def _notes_room(notes: str, fontsize: float) -> float:
    """Points the notes take under the text: a gap, then their lines."""
    return (0.6 + 1.3 * (notes.count("\n") + 1)) * fontsize


def _text_and_notes(
    result: AttentionResult, source: int, width: float, sizes: dict[str, float], height: float | None = None
) -> tuple[TextLayout, str, float]:
    """The text, the grey notes under it (lines ``width`` points long), and the points the notes take.

    With ``height`` (classroom mode: points for the text and its notes), a text too long for it keeps
    only the lines around the source's, and a note says which.
    """
    word = label_text(result.tokens[source], MAX_TITLE_CHARS)
    parts = [f"Índices desde 0 · {result.model_name}", f"recuadro negro: «{word}», el origen"]
    if result.causal and source < result.n_tokens - 1:
        parts.append("rayado: futuro enmascarado")
    layout = layout_text(result, width, sizes["labels"], source)
    notes = join_lines(parts, width, sizes["notes"])
    room = _notes_room(notes, sizes["notes"])
    if height is not None and layout.bottom + room > height + 0.5:
        # The notes' room with the longest «líneas …» note, so that the window does not depend on its digits.
        total = layout.lines
        longest = join_lines([*parts, f"líneas {total}–{total} de {total}"], width, sizes["notes"])
        room = _notes_room(longest, sizes["notes"])
        count = int((height - room - layout.height + 1e-6) // layout.line_step) + 1
        layout = layout.window(source, count)
        last = layout.first_line + layout.lines
        parts.append(f"líneas {layout.first_line + 1}–{last} de {total}")
        notes = join_lines(parts, width, sizes["notes"])
    return layout, notes, room


def text_axes(
    result: AttentionResult,
    source: int,
    *,
    fontsize: float | None = None,
    colorbar: bool = True,
    pyplot: bool = True,
) -> Axes:
    """A new figure 10 inches wide and as tall as :func:`plot_text` needs, and the Axes for the text.

    In classroom mode (:func:`attnviz.plots.style.modo_clase`) the figure fits the classroom box: 8 inches
    wide, and a text too long for its height keeps the lines around the source's.

    Parameters
    ----------
    result, source, fontsize, colorbar
        What :func:`plot_text` will draw.
    pyplot : bool
        Make the figure with pyplot (shown by a notebook) or as a bare Agg figure.

    Returns
    -------
    matplotlib Axes
        The text's Axes (label :data:`TEXT_AXES`), on its new figure.

    Examples
    --------
    >>> plot_text(result, 3, 5, 2, text_axes(result, 2, fontsize=16, pyplot=False), fontsize=16)
    """
    sizes = style.font_sizes(fontsize)
    source = result.check_token(source)
    title_room = 2.2 * sizes["title"] / 72.0
    bar = (COLORBAR_HEIGHT + 3.2 * sizes["notes"] / 72.0) if colorbar else 0.0
    width, room = FIGURE_WIDTH, None
    if style.classroom_mode():
        # The classroom box: its width, and no taller (a long text keeps the lines around the source).
        width = style.CLASSROOM_WIDTH
        room = (style.CLASSROOM_HEIGHT - title_room - bar - 2 * MARGIN) * 72.0
    layout, _, notes_room = _text_and_notes(result, source, (width - 2 * MARGIN) * 72.0, sizes, room)
    height = float(layout.bottom / 72.0 + title_room + notes_room / 72.0 + bar + 2 * MARGIN)
    if pyplot:
        import matplotlib.pyplot as plt

        figure = plt.figure(figsize=(width, height))
    else:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure

        figure = Figure(figsize=(width, height))
        FigureCanvasAgg(figure)
    text_height = (layout.bottom + notes_room) / 72.0
    bottom = (height - MARGIN - title_room - text_height) / height
    box = (MARGIN / width, bottom, 1 - 2 * MARGIN / width, text_height / height)
    return figure.add_axes(box, label=TEXT_AXES)


def plot_text(
    result: AttentionResult,
    layer: int,
    head: int,
    source: int,
    ax: Axes | None = None,
    *,
    matrix: np.ndarray | None = None,
    scale: style.Scale | None = None,
    vmax: float | None = None,
    fontsize: float | None = None,
    title: str | None = None,
    colorbar: bool = True,
    measure: str | None = None,
) -> Axes:
    """Draw the text with each token on the colour of the attention it gets from ``source``.

    Blue is a low weight, red a high one; the source token is framed in black and bold.
    Lines wrap between words, and a causal model's future (after the source) is hatched.

    Parameters
    ----------
    result : AttentionResult
        The text's attention, from :func:`attnviz.extract` or :func:`attnviz.to_words`.
    layer, head : int
        The head to show (indices from 0); with ``matrix`` they only name it in the title.
    source : int
        Index (from 0) of the token or word whose attention colours the text.
    ax : matplotlib Axes, optional
        Where to draw: the lines wrap at its width.  ``None``: a new figure (:func:`text_axes`).
    matrix : ndarray, optional
        An ``[n, n]`` matrix (an aggregate, see :mod:`attnviz.core.aggregate`) to draw instead of one head.
    scale : {"head", "absolute", "row"}, optional
        Top of the colours (:func:`attnviz.plots.style.scale_top`): the head's largest weight
        (default), 1, or the source row's.
    vmax : float, optional
        Top of the colour scale given by hand, e.g. shared by several panels; overrides ``scale``.
    fontsize : float, optional
        Text size in points; ``attnviz.plots.style.CLASSROOM_FONTSIZE`` for a projector.
        After :func:`attnviz.modo_clase`, at least that, on a figure laid out for a projector.
    title : str, optional
        Replaces "Capa · cabeza · atención desde …".
    colorbar : bool
        Add a colour bar below the text; its label names the scale.
    measure : {"peso", "contribucion"}, optional
        The weights, or each arc's contribution (:func:`attnviz.with_measure`); None: what
        ``result`` holds.  The title and the colour bar say which.

    Returns
    -------
    matplotlib Axes
        Gids: ``"boxes"`` (array = the weights), ``"masked"``, ``"source"``, ``"token-<i>"``, ``"notes"``.

    Examples
    --------
    >>> attnviz.plot_text(result, layer=3, head=5, source=2, fontsize=16)
    """
    result = with_measure(result, measure)
    import matplotlib.pyplot as plt
    from matplotlib.collections import PatchCollection
    from matplotlib.colors import Normalize
    from matplotlib.patches import Rectangle
    from matplotlib.transforms import Affine2D, ScaledTranslation

    scale = style.check_scale(scale)
    sizes = style.font_sizes(fontsize)
    source = result.check_token(source)
    weights = masked_matrix(result, result.head(layer, head) if matrix is None else matrix)
    full = np.ma.getdata(weights)
    row = full[source]
    hidden = np.ma.getmaskarray(weights)[source]  # a causal model's future
    top = vmax if vmax is not None else style.scale_top(full, source, scale, result.causal)

    if ax is None:
        ax = text_axes(result, source, fontsize=fontsize, colorbar=colorbar)
    # In classroom mode a text longer than the Axes keeps the lines around the source's.
    height = side_points(ax, "y") if style.classroom_mode() else None
    layout, notes, _ = _text_and_notes(result, source, side_points(ax, "x"), sizes, height)
    drawn = layout.drawn
    ax.set_axis_off()
    # Points right and down from the Axes' top-left corner, wherever the Axes ends up.
    where = (
        Affine2D().scale(1.0 / 72.0, -1.0 / 72.0)
        + ax.figure.dpi_scale_trans
        + ScaledTranslation(0.0, 1.0, ax.transAxes)  # type: ignore[arg-type]
    )

    def boxes_of(tokens: np.ndarray) -> list[Rectangle]:
        return [Rectangle((layout.x[i], layout.y[i]), layout.width[i], layout.height) for i in tokens]

    boxes = PatchCollection(
        boxes_of(np.flatnonzero(~hidden & drawn)),
        cmap=plt.get_cmap(style.CMAP),
        norm=Normalize(0.0, top),
        transform=where,
        edgecolor="none",
        gid="boxes",
    )
    boxes.set_array(row[~hidden & drawn])
    ax.add_collection(boxes, autolim=False)
    colours = boxes.to_rgba(row)
    if (hidden & drawn).any():
        masked = PatchCollection(
            boxes_of(np.flatnonzero(hidden & drawn)),
            transform=where,
            facecolor="white",
            edgecolor=MASKED_EDGE,
            hatch=MASKED_HATCH,
            linewidth=0.5,
            gid="masked",
        )
        ax.add_collection(masked, autolim=False)
    # One point outside the box, so that the frame does not hide the box's colour.
    frame = Rectangle(
        (layout.x[source] - 1.0, layout.y[source] - 1.0),
        layout.width[source] + 2.0,
        layout.height + 2.0,
        transform=where,
        fill=False,
        edgecolor="black",  # not blue or red, which are weights
        linewidth=2.5,
        gid="source",
        zorder=3,
    )
    ax.add_patch(frame)
    pad = PAD_EM * sizes["labels"]
    for i, text in enumerate(layout.texts):
        if not drawn[i]:
            continue
        ax.text(
            layout.x[i] + pad,
            layout.y[i] + layout.height / 2,
            text,
            transform=where,
            fontsize=sizes["labels"],
            fontweight="bold" if i == source else "normal",
            fontstyle="italic" if result.special[i] else "normal",
            color="0.45" if hidden[i] else style.text_color_on(tuple(colours[i])),
            va="center_baseline",
            ha="left",
            parse_math=False,
            gid=f"token-{i}",
            # Inside the Axes: leaving 512 texts out of the layout keeps it fast.
            in_layout=False,
            zorder=4,
        )

    if title is None:
        title = arc_title(result, layer, head, source)
    ax.set_title(title, fontsize=sizes["title"], loc="left")
    style.add_notes(ax, 0.0, layout.bottom + 0.6 * sizes["notes"], notes, sizes["notes"], transform=where)
    if colorbar:
        place: dict[str, Any] = {"ax": ax, "location": "bottom", "shrink": 0.5, "aspect": 30}
        if ax.get_label() == TEXT_AXES:
            # In the room text_axes left under the notes.
            box, height = ax.get_position(), ax.figure.get_size_inches()[1]  # type: ignore[union-attr]
            bar = COLORBAR_HEIGHT / height
            below = box.y0 - 0.6 * sizes["notes"] / 72.0 / height
            cax = ax.figure.add_axes(
                (box.x0 + 0.25 * box.width, below - bar, 0.5 * box.width, bar), label="colorbar"
            )
            place = {"cax": cax, "orientation": "horizontal"}
        style.add_colorbar(
            ax.figure, boxes, style.colorbar_label(scale, vmax, result.measure), sizes["notes"], **place
        )
    return ax
