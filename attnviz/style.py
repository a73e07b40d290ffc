"""One visual vocabulary for every view: the palette, the colour scales and the text sizes.

Every view uses the same meaning of colour (blue = low weight, red = high weight) and takes a
``fontsize`` so that a teacher can make any picture readable from the back of a classroom.
"""

from __future__ import annotations

from typing import Literal

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
