"""Which heads matter, and which heads look: two layers × heads grids drawn the same way.

:func:`plot_importance` draws how much the prediction changes when each head is switched off
(:func:`attnviz.head_importance`); :func:`plot_attention_to_word` how much one word attends to
another in each head (:func:`attnviz.core.agreement.word_attention`).  Both put layers in rows and
heads in columns, from 0, so :func:`plot_importance_and_attention` can set them side by side and
name the heads where they agree and disagree most.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from matplotlib.ticker import MaxNLocator

from ..core.agreement import HeadAgreement, compare_heads, word_attention
from ..core.importance import HeadImportance
from ..core.measures import with_measure
from ..core.result import AttentionResult
from . import style
from .heatmap import VALUE_WIDTH_EM, settle_layout
from .labels import MAX_TITLE_CHARS, join_lines, label_text, side_points

if TYPE_CHECKING:
    from matplotlib.axes import Axes

#: Characters of "0.27", the number VALUE_WIDTH_EM was measured for.
_VALUE_CHARS = 4


def grid_figure_size(layers: int, heads: int, fontsize: float | None = None) -> tuple[float, float]:
    """Inches for one ``layers × heads`` grid of numbers: about 0.5 inch a cell (more for larger fonts).

    Examples
    --------
    >>> grid_figure_size(12, 12)
    (7.5, 7.0)
    """
    grow = (style.FONTSIZE if fontsize is None else fontsize) / style.FONTSIZE
    cell = 0.45 * max(1.0, grow)
    return float(np.clip(cell * heads + 2.1, 4.0, 16.0)), float(np.clip(cell * layers + 1.6, 3.0, 14.0))


def _number(value: float, decimals: int) -> str:
    text = f"{value:.{decimals}f}"
    return text.lstrip("-") if float(text) == 0 else text


#: Where the grids' colour bars go: below, so that a long label (the measure and its scale) reads
#: across whatever the grid's height (as in :func:`attnviz.plot_grid`).
COLORBAR_PLACE = {"location": "bottom", "shrink": 0.7, "pad": 0.03, "aspect": 30}


def draw_head_grid(
    ax: Axes | None,
    values: np.ndarray,
    limits: tuple[float, float],
    sizes: dict[str, float],
    *,
    gid: str,
    title: str,
    colorbar: str | None,
    notes: list[str],
    numbers: bool = True,
) -> Axes:
    """``values[layer, head]`` as coloured cells, «capa» down and «cabeza» across, both from 0.

    The one layout of :func:`plot_importance` and :func:`plot_attention_to_word`, so that the
    two compare cell by cell.

    Parameters
    ----------
    ax : matplotlib Axes or None
        Where to draw; None makes a new figure (about half an inch a cell).
    values : ndarray
        ``[layers, heads]``.
    limits : (float, float)
        The colour scale's bottom and top (coolwarm, as every view).
    sizes : dict
        :func:`attnviz.plots.style.font_sizes`.
    gid : str
        The image's gid; the numbers get ``"<gid>-value-<layer>-<head>"``.
    title : str
    colorbar : str or None
        The colour bar's label (below the grid), or None for no colour bar.
    notes : list of str
        The grey notes under the grid (a note is added when the numbers do not fit).
    numbers : bool
        Write each value in its cell, if the numbers fit there.

    Returns
    -------
    matplotlib Axes

    Examples
    --------
    >>> draw_head_grid(None, values, (-1, 1), font_sizes(), gid="g", title="", colorbar=None, notes=[])
    """
    import matplotlib.pyplot as plt

    layers, heads = values.shape
    if ax is None:
        size = style.fit_figure(*grid_figure_size(layers, heads, sizes["labels"]))
        _, ax = plt.subplots(figsize=size, layout="constrained")
    image = ax.imshow(
        values,
        cmap=style.CMAP,
        vmin=limits[0],
        vmax=limits[1],
        interpolation="nearest",
        aspect="equal",
        gid=gid,
    )
    ax.set_xticks(range(heads), [str(h) for h in range(heads)], fontsize=sizes["labels"])
    ax.set_yticks(range(layers), [str(layer) for layer in range(layers)], fontsize=sizes["labels"])
    ax.tick_params(length=0)
    ax.xaxis.tick_top()
    ax.xaxis.set_label_position("top")
    ax.set_xlabel("cabeza", fontsize=sizes["labels"])
    ax.set_ylabel("capa", fontsize=sizes["labels"])
    ax.spines[:].set_visible(False)
    ax.set_title(title, fontsize=sizes["title"], pad=sizes["labels"])
    if colorbar is not None:
        if style.classroom_mode():  # a label wider than the screen would be cut: lines of words instead
            root = style.root_figure(ax)
            width = root.get_figwidth() * 72 * 0.6
            colorbar = join_lines(colorbar.split(" "), width, sizes["notes"], " ")
        bar = style.add_colorbar(ax.figure, image, colorbar, sizes["notes"], ax=ax, **COLORBAR_PLACE)
        if style.classroom_mode():  # a narrow bar: a few round ticks inside it instead of overlapping ones
            ticks = MaxNLocator(4).tick_values(*limits)
            bar.set_ticks([t for t in ticks if limits[0] - 1e-12 <= t <= limits[1] + 1e-12])
    if numbers and not _write_numbers(ax, image, values, sizes["values"], gid):
        notes = [*notes, "números omitidos: no caben en las celdas"]
    text = style.add_notes(ax, 0.0, -0.01, "", sizes["notes"])
    text.set_text(join_lines(notes, side_points(ax, "x"), sizes["notes"]))
    settle_layout(ax)
    if style.classroom_mode():
        _fit_to_final_width(ax, heads, sizes)
    return ax


def _fit_to_final_width(ax: Axes, heads: int, sizes: dict[str, float]) -> None:
    """Once the layout is final: the notes wrapped again to the grid's width, and the head numbers thinned."""
    for text in ax.texts:
        if text.get_gid() == "notes":
            parts = [part for line in text.get_text().split("\n") for part in line.split(" · ")]
            text.set_text(join_lines(parts, side_points(ax, "x"), sizes["notes"]))
    _thin_head_ticks(ax, heads, sizes["labels"])


def _thin_head_ticks(ax: Axes, heads: int, size: float) -> None:
    """Every second (or third) head number when all of them would touch each other, like a ruler."""
    ax.figure.canvas.figure.draw_without_rendering()
    label = 0.6 * size * len(str(heads - 1)) * 1.4  # points, with room between two labels
    step = int(np.ceil(label / max(side_points(ax, "x") / heads, 1e-9)))
    if step > 1:
        kept = range(0, heads, step)
        ax.set_xticks(kept, [str(h) for h in kept], fontsize=size)


def _write_numbers(ax: Axes, image: Any, values: np.ndarray, size: float, gid: str) -> bool:
    """Each value in its cell, in a colour that reads on it; False (nothing written) if they do not fit."""
    layers, heads = values.shape
    # Two decimals; three when every value is below 0.1 (a sentence vector barely turns).
    decimals = 2 if np.abs(values).max(initial=0.0) >= 0.1 else 3
    texts = [[_number(v, decimals) for v in row] for row in values.tolist()]
    widest = max(len(t) for row in texts for t in row)
    # The room for the cells is known only once the layout has placed the labels.
    ax.figure.canvas.figure.draw_without_rendering()
    cell = min(side_points(ax, "x") / heads, side_points(ax, "y") / layers)
    if cell < VALUE_WIDTH_EM * size * widest / _VALUE_CHARS:
        return False
    colours = image.to_rgba(values)
    for layer, head in np.ndindex(layers, heads):
        ax.text(
            head,
            layer,
            texts[layer][head],
            ha="center",
            va="center",
            fontsize=size,
            color=style.text_color_on(tuple(colours[layer, head])),
            gid=f"{gid}-value-{layer}-{head}",
            in_layout=False,
        )
    return True


def outline_head(ax: Axes, head: tuple[int, int], gid: str, dashed: bool = False) -> None:
    """A black frame around one cell of a head grid (not red: red means a high value).

    Examples
    --------
    >>> outline_head(plot_importance(importance), (3, 5), "agree")
    """
    from matplotlib.patches import Rectangle

    layer, column = head
    frame = Rectangle(
        (column - 0.5, layer - 0.5),
        1.0,
        1.0,
        fill=False,
        edgecolor="black",
        linewidth=2.5,
        linestyle="--" if dashed else "-",
        gid=gid,
        zorder=3,
    )
    ax.add_patch(frame)


def importance_top(values: np.ndarray) -> float:
    """The top of the importance colour scale: the largest change, either way, rounded up.

    The scale runs from ``-top`` to ``top``, so 0 (no change) is the colour map's middle.

    Examples
    --------
    >>> importance_top(np.array([[0.3, -1.1]]))
    1.25
    """
    return style.colour_scale_max(np.abs(values))


def plot_importance(
    importance: HeadImportance,
    ax: Axes | None = None,
    *,
    fontsize: float | None = None,
    values: bool = True,
    title: str | None = None,
    colorbar: bool = True,
) -> Axes:
    """Draw how much each head matters: the ``layers × heads`` grid of :func:`attnviz.head_importance`.

    Red: switching that head off lowers the right word's log-probability (the head helped);
    blue: it raises it; the colour map is centred at 0 (no change).  For a model without a
    masked-word head the values are how much the sentence vector turns (``1 − cos``, never below 0).

    Parameters
    ----------
    importance : HeadImportance
        From :func:`attnviz.head_importance`.
    ax : matplotlib Axes, optional
        Where to draw; ``None`` makes a new figure (about half an inch a cell).
    fontsize : float, optional
        Base text size in points; ``attnviz.plots.style.CLASSROOM_FONTSIZE`` for a projector.
    values : bool
        Write each value in its cell when the numbers fit (a note says when they do not).
    title : str, optional
        Replaces "¿Qué cabezas importan?".
    colorbar : bool
        Add a colour bar naming the measure.

    Returns
    -------
    matplotlib Axes
        Gids: ``"importance"`` (the image), ``"importance-value-<capa>-<cabeza>"``, ``"notes"``.

    Examples
    --------
    >>> grid = attnviz.head_importance(model, tokenizer, "Los perros cruzaron la calle.", "cruzaron")
    >>> attnviz.plot_importance(grid, fontsize=attnviz.plots.style.CLASSROOM_FONTSIZE)
    """
    if not isinstance(importance, HeadImportance):
        from ..core.errors import InvalidInputTypeError

        raise InvalidInputTypeError(
            "plot_importance dibuja lo que devuelve attnviz.head_importance(modelo, tokenizador, texto, "
            f"palabra), no {type(importance).__name__}.",
            "plot_importance draws what attnviz.head_importance(model, tokenizer, text, word) returns, "
            f"not {type(importance).__name__}.",
        )
    grid = np.asarray(importance.values, dtype=np.float64)
    top = importance_top(grid)
    return draw_head_grid(
        ax,
        grid,
        (-top, top),
        style.font_sizes(fontsize),
        gid="importance",
        title="¿Qué cabezas importan?" if title is None else title,
        colorbar=f"{importance.measure} · escala −{top:.2g} – {top:.2g} (0: no cambia)" if colorbar else None,
        notes=[
            f"«{label_text(importance.text, 28 if style.classroom_mode() else 60)}»",
            "cada cabeza apagada sola; índices desde 0",
        ],
        numbers=values,
    )


def plot_attention_to_word(
    result: AttentionResult,
    target: str | int,
    source: str | int | None = None,
    ax: Axes | None = None,
    *,
    fontsize: float | None = None,
    measure: str | None = None,
    values: bool = True,
    title: str | None = None,
    colorbar: bool = True,
) -> Axes:
    """Draw how much ``source`` attends to ``target`` in every head: a ``layers × heads`` grid.

    The same layout as :func:`plot_importance` (layers down, heads across, from 0), so the two
    can be compared cell by cell (:func:`plot_importance_and_attention`).

    Parameters
    ----------
    result : AttentionResult
        From :func:`attnviz.extract`; with ``mask=...`` the masked word is the default source.
    target : str or int
        The word looked at (e.g. the subject): its text (``result.words``, exact case) or a
        token index.
    source : str or int, optional
        The word that looks (e.g. the masked verb); default: the masked word.
    ax : matplotlib Axes, optional
        Where to draw; ``None`` makes a new figure.
    fontsize : float, optional
        Base text size in points; ``attnviz.plots.style.CLASSROOM_FONTSIZE`` for a projector.
    measure : {"peso", "contribucion"}, optional
        The weights, or each arc's contribution (:func:`attnviz.with_measure`); None: what
        ``result`` holds.
    values : bool
        Write each value in its cell when the numbers fit.
    title : str, optional
        Replaces "Atención de «source» a «target»".
    colorbar : bool
        Add a colour bar naming the measure and its scale.

    Returns
    -------
    matplotlib Axes
        Gids: ``"attention"`` (the image), ``"attention-value-<capa>-<cabeza>"``, ``"notes"``.

    Examples
    --------
    >>> text = "Los perros que persiguieron al gato cruzaron la calle."
    >>> result = attnviz.extract(model, tokenizer, text, mask="cruzaron")
    >>> attnviz.plot_attention_to_word(result, "perros")
    """
    result = with_measure(result, measure)
    attention = word_attention(result, target, source)
    if title is None:
        src = f"«{label_text(attention.source, MAX_TITLE_CHARS)}»"
        if attention.hidden is not None:
            src = f"«{label_text(attention.hidden, MAX_TITLE_CHARS)}» (tapada)"
        tgt = label_text(attention.target, MAX_TITLE_CHARS)
        title = f"Atención de {src} a «{tgt}»{style.measure_suffix(result)}"
    top = style.colour_scale_max(attention.values)
    noun = "palabra" if attention.level == "word" else "token"
    return draw_head_grid(
        ax,
        attention.values,
        (0.0, top),
        style.font_sizes(fontsize),
        gid="attention",
        title=title,
        colorbar=style.colorbar_label(vmax=top, measure=result.measure) if colorbar else None,
        notes=[
            f"{noun} {attention.source_index} → {noun} {attention.target_index}; índices desde 0",
            result.model_name,
        ],
        numbers=values,
    )


def agreement_text(agreement: HeadAgreement) -> str:
    """One line per finding, in Spanish: which head attends most, which matters most, agree, disagree.

    Examples
    --------
    >>> print(agreement_text(compare_heads(importance, word_attention(result, "perros"))))
    """

    def name(head: tuple[int, int]) -> str:
        return f"capa {head[0]}, cabeza {head[1]}"

    why = "mira mucho e importa poco" if agreement.disagree_kind == "mira" else "importa mucho y mira poco"
    same = "la misma" if agreement.same_head else "otra"
    return "\n".join(
        [
            f"La que más mira: {name(agreement.most_attending)}; la que más importa: "
            f"{name(agreement.most_important)} ({same}).",
            f"Coinciden más en {name(agreement.agree)}; discrepan más en {name(agreement.disagree)} ({why}).",
            f"Correlación de rangos (Spearman) entre las dos rejillas: {agreement.spearman:.2f}.",
        ]
    )


def plot_importance_and_attention(
    importance: HeadImportance,
    result: AttentionResult,
    target: str | int,
    source: str | int | None = None,
    *,
    axes: Sequence[Axes] | None = None,
    fontsize: float | None = None,
    values: bool = True,
) -> list[Axes]:
    """Importance and attention side by side, with the heads where they agree and disagree outlined.

    Left: :func:`plot_importance`; right: :func:`plot_attention_to_word`.  The head where the two
    agree most has a solid frame on both, the one where they disagree most a dashed frame, and
    the figure says which they are (:func:`attnviz.core.agreement.compare_heads`).

    Parameters
    ----------
    importance : HeadImportance
        From :func:`attnviz.head_importance` on the same sentence and model as ``result``.
    result : AttentionResult
        From :func:`attnviz.extract` (with ``mask=...``, the masked word is the default source).
    target, source : str or int
        As in :func:`plot_attention_to_word`.
    axes : two matplotlib Axes, optional
        Where to draw; ``None`` makes a new figure.
    fontsize : float, optional
        Base text size in points; ``attnviz.plots.style.CLASSROOM_FONTSIZE`` for a projector.
    values : bool
        Write the values in the cells when they fit.

    Returns
    -------
    list of matplotlib Axes
        ``[importance, attention]``; frames have gids ``"agree"`` and ``"disagree"``, the
        findings are the figure text with gid ``"agreement"``.

    Examples
    --------
    >>> text = "Los perros que persiguieron al gato cruzaron la calle."
    >>> result = attnviz.extract(model, tokenizer, text, mask="cruzaron")
    >>> grid = attnviz.head_importance(model, tokenizer, text, "cruzaron")
    >>> left, right = attnviz.plot_importance_and_attention(grid, result, "perros")
    """

    sizes = style.font_sizes(fontsize)
    attention = word_attention(result, target, source)
    agreement = compare_heads(importance, attention)
    if axes is None:
        width, height = grid_figure_size(
            attention.values.shape[0], attention.values.shape[1], sizes["labels"]
        )
        # Room for the title and the four lines of findings under the grids.
        extra = 1.5 * (4 * sizes["notes"] + sizes["title"]) / 72
        # On a projector the two grids go one under the other (style.panels), each as wide as the screen.
        root, both = style.panels(1, 2, figsize=(2 * width, height + extra))
        if style.classroom_mode():  # the question and the findings need their own room above and below
            root.set_figheight(root.get_figheight() + 2 * extra)
        pair = list(np.ravel(both))
    else:
        pair = list(axes)
        if len(pair) != 2:
            raise ValueError(f"axes must be two Axes, got {len(pair)}")
    left, right = pair
    # On a projector two stacked grids leave cells too small for numbers once the layout is final.
    values = values and not style.classroom_mode()
    plot_importance(importance, left, fontsize=fontsize, values=values)
    plot_attention_to_word(result, target, source, right, fontsize=fontsize, values=values)
    for ax in pair:
        outline_head(ax, agreement.agree, "agree")
        outline_head(ax, agreement.disagree, "disagree", dashed=True)
    findings = agreement_text(agreement) + "\nMarco continuo: coinciden más · discontinuo: discrepan más."
    figure = left.figure
    # Lines no wider than the figure: on a projector it is one screen wide.
    room = style.root_figure(left).get_figwidth() * 72 * 0.95
    question = (
        f"¿La cabeza que más mira a «{label_text(attention.target, MAX_TITLE_CHARS)}» es la que más importa?"
    )
    figure.suptitle(join_lines(question.split(" "), room, sizes["title"], " "), fontsize=sizes["title"])
    findings = "\n".join(
        join_lines(line.split(" "), room, sizes["notes"], " ") for line in findings.splitlines()
    )
    figure.supxlabel(findings, fontsize=sizes["notes"], color=style.NOTES_COLOR, gid="agreement")
    settle_layout(left)
    if style.classroom_mode():  # the titles and findings took room: the grids are narrower now
        for ax in pair:
            _fit_to_final_width(ax, attention.values.shape[1], sizes)
    return pair
