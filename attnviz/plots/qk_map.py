"""Draw a :class:`~attnviz.core.qk_map.QueryKeyMap`: queries and keys of one head on one plane."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ..core.qk_map import QueryKeyMap
from . import style

if TYPE_CHECKING:
    from matplotlib.axes import Axes


def plot_query_key_map(
    qk: QueryKeyMap,
    ax: Axes | None = None,
    *,
    color_by: Sequence[str] | None = None,
    fontsize: float | None = None,
) -> Axes:
    """Scatter one head's queries (circles) and keys (triangles) on one plane.

    A query near many keys gives them large ``q·k``: those are the tokens it attends to.

    Parameters
    ----------
    qk : QueryKeyMap
        From :func:`attnviz.query_key_map`.
    ax : matplotlib Axes, optional
        Where to draw; ``None`` makes an 8 x 6.5 inch figure.
    color_by : sequence of str, optional
        One label per token (for example each token's part of speech, from the syntax
        extra), in the order of ``qk.tokens``: one colour per label.  By default points are
        coloured by relative position in their sentence (dark = first, light = last).
    fontsize : float, optional
        Base text size; ``attnviz.plots.style.CLASSROOM_FONTSIZE`` for a projector.

    Returns
    -------
    matplotlib Axes
        The queries' collection has gid ``"qk-queries"``, the keys' ``"qk-keys"``.

    Examples
    --------
    >>> ax = attnviz.plot_query_key_map(attnviz.query_key_map(results, layer=3, head=0))
    >>> ax.figure.savefig("qk_map.svg")
    """
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D

    sizes = style.font_sizes(fontsize)
    if ax is None:
        _, ax = plt.subplots(figsize=style.fit_figure(8, 6.5), layout="constrained")
    n = len(qk.tokens)
    marker_size = max(6.0, 40.0 - n / 50)
    legend = []
    colours: dict[str, Any]
    if color_by is None:
        colours = {"c": qk.position, "cmap": "viridis", "vmin": 0, "vmax": 1}
    else:
        if len(color_by) != n:
            raise ValueError(f"color_by has {len(color_by)} labels for {n} tokens")
        labels = sorted(set(color_by))
        palette = plt.get_cmap("tab10")
        colours = {"c": [palette(labels.index(label) % 10) for label in color_by]}
        legend = [
            Line2D([], [], marker="s", linestyle="", color=palette(i % 10), label=label)
            for i, label in enumerate(labels)
        ]
    for points, marker, gid in ((qk.queries, "o", "qk-queries"), (qk.keys, "^", "qk-keys")):
        drawn = ax.scatter(
            points[:, 0], points[:, 1], marker=marker, s=marker_size, alpha=0.7, gid=gid, **colours
        )
    if color_by is None:
        bar = ax.figure.colorbar(drawn, ax=ax, fraction=0.04)
        bar.set_label("posición en la frase (0 = primera, 1 = última)", fontsize=sizes["notes"])
        bar.ax.tick_params(labelsize=sizes["notes"])
    handles = [
        Line2D([], [], marker="o", linestyle="", color="0.3", label="consulta (q)"),
        Line2D([], [], marker="^", linestyle="", color="0.3", label="clave (k)"),
        *legend,
    ]
    # On a projector the legend names the markers as large as any label (it is no note).
    legend_size = sizes["labels"] if style.classroom_mode() else sizes["notes"]
    ax.legend(handles=handles, fontsize=legend_size, loc="best", framealpha=0.8)
    ax.set_xlabel(f"eje 1 ({qk.explained[0]:.0%} de la varianza)", fontsize=sizes["labels"])
    ax.set_ylabel(f"eje 2 ({qk.explained[1]:.0%} de la varianza)", fontsize=sizes["labels"])
    ax.tick_params(labelsize=sizes["notes"])
    title = f"{qk.model_name} · capa {qk.layer}, cabeza {qk.head}: consultas y claves de {n} tokens"
    if style.classroom_mode():
        # A projector's picture is narrow for the title at its size: one line per part.
        title = title.replace(" · ", "\n", 1).replace(": ", ":\n", 1)
    ax.set_title(title, fontsize=sizes["title"])
    return ax
