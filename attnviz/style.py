"""One visual vocabulary for every view: the palette, the colour scales and the text sizes.

Every view uses the same meaning of colour (blue = low weight, red = high weight) and takes a
``fontsize`` so that a teacher can make any picture readable from the back of a classroom.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

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
        from .errors import InvalidInputTypeError

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
        The notes, already joined (see :func:`attnviz.labels.join_lines`).
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
