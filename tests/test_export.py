"""Weights to CSV and .npy, metrics to CSV: read back what was written."""

from __future__ import annotations

import csv

import numpy as np
import pytest

import attnviz
from attnviz.core.export import WEIGHT_COLUMNS, metrics_to_csv, save_npy, weights_to_csv
from attnviz.core.metrics import METRIC_NAMES, head_metrics


def _rows(path):
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_weights_of_one_head_to_csv(beto_result, tmp_path):
    path = weights_to_csv(beto_result, tmp_path / "w.csv", layer=3, head=5)
    rows = _rows(path)
    n = beto_result.n_tokens
    assert list(rows[0]) == list(WEIGHT_COLUMNS)
    assert len(rows) == n * n
    matrix = np.zeros((n, n))
    for row in rows:
        assert (row["layer"], row["head"]) == ("3", "5")
        i, j = int(row["from"]), int(row["to"])
        assert row["from_token"] == beto_result.tokens[i] and row["to_token"] == beto_result.tokens[j]
        matrix[i, j] = float(row["weight"])
    np.testing.assert_allclose(matrix, beto_result.attention[3, 5], rtol=1e-6)
    persiguio = [r for r in rows if r["from_token"] == "persigui" and r["to_token"] == "##ó"]
    assert [r["to"] for r in persiguio] == ["5", "9"]  # UTF-8 text survives the round trip


def test_all_weights_to_csv(beto_result, tmp_path):
    rows = _rows(weights_to_csv(beto_result, tmp_path / "all.csv"))
    n = beto_result.n_tokens
    assert len(rows) == 12 * 12 * n * n
    last = rows[-1]
    assert (last["layer"], last["head"], last["from"], last["to"]) == ("11", "11", str(n - 1), str(n - 1))
    assert float(last["weight"]) == pytest.approx(float(beto_result.attention[11, 11, -1, -1]), rel=1e-6)
    only_layer = _rows(weights_to_csv(beto_result, tmp_path / "l.csv", layer=2))
    assert len(only_layer) == 12 * n * n and {r["layer"] for r in only_layer} == {"2"}


def test_word_level_weights_to_csv(beto_result, tmp_path):
    words = attnviz.to_words(beto_result)
    rows = _rows(weights_to_csv(words, tmp_path / "words.csv", layer=0, head=0))
    assert len(rows) == 12 * 12
    assert "persiguió" in {r["to_token"] for r in rows}


def test_npy_round_trip(beto_result, tmp_path):
    path = save_npy(beto_result, tmp_path / "att.npy")
    loaded = np.load(path)
    assert loaded.dtype == np.float32
    np.testing.assert_array_equal(loaded, beto_result.attention)


def test_metrics_to_csv(beto_result, tmp_path):
    m = head_metrics(beto_result)
    rows = _rows(metrics_to_csv(m, tmp_path / "m.csv"))
    assert list(rows[0]) == ["layer", "head", *METRIC_NAMES]
    assert len(rows) == 144
    row = rows[7 * 12 + 2]
    assert (row["layer"], row["head"]) == ("7", "2")
    for name in METRIC_NAMES:
        assert float(row[name]) == pytest.approx(float(m.get(name)[7, 2]), rel=1e-6)


def test_bad_paths_raise_clear_errors(beto_result, tmp_path):
    with pytest.raises(attnviz.OutputPathError, match="no existe"):
        weights_to_csv(beto_result, tmp_path / "missing" / "w.csv")
    with pytest.raises(attnviz.OutputPathError, match=r"\.npy"):
        save_npy(beto_result, tmp_path / "att.csv")
    with pytest.raises(attnviz.OutputPathError, match=r"\.csv"):
        metrics_to_csv(head_metrics(beto_result), tmp_path / "m.txt")
    with pytest.raises(attnviz.IndexOutOfRangeError):
        weights_to_csv(beto_result, tmp_path / "w.csv", layer=12)
    assert not (tmp_path / "w.csv").exists()
