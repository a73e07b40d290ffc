"""Aggregates across heads and layers, rollout, several sources and sentence-pair blocks."""

from __future__ import annotations

import numpy as np
import pytest

import attnviz
from attnviz.core.aggregate import (
    SEGMENT_BLOCKS,
    filter_segments,
    head_max,
    head_mean,
    layer_mean,
    rollout,
    segment_mask,
    source_rows,
    sources_matrix,
)

from .helpers import make_result, random_attention


def reference_rollout(att: np.ndarray, last: int) -> np.ndarray:
    """Abnar & Zuidema 2020 with plain loops: 0.5*A_mean + 0.5*I per layer, multiplied upwards."""
    _, heads, n, _ = att.shape
    rolled = [[1.0 if i == j else 0.0 for j in range(n)] for i in range(n)]
    for layer in range(last + 1):
        mixed = [[0.0] * n for _ in range(n)]
        for i in range(n):
            for j in range(n):
                mean = sum(att[layer, h, i, j] for h in range(heads)) / heads
                mixed[i][j] = 0.5 * mean + (0.5 if i == j else 0.0)
        rolled = [[sum(mixed[i][k] * rolled[k][j] for k in range(n)) for j in range(n)] for i in range(n)]
    return np.array(rolled)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_rollout_equals_reference_loop(seed):
    rng = np.random.default_rng(seed)
    n = 3 + seed
    att = random_attention(rng, (4, 3, n, n))
    result = make_result(att, tuple(f"t{i}" for i in range(n)), (False,) * n)
    stored = result.attention.astype(np.float64)
    np.testing.assert_allclose(rollout(result), reference_rollout(stored, 3), rtol=1e-6)
    np.testing.assert_allclose(rollout(result, 1), reference_rollout(stored, 1), rtol=1e-6)
    np.testing.assert_allclose(rollout(result).sum(-1), 1.0)


def test_rollout_of_first_layer_is_half_attention_half_identity(beto_result):
    expected = 0.5 * beto_result.attention[0].astype(np.float64).mean(0) + 0.5 * np.eye(beto_result.n_tokens)
    np.testing.assert_allclose(rollout(beto_result, 0), expected, rtol=1e-6)


def test_rollout_of_causal_model_never_reaches_the_future():
    rng = np.random.default_rng(3)
    att = np.tril(random_attention(rng, (3, 2, 5, 5)))
    att /= att.sum(-1, keepdims=True)
    result = make_result(att, tuple("abcde"), (False,) * 5, causal=True)
    assert not np.triu(rollout(result), k=1).any()


def test_head_mean_max_and_layer_mean(beto_result):
    att = beto_result.attention.astype(np.float64)
    np.testing.assert_allclose(head_mean(beto_result, 3), att[3].mean(0))
    np.testing.assert_allclose(head_max(beto_result, 3), att[3].max(0))
    np.testing.assert_allclose(layer_mean(beto_result), att.mean((0, 1)))
    np.testing.assert_allclose(head_mean(beto_result, 3).sum(-1), 1.0, rtol=1e-5)
    np.testing.assert_allclose(layer_mean(beto_result).sum(-1), 1.0, rtol=1e-5)
    assert (head_max(beto_result, 3) >= head_mean(beto_result, 3)).all()
    with pytest.raises(attnviz.IndexOutOfRangeError):
        head_mean(beto_result, 12)


def test_source_rows_sum_and_mean():
    m = np.arange(16, dtype=float).reshape(4, 4)
    np.testing.assert_allclose(source_rows(m, [1, 3]), (m[1] + m[3]) / 2)
    np.testing.assert_allclose(source_rows(m, [3, 1, 1], how="sum"), m[1] + m[3])
    with pytest.raises(ValueError):
        source_rows(m, [])
    with pytest.raises(IndexError):
        source_rows(m, [4])
    with pytest.raises(ValueError):
        source_rows(m, [0], how="median")  # type: ignore[arg-type]


def test_sources_matrix_lets_the_arc_plot_draw_several_sources(beto_result):
    head = beto_result.head(2, 3)
    combined = sources_matrix(head, [4, 5], how="mean")  # persigui + ##ó
    expected = (head[4].astype(np.float64) + head[5]) / 2
    np.testing.assert_allclose(combined[4], expected, rtol=1e-6)
    np.testing.assert_allclose(combined[5], expected, rtol=1e-6)
    np.testing.assert_allclose(np.delete(combined, [4, 5], axis=0), np.delete(head, [4, 5], axis=0))
    ax = attnviz.plot_arcs(beto_result, 2, 3, 4, matrix=combined, top_k=None, title="persigui + ##ó")
    (arcs,) = [c for c in ax.collections if c.get_gid() == "arcs"]
    np.testing.assert_allclose(np.sort(arcs.get_array()), np.sort(np.delete(expected, 4)), rtol=1e-6)


def test_arc_plot_draws_an_aggregate(beto_result):
    matrix = rollout(beto_result)
    ax = attnviz.plot_arcs(beto_result, 11, 0, 2, matrix=matrix, title="Rollout", top_k=None)
    (arcs,) = [c for c in ax.collections if c.get_gid() == "arcs"]
    expected = np.delete(matrix[2], 2)
    np.testing.assert_allclose(np.sort(arcs.get_array()), np.sort(expected), rtol=1e-6)
    assert ax.get_title() == "Rollout"


@pytest.fixture(scope="module")
def pair_result(beto):
    model, tokenizer = beto
    return attnviz.extract(model, tokenizer, "El perro ladra.", "¿Por qué ladra?")


def test_segment_blocks_partition_a_pair(pair_result):
    seg = np.array(pair_result.segments)
    # [CLS] El perro lad ##ra . [SEP] | ¿ Por qué lad ##ra ? [SEP]
    assert seg.tolist() == [0] * 7 + [1] * 7
    masks = [segment_mask(pair_result, block) for block in SEGMENT_BLOCKS]
    np.testing.assert_array_equal(sum(m.astype(int) for m in masks), 1)
    a_to_b = segment_mask(pair_result, "A->B")
    assert a_to_b[0, 7] and a_to_b[6, 13] and not a_to_b[7, 0] and not a_to_b[0, 0]
    both = segment_mask(pair_result, ["A->A", "B→B"])
    np.testing.assert_array_equal(both, seg[:, None] == seg[None, :])
    assert segment_mask(pair_result, None).all()
    with pytest.raises(ValueError):
        segment_mask(pair_result, "A->C")


def test_filter_segments_keeps_only_the_chosen_block(pair_result):
    head = pair_result.head(2, 3)
    kept = filter_segments(pair_result, head, "B->A")
    seg = np.array(pair_result.segments)
    block = (seg[:, None] == 1) & (seg[None, :] == 0)
    np.testing.assert_allclose(kept[block], head[block])
    assert not kept[~block].any()


def test_rollout_title_cites_the_method_and_says_its_assumption(beto_result):
    from attnviz.core.aggregate import AGGREGATES

    title = AGGREGATES["rollout"].title(beto_result, 4)
    assert title == "Rollout de las capas 0 a 4 (Abnar y Zuidema, 2020; aproximación)"
