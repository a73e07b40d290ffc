"""The corpus pass: padded batches equal one by one, the shipped corpus, and the bounded profile cache."""

from __future__ import annotations

import gc
import weakref

import numpy as np
import pytest

import attnviz
import attnviz.core.corpus as corpus_module
from attnviz.core.corpus import CACHE_SIZE, clear_corpus_cache, corpus_metrics, corpus_profile
from attnviz.core.metrics import METRIC_NAMES, HeadMetrics, head_metrics, mean_metrics

SENTENCES = [
    "Hola.",
    "El perro que persiguió al gato cruzó la calle.",
    "¿Quién vino?",
    "Ana canta y Luis toca la guitarra mientras los vecinos escuchan desde el balcón.",
    "Llueve mucho.",
    "La niña, que apenas tenía seis años, tocaba el piano de maravilla.",
    "Sí.",
    "Un gato 🐱 y un [SEP] escrito a mano.",  # [UNK] and a typed "[SEP]" are text, not special
]


def test_padded_batches_equal_one_by_one(beto):
    model, tokenizer = beto
    one_by_one = mean_metrics([head_metrics(attnviz.extract(model, tokenizer, s)) for s in SENTENCES])
    batched = corpus_metrics(model, tokenizer, SENTENCES, batch_size=4, progress=False)
    single = corpus_metrics(model, tokenizer, SENTENCES, batch_size=1, progress=False)
    assert batched.n_sentences == len(SENTENCES)
    for name in METRIC_NAMES:
        np.testing.assert_allclose(batched.get(name), one_by_one.get(name), rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(batched.get(name), single.get(name), rtol=1e-5, atol=1e-6)


def test_word_level_corpus_metrics_equal_one_by_one(beto):
    model, tokenizer = beto
    one_by_one = mean_metrics(
        [head_metrics(attnviz.to_words(attnviz.extract(model, tokenizer, s))) for s in SENTENCES]
    )
    batched = corpus_metrics(model, tokenizer, SENTENCES, batch_size=3, progress=False, words=True)
    tokens = corpus_metrics(model, tokenizer, SENTENCES, batch_size=3, progress=False)
    for name in METRIC_NAMES:
        np.testing.assert_allclose(batched.get(name), one_by_one.get(name), rtol=1e-5, atol=1e-6)
    # The seed has split words, so word level really differs from token level.
    assert not np.allclose(batched.distance, tokens.distance)


def test_corpus_metrics_shows_a_progress_bar(beto, capsys):
    model, tokenizer = beto
    corpus_metrics(model, tokenizer, SENTENCES[:3], batch_size=2, progress=True)
    err = capsys.readouterr().err
    assert "3/3" in err
    corpus_metrics(model, tokenizer, SENTENCES[:3], batch_size=2, progress=False)
    assert "3/3" not in capsys.readouterr().err


def test_corpus_metrics_rejects_bad_input(beto):
    model, tokenizer = beto
    with pytest.raises(ValueError):
        corpus_metrics(model, tokenizer, [], progress=False)
    with pytest.raises(attnviz.InvalidTextError):
        corpus_metrics(model, tokenizer, ["bien", "   "], progress=False)
    with pytest.raises(ValueError):
        corpus_metrics(model, tokenizer, ["bien"], batch_size=0, progress=False)


def test_corpus_is_large_original_and_varied():
    sentences = attnviz.load_corpus()
    assert len(sentences) >= 100
    assert len(set(sentences)) == len(sentences)
    lengths = [len(s.split()) for s in sentences]
    assert min(lengths) <= 2 and max(lengths) >= 18
    assert sum(s.startswith("¿") for s in sentences) >= 8  # questions
    assert sum(" que " in f" {s} " for s in sentences) >= 20  # relative and completive clauses
    assert sum(" y " in s or " o " in s or ", pero " in s for s in sentences) >= 10  # coordination
    assert all(s[-1] in ".?!" for s in sentences)
    assert not any(s.startswith("#") for s in sentences)


def test_corpus_profile_runs_on_the_whole_corpus_once(beto, monkeypatch):
    model, tokenizer = beto
    sentences = attnviz.load_corpus()
    m = corpus_metrics(model, tokenizer, sentences, batch_size=32, progress=False)
    assert m.n_sentences == len(sentences)
    assert m.shape == (12, 12)
    assert np.isfinite(m.entropy).all()
    profile = attnviz.corpus_profile(model, tokenizer, progress=False)
    for name in METRIC_NAMES:
        np.testing.assert_allclose(profile[name], m.get(name).mean(1), rtol=1e-5, atol=1e-7)
    # The second call is served from the cache: the model is not run again.
    monkeypatch.setattr(corpus_module, "corpus_metrics", None)
    again = attnviz.corpus_profile(model, tokenizer, progress=False)
    np.testing.assert_array_equal(again["entropy"], profile["entropy"])


def test_corpus_profile_cache_is_bounded_clearable_and_lets_models_go(monkeypatch):
    runs = []

    def fake_corpus_metrics(model, tokenizer, sentences, progress=True, words=False, measure="peso"):
        runs.append(model)
        return HeadMetrics.from_names({name: np.zeros((1, 1)) for name in METRIC_NAMES})

    monkeypatch.setattr(corpus_module, "corpus_metrics", fake_corpus_metrics)

    class Loaded:  # stands for a model or a tokenizer: only its identity matters here
        pass

    tokenizer = Loaded()
    models = [Loaded() for _ in range(CACHE_SIZE + 2)]
    for model in models:
        corpus_profile(model, tokenizer, ["Hola."], progress=False)
    assert len(corpus_module._CACHE) == CACHE_SIZE and len(runs) == len(models)
    corpus_profile(models[-1], tokenizer, ["Hola."], progress=False)
    assert len(runs) == len(models)  # the newest is served from the cache
    corpus_profile(models[0], tokenizer, ["Hola."], progress=False)
    assert len(runs) == len(models) + 1  # the oldest was dropped to keep the bound

    # The cache holds models weakly: a model nobody uses any more is freed, with its entry.
    last = weakref.ref(models[-1])
    del models[-1], model
    runs.clear()
    gc.collect()
    assert last() is None
    corpus_profile(models[0], tokenizer, ["Hola."], progress=False)
    assert len(corpus_module._CACHE) < CACHE_SIZE

    clear_corpus_cache()
    assert len(corpus_module._CACHE) == 0


def test_corpus_results_equal_one_by_one_extraction(minilm) -> None:
    import attnviz
    from attnviz.core.corpus import corpus_results

    model, tokenizer = minilm
    sentences = attnviz.load_corpus()[:5]
    batched = list(corpus_results(model, tokenizer, sentences, batch_size=2))
    assert len(batched) == 5
    for sentence, result in zip(sentences, batched, strict=True):
        alone = attnviz.extract(model, tokenizer, sentence)
        assert result.tokens == alone.tokens and result.words == alone.words
        np.testing.assert_allclose(result.attention, alone.attention, atol=1e-5)
        assert result.attention.base is None or result.attention.base.size == result.attention.size
