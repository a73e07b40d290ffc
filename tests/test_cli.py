"""The command line: files in the asked format, a values table, one-line errors."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from attnviz.cli import main

from .conftest import SEED


@pytest.mark.slow  # a fresh interpreter loads the offline model
def test_module_entry_point_draws_png_with_offline_model(tmp_path):
    out = tmp_path / "arcas.png"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "attnviz",
            SEED,
            "--model",
            "minilm",
            "--layer",
            "3",
            "--head",
            "5",
            "--token",
            "2",
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert out.read_bytes().startswith(b"\x89PNG")
    assert "guardado" in done.stdout


@pytest.mark.parametrize("suffix,magic", [(".svg", b"<?xml"), (".pdf", b"%PDF")])
def test_format_follows_extension(tmp_path, suffix, magic):
    out = tmp_path / f"arcas{suffix}"
    assert main([SEED, "--model", "minilm", "--out", str(out)]) == 0
    assert out.read_bytes().startswith(magic)


def test_values_table_lists_every_token_sorted(capsys, minilm):
    import attnviz

    assert main([SEED, "--model", "minilm", "--layer", "1", "--head", "2", "--token", "3", "--values"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    result = attnviz.extract(*minilm, SEED)
    row = result.attention[1, 2, 3]
    rows = lines[2:]
    assert len(rows) == result.n_tokens
    weights = [float(line.split()[-1]) for line in rows]
    assert weights == sorted(weights, reverse=True)
    first_index = int(rows[0].split()[0])
    assert weights[0] == pytest.approx(row.max(), abs=1e-4)
    assert first_index == int(row.argmax())
    # Issue 13: the table names its head, and its first column is the index (in the explorer «#» is a rank).
    assert lines[0] == f"Atención desde «{result.tokens[3]}» (token 3) · capa 1, cabeza 2, de mayor a menor:"
    assert lines[1].split() == ["índice", "token", "peso"] and "#" not in lines[1]
    assert sorted(int(line.split()[0]) for line in rows) == list(range(result.n_tokens))


def test_help_is_in_spanish(capsys):
    with pytest.raises(SystemExit) as done:
        main(["--help"])
    assert done.value.code == 0
    text = capsys.readouterr().out
    assert "capa, desde 0" in text and "muestra esta ayuda" in text


@pytest.mark.parametrize(
    "args,expected",
    [
        (["--layer", "6"], "La capa 6 no existe"),
        (["--head", "-1"], "La cabeza -1 no existe"),
        (["--token", "99"], "El token 99 no existe"),
        (["--out", "figura.gif"], ".png, .svg o .pdf"),
        (["--out", "/no/such/dir/f.png"], "no existe"),
    ],
)
def test_errors_are_one_line_and_non_zero(capsys, args, expected):
    # --values: with nothing to do the CLI stops before loading the model (test below).
    code = main([SEED, "--model", "minilm", "--values", *args])
    err = capsys.readouterr().err.strip()
    assert code != 0
    assert expected in err
    assert "Traceback" not in err
    assert len(err.splitlines()) == 1


def test_empty_text_error(capsys):
    assert main(["   ", "--model", "minilm", "--values"]) == 1
    assert "vacío" in capsys.readouterr().err


def test_unknown_option_is_a_short_spanish_error(capsys):
    with pytest.raises(SystemExit) as done:
        main([SEED, "--capa", "3"])
    assert done.value.code == 2
    err = capsys.readouterr().err
    assert "usa --help" in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize(
    "argv,expected",
    [([], "faltan argumentos: texto"), ([SEED, "--layer", "a"], "no es un número entero: 'a'")],
)
def test_argument_errors_are_translated(capsys, argv, expected):
    with pytest.raises(SystemExit) as done:
        main(argv)
    assert done.value.code == 2
    err = capsys.readouterr().err
    assert expected in err and "required" not in err and "invalid" not in err


@pytest.mark.parametrize("prog", ["attnviz", "python -m attnviz"])
def test_help_names_the_command_as_it_was_typed(capsys, prog):
    with pytest.raises(SystemExit):
        main(["--help"], prog=prog)
    text = capsys.readouterr().out
    assert text.startswith(f"uso: {prog} [-h]") and f'Ejemplo: {prog} "' in " ".join(text.split())


def test_module_help_says_python_dash_m():
    done = subprocess.run(
        [sys.executable, "-m", "attnviz", "--help"], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("uso: python -m attnviz [-h]")


def test_model_errors_name_the_cli_option_not_python(capsys, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert main([SEED, "--model", "beto", "--values"]) == 1
    err = capsys.readouterr().err
    assert "--model minilm" in err and "load_model" not in err
    assert len(err.strip().splitlines()) == 1


def test_help_headings_are_spanish(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    text = capsys.readouterr().out
    assert text.startswith("uso: ") and "opciones:" in text and "options:" not in text
    headings = [line for line in text.splitlines() if line.endswith(":") and not line.startswith(" ")]
    assert headings == ["argumentos:", "opciones:"]
    for english in ("usage:", "positional arguments", "optional arguments", "options"):
        assert english not in text
    # Each argument under its own heading: the text under "argumentos", every option under "opciones".
    arguments, options = text.split("\nargumentos:\n")[1].split("\nopciones:\n")
    assert arguments.split() == ["texto", "la", "frase", "a", "analizar", "(entre", "comillas)"]
    assert "-h, --help" in options and "--layer CAPA" in options and "--metrics ARCHIVO.csv" in options


def test_empty_second_text_is_named(capsys):
    assert main([SEED, "--pair", " ", "--model", "minilm", "--values"]) == 1
    assert "segundo texto está vacío" in capsys.readouterr().err


def test_nothing_to_do_is_said_before_loading_the_model(capsys, monkeypatch):
    import attnviz.cli

    def no_loading(*args, **kwargs):
        raise AssertionError("the model was loaded although there is nothing to do")

    monkeypatch.setattr(attnviz.cli, "load_model", no_loading)
    assert main([SEED, "--model", "minilm", "--layer", "6"]) == 2
    err = capsys.readouterr().err
    assert err == (
        "Nada que hacer: indica --out ARCHIVO, --values, --predecir, --apagar, --importancia, --relations, "
        "--csv, --npy o --metrics.\n"
    )


def test_the_cli_does_not_import_the_widget_libraries():
    code = (
        "import sys, attnviz, attnviz.cli; "
        "print(sorted(m for m in ('ipywidgets', 'IPython') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


# -- issue 23: --predecir, --apagar, --importancia ---------------------------------------------------

PLURAL = "Los perros que persiguieron al gato cruzaron la calle."


@pytest.fixture(scope="module")
def beto_mlm(beto):
    """The session's tiny BETO with a random masked-word head on top (the CLI gets it through load_model)."""
    import copy

    import torch
    from transformers import BertForMaskedLM

    model, tokenizer = beto
    config = copy.deepcopy(model.config)
    config.initializer_range = 0.2  # sharper guesses than BERT's 0.02
    torch.manual_seed(0)
    return BertForMaskedLM(config).eval(), tokenizer


@pytest.fixture
def serve(monkeypatch):
    """``serve(model_and_tokenizer)``: the CLI's load_model returns it."""
    import attnviz.cli

    def use(loaded):
        monkeypatch.setattr(attnviz.cli, "load_model", lambda *args, **kwargs: loaded)

    return use


def _top_lines(prediction):
    from attnviz.plots.prediction import format_probability

    return [(text, format_probability(p)) for text, p in prediction.top]


def _printed_top(block: str):
    return [
        (line.split()[1], line.split()[2])
        for line in block.splitlines()
        if line.strip()[:2].rstrip(".").isdigit()
    ]


def test_predecir_prints_the_top_5_and_the_word_s_probability(beto_mlm, serve, capsys):
    import attnviz
    from attnviz.plots.prediction import format_probability

    serve(beto_mlm)
    assert main([PLURAL, "--predecir", "cruzaron"]) == 0
    out = capsys.readouterr().out
    expected = attnviz.predict_masked(*beto_mlm, PLURAL, "cruzaron")
    assert out.startswith("Palabra tapada: «cruzaron» (palabra 7; 2 piezas: cruzar + ##on).\n")
    assert "Con todas las cabezas, las 5 más probables:" in out
    assert _printed_top(out) == _top_lines(expected)
    assert f"P(«cruzaron») = {format_probability(expected.probability)}" in out
    assert "producto de sus piezas" in out
    # By its index (words counted with [CLS] as 0), the same.
    assert main([PLURAL, "--predecir", "7"]) == 0
    assert capsys.readouterr().out == out


def test_apagar_prints_before_and_after(beto_mlm, serve, capsys):
    import attnviz
    from attnviz.plots.prediction import format_probability

    serve(beto_mlm)
    assert main([PLURAL, "--predecir", "cruzaron", "--apagar", "2:*,5:3"]) == 0
    out = capsys.readouterr().out
    before = attnviz.predict_masked(*beto_mlm, PLURAL, "cruzaron")
    after = attnviz.predict_masked(*beto_mlm, PLURAL, "cruzaron", heads_off="2:*,5:3")
    first, second = out.split("Con 2:*, 5:3 apagadas, las 5 más probables:")
    assert _printed_top(first) == _top_lines(before) and _printed_top(second) == _top_lines(after)
    assert out.strip().endswith(
        f"P(«cruzaron»): {format_probability(before.probability)} → {format_probability(after.probability)} "
        "con 2:*, 5:3 apagadas."
    )


def test_apagar_without_a_word_prints_how_much_the_sentence_vector_turns(minilm, serve, capsys, tmp_path):
    import attnviz

    serve(minilm)
    english = "The dogs that chased the cat crossed the street."
    out_file = tmp_path / "vector.png"
    assert main([english, "--apagar", "2:*", "--out", str(out_file)]) == 0
    out = capsys.readouterr().out
    change = attnviz.vector_change(
        attnviz.sentence_vector(*minilm, english), attnviz.sentence_vector(*minilm, english, heads_off="2:*")
    )
    assert f"Cuánto cambia el vector de la frase (1 − coseno) al apagar 2:*: {change:.3g}" in out
    assert out_file.read_bytes().startswith(b"\x89PNG")


def test_importancia_as_csv_and_as_a_picture(beto_mlm, serve, capsys, tmp_path):
    import csv

    import attnviz

    serve(beto_mlm)
    table = tmp_path / "importancia.csv"
    assert main([PLURAL, "--predecir", "cruzaron", "--importancia", "--out", str(table)]) == 0
    out = capsys.readouterr().out
    expected = attnviz.head_importance(*beto_mlm, PLURAL, "cruzaron", progress=False)
    rows = list(csv.DictReader(table.open(encoding="utf-8")))
    assert len(rows) == 144 and list(rows[0]) == ["layer", "head", "log_probability_drop"]
    values = np.array([float(r["log_probability_drop"]) for r in rows]).reshape(12, 12)
    np.testing.assert_allclose(values, expected.values, atol=1e-5)
    best = np.unravel_index(np.argmax(expected.values), (12, 12))
    assert "Las 5 cabezas que más importan (caída de log-probabilidad de «cruzaron»" in out
    assert f"  capa {best[0]}, cabeza {best[1]}: " in out
    picture = tmp_path / "importancia.svg"
    assert main([PLURAL, "--predecir", "cruzaron", "--importancia", "--out", str(picture)]) == 0
    assert "¿Qué cabezas importan?" in picture.read_text()


def test_out_draws_the_prediction_unless_a_view_is_asked(beto_mlm, serve, capsys, tmp_path):
    serve(beto_mlm)
    bars = tmp_path / "prediccion.svg"
    assert main([PLURAL, "--predecir", "cruzaron", "--apagar", "3:1", "--out", str(bars)]) == 0
    assert "¿Qué palabra va en lugar de «cruzaron»?" in bars.read_text()
    heatmap = tmp_path / "mapa.svg"
    assert main([PLURAL, "--predecir", "cruzaron", "--view", "heatmap", "--out", str(heatmap)]) == 0
    svg = heatmap.read_text()
    assert "Capa 0 · cabeza 0" in svg and "[MASK]" in svg  # the attention of the masked pass


@pytest.mark.parametrize(
    ("model", "argv", "expected"),
    [
        (
            "mlm",
            [PLURAL, "--predecir", "gatos"],
            "error: La palabra «gatos» no está en la frase: sus palabras son",
        ),
        (
            "mlm",
            [PLURAL, "--predecir", "20"],
            "error: La palabra 20 no existe: las de esta frase van de la 1",
        ),
        (
            "mlm",
            [PLURAL, "--predecir", "cruzaron", "--apagar", "3:15"],
            "error: La cabeza 15 no existe: hay 12",
        ),
        (
            "mlm",
            [PLURAL, "--apagar", "a:b"],
            "error: «a:b» no es una cabeza: la capa debe ser un número entero",
        ),
        ("mlm", [PLURAL, "--apagar", "-1:0"], "error: La capa -1 no existe: hay 12 (capas 0 a 11)."),
        ("mlm", [PLURAL, "--apagar", "3"], "error: «3» no es una cabeza: falta la forma CAPA:CABEZA."),
        (
            "minilm",
            [PLURAL, "--predecir", "gato"],
            "no tiene cabeza para adivinar palabras tapadas, así que no puede --predecir: sí puede medir "
            "cuánto cambia el vector de la frase, con --apagar CAPA:CABEZA o --importancia.",
        ),
        ("mlm", ["\u200b", "--predecir", "1"], "error: El texto no tiene nada que el modelo pueda leer"),
        (
            "mlm",
            [PLURAL, "--importancia"],
            "error: con este modelo --importancia mide cuánto cae la probabilidad",
        ),
        (
            "mlm",
            [PLURAL, "--predecir", "gato", "--pair", "Otra."],
            "trabajan con una sola frase: quita --pair",
        ),
        ("mlm", [PLURAL, "--values", "--out", "x.csv"], "usa la extensión .png, .svg o .pdf."),
    ],
)
def test_experiment_errors_are_one_spanish_line(beto_mlm, minilm, serve, capsys, model, argv, expected):
    serve(beto_mlm if model == "mlm" else minilm)
    assert main(argv) != 0
    err = capsys.readouterr().err.strip()
    assert expected in err and len(err.splitlines()) == 1 and "Traceback" not in err


def test_the_new_options_have_spanish_help(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "--predecir PALABRA tapa esa palabra" in text
    assert "--apagar CAPA:CABEZA[,…] apaga esas cabezas (p. ej. 3:5,4:0, o 3:* para toda la capa)" in text
    assert "--importancia apaga cada cabeza sola" in text
