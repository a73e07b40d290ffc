"""Other architectures: GPT-2 (causal, byte-level), RoBERTa (byte-level) and DistilBERT.

Each is a tiny random model built from its config and saved to a folder,
with a tokenizer built offline: a byte-level BPE trained here with the
``tokenizers`` library on the shipped corpus, or BETO's real WordPiece
vocabulary for DistilBERT.  Nothing is downloaded.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import attnviz
from attnviz.core.corpus import corpus_metrics
from attnviz.core.metrics import METRIC_NAMES, head_metrics, mean_metrics

from .conftest import SEED

HIDDEN = 32
LAYERS = 2
HEADS = 4
MAX_POSITIONS = 64


@pytest.fixture(scope="module")
def model_dirs(family_dirs) -> dict[str, Path]:
    return family_dirs


@pytest.fixture(scope="module")
def loaded(model_dirs):
    return {name: attnviz.load_model(str(path)) for name, path in model_dirs.items()}


@pytest.fixture(scope="module")
def results(loaded):
    return {name: attnviz.extract(model, tok, SEED) for name, (model, tok) in loaded.items()}


def test_gpt2_is_causal_with_exact_zeros_above_the_diagonal(results):
    gpt2 = results["gpt2"]
    assert gpt2.causal
    assert gpt2.attention.shape[:2] == (LAYERS, HEADS)
    n = gpt2.n_tokens
    upper = np.triu(np.ones((n, n), dtype=bool), k=1)
    assert (gpt2.attention[..., upper] == 0.0).all()
    assert (gpt2.attention[..., ~upper] > 0.0).all()
    np.testing.assert_allclose(gpt2.attention.sum(-1), 1.0, atol=1e-5)
    assert not results["roberta"].causal and not results["distilbert"].causal


def test_gpt2_arc_plot_draws_no_arc_to_the_future(results):
    gpt2 = results["gpt2"]
    source = gpt2.n_tokens // 2
    ax = attnviz.plot_arcs(gpt2, 1, 2, source, top_k=None)
    (arcs,) = [c for c in ax.collections if c.get_gid() == "arcs"]
    ends = sorted(round(float(path.vertices[-1, 0])) for path in arcs.get_paths())
    assert ends == list(range(source))  # every earlier token, nothing later
    later = [t for i, t in enumerate(ax.get_xticklabels()) if i > source]
    assert all(t.get_color() == "0.7" for t in later)  # the future is greyed out
    notes = [t.get_text() for t in ax.texts if t.get_gid() == "notes"]
    assert "futuro está enmascarado" in notes[0]


def test_gpt2_views_and_metrics_respect_the_mask(results):
    gpt2 = results["gpt2"]
    m = head_metrics(gpt2)
    np.testing.assert_array_equal(m.following, 0.0)
    assert (m.previous > 0).all()
    ax = attnviz.plot_heatmap(gpt2, 0, 0)
    (image,) = ax.images
    n = gpt2.n_tokens
    np.testing.assert_array_equal(np.ma.getmaskarray(image.get_array()), np.triu(np.ones((n, n), bool), k=1))
    rolled = attnviz.rollout(gpt2)
    assert not np.triu(rolled, k=1).any()


@pytest.mark.parametrize("name", ["gpt2", "roberta"])
def test_byte_level_labels_have_spaces_not_g_dots(results, name):
    result = results[name]
    assert not any("Ġ" in t for t in result.tokens)
    assert not any("Ã" in t for t in result.tokens)  # UTF-8 bytes decoded: ó, not Ã³
    assert any(t.startswith(" ") and t.strip() for t in result.tokens)
    # Joining the pieces gives the text back.
    text = "".join(t for t, s in zip(result.tokens, result.special, strict=True) if not s)
    assert text == SEED
    assert "persiguió" in result.words and "cruzó" in result.words
    words = attnviz.to_words(result)
    np.testing.assert_allclose(words.attention.sum(-1), 1.0, atol=1e-5)


def test_roberta_specials_pairs_and_limit(loaded, results):
    roberta = results["roberta"]
    assert roberta.tokens[0] == "<s>" and roberta.tokens[-1] == "</s>"
    assert roberta.special[0] and roberta.special[-1]
    m = head_metrics(roberta)
    att = roberta.attention.astype(np.float64)
    np.testing.assert_allclose(m.cls, att[..., 0].mean(-1), rtol=1e-6)  # <s> counts as [CLS]
    np.testing.assert_allclose(m.sep, att[..., -1].mean(-1), rtol=1e-6)  # </s> counts as [SEP]
    model, tokenizer = loaded["roberta"]
    assert attnviz.core.extraction.max_tokens(model, tokenizer) == MAX_POSITIONS
    pair = attnviz.extract(model, tokenizer, "Hola amigo.", "¿Qué tal?")
    assert pair.segments[0] == 0 and pair.segments[-1] == 1
    assert set(pair.segments) == {0, 1}
    with pytest.warns(attnviz.TruncationWarning):
        long = attnviz.extract(model, tokenizer, " ".join(["gato"] * 200))
    assert long.truncated and long.n_tokens == MAX_POSITIONS


def test_gpt2_truncates_at_its_context(loaded):
    model, tokenizer = loaded["gpt2"]
    with pytest.warns(attnviz.TruncationWarning):
        long = attnviz.extract(model, tokenizer, " ".join(["gato"] * 200))
    assert long.truncated and long.n_tokens == MAX_POSITIONS


def test_distilbert_uses_wordpiece_like_beto(results):
    distil = results["distilbert"]
    assert distil.tokens[4:6] == ("persigui", "##ó")
    assert distil.words[4] == "persiguió"
    assert distil.attention.shape == (LAYERS, HEADS, 14, 14)
    np.testing.assert_allclose(distil.attention.sum(-1), 1.0, atol=1e-5)
    assert attnviz.head_metrics(distil).shape == (LAYERS, HEADS)


@pytest.mark.parametrize("name", ["gpt2", "roberta", "distilbert"])
def test_padded_corpus_metrics_equal_one_by_one(loaded, name):
    # GPT-2 has no pad token at all: corpus_metrics pads with its own mask.
    model, tokenizer = loaded[name]
    sentences = [*attnviz.load_corpus()[:6], SEED]
    one_by_one = mean_metrics([head_metrics(attnviz.extract(model, tokenizer, s)) for s in sentences])
    batched = corpus_metrics(model, tokenizer, sentences, batch_size=4, progress=False)
    for metric in METRIC_NAMES:
        np.testing.assert_allclose(batched.get(metric), one_by_one.get(metric), rtol=1e-5, atol=1e-6)
    word_level = mean_metrics(
        [head_metrics(attnviz.to_words(attnviz.extract(model, tokenizer, s))) for s in sentences]
    )
    batched_words = corpus_metrics(model, tokenizer, sentences, batch_size=4, progress=False, words=True)
    for metric in METRIC_NAMES:
        np.testing.assert_allclose(batched_words.get(metric), word_level.get(metric), rtol=1e-5, atol=1e-6)
