"""Checkers for the lesson's exercises: known cases with known answers, verdicts in Spanish."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..core.result import AttentionResult


def synthetic_result(attention: np.ndarray, name: str = "caso de prueba") -> AttentionResult:
    """A result around a hand-made ``[layer, head, from, to]`` array, with tokens ``t0 … t(n-1)``.

    Examples
    --------
    >>> r = synthetic_result(np.full((1, 1, 4, 4), 0.25))
    >>> r.tokens
    ('t0', 't1', 't2', 't3')
    """
    n = attention.shape[-1]
    tokens = tuple(f"t{i}" for i in range(n))
    return AttentionResult(
        tokens=tokens,
        attention=np.array(attention, dtype=np.float32),
        model_name=name,
        special=(False,) * n,
        word_ids=tuple(range(n)),
        words=tokens,
        segments=(0,) * n,
        text=" ".join(tokens),
    )


def uniform_distance(n: int) -> float:
    """Mean ``|i - j|`` when every token spreads its attention evenly over all ``n`` tokens.

    It grows with ``n`` (about ``n / 3``): a raw mean distance compares sentences of different lengths
    unfairly, which is why the exercise divides by it.

    Examples
    --------
    >>> round(uniform_distance(8), 2)
    2.62
    """
    positions = np.arange(n)
    return float(np.abs(positions[:, None] - positions[None, :]).mean())


def _known_cases(n: int = 7, layers: int = 3) -> list[tuple[str, AttentionResult, np.ndarray]]:
    """(description, result, expected per-layer normalised distance)."""
    eye = np.eye(n)
    previous = np.eye(n, k=-1)
    previous[0, 0] = 1.0  # the first token has no previous one: it looks at itself
    uniform = np.full((n, n), 1.0 / n)
    mixed = np.stack([eye, previous, uniform])[:layers]
    cases = []
    for label, matrix in (("cada token se mira a sí mismo", eye), ("atención uniforme", uniform)):
        attention = np.broadcast_to(matrix, (layers, 2, n, n)).copy()
        expected = np.full(layers, _normalised(matrix))
        cases.append((f"{label} ({n} tokens)", synthetic_result(attention), expected))
    attention = np.broadcast_to(mixed[:, None], (layers, 2, n, n)).copy()
    expected = np.array([_normalised(m) for m in mixed])
    cases.append(
        (
            f"capa 0 a sí mismo, capa 1 al anterior, capa 2 uniforme ({n} tokens)",
            synthetic_result(attention),
            expected,
        )
    )
    return cases


def _normalised(matrix: np.ndarray) -> float:
    n = matrix.shape[0]
    positions = np.arange(n)
    distance = np.abs(positions[:, None] - positions[None, :])
    return float((matrix * distance).sum(axis=-1).mean() / uniform_distance(n))


def check_distance_metric(metric: Callable[[AttentionResult], object], *, verbose: bool = True) -> bool:
    """Check a student's normalised attention distance on cases whose answer is known.

    The metric must return one value per layer: the mean over heads and source tokens of
    ``sum_j a[i, j] * |i - j|``, divided by :func:`uniform_distance` so that uniform attention
    scores 1 whatever the sentence length.

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
    """
    all_right = True
    for label, result, expected in _known_cases():
        try:
            got = np.asarray(metric(result), dtype=float).reshape(-1)
        except Exception as error:  # the student's code: any failure is part of the verdict
            all_right = False
            if verbose:
                print(f"✗ {label}: tu función falló con {type(error).__name__}: {error}")
            continue
        if got.shape != expected.shape:
            all_right = False
            if verbose:
                print(
                    f"✗ {label}: esperaba {expected.size} valores (uno por capa) y tu función da {got.size}."
                )
            continue
        if not np.allclose(got, expected, atol=1e-4):
            all_right = False
            if verbose:
                print(
                    f"✗ {label}: esperaba {np.round(expected, 3).tolist()} y tu función da "
                    f"{np.round(got, 3).tolist()}."
                )
            continue
        if verbose:
            print(f"✓ {label}: {np.round(got, 3).tolist()}")
    if verbose:
        print("¡Correcto!" if all_right else "Todavía no: revisa los casos marcados con ✗.")
    return all_right
