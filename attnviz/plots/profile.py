"""Layer profile: each metric, averaged over heads, as a line across layers."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from ..core.metrics import METRIC_LABELS, METRIC_NAMES, SHARE_METRICS
from . import style
from .heatmap import settle_layout
from .labels import join_lines

if TYPE_CHECKING:
    from matplotlib.axes import Axes

#: Metrics not measured as a share of a row go on a second y axis.
SCALE_METRICS: tuple[str, ...] = ("entropy", "distance")


def plot_profile(
    profile: Mapping[str, np.ndarray],
    ax: Axes | None = None,
    *,
    compare: Mapping[str, np.ndarray] | None = None,
    labels: tuple[str, str] = ("esta frase", "corpus"),
    metrics: Sequence[str] | None = None,
    title: str | None = None,
    fontsize: float | None = None,
) -> Axes:
    """Draw a layer profile as lines: one per metric, one point per layer.

    Shares (to [CLS], [SEP], punctuation, itself, previous, next) use the left axis, 0 to 1;
    entropy (nats) and distance (tokens) a second axis on the right, ``ax.right_ax``.

    Parameters
    ----------
    profile : mapping of str to ndarray
        From :func:`attnviz.layer_profile`: one ``[layer]`` array per metric.
    ax : matplotlib Axes, optional
        Where to draw; ``None`` makes a new 9.5 x 4.8 inch figure.
    compare : mapping of str to ndarray, optional
        Another profile, e.g. :func:`attnviz.corpus_profile`, drawn dashed in the same colours.
    labels : (str, str)
        Legend names of ``profile`` and ``compare``.
    metrics : sequence of str, optional
        Which metrics to draw (names in :data:`attnviz.core.metrics.METRIC_NAMES`); default all.
    title : str, optional
        Replaces "Perfil por capa (media de las cabezas)".
    fontsize : float, optional
        Base text size in points; ``attnviz.plots.style.CLASSROOM_FONTSIZE`` for a projector.
        After :func:`attnviz.modo_clase`, at least that, on a figure laid out for a projector.

    Returns
    -------
    matplotlib Axes
        The left Axes.  Line gids are ``"profile-<metric>"`` and ``"compare-<metric>"``.

    Examples
    --------
    >>> profile = attnviz.layer_profile(attnviz.head_metrics(result))
    >>> attnviz.plot_profile(profile, compare=attnviz.corpus_profile(model, tokenizer))
    >>> attnviz.plot_profile(profile, fontsize=attnviz.plots.style.CLASSROOM_FONTSIZE)
    """
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D

    names = [m for m in (metrics or METRIC_NAMES) if m in profile]
    unknown = [m for m in (metrics or []) if m not in METRIC_NAMES]
    if unknown:
        raise ValueError(f"unknown metrics {unknown}; choose from {', '.join(METRIC_NAMES)}")
    if not names:
        raise ValueError("the profile has none of the metrics to draw")
    sizes = style.font_sizes(fontsize)
    projector = style.classroom_mode()
    if ax is None:
        _, ax = plt.subplots(figsize=style.CLASSROOM_BOX if projector else (9.5, 4.8), layout="constrained")
    right = ax.twinx() if any(m in SCALE_METRICS for m in names) else None
    if right is not None:
        ax.right_ax = right  # type: ignore[attr-defined]
    colours = plt.get_cmap("tab10")

    handles = []
    for index, name in enumerate(names):
        on_right = name in SCALE_METRICS
        target = right if on_right and right is not None else ax
        colour = colours(index % 10)
        marker = "s" if on_right else "o"
        values = np.asarray(profile[name], dtype=np.float64)
        line: dict[str, Any] = {"color": colour, "marker": marker, "linewidth": 2}
        target.plot(np.arange(len(values)), values, markersize=4, gid=f"profile-{name}", **line)
        label = METRIC_LABELS.get(name, name) + (" →" if on_right else "")
        handles.append(Line2D([], [], label=label, **line))
        if compare is not None and name in compare:
            other = np.asarray(compare[name], dtype=np.float64)
            target.plot(
                np.arange(len(other)),
                other,
                color=colour,
                linestyle="--",
                linewidth=1.5,
                alpha=0.8,
                gid=f"compare-{name}",
            )

    ax.set_xticks(range(len(np.asarray(profile[names[0]]))))
    if projector:
        from matplotlib.ticker import MaxNLocator

        # Layers in whole steps, as many as the axis has room for at the numbers' size.
        ax.xaxis.set_major_locator(MaxNLocator(nbins="auto", integer=True))
    ax.set_xlabel("capa (desde 0)", fontsize=sizes["labels"])
    ax.tick_params(labelsize=sizes["notes"])
    if any(m in SHARE_METRICS for m in names):
        ax.set_ylim(-0.02, 1.02)
        ax.set_ylabel("proporción de la atención", fontsize=sizes["labels"])
    if right is not None:
        right.set_ylabel("entropía · distancia →", fontsize=sizes["labels"])
        right.set_ylim(bottom=0)
        right.tick_params(labelsize=sizes["notes"])
    if compare is not None:
        handles.append(Line2D([], [], color="0.3", linewidth=2, label=labels[0]))
        handles.append(Line2D([], [], color="0.3", linewidth=1.5, linestyle="--", label=labels[1]))
    # Past the right axis and its label.
    anchor = (1.0 + 0.01 * sizes["labels"], 1.0) if right is not None else (1.02, 1.0)
    # On a projector the legend names the lines as large as any label (it is no note).
    legend_size = sizes["labels"] if projector else sizes["notes"]
    ax.legend(
        handles=handles,
        fontsize=legend_size,
        loc="upper left",
        bbox_to_anchor=anchor,
        frameon=False,
        **({"handlelength": 1.5, "labelspacing": 0.3, "borderaxespad": 0.0} if projector else {}),
    )
    ax.grid(alpha=0.3)
    if title is None:
        title = "Perfil por capa (media de las cabezas)"
    if projector:
        # The plot is narrow beside its legend: the title starts at its left, runs over the legend and
        # breaks (between its parts) before the picture's edge.
        room = ax.figure.bbox.width * 72.0 / ax.figure.dpi - 4 * sizes["title"]
        title = join_lines(title.split(" · "), room, sizes["title"])
    ax.set_title(title, fontsize=sizes["title"], loc="left" if projector else "center")
    if projector:
        # Laid out with the legend before the first draw: a notebook shows the first draw.
        settle_layout(ax)
    return ax
