"""Attention at word level: merge the rows and columns of each word's pieces (``result.word_ids``)."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np

from .result import AttentionResult


def merge_matrix(matrix: np.ndarray, word_ids: Sequence[int]) -> np.ndarray:
    """Merge the last two axes from pieces to words (Clark et al. 2019).

    Attention TO a word is the SUM over its pieces (columns); attention FROM
    a word is the MEAN over its pieces (rows).  Rows still sum to 1.
    """
    ids = np.asarray(word_ids)
    onehot = np.eye(int(ids.max()) + 1)[ids]  # [n, w]
    summed_to = matrix.astype(np.float64) @ onehot  # [..., n, w]
    mean_from = (onehot / onehot.sum(axis=0)).T @ summed_to  # [..., w, w]
    return mean_from.astype(np.float32)


def to_words(result: AttentionResult) -> AttentionResult:
    """The same result at word level: one row and column per word.

    Parameters
    ----------
    result : AttentionResult
        A token-level result (a word-level one is returned as it is).

    Returns
    -------
    AttentionResult
        ``level="word"``: to a word is the sum over its pieces, from a word the mean
        (rows still sum to 1); ``pieces`` keeps the token-level result.

    Examples
    --------
    >>> words = attnviz.to_words(result)
    >>> "persiguió" in words.tokens
    True
    """
    if result.level == "word":
        return result
    spans = result.word_spans
    return dataclasses.replace(
        result,
        tokens=result.words,
        attention=merge_matrix(result.attention, result.word_ids),
        special=tuple(result.special[s] for s, _ in spans),
        word_ids=tuple(range(len(result.words))),
        segments=tuple(result.segments[s] for s, _ in spans),
        level="word",
        pieces=result,
        # Queries and keys are per token: they stay with the pieces.
        projections=None,
    )
