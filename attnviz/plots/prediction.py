"""What the model predicts, as bars: its top guesses before and after switching heads off.

:func:`plot_prediction` draws a masked word's top guesses with their probabilities (or GPT-2's
next tokens), with every head on and, beside them, with some heads off; the hidden word's own
probability is highlighted, before → after.  A model without that head (the offline MiniLM)
has no guesses to show: :func:`plot_vector_change` draws what it does produce, how much its
sentence vector turns (``1 − cos``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..core.errors import InvalidInputTypeError
from ..core.knockout import format_heads
from ..core.knockout_outcome import Knockout
from ..core.prediction import NextTokenPrediction, Prediction
from ..core.result import AttentionResult
from . import style
from .heatmap import settle_layout
from .labels import MAX_LABEL_CHARS, MAX_TITLE_CHARS, join_lines, label_text, side_points

if TYPE_CHECKING:
    from matplotlib.axes import Axes

#: The hidden word's bars: neither blue nor red, which mean a low and a high weight in every view.
HIGHLIGHT = "#e08214"
#: The other guesses' bars.
OTHER = "0.72"
#: What the sentence-vector picture measures (the axis says it, and the issue asks for these words).
VECTOR_CHANGE_LABEL = "cuánto cambia el vector de la frase (1 − coseno)"

AnyPrediction = Prediction | NextTokenPrediction


def format_probability(probability: float) -> str:
    """A probability as the pictures and the CLI write it: 2 decimals, 2 digits when it is small.

    Examples
    --------
    >>> format_probability(0.4131), format_probability(0.0123), format_probability(2.2e-11)
    ('0.41', '0.012', '2.2e-11')
    """
    if probability >= 0.1:
        return f"{probability:.2f}"
    if probability >= 0.0001:
        return f"{probability:.2g}"
    return f"{probability:.1e}"


def as_prediction(value: object) -> AnyPrediction:
    """``value`` if it is a prediction; a result's ``prediction``; a Spanish error otherwise.

    Examples
    --------
    >>> as_prediction(attnviz.extract(model, tokenizer, text, mask="gato")).word
    'gato'
    """
    if isinstance(value, Prediction | NextTokenPrediction):
        return value
    if isinstance(value, AttentionResult) and value.prediction is not None:
        return value.prediction
    if isinstance(value, AttentionResult):
        raise InvalidInputTypeError(
            "Este resultado no tiene predicción: extrae la frase con una palabra tapada, "
            'attnviz.extract(modelo, tokenizador, texto, mask="palabra").',
            "This result has no prediction: extract the sentence with a masked word, "
            'attnviz.extract(model, tokenizer, text, mask="word").',
        )
    raise InvalidInputTypeError(
        "plot_prediction dibuja lo que devuelven attnviz.predict_masked o attnviz.extract(..., mask=...), "
        f"no {type(value).__name__}.",
        "plot_prediction draws what attnviz.predict_masked or attnviz.extract(..., mask=...) return, "
        f"not {type(value).__name__}.",
    )


def heads_phrase(prediction: AnyPrediction, n_heads: int | None = None) -> str:
    """``"con todas las cabezas"``, ``"con 3:5 apagada"``, ``"con 3:*, 4:0 apagadas"``.

    ``n_heads`` (heads per layer) lets a whole layer read ``3:*``.

    Examples
    --------
    >>> heads_phrase(attnviz.predict_masked(model, tokenizer, text, "gato", heads_off="3:5"))
    'con 3:5 apagada'
    """
    if not prediction.heads_off:
        return "con todas las cabezas"
    plural = "s" if len(prediction.heads_off) > 1 else ""
    return f"con {format_heads(prediction.heads_off, n_heads, limit=4)} apagada{plural}"


@dataclass(frozen=True)
class _Row:
    label: str
    probability: float | None  # None: a group's heading, no bar
    highlighted: bool = False


def _rows(prediction: AnyPrediction, compared: bool, n_heads: int | None) -> list[_Row]:
    """A group of rows: its heading (when before and after are compared), the guesses, the word."""
    rows = [_Row(heads_phrase(prediction, n_heads).capitalize() + ":", None)] if compared else []
    word = prediction.word if isinstance(prediction, Prediction) else None
    first_piece = prediction.pieces[0].strip() if isinstance(prediction, Prediction) else None
    for text, probability in prediction.top:
        rows.append(_Row(label_text(text, MAX_LABEL_CHARS), probability, text.strip() == first_piece))
    if isinstance(prediction, Prediction) and not (
        len(prediction.pieces) == 1 and any(r.highlighted for r in rows)
    ):
        # The word is not among the guesses, or has several pieces: its own bar, its own probability.
        pieces = f", {len(prediction.pieces)} piezas" if len(prediction.pieces) > 1 else ""
        rows.append(
            _Row(
                f"«{label_text(word or '', MAX_LABEL_CHARS)}» (la tapada{pieces})",
                prediction.probability,
                True,
            )
        )
    return rows


def plot_prediction(
    before: AnyPrediction | AttentionResult,
    after: AnyPrediction | AttentionResult | None = None,
    ax: Axes | None = None,
    *,
    fontsize: float | None = None,
    title: str | None = None,
) -> Axes:
    """Draw the model's top guesses as bars, with every head on and (``after``) with some heads off.

    Each bar says its probability.  The hidden word's own bar is highlighted (orange) and the
    title gives its probability before → after.  A word of several pieces gets a bar of its
    own: its probability is the product of each piece's, each at its own masked position,
    while the guesses are for its first piece (a note says so).

    Parameters
    ----------
    before : Prediction, NextTokenPrediction or AttentionResult
        From :func:`attnviz.predict_masked`, :func:`attnviz.predict_next` or
        :func:`attnviz.extract` with ``mask=...``.
    after : same, optional
        The same sentence and word with heads switched off (``heads_off=...``).
    ax : matplotlib Axes, optional
        Where to draw; ``None`` makes a new figure.
    fontsize : float, optional
        Base text size in points; ``attnviz.plots.style.CLASSROOM_FONTSIZE`` for a projector.
    title : str, optional
        Replaces the first line of the title ("¿Qué palabra va en lugar de «…»?").

    Returns
    -------
    matplotlib Axes
        Bars have gids ``"bar-<i>"`` (top to bottom), the hidden word's ``"word-<i>"``; their
        numbers ``"value-<i>"``; group headings ``"group-<i>"``; the notes ``"notes"``.

    Examples
    --------
    >>> text = "Los perros que persiguieron al gato cruzaron la calle."
    >>> before = attnviz.extract(model, tokenizer, text, mask="cruzaron")
    >>> after = attnviz.extract(model, tokenizer, text, mask="cruzaron", heads_off="8:*")
    >>> attnviz.plot_prediction(before, after, fontsize=attnviz.plots.style.CLASSROOM_FONTSIZE)
    """
    import matplotlib.pyplot as plt

    first = as_prediction(before)
    second = None if after is None else as_prediction(after)
    # A result knows how many heads a layer has: a whole layer off then reads "3:*".
    n_heads = next((r.n_heads for r in (after, before) if isinstance(r, AttentionResult)), None)
    if second is not None and (
        type(second) is not type(first)
        or second.text != first.text
        or getattr(second, "word", None) != getattr(first, "word", None)
    ):
        raise InvalidInputTypeError(
            "Antes y después deben ser la misma frase con la misma palabra tapada; solo cambian las "
            "cabezas apagadas.",
            "Before and after must be the same sentence with the same masked word; only the heads "
            "switched off change.",
        )
    sizes = style.font_sizes(fontsize)
    groups = [first] if second is None else [first, second]
    rows: list[_Row] = []
    for prediction in groups:
        rows.extend(_rows(prediction, second is not None, n_heads))
    if ax is None:
        height = 0.42 * len(rows) * sizes["labels"] / style.FONTSIZE + 1.8
        width = 8.5 * max(1.0, sizes["labels"] / style.FONTSIZE) ** 0.5
        # On a projector no wider than the screen shows at full size (taller is fine: it scrolls).
        width = min(width, style.CLASSROOM_WIDTH) if style.classroom_mode() else width
        _, ax = plt.subplots(figsize=(width, height), layout="constrained")
    top = max((r.probability or 0.0) for r in rows)
    bars = 0
    for y, row in enumerate(rows):
        if row.probability is None:
            ax.text(
                0,
                y,
                row.label,
                fontsize=sizes["labels"],
                fontweight="bold",
                va="center",
                gid=f"group-{y}",
                transform=ax.get_yaxis_transform(),
            )
            continue
        colour = HIGHLIGHT if row.highlighted else OTHER
        gid = f"word-{bars}" if row.highlighted else f"bar-{bars}"
        ax.barh(
            y,
            row.probability,
            height=0.7,
            color=colour,
            edgecolor="black" if row.highlighted else "none",
            gid=gid,
        )
        ax.text(
            row.probability + top * 0.02,
            y,
            format_probability(row.probability),
            va="center",
            fontsize=sizes["values"],
            fontweight="bold" if row.highlighted else "normal",
            color=style.readable_color(HIGHLIGHT) if row.highlighted else "black",
            gid=f"value-{bars}",
        )
        bars += 1
    ax.set_yticks(
        range(len(rows)),
        [r.label if r.probability is not None else "" for r in rows],
        fontsize=sizes["labels"],
    )
    for tick, row in zip(ax.get_yticklabels(), rows, strict=True):
        if row.highlighted:
            tick.set(fontweight="bold", color=style.readable_color(HIGHLIGHT))
    ax.set_ylim(len(rows) - 0.5, -0.5)
    _value_axis(ax, top, "probabilidad", sizes)
    ax.set_title(_title(first, second, title, n_heads), fontsize=sizes["title"])
    # The grey notes go under the axis' name, whatever its size: x from the Axes, y from the label.
    notes = ax.annotate(
        "",
        xy=(0.0, 0.0),
        xycoords=(ax.transAxes, ax.xaxis.label),
        xytext=(0.0, -0.4 * sizes["notes"]),
        textcoords="offset points",
        fontsize=sizes["notes"],
        color=style.NOTES_COLOR,
        ha="left",
        va="top",
        gid="notes",
    )
    # The notes wrap to the Axes' width, known once the layout has placed the labels.
    ax.figure.canvas.figure.draw_without_rendering()
    notes.set_text(_wrapped(_notes(first), side_points(ax, "x"), sizes["notes"]))
    if style.classroom_mode():
        # Long labels push the bars right: the title starts over the bars and wraps before the edge.
        root = style.root_figure(ax)
        left = ax.get_position().x0 * root.get_figwidth() * 72
        room = root.get_figwidth() * 72 - left - sizes["title"]
        title = _wrapped(ax.get_title().split("\n"), room, sizes["title"])
        ax.set_title("")
        ax.set_title(title, fontsize=sizes["title"], loc="left")
    settle_layout(ax)
    return ax


def _wrapped(notes: list[str], width: float, size: float) -> str:
    """Each note on its own lines, broken between words: a note wider than the Axes would squeeze it."""
    return "\n".join(join_lines(note.split(" "), width, size, " ") for note in notes)


def _value_axis(ax: Axes, top: float, label: str, sizes: dict[str, float]) -> None:
    """The bars' axis: from 0 to a little past the longest bar (room for its number), named ``label``."""
    from matplotlib.ticker import MaxNLocator

    right = top * 1.3 if top > 0 else 1.0
    ticks = MaxNLocator(5).tick_values(0.0, right)
    # Only ticks inside the axis: one past its end would still be a label on the figure.
    # On a projector the numbers on the bars say it: a row of small ticks would only crowd them.
    ax.set_xticks([] if style.classroom_mode() else [t for t in ticks if 0 <= t <= right])
    ax.set_xlim(0, right)
    ax.tick_params(axis="y", length=0)
    ax.tick_params(axis="x", labelsize=sizes["notes"])
    ax.set_xlabel(label, fontsize=sizes["labels"])
    ax.spines[["top", "right"]].set_visible(False)


def _title(first: AnyPrediction, second: AnyPrediction | None, title: str | None, n_heads: int | None) -> str:
    if isinstance(first, NextTokenPrediction):
        end = label_text(first.text[-MAX_TITLE_CHARS:], MAX_TITLE_CHARS)
        return title or f"¿Qué token sigue a «{end}»?"
    word = label_text(first.word, MAX_TITLE_CHARS)
    heading = title or f"¿Qué palabra va en lugar de «{word}»?"
    line = f"P(«{word}») = {format_probability(first.probability)}"
    if second is not None and isinstance(second, Prediction):
        heads = heads_phrase(second, n_heads)
        # A long list of heads is in the group's heading: the title keeps to one line.
        line += f" → {format_probability(second.probability)} {heads if len(heads) <= 30 else 'después'}"
    return f"{heading}\n{line}"


def _notes(prediction: AnyPrediction) -> list[str]:
    if isinstance(prediction, NextTokenPrediction):
        return ["la probabilidad de cada token como el siguiente del texto"]
    if len(prediction.pieces) == 1:
        return [f"«{prediction.word}» tapada: el modelo no la ve y la adivina por el resto de la frase"]
    pieces = " + ".join(prediction.pieces)
    return [
        f"«{prediction.word}» son {len(prediction.pieces)} piezas ({pieces}), todas tapadas",
        "su probabilidad es el producto de la de cada pieza en su posición",
        "las opciones son para la primera pieza",
    ]


def plot_vector_change(
    changes: Mapping[str, float] | float,
    ax: Axes | None = None,
    *,
    fontsize: float | None = None,
    title: str | None = None,
) -> Axes:
    """Draw how much the sentence vector turns when heads are switched off: ``1 − cos``, as bars.

    The picture for a model without a masked-word head (the offline MiniLM), whose output is a
    sentence vector: 0 means the vector did not turn at all.

    Parameters
    ----------
    changes : mapping of str to float, or float
        Each knockout's name (``"3:5"``, ``"capa 3"``) and its change, from
        :func:`attnviz.vector_change`; one number is drawn as one bar.
    ax : matplotlib Axes, optional
        Where to draw; ``None`` makes a new figure.
    fontsize : float, optional
        Base text size in points; ``attnviz.plots.style.CLASSROOM_FONTSIZE`` for a projector.
    title : str, optional
        Replaces "Sin cabeza de predicción: el vector de la frase".

    Returns
    -------
    matplotlib Axes
        Bars have gids ``"change-<i>"``, their numbers ``"value-<i>"``.

    Examples
    --------
    >>> before = attnviz.sentence_vector(model, tokenizer, text)
    >>> after = attnviz.sentence_vector(model, tokenizer, text, heads_off="3:5")
    >>> attnviz.plot_vector_change({"3:5": attnviz.vector_change(before, after)})
    """
    import matplotlib.pyplot as plt

    items = list(({"cabezas apagadas": changes} if not isinstance(changes, Mapping) else changes).items())
    if not items:
        raise InvalidInputTypeError(
            "No hay ningún cambio que dibujar: pasa {nombre: vector_change(antes, después)}.",
            "There is no change to draw: pass {name: vector_change(before, after)}.",
        )
    sizes = style.font_sizes(fontsize)
    if ax is None:
        height = 0.5 * len(items) * sizes["labels"] / style.FONTSIZE + 1.8
        _, ax = plt.subplots(figsize=(8.0, height), layout="constrained")
    values = [float(v) for _, v in items]
    top = max(max(values), 0.0)
    for i, value in enumerate(values):
        ax.barh(i, value, height=0.6, color=OTHER, gid=f"change-{i}")
        ax.text(
            value + (top or 1.0) * 0.02,
            i,
            f"{value:.4f}",
            va="center",
            fontsize=sizes["values"],
            gid=f"value-{i}",
        )
    ax.set_yticks(
        range(len(items)), [label_text(name, MAX_LABEL_CHARS) for name, _ in items], fontsize=sizes["labels"]
    )
    ax.set_ylim(len(items) - 0.5, -0.5)
    _value_axis(ax, top, VECTOR_CHANGE_LABEL, sizes)
    ax.set_title(title or "Sin cabeza de predicción: el vector de la frase", fontsize=sizes["title"])
    settle_layout(ax)
    return ax


def plot_knockout(outcome: Knockout, ax: Axes | None = None, *, fontsize: float | None = None) -> Axes:
    """Draw what switching heads off changed: the guesses before and after, or the sentence vector's turn.

    Parameters
    ----------
    outcome : Knockout
        What :func:`attnviz.knock_out` returns.
    ax : matplotlib Axes, optional
        Where to draw; ``None`` makes a new figure.
    fontsize : float, optional
        Base text size in points.

    Returns
    -------
    matplotlib Axes

    Examples
    --------
    >>> outcome = attnviz.knock_out(model, tokenizer, "Los perros cruzaron la calle.", "3:5", mask="cruzaron")
    >>> attnviz.plot_knockout(outcome).figure.savefig("apagar.png")
    """
    if not isinstance(outcome, Knockout):
        raise InvalidInputTypeError(
            f"plot_knockout dibuja lo que devuelve attnviz.knock_out(...), no {type(outcome).__name__}.",
            f"plot_knockout draws what attnviz.knock_out(...) returns, not {type(outcome).__name__}.",
        )
    if outcome.before is not None:
        return plot_prediction(outcome.before, outcome.after, ax, fontsize=fontsize)
    assert outcome.change is not None
    return plot_vector_change({outcome.named: outcome.change}, ax, fontsize=fontsize)
