"""Head metrics on matrices with known answers, on real results, and over a padded corpus."""

from __future__ import annotations

import math

import numpy as np
import pytest

from attnviz.core.metrics import (
    METRIC_NAMES,
    HeadMetrics,
    head_metrics,
    is_punctuation,
    layer_profile,
    mean_metrics,
    metrics_table,
    token_kinds,
)

from .helpers import make_result, previous_token_matrix, random_attention


def test_previous_token_matrix_has_prev_share_one_and_entropy_zero():
    m = head_metrics(make_result(previous_token_matrix(6)))
    assert m.previous[0, 0] == pytest.approx(1.0)
    assert m.entropy[0, 0] == pytest.approx(0.0, abs=1e-7)
    assert m.following[0, 0] == pytest.approx(0.0)
    assert m.itself[0, 0] == pytest.approx(1 / 6)
    assert m.distance[0, 0] == pytest.approx(5 / 6)


def test_next_token_matrix_has_next_share_one():
    n = 6
    m = np.zeros((n, n))
    m[np.arange(n - 1), np.arange(1, n)] = 1.0
    m[n - 1, n - 1] = 1.0
    metrics = head_metrics(make_result(m))
    assert metrics.following[0, 0] == pytest.approx(1.0)
    assert metrics.previous[0, 0] == pytest.approx(0.0)


@pytest.mark.parametrize("n", [2, 6, 11])
def test_uniform_matrix_has_entropy_ln_n(n):
    tokens = tuple(f"t{i}" for i in range(n))
    m = head_metrics(make_result(np.full((n, n), 1.0 / n), tokens, (False,) * n))
    assert m.entropy[0, 0] == pytest.approx(math.log(n), rel=1e-6)
    assert m.itself[0, 0] == pytest.approx(1.0 / n, rel=1e-6)
    assert m.previous[0, 0] == pytest.approx(1.0 / n, rel=1e-6)
    # Mean |i-j| over all pairs of a uniform row: (n^2 - 1) / (3n).
    assert m.distance[0, 0] == pytest.approx((n * n - 1) / (3 * n), rel=1e-6)


def test_all_to_sep_has_sep_share_one():
    m = np.zeros((6, 6))
    m[:, 5] = 1.0
    metrics = head_metrics(make_result(m))
    assert metrics.sep[0, 0] == pytest.approx(1.0)
    assert metrics.cls[0, 0] == 0.0
    assert metrics.punct[0, 0] == 0.0
    assert metrics.entropy[0, 0] == pytest.approx(0.0, abs=1e-7)


def test_all_to_cls_and_all_to_punctuation():
    to_cls = np.zeros((6, 6))
    to_cls[:, 0] = 1.0
    to_dot = np.zeros((6, 6))
    to_dot[:, 4] = 1.0
    metrics = head_metrics(make_result(np.stack([to_cls, to_dot])[None]))
    assert metrics.shape == (1, 2)
    np.testing.assert_allclose(metrics.cls[0], [1.0, 0.0])
    np.testing.assert_allclose(metrics.punct[0], [0.0, 1.0])
    np.testing.assert_allclose(metrics.sep[0], [0.0, 0.0])


def test_token_kinds_for_bert_and_roberta_tokens():
    kinds = token_kinds(["<s>", " Hola", "¿", "</s>", "</s>", "##,", "</s>"], [1, 0, 0, 1, 1, 0, 1])
    assert kinds["cls"].tolist() == [True, False, False, False, False, False, False]
    assert kinds["sep"].tolist() == [False, False, False, True, True, False, True]
    assert kinds["punct"].tolist() == [False, False, True, False, False, True, False]
    assert is_punctuation("¡") and is_punctuation(" ...") and not is_punctuation("a.")
    assert not is_punctuation("")


def reference_metrics(att: np.ndarray, cls: list[int], sep: list[int], punct: list[int]) -> dict:
    """Plain loops over rows, one head at a time."""
    n = att.shape[-1]
    out = {}
    for name in METRIC_NAMES:
        out[name] = np.zeros(att.shape[:2])
    for layer in range(att.shape[0]):
        for head in range(att.shape[1]):
            a = att[layer, head]
            rows = {name: [] for name in METRIC_NAMES}
            for i in range(n):
                rows["entropy"].append(-sum(p * math.log(p) for p in a[i] if p > 0))
                rows["cls"].append(sum(a[i, j] for j in cls))
                rows["sep"].append(sum(a[i, j] for j in sep))
                rows["punct"].append(sum(a[i, j] for j in punct))
                rows["self"].append(a[i, i])
                rows["distance"].append(sum(a[i, j] * abs(i - j) for j in range(n)))
                if i > 0:
                    rows["prev"].append(a[i, i - 1])
                if i < n - 1:
                    rows["next"].append(a[i, i + 1])
            for name in METRIC_NAMES:
                out[name][layer, head] = np.mean(rows[name])
    return out


def test_random_matrices_match_reference_loops():
    rng = np.random.default_rng(7)
    att = random_attention(rng, (2, 3, 6, 6)).astype(np.float32)
    metrics = head_metrics(make_result(att))
    expected = reference_metrics(att.astype(np.float64), cls=[0], sep=[5], punct=[4])
    for name in METRIC_NAMES:
        np.testing.assert_allclose(metrics.get(name), expected[name], rtol=1e-6, atol=1e-7, err_msg=name)


def test_causal_mask_is_respected():
    # Anything above the diagonal of a causal model is masked future, not attention.
    rng = np.random.default_rng(1)
    att = random_attention(rng, (1, 2, 6, 6))
    masked = np.tril(att)
    metrics = head_metrics(make_result(att, causal=True))
    np.testing.assert_array_equal(metrics.following, 0.0)
    expected = reference_metrics(masked, cls=[0], sep=[5], punct=[4])
    for name in METRIC_NAMES:
        np.testing.assert_allclose(metrics.get(name), expected[name], rtol=1e-6, atol=1e-7, err_msg=name)


def test_head_metrics_on_beto_result_are_consistent(beto_result):
    m = head_metrics(beto_result)
    assert m.shape == (12, 12)
    n = beto_result.n_tokens
    assert np.all((m.entropy >= 0) & (m.entropy <= math.log(n) + 1e-6))
    for name in ("cls", "sep", "punct", "self", "prev", "next"):
        assert np.all((m.get(name) >= -1e-7) & (m.get(name) <= 1 + 1e-6)), name
    # Exactly one [CLS] and one [SEP] and one "." in the seed: the three shares
    # plus the rest of the row add up to 1.
    att = beto_result.attention.astype(np.float64)
    np.testing.assert_allclose(m.cls, att[..., 0].mean(-1), rtol=1e-6)
    np.testing.assert_allclose(m.sep, att[..., -1].mean(-1), rtol=1e-6)
    np.testing.assert_allclose(m.punct, att[..., -2].mean(-1), rtol=1e-6)


def test_head_metrics_is_frozen_and_named(beto_result):
    m = head_metrics(beto_result)
    with pytest.raises(AttributeError):
        m.entropy = m.cls  # type: ignore[misc]
    assert set(m.as_dict()) == set(METRIC_NAMES)
    with pytest.raises(KeyError):
        m.get("nope")


def test_layer_profile_is_mean_over_heads(beto_result):
    m = head_metrics(beto_result)
    profile = layer_profile(m)
    assert set(profile) == set(METRIC_NAMES)
    for name in METRIC_NAMES:
        assert profile[name].shape == (12,)
        np.testing.assert_allclose(profile[name], m.get(name).mean(axis=1))


def test_metrics_table_has_one_row_per_head(beto_result):
    m = head_metrics(beto_result)
    rows = metrics_table(m)
    assert len(rows) == 144
    assert list(rows[0]) == ["layer", "head", *METRIC_NAMES]
    row = rows[3 * 12 + 5]
    assert (row["layer"], row["head"]) == (3, 5)
    assert row["entropy"] == pytest.approx(float(m.entropy[3, 5]))
    assert row["self"] == pytest.approx(float(m.itself[3, 5]))


def test_mean_metrics_weights_by_sentences():
    one = HeadMetrics(*(np.zeros((1, 1)) for _ in METRIC_NAMES), n_sentences=1)
    three = HeadMetrics(*(np.ones((1, 1)) for _ in METRIC_NAMES), n_sentences=3)
    mean = mean_metrics([one, three])
    assert mean.n_sentences == 4
    assert mean.entropy[0, 0] == pytest.approx(0.75)


def _one_hot_rows(targets: list[int], n: int = 6) -> np.ndarray:
    m = np.zeros((n, n), dtype=np.float32)
    m[np.arange(n), targets] = 1.0
    return m


def test_strongest_head_title_says_when_the_drawn_row_looks_elsewhere():
    from attnviz.core.metrics import strongest_head

    # Head 1 sends every row to [SEP] except row 2, which looks at [CLS]; head 0 looks at [CLS].
    to_cls = _one_hot_rows([0] * 6)
    to_sep = _one_hot_rows([5, 5, 0, 5, 5, 5])
    result = make_result(np.stack([to_cls, to_sep])[None])
    layer, head, title = strongest_head(result, "sep", source=2)
    assert (layer, head) == (0, 1)
    assert title.splitlines() == [
        "Capa 0 · cabeza 1: la que más mira a [SEP] (83% de media)",
        "desde «gato», lo más mirado es «[CLS]» (100%)",
    ]
    # From a row that does look at [SEP], the title promises only what it shows.
    assert strongest_head(result, "sep", 3)[2] == "Capa 0 · cabeza 1: la que más mira a [SEP] (83% de media)"


def test_strongest_head_rejects_an_unknown_measure_in_spanish():
    from attnviz.core.errors import InvalidInputTypeError
    from attnviz.core.metrics import strongest_head

    with pytest.raises(InvalidInputTypeError) as err:
        strongest_head(make_result(_one_hot_rows([0] * 6)), "entropy", 1)
    assert err.value.message_es.startswith("«entropy» no es una de las medidas posibles")


def test_sink_summary_names_the_token_the_numbers_favour():
    from attnviz.core.metrics import sink_summary

    to_cls = head_metrics(make_result(_one_hot_rows([0] * 6)))
    text = sink_summary(to_cls)
    assert text.startswith("En este modelo el sumidero es [CLS], no [SEP]: en esta frase, [CLS] recibe")
    assert "[CLS] recibe entre el 100% y el 100%" in text
    assert "[SEP] entre el 0% y el 0%" in text
    to_sep = mean_metrics([head_metrics(make_result(_one_hot_rows([5] * 6)))] * 3)
    assert sink_summary(to_sep).startswith(
        "En este modelo el sumidero es [SEP], como en Clark et al. (2019): de media sobre 3"
    )
