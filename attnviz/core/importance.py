"""How much each head matters for one sentence: switch it off alone and measure what changes.

With a masked-language model the measure is how much the log-probability of a hidden word drops
(:func:`~attnviz.core.prediction.predict_masked` with that head off); with a model without that
head (the offline MiniLM) it is how much the sentence vector turns, ``1 − cos``
(:func:`~attnviz.core.prediction.sentence_vector`).  The ``layers × heads`` knockouts are rows of a
few batched forward passes (:func:`~attnviz.core.knockout.switch_off_per_row`), the same input
repeated, with the unchanged model as the first row of the first pass.
"""

from __future__ import annotations

import csv
import math
import numbers
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from .errors import InvalidInputTypeError
from .export import check_export_path
from .inputs import check_model_and_tokenizer, encode_readable
from .knockout import model_shape, switch_off_per_row
from .prediction import (
    find_word,
    has_masked_lm_head,
    mask_word,
    mean_over,
    model_inputs,
    only_positions,
    vector_change,
)
from .tokens import clean_text


@dataclass(frozen=True, eq=False)
class HeadImportance:
    """``values[layer, head]``: how much switching that head off alone changes the measure.

    ``kind`` says which measure it is: ``"log_probability"`` (``values`` is the original
    word's log-probability with every head on minus with that head off: positive when the head
    helped to guess it) or ``"sentence_vector"`` (``values`` is ``1 − cos`` between the sentence
    vector with every head on and with that head off).  ``measure`` says it in Spanish, for titles.
    """

    values: np.ndarray
    measure: str
    kind: Literal["log_probability", "sentence_vector"]
    text: str
    #: The hidden word (None for the sentence-vector measure).
    word: str | None
    #: The word's log-probability with every head on (nan for the sentence-vector measure).
    baseline: float

    def __post_init__(self) -> None:
        self.values.flags.writeable = False


def head_importance(
    model: Any,
    tokenizer: Any,
    text: str,
    word: str | int | None = None,
    *,
    batch_size: int = 16,
    progress: bool = True,
) -> HeadImportance:
    """Switch off each head alone and measure how much the prediction changes.

    For a model with a masked-word head, ``word`` is hidden (whole-word masking, see
    :func:`~attnviz.core.prediction.predict_masked`) and the value of a head is how much the
    word's log-probability drops without it.  For a model without one (the offline MiniLM) it is
    the change of the sentence vector, ``1 − cos``; ``word``, if given, must still be in the
    sentence.  ``layers × heads + 1`` rows in ``⌈(layers × heads + 1) / batch_size⌉`` passes.

    Parameters
    ----------
    model, tokenizer
        A model of a family attnviz knows (BERT, RoBERTa, DistilBERT, GPT-2, MiniLM) and its tokenizer.
    text : str
        The sentence.
    word : str or int, optional
        The word to hide (its text, first occurrence and exact case, or its index among the
        words counting special tokens); required with a masked-word head.
    batch_size : int
        Knockouts per forward pass: 16 is several times faster than 1 on a CPU.
    progress : bool
        Show a progress bar (tqdm).

    Returns
    -------
    HeadImportance

    Raises
    ------
    MeasureUnavailableError
        attnviz does not know where this model's heads are.
    InvalidTextError, IndexOutOfRangeError, InvalidInputTypeError
        An empty sentence, a word not in it, an index out of range, a bad ``batch_size``.

    Examples
    --------
    >>> head_importance(model, tokenizer, "Los niños cruzaron la calle.", "cruzaron").values.shape
    (12, 12)
    """
    import torch
    from tqdm.auto import tqdm

    check_model_and_tokenizer(model, tokenizer)
    n_layers, n_heads = model_shape(model)
    if isinstance(batch_size, bool) or not isinstance(batch_size, numbers.Integral) or batch_size < 1:
        raise InvalidInputTypeError(
            "batch_size es cuántas cabezas se apagan por pasada: un número entero desde 1, "
            f"no {batch_size!r}.",
            "batch_size is how many heads are switched off per pass: a whole number from 1, "
            f"not {batch_size!r}.",
        )
    masked_lm = has_masked_lm_head(model, tokenizer)
    if masked_lm:
        if word is None:
            raise InvalidInputTypeError(
                "Este modelo adivina palabras tapadas: di cuál tapar, por ejemplo "
                'head_importance(modelo, tokenizador, texto, "gato").',
                "This model guesses masked words: say which one to hide, e.g. "
                'head_importance(model, tokenizer, text, "gato").',
            )
        masked = mask_word(model, tokenizer, text, word)
        module, ids, type_ids = model, masked.ids, masked.encoded.type_ids
        positions, piece_ids = list(masked.positions), list(masked.piece_ids)

        def score(output: Any) -> np.ndarray:
            logits = output.logits
            if logits.shape[1] != len(positions):  # a head that ignored only_positions
                logits = logits[:, positions]
            # In float64: each piece's log-probability, summed.
            log_probs = torch.log_softmax(logits.double(), dim=-1)
            return log_probs[:, torch.arange(len(positions)), piece_ids].sum(dim=-1).cpu().numpy()

    else:
        encoded = encode_readable(model, tokenizer, clean_text(text))
        if word is not None:
            find_word(encoded, word)  # the same errors as with a masked-word model
        module = getattr(model, "base_model", model)
        ids, type_ids = encoded.ids, encoded.type_ids
        keep = [not s for s in encoded.special]
        positions = []

        def score(output: Any) -> np.ndarray:
            return mean_over(output[0], keep)

    # Row 0 is the model unchanged; row 1 + l*n_heads + h has only head (l, h) off.
    rows = 1 + n_layers * n_heads
    masks = np.ones((rows, n_layers, n_heads), dtype=np.float32)
    knockouts = np.arange(n_layers * n_heads)
    masks[1 + knockouts, knockouts // n_heads, knockouts % n_heads] = 0.0
    scores = []
    bar = tqdm(total=rows - 1, desc="Apagando cabezas una a una", unit="cabeza", disable=not progress)
    try:
        for start in range(0, rows, batch_size):
            stop = min(start + batch_size, rows)
            inputs = model_inputs(module, ids, type_ids, rows=stop - start)
            with (
                switch_off_per_row(model, masks[start:stop]),
                only_positions(model, positions if masked_lm else None),
                torch.inference_mode(),
            ):
                output = module(**inputs)
            scores.append(score(output))
            del output  # freed before the next pass allocates its own
            bar.update(stop - start - (start == 0))
    finally:
        bar.close()

    scored = np.concatenate(scores)
    if masked_lm:
        values = scored[0] - scored[1:]
        measure = f"caída de log-probabilidad de «{masked.word}»"
        baseline, word_text = float(scored[0]), masked.word
    else:
        values = np.array([vector_change(scored[0], v) for v in scored[1:]])
        measure = "cambio del vector de la frase (1 − coseno)"
        baseline, word_text = math.nan, None
    return HeadImportance(
        values=values.reshape(n_layers, n_heads),
        measure=measure,
        kind="log_probability" if masked_lm else "sentence_vector",
        text=clean_text(text),
        word=word_text,
        baseline=baseline,
    )


def mean_importance(grids: Sequence[HeadImportance]) -> HeadImportance:
    """The mean of several importance grids: several masked words, or several sentences.

    One sentence and one word is an anecdote; the mean over several says which heads matter
    in general for that kind of word.  Every grid must have the same shape and kind.

    Parameters
    ----------
    grids : sequence of HeadImportance
        What :func:`head_importance` returned for each sentence or word.

    Returns
    -------
    HeadImportance
        ``values`` is the mean; ``text`` and ``word`` list the sentences and words (``" | "``);
        ``baseline`` is the mean baseline.

    Examples
    --------
    >>> grids = [attnviz.head_importance(model, tokenizer, t, w) for t, w in pares]
    >>> attnviz.plot_importance(attnviz.mean_importance(grids))
    """
    grids = list(grids)
    if not grids or not all(isinstance(g, HeadImportance) for g in grids):
        raise InvalidInputTypeError(
            "Pasa una lista de rejillas de importancia (lo que devuelve attnviz.head_importance), "
            "al menos una.",
            "Pass a list of importance grids (what attnviz.head_importance returns), at least one.",
        )
    first = grids[0]
    if any(g.values.shape != first.values.shape or g.kind != first.kind for g in grids):
        raise InvalidInputTypeError(
            "Solo se pueden promediar rejillas del mismo modelo y de la misma medida.",
            "Only grids of the same model and measure can be averaged.",
        )
    words = [g.word for g in grids if g.word is not None]
    many = len(grids) > 1
    return HeadImportance(
        values=np.mean([g.values for g in grids], axis=0),
        measure=f"{first.measure.split(' de «')[0]}, media de {len(grids)}" if many else first.measure,
        kind=first.kind,
        text=" | ".join(g.text for g in grids),
        word=" | ".join(words) if words else None,
        baseline=float(np.mean([g.baseline for g in grids])),
    )


#: The value column of :func:`importance_to_csv`, by :attr:`HeadImportance.kind`.
CSV_VALUE_COLUMNS = {"log_probability": "log_probability_drop", "sentence_vector": "sentence_vector_change"}


def importance_to_csv(importance: HeadImportance, path: str | os.PathLike[str]) -> Path:
    """Write one row per head: layer, head and its value.

    The value's column says the measure: ``log_probability_drop`` or ``sentence_vector_change``.
    Indices start at 0 as everywhere in attnviz.  Returns the path written.

    Examples
    --------
    >>> importance_to_csv(head_importance(model, tokenizer, text, "cruzaron"), "importancia.csv")
    PosixPath('importancia.csv')
    """
    target = check_export_path(path, ".csv")
    with target.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(("layer", "head", CSV_VALUE_COLUMNS[importance.kind]))
        for (layer, head), value in np.ndenumerate(importance.values):
            writer.writerow((layer, head, f"{value:.8g}"))
    return target
