"""Summaries across heads and layers, each an ``[n, n]`` matrix any view can draw.

Pass the matrix to ``plot_arcs(result, layer, head, source, matrix=M, title=...)``
or ``plot_heatmap(result, None, None, matrix=M, title=...)``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from .result import AttentionResult

#: Sentence-pair blocks: "A->B" is attention FROM segment A (rows) TO segment B (columns).
SEGMENT_BLOCKS: tuple[str, ...] = ("A->A", "A->B", "B->A", "B->B")


def head_mean(result: AttentionResult, layer: int) -> np.ndarray:
    """Mean over the heads of one layer; rows still sum to 1."""
    return result.attention[result.check_layer(layer)].astype(np.float64).mean(axis=0)


def head_max(result: AttentionResult, layer: int) -> np.ndarray:
    """Element-wise max over the heads of one layer (rows no longer sum to 1)."""
    return result.attention[result.check_layer(layer)].astype(np.float64).max(axis=0)


def layer_mean(result: AttentionResult) -> np.ndarray:
    """Mean over every layer and head; rows still sum to 1."""
    return result.attention.astype(np.float64).mean(axis=(0, 1))


def rollout(result: AttentionResult, layer: int | None = None) -> np.ndarray:
    """Attention rollout (Abnar & Zuidema 2020) up to ``layer`` (default: the last).

    Each layer's head mean ``A`` plus the identity for the residual connection,
    rows renormalised (``0.5 * A + 0.5 * I``), multiplied from the first layer
    up: ``R = Â_layer @ ... @ Â_0``.  Row ``i`` says how much of the top of
    token ``i`` comes from each input token; rows sum to 1.
    """
    last = result.n_layers - 1 if layer is None else result.check_layer(layer)
    eye = np.eye(result.n_tokens)
    rolled = eye
    for index in range(last + 1):
        mixed = head_mean(result, index) + eye
        rolled = (mixed / mixed.sum(axis=-1, keepdims=True)) @ rolled
    return rolled


@dataclass(frozen=True)
class Aggregate:
    """A summary any front end can offer by name: its label, its matrix and its title."""

    #: What a selector shows (Spanish, lower case).
    label: str
    #: ``(result, layer) -> [n, n]``; aggregates over every layer ignore ``layer``.
    matrix: Callable[[AttentionResult, int], np.ndarray]
    #: ``(result, layer) -> title``: which heads and layers were summarised (Spanish).
    title: Callable[[AttentionResult, int], str]


#: The named aggregates the CLI (``--aggregate``) and the explorer (``Cabezas:``) offer.
AGGREGATES: dict[str, Aggregate] = {
    "mean": Aggregate(
        "media de cabezas",
        head_mean,
        lambda result, layer: f"Capa {layer} · media de las {result.n_heads} cabezas",
    ),
    "max": Aggregate(
        "máximo de cabezas",
        head_max,
        lambda result, layer: f"Capa {layer} · máximo de las {result.n_heads} cabezas",
    ),
    "layers": Aggregate(
        "media de capas y cabezas",
        lambda result, layer: layer_mean(result),
        lambda result, layer: "Media de todas las capas y cabezas",
    ),
    # Rollout models the mixing (residual = head mean), it does not measure it: the title says so.
    "rollout": Aggregate(
        "rollout",
        rollout,
        lambda result, layer: f"Rollout de las capas 0 a {layer} (Abnar y Zuidema, 2020; aproximación)",
    ),
}


def source_rows(
    matrix: np.ndarray, sources: Iterable[int], how: Literal["mean", "sum"] = "mean"
) -> np.ndarray:
    """The combined ``[n]`` row of several source tokens: their mean or their sum."""
    matrix = np.asarray(matrix, dtype=np.float64)
    n = matrix.shape[0]
    picked = sorted({int(s) for s in sources})
    if not picked:
        raise ValueError("sources is empty: pick at least one token")
    bad = [s for s in picked if not 0 <= s < n]
    if bad:
        raise IndexError(f"source tokens {bad} are out of range 0..{n - 1}")
    if how not in ("mean", "sum"):
        raise ValueError(f"how must be 'mean' or 'sum', not {how!r}")
    return matrix[picked].mean(axis=0) if how == "mean" else matrix[picked].sum(axis=0)


def sources_matrix(
    matrix: np.ndarray, sources: Iterable[int], how: Literal["mean", "sum"] = "mean"
) -> np.ndarray:
    """``matrix`` with the row of every source token replaced by their combined row.

    Lets the arc plot draw several sources at once:
    ``plot_arcs(result, layer, head, source=sources[0], matrix=sources_matrix(M, sources))``.
    """
    sources = sorted({int(s) for s in sources})
    out = np.array(matrix, dtype=np.float64)
    out[sources] = source_rows(matrix, sources, how)
    return out


def segment_mask(result: AttentionResult, segments: Sequence[str] | str | None) -> np.ndarray:
    """``[n, n]`` booleans: True where a cell belongs to one of the chosen blocks.

    ``segments`` holds names from :data:`SEGMENT_BLOCKS` (``"A->B"`` = from
    the first text to the second); None keeps every cell.
    """
    n = result.n_tokens
    if segments is None:
        return np.ones((n, n), dtype=bool)
    if isinstance(segments, str):
        segments = [segments]
    seg = np.asarray(result.segments)
    keep = np.zeros((n, n), dtype=bool)
    for block in segments:
        name = block.replace("→", "->").replace(" ", "").upper()
        if name not in SEGMENT_BLOCKS:
            raise ValueError(f"unknown segment block {block!r}; choose from {', '.join(SEGMENT_BLOCKS)}")
        rows, cols = (0 if side == "A" else 1 for side in name.split("->"))
        keep |= (seg[:, None] == rows) & (seg[None, :] == cols)
    return keep


def filter_segments(
    result: AttentionResult, matrix: np.ndarray, segments: Sequence[str] | str | None
) -> np.ndarray:
    """``matrix`` with every cell outside the chosen blocks set to 0 (for the arc plot)."""
    return np.where(segment_mask(result, segments), np.asarray(matrix, dtype=np.float64), 0.0)
