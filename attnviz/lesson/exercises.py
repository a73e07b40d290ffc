"""The own-metric exercise: known cases with known answers, verdicts and hints in Spanish."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from ..core.result import AttentionResult


def synthetic_result(
    attention: np.ndarray, name: str = "caso de prueba", special: Sequence[bool] | None = None
) -> AttentionResult:
    """A result around a hand-made ``[layer, head, from, to]`` array, with tokens ``t0 … t(n-1)``.

    Tokens marked in ``special`` are called ``[CLS]`` (the first) and ``[SEP]`` (the others).

    Examples
    --------
    >>> r = synthetic_result(np.full((1, 1, 4, 4), 0.25), special=[True, False, False, True])
    >>> r.tokens
    ('[CLS]', 't1', 't2', '[SEP]')
    """
    n = attention.shape[-1]
    flags = (False,) * n if special is None else tuple(bool(s) for s in special)
    tokens = tuple(("[CLS]" if i == 0 else "[SEP]") if flags[i] else f"t{i}" for i in range(n))
    return AttentionResult(
        tokens=tokens,
        attention=np.array(attention, dtype=np.float32),
        model_name=name,
        special=flags,
        word_ids=tuple(range(n)),
        words=tokens,
        segments=(0,) * n,
        text=" ".join(tokens),
    )


def uniform_distance(n: int) -> float:
    """Mean ``|i - j|`` when every token spreads its attention evenly over all ``n`` tokens.

    It grows with ``n`` (about ``n / 3``), which is why the exercise divides by it.

    Examples
    --------
    >>> round(uniform_distance(8), 2)
    2.62
    """
    positions = np.arange(n)
    return float(np.abs(positions[:, None] - positions[None, :]).mean())


def text_attention(result: AttentionResult) -> np.ndarray:
    """``[layer, head, m, m]`` float64: the attention among the ``m`` non-special tokens, rows summing to 1.

    [CLS] and [SEP] sit at the two ends of the sentence: left in, they make a head that looks at
    them seem to look far, and one that ignores them seem to look near.

    Examples
    --------
    >>> r = synthetic_result(np.full((1, 1, 4, 4), 0.25), special=[True, False, False, True])
    >>> text_attention(r)[0, 0]
    array([[0.5, 0.5],
           [0.5, 0.5]])
    """
    keep = ~np.asarray(result.special, dtype=bool)
    inner = np.asarray(result.attention, dtype=np.float64)[:, :, keep][:, :, :, keep]
    totals = inner.sum(axis=-1, keepdims=True)
    return inner / np.where(totals > 0, totals, 1.0)


def _distances(attention: np.ndarray) -> np.ndarray:
    """``[layer, head]`` mean over rows of ``sum_j a[i, j] |i - j|``."""
    n = attention.shape[-1]
    positions = np.arange(n)
    return (attention * np.abs(positions[:, None] - positions[None, :])).sum(axis=-1).mean(axis=-1)


def reference_distance(result: AttentionResult, *, special: bool = False) -> np.ndarray:
    """The answer the checker expects: one normalised distance per layer, without [CLS] and [SEP].

    For each layer: the mean over heads and text tokens of ``sum_j a[i, j] |i - j|`` over the
    text tokens (rows renormalised after leaving the special tokens out), divided by
    :func:`uniform_distance` of the number of text tokens, so that uniform attention scores 1.
    ``special=True`` keeps [CLS] and [SEP] in, to show what they do to the number.

    Examples
    --------
    >>> r = synthetic_result(np.full((1, 2, 4, 4), 0.25), special=[True, False, False, True])
    >>> reference_distance(r)
    array([1.])
    """
    inner = np.asarray(result.attention, dtype=np.float64) if special else text_attention(result)
    return _distances(inner).mean(axis=1) / uniform_distance(inner.shape[-1])


#: Wrong versions a student often writes, with the hint each deserves.
def _first_head(r: AttentionResult) -> np.ndarray:
    inner = text_attention(r)
    return _distances(inner)[:, 0] / uniform_distance(inner.shape[-1])


def _max_over_heads(r: AttentionResult) -> np.ndarray:
    inner = text_attention(r)
    return _distances(inner).max(axis=1) / uniform_distance(inner.shape[-1])


def _not_normalised(r: AttentionResult) -> np.ndarray:
    return _distances(text_attention(r)).mean(axis=1)


def _all_tokens_uniform(r: AttentionResult) -> np.ndarray:
    return _distances(text_attention(r)).mean(axis=1) / uniform_distance(r.n_tokens)


def _rows_not_renormalised(r: AttentionResult) -> np.ndarray:
    keep = ~np.asarray(r.special, dtype=bool)
    inner = np.asarray(r.attention, dtype=np.float64)[:, :, keep][:, :, :, keep]
    return _distances(inner).mean(axis=1) / uniform_distance(inner.shape[-1])


_MISTAKES: tuple[tuple[Callable[[AttentionResult], np.ndarray], str], ...] = (
    (
        lambda r: reference_distance(r, special=True),
        "cuentas [CLS] y [SEP]: quita sus filas y columnas (r.special dice cuáles son) y vuelve a "
        "repartir cada fila para que sume 1.",
    ),
    (_first_head, "usas una sola cabeza: haz la media sobre todas las cabezas de la capa (axis=1)."),
    (_max_over_heads, "tomas el máximo sobre las cabezas: haz la media (mean), no el máximo."),
    (_not_normalised, "no divides por uniform_distance(n): sin eso, una frase larga parece mirar más lejos."),
    (
        _all_tokens_uniform,
        "divides por uniform_distance de todos los tokens: usa n = los tokens sin [CLS] ni [SEP].",
    ),
    (
        _rows_not_renormalised,
        "al quitar [CLS] y [SEP], las filas ya no suman 1: divide cada fila por su suma.",
    ),
)


def _known_cases(n_text: int = 7) -> list[tuple[str, AttentionResult]]:
    """A result of 3 layers x 2 different heads, with [CLS] first and [SEP] last, whose answer is known."""
    n = n_text + 2
    text = np.arange(1, n - 1)

    def head(text_rows: np.ndarray, to_cls: float = 0.0, to_sep: float = 0.0) -> np.ndarray:
        matrix = np.full((n, n), 1.0 / n)  # the special tokens' own rows: left out anyway
        matrix[1:-1] = 0.0
        matrix[1:-1, 1:-1] = (1.0 - to_cls - to_sep) * text_rows
        matrix[1:-1, 0] += to_cls
        matrix[1:-1, -1] += to_sep
        return matrix

    itself = np.eye(n_text)
    previous = np.eye(n_text, k=-1)
    previous[0, 0] = 1.0  # the first word has no previous one: it looks at itself
    following = np.eye(n_text, k=1)
    following[-1, -1] = 1.0
    spread = np.full((n_text, n_text), 1.0 / n_text)
    everywhere = np.full((n, n), 1.0 / n)
    # Layer 0: itself | the previous word.  Layer 1: uniform over every token | 60 % to [CLS] and the
    # rest to the next word.  Layer 2: half to [SEP], half to itself | uniform over the words.
    layers = [
        [head(itself), head(previous)],
        [everywhere, head(following, to_cls=0.6)],
        [head(itself, to_sep=0.5), head(spread)],
    ]
    attention = np.stack([np.stack(heads) for heads in layers])
    assert np.allclose(attention.sum(axis=-1), 1.0) and len(text) == n_text
    result = synthetic_result(attention, special=[True] + [False] * n_text + [True])
    return [(f"{n_text} palabras entre [CLS] y [SEP], 3 capas de 2 cabezas distintas", result)]


def _cases() -> list[tuple[str, AttentionResult]]:
    # The same heads over two lengths: the normalisation must make the answers comparable.
    return _known_cases(7) + _known_cases(12)


def check_distance_metric(metric: Callable[[AttentionResult], object], *, verbose: bool = True) -> bool:
    """Check a student's normalised attention distance on cases whose answer is known.

    The metric must return one value per layer: :func:`reference_distance`, the mean over heads
    and text tokens of ``sum_j a[i, j] * |i - j|`` without [CLS] and [SEP] (rows renormalised),
    divided by :func:`uniform_distance` of the number of text tokens.  The cases have heads that
    differ within a layer and special tokens at both ends, so that using one head, the maximum
    over heads, or the special tokens gives a wrong answer; a recognised mistake gets a hint.

    Parameters
    ----------
    metric
        The student's function, taking an :class:`AttentionResult`.
    verbose
        Print a Spanish verdict for each case.

    Returns
    -------
    bool
        True when every case matches to 1e-4.

    Examples
    --------
    >>> check_distance_metric(lambda r: [1.0] * r.n_layers, verbose=False)
    False
    >>> check_distance_metric(reference_distance, verbose=False)
    True
    """
    all_right = True
    for label, result in _cases():
        expected = reference_distance(result)
        problem = None
        got = np.zeros(0)
        try:
            got = np.asarray(metric(result), dtype=float).reshape(-1)
        except Exception as error:  # the student's code: any failure is part of the verdict
            problem = f"tu función falló con {type(error).__name__}: {error}"
        else:
            if got.shape != expected.shape:
                problem = f"esperaba {expected.size} valores (uno por capa) y tu función da {got.size}."
            elif not np.allclose(got, expected, atol=1e-4):
                problem = (
                    f"esperaba {np.round(expected, 3).tolist()} y tu función da {np.round(got, 3).tolist()}."
                )
                hint = next((h for wrong, h in _MISTAKES if np.allclose(got, wrong(result), atol=1e-4)), None)
                if hint:
                    problem += f" Pista: {hint}"
        all_right = all_right and problem is None
        if verbose:
            print(f"✗ {label}: {problem}" if problem else f"✓ {label}: {np.round(got, 3).tolist()}")
    if verbose:
        print("¡Correcto!" if all_right else "Todavía no: revisa los casos marcados con ✗.")
    return all_right
