"""Tick labels for tokens: as many as fit at the font size, in even steps, placed at draw time.

Apart from the views so that importing attnviz does not import matplotlib
(these classes subclass matplotlib's at definition).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Literal

from matplotlib.ticker import Formatter, Locator

from .labels import LABEL_SPACING, SOURCE_MARK, side_points


class TokenLocator(Locator):
    """Tick positions for token labels: as many as fit at ``fontsize``, in steps aligned on ``anchor``.

    Computed at draw time from the Axes' size on the figure, so the labels
    stay apart after any layout, resize or ``savefig(dpi=...)``.
    """

    def __init__(self, n: int, fontsize: float, anchor: int = 0, *, along: Literal["x", "y"] = "x") -> None:
        self.n = n
        self.along = along
        self.fontsize = fontsize
        self.anchor = anchor

    def __call__(self) -> Sequence[float]:
        assert self.axis is not None
        low, high = self.axis.get_view_interval()
        return self.tick_values(low, high)

    def tick_values(self, vmin: float, vmax: float) -> Sequence[float]:
        low, high = sorted((float(vmin), float(vmax)))
        first, last = max(0, math.ceil(low)), min(self.n - 1, math.floor(high))
        if last < first:
            return []
        # Tokens between two labels: 1 when every label fits.
        step = 1
        axes = getattr(self.axis, "axes", None)
        points = side_points(axes, self.along) if axes is not None else 0.0
        if high > low and points > 0:
            step = max(1, math.ceil(LABEL_SPACING * self.fontsize * (high - low) / points))
        start = first + (self.anchor - first) % step
        return list(range(start, last + 1, step))


class TokenFormatter(Formatter):
    """The label of the token at each tick; ``marked`` gets :data:`SOURCE_MARK`."""

    def __init__(self, labels: Sequence[str], marked: int | None = None) -> None:
        self.labels = list(labels)
        self.marked = marked

    def __call__(self, x: float, pos: int | None = None) -> str:
        i = round(float(x))
        if not 0 <= i < len(self.labels):
            return ""
        return self.labels[i] + (SOURCE_MARK if i == self.marked else "")
