"""The naive redraw that the speed targets compare against (``bench/redraw_speed.py`` imports it)."""

from __future__ import annotations

import io
from typing import Any

from attnviz.core.result import AttentionResult
from attnviz.plots.arcs import plot_arcs
from attnviz.plots.style import root_figure


def naive_render(result: AttentionResult, layer: int, head: int, source: int, **kwargs: Any) -> bytes:
    """The approach the speed targets compare against: new figure, plot_arcs, savefig PNG."""
    import matplotlib.pyplot as plt

    figure = root_figure(plot_arcs(result, layer, head, source, **kwargs))
    out = io.BytesIO()
    figure.savefig(out, format="png")
    plt.close(figure)
    return out.getvalue()
