"""The corpus pass: the shipped Spanish sentences (or any list) through the model in padded batches.

Each sentence gets the same tokens and forward pass as in :func:`attnviz.extract`
and is cut back to its own tokens, so the numbers equal those of extracting it alone.
"""

from __future__ import annotations

import contextlib
import weakref
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from importlib import resources
from typing import Any

import numpy as np

from .extraction import forward_pass, is_causal, max_tokens
from .loading import display_name
from .measures import check_measure, with_measure
from .metrics import HeadMetrics, head_metrics, layer_profile, mean_metrics
from .result import AttentionResult
from .tokens import clean_text, encode
from .words import to_words

#: The lesson's seed sentence: every front end opens on it.
SEED_SENTENCE = "El perro que persiguió al gato cruzó la calle."

#: How many corpus runs :func:`corpus_profile` keeps (one per model, tokenizer, level and sentence list).
CACHE_SIZE = 4


def load_corpus() -> list[str]:
    """More than 100 original Spanish sentences (relative clauses, questions, ambiguity...), in file order.

    Returns
    -------
    list of str
        One sentence per item.

    Examples
    --------
    >>> len(attnviz.load_corpus()) >= 100
    True
    """
    text = resources.files("attnviz").joinpath("data", "corpus_es.txt").read_text(encoding="utf-8")
    return [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")]


def corpus_metrics(
    model: Any,
    tokenizer: Any,
    sentences: Sequence[str],
    batch_size: int = 16,
    progress: bool = True,
    *,
    words: bool = False,
    measure: str = "peso",
) -> HeadMetrics:
    """Metrics averaged over ``sentences`` (each sentence weighs the same).

    Parameters
    ----------
    model, tokenizer
        What :func:`attnviz.load_model` returns.
    sentences : sequence of str
        For example :func:`load_corpus`; an empty text is an :class:`~attnviz.InvalidTextError`.
    batch_size : int
        Sentences per forward pass.
    progress : bool
        Show a tqdm progress bar.
    words : bool
        Word-level attention (as :func:`attnviz.to_words`), to compare with a word-level sentence.
    measure : {"peso", "contribucion"}
        Measure the weights, or each arc's contribution (:func:`attnviz.with_measure`).

    Returns
    -------
    HeadMetrics
        ``[layer, head]`` arrays, ``n_sentences`` = ``len(sentences)``.

    Examples
    --------
    >>> corpus = attnviz.corpus_metrics(model, tokenizer, attnviz.load_corpus())
    >>> attnviz.plot_profile(attnviz.layer_profile(corpus))
    """
    measure = check_measure(measure)
    results = corpus_results(model, tokenizer, sentences, batch_size, progress)
    measured = (with_measure(to_words(r) if words else r, measure) for r in results)
    return mean_metrics([head_metrics(result) for result in measured])


def corpus_results(
    model: Any, tokenizer: Any, sentences: Sequence[str], batch_size: int = 16, progress: bool = False
) -> Iterator[AttentionResult]:
    """One token-level result per sentence, from padded batches: what :func:`attnviz.extract` gives.

    ``batch_size`` and ``progress`` as in :func:`corpus_metrics` (no bar by default).

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
    name = display_name(getattr(model, "name_or_path", "") or "modelo")
    bar = tqdm(total=len(sentences), disable=not progress, desc="frases", unit="frase")
    try:
        for start in range(0, len(sentences), batch_size):
            batch = sentences[start : start + batch_size]
            encoded = [encode(tokenizer, s, limit=limit) for s in batch]
            stacked, inside = forward_pass(model, encoded, pad_id)
            for row, (text, enc) in enumerate(zip(batch, encoded, strict=True)):
                n = len(enc.ids)
                # A copy, so a kept result does not hold the whole padded batch alive.
                attention = stacked[row, :, :, :n, :n].copy()
                yield AttentionResult(
                    tokens=enc.tokens,
                    attention=attention,
                    model_name=name,
                    special=enc.special,
                    word_ids=enc.word_ids,
                    words=enc.words,
                    segments=enc.segments,
                    text=text,
                    truncated=enc.truncated,
                    causal=is_causal(attention),
                    projections=inside[row] if inside else None,
                )
            bar.update(len(encoded))
    finally:
        bar.close()


#: (id(model), id(tokenizer), words, measure, sentences) -> (weak model, weak tokenizer, metrics)
_CACHE: OrderedDict[tuple[int, int, bool, str, tuple[str, ...]], tuple[Any, Any, HeadMetrics]] = OrderedDict()


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
    measure: str = "peso",
) -> dict[str, np.ndarray]:
    """Layer profile over ``sentences`` (default: the shipped Spanish corpus), kept for reuse.

    Later calls with the same model, tokenizer and options return at once.
    The last :data:`CACHE_SIZE` runs are kept, holding the model only weakly.

    Parameters
    ----------
    model, tokenizer, words, progress, measure
        As in :func:`corpus_metrics`.
    sentences : sequence of str, optional
        Default: :func:`load_corpus`.

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
    measure = check_measure(measure)
    key = (id(model), id(tokenizer), words, measure, tuple(sentences))
    for stale in [k for k, (m, t, _) in _CACHE.items() if m() is None or t() is None]:
        del _CACHE[stale]
    cached = _CACHE.get(key)
    # The entry holds weak references so that a reused id() cannot match another model.
    if cached is not None and cached[0]() is model and cached[1]() is tokenizer:
        _CACHE.move_to_end(key)
        return layer_profile(cached[2])
    metrics = corpus_metrics(model, tokenizer, sentences, progress=progress, words=words, measure=measure)
    with contextlib.suppress(TypeError):  # an object without weak references is measured every time
        _CACHE[key] = (weakref.ref(model), weakref.ref(tokenizer), metrics)
        while len(_CACHE) > CACHE_SIZE:
            _CACHE.popitem(last=False)
    return layer_profile(metrics)
