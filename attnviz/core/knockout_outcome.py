"""Switching heads off on one sentence, with or without a hidden word: the data a before/after picture needs.

With a masked-word head and a hidden word, the outcome holds the pass with every head on and
the pass with ``heads`` off (their ``prediction``); otherwise (the offline MiniLM, or no hidden
word) the sentence vector's change, ``1 − cos``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .extraction import extract
from .inputs import check_model_and_tokenizer
from .knockout import Heads, check_heads, format_heads, model_shape
from .prediction import has_masked_lm_head, sentence_vector, vector_change
from .result import AttentionResult


@dataclass(frozen=True, eq=False)
class Knockout:
    """One sentence with some heads switched off.

    ``before`` and ``after`` are the passes with every head on and with ``heads`` off (a hidden
    word and a masked-word head), else None and ``change`` is the sentence vector's ``1 − cos``.
    """

    text: str
    heads: tuple[tuple[int, int], ...]
    #: The heads as a student types them (``"3:5, 4:*"``).
    named: str
    before: AttentionResult | None = None
    after: AttentionResult | None = None
    change: float | None = None

    def summary(self) -> str:
        """One Spanish sentence: what changed."""
        off = f"Con {self.named} apagada{'s' if len(self.heads) > 1 else ''}"
        if self.before is not None and self.after is not None:
            assert self.before.prediction is not None and self.after.prediction is not None
            word = self.before.prediction.word
            p0, p1 = self.before.prediction.probability, self.after.prediction.probability
            return f"{off}, P(«{word}») pasa del {p0:.1%} al {p1:.1%}."
        return f"{off}, el vector de la frase cambia {self.change:.4f} (1 − coseno; 0 = nada)."


def knock_out(
    model: Any,
    tokenizer: Any,
    text: str,
    heads: Heads,
    mask: str | int | None = None,
    *,
    before: AttentionResult | None = None,
) -> Knockout:
    """Switch ``heads`` off for one sentence and keep what a before/after picture needs.

    Parameters
    ----------
    model, tokenizer
        What :func:`attnviz.load_model` returns.
    text : str
        The sentence.
    heads : iterable of (int, int), or str
        The heads to switch off (``"3:5,4:*"`` or ``[(3, 5)]``).
    mask : str or int, optional
        A word to hide: with a masked-word head the outcome compares the model's guesses.
        Ignored by a model without that head (its sentence vector is compared instead).
    before : AttentionResult, optional
        The pass with every head on and ``mask`` hidden, if already run (the explorer's): it is
        not run again.

    Returns
    -------
    Knockout

    Examples
    --------
    >>> attnviz.knock_out(model, tokenizer, "Los perros cruzaron la calle.", "3:5", mask="cruzaron").summary()
    'Con 3:5 apagada, P(«cruzaron») pasa del 41.0% al 12.3%.'
    """
    check_model_and_tokenizer(model, tokenizer)
    n_layers, n_heads = model_shape(model)
    pairs = tuple(check_heads(heads, n_layers, n_heads))
    named = format_heads(pairs, n_heads)
    if mask is not None and has_masked_lm_head(model, tokenizer):
        if before is None or before.prediction is None:
            before = extract(model, tokenizer, text, mask=mask)
        after = extract(model, tokenizer, text, mask=mask, heads_off=pairs)
        return Knockout(before.text, pairs, named, before=before, after=after)
    change = vector_change(
        sentence_vector(model, tokenizer, text), sentence_vector(model, tokenizer, text, heads_off=pairs)
    )
    return Knockout(text, pairs, named, change=change)
