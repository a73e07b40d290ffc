"""Pictures of the exercises' controls: the model beside what a simple rule gives."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from ..plots.compare import plot_compare_layers
from ..plots.style import CMAP, font_sizes
from ..syntax import POS_NAMES_ES
from .controls import AmbiguityControl, PosControl

if TYPE_CHECKING:
    from matplotlib.axes import Axes


def plot_pos_control(control: PosControl, ax: Axes | None = None, *, fontsize: float | None = None) -> Axes:
    """Per layer, the share from one part of speech to others: the model (solid), uniform attention (dashed).

    Parameters
    ----------
    control : PosControl
        From :func:`attnviz.lesson.controls.pos_control`.
    ax : matplotlib Axes, optional
        Where to draw; a new figure if None.
    fontsize : float, optional
        Base text size in points (:func:`attnviz.plots.style.font_sizes`).

    Returns
    -------
    matplotlib Axes
        One line per target and kind, gids ``"modelo-<TAG>"`` and ``"uniforme-<TAG>"``.

    Examples
    --------
    >>> plot_pos_control(pos_control(model, tokenizer, None, "VERB", "NOUN", "DET"))  # doctest: +SKIP
    """
    import matplotlib.pyplot as plt

    sizes = font_sizes(fontsize)
    if ax is None:
        _, ax = plt.subplots(figsize=(9.0, 4.6), layout="constrained")
    cmap = plt.get_cmap(CMAP)
    layers = np.arange(control.model.shape[0])
    colours = [cmap(1.0), cmap(0.0), cmap(0.75), cmap(0.25)]
    for k, tag in enumerate(control.targets):
        colour = colours[k % len(colours)]
        name = f"{control.source} → {tag}"
        style: dict[str, Any] = {"color": colour, "linewidth": 2.5}
        ax.plot(
            layers, control.model[:, k], marker="o", gid=f"modelo-{tag}", label=f"{name}: modelo", **style
        )
        ax.plot(
            layers,
            control.uniform[:, k],
            linestyle="--",
            marker="s",
            markersize=5,
            gid=f"uniforme-{tag}",
            label=f"{name}: atención uniforme",
            **style,
        )
    ax.set_xticks(layers)
    ax.tick_params(labelsize=sizes["values"])
    ax.set_xlabel("capa (desde 0)", fontsize=sizes["labels"])
    source_name = POS_NAMES_ES.get(control.source, control.source)
    ax.set_ylabel(f"parte de la atención\nde cada {source_name}", fontsize=sizes["labels"])
    top = float(np.nanmax([control.model.max(), control.uniform.max()]))
    ax.set_ylim(0.0, max(1e-3, top * 1.15))
    ax.grid(alpha=0.3)
    ax.legend(fontsize=sizes["notes"], loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    ax.set_title(
        f"Modelo frente a atención uniforme · {control.model_name} · {control.n_sentences} frases",
        fontsize=sizes["title"],
    )
    return ax


def plot_ambiguity_control(control: AmbiguityControl, *, fontsize: float | None = None) -> list[Axes]:
    """Layer by layer, where the ambiguous word (top row) and each control (below) look, in each sentence.

    One panel per word and sentence, all on one colour scale, [CLS] and [SEP] hatched and left out
    of it (:func:`attnviz.plot_compare_layers`).

    Parameters
    ----------
    control : AmbiguityControl
        From :func:`attnviz.lesson.controls.ambiguity_control`.
    fontsize : float, optional
        Base text size in points.

    Returns
    -------
    list of matplotlib Axes
        One per panel, row by row.

    Examples
    --------
    >>> plot_ambiguity_control(ambiguity_control(model, tokenizer, frases, "banco", "sofá"))  # doctest: +SKIP
    """
    import matplotlib.pyplot as plt

    rows, columns = len(control.words), len(control.sentences[0])
    results, sources = control.flat()
    _, axes = plt.subplots(
        rows, columns, figsize=(7.0 * columns, 3.6 * rows + 0.8), layout="constrained", squeeze=False
    )
    return plot_compare_layers(
        results, sources, head=control.head, hide_special=True, ax=list(axes.ravel()), fontsize=fontsize
    )
