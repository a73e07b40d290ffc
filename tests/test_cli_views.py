"""CLI: --view, --words, --aggregate, --segments and the exports (--csv, --npy, --metrics)."""

from __future__ import annotations

import csv

import matplotlib.text
import numpy as np
import pytest

import attnviz
import attnviz.cli
import attnviz.explore.session
from attnviz.cli import main
from attnviz.explore.session import VIEWS

from .conftest import SEED


@pytest.fixture
def fake_load(monkeypatch, beto):
    """Serve the session's tiny BETO to the CLI instead of loading it again from disk."""
    asked = []

    def load_model(name=None, device=None, **kwargs):
        asked.append(name)
        return beto

    monkeypatch.setattr(attnviz.cli, "load_model", load_model)
    return asked


def _is_png(path) -> bool:
    return path.read_bytes().startswith(b"\x89PNG")


@pytest.mark.parametrize("view", list(VIEWS))
def test_every_view_saves_a_figure(fake_load, tmp_path, capsys, view):
    out = tmp_path / f"{view}.png"
    assert (
        main([SEED, "--model", "beto", "--view", view, "--layer", "3", "--head", "5", "--out", str(out)]) == 0
    )
    assert _is_png(out) and out.stat().st_size > 5000
    assert f"guardado: {out}" in capsys.readouterr().out
    assert fake_load == ["beto"]


def test_real_model_folder_and_svg(beto_dir, tmp_path):
    out = tmp_path / "grid.svg"
    assert main([SEED, "--model", str(beto_dir), "--view", "grid", "--out", str(out)]) == 0
    svg = out.read_text()
    assert svg.startswith("<?xml") and "capa 11" in svg and "cabeza 11" in svg


def test_profile_against_the_corpus(fake_load, tmp_path, capsys, monkeypatch):
    import attnviz.core.corpus

    # A slice of the corpus keeps the test fast; the whole one runs in test_metrics.
    monkeypatch.setattr(attnviz.core.corpus, "load_corpus", lambda: attnviz.load_corpus()[:10])
    out = tmp_path / "profile.png"
    assert main([SEED, "--words", "--view", "profile", "--corpus", "--out", str(out)]) == 0
    assert _is_png(out)
    assert "10/10" in capsys.readouterr().err


def test_words_values_table(fake_load, beto_result, capsys):
    assert main([SEED, "--words", "--layer", "2", "--head", "1", "--token", "4", "--values"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert "persiguió" in lines[0]
    rows = lines[2:]
    assert len(rows) == 12  # words, not the 14 pieces
    words = attnviz.to_words(beto_result)
    top = int(rows[0].split()[0])
    assert top == int(words.attention[2, 1, 4].argmax())
    assert float(rows[0].split()[-1]) == pytest.approx(float(words.attention[2, 1, 4].max()), abs=1e-4)


def test_aggregate_values_are_the_rollout_row(fake_load, beto_result, capsys):
    assert main([SEED, "--aggregate", "rollout", "--layer", "11", "--token", "2", "--values"]) == 0
    rows = capsys.readouterr().out.strip().splitlines()[2:]
    printed = {int(r.split()[0]): float(r.split()[-1]) for r in rows}
    expected = attnviz.rollout(beto_result)[2]
    for j, value in printed.items():
        assert value == pytest.approx(expected[j], abs=1e-4)


@pytest.mark.parametrize(
    "aggregate,matrix",
    [
        ("mean", lambda r: attnviz.head_mean(r, 4)),
        ("max", lambda r: attnviz.head_max(r, 4)),
        ("layers", attnviz.layer_mean),
    ],
)
def test_aggregate_values(fake_load, beto_result, capsys, aggregate, matrix):
    assert main([SEED, "--aggregate", aggregate, "--layer", "4", "--token", "7", "--values"]) == 0
    rows = capsys.readouterr().out.strip().splitlines()[2:]
    expected = matrix(beto_result)[7]
    assert len(rows) == beto_result.n_tokens
    for r in rows:
        assert float(r.split()[-1]) == pytest.approx(expected[int(r.split()[0])], abs=1e-4)


def test_aggregate_heatmap(fake_load, tmp_path):
    out = tmp_path / "agg.png"
    assert main([SEED, "--view", "heatmap", "--aggregate", "rollout", "--out", str(out)]) == 0
    assert _is_png(out)


def test_pair_segments(fake_load, tmp_path):
    out = tmp_path / "pair.png"
    args = [
        "Hola.",
        "--pair",
        "¿Qué tal?",
        "--view",
        "heatmap",
        "--segments",
        "A->B",
        "B->A",
        "--out",
        str(out),
    ]
    assert main(args) == 0
    assert _is_png(out)
    arcs = tmp_path / "pair-arcs.png"
    assert main(["Hola.", "--pair", "¿Qué tal?", "--segments", "A->B", "--out", str(arcs)]) == 0
    assert _is_png(arcs)


def test_exports(fake_load, beto_result, tmp_path, capsys):
    weights, array, metrics = tmp_path / "w.csv", tmp_path / "a.npy", tmp_path / "m.csv"
    assert main([SEED, "--csv", str(weights), "--npy", str(array), "--metrics", str(metrics)]) == 0
    out = capsys.readouterr().out
    assert out.count("guardado") == 3
    np.testing.assert_array_equal(np.load(array), beto_result.attention)
    with weights.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 12 * 12 * beto_result.n_tokens**2
    with metrics.open(encoding="utf-8") as handle:
        metric_rows = list(csv.DictReader(handle))
    m = attnviz.head_metrics(beto_result)
    assert float(metric_rows[5]["entropy"]) == pytest.approx(float(m.entropy[0, 5]), rel=1e-6)


def test_words_export(fake_load, tmp_path):
    weights = tmp_path / "w.csv"
    assert main([SEED, "--words", "--csv", str(weights)]) == 0
    with weights.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 12 * 12 * 12 * 12
    assert "cruzó" in {r["from_token"] for r in rows}


@pytest.mark.parametrize(
    "args,expected",
    [
        (["--csv", "pesos.txt"], ".csv"),
        (["--npy", "pesos.csv"], ".npy"),
        (["--metrics", "/no/such/dir/m.csv"], "no existe"),
        (["--words", "--token", "13", "--values"], "La palabra 13 no existe"),
    ],
)
def test_errors_are_one_line_and_non_zero(fake_load, capsys, args, expected):
    code = main([SEED, *args])
    err = capsys.readouterr().err.strip()
    assert code != 0
    assert expected in err
    assert "Traceback" not in err and len(err.splitlines()) == 1


def test_bad_view_is_an_argparse_error(capsys):
    with pytest.raises(SystemExit) as done:
        main([SEED, "--view", "pie"])
    assert done.value.code == 2
    assert "--view" in capsys.readouterr().err


def test_help_lists_the_new_options_in_spanish(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    text = " ".join(capsys.readouterr().out.split())  # argparse wraps lines
    for option in ("--view", "--words", "--csv", "--npy", "--metrics", "--aggregate", "--segments"):
        assert option in text
    assert "todas las capas y cabezas" in text and "palabras en vez de tokens" in text


# -- issue 10: --fontsize and --scale reach the picture --------------------------------------------


def _drawn(beto, beto_result, argv):
    """The Axes the CLI would save for ``argv`` (the same parsing and drawing as ``main``)."""
    args = attnviz.cli.build_parser().parse_args([SEED, "--out", "x.png", *argv])
    matrix, label = attnviz.cli._matrix(beto_result, args.layer, args.head, args.aggregate)
    return attnviz.cli._draw(args, beto_result, args.layer, args.head, args.token, matrix, label, *beto)


@pytest.mark.parametrize("view", list(VIEWS))
def test_fontsize_reaches_every_view(beto, beto_result, view):
    from attnviz.plots.views import VIEWS as TABLE

    ax = _drawn(beto, beto_result, ["--view", view, "--fontsize", "17"])
    sizes = {round(t.get_fontsize(), 1) for t in ax.figure.findobj(matplotlib.text.Text) if t.get_text()}
    assert "fontsize" in TABLE[view].options  # every view takes it
    assert 17.0 in sizes  # the base size: token labels (or the profile's tick labels)
    default = _drawn(beto, beto_result, ["--view", view])
    assert 17.0 not in {round(t.get_fontsize(), 1) for t in default.figure.findobj(matplotlib.text.Text)}


def test_scale_names_itself_on_the_colour_bar(beto, beto_result):
    from attnviz.plots.style import SCALE_LABELS

    for scale in ("absolute", "row"):
        ax = _drawn(beto, beto_result, ["--scale", scale])
        texts = " ".join(" ".join(t.get_text().split()) for t in ax.figure.findobj(matplotlib.text.Text))
        assert " ".join(SCALE_LABELS[scale].split()) in texts


def test_bad_fontsize_is_an_argparse_error(capsys):
    with pytest.raises(SystemExit) as done:
        main([SEED, "--fontsize", "-3", "--values"])
    assert done.value.code == 2
    assert "debe ser un número positivo" in capsys.readouterr().err


# -- issue 11: --syntax and --relations, and one Spanish error without spaCy ---------------------


def test_syntax_only_goes_with_arcs(fake_load, capsys, tmp_path):
    assert main([SEED, "--view", "heatmap", "--syntax", "--out", str(tmp_path / "h.png")]) == 2
    err = capsys.readouterr().err
    assert "--syntax" in err and len(err.strip().splitlines()) == 1
    assert fake_load == []  # refused before loading anything


@pytest.mark.parametrize("argv", [["--syntax", "--out", "ARCS"], ["--relations"]])
def test_without_spacy_one_spanish_line_names_the_install_command(
    fake_load, capsys, monkeypatch, tmp_path, argv
):
    import attnviz.syntax

    def missing(*args, **kwargs):
        raise attnviz.syntax.parsing._unavailable("spaCy no está instalado", "spaCy is not installed")

    monkeypatch.setattr(attnviz.syntax.parsing, "load_parser", missing)
    argv = [str(tmp_path / "a.png") if a == "ARCS" else a for a in argv]
    assert main([SEED, *argv]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: spaCy no está instalado") and attnviz.syntax.INSTALL_COMMAND in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert not (tmp_path / "a.png").exists()
