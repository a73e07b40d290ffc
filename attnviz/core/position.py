"""Word order: self-attention alone does not know it; the position embeddings tell it.

:func:`position_experiment` runs three passes of one sentence: as written, with its words
shuffled, and as written with every token given the same position (:func:`without_word_order`).
A "next token" head keeps looking at the next *position* when the words are shuffled, and loses
it when the positions are all the same: that is what position embeddings are for.  (The lesson
uses the next-token head: finding the previous-token head is one of its exercises.)
"""

from __future__ import annotations

import contextlib
import random
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from .errors import InvalidInputTypeError, InvalidTextError, MeasureUnavailableError
from .extraction import extract
from .metrics import head_metrics
from .result import AttentionResult
from .tokens import clean_text


def position_embeddings(model: Any) -> Any:
    """The model's learned position-embedding table (``position_embeddings``; GPT-2: ``wpe``).

    Raises
    ------
    MeasureUnavailableError
        The model has no such table (e.g. rotary or relative positions).

    Examples
    --------
    >>> position_embeddings(model).weight.shape
    torch.Size([512, 384])
    """
    base = getattr(model, "base_model", model)
    for owner, name in ((getattr(base, "embeddings", None), "position_embeddings"), (base, "wpe")):
        table = getattr(owner, name, None)
        if table is not None and hasattr(table, "weight"):
            return table
    raise MeasureUnavailableError(
        "este modelo no guarda la posición en una tabla de embeddings de posición: el experimento "
        "de orden solo funciona con BERT, RoBERTa, DistilBERT o GPT-2.",
        "this model keeps no position-embedding table: the word-order experiment works only with "
        "BERT, RoBERTa, DistilBERT or GPT-2.",
    )


@contextlib.contextmanager
def without_word_order(model: Any) -> Iterator[None]:
    """Inside the block, every token gets the position embedding of the first position.

    The tokens keep their own embeddings; only the information "where am I in the sentence" is
    gone.  The hook is removed on exit, also on error, so later passes see the model unchanged.

    Examples
    --------
    >>> with without_word_order(model):
    ...     blind = attnviz.extract(model, tokenizer, "El perro ladra.")
    """
    table = position_embeddings(model)

    def same_position(_module: Any, _inputs: Any, output: Any) -> Any:
        return output[..., :1, :].expand_as(output)

    handle = table.register_forward_hook(same_position)
    try:
        yield
    finally:
        handle.remove()


def shuffled_words(text: str, seed: int = 0) -> str:
    """The words of ``text`` in another order (the same words, a different order whenever possible).

    Examples
    --------
    >>> shuffled_words("El perro ladra mucho.", seed=1)
    'ladra El mucho. perro'
    """
    words = clean_text(text).split()
    if len(set(words)) < 2:
        raise InvalidTextError(
            "Para desordenar una frase hacen falta al menos dos palabras distintas: "
            "escribe una frase más larga.",
            "Shuffling needs at least two different words: write a longer sentence.",
        )
    rng = random.Random(seed)
    shuffled = list(words)
    while shuffled == words:
        rng.shuffle(shuffled)
    return " ".join(shuffled)


#: The neighbour a head may follow -> its name in :class:`~attnviz.core.metrics.HeadMetrics`, and in Spanish.
NEIGHBOURS = {"next": ("following", "siguiente"), "prev": ("previous", "anterior")}


def _share(result: AttentionResult, towards: str, layer: int, head: int) -> float:
    return float(getattr(head_metrics(result), NEIGHBOURS[towards][0])[layer, head])


def _uniform_share(result: AttentionResult) -> float:
    """What a head that spreads each row evenly over the tokens it can see sends to one neighbour."""
    n = result.n_tokens
    if result.causal:
        return float(np.mean([1.0 / (i + 1) for i in range(1, n)])) if n > 1 else 0.0
    return 1.0 / n


@dataclass(frozen=True)
class PositionExperiment:
    """The "next token" (or "previous token") head of a sentence, measured three ways, and its control.

    Shares are the head's mean attention to that neighbour (:attr:`towards`): ``as_written``, ``shuffled``
    (the words of :attr:`shuffled_text` in another order), ``without_order`` (the sentence as
    written, every token at the first position) and ``uniform`` (a head that spreads its
    attention evenly: the control).
    """

    model_name: str
    text: str
    shuffled_text: str
    towards: str
    layer: int
    head: int
    as_written: float
    shuffled: float
    without_order: float
    uniform: float

    def summary(self) -> str:
        """What the three passes show, in Spanish, from the numbers of this run."""
        head = f"La cabeza {self.head} de la capa {self.layer} de {self.model_name}"
        where = NEIGHBOURS[self.towards][1]
        follows = (
            f"sigue mirando a la posición {where}, sea cual sea la palabra que haya allí"
            if self.shuffled >= 0.5 * self.as_written
            else f"deja de mirar tanto al {where}: también le importa qué palabra hay allí"
        )
        lost = (
            "cerca de lo que daría una atención repartida por igual"
            if self.without_order <= 2 * self.uniform
            else (
                "todavía por encima de una atención repartida por igual: "
                "algo de orden le llega por otro camino"
            )
        )
        return (
            f"{head} manda el {self.as_written:.0%} de su atención al token {where}. Con las palabras "
            f"desordenadas manda el {self.shuffled:.0%}: {follows}. Con la frase en su orden pero todas "
            f"las posiciones iguales (sin embeddings de posición) baja al {self.without_order:.0%}, "
            f"{lost} ({self.uniform:.0%}). La atención por sí sola no sabe el orden: se lo dan los "
            "embeddings de posición."
        )


def position_experiment(
    model: Any, tokenizer: Any, text: str, *, towards: str | None = None, seed: int = 0
) -> PositionExperiment:
    """Find the head that looks most at the next token, then shuffle the words and remove the positions.

    Three forward passes: the sentence, its words shuffled, and the sentence without word order
    (:func:`without_word_order`).  The head is chosen on the sentence as written.

    Parameters
    ----------
    model, tokenizer
        What :func:`attnviz.load_model` returns (a model with a position-embedding table).
    text : str
        A sentence with at least two different words.
    towards : {"next", "prev"}, optional
        The neighbour the head follows: ``"next"`` by default, ``"prev"`` for a causal model
        (GPT-2 never looks ahead).
    seed : int
        Chooses the shuffled order.

    Returns
    -------
    PositionExperiment

    Examples
    --------
    >>> exp = attnviz.position_experiment(model, tokenizer, "El perro que persiguió al gato cruzó la calle.")
    >>> print(exp.summary())
    """
    position_embeddings(model)
    if towards not in (None, *NEIGHBOURS):
        raise InvalidInputTypeError(
            f'towards={towards!r} no existe: usa towards="next" (el siguiente) '
            'o towards="prev" (el anterior).',
            f'towards={towards!r} does not exist: use "next" or "prev".',
        )
    written = extract(model, tokenizer, text)
    towards = towards or ("prev" if written.causal else "next")
    shuffled_text = shuffled_words(text, seed)
    shares = getattr(head_metrics(written), NEIGHBOURS[towards][0])
    layer, head = (int(i) for i in np.unravel_index(np.argmax(shares), shares.shape))
    shuffled = extract(model, tokenizer, shuffled_text)
    with without_word_order(model):
        blind = extract(model, tokenizer, text)
    return PositionExperiment(
        model_name=written.model_name,
        text=written.text,
        shuffled_text=shuffled_text,
        towards=towards,
        layer=layer,
        head=head,
        as_written=_share(written, towards, layer, head),
        shuffled=_share(shuffled, towards, layer, head),
        without_order=_share(blind, towards, layer, head),
        uniform=_uniform_share(written),
    )
