"""Two (or more) sentences side by side on ONE colour scale, found by word («banco») rather than by index."""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from ..core.aggregate import head_mean
from ..core.errors import AttnvizError
from ..core.result import AttentionResult, require_result
from ..core.words import to_words
from . import style
from .heatmap import MASKED_EDGE, MASKED_HATCH, heatmap_cmap, plot_heatmap, settle_layout
from .labels import LABEL_SPACING, MAX_TITLE_CHARS, join_lines, label_text, shorten, side_points
from .textview import plot_text

if TYPE_CHECKING:
    from matplotlib.axes import Axes

#: What the shared colour bar says for each scale.
COMMON_SCALE_LABELS: dict[str, str] = {
    "head": "peso de atención · escala común: 0 – máximo de todos los paneles",
    "absolute": "peso de atención · escala común: 0 – 1 (fija)",
    "row": "peso de atención · escala común: 0 – máximo de las filas comparadas",
}
#: Longest sentence a panel title shows.
MAX_SENTENCE_CHARS = 48


class WordNotFoundError(AttnvizError, LookupError):
    """The word to compare is not in the sentence."""


def _plain(text: str) -> str:
    """Case- and accent-free form, so that «Banco» finds «banco» and «sente» finds «senté»."""
    decomposed = unicodedata.normalize("NFD", text.casefold().strip())
    return "".join(ch for ch in decomposed if unicodedata.category(ch) != "Mn")


def find_word(result: AttentionResult, word: str, occurrence: int = 0) -> int:
    """Index of ``word`` in ``result``: the word itself at word level, its first piece at token level.

    Matching ignores case; accents are ignored only if no word matches with them.

    Parameters
    ----------
    result : AttentionResult
        What :func:`attnviz.extract` or :func:`attnviz.to_words` returns.
    word : str
        The word to look for, e.g. ``"banco"``.
    occurrence : int
        Which occurrence when the word appears more than once, counted from 0.

    Returns
    -------
    int
        An index for ``source`` in any view of ``result``.

    Raises
    ------
    WordNotFoundError
        The word (or that occurrence of it) is not in the sentence; the message lists its words.

    Examples
    --------
    >>> attnviz.find_word(result, "gato")
    6
    """
    result = require_result(result)
    if not isinstance(word, str) or not word.strip():
        raise WordNotFoundError(
            f'Escribe la palabra que buscas como texto, por ejemplo "banco" (no {word!r}).',
            f'Give the word to look for as text, e.g. "banco" (not {word!r}).',
        )
    # Each word with the index a view takes for it: the word itself, or its first piece.
    starts = range(len(result.words)) if result.level == "word" else [start for start, _ in result.word_spans]
    words = [(i, w) for i, w in zip(starts, result.words, strict=True) if not result.special[i]]
    found = [i for i, w in words if w.casefold() == word.strip().casefold()]
    if not found:
        found = [i for i, w in words if _plain(w) == _plain(word)]
    sentence = shorten(result.text, MAX_SENTENCE_CHARS)
    if not found:
        listed = ", ".join(f"«{label_text(w, mathtext=False)}»" for _, w in words[:40])
        raise WordNotFoundError(
            f"La palabra «{word}» no está en «{sentence}». Sus palabras son: {listed}. Escribe una de ellas.",
            f"The word «{word}» is not in «{sentence}». Its words are: {listed}. Type one of them.",
        )
    if isinstance(occurrence, bool) or not isinstance(occurrence, int) or not 0 <= occurrence < len(found):
        raise WordNotFoundError(
            f"«{word}» aparece {len(found)} {'vez' if len(found) == 1 else 'veces'} en «{sentence}»: "
            f"elige occurrence entre 0 y {len(found) - 1}.",
            f"«{word}» appears {len(found)} time(s) in «{sentence}»: "
            f"pick occurrence from 0 to {len(found) - 1}.",
        )
    return found[occurrence]


Source = int | str | Sequence[int | str]


def _prepare(
    results: Sequence[AttentionResult], words: bool, source: Source | None
) -> tuple[list[AttentionResult], list[int | None]]:
    """The results (checked, merged into words if asked) and the source index in each, found by word."""
    results = [require_result(r) for r in results]
    if len(results) < 2:
        raise ValueError("compare needs at least two results")
    results = [to_words(r) if words and r.level != "word" else r for r in results]
    if source is None:
        return results, [None] * len(results)
    wanted = (
        list(source)
        if isinstance(source, Sequence) and not isinstance(source, str)
        else [source] * len(results)
    )
    if len(wanted) != len(results):
        raise ValueError(f"source needs one word or index per result ({len(results)}), got {len(wanted)}")
    return results, [
        find_word(r, w) if isinstance(w, str) else r.check_token(w)
        for r, w in zip(results, wanted, strict=True)
    ]


def _head_name(layer: int | None, head: int | None) -> str:
    where = "" if layer is None else f"Capa {layer} · "
    return where + ("media de las cabezas" if head is None else f"cabeza {head}")


def panel_title(result: AttentionResult, source: int | None) -> str:
    """«sentence» and, when there is one, the source word."""
    sentence = f"«{shorten(result.text, MAX_SENTENCE_CHARS)}»"
    if source is None:
        return sentence
    word = label_text(result.tokens[source], MAX_TITLE_CHARS)
    return f"{sentence}\ndesde «{word}» ({result.unit_noun} {source})"


def plot_compare(
    results: Sequence[AttentionResult],
    layer: int,
    head: int | None,
    *,
    source: Source | None = None,
    kind: Literal["heatmap", "text"] = "heatmap",
    words: bool = False,
    ax: Sequence[Axes] | None = None,
    scale: style.Scale | None = None,
    fontsize: float | None = None,
) -> list[Axes]:
    """Draw several results side by side, every panel on the same colour scale.

    Parameters
    ----------
    results : sequence of AttentionResult
        Two or more results (e.g. two sentences with the same ambiguous word).
    layer : int
        Which layer, counted from 0.
    head : int or None
        Which head; None for the mean of the layer's heads.
    source : str, int or sequence of them, optional
        The word (or index) to mark, and with ``kind="text"`` to read the attention from: one
        for all results, or one per result.  An absent word is a :class:`WordNotFoundError`.
    kind : "heatmap" or "text"
        Whole matrices, or the highlighted text of the source's attention (needs a source).
    words : bool
        Merge word pieces first (:func:`attnviz.to_words`).
    ax : sequence of matplotlib Axes, optional
        One Axes per result; ``None`` makes a new figure: heatmaps side by side, texts one above the other.
    scale : {"head", "absolute", "row"}, optional
        The shared top (:func:`attnviz.plots.style.scale_top`): the largest top of all panels (default),
        1, or each row's own (heatmaps) / the largest of the source rows' (texts).
    fontsize : float, optional
        Base text size in points; ``attnviz.plots.style.CLASSROOM_FONTSIZE`` for a projector.
        After :func:`attnviz.modo_clase`, at least that, on a figure laid out for a projector.

    Returns
    -------
    list of matplotlib Axes
        One per result, all with the same ``norm.vmax``; the shared colour bar's Axes is ``"colorbar"``.
        In classroom mode (:func:`attnviz.modo_clase`) the panels go one under another, each in a
        subfigure of its own: the figure is ``attnviz.plots.style.root_figure(axes[0])``.

    Examples
    --------
    >>> a = attnviz.extract(model, tokenizer, "Me senté en el banco del parque.")
    >>> b = attnviz.extract(model, tokenizer, "Saqué dinero del banco ayer.")
    >>> attnviz.plot_compare([a, b], 3, None, source="banco", kind="text")
    """

    scale = style.check_scale(scale)
    sizes = style.font_sizes(fontsize)
    if kind not in ("heatmap", "text"):
        raise ValueError(f"kind must be 'heatmap' or 'text', not {kind!r}")
    results, chosen = _prepare(results, words, source)
    if kind == "text" and any(s is None for s in chosen):
        raise ValueError("kind='text' needs a source")
    matrices = [head_mean(r, layer) if head is None else r.head(layer, head) for r in results]
    # The largest top of any panel on its own.
    vmax = max(
        style.scale_top(matrix, source if kind == "text" else None, scale, result.causal)
        for result, matrix, source in zip(results, matrices, chosen, strict=True)
    )

    count = len(results)
    if ax is None and style.classroom_mode():
        # One under another, as wide as a projector shows them: a title of three lines over each.
        axes = _stacked(count, style.CLASSROOM_HEIGHT if kind == "heatmap" else 2.6)
    elif kind == "heatmap":
        side = float(np.clip(0.3 * max(r.n_tokens for r in results) + 3.0, 4.5, 8.0))
        axes = _panels(ax, count, (1, count), figsize=(side * count + 1.0, side + 1.0))
    else:
        axes = _panels(ax, count, (count, 1), figsize=(10.0, 1.9 * count + 1.2))
    for panel, result, matrix, source in zip(axes, results, matrices, chosen, strict=True):
        title = f"{panel_title(result, source)}\n{_head_name(layer, head)}"
        if kind == "heatmap":
            plot_heatmap(
                result, layer, head, panel, matrix=matrix, source=source, colorbar=False,
                title=title, scale=scale, vmax=vmax, fontsize=fontsize,
            )  # fmt: skip
        else:
            assert source is not None
            plot_text(
                result, layer, head if head is not None else 0, source, panel, matrix=matrix,
                scale=scale, vmax=vmax, fontsize=fontsize, title=title, colorbar=False,
            )  # fmt: skip
    _finish(axes, vmax, COMMON_SCALE_LABELS[scale], sizes["notes"])
    return axes


def plot_compare_layers(
    results: Sequence[AttentionResult],
    source: Source,
    head: int | None = None,
    *,
    layers: Sequence[int] | None = None,
    words: bool = False,
    hide_special: bool = False,
    ax: Sequence[Axes] | None = None,
    scale: Literal["head", "absolute"] | None = None,
    fontsize: float | None = None,
) -> list[Axes]:
    """Layer by layer: where the source word looks in each sentence, every panel on one colour scale.

    In each result's panel, row ``l`` is the attention from the source word in layer ``l``.

    Parameters
    ----------
    results : sequence of AttentionResult
        Two or more results.
    source : str, int or sequence of them
        The word the attention comes from (or its index): one for all results, or one per result.
    head : int or None
        Which head; None (default) for the mean of each layer's heads.
    layers : sequence of int, optional
        Which layers, in order; default all.
    words : bool
        Merge word pieces first (:func:`attnviz.to_words`).
    hide_special : bool
        Hatch the special tokens and leave them out of the scale: they often take most of the
        attention and leave the words all blue.
    ax : sequence of matplotlib Axes, optional
        One Axes per result; ``None`` makes a new figure with the panels side by side.
    scale : {"head", "absolute"}, optional
        The shared top: the largest weight drawn, rounded up as in every view (default), or 1.
    fontsize : float, optional
        Base text size in points; ``attnviz.plots.style.CLASSROOM_FONTSIZE`` for a projector.
        After :func:`attnviz.modo_clase`, at least that, on a figure laid out for a projector.

    Returns
    -------
    list of matplotlib Axes
        One per result; image gid ``"layers"``, data ``[layers, tokens]``, one shared ``norm.vmax``.
        In classroom mode one under another, each in a subfigure (see :func:`plot_compare`).

    Examples
    --------
    >>> attnviz.plot_compare_layers([a, b], "banco", words=True, hide_special=True)
    """
    from matplotlib.patches import Rectangle

    from .token_ticks import TokenFormatter, TokenLocator

    common = style.check_scale(scale, ("head", "absolute"))
    sizes = style.font_sizes(fontsize)
    results, chosen = _prepare(results, words, source)
    rows = []
    for result, index in zip(results, chosen, strict=True):
        assert index is not None
        picked = list(range(result.n_layers)) if layers is None else [result.check_layer(i) for i in layers]
        heads = slice(None) if head is None else [result.check_head(head)]
        data = result.attention[picked][:, heads, index, :].mean(axis=1)
        hidden = np.broadcast_to(np.asarray(result.special) if hide_special else False, data.shape)
        rows.append((picked, np.ma.masked_array(np.asarray(data, dtype=np.float64), mask=hidden)))
    vmax = style.colour_scale_max(np.array([d.max() for _, d in rows if d.count()]), common)

    widths = [max(r.n_tokens, 4) for r in results]
    grow = sizes["labels"] / style.FONTSIZE
    count, most = len(results), max(len(p) for p, _ in rows)
    if ax is None and style.classroom_mode():
        # One under another, as wide as a projector shows them; each as tall as its layers' labels need.
        axes = _stacked(
            count, max(style.CLASSROOM_HEIGHT, LABEL_SPACING * sizes["labels"] * most / 72.0 + 2.4)
        )
    else:
        inches = (min(0.42 * sum(widths) * grow + 2.5, 20.0), 0.38 * most * grow + 2.6)
        axes = _panels(ax, count, (1, count), figsize=inches, gridspec_kw={"width_ratios": widths})
    for panel, result, origin, (picked, data) in zip(axes, results, chosen, rows, strict=True):
        assert origin is not None
        panel.patch.set(hatch=MASKED_HATCH, edgecolor=MASKED_EDGE)
        image = panel.imshow(
            data, cmap=heatmap_cmap(), vmin=0.0, vmax=vmax, aspect="auto", interpolation="nearest"
        )
        image.set_gid("layers")
        panel.xaxis.set_major_locator(TokenLocator(result.n_tokens, sizes["labels"], origin, along="x"))
        panel.xaxis.set_major_formatter(TokenFormatter([label_text(t) for t in result.tokens]))
        panel.tick_params(axis="x", labelrotation=90)
        panel.set_yticks(range(len(picked)), [f"capa {i}" for i in picked])
        panel.tick_params(length=0, labelsize=sizes["labels"])
        panel.add_patch(
            Rectangle(
                (origin - 0.5, -0.5),
                1.0,
                len(picked),
                fill=False,
                edgecolor="black",
                linewidth=2.0,
                gid="source",
            )
        )
        notes = [_head_name(None, head), "recuadro: la propia palabra"]
        if hide_special:
            notes.append("[CLS] y [SEP] rayados, fuera de la escala")
        size = sizes["title"] * 0.85
        notes_line = join_lines(notes, side_points(panel, "x"), size)
        panel.set_title(f"{panel_title(result, origin)}\n{notes_line}", fontsize=size)
    _finish(axes, vmax, COMMON_SCALE_LABELS[common], sizes["notes"])
    return axes


#: Inches under the stacked panels of classroom mode for the shared colour bar.
COLORBAR_ROOM = 0.95


def _stacked(count: int, height: float) -> list[Axes]:
    """Classroom mode: ``count`` panels one under another, each ``height`` inches and laid out on its own
    (a subfigure each, so that one panel's labels take no room from another's), the colour bar below."""
    import matplotlib.pyplot as plt

    figure = plt.figure(figsize=(style.CLASSROOM_WIDTH, height * count + COLORBAR_ROOM), layout="constrained")
    rooms: Any = figure.subfigures(count + 1, 1, height_ratios=[height] * count + [COLORBAR_ROOM])
    return [room.add_subplot() for room in list(rooms)[:count]]


def _panels(ax: Sequence[Axes] | None, count: int, shape: tuple[int, int], **figure: Any) -> list[Axes]:
    """The caller's Axes (one per result, checked), or a new figure with ``shape`` panels."""
    import matplotlib.pyplot as plt

    if ax is None:
        return list(np.atleast_1d(plt.subplots(*shape, layout="constrained", **figure)[1]))
    axes = list(ax)
    if len(axes) != count:
        raise ValueError(f"ax needs one Axes per result ({count}), got {len(axes)}")
    return axes


def _finish(axes: list[Axes], vmax: float, label: str, fontsize: float) -> None:
    """One colour bar under every panel, from 0 to the shared ``vmax``; then the layout settled."""
    import matplotlib.pyplot as plt
    from matplotlib.cm import ScalarMappable
    from matplotlib.colors import Normalize
    from matplotlib.figure import SubFigure

    mappable = ScalarMappable(norm=Normalize(0.0, vmax), cmap=plt.get_cmap(style.CMAP))
    holder = axes[0].figure
    if isinstance(holder, SubFigure):
        # The stacked panels of classroom mode: the bar in the room left under them.
        room = holder.figure.subfigs[-1]
        cax = room.add_axes((0.25, 0.72, 0.5, 0.14))
        bar = style.add_colorbar(room, mappable, label, fontsize, cax=cax, orientation="horizontal")
    else:
        where = {"ax": axes, "location": "bottom", "shrink": 0.5, "aspect": 30}
        bar = style.add_colorbar(holder, mappable, label, fontsize, **where)
    bar.ax.set_label("colorbar")
    settle_layout(axes[0])
