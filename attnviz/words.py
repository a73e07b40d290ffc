"""Group word pieces into words, and merge attention to word level."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np

from .result import AttentionResult

_CONTINUATION = "##"


def display_token(token: str) -> str:
    """How a raw token is shown: byte-level BPE's ``Ġ`` and SentencePiece's ``▁`` become spaces."""
    return token.replace("Ġ", " ").replace("▁", " ").replace("Ċ", "\n")


def group_pieces(tokens: Sequence[str], special: Sequence[bool]) -> list[int]:
    """Word index of each piece from the pieces alone (slow tokenizers).

    A ``##`` piece continues the previous word, as do byte-level pieces that
    do not start with a space marker; special tokens are words of their own.
    """
    word_ids: list[int] = []
    word = -1
    previous_special = True
    byte_level = any(t.startswith(("Ġ", "▁")) for t in tokens)
    for token, is_special in zip(tokens, special, strict=True):
        continues = (
            not is_special
            and not previous_special
            and (token.startswith(_CONTINUATION) or (byte_level and not token.startswith(("Ġ", "▁"))))
        )
        if not continues:
            word += 1
        word_ids.append(word)
        previous_special = is_special
    return word_ids


def merge_matrix(matrix: np.ndarray, word_ids: Sequence[int]) -> np.ndarray:
    """Merge the last two axes from pieces to words (Clark et al. 2019).

    Attention TO a word is the SUM over its pieces (columns); attention FROM
    a word is the MEAN over its pieces (rows).  Rows still sum to 1.
    """
    ids = np.asarray(word_ids)
    n_words = int(ids.max()) + 1
    onehot = np.zeros((len(ids), n_words), dtype=np.float64)
    onehot[np.arange(len(ids)), ids] = 1.0
    counts = onehot.sum(axis=0)
    summed_to = matrix.astype(np.float64) @ onehot  # [..., n, w]
    mean_from = np.swapaxes(onehot / counts, 0, 1) @ summed_to  # [..., w, w]
    return mean_from.astype(np.float32)


def to_words(result: AttentionResult) -> AttentionResult:
    """The same result at word level: one row and column per word."""
    if result.level == "word":
        return result
    spans = result.word_spans
    merged = merge_matrix(result.attention, result.word_ids)
    return dataclasses.replace(
        result,
        tokens=result.words,
        attention=merged,
        special=tuple(result.special[s] for s, _ in spans),
        word_ids=tuple(range(len(result.words))),
        segments=tuple(result.segments[s] for s, _ in spans),
        level="word",
        pieces=result,
    )
