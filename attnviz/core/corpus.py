"""The corpus pass: the shipped Spanish sentences (or any list) through the model in padded batches.

Each sentence goes through the same tokens stage as :func:`attnviz.extract`
(:mod:`attnviz.core.tokens`) and the same forward pass
(:func:`attnviz.core.extraction.forward_attention`), is cut back to its own
tokens, and is measured with :mod:`attnviz.core.metrics`; so the averaged
numbers equal those of extracting the sentences one by one.
"""

from __future__ import annotations

import weakref
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from importlib import resources
from typing import Any

import numpy as np

from .extraction import forward_attention, is_causal, max_tokens
from .metrics import HeadMetrics, head_metrics, layer_profile, mean_metrics
from .result import AttentionResult
from .tokens import Encoded, clean_text, encode
from .words import to_words

#: The lesson's seed sentence: every front end opens on it.
SEED_SENTENCE = "El perro que persiguió al gato cruzó la calle."

CORPUS_FILE = "corpus_es.txt"
#: How many corpus runs :func:`corpus_profile` keeps (one per model, tokenizer, level and sentence list).
CACHE_SIZE = 4


def load_corpus() -> list[str]:
    """The corpus's sentences, in file order (comments and blank lines skipped).

    More than 100 original sentences written for attnviz: relative clauses,
    coordination, questions, ambiguity and negation, from one word to long ones.

    Returns
    -------
    list of str
        One sentence per item.

    Examples
    --------
    >>> len(attnviz.load_corpus()) >= 100
    True
    """
    text = resources.files("attnviz").joinpath("data", CORPUS_FILE).read_text(encoding="utf-8")
    return [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")]


def corpus_metrics(
    model: Any,
    tokenizer: Any,
    sentences: Sequence[str],
    batch_size: int = 16,
    progress: bool = True,
    *,
    words: bool = False,
) -> HeadMetrics:
    """Metrics averaged over ``sentences`` (each sentence weighs the same).

    Sentences run in padded batches; each sentence's attention is cut back
    to its own tokens before measuring, and padding is masked, so the
    numbers equal those of running the sentences one by one with
    :func:`attnviz.extract`.

    Parameters
    ----------
    model, tokenizer
        What :func:`attnviz.load_model` returns.
    sentences : sequence of str
        For example :func:`load_corpus`.  An empty text is an
        :class:`~attnviz.InvalidTextError`.
    batch_size : int
        Sentences per forward pass.
    progress : bool
        Show a tqdm progress bar.
    words : bool
        Measure word-level attention (as :func:`attnviz.to_words`), to
        compare with a word-level sentence.

    Returns
    -------
    HeadMetrics
        ``[layer, head]`` arrays, ``n_sentences`` = ``len(sentences)``.

    Examples
    --------
    >>> corpus = attnviz.corpus_metrics(model, tokenizer, attnviz.load_corpus())
    >>> attnviz.plot_profile(attnviz.layer_profile(corpus))
    """
    per_sentence = [
        head_metrics(to_words(result) if words else result)
        for result in corpus_results(model, tokenizer, sentences, batch_size, progress)
    ]
    return mean_metrics(per_sentence)


def corpus_results(
    model: Any, tokenizer: Any, sentences: Sequence[str], batch_size: int = 16, progress: bool = False
) -> Iterator[AttentionResult]:
    """One result per sentence, from padded batches: what :func:`attnviz.extract` gives one by one.

    Parameters
    ----------
    model, tokenizer
        What :func:`attnviz.load_model` returns.
    sentences : sequence of str
        The texts, in order.
    batch_size : int
        Sentences per forward pass.
    progress : bool
        Show a tqdm progress bar.

    Yields
    ------
    AttentionResult
        Token level, cut back to the sentence's own tokens.

    Examples
    --------
    >>> scores = attnviz.relation_scores(corpus_results(model, tokenizer, load_corpus()))  # doctest: +SKIP
    """
    sentences = [clean_text(s) for s in sentences]
    if not sentences:
        raise ValueError("no sentences")
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, not {batch_size}")
    from tqdm.auto import tqdm

    limit = max_tokens(model, tokenizer)
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    bar = tqdm(total=len(sentences), disable=not progress, desc="frases", unit="frase")
    try:
        for start in range(0, len(sentences), batch_size):
            batch = sentences[start : start + batch_size]
            encoded = [encode(tokenizer, s, limit=limit) for s in batch]
            stacked = forward_attention(model, encoded, pad_id)
            for row, (text, enc) in enumerate(zip(batch, encoded, strict=True)):
                n = len(enc.ids)
                # A copy, so a kept result does not hold the whole padded batch alive.
                yield _sentence_result(enc, stacked[row, :, :, :n, :n].copy(), text)
            bar.update(len(encoded))
    finally:
        bar.close()


def _sentence_result(encoded: Encoded, attention: np.ndarray, text: str) -> AttentionResult:
    """One sentence of a batch as the result :func:`attnviz.extract` would give for it."""
    return AttentionResult(
        tokens=encoded.tokens,
        attention=attention,
        model_name="",
        special=encoded.special,
        word_ids=encoded.word_ids,
        words=encoded.words,
        segments=encoded.segments,
        text=text,
        truncated=encoded.truncated,
        causal=is_causal(attention),
    )


#: (id(model), id(tokenizer), words, sentences) -> (weak model, weak tokenizer, metrics), oldest first.
_CACHE: OrderedDict[tuple[int, int, bool, tuple[str, ...]], tuple[Any, Any, HeadMetrics]] = OrderedDict()


def clear_corpus_cache() -> None:
    """Forget every corpus run :func:`corpus_profile` kept."""
    _CACHE.clear()


def corpus_profile(
    model: Any,
    tokenizer: Any,
    sentences: Sequence[str] | None = None,
    *,
    words: bool = False,
    progress: bool = True,
) -> dict[str, np.ndarray]:
    """Layer profile over ``sentences`` (default: the shipped Spanish corpus), kept for reuse.

    The first call runs the whole corpus (a progress bar shows it); later
    calls with the same model, tokenizer and options return at once, so a
    notebook or the CLI can redraw the comparison for free.  The last
    :data:`CACHE_SIZE` runs are kept; the cache holds the model only weakly
    (a deleted model frees its memory and its entry) and
    :func:`clear_corpus_cache` empties it.

    Parameters
    ----------
    model, tokenizer
        What :func:`attnviz.load_model` returns.
    sentences : sequence of str, optional
        Default: :func:`load_corpus`.
    words : bool
        Word-level attention, as :func:`attnviz.to_words`.
    progress : bool
        Show a progress bar while the corpus runs.

    Returns
    -------
    dict of str to ndarray
        :func:`attnviz.layer_profile` of :func:`corpus_metrics`.

    Examples
    --------
    >>> compare = attnviz.corpus_profile(model, tokenizer)
    >>> attnviz.plot_profile(attnviz.layer_profile(attnviz.head_metrics(result)), compare=compare)
    """
    if sentences is None:
        sentences = load_corpus()
    key = (id(model), id(tokenizer), words, tuple(sentences))
    for stale in [k for k, (m, t, _) in _CACHE.items() if m() is None or t() is None]:
        del _CACHE[stale]
    cached = _CACHE.get(key)
    # The entry holds weak references so that a reused id() cannot match another model.
    if cached is not None and cached[0]() is model and cached[1]() is tokenizer:
        _CACHE.move_to_end(key)
        return layer_profile(cached[2])
    metrics = corpus_metrics(model, tokenizer, sentences, progress=progress, words=words)
    try:
        _CACHE[key] = (weakref.ref(model), weakref.ref(tokenizer), metrics)
    except TypeError:  # an object without weak references is measured every time
        return layer_profile(metrics)
    while len(_CACHE) > CACHE_SIZE:
        _CACHE.popitem(last=False)
    return layer_profile(metrics)
