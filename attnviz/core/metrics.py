"""Per-head summaries of attention: entropy, where it goes, how far it reaches.

Numpy only: every metric is an ``[layer, head]`` array computed from
attention already extracted, from one result (:func:`head_metrics`) or
averaged over sentences (:func:`mean_metrics`; the model-running corpus pass
is :func:`attnviz.core.corpus.corpus_metrics`).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields

import numpy as np

from .result import Attention, AttentionResult

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
    """One ``[layer, head]`` float array per metric.

    * ``entropy``: entropy of each row in nats, averaged over rows
      (0 = all on one token, ``ln n`` = uniform).
    * ``cls``, ``sep``, ``punct``, ``itself``: share of each row that goes to
      [CLS] (the opening special token), to [SEP] (any other special token),
      to punctuation, and to the token itself, averaged over rows.
    * ``previous`` / ``following``: share to the previous / next token,
      averaged over the rows that have one (so a pure previous-token head
      scores 1).
    * ``distance``: mean ``|i - j|`` weighted by attention, averaged over rows.

    In a causal model the future is masked, so ``following`` is 0.
    ``n_sentences`` says how many sentences were averaged.  By name (tables,
    CSV columns, :meth:`get`) the metrics are :data:`METRIC_NAMES`, where
    ``itself``, ``previous`` and ``following`` are ``"self"``, ``"prev"``
    and ``"next"``.
    """

    entropy: np.ndarray
    cls: np.ndarray
    sep: np.ndarray
    punct: np.ndarray
    itself: np.ndarray
    previous: np.ndarray
    following: np.ndarray
    distance: np.ndarray
    n_sentences: int = 1

    @property
    def shape(self) -> tuple[int, int]:
        return tuple(self.entropy.shape)  # type: ignore[return-value]

    def get(self, name: str) -> np.ndarray:
        """The array of one metric by its name in :data:`METRIC_NAMES` (``"self"`` included)."""
        if name not in METRIC_NAMES:
            raise KeyError(f"unknown metric {name!r}; choose one of {', '.join(METRIC_NAMES)}")
        return getattr(self, _FIELDS[name])

    def as_dict(self) -> dict[str, np.ndarray]:
        """Every metric by its name in :data:`METRIC_NAMES`."""
        return {name: self.get(name) for name in METRIC_NAMES}

    @classmethod
    def from_names(cls, arrays: Mapping[str, np.ndarray], n_sentences: int = 1) -> HeadMetrics:
        """Build from arrays keyed by :data:`METRIC_NAMES`."""
        return cls(**{_FIELDS[name]: arrays[name] for name in METRIC_NAMES}, n_sentences=n_sentences)


#: Metric name -> HeadMetrics field, in METRIC_NAMES order.
_FIELDS: dict[str, str] = dict(
    zip(METRIC_NAMES, [f.name for f in fields(HeadMetrics) if f.name != "n_sentences"], strict=True)
)


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
    attention: Attention, tokens: Sequence[str], special: Sequence[bool], causal: bool = False
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
        itself=selfshare,
        previous=prev,
        following=nxt,
        distance=distance,
    )


def head_metrics(result: AttentionResult) -> HeadMetrics:
    """Metrics of every layer and head of one result (token or word level).

    Parameters
    ----------
    result : AttentionResult
        What :func:`attnviz.extract` (or :func:`attnviz.to_words`) returns.

    Returns
    -------
    HeadMetrics
        One ``[layer, head]`` array per metric; numpy only, the model is not run.

    Examples
    --------
    >>> m = attnviz.head_metrics(result)
    >>> m.previous[3, 5]  # share of head (3, 5) that goes to the previous token
    0.87
    """
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
    return HeadMetrics.from_names(averaged, n_sentences=int(weights.sum()))


def layer_profile(metrics: HeadMetrics) -> dict[str, np.ndarray]:
    """For each metric, its mean over the heads of each layer.

    Parameters
    ----------
    metrics : HeadMetrics
        From :func:`head_metrics` or :func:`attnviz.corpus_metrics`.

    Returns
    -------
    dict of str to ndarray
        One ``[layer]`` array per name in :data:`METRIC_NAMES`, ready for
        :func:`attnviz.plot_profile`.

    Examples
    --------
    >>> profile = attnviz.layer_profile(attnviz.head_metrics(result))
    >>> attnviz.plot_profile(profile)
    """
    return {name: metrics.get(name).mean(axis=1) for name in METRIC_NAMES}


def metrics_table(metrics: HeadMetrics) -> list[dict[str, float | int]]:
    """One row per head, layer by layer.

    Parameters
    ----------
    metrics : HeadMetrics
        Per-head metrics of one sentence, or averaged over a corpus.

    Returns
    -------
    list of dict
        ``{"layer", "head", "entropy", "cls", ...}`` for each head (ready for pandas).

    Examples
    --------
    >>> rows = attnviz.metrics_table(attnviz.head_metrics(result))
    >>> rows[0]["layer"], rows[0]["head"]
    (0, 0)
    """
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
    """One line in Spanish describing head ``(layer, head)`` of ``metrics``."""
    return _summary_line(layer, head, {name: float(metrics.get(name)[layer, head]) for name in METRIC_NAMES})


def one_head_summary(result: AttentionResult, layer: int, head: int) -> str:
    """:func:`head_summary` of one head, measuring only that head (all 144 take ~1 s at 512 tokens)."""
    one = attention_metrics(
        result.attention[layer : layer + 1, head : head + 1], result.tokens, result.special, result.causal
    )
    return _summary_line(layer, head, {name: float(one.get(name)[0, 0]) for name in METRIC_NAMES})


def _summary_line(layer: int, head: int, v: Mapping[str, float]) -> str:
    return (
        f"Capa {layer}, cabeza {head}: entropía {v['entropy']:.2f} nats · "
        f"[CLS] {v['cls']:.0%} · [SEP] {v['sep']:.0%} · puntuación {v['punct']:.0%} · "
        f"sí mismo {v['self']:.0%} · anterior {v['prev']:.0%} · siguiente {v['next']:.0%} · "
        f"distancia {v['distance']:.1f}"
    )
