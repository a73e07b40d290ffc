"""Per-head summaries of attention: entropy, where it goes, how far it reaches.

Every metric is an ``[layers, heads]`` array, computed from one result
(:func:`head_metrics`) or averaged over many sentences (:func:`corpus_metrics`).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .result import AttentionResult

#: Metric names in the order tables and plots use, with what a student reads.
METRIC_NAMES: tuple[str, ...] = ("entropy", "cls", "sep", "punct", "self", "prev", "next", "distance")
METRIC_LABELS: dict[str, str] = {
    "entropy": "entropía (nats)",
    "cls": "a [CLS]",
    "sep": "a [SEP]",
    "punct": "a puntuación",
    "self": "a sí mismo",
    "prev": "al anterior",
    "next": "al siguiente",
    "distance": "distancia media (tokens)",
}
#: The metrics that are shares of a row (between 0 and 1).
SHARE_METRICS: tuple[str, ...] = ("cls", "sep", "punct", "self", "prev", "next")

_CLS_NAMES = {"[CLS]", "<s>", "<|startoftext|>", "[BOS]", "<bos>"}
_SEP_NAMES = {"[SEP]", "</s>", "<|endoftext|>", "[EOS]", "<eos>"}


@dataclass(frozen=True, eq=False)  # arrays have no single truth value: compare fields with numpy
class HeadMetrics:
    """One ``[layers, heads]`` float array per metric.

    * ``entropy``: entropy of each row in nats, averaged over rows
      (0 = all on one token, ``ln n`` = uniform).
    * ``cls``, ``sep``, ``punct``, ``self``: share of each row that goes to
      [CLS] (the opening special token), to [SEP] (any other special token),
      to punctuation, and to the token itself, averaged over rows.
    * ``prev`` / ``next``: share to the previous / next token, averaged over
      the rows that have one (so a pure previous-token head scores 1).
    * ``distance``: mean ``|i - j|`` weighted by attention, averaged over rows.

    In a causal model the future is masked, so ``next`` is 0.
    ``n_sentences`` says how many sentences were averaged.
    """

    entropy: np.ndarray
    cls: np.ndarray
    sep: np.ndarray
    punct: np.ndarray
    self: np.ndarray
    prev: np.ndarray
    next: np.ndarray
    distance: np.ndarray
    n_sentences: int = 1

    @property
    def shape(self) -> tuple[int, int]:
        return tuple(self.entropy.shape)  # type: ignore[return-value]

    def get(self, name: str) -> np.ndarray:
        """The array of one metric by name (``"self"`` included)."""
        if name not in METRIC_NAMES:
            raise KeyError(f"unknown metric {name!r}; choose one of {', '.join(METRIC_NAMES)}")
        return getattr(self, name)

    def as_dict(self) -> dict[str, np.ndarray]:
        return {name: getattr(self, name) for name in METRIC_NAMES}


def is_punctuation(token: str) -> bool:
    """True for tokens made only of punctuation (``.``, ``¿``, ``##,``, ``Ġ!``...)."""
    text = token.strip().removeprefix("##").strip("Ġ▁")
    return bool(text) and all(unicodedata.category(ch).startswith("P") for ch in text)


def token_kinds(tokens: Sequence[str], special: Sequence[bool]) -> dict[str, np.ndarray]:
    """Boolean column masks ``cls``, ``sep`` and ``punct`` for a token list.

    [CLS] is a special token named like one, or the special token that
    opens the text; every other special token counts as [SEP].
    """
    n = len(tokens)
    special_arr = np.asarray(special, dtype=bool)
    cls = np.array(
        [
            s and (t.strip() in _CLS_NAMES or (i == 0 and t.strip() not in _SEP_NAMES))
            for i, (t, s) in enumerate(zip(tokens, special, strict=True))
        ],
        dtype=bool,
    ).reshape(n)
    sep = special_arr & ~cls
    punct = np.array(
        [not s and is_punctuation(t) for t, s in zip(tokens, special, strict=True)], dtype=bool
    ).reshape(n)
    return {"cls": cls, "sep": sep, "punct": punct}


def attention_metrics(
    attention: np.ndarray, tokens: Sequence[str], special: Sequence[bool], causal: bool = False
) -> HeadMetrics:
    """Metrics of a ``[layers, heads, n, n]`` array (rows = from, columns = to)."""
    att = np.asarray(attention, dtype=np.float64)
    n = att.shape[-1]
    if causal:
        # The future is masked: whatever tiny value a kernel left there is not attention.
        att = att * np.tril(np.ones((n, n)))
    kinds = token_kinds(tokens, special)
    with np.errstate(divide="ignore", invalid="ignore"):
        plogp = np.where(att > 0, att * np.log(np.where(att > 0, att, 1.0)), 0.0)
    entropy = -plogp.sum(-1).mean(-1)

    def share(mask: np.ndarray) -> np.ndarray:
        return (att * mask).sum(-1).mean(-1)

    idx = np.arange(n)
    distance = (att * np.abs(idx[:, None] - idx[None, :])).sum(-1).mean(-1)
    selfshare = np.diagonal(att, axis1=-2, axis2=-1).mean(-1)
    if n > 1:
        prev = np.diagonal(att, offset=-1, axis1=-2, axis2=-1).mean(-1)
        nxt = np.diagonal(att, offset=1, axis1=-2, axis2=-1).mean(-1)
    else:
        prev = np.zeros(att.shape[:2])
        nxt = np.zeros(att.shape[:2])
    return HeadMetrics(
        entropy=entropy,
        cls=share(kinds["cls"]),
        sep=share(kinds["sep"]),
        punct=share(kinds["punct"]),
        self=selfshare,
        prev=prev,
        next=nxt,
        distance=distance,
    )


def head_metrics(result: AttentionResult) -> HeadMetrics:
    """Metrics of every layer and head of one result (token or word level)."""
    return attention_metrics(result.attention, result.tokens, result.special, result.causal)


def mean_metrics(metrics: Sequence[HeadMetrics]) -> HeadMetrics:
    """Average of several sentences' metrics, each weighted by its sentence count."""
    if not metrics:
        raise ValueError("no metrics to average")
    weights = np.array([m.n_sentences for m in metrics], dtype=np.float64)
    averaged = {
        name: np.tensordot(weights, np.stack([m.get(name) for m in metrics]), axes=1) / weights.sum()
        for name in METRIC_NAMES
    }
    return HeadMetrics(**averaged, n_sentences=int(weights.sum()))


def layer_profile(metrics: HeadMetrics) -> dict[str, np.ndarray]:
    """For each metric, its ``[layers]`` mean over heads."""
    return {name: metrics.get(name).mean(axis=1) for name in METRIC_NAMES}


def metrics_table(metrics: HeadMetrics) -> list[dict[str, float | int]]:
    """One row per head: ``{"layer", "head", "entropy", "cls", ...}`` (ready for pandas)."""
    layers, heads = metrics.shape
    return [
        {
            "layer": layer,
            "head": head,
            **{name: float(metrics.get(name)[layer, head]) for name in METRIC_NAMES},
        }
        for layer in range(layers)
        for head in range(heads)
    ]


def head_summary(metrics: HeadMetrics, layer: int, head: int) -> str:
    """One line in Spanish describing one head, for the explorer."""
    v = {name: float(metrics.get(name)[layer, head]) for name in METRIC_NAMES}
    return (
        f"Capa {layer}, cabeza {head}: entropía {v['entropy']:.2f} nats · "
        f"[CLS] {v['cls']:.0%} · [SEP] {v['sep']:.0%} · puntuación {v['punct']:.0%} · "
        f"sí mismo {v['self']:.0%} · anterior {v['prev']:.0%} · siguiente {v['next']:.0%} · "
        f"distancia {v['distance']:.1f}"
    )


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
    :func:`attnviz.extract`.  ``words=True`` measures word-level attention
    (as :func:`attnviz.to_words`), to compare with a word-level sentence.
    A tqdm progress bar shows unless ``progress=False``.
    """

    from .extraction import _display_tokens, _ensure_eager, clean_text, max_tokens

    sentences = [clean_text(s) for s in sentences]
    if not sentences:
        raise ValueError("no sentences")
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, not {batch_size}")
    from tqdm.auto import tqdm

    limit = max_tokens(model, tokenizer)
    fast = bool(getattr(tokenizer, "is_fast", False))
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    accepted = set(_forward_parameters(model))
    device = next(model.parameters()).device
    _ensure_eager(model)

    per_sentence: list[HeadMetrics] = []
    bar = tqdm(total=len(sentences), disable=not progress, desc="frases", unit="frase")
    try:
        for start in range(0, len(sentences), batch_size):
            encodings = [
                tokenizer(s, truncation=True, max_length=limit, return_special_tokens_mask=True)
                for s in sentences[start : start + batch_size]
            ]
            stacked = _batch_attention(model, encodings, pad_id, accepted, device)
            for row, enc in enumerate(encodings):
                ids = list(enc["input_ids"])
                n = len(ids)
                att = stacked[row, :, :, :n, :n]
                causal = n > 1 and not np.triu(att, k=1).any()
                raw = tokenizer.convert_ids_to_tokens(ids)
                tokens = _display_tokens(tokenizer, raw)
                # As in extract: only what the tokenizer added is special, not a typed "[SEP]".
                special = [bool(flag) for flag in enc["special_tokens_mask"]]
                if words:
                    att, tokens, special = _merge_words(att, enc, raw, tokens, special, fast)
                per_sentence.append(attention_metrics(att, tokens, special, bool(causal)))
            bar.update(len(encodings))
    finally:
        bar.close()
    return mean_metrics(per_sentence)


_CORPUS_CACHE: dict[tuple[int, int, bool, tuple[str, ...]], tuple[Any, Any, HeadMetrics]] = {}


def corpus_profile(
    model: Any,
    tokenizer: Any,
    sentences: Sequence[str] | None = None,
    *,
    words: bool = False,
    progress: bool = True,
) -> dict[str, np.ndarray]:
    """Layer profile over ``sentences`` (default: the shipped Spanish corpus), cached per model.

    The first call runs the whole corpus (a progress bar shows it); later
    calls with the same model, tokenizer and options return at once, so a
    notebook or the explorer can redraw the comparison for free.
    """
    if sentences is None:
        from .corpus import load_corpus

        sentences = load_corpus()
    key = (id(model), id(tokenizer), words, tuple(sentences))
    cached = _CORPUS_CACHE.get(key)
    # The objects are kept in the entry so that a reused id() cannot match another model.
    if cached is None or cached[0] is not model or cached[1] is not tokenizer:
        metrics = corpus_metrics(model, tokenizer, sentences, progress=progress, words=words)
        _CORPUS_CACHE[key] = (model, tokenizer, metrics)
        cached = _CORPUS_CACHE[key]
    return layer_profile(cached[2])


def _batch_attention(
    model: Any, encodings: list[Any], pad_id: int, accepted: set[str], device: Any
) -> np.ndarray:
    """``[batch, layers, heads, width, width]`` attention of right-padded sentences."""
    import torch

    from .errors import NoAttentionError

    lengths = [len(e["input_ids"]) for e in encodings]
    width = max(lengths)
    # Right padding, built here so that tokenizers without a pad token (GPT-2) work too.
    ids = torch.full((len(encodings), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(encodings), width), dtype=torch.long)
    types = torch.zeros((len(encodings), width), dtype=torch.long)
    for row, (enc, n) in enumerate(zip(encodings, lengths, strict=True)):
        ids[row, :n] = torch.tensor(enc["input_ids"])
        mask[row, :n] = 1
        if "token_type_ids" in enc:
            types[row, :n] = torch.tensor(enc["token_type_ids"])
    inputs = {"input_ids": ids, "attention_mask": mask}
    if "token_type_ids" in encodings[0]:
        inputs["token_type_ids"] = types
    inputs = {k: v.to(device) for k, v in inputs.items() if k in accepted}
    with torch.inference_mode():
        outputs = model(**inputs, output_attentions=True)
    attentions = getattr(outputs, "attentions", None)
    if not attentions:
        raise NoAttentionError(
            "El modelo no devolvió pesos de atención. Cárgalo con attnviz.load_model(...).",
            "The model returned no attention weights. Load it with attnviz.load_model(...).",
        )
    return torch.stack([a.detach().float().cpu() for a in attentions], dim=1).numpy()


def _merge_words(
    att: np.ndarray, enc: Any, raw: list[str], tokens: list[str], special: list[bool], fast: bool
) -> tuple[np.ndarray, list[str], list[bool]]:
    """Word-level attention, tokens and special flags, grouped as :func:`attnviz.extract` does."""
    from .words import group_pieces, merge_matrix

    if fast:
        word_ids: list[int] = []
        count = -1
        previous: tuple[int | None, int | None] | None = None
        for i, (word, seq) in enumerate(zip(enc.word_ids(), enc.sequence_ids(), strict=True)):
            key = (seq, word)
            if word is None or special[i] or key != previous:
                count += 1
            word_ids.append(count)
            previous = key if word is not None and not special[i] else None
    else:
        word_ids = group_pieces(raw, special)
    texts: list[str] = []
    flags: list[bool] = []
    for i, w in enumerate(word_ids):
        piece = tokens[i].removeprefix("##") if i and word_ids[i - 1] == w else tokens[i]
        if w == len(texts):
            texts.append(piece)
            flags.append(special[i])
        else:
            texts[w] += piece
    return merge_matrix(att, word_ids), texts, flags


def _forward_parameters(model: Any) -> list[str]:
    import inspect

    return list(inspect.signature(model.forward).parameters)
