"""Attention at word level: merge the rows and columns of each word's pieces.

Which pieces make a word is decided once, by the tokens stage
(:mod:`attnviz.core.tokens`), and stored in ``result.word_ids``.
"""

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
    n_words = int(ids.max()) + 1
    onehot = np.zeros((len(ids), n_words), dtype=np.float64)
    onehot[np.arange(len(ids)), ids] = 1.0
    counts = onehot.sum(axis=0)
    summed_to = matrix.astype(np.float64) @ onehot  # [..., n, w]
    mean_from = np.swapaxes(onehot / counts, 0, 1) @ summed_to  # [..., w, w]
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
        ``level="word"``: ``tokens`` are the words, attention TO a word is
        the sum over its pieces and FROM a word the mean (rows still sum to
        1), and ``pieces`` keeps the token-level result.

    Examples
    --------
    >>> words = attnviz.to_words(result)
    >>> "persiguió" in words.tokens
    True
    """
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
