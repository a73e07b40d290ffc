"""Two measures of an arc: the weight the model returned, or what the arc carries.

``with_measure(result, "contribucion")`` is the same result with each weight ``α_ij``
replaced by ``α_ij ‖f_h(x_j)‖`` (Kobayashi et al., 2020), rows normalised to sum to 1, so
every view and metric shows either measure unchanged.  :func:`score_steps` rebuilds one
row of weights from the query and the keys: ``q·k``, then the model's scale, then softmax.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Literal, cast

import numpy as np

from .errors import InvalidInputTypeError, MeasureUnavailableError
from .result import AttentionResult, require_result

Measure = Literal["peso", "contribucion"]

#: Measure name -> what titles and colour bars call it.
MEASURES: dict[str, str] = {"peso": "peso de atención", "contribucion": "contribución α·‖f(x)‖"}

_ALIASES = {
    "contribución": "contribucion",
    "pesos": "peso",
    "weight": "peso",
    "contribution": "contribucion",
}


def check_measure(measure: object) -> Measure:
    """``measure`` as a known name ("peso" or "contribucion"), or one Spanish sentence saying which exist.

    Examples
    --------
    >>> check_measure("contribución")
    'contribucion'
    """
    name = measure.strip().lower() if isinstance(measure, str) else measure
    name = _ALIASES.get(name, name) if isinstance(name, str) else name
    if name not in MEASURES:
        raise InvalidInputTypeError(
            f"La medida {measure!r} no existe: elige «peso» o «contribucion».",
            f"Unknown measure {measure!r}: choose 'peso' (weight) or 'contribucion' (contribution).",
        )
    return cast(Measure, name)


def _projections_or_raise(result: AttentionResult, what: str) -> np.ndarray:
    if result.projections is None:
        raise MeasureUnavailableError(
            f"La {what} no está disponible para este modelo: attnviz no sabe leer sus proyecciones "
            "de valor y de salida (sí las de BERT, RoBERTa, DistilBERT, GPT-2 y MiniLM).",
            f"The {what} is not available for this model: attnviz cannot read its projections.",
        )
    return result.projections.value_norms()


def with_measure(result: AttentionResult, measure: str | None) -> AttentionResult:
    """The result whose ``attention`` holds the chosen measure.

    Parameters
    ----------
    result : AttentionResult
        From :func:`attnviz.extract` (token or word level).
    measure : {"peso", "contribucion"} or None
        None: ``result`` as it is.  ``"peso"``: the weights the model returned.
        ``"contribucion"``: each weight times the norm of what the source token carries
        through that head, ``α_ij ‖f_h(x_j)‖`` with ``f_h(x) = (x W_V^h + b_V^h) W_O^h``
        (Kobayashi et al., 2020), each row normalised to sum to 1.  Word level merges the
        token-level contribution as :func:`attnviz.to_words` merges weights.

    Returns
    -------
    AttentionResult
        ``result`` itself for its own measure; otherwise a new result, computed without
        running the model again.

    Examples
    --------
    >>> carried = attnviz.with_measure(result, "contribucion")
    >>> attnviz.plot_arcs(carried, layer=2, head=0)
    """
    result = require_result(result)
    if measure is None:
        return result
    measure = check_measure(measure)
    if result.measure == measure:
        return result
    if result.level == "word":
        from .words import to_words

        assert result.pieces is not None
        return to_words(with_measure(result.pieces, measure))
    if measure == "peso":
        raise MeasureUnavailableError(
            "Este resultado ya no guarda los pesos: usa el resultado de attnviz.extract.",
            "This result no longer holds the weights: use the result of attnviz.extract.",
        )
    norms = _projections_or_raise(result, "contribución")
    carried = result.attention * norms[:, :, None, :]
    totals = carried.sum(-1, keepdims=True)
    carried /= np.where(totals > 0, totals, 1.0)
    return dataclasses.replace(
        result, attention=carried.astype(np.float32, copy=False), measure="contribucion"
    )


@dataclass(frozen=True)
class ScoreSteps:
    """How one row of weights is made: one entry per target token.

    ``dot`` is ``q·k``; ``scaled`` is ``dot × scale`` (``scale = 1/√d_k`` for BERT);
    ``weights`` is the softmax of ``scaled`` (future tokens get 0 in a causal model);
    ``returned`` is the row the model itself returned.  ``unscaled_weights`` is the
    softmax without the scale, to see the peak sharpen.
    """

    tokens: tuple[str, ...]
    source: int
    scale: float
    d_k: int
    dot: np.ndarray
    scaled: np.ndarray
    weights: np.ndarray
    unscaled_weights: np.ndarray
    returned: np.ndarray


def _softmax(scores: np.ndarray, visible: np.ndarray) -> np.ndarray:
    masked = np.where(visible, scores, -np.inf)
    exp = np.exp(masked - masked.max())
    return exp / exp.sum()


def score_steps(result: AttentionResult, layer: int, head: int, source: int) -> ScoreSteps:
    """Rebuild one row of attention from the model's own query and keys.

    Parameters
    ----------
    result : AttentionResult
        Result of :func:`attnviz.extract`; at word level, a word's first piece is rebuilt.
    layer, head, source : int
        Which head, and which token's row.

    Returns
    -------
    ScoreSteps
        ``q·k``, the scaled scores, their softmax and the weights the model returned.

    Examples
    --------
    >>> steps = attnviz.score_steps(result, layer=2, head=0, source=3)
    >>> bool(np.allclose(steps.weights, steps.returned, atol=1e-5))
    True
    """
    result = require_result(result)
    if result.measure != "peso":
        raise MeasureUnavailableError(
            "La descomposición q·k rehace los pesos: dale el resultado de attnviz.extract.",
            "The q·k steps rebuild the weights: pass the result of attnviz.extract.",
        )
    if result.level == "word":
        # A word's row is rebuilt at its first piece: q·k is made token by token.
        assert result.pieces is not None
        source = result.word_spans[result.check_token(source)][0]
        result = result.pieces
    _projections_or_raise(result, "descomposición q·k")
    assert result.projections is not None
    layer, head, source = result.check_layer(layer), result.check_head(head), result.check_token(source)
    inside = result.projections
    query = inside.query(layer, head)[source].astype(np.float64)
    keys = inside.key(layer, head).astype(np.float64)
    dot = keys @ query
    scale = float(inside.score_scale[layer])
    n = result.n_tokens
    visible = np.arange(n) <= source if result.causal else np.ones(n, dtype=bool)
    return ScoreSteps(
        tokens=result.tokens,
        source=source,
        scale=scale,
        d_k=int(query.shape[0]),
        dot=dot,
        scaled=dot * scale,
        weights=_softmax(dot * scale, visible),
        unscaled_weights=_softmax(dot, visible),
        returned=np.asarray(result.attention[layer, head, source], dtype=np.float64),
    )


def measures_summary(
    by_weight: dict[str, np.ndarray],
    by_contribution: dict[str, np.ndarray],
    model_name: str,
    n_sentences: int,
) -> str:
    """One Spanish paragraph, from two layer profiles, on where [CLS], [SEP] and punctuation stand.

    Parameters
    ----------
    by_weight, by_contribution : dict of str to ndarray
        :func:`attnviz.corpus_profile` (or :func:`attnviz.layer_profile`) with
        ``measure="peso"`` and ``measure="contribucion"``.
    model_name : str
        The model, as the lesson names it.
    n_sentences : int
        How many sentences the profiles average.

    Returns
    -------
    str
        Every number in it comes from the two profiles.

    Examples
    --------
    >>> print(measures_summary(by_weight, by_contribution, "BETO", 40))
    """
    sinks_w = by_weight["cls"] + by_weight["sep"]
    sinks_c = by_contribution["cls"] + by_contribution["sep"]
    change = sinks_w - sinks_c
    layer = int(np.argmax(np.abs(change)))
    sink = "[CLS]" if by_weight["cls"].mean() >= by_weight["sep"].mean() else "[SEP]"
    direction = "baja" if change.mean() > 0 else "sube"
    return (
        f"Con {model_name}, de media sobre {n_sentences} frases y sobre las capas, [CLS] y [SEP] reciben "
        f"el {sinks_w.mean():.0%} de la atención por peso y el {sinks_c.mean():.0%} por contribución; "
        f"la puntuación, el {by_weight['punct'].mean():.0%} y el {by_contribution['punct'].mean():.0%}. "
        f"Por peso, el token especial más mirado es {sink}. Al pesar por lo que cada token entrega, la "
        f"parte de [CLS] y [SEP] {direction}; donde más cambia es en la capa {layer} "
        f"(del {sinks_w[layer]:.0%} al {sinks_c[layer]:.0%})."
    )


def measure_change(result: AttentionResult) -> np.ndarray:
    """``[layer, head]``: how much each head's rows change from weight to contribution.

    Half the sum of absolute differences between a row of weights and the same row of
    contributions (0: the same; 1: disjoint), averaged over the rows.

    Parameters
    ----------
    result : AttentionResult
        Weights from :func:`attnviz.extract` (token or word level).

    Returns
    -------
    ndarray

    Examples
    --------
    >>> change = attnviz.measure_change(result)
    >>> layer, head = np.unravel_index(change.argmax(), change.shape)
    """
    result = require_result(result)
    carried = with_measure(result, "contribucion")
    return 0.5 * np.abs(carried.attention - result.attention).sum(-1).mean(-1)
