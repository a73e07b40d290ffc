"""Word-level attention (Clark et al. 2019): TO a word = sum over pieces, FROM a word = mean."""

from __future__ import annotations

import numpy as np
import pytest

import attnviz
from attnviz.core.metrics import head_metrics
from attnviz.core.result import AttentionResult
from attnviz.core.tokens import group_pieces
from attnviz.core.words import merge_matrix, to_words

SEED_PIECES = (
    "[CLS]", "El", "perro", "que", "persigui", "##ó", "al", "gato", "cruz", "##ó", "la", "calle",
    ".", "[SEP]",
)  # fmt: skip
SEED_WORDS = ("[CLS]", "El", "perro", "que", "persiguió", "al", "gato", "cruzó", "la", "calle", ".", "[SEP]")


def test_hand_worked_numbers():
    # [CLS] persigui ##ó [SEP] -> [CLS] persiguió [SEP]
    pieces = np.array(
        [
            [0.10, 0.20, 0.30, 0.40],
            [0.40, 0.10, 0.10, 0.40],
            [0.20, 0.20, 0.20, 0.40],
            [0.25, 0.25, 0.25, 0.25],
        ]
    )
    result = AttentionResult(
        tokens=("[CLS]", "persigui", "##ó", "[SEP]"),
        attention=pieces[None, None].astype(np.float32),
        model_name="a mano",
        special=(True, False, False, True),
        word_ids=(0, 1, 1, 2),
        words=("[CLS]", "persiguió", "[SEP]"),
        segments=(0, 0, 0, 0),
        text="persiguió",
    )
    words = to_words(result)
    expected = np.array(
        [
            [0.10, 0.20 + 0.30, 0.40],  # TO persiguió: sum of its pieces
            [(0.4 + 0.2) / 2, (0.1 + 0.1 + 0.2 + 0.2) / 2, 0.40],  # FROM persiguió: mean of its rows
            [0.25, 0.50, 0.25],
        ]
    )
    np.testing.assert_allclose(words.attention[0, 0], expected, rtol=1e-6)
    assert words.tokens == ("[CLS]", "persiguió", "[SEP]")
    assert words.special == (True, False, True)
    assert words.level == "word"


def test_seed_sentence_with_betos_vocabulary(beto_result):
    assert beto_result.tokens == SEED_PIECES
    assert beto_result.word_ids == (0, 1, 2, 3, 4, 4, 5, 6, 7, 7, 8, 9, 10, 11)
    words = to_words(beto_result)
    assert words.tokens == SEED_WORDS
    assert words.attention.shape == (12, 12, 12, 12)
    a = beto_result.attention.astype(np.float64)
    w = words.attention
    # "persiguió" = persigui (4) + ##ó (5); "cruzó" = cruz (8) + ##ó (9); "gato" = 7.
    np.testing.assert_allclose(w[..., 1, 4], a[..., 1, 4] + a[..., 1, 5], rtol=1e-5)  # El -> persiguió
    np.testing.assert_allclose(
        w[..., 4, 6], (a[..., 4, 7] + a[..., 5, 7]) / 2, rtol=1e-5
    )  # persiguió -> gato
    np.testing.assert_allclose(
        w[..., 4, 7], (a[..., 4, 8] + a[..., 4, 9] + a[..., 5, 8] + a[..., 5, 9]) / 2, rtol=1e-5
    )  # persiguió -> cruzó
    np.testing.assert_allclose(w[..., 4, 4], (a[..., 4:6, 4:6].sum((-1, -2))) / 2, rtol=1e-5)
    # Words of one piece keep their numbers.
    np.testing.assert_allclose(w[..., 2, 6], a[..., 2, 7], rtol=1e-6)


def test_word_rows_still_sum_to_one(beto_result, minilm_result):
    for result in (beto_result, minilm_result):
        words = to_words(result)
        np.testing.assert_allclose(words.attention.sum(-1), 1.0, atol=1e-5)
        assert not words.attention.flags.writeable


def test_random_merges_keep_rows_stochastic():
    rng = np.random.default_rng(0)
    for _ in range(20):
        n = int(rng.integers(2, 12))
        ids = np.sort(rng.integers(0, n, size=n))
        ids = np.unique(ids, return_inverse=True)[1]  # consecutive word ids 0..k-1
        logits = rng.normal(size=(2, n, n))
        att = np.exp(logits) / np.exp(logits).sum(-1, keepdims=True)
        merged = merge_matrix(att, ids.tolist())
        assert merged.shape == (2, ids.max() + 1, ids.max() + 1)
        np.testing.assert_allclose(merged.sum(-1), 1.0, atol=1e-6)


def test_to_words_is_idempotent_and_keeps_the_pieces(beto_result):
    words = to_words(beto_result)
    assert to_words(words) is words
    assert words.pieces is beto_result
    assert words.check_token(11) == 11
    with pytest.raises(attnviz.IndexOutOfRangeError, match="palabra"):
        words.check_token(12)


def test_views_and_metrics_take_word_level_results(beto_result):
    words = to_words(beto_result)
    m = head_metrics(words)
    assert m.shape == (12, 12)
    # Metrics read the merged matrix: [SEP] is the last word.
    np.testing.assert_allclose(m.sep, words.attention[..., -1].astype(np.float64).mean(-1), rtol=1e-6)
    ax = attnviz.plot_heatmap(words, 0, 0)
    assert [t.get_text() for t in ax.get_xticklabels()] == list(SEED_WORDS)
    ax = attnviz.plot_arcs(words, 0, 0, 4)
    assert "persiguió" in ax.get_title()


def test_group_pieces_for_slow_tokenizers():
    assert group_pieces(SEED_PIECES, [t.startswith("[") for t in SEED_PIECES]) == [
        0, 1, 2, 3, 4, 4, 5, 6, 7, 7, 8, 9, 10, 11,
    ]  # fmt: skip
    byte_level = ["<s>", "El", "Ġper", "ro", "Ġque", "</s>"]
    assert group_pieces(byte_level, [True, False, False, False, False, True]) == [0, 1, 2, 2, 3, 4]
