"""Builders of hand-made results for the tests (no model): import them from here, not from a test file."""

from __future__ import annotations

import numpy as np

from attnviz.core.result import AttentionResult

TOKENS = ("[CLS]", "El", "gato", "duerme", ".", "[SEP]")
SPECIAL = (True, False, False, False, False, True)


def make_result(
    matrices: np.ndarray,
    tokens: tuple[str, ...] = TOKENS,
    special: tuple[bool, ...] = SPECIAL,
    causal: bool = False,
    segments: tuple[int, ...] | None = None,
) -> AttentionResult:
    """An AttentionResult around hand-built ``[L, H, n, n]`` (or ``[n, n]``) attention."""
    att = np.asarray(matrices, dtype=np.float32)
    while att.ndim < 4:
        att = att[None]
    n = len(tokens)
    return AttentionResult(
        tokens=tokens,
        attention=att.copy(),
        model_name="construida",
        special=special,
        word_ids=tuple(range(n)),
        words=tokens,
        segments=segments or (0,) * n,
        text=" ".join(tokens),
        causal=causal,
    )


def previous_token_matrix(n: int) -> np.ndarray:
    m = np.zeros((n, n))
    m[0, 0] = 1.0  # the first token has no previous one: it looks at itself
    for i in range(1, n):
        m[i, i - 1] = 1.0
    return m


def random_attention(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    logits = rng.normal(size=shape) * 2
    e = np.exp(logits - logits.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def synthetic_result(
    n: int, *, layers: int = 2, heads: int = 2, seed: int = 0, causal: bool = False
) -> AttentionResult:
    rng = np.random.default_rng(seed)
    attention = rng.dirichlet(np.full(n, 0.3), size=(layers, heads, n)).astype(np.float32)
    if causal:
        attention = np.tril(attention)
        attention /= attention.sum(axis=-1, keepdims=True)
    tokens = ("[CLS]", *(f"t{i}" for i in range(1, n - 1)), "[SEP]")
    return AttentionResult(
        tokens=tokens,
        attention=attention,
        model_name="sintético",
        special=(True, *([False] * (n - 2)), True),
        word_ids=tuple(range(n)),
        words=tokens,
        segments=(0,) * n,
        text=" ".join(tokens[1:-1]),
        causal=causal,
    )
