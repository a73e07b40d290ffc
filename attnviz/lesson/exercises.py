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

    It grows with ``n`` (about ``n / 3``), which is why the exercise divides by it.

    Examples
    --------
    >>> round(uniform_distance(8), 2)
    2.62
    """
    positions = np.arange(n)
    return float(np.abs(positions[:, None] - positions[None, :]).mean())


def _known_cases(n: int = 7) -> list[tuple[str, AttentionResult, np.ndarray]]:
    """(description, result of 3 layers x 2 heads, expected per-layer normalised distance)."""
    eye = np.eye(n)
    previous = np.eye(n, k=-1)
    previous[0, 0] = 1.0  # the first token has no previous one: it looks at itself
    uniform = np.full((n, n), 1.0 / n)
    cases = []
    for label, layers in (
        ("cada token se mira a sí mismo", [eye] * 3),
        ("atención uniforme", [uniform] * 3),
        ("capa 0 a sí mismo, capa 1 al anterior, capa 2 uniforme", [eye, previous, uniform]),
    ):
        attention = np.repeat(np.stack(layers)[:, None], 2, axis=1)
        expected = np.array([_normalised(matrix) for matrix in layers])
        cases.append((f"{label} ({n} tokens)", synthetic_result(attention), expected))
    return cases


def _normalised(matrix: np.ndarray) -> float:
    positions = np.arange(len(matrix))
    distance = np.abs(positions[:, None] - positions[None, :])
    return float((matrix * distance).sum(axis=-1).mean() / uniform_distance(len(matrix)))


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
        problem = None
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
        all_right = all_right and problem is None
        if verbose:
            print(f"✗ {label}: {problem}" if problem else f"✓ {label}: {np.round(got, 3).tolist()}")
    if verbose:
        print("¡Correcto!" if all_right else "Todavía no: revisa los casos marcados con ✗.")
    return all_right
