"""Queries and keys of one head, over many sentences, on one plane (as AttentionViz, IEEE VIS 2023).

The projection is a joint PCA in plain numpy (an SVD of the centred vectors): it needs no
extra package on Colab, Kaggle or offline, and with two components its result is the same as
scikit-learn's PCA up to the sign of each axis.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from .errors import InvalidTextError, MeasureUnavailableError
from .result import AttentionResult


@dataclass(frozen=True)
class QueryKeyMap:
    """Every token's query and key of one head, projected together onto two axes.

    ``points`` is ``[2 * N, 2]``: the N queries first, then the N keys of the same
    tokens, in the same order.  ``position`` is each token's relative position in its
    sentence (0 = first, 1 = last) and ``tokens`` its text; ``sentence`` says which
    sentence it comes from.  ``explained`` is the share of variance each axis keeps.
    """

    layer: int
    head: int
    points: np.ndarray
    tokens: tuple[str, ...]
    position: np.ndarray
    sentence: np.ndarray
    explained: tuple[float, float]
    model_name: str

    @property
    def queries(self) -> np.ndarray:
        return self.points[: len(self.tokens)]

    @property
    def keys(self) -> np.ndarray:
        return self.points[len(self.tokens) :]


def query_key_map(
    results: Iterable[AttentionResult], layer: int, head: int, *, skip_special: bool = True
) -> QueryKeyMap:
    """Project one head's queries and keys, over several sentences, onto one plane.

    Adding the same vector to every key adds a constant to each row of scores, and
    multiplying queries by ``c`` and keys by ``1/c`` changes no score: neither changes the
    weights.  So, as AttentionViz does, the keys are first moved so that their mean is the
    queries' mean, and both are scaled to the same mean norm; then a query near a key means
    a large ``q·k``, and that token pair gets attention.

    Parameters
    ----------
    results : iterable of AttentionResult
        Results of one model (word-level ones are mapped token by token), for example
        ``attnviz.corpus_results(model, tokenizer, attnviz.load_corpus())``.
    layer, head : int
        The head.
    skip_special : bool
        Leave out [CLS], [SEP] and the like (they would take one corner of the plane).

    Returns
    -------
    QueryKeyMap

    Examples
    --------
    >>> results = list(attnviz.corpus_results(model, tokenizer, attnviz.load_corpus()))
    >>> qk = attnviz.query_key_map(results, layer=3, head=0)
    >>> qk.points.shape[1]
    2
    """
    queries: list[np.ndarray] = []
    keys: list[np.ndarray] = []
    tokens: list[str] = []
    position: list[float] = []
    sentence: list[int] = []
    model_name = ""
    for index, result in enumerate(results):
        # Queries and keys are per token: a word-level result is mapped through its pieces.
        result = result.pieces if result.pieces is not None else result
        if result.projections is None:
            raise MeasureUnavailableError(
                "El mapa de consultas y claves no está disponible para este modelo: attnviz no sabe "
                "leer sus proyecciones (sí las de BERT, RoBERTa, DistilBERT, GPT-2 y MiniLM).",
                "The query/key map is not available for this model: attnviz cannot read its projections.",
            )
        layer, head = result.check_layer(layer), result.check_head(head)
        keep = [i for i, special in enumerate(result.special) if not (skip_special and special)]
        queries.append(result.projections.query(layer, head)[keep])
        keys.append(result.projections.key(layer, head)[keep])
        tokens.extend(result.tokens[i] for i in keep)
        position.extend(i / max(result.n_tokens - 1, 1) for i in keep)
        sentence.extend([index] * len(keep))
        model_name = model_name or result.model_name
    if not tokens:
        raise InvalidTextError(
            "No hay tokens que proyectar: da al menos una frase con palabras.",
            "There are no tokens to project: give at least one sentence with words.",
        )
    q = np.concatenate(queries).astype(np.float64)
    k = np.concatenate(keys).astype(np.float64)
    ratio = np.sqrt(np.linalg.norm(q, axis=1).mean() / max(np.linalg.norm(k, axis=1).mean(), 1e-12))
    q, k = q / ratio, k * ratio
    k += q.mean(0) - k.mean(0)
    both = np.concatenate([q, k])
    centred = both - both.mean(0)
    _, singular, axes = np.linalg.svd(centred, full_matrices=False)
    variance = singular**2 / max(float((singular**2).sum()), 1e-12)
    return QueryKeyMap(
        layer=layer,
        head=head,
        points=centred @ axes[:2].T,
        tokens=tuple(tokens),
        position=np.asarray(position),
        sentence=np.asarray(sentence),
        explained=(float(variance[0]), float(variance[1]) if len(variance) > 1 else 0.0),
        model_name=model_name,
    )
