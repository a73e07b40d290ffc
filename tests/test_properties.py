"""Property-based tests (issue 6): random Unicode through extract -> words -> metrics -> every plot.

The only exception allowed is the documented one for text with nothing to read
(:class:`attnviz.InvalidTextError`).  Whatever else comes in, the attention rows sum to 1,
word spans cover every piece exactly once, and nothing is NaN.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import attnviz
from attnviz.core.metrics import METRIC_NAMES, SHARE_METRICS, head_metrics, layer_profile

#: Pieces that stress tokenizers: combining marks, surrogates, controls, scripts, markup, markers.
FRAGMENTS = st.one_of(
    st.characters(categories=["Mn", "Mc", "Me"]),  # combining marks
    st.characters(categories=["Cs"]),  # lone surrogates
    st.characters(categories=["Cc", "Cf", "Zs", "Zl", "Zp"]),  # controls, zero-width, odd spaces
    st.characters(codec="utf-8"),  # anything encodable
    st.sampled_from(list("aeiouáéíóúüñÑ¿¡.,;:!?-'\"() 0123456789")),
    st.sampled_from(
        [
            "[SEP]",
            "[CLS]",
            "[UNK]",
            "[MASK]",
            "##",
            "<img src=x onerror=alert(1)>",
            "😀",
            "👨‍👩‍👧",
            "猫",
            "مرحبا",
            "שלום",
            "perro",
            "persiguió",
            "e\u0301",
            "$x$",
        ]
    ),
)
TEXTS = st.lists(FRAGMENTS, min_size=0, max_size=40).map("".join)
#: Long strings: random text repeated up to 200 times, thousands of characters (truncation included).
LONG_TEXTS = st.tuples(TEXTS, st.integers(1, 200)).map(lambda pair: pair[0] * pair[1])

SETTINGS = settings(
    max_examples=15,
    deadline=None,
    derandomize=True,  # the same examples on every run and in CI: a failure is reproducible
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def _extract_or_invalid(model_and_tokenizer, text: str, pair: str | None = None, quiet: bool = True):
    """Run extract; the one documented failure for arbitrary text is InvalidTextError."""
    with warnings.catch_warnings():
        if quiet:
            warnings.simplefilter("ignore", attnviz.TruncationWarning)
        try:
            return attnviz.extract(*model_and_tokenizer, text, pair)
        except attnviz.InvalidTextError as err:
            assert err.message_es and "\n" not in err.message_es
            # Only text with nothing to read may be refused, and the message names which one.
            refused = pair if "segundo texto" in err.message_es else text
            assert refused is not None
            assert not any(ch.isalnum() for ch in refused.replace("\x00", "")) or _all_unreadable(refused)
            return None


def _all_unreadable(text: str) -> bool:
    # Letters a tokenizer strips entirely (e.g. a combining mark alone after accent stripping).
    import unicodedata

    return all(unicodedata.category(ch)[0] in "MCZ" for ch in text)


def _check_result(result: attnviz.AttentionResult) -> None:
    att = result.attention
    n = result.n_tokens
    assert att.shape[2:] == (n, n) and att.dtype == np.float32
    assert np.isfinite(att).all()
    np.testing.assert_allclose(att.sum(-1), 1.0, atol=1e-4)
    assert len(result.special) == len(result.word_ids) == len(result.segments) == n
    # Word spans: contiguous, in order, covering every piece exactly once.
    spans = result.word_spans
    assert len(spans) == len(result.words)
    pieces = [i for start, end in spans for i in range(start, end)]
    assert pieces == list(range(n))
    assert all(start < end for start, end in spans)
    assert all(isinstance(t, str) for t in result.tokens)


def _check_words(result: attnviz.AttentionResult) -> attnviz.AttentionResult:
    words = attnviz.to_words(result)
    assert words.level == "word" and words.n_tokens == len(result.words)
    assert np.isfinite(words.attention).all()
    np.testing.assert_allclose(words.attention.sum(-1), 1.0, atol=1e-4)
    assert words.word_spans == tuple((i, i + 1) for i in range(words.n_tokens))
    return words


def _check_metrics(result: attnviz.AttentionResult):
    metrics = head_metrics(result)
    n = result.n_tokens
    for name in METRIC_NAMES:
        values = metrics.get(name)
        assert values.shape == (result.n_layers, result.n_heads)
        assert np.isfinite(values).all(), name
    for name in SHARE_METRICS:
        assert (metrics.get(name) >= -1e-6).all() and (metrics.get(name) <= 1 + 1e-5).all(), name
    assert (metrics.entropy >= -1e-6).all() and (metrics.entropy <= math.log(n) + 1e-4).all()
    assert (metrics.distance >= 0).all() and (metrics.distance <= n - 1 + 1e-4).all()
    return metrics


def _check_every_plot(result: attnviz.AttentionResult, metrics) -> None:
    import matplotlib.pyplot as plt

    source = min(1, result.n_tokens - 1)
    layer, head = result.n_layers - 1, result.n_heads - 1
    ax = attnviz.plot_arcs(result, layer, head, source)
    assert len(ax.get_xticklabels()) == result.n_tokens
    ax = attnviz.plot_heatmap(result, layer, head)
    assert ax.images[0].get_array().shape == (result.n_tokens, result.n_tokens)
    ax = attnviz.plot_grid(result, selected=(layer, head))
    assert ax.images
    ax = attnviz.plot_profile(layer_profile(metrics))
    assert ax.lines
    plt.close("all")


@pytest.mark.slow  # 19 texts through every view (make test; not make test-fast)
@SETTINGS
@given(text=TEXTS)
@example(text="")
@example(text="\u0301\u0302")
@example(text="[SEP]")
@example(text="<img src=x onerror=alert(1)>")
def test_random_unicode_through_every_view_minilm(minilm, text):
    result = _extract_or_invalid(minilm, text)
    if result is None:
        return
    _check_result(result)
    words = _check_words(result)
    metrics = _check_metrics(result)
    _check_metrics(words)
    _check_every_plot(result, metrics)


@pytest.mark.slow  # 11 texts through every view (make test; not make test-fast)
@settings(SETTINGS, max_examples=10)
@given(text=TEXTS)
@example(text="e\u0301\u0301 \ud800 猫")
def test_random_unicode_through_every_view_beto(beto, text):
    result = _extract_or_invalid(beto, text)
    if result is None:
        return
    _check_result(result)
    words = _check_words(result)
    _check_every_plot(words, _check_metrics(words))


@pytest.mark.slow  # texts of thousands of characters (make test; not make test-fast)
@settings(SETTINGS, max_examples=6)
@given(text=LONG_TEXTS)
@example(text="persiguió " * 400)
def test_long_random_text_is_truncated_cleanly(minilm, text):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = _extract_or_invalid(minilm, text, quiet=False)
    if result is None:
        return
    _check_result(result)
    assert result.n_tokens <= 512
    truncations = [w for w in caught if issubclass(w.category, attnviz.TruncationWarning)]
    assert result.truncated == bool(truncations)
    if result.truncated:
        assert result.n_tokens == 512 and result.special[-1]
    _check_metrics(_check_words(result))


@settings(SETTINGS, max_examples=12)
@given(text=TEXTS, pair=TEXTS)
def test_random_sentence_pairs_keep_segments(minilm, text, pair):
    result = _extract_or_invalid(minilm, text, pair)
    if result is None:
        return
    _check_result(result)
    # Segments never go back from B to A.
    assert list(result.segments) == sorted(result.segments)
    assert set(result.segments) <= {0, 1}
    _check_words(result)


@pytest.mark.parametrize("text", ["\u0301", "\x00", " \u200b ", "\ud800", "\x01\ufeff\x7f"])
def test_documented_error_for_unreadable_text(minilm, text):
    with pytest.raises(attnviz.InvalidTextError):
        attnviz.extract(*minilm, text)
