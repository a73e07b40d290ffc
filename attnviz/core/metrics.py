"""Per-head summaries of attention: entropy, where it goes, how far it reaches.

Numpy only: every metric is an ``[layer, head]`` array computed from attention already extracted.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields

import numpy as np

from .errors import InvalidInputTypeError
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

    Each is averaged over rows: ``entropy`` in nats (0 = all on one token, ``ln n`` = uniform);
    the shares to [CLS] (the opening special token), [SEP] (any other special token), punctuation,
    the token ``itself``, the ``previous`` and ``following`` token (over the rows that have one;
    a causal model never attends ``following``); and the attention-weighted ``distance`` ``|i - j|``.
    By name (tables, CSV, :meth:`get`) they are :data:`METRIC_NAMES`, where ``itself``,
    ``previous`` and ``following`` are ``"self"``, ``"prev"`` and ``"next"``.
    ``n_sentences`` says how many sentences were averaged.
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
    is_special = np.asarray(special, dtype=bool).reshape(len(tokens))
    names = [t.strip() for t in tokens]
    named_cls = [t in _CLS_NAMES or (i == 0 and t not in _SEP_NAMES) for i, t in enumerate(names)]
    cls = is_special & np.array(named_cls, dtype=bool)
    punct = ~is_special & np.array([is_punctuation(t) for t in tokens], dtype=bool)
    return {"cls": cls, "sep": is_special & ~cls, "punct": punct}


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
    plogp = np.where(att > 0, att * np.log(np.where(att > 0, att, 1.0)), 0.0)

    def row_mean(weights: np.ndarray) -> np.ndarray:
        return (att * weights).sum(-1).mean(-1)

    def diagonal_mean(offset: int) -> np.ndarray:
        # A one-token text has no previous or next token: 0, not the mean of nothing.
        if offset and n < 2:
            return np.zeros(att.shape[:2])
        return np.diagonal(att, offset=offset, axis1=-2, axis2=-1).mean(-1)

    idx = np.arange(n)
    return HeadMetrics(
        entropy=-plogp.sum(-1).mean(-1),
        cls=row_mean(kinds["cls"]),
        sep=row_mean(kinds["sep"]),
        punct=row_mean(kinds["punct"]),
        itself=diagonal_mean(0),
        previous=diagonal_mean(-1),
        following=diagonal_mean(1),
        distance=row_mean(np.abs(idx[:, None] - idx[None, :])),
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
    weights = [m.n_sentences for m in metrics]
    averaged = {
        name: np.average([m.get(name) for m in metrics], axis=0, weights=weights) for name in METRIC_NAMES
    }
    return HeadMetrics.from_names(averaged, n_sentences=sum(weights))


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
    return [
        {
            "layer": layer,
            "head": head,
            **{name: float(metrics.get(name)[layer, head]) for name in METRIC_NAMES},
        }
        for layer, head in np.ndindex(metrics.shape)
    ]


#: What the head with the largest share of each kind does, as a title says it.
STRONGEST: dict[str, str] = {
    "next": "la que más mira al siguiente",
    "prev": "la que más mira al anterior",
    "self": "la que más se mira a sí misma",
    "cls": "la que más mira a [CLS]",
    "sep": "la que más mira a [SEP]",
    "punct": "la que más mira a la puntuación",
}


def _targets(result: AttentionResult, name: str, source: int) -> np.ndarray:
    """The columns a head of kind ``name`` aims at from row ``source``."""
    n = result.n_tokens
    if name in ("cls", "sep", "punct"):
        return np.flatnonzero(token_kinds(result.tokens, result.special)[name])
    offset = {"next": 1, "prev": -1, "self": 0}[name]
    return np.array([source + offset]) if 0 <= source + offset < n else np.array([], dtype=int)


def strongest_head(result: AttentionResult, name: str, source: int) -> tuple[int, int, str]:
    """The head with the largest share ``name`` and a Spanish title that says what it shows from ``source``.

    The share is a mean over every row; the picture shows one row.  When that row's most
    attended token is not what the share counts, the title says so instead of promising it.

    Parameters
    ----------
    result : AttentionResult
        One sentence.
    name : str
        A key of :data:`STRONGEST` (``"next"``, ``"prev"``, ``"self"``, ``"cls"``, ``"sep"``, ``"punct"``).
    source : int
        The token the picture draws the attention from.

    Returns
    -------
    layer, head : int
    title : str

    Examples
    --------
    >>> attnviz.strongest_head(result, "sep", source=4)
    >>> print(_[2])
    Capa 1 · cabeza 3: la que más mira a [SEP] (16% de media)
    desde «gato», lo más mirado es «[CLS]» (55%)
    """
    if name not in STRONGEST:
        raise InvalidInputTypeError(
            f"«{name}» no es una de las medidas posibles: usa una de {', '.join(STRONGEST)}.",
            f"{name!r} is not one of {', '.join(STRONGEST)}.",
        )
    source = result.check_token(source)
    shares = head_metrics(result).get(name)
    layer, head = (int(i) for i in np.unravel_index(np.argmax(shares), shares.shape))
    title = f"Capa {layer} · cabeza {head}: {STRONGEST[name]} ({shares[layer, head]:.0%} de media)"
    row = result.attention[layer, head, source]
    top = int(np.argmax(row))
    if top not in _targets(result, name, source):
        seen = f"«{result.tokens[top]}» ({row[top]:.0%})"
        title += f"\ndesde «{result.tokens[source]}», lo más mirado es {seen}"
    return layer, head, title


def sink_summary(metrics: HeadMetrics) -> str:
    """Which special token collects the attention in this model, in Spanish, against Clark et al. (2019).

    Parameters
    ----------
    metrics : HeadMetrics
        Per-head metrics, best averaged over many sentences (:func:`attnviz.corpus_metrics`).

    Returns
    -------
    str
        For example «En este modelo el sumidero es [CLS], no [SEP]: …».

    Examples
    --------
    >>> print(attnviz.sink_summary(attnviz.corpus_metrics(model, tokenizer, attnviz.load_corpus()[:40])))
    """
    profile = layer_profile(metrics)
    cls, sep = profile["cls"], profile["sep"]
    over = f"de media sobre {metrics.n_sentences} frases" if metrics.n_sentences > 1 else "en esta frase"
    ranges = (
        f"{over}, [CLS] recibe entre el {cls.min():.0%} y el {cls.max():.0%} de la atención según la capa, "
        f"y [SEP] entre el {sep.min():.0%} y el {sep.max():.0%}"
    )
    clark = (
        "Clark et al. (2019) midieron en BERT-base inglés, con pares de segmentos, más de la mitad de la "
        "atención en [SEP] en las capas 6 a 10 (contadas desde 1)"
    )
    if cls.max() > sep.max():
        return f"En este modelo el sumidero es [CLS], no [SEP]: {ranges}. {clark}: aquí no pasa."
    return f"En este modelo el sumidero es [SEP], como en Clark et al. (2019): {ranges}. {clark}."
