"""One visual vocabulary for every view: the palette, the colour scales and the text sizes.

Blue means a low weight and red a high one in every view, and every view takes a ``fontsize``
so that a teacher can make any picture readable from the back of a classroom.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
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

#: The projector a classroom picture is made for: a 1280 x 720 screen at 150 % browser zoom.  A
#: notebook (JupyterLab, file browser closed) shows a picture there at most this many CSS px wide,
#: and the explorer's classroom mode at most this tall (75 % of the screen's 480).
PROJECTOR_WIDTH_PX = 673.0
PROJECTOR_HEIGHT_PX = 360.0
#: The least text sizes on that screen, in CSS px: labels (tokens, titles, axis names, legends), and
#: numbers (weights, ticks, colour bars) and notes.
MIN_LABEL_PX = 18.0
MIN_NUMBER_PX = 14.0
#: A classroom picture fits this box, in inches: shown 673 CSS px wide, an inch is 84 px, so that
#: the 16-point labels are 18.7 px and the 12.8-point notes 15; 4.25 inches are 358 px tall.
CLASSROOM_WIDTH = 8.0
CLASSROOM_HEIGHT = 4.25
CLASSROOM_BOX = (CLASSROOM_WIDTH, CLASSROOM_HEIGHT)

#: Whether pictures are laid out for a projector now, and the matplotlib settings :func:`modo_clase`
#: replaced (None while it is off).
_CLASSROOM: dict[str, Any] = {"on": False, "saved": None}

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


def base_size(fontsize: float | None = None) -> float:
    """The base text size of a picture: ``fontsize``, or :data:`FONTSIZE`; in classroom mode at least
    :data:`CLASSROOM_FONTSIZE` (:func:`modo_clase`, :func:`classroom`).

    Parameters
    ----------
    fontsize : float, optional
        The size a caller asked for, in points; ``None`` for the default.

    Returns
    -------
    float
        Points.

    Examples
    --------
    >>> base_size(), base_size(12)
    (10.0, 12.0)
    """
    base = FONTSIZE if fontsize is None else float(fontsize)
    return max(base, CLASSROOM_FONTSIZE) if _CLASSROOM["on"] else base


def font_sizes(fontsize: float | None = None) -> dict[str, float]:
    """The text sizes of one picture, all derived from one base size (:func:`base_size`).

    Parameters
    ----------
    fontsize : float, optional
        Base size in points (token labels); ``None`` for :data:`FONTSIZE`, or in classroom mode
        :data:`CLASSROOM_FONTSIZE` (which is also the least a size can be there).

    Returns
    -------
    dict
        ``labels`` (tokens), ``values`` (numbers on the picture), ``title`` and ``notes``.

    Examples
    --------
    >>> font_sizes(16)["title"]
    19.2
    """
    base = base_size(fontsize)
    return {"labels": base, "values": base * 0.85, "title": base * 1.2, "notes": base * 0.8}


def fit_figure(width: float, height: float) -> tuple[float, float]:
    """A view's figure size: as given, or in classroom mode shrunk (same shape) into the classroom box.

    A picture no larger than :data:`CLASSROOM_WIDTH` x :data:`CLASSROOM_HEIGHT` inches is shown at
    84 CSS px an inch or more on the projector of :data:`PROJECTOR_WIDTH_PX`, whichever of its sides
    limits it, so its classroom sizes read at :data:`MIN_LABEL_PX` and :data:`MIN_NUMBER_PX`.

    Parameters
    ----------
    width, height : float
        The view's own figure size, in inches.

    Returns
    -------
    (float, float)
        Inches.

    Examples
    --------
    >>> fit_figure(16.0, 8.0)
    (16.0, 8.0)
    >>> with classroom():
    ...     fit_figure(16.0, 8.0)
    (8.0, 4.0)
    """
    if not classroom_mode():
        return float(width), float(height)
    shrink = min(1.0, CLASSROOM_WIDTH / width, CLASSROOM_HEIGHT / height)
    return round(width * shrink, 3), round(height * shrink, 3)


def classroom_rc() -> dict[str, Any]:
    """The matplotlib settings of classroom mode: text at the classroom sizes, figures in the box.

    Returns
    -------
    dict
        ``rcParams`` keys and values, as :func:`modo_clase` sets them.

    Examples
    --------
    >>> classroom_rc()["legend.fontsize"]
    16.0
    """
    import matplotlib

    sizes = font_sizes(CLASSROOM_FONTSIZE)
    labels, title = sizes["labels"], sizes["title"]
    return {
        "font.size": labels,
        "axes.titlesize": title,
        "axes.labelsize": labels,
        "xtick.labelsize": labels,
        "ytick.labelsize": labels,
        "legend.fontsize": labels,
        "legend.title_fontsize": labels,
        "figure.titlesize": title,
        "figure.labelsize": labels,
        "figure.figsize": [CLASSROOM_WIDTH, CLASSROOM_HEIGHT],
        # A notebook crops a figure to its drawing plus this margin: a thin one keeps 8 inches 8.
        "savefig.pad_inches": 0.04,
        # 16 points are 18 CSS px when a picture is shown at its own size only from 81 dpi up.
        "figure.dpi": max(100.0, float(matplotlib.rcParams["figure.dpi"])),
    }


def modo_clase(activo: bool = True) -> None:
    """Make every picture of the notebook readable on a projector from now on; ``False`` undoes it.

    On: every attnviz view takes :data:`CLASSROOM_FONTSIZE` as its base text size (a smaller
    ``fontsize`` is raised to it) and lays its new figures out in the classroom box
    (:data:`CLASSROOM_WIDTH` x :data:`CLASSROOM_HEIGHT` inches); matplotlib's own text in any other
    figure (titles, axis names, ticks, legends) grows to the same sizes, and a figure made without
    ``figsize`` fits the box (:func:`classroom_rc`).  On a 1280 x 720 projector at 150 % zoom,
    labels are then at least :data:`MIN_LABEL_PX` CSS px tall and numbers :data:`MIN_NUMBER_PX`.
    Off: the defaults, and matplotlib's settings as they were before.  Calling it twice changes nothing.

    Parameters
    ----------
    activo : bool
        ``True`` (default) to switch classroom mode on, ``False`` to switch it off.

    Examples
    --------
    >>> import attnviz
    >>> attnviz.modo_clase()  # every figure from here on, for a projector
    >>> attnviz.modo_clase(False)  # back to the laptop's sizes
    """
    import matplotlib

    if not isinstance(activo, bool):
        from ..core.errors import InvalidInputTypeError

        raise InvalidInputTypeError(
            f"modo_clase() espera True o False, no {activo!r}: escribe attnviz.modo_clase() para "
            "activarlo y attnviz.modo_clase(False) para quitarlo.",
            f"modo_clase() takes True or False, not {activo!r}.",
        )
    rc: Any = matplotlib.rcParams  # keys chosen at run time
    saved = _CLASSROOM["saved"]
    if activo and saved is None:
        settings = classroom_rc()
        _CLASSROOM["saved"] = {key: rc[key] for key in settings}
        rc.update(settings)
    elif not activo and saved is not None:
        rc.update(saved)
        _CLASSROOM["saved"] = None
    _CLASSROOM["on"] = activo


def classroom_mode() -> bool:
    """True while pictures are laid out for a projector: after :func:`modo_clase`, or in :func:`classroom`.

    Examples
    --------
    >>> classroom_mode()
    False
    """
    return bool(_CLASSROOM["on"])


@contextlib.contextmanager
def classroom(on: bool = True) -> Iterator[None]:
    """Lay the pictures drawn inside out for a projector (``on``) or a laptop, as :func:`modo_clase` does.

    Only attnviz's sizes and figures change, not matplotlib's settings: the explorer draws its
    «Modo clase» pictures inside ``classroom(True)`` and its normal ones inside ``classroom(False)``,
    whatever the notebook's mode.

    Parameters
    ----------
    on : bool
        Classroom layout inside, or not.

    Examples
    --------
    >>> with classroom():
    ...     font_sizes()["labels"]
    16.0
    """
    previous = _CLASSROOM["on"]
    _CLASSROOM["on"] = bool(on)
    try:
        yield
    finally:
        _CLASSROOM["on"] = previous


def panels(
    rows: int = 1, columns: int = 1, *, figsize: tuple[float, float] | None = None, **options: Any
) -> tuple[Figure, Any]:
    """A new figure of ``rows`` x ``columns`` panels (``plt.subplots``, constrained layout); in classroom
    mode the panels go one under another, each the classroom box wide and tall.

    Side by side, four panels would be a quarter of the width each on a projector: too small to read.

    Parameters
    ----------
    rows, columns : int
        The panels' grid on a laptop.
    figsize : (float, float), optional
        Inches on a laptop (ignored in classroom mode).
    **options
        Passed to ``plt.subplots`` (``width_ratios`` only on a laptop).

    Returns
    -------
    (Figure, Axes or ndarray of Axes)
        As ``plt.subplots`` returns them: one Axes, or an array (``.flat`` walks it in either mode).

    Examples
    --------
    >>> figura, ejes = panels(2, 2, figsize=(18, 11))
    >>> for eje in ejes.flat:
    ...     eje.plot([0, 1])
    """
    import matplotlib.pyplot as plt

    options.setdefault("layout", "constrained")
    if not classroom_mode():
        return plt.subplots(rows, columns, figsize=figsize, **options)
    count = rows * columns
    options.pop("width_ratios", None)
    grid = dict(options.pop("gridspec_kw", None) or {})
    grid.pop("width_ratios", None)
    size = (CLASSROOM_WIDTH, CLASSROOM_HEIGHT * count)
    return plt.subplots(count, 1, figsize=size, gridspec_kw=grid or None, **options)


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


def root_figure(artist: Any) -> Figure:
    """The figure an Axes (or any artist) is drawn in: the root one when it sits in a subfigure.

    ``Artist.get_figure(root=True)`` says the same from matplotlib 3.10 on; 3.8 and 3.9 do not have it.

    Examples
    --------
    >>> root_figure(plt.subplots()[1]).get_figwidth()
    6.4
    """
    figure = artist.figure
    while getattr(figure, "figure", None) is not None and figure.figure is not figure:
        figure = figure.figure
    return figure
