"""The exercise checker accepts a correct metric and rejects wrong ones."""

from __future__ import annotations

import numpy as np
import pytest

from attnviz.lesson.exercises import check_distance_metric, uniform_distance


def correct(r):
    n = r.n_tokens
    distance = np.abs(np.arange(n)[:, None] - np.arange(n)[None, :])
    return (r.attention * distance).sum(axis=-1).mean(axis=(1, 2)) / uniform_distance(n)


def not_normalised(r):
    n = r.n_tokens
    distance = np.abs(np.arange(n)[:, None] - np.arange(n)[None, :])
    return (r.attention * distance).sum(axis=-1).mean(axis=(1, 2))


def one_number(r):
    return float(correct(r).mean())


def test_uniform_distance_known_values() -> None:
    # (n² - 1) / (3n): the mean |i - j| over all pairs of n positions.
    for n in (2, 8, 19, 37):
        assert uniform_distance(n) == pytest.approx((n * n - 1) / (3 * n))


def test_checker_accepts_a_correct_metric(capsys: pytest.CaptureFixture[str]) -> None:
    assert check_distance_metric(correct) is True
    assert capsys.readouterr().out.strip().endswith("¡Correcto!")


@pytest.mark.parametrize(
    "wrong", [not_normalised, one_number, lambda r: np.zeros(r.n_layers), lambda r: 1 / 0]
)
def test_checker_rejects_wrong_metrics(wrong, capsys: pytest.CaptureFixture[str]) -> None:
    assert check_distance_metric(wrong) is False
    out = capsys.readouterr().out
    assert "✗" in out and out.strip().endswith("Todavía no: revisa los casos marcados con ✗.")
