"""The one data object every view and metric takes."""

from __future__ import annotations

import numbers
from dataclasses import dataclass, field
from typing import Literal, TypeAlias

import numpy as np

from .errors import IndexOutOfRangeError
from .prediction import Prediction
from .projections import Projections

Attention: TypeAlias = np.ndarray
"""float32 attention weights with axes ``[layer, head, from, to]``.

``A[l, h, i, j]`` is how much token ``i`` (row, "from") attends to token
``j`` (column, "to") in layer ``l``, head ``h``; every row sums to 1.  A
single head is ``A[l, h]``, ``[from, to]``.
"""


@dataclass(frozen=True, eq=False)
class AttentionResult:
    """Attention of every layer and head for one input, from one forward pass.

    ``attention`` is an :data:`Attention` array, ``[layer, head, from, to]``:
    ``attention[layer, head, i, j]`` is how much token ``i`` attends to token
    ``j``; rows sum to 1.  Every tuple has one entry per token (per word at
    word level).

    The result is immutable.  Its array is made read-only *in place*, without
    a copy (at 512 tokens BETO's is 144 MiB): an array you pass in becomes
    read-only too, so that no view can change what another view shows; pass
    ``array.copy()`` to keep yours writable.  Two results are equal only if
    they are the same object (``eq=False``: arrays have no single truth
    value), so results can be dictionary keys.
    """

    tokens: tuple[str, ...]
    attention: Attention
    model_name: str
    special: tuple[bool, ...]
    word_ids: tuple[int, ...]
    words: tuple[str, ...]
    segments: tuple[int, ...]
    text: str
    text_pair: str | None = None
    truncated: bool = False
    causal: bool = False
    level: Literal["token", "word"] = "token"
    #: What ``attention`` holds: the weights, or each arc's normalised contribution
    #: (:func:`attnviz.with_measure`).
    measure: Literal["peso", "contribucion"] = "peso"
    #: Queries, keys and value norms from the same pass (token level; None when unknown).
    projections: Projections | None = field(default=None, repr=False, compare=False)
    #: Word-level results keep the token-level one they came from.
    pieces: AttentionResult | None = field(default=None, repr=False, compare=False)
    #: What the model guessed for the word hidden in this same pass (``extract(..., mask=...)``).
    prediction: Prediction | None = field(default=None, compare=False)
    #: The ``(layer, head)`` pairs switched off during the pass (``extract(..., heads_off=...)``).
    heads_off: tuple[tuple[int, int], ...] = field(default=(), compare=False)

    def __post_init__(self) -> None:
        n = len(self.tokens)
        att = self.attention
        if att.ndim != 4 or att.shape[2:] != (n, n):
            raise ValueError(f"attention must be [layers, heads, {n}, {n}], got {att.shape}")
        if not (len(self.special) == len(self.word_ids) == len(self.segments) == n):
            raise ValueError("tokens, special, word_ids and segments must have the same length")
        if att.flags.writeable:
            att.flags.writeable = False

    @property
    def n_layers(self) -> int:
        return int(self.attention.shape[0])

    @property
    def n_heads(self) -> int:
        return int(self.attention.shape[1])

    @property
    def n_tokens(self) -> int:
        return len(self.tokens)

    @property
    def word_spans(self) -> tuple[tuple[int, int], ...]:
        """For each word, the ``[start, end)`` range of pieces it covers."""
        spans: list[list[int]] = [[-1, -1] for _ in self.words]
        for i, w in enumerate(self.word_ids):
            if spans[w][0] < 0:
                spans[w][0] = i
            spans[w][1] = i + 1
        return tuple((s, e) for s, e in spans)

    def check_layer(self, layer: object) -> int:
        return _check_index(layer, self.n_layers, "capa", "layer")

    def check_head(self, head: object) -> int:
        return _check_index(head, self.n_heads, "cabeza", "head")

    @property
    def unit_noun(self) -> str:
        """What one position is called in Spanish: ``"palabra"`` at word level, else ``"token"``."""
        return "palabra" if self.level == "word" else "token"

    def check_token(self, token: object) -> int:
        return _check_index(token, self.n_tokens, self.unit_noun, self.level)

    def head(self, layer: int, head: int) -> np.ndarray:
        """The ``[n, n]`` matrix of one head, indices checked."""
        return self.attention[self.check_layer(layer), self.check_head(head)]


def _check_index(value: object, size: int, noun_es: str, noun_en: str) -> int:
    # bool is an int in Python, but True as a layer number is always a mistake.
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise IndexOutOfRangeError(
            f"El índice de {noun_es} debe ser un número entero entre 0 y {size - 1}, no {value!r}.",
            f"The {noun_en} index must be a whole number from 0 to {size - 1}, not {value!r}.",
        )
    index = int(value)
    if not 0 <= index < size:
        raise IndexOutOfRangeError(
            f"La {noun_es} {index} no existe: hay {size} ({noun_es}s 0 a {size - 1})."
            if noun_es in ("capa", "cabeza", "palabra")
            else f"El {noun_es} {index} no existe: hay {size} ({noun_es}s 0 a {size - 1}).",
            f"{noun_en.capitalize()} {index} does not exist: there are {size} ({noun_en}s 0 to {size - 1}).",
        )
    return index


def require_result(value: object) -> AttentionResult:
    """``value`` if it is an AttentionResult; a clear error for the usual mix-ups otherwise."""
    if isinstance(value, AttentionResult):
        return value
    from .errors import InvalidInputTypeError

    raise InvalidInputTypeError(
        "Las vistas reciben el resultado de attnviz.extract(modelo, tokenizador, texto), "
        f"no {type(value).__name__}.",
        f"Views take the result of attnviz.extract(model, tokenizer, text), not {type(value).__name__}.",
    )
