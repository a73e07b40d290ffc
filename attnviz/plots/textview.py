"""Highlighted text: the sentence as wrapped text, each token on the colour of the weight it receives.

The view that scales: a 512-token text stays a page of readable words,
and a short sentence reads like a sentence.  Ecco shows saliency this way.
Token boxes are laid out in points from the Axes' top-left corner, so a
layout engine that moves or resizes the Axes never makes them overlap.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from ..core.result import AttentionResult, require_result
from . import style
from .labels import MAX_TITLE_CHARS, join_lines, label_text, text_width

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.cm import ScalarMappable
    from matplotlib.transforms import Transform

#: Width of a new figure, in inches (a notebook shows it at about its cell's width).
FIGURE_WIDTH = 10.0
#: Longest token shown, ellipsis included (a longer one would not fit a line).
MAX_TOKEN_CHARS = 30
#: Box padding, gaps and line height, in multiples of the font size.
PAD_EM = 0.18
WORD_GAP_EM = 0.35
PIECE_GAP_PT = 1.0
LINE_EM = 1.75
#: Extra width for a hinted raster (see :func:`layout_text`).
HINTING_SLACK = 1.04
#: How the source's box is framed (black: blue and red are weights).
SOURCE_FRAME: dict[str, Any] = {
    "fill": False,
    "edgecolor": "black",
    "linewidth": 2.5,
    "gid": "source",
    "zorder": 3,
}
MASKED_HATCH = "////"
MASKED_EDGE = "0.75"
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
    #: Font size of the tokens, in points.
    fontsize: float

    @property
    def lines(self) -> int:
        return round(float(self.y.max()) / (LINE_EM * self.fontsize)) + 1 if len(self.y) else 0

    @property
    def bottom(self) -> float:
        """Points from the top to the bottom of the last line."""
        return float(self.y.max()) + self.height if len(self.y) else 0.0


def token_texts(result: AttentionResult) -> list[str]:
    """What each box shows: the token, without ``##`` when it continues a word, short and drawable."""
    texts = []
    for i, token in enumerate(result.tokens):
        glued = continues_word(result, i)
        if glued and token.startswith("##"):
            token = token[2:]
        texts.append(label_text(token, MAX_TOKEN_CHARS, mathtext=False))
    return texts


def continues_word(result: AttentionResult, i: int) -> bool:
    """True when token ``i`` is a later piece of the same word as token ``i - 1``."""
    return (
        i > 0
        and not result.special[i]
        and not result.special[i - 1]
        and result.word_ids[i] == result.word_ids[i - 1]
    )


def layout_text(
    result: AttentionResult, line_width: float, fontsize: float, source: int | None = None
) -> TextLayout:
    """Lay the tokens out in lines of at most ``line_width`` points, pieces of one word side by side.

    A word's pieces stay on one line when the word fits a line.

    Parameters
    ----------
    result : AttentionResult
        The tokens and their words.
    line_width : float
        Room for one line, in points.
    fontsize : float
        Font size of the tokens, in points.
    source : int, optional
        The token drawn in bold (its box is measured bold).

    Returns
    -------
    TextLayout
        Box positions and sizes.
    """
    texts = token_texts(result)
    pad = PAD_EM * fontsize
    # Summed glyph advances; a hinted raster at screen dpi can be a few percent wider.
    measured = [text_width(t, fontsize, i == source) for i, t in enumerate(texts)]
    widths = np.array(measured, dtype=np.float64) * HINTING_SLACK + 2 * pad
    widths = np.minimum(widths, line_width)
    gaps = np.array(
        [0.0]
        + [
            PIECE_GAP_PT if continues_word(result, i) else WORD_GAP_EM * fontsize
            for i in range(1, len(texts))
        ]
    )
    # Words as units: a line breaks only between words.
    starts = [i for i in range(len(texts)) if i == 0 or gaps[i] != PIECE_GAP_PT]
    ends = [*starts[1:], len(texts)]
    x = np.zeros(len(texts))
    line = np.zeros(len(texts), dtype=np.intp)
    cursor, row = 0.0, 0
    for start, end in zip(starts, ends, strict=True):
        word = float(widths[start:end].sum() + gaps[start + 1 : end].sum())
        gap = gaps[start] if cursor > 0 else 0.0
        if cursor > 0 and cursor + gap + word > line_width:
            cursor, row, gap = 0.0, row + 1, 0.0
        for i in range(start, end):
            if i > start:
                gap = gaps[i]
            if cursor > 0 and cursor + gap + widths[i] > line_width:  # a word longer than a line
                cursor, row, gap = 0.0, row + 1, 0.0
            x[i] = cursor + gap
            line[i] = row
            cursor = x[i] + widths[i]
    return TextLayout(
        texts=tuple(texts),
        x=x,
        y=line * LINE_EM * fontsize,
        width=widths,
        height=1.35 * fontsize,
        fontsize=fontsize,
    )


def points_from_top_left(ax: Axes) -> Transform:
    """Points right and down from the Axes' top-left corner, wherever the Axes ends up."""
    from matplotlib.transforms import Affine2D, ScaledTranslation

    return (
        Affine2D().scale(1.0 / 72.0, -1.0 / 72.0)
        + ax.figure.dpi_scale_trans
        + ScaledTranslation(0.0, 1.0, ax.transAxes)  # type: ignore[arg-type]
    )


def notes_height(notes: str, sizes: dict[str, float]) -> float:
    """Points the notes take under the text, ``notes`` lines and a gap above them."""
    return (0.6 + 1.3 * (notes.count("\n") + 1)) * sizes["notes"]


def figure_height(layout: TextLayout, notes: str, sizes: dict[str, float], colorbar: bool) -> float:
    """Inches for a new figure: title, the text, the notes and the colour bar."""
    text = layout.bottom / 72.0
    title = 2.2 * sizes["title"] / 72.0
    notes_room = notes_height(notes, sizes) / 72.0
    bar = (COLORBAR_HEIGHT + 3.2 * sizes["notes"] / 72.0) if colorbar else 0.0
    return float(text + title + notes_room + bar + 2 * MARGIN)


def text_notes(result: AttentionResult, source: int) -> list[str]:
    """The parts of the grey note under the text."""
    word = label_text(result.tokens[source], MAX_TITLE_CHARS)
    parts = [f"Índices desde 0 · {result.model_name}", f"recuadro negro: «{word}», el origen"]
    if result.causal and source < result.n_tokens - 1:
        parts.append("rayado: futuro enmascarado")
    return parts


def text_axes(
    result: AttentionResult,
    source: int,
    *,
    fontsize: float | None = None,
    colorbar: bool = True,
    pyplot: bool = True,
) -> Axes:
    """A new figure 10 inches wide and as tall as :func:`plot_text` needs, and the Axes for the text.

    :func:`plot_text` makes one when it gets no Axes; a front end that must
    not touch pyplot (the explorer) passes ``pyplot=False`` and draws into it.

    Parameters
    ----------
    result : AttentionResult
        The tokens to lay out.
    source : int
        The token drawn in bold (its width counts).
    fontsize : float, optional
        Text size in points.
    colorbar : bool
        Leave room for the colour bar under the text.
    pyplot : bool
        Make the figure with pyplot (shown by a notebook) or as a bare Agg figure.

    Returns
    -------
    matplotlib Axes
        The text's Axes (label :data:`TEXT_AXES`), on its new figure.

    Examples
    --------
    >>> ax = text_axes(result, 2, fontsize=16, pyplot=False)
    >>> plot_text(result, 3, 5, 2, ax, fontsize=16)
    """
    sizes = style.font_sizes(fontsize)
    source = result.check_token(source)
    line_width = (FIGURE_WIDTH - 2 * MARGIN) * 72.0
    layout = layout_text(result, line_width, sizes["labels"], source)
    notes = join_lines(text_notes(result, source), line_width, sizes["notes"])
    height = figure_height(layout, notes, sizes, colorbar)
    if pyplot:
        import matplotlib.pyplot as plt

        figure = plt.figure(figsize=(FIGURE_WIDTH, height))
    else:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure

        figure = Figure(figsize=(FIGURE_WIDTH, height))
        FigureCanvasAgg(figure)
    title_room = 2.2 * sizes["title"] / 72.0
    text_height = (layout.bottom + notes_height(notes, sizes)) / 72.0
    bottom = (height - MARGIN - title_room - text_height) / height
    box = (MARGIN / FIGURE_WIDTH, bottom, 1 - 2 * MARGIN / FIGURE_WIDTH, text_height / height)
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
) -> Axes:
    """Draw the text with each token on the colour of the attention it gets from ``source``.

    Blue is a low weight, red a high one (the same colours as every view);
    the source token is framed in black and bold.  Lines wrap between
    words; the pieces of one word sit side by side.  With a causal model
    the tokens after the source (which it cannot see) are hatched.

    Parameters
    ----------
    result : AttentionResult
        The text's attention, from :func:`attnviz.extract` or :func:`attnviz.to_words`.
    layer, head : int
        The head to show (indices from 0); with ``matrix`` they only name it in the title.
    source : int
        Index (from 0) of the token or word whose attention colours the text.
    ax : matplotlib Axes, optional
        Where to draw: the lines wrap at its width.  ``None`` makes a new
        figure 10 inches wide and as tall as the text needs (see :func:`text_axes`).
    matrix : ndarray, optional
        An ``[n, n]`` matrix (an aggregate, see :mod:`attnviz.core.aggregate`) to draw instead of one head.
    scale : {"head", "absolute", "row"}, optional
        Top of the colours: the head's largest weight (default), 1, or the source row's
        maximum, rounded up as in every view (:func:`attnviz.plots.style.scale_top`).
    vmax : float, optional
        Top of the colour scale given by hand, e.g. shared by several panels; overrides ``scale``.
    fontsize : float, optional
        Text size in points; ``attnviz.plots.style.CLASSROOM_FONTSIZE`` for a projector.
    title : str, optional
        Replaces "Capa · cabeza · atención desde …".
    colorbar : bool
        Add a colour bar below the text; its label names the scale.

    Returns
    -------
    matplotlib Axes
        The Axes drawn on.  Gids: ``"boxes"`` (a PatchCollection whose array
        holds the weights), ``"masked"``, ``"source"``, ``"token-<i>"``, ``"notes"``.

    Examples
    --------
    >>> ax = attnviz.plot_text(result, layer=3, head=5, source=2)
    >>> attnviz.plot_text(long_result, 3, 5, 40, fontsize=attnviz.plots.style.CLASSROOM_FONTSIZE)
    >>> ax.figure.savefig("texto.png")
    """
    result = require_result(result)
    import matplotlib.pyplot as plt
    from matplotlib.collections import PatchCollection
    from matplotlib.colors import Normalize
    from matplotlib.patches import Rectangle

    scale = style.check_scale(scale)
    sizes = style.font_sizes(fontsize)
    source = result.check_token(source)
    full = np.asarray(result.head(layer, head) if matrix is None else matrix, dtype=np.float64)
    n = result.n_tokens
    if full.shape != (n, n):
        raise ValueError(f"matrix must be [{n}, {n}], got {full.shape}")
    row = full[source]
    hidden = np.arange(n) > source if result.causal else np.zeros(n, dtype=bool)
    top = vmax if vmax is not None else style.scale_top(full, source, scale, result.causal)

    word = label_text(result.tokens[source], MAX_TITLE_CHARS)
    if ax is None:
        ax = text_axes(result, source, fontsize=fontsize, colorbar=colorbar)
    own = ax.get_label() == TEXT_AXES
    line_width = ax.get_window_extent().width * 72.0 / ax.figure.dpi
    layout = layout_text(result, line_width, sizes["labels"], source)
    notes = join_lines(text_notes(result, source), line_width, sizes["notes"])
    ax.set_axis_off()
    where = points_from_top_left(ax)
    pad = PAD_EM * sizes["labels"]

    shown = ~hidden
    boxes = PatchCollection(
        [
            Rectangle((layout.x[i], layout.y[i]), layout.width[i], layout.height)
            for i in np.flatnonzero(shown)
        ],
        cmap=plt.get_cmap(style.CMAP),
        norm=Normalize(0.0, top),
        transform=where,
        edgecolor="none",
        gid="boxes",
    )
    boxes.set_array(row[shown])
    ax.add_collection(boxes, autolim=False)
    colours = boxes.to_rgba(row)
    if hidden.any():
        masked = PatchCollection(
            [
                Rectangle((layout.x[i], layout.y[i]), layout.width[i], layout.height)
                for i in np.flatnonzero(hidden)
            ],
            transform=where,
            facecolor="white",
            edgecolor=MASKED_EDGE,
            hatch=MASKED_HATCH,
            linewidth=0.5,
            gid="masked",
        )
        ax.add_collection(masked, autolim=False)
    # One point outside the box, so that the frame does not hide the box's colour.
    corner = (layout.x[source] - 1.0, layout.y[source] - 1.0)
    frame = Rectangle(
        corner, layout.width[source] + 2.0, layout.height + 2.0, transform=where, **SOURCE_FRAME
    )
    ax.add_patch(frame)
    for i, text in enumerate(layout.texts):
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
        title = f"Capa {layer} · cabeza {head} · atención desde «{word}» ({result.unit_noun} {source})"
    ax.set_title(title, fontsize=sizes["title"], loc="left")
    style.add_notes(ax, 0.0, layout.bottom + 0.6 * sizes["notes"], notes, sizes["notes"], transform=where)
    if colorbar:
        _add_colorbar(ax, boxes, scale, vmax, sizes, own=own)
    return ax


def _add_colorbar(
    ax: Axes,
    mappable: ScalarMappable,
    scale: style.Scale,
    vmax: float | None,
    sizes: dict[str, float],
    own: bool,
) -> None:
    """A horizontal colour bar under the text: in the room left for it, or taken from ``ax``."""
    figure = ax.figure
    label = style.colorbar_label(scale, vmax)
    if not own:
        where = {"ax": ax, "location": "bottom", "shrink": 0.5, "aspect": 30}
        style.add_colorbar(figure, mappable, label, sizes["notes"], **where)
        return
    box = ax.get_position()
    height = figure.get_size_inches()[1]  # type: ignore[union-attr]
    bar_height = COLORBAR_HEIGHT / height
    gap = 0.6 * sizes["notes"] / 72.0 / height
    cax = figure.add_axes((box.x0 + 0.25 * box.width, box.y0 - gap - bar_height, 0.5 * box.width, bar_height))
    style.add_colorbar(figure, mappable, label, sizes["notes"], cax=cax, orientation="horizontal")
