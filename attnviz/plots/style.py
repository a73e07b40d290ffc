"""One visual vocabulary for every view: the palette, the colour scales and the text sizes.

Blue means a low weight and red a high one in every view, and every view takes a ``fontsize``
so that a teacher can make any picture readable from the back of a classroom.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from ..core.measures import MEASURES
from ..core.result import AttentionResult

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

#: Base text size (points) of a picture on a laptop screen, and in classroom mode.
FONTSIZE = 10.0
CLASSROOM_FONTSIZE = 16.0

#: Relative luminance below which text on a coloured cell is white (see :func:`text_color_on`).
WHITE_TEXT_BELOW = 0.25

#: Colour of the small notes under a picture (model, what is hidden, marks).
NOTES_COLOR = "0.35"


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

    Rounding up to :data:`NICE_STEPS` keeps the strongest weight at 75 % or more of the scale (red).

    Parameters
    ----------
    values : ndarray
        The weights the scale covers (see :func:`scale_top` for which).
    scale : {"row", "head", "absolute"}
        Only ``"absolute"`` matters here.

    Returns
    -------
    float

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
    """Top of the colour scale of one head: the same number in every view.

    ``"head"``: the matrix's largest weight rounded up (:func:`colour_scale_max`);
    ``"row"``: the ``source`` row's, rounded up; ``"absolute"``: 1.  A causal
    model's first row (always 1 on the first token) is left out of the head's
    maximum.  A view of every row at once (``source=None``) gets 1 for
    ``"row"``: it divides each row by its own top (:func:`row_tops`).

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
        ``[n]`` tops: each row divided by its own is drawn on a 0 – 1 scale.

    Examples
    --------
    >>> row_tops(np.array([[0.7, 0.3], [0.12, 0.88]]))
    array([0.8, 1. ])
    """
    return _rounded_up(_shown(matrix, hidden).max(axis=1))


def font_sizes(fontsize: float | None = None) -> dict[str, float]:
    """The text sizes of one picture, all derived from one base size.

    Parameters
    ----------
    fontsize : float, optional
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


def text_color_on(background: tuple[float, ...]) -> str:
    """``"black"`` or ``"white"``, whichever reads better on ``background``.

    Coolwarm is dark at both ends and light in the middle: a label on a cell cannot keep one colour.

    Parameters
    ----------
    background : tuple of float
        An RGB or RGBA colour with components from 0 to 1.

    Returns
    -------
    str

    Examples
    --------
    >>> text_color_on((0.23, 0.30, 0.75)), text_color_on((0.87, 0.87, 0.87))  # coolwarm's blue end, middle
    ('white', 'black')
    """
    # WCAG 2's ratios tie at a luminance of 0.18 but overrate black on saturated colours; on
    # coolwarm's ends white reads better down to 0.25 (as APCA, WCAG 3's draft, also finds).
    return "white" if _luminance(background) < WHITE_TEXT_BELOW else "black"


def readable_color(color: str) -> str:
    """``color`` darkened until it reads on white like body text.

    Relative luminance at most 0.18: a contrast of 4.5:1 with white (WCAG AA).
    """
    from matplotlib.colors import to_hex, to_rgb

    rgb = to_rgb(color)
    for _ in range(20):
        if _luminance(rgb) <= 0.18:
            break
        rgb = (rgb[0] * 0.85, rgb[1] * 0.85, rgb[2] * 0.85)
    return str(to_hex(rgb))


def _luminance(color: tuple[float, ...]) -> float:
    """WCAG relative luminance of an RGB(A) colour."""
    red, green, blue = (
        c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in map(float, color[:3])
    )
    return 0.2126 * red + 0.7152 * green + 0.0722 * blue


def colorbar_label(scale: Scale | None = None, vmax: float | None = None, measure: str = "peso") -> str:
    """What a colour bar says: the measure (weight or contribution), and which scale its colours use.

    Parameters
    ----------
    scale : {"head", "absolute", "row"}, optional
        The scale in :data:`SCALE_LABELS`.
    vmax : float, optional
        A top given by hand (e.g. shared by several panels): it names that number instead.
    measure : {"peso", "contribucion"}
        What the colours show (:data:`attnviz.core.measures.MEASURES`).

    Returns
    -------
    str

    Examples
    --------
    >>> colorbar_label("absolute")
    'peso de atención · escala 0 – 1 (fija)'
    """
    name = MEASURES[measure]
    if vmax is not None:
        return f"{name} · escala 0 – {vmax:.2g}"
    return f"{name} · escala {SCALE_LABELS[scale or DEFAULT_SCALE]}"


def measure_suffix(result: AttentionResult) -> str:
    """What a default title adds when a view shows contribution instead of weights."""
    return "" if result.measure == "peso" else f" · {MEASURES[result.measure].split()[0]}"


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


def add_notes(ax: Axes, x: float, y: float, text: str, fontsize: float, **where: Any) -> Text:
    """The grey notes of a view, top edge at ``(x, y)`` (Axes fraction unless ``transform`` is given).

    Parameters
    ----------
    ax : matplotlib Axes
    x, y : float
    text : str
        The notes, already joined (see :func:`attnviz.plots.labels.join_lines`).
    fontsize : float
        The view's notes size (``font_sizes(...)["notes"]``).
    **where
        ``ha`` (default ``"left"``) and ``transform`` (default ``ax.transAxes``).

    Returns
    -------
    matplotlib Text
        gid ``"notes"``.
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
    mappable : matplotlib ScalarMappable
        What the bar explains.
    label : str
        What the bar says, e.g. :func:`colorbar_label`.
    fontsize : float
    **where
        Placement, passed to ``figure.colorbar`` (``ax``, ``cax``, ``shrink``…).

    Returns
    -------
    matplotlib Colorbar
    """
    bar = figure.colorbar(mappable, **where)
    bar.set_label(label, fontsize=fontsize)
    bar.ax.tick_params(labelsize=fontsize)
    return bar
