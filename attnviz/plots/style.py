"""One visual vocabulary for every view: the palette, the colour scales and the text sizes.

Every view uses the same meaning of colour (blue = low weight, red = high weight) and takes a
``fontsize`` so that a teacher can make any picture readable from the back of a classroom.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

import numpy as np

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.colorbar import Colorbar
    from matplotlib.figure import Figure, SubFigure
    from matplotlib.text import Text

#: Blue for low weights, red for high ones, in every view (arcs, heatmap, grid, text, graph).
CMAP = "coolwarm"

#: What the top of the colour scale means: the row's own maximum, the head's maximum, or 1.
Scale = Literal["row", "head", "absolute"]
SCALES: tuple[Scale, ...] = ("head", "absolute", "row")
DEFAULT_SCALE: Scale = "head"

#: Spanish names of the scales, as a colour bar or a control shows them.
SCALE_LABELS: dict[str, str] = {
    "head": "0 – máximo de esta cabeza",
    "absolute": "0 – 1 (fija)",
    "row": "0 – máximo de esta fila",
}

#: Colour-scale tops: a maximum is rounded up to one of these (times a power of ten), so the
#: colour bar reads in round numbers and a redraw can reuse a colour bar drawn before.
NICE_STEPS = (1.0, 1.25, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0)


def _rounded_up(peaks: np.ndarray) -> np.ndarray:
    """Each peak rounded up to :data:`NICE_STEPS` times a power of ten (at least 1e-6)."""
    peaks = np.maximum(np.asarray(peaks, dtype=np.float64), 1e-6)
    decade = 10.0 ** np.floor(np.log10(peaks))
    steps = np.asarray(NICE_STEPS)
    # The tolerance keeps exact steps (0.5) from rounding up to the next one.
    fits = peaks[..., None] <= steps * decade[..., None] * (1 + 1e-9)
    return np.asarray(steps[np.argmax(fits, axis=-1)] * decade)


def colour_scale_max(values: np.ndarray, scale: Scale = "row") -> float:
    """Top of a colour scale: 1 for ``"absolute"``, else the largest of ``values`` rounded up.

    Rounding up to :data:`NICE_STEPS` keeps the strongest weight at 75 % or
    more of the scale, so it stays red.

    Parameters
    ----------
    values : ndarray
        The weights the scale covers (see :func:`scale_top` for which).
    scale : {"row", "head", "absolute"}
        Only ``"absolute"`` matters here: its top is always 1.

    Returns
    -------
    float
        The top.

    Examples
    --------
    >>> colour_scale_max(np.array([0.1, 0.42]))
    0.5
    """
    if scale == "absolute":
        return 1.0
    return float(_rounded_up(np.max(values, initial=0.0)))


def _shown(matrix: np.ndarray, hidden: np.ndarray | None) -> np.ndarray:
    # Hidden cells count as 0: a weight is never negative, so they never raise a maximum.
    return np.asarray(matrix) if hidden is None else np.where(hidden, 0.0, matrix)


def scale_top(
    matrix: np.ndarray,
    source: int | None,
    scale: Scale,
    causal: bool = False,
    hidden: np.ndarray | None = None,
) -> float:
    """Top of the colour scale of one head: the same number in every view (arcs, text, heat map, graph, grid).

    ``"head"``: the matrix's largest weight rounded up (:func:`colour_scale_max`);
    ``"row"``: the largest weight of the ``source`` row, rounded up;
    ``"absolute"``: 1.  A causal model's first row always puts 1 on the first
    token, so it is left out of the head's maximum (which would otherwise
    always be 1); its masked future weighs 0 and never counts.  A view that
    shows every row at once (heat map, grid, graph without a source) gets 1
    for ``"row"``: it divides each row by its own top (:func:`row_tops`), so
    each row has the colours the arcs from that row have.

    Parameters
    ----------
    matrix : ndarray
        The ``[n, n]`` head (or aggregate), rows = from.
    source : int or None
        The row of ``"row"``; None when a view shows every row.
    scale : {"head", "row", "absolute"}
        Which top.
    causal : bool
        The model is causal (``result.causal``).
    hidden : ndarray of bool, optional
        ``[n, n]`` cells the view hides (e.g. other sentence-pair blocks): left out of the maximum.

    Returns
    -------
    float
        The top of the colour bar.

    Examples
    --------
    >>> head = np.array([[1.0, 0.0], [0.62, 0.38]])
    >>> scale_top(head, 1, "row"), scale_top(head, 1, "head"), scale_top(head, 1, "head", causal=True)
    (0.8, 1.0, 0.8)
    """
    if scale == "absolute" or (scale == "row" and source is None):
        return 1.0
    weights = _shown(matrix, hidden)
    if scale == "row":
        return colour_scale_max(weights[source])
    return colour_scale_max(weights[1:] if causal and len(weights) > 1 else weights)


def row_tops(matrix: np.ndarray, hidden: np.ndarray | None = None) -> np.ndarray:
    """``scale_top(matrix, i, "row", hidden=hidden)`` for every row ``i`` at once.

    Parameters
    ----------
    matrix : ndarray
        The ``[n, n]`` head (or aggregate).
    hidden : ndarray of bool, optional
        ``[n, n]`` cells left out, as in :func:`scale_top`.

    Returns
    -------
    ndarray
        ``[n]`` tops: divide each row by its own to draw it on a 0 – 1 scale.

    Examples
    --------
    >>> row_tops(np.array([[0.7, 0.3], [0.12, 0.88]]))
    array([0.8, 1. ])
    """
    return _rounded_up(_shown(matrix, hidden).max(axis=1))


#: Base text size (points) of a picture on a laptop screen, and in classroom mode.
FONTSIZE = 10.0
CLASSROOM_FONTSIZE = 16.0


def font_sizes(fontsize: float | None = None) -> dict[str, float]:
    """The text sizes of one picture, all derived from one base size.

    Parameters
    ----------
    fontsize
        Base size in points (token labels); ``None`` for :data:`FONTSIZE`.

    Returns
    -------
    dict
        ``labels`` (tokens), ``values`` (numbers on the picture), ``title`` and ``notes``.

    Examples
    --------
    >>> font_sizes(16)["title"]
    19.2
    """
    base = FONTSIZE if fontsize is None else float(fontsize)
    return {"labels": base, "values": base * 0.85, "title": base * 1.2, "notes": base * 0.8}


#: Relative luminance below which text on a coloured cell is white (see :func:`text_color_on`).
WHITE_TEXT_BELOW = 0.25


def text_color_on(background: tuple[float, ...]) -> str:
    """``"black"`` or ``"white"``, whichever reads better on ``background``.

    Coolwarm is dark at both ends and light in the middle, so a label on a
    cell cannot keep one colour.

    Parameters
    ----------
    background : tuple of float
        An RGB or RGBA colour with components from 0 to 1.

    Returns
    -------
    str
        A matplotlib colour name.

    Examples
    --------
    >>> text_color_on((0.23, 0.30, 0.75))  # the blue end of coolwarm
    'white'
    >>> text_color_on((0.87, 0.87, 0.87))  # its light middle
    'black'
    """

    def linear(channel: float) -> float:
        return channel / 12.92 if channel <= 0.04045 else ((channel + 0.055) / 1.055) ** 2.4

    red, green, blue = (linear(float(c)) for c in background[:3])
    luminance = 0.2126 * red + 0.7152 * green + 0.0722 * blue
    # WCAG 2's ratios tie at a luminance of 0.18 but overrate black on saturated colours; on
    # coolwarm's ends white reads better down to 0.25 (as APCA, WCAG 3's draft, also finds).
    return "white" if luminance < WHITE_TEXT_BELOW else "black"


def colorbar_label(scale: Scale | None = None, vmax: float | None = None) -> str:
    """What a colour bar says: the weight, and which scale its colours use.

    Parameters
    ----------
    scale : {"head", "absolute", "row"}, optional
        The scale in :data:`SCALE_LABELS`.
    vmax : float, optional
        A top given by hand (e.g. shared by several panels): it names that number instead.

    Returns
    -------
    str
        The Spanish label.

    Examples
    --------
    >>> colorbar_label("absolute")
    'peso de atención · escala 0 – 1 (fija)'
    """
    if vmax is not None:
        return f"peso de atención · escala 0 – {vmax:.2g}"
    return f"peso de atención · escala {SCALE_LABELS[scale or DEFAULT_SCALE]}"


def check_scale(scale: str | None, allowed: tuple[str, ...] = SCALES) -> Scale:
    """``scale`` (or :data:`DEFAULT_SCALE` for None) if a view accepts it; a Spanish error otherwise."""
    if scale is None:
        scale = DEFAULT_SCALE
    if scale not in allowed:
        from ..core.errors import InvalidInputTypeError

        names = ", ".join(f"«{s}» ({SCALE_LABELS[s]})" for s in allowed)
        raise InvalidInputTypeError(
            f"La escala {scale!r} no existe: elige {names}.",
            f"There is no scale {scale!r}: choose one of {', '.join(allowed)}.",
        )
    return scale  # type: ignore[return-value]


#: Colour of the small notes under a picture (model, what is hidden, marks).
NOTES_COLOR = "0.35"


def add_notes(ax: Axes, x: float, y: float, text: str, fontsize: float, **where: Any) -> Text:
    """The grey notes line of a view at ``(x, y)`` (Axes fraction unless ``transform`` is given).

    Parameters
    ----------
    ax : matplotlib Axes
        The view's Axes.
    x, y : float
        Where the text's top edge starts.
    text : str
        The notes, already joined (see :func:`attnviz.plots.labels.join_lines`).
    fontsize : float
        The view's notes size (``font_sizes(...)["notes"]``).
    **where
        ``ha`` (default ``"left"``) and ``transform`` (default ``ax.transAxes``).

    Returns
    -------
    matplotlib Text
        The notes, gid ``"notes"``.
    """
    options: dict[str, Any] = {"transform": ax.transAxes, "ha": "left", **where}
    return ax.text(x, y, text, fontsize=fontsize, color=NOTES_COLOR, va="top", gid="notes", **options)


def add_colorbar(
    figure: Figure | SubFigure, mappable: Any, label: str, fontsize: float, **where: Any
) -> Colorbar:
    """A colour bar whose label (which scale it is) and ticks are at ``fontsize``.

    Parameters
    ----------
    figure : matplotlib Figure or SubFigure
        Where the bar goes.
    mappable : matplotlib ScalarMappable
        The image or collection (or a bare ScalarMappable) whose colours it explains.
    label : str
        What the bar says, e.g. :func:`colorbar_label`.
    fontsize : float
        Size of the label and the tick labels.
    **where
        Placement, passed to ``figure.colorbar`` (``ax``, ``cax``, ``location``, ``shrink``…).

    Returns
    -------
    matplotlib Colorbar
        The colour bar.
    """
    bar = figure.colorbar(mappable, **where)
    bar.set_label(label, fontsize=fontsize)
    bar.ax.tick_params(labelsize=fontsize)
    return bar
