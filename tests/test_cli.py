"""The command line: files in the asked format, a values table, one-line errors."""

from __future__ import annotations

import subprocess
import sys

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
    assert err == "Nada que hacer: indica --out ARCHIVO, --values, --relations, --csv, --npy o --metrics.\n"


def test_the_cli_does_not_import_the_widget_libraries():
    code = (
        "import sys, attnviz, attnviz.cli; "
        "print(sorted(m for m in ('ipywidgets', 'IPython') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
