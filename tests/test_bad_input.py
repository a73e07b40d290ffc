"""Issue 6: what a classroom types, and what a broken setup does, through the API, the CLI and the explorer.

Every case in the tables below ends in one of two ways, never in a bare traceback:

* ``RENDER``: a correct picture (rows sum to 1, words cover every piece, the arcs draw), or
* a specific :class:`attnviz.AttnvizError` subclass whose Spanish message names the problem.

The same cases run through ``attnviz.extract`` (API), ``attnviz.cli.main`` / ``python -m attnviz``
(non-zero exit, exactly one ``error:`` line on stderr) and the explorer widget (one Spanish sentence
in the banner, and the widget still works on the next input).
"""

from __future__ import annotations

import http.server
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import warnings
from dataclasses import dataclass
from pathlib import Path
from xml.etree import ElementTree

import numpy as np
import pytest

import attnviz
from attnviz.cli import main
from attnviz.core import errors

from .conftest import SEED

RENDER = "render"
XSS = "<img src=x onerror=alert(1)>"


@dataclass(frozen=True)
class Case:
    id: str
    value: object
    expected: str | type[errors.AttnvizError]  # RENDER or the error class
    fragment: str = ""  # what the Spanish message (or the render) must contain


# ---------------------------------------------------------------------------------------------
# The table: text typed by a student.
# ---------------------------------------------------------------------------------------------

TEXT_CASES = [
    Case("empty", "", errors.InvalidTextError, "vacío"),
    Case("whitespace-only", " \t\n  ", errors.InvalidTextError, "vacío"),
    Case("single-char", "a", RENDER, "a"),
    Case("only-punctuation", "¡¿...?!", RENDER, "?"),
    Case("only-digits", "1234567890", RENDER, "1234567890"),
    Case("300-char-word", "a" * 300, RENDER, "[UNK]"),
    Case("typed-SEP", "[SEP]", RENDER, "[SEP]"),
    Case("typed-CLS", "[CLS] hola", RENDER, "[CLS]"),
    Case("emoji", "hola 😀👍🏽 👨‍👩‍👧", RENDER, "[UNK]"),
    Case("mixed-scripts", "El gato 猫 القط", RENDER, "gato"),
    Case("right-to-left", "مرحبا بالعالم", RENDER, "مرحبا"),
    Case("combining-marks", "e\u0301\u0301 cafe\u0301", RENDER, ""),
    Case("control-chars", "ho\x01la\x7f mun\x1bdo", RENDER, "hola"),
    Case("nul-inside", "hola\x00 mundo", RENDER, "hola"),
    Case("only-nul", "\x00\x00", errors.InvalidTextError, "vacío"),
    Case("only-control-chars", "\x01\x02\x7f", errors.InvalidTextError, "vacío"),
    Case("lone-surrogate", "hola \ud800 mundo", RENDER, "mundo"),
    Case("only-lone-surrogate", "\udfff", errors.InvalidTextError, "nada que el modelo pueda leer"),
    Case("only-zero-width", "\u200b\ufeff", errors.InvalidTextError, "nada que el modelo pueda leer"),
    Case("html-xss", XSS, RENDER, "img"),
]

WRONG_TYPES = [
    Case("None", None, errors.InvalidInputTypeError, "NoneType"),
    Case("bytes", b"hola", errors.InvalidInputTypeError, "bytes"),
    Case("number", 42, errors.InvalidInputTypeError, "int"),
    Case("list", ["hola", "mundo"], errors.InvalidInputTypeError, "list"),
]


def _check_spanish_error(err: errors.AttnvizError, cls: type[errors.AttnvizError], fragment: str) -> None:
    assert type(err) is cls
    assert fragment in err.message_es
    assert err.message_en and err.message_en != err.message_es
    # One line for the CLI and the banner: no newline, no traceback text.
    assert "\n" not in err.message_es and "Traceback" not in str(err)


def _check_render(result: attnviz.AttentionResult, fragment: str) -> None:
    att = result.attention
    assert att.dtype == np.float32 and not np.isnan(att).any()
    np.testing.assert_allclose(att.sum(-1), 1.0, atol=1e-4)
    assert result.special[0] and result.special[-1]
    assert result.tokens[0] == "[CLS]" and result.tokens[-1] == "[SEP]"
    if fragment:
        assert fragment in result.tokens or fragment in result.words
    words = attnviz.to_words(result)
    covered = [i for s, e in result.word_spans for i in range(s, e)]
    assert covered == list(range(result.n_tokens))
    np.testing.assert_allclose(words.attention.sum(-1), 1.0, atol=1e-4)
    ax = attnviz.plot_arcs(result, 0, 0, min(1, result.n_tokens - 1))
    assert ax.get_xticklabels()[0].get_text() == "[CLS]"
    assert len(ax.get_xticklabels()) == result.n_tokens


#: The cases where BETO's cased Spanish vocabulary behaves differently from MiniLM's.
BETO_CASES = {
    "empty",
    "single-char",
    "300-char-word",
    "typed-SEP",
    "emoji",
    "mixed-scripts",
    "right-to-left",
    "combining-marks",
    "only-lone-surrogate",
    "html-xss",
}


@pytest.mark.parametrize(
    "which,case",
    [("minilm", c) for c in TEXT_CASES] + [("beto", c) for c in TEXT_CASES if c.id in BETO_CASES],
    ids=lambda v: v if isinstance(v, str) else v.id,
)
def test_text_case_through_api(request, which, case):
    model, tokenizer = request.getfixturevalue(which)
    if case.expected == RENDER:
        with warnings.catch_warnings():
            warnings.simplefilter("error", errors.TruncationWarning)
            result = attnviz.extract(model, tokenizer, case.value)
        assert not result.truncated
        _check_render(result, case.fragment)
    else:
        with pytest.raises(case.expected) as info:
            attnviz.extract(model, tokenizer, case.value)
        _check_spanish_error(info.value, case.expected, case.fragment)


def test_typed_special_tokens_are_text_not_markers(minilm):
    result = attnviz.extract(*minilm, "[SEP]")
    assert result.tokens == ("[CLS]", "[SEP]", "[SEP]")
    # Only the markers the tokenizer added are special; the one the student typed is text.
    assert result.special == (True, False, True)


def test_unknown_pieces_keep_their_original_text_as_word(beto):
    result = attnviz.extract(*beto, "hola 😀 " + "a" * 300)
    assert result.tokens == ("[CLS]", "hola", "[UNK]", "[UNK]", "[SEP]")
    assert result.words == ("[CLS]", "hola", "😀", "a" * 300, "[SEP]")
    assert result.special == (True, False, False, False, True)


def test_control_characters_never_reach_the_words(minilm):
    result = attnviz.extract(*minilm, "ho\x01la\x00 mun\x1bdo")
    assert result.text == "hola mundo"
    assert result.words == ("[CLS]", "hola", "mundo", "[SEP]")


@pytest.mark.parametrize("which", ["minilm", "beto"])
def test_5000_words_are_truncated_with_flag_and_warning(request, which):
    model, tokenizer = request.getfixturevalue(which)
    with pytest.warns(errors.TruncationWarning, match="se recortó"):
        result = attnviz.extract(model, tokenizer, " ".join(["palabra"] * 5000))
    assert result.truncated
    assert result.n_tokens == 512
    assert result.tokens[-1] == "[SEP]"
    np.testing.assert_allclose(result.attention[0].sum(-1), 1.0, atol=1e-4)


@pytest.mark.parametrize("case", WRONG_TYPES, ids=lambda c: c.id)
def test_wrong_text_type_through_api(minilm, case):
    with pytest.raises(errors.InvalidInputTypeError) as info:
        attnviz.extract(*minilm, case.value)
    _check_spanish_error(info.value, errors.InvalidInputTypeError, case.fragment)


@pytest.mark.parametrize("case", WRONG_TYPES[1:], ids=lambda c: c.id)
def test_wrong_text_pair_type_through_api(minilm, case):
    with pytest.raises(errors.InvalidInputTypeError) as info:
        attnviz.extract(*minilm, "hola", case.value)
    _check_spanish_error(info.value, errors.InvalidInputTypeError, "segundo texto")


@pytest.mark.parametrize("case", WRONG_TYPES[1:], ids=lambda c: c.id)
def test_wrong_model_name_type_through_api(case):
    with pytest.raises(errors.InvalidInputTypeError) as info:
        attnviz.load_model(case.value)
    _check_spanish_error(info.value, errors.InvalidInputTypeError, case.fragment)


@pytest.mark.parametrize(
    "make_args,fragment",
    [
        (lambda m, t: ("beto", t), "recibí str y BertTokenizer"),
        (lambda m, t: (t, m), "en ese orden: recibí BertTokenizer"),
        (lambda m, t: (None, None), "recibí NoneType y NoneType"),
        (lambda m, t: (m, "beto"), "recibí BertModel y str"),
    ],
    ids=["name-instead-of-model", "swapped", "none", "name-instead-of-tokenizer"],
)
def test_wrong_model_or_tokenizer_through_api(minilm, make_args, fragment):
    model, tokenizer = minilm
    with pytest.raises(errors.InvalidInputTypeError) as info:
        attnviz.extract(*make_args(model, tokenizer), "hola")
    message = info.value.message_es.replace("BertTokenizerFast", "BertTokenizer")
    assert fragment in message and "attnviz.load_model" in message


# ---------------------------------------------------------------------------------------------
# Indices: layer, head, token; word index in word mode.
# ---------------------------------------------------------------------------------------------

# (id, layer, head, source, fragment); MiniLM has 6 layers x 12 heads.
INDEX_CASES = [
    ("layer-too-big", 6, 0, 1, "La capa 6 no existe: hay 6"),
    ("layer-negative", -1, 0, 1, "La capa -1 no existe"),
    ("layer-float", 1.0, 0, 1, "número entero"),
    ("layer-bool", True, 0, 1, "número entero"),
    ("layer-string", "2", 0, 1, "número entero"),
    ("head-too-big", 0, 12, 1, "La cabeza 12 no existe: hay 12"),
    ("head-negative", 0, -3, 1, "La cabeza -3 no existe"),
    ("head-float", 0, 2.5, 1, "número entero"),
    ("token-too-big", 0, 0, 99, "El token 99 no existe"),
    ("token-negative", 0, 0, -1, "El token -1 no existe"),
    ("token-bool", 0, 0, False, "número entero"),
    ("token-none", 0, 0, None, "número entero"),
]


@pytest.mark.parametrize(
    "layer,head,source,fragment", [c[1:] for c in INDEX_CASES], ids=[c[0] for c in INDEX_CASES]
)
def test_bad_index_through_api(minilm_result, layer, head, source, fragment):
    with pytest.raises(errors.IndexOutOfRangeError) as info:
        attnviz.plot_arcs(minilm_result, layer, head, source)
    _check_spanish_error(info.value, errors.IndexOutOfRangeError, fragment)
    if source == 1:  # a bad layer or head: every view that takes one says the same
        with pytest.raises(errors.IndexOutOfRangeError, match=fragment):
            attnviz.plot_heatmap(minilm_result, layer, head)
        with pytest.raises(errors.IndexOutOfRangeError, match=fragment):
            minilm_result.head(layer, head)


def test_numpy_integers_are_valid_indices(minilm_result):
    ax = attnviz.plot_arcs(minilm_result, np.int64(5), np.int32(11), np.int16(2))
    assert "Capa 5 · cabeza 11" in ax.get_title()


def test_word_index_in_word_mode(minilm_result):
    words = attnviz.to_words(minilm_result)
    n_words = words.n_tokens
    assert n_words < minilm_result.n_tokens or n_words == minilm_result.n_tokens
    # A token index that is valid for pieces but not for words names words.
    with pytest.raises(errors.IndexOutOfRangeError) as info:
        attnviz.plot_arcs(words, 0, 0, n_words)
    _check_spanish_error(
        info.value, errors.IndexOutOfRangeError, f"La palabra {n_words} no existe: hay {n_words}"
    )
    ax = attnviz.plot_arcs(words, 0, 0, n_words - 1)
    assert "palabra" in ax.get_title()


def test_word_index_beyond_words_but_within_pieces(beto):
    result = attnviz.extract(*beto, "persiguió")  # BETO splits it in pieces
    words = attnviz.to_words(result)
    assert words.n_tokens < result.n_tokens
    with pytest.raises(errors.IndexOutOfRangeError, match="palabra"):
        words.check_token(words.n_tokens)
    assert result.check_token(words.n_tokens) == words.n_tokens


# ---------------------------------------------------------------------------------------------
# Models on disk: missing, no config, corrupt, not a Transformer, no attention weights.
# ---------------------------------------------------------------------------------------------


def _weights_file(folder: Path) -> Path:
    return next(p for p in folder.iterdir() if p.suffix in (".safetensors", ".bin"))


@pytest.fixture(scope="module")
def broken_models(tmp_path_factory, beto_dir) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("broken")
    folders: dict[str, Path] = {}

    folders["no-config"] = root / "no-config"
    folders["no-config"].mkdir()
    (folders["no-config"] / "notas.txt").write_text("no soy un modelo")

    corrupt = shutil.copytree(beto_dir, root / "corrupt")
    _weights_file(corrupt).write_bytes(b"esto no son pesos" * 10)
    folders["corrupt-weights"] = corrupt

    truncated = shutil.copytree(beto_dir, root / "truncated")
    weights = _weights_file(truncated)
    weights.write_bytes(weights.read_bytes()[: weights.stat().st_size // 2])
    folders["truncated-weights"] = truncated

    no_weights = shutil.copytree(beto_dir, root / "no-weights")
    _weights_file(no_weights).unlink()
    folders["no-weights"] = no_weights

    bad_json = shutil.copytree(beto_dir, root / "bad-json")
    (bad_json / "config.json").write_text("{esto no es json")
    folders["corrupt-config"] = bad_json

    from transformers import ResNetConfig, ResNetModel

    resnet = root / "resnet"
    config = ResNetConfig(embedding_size=8, hidden_sizes=[8, 8, 8, 8], depths=[1, 1, 1, 1])
    ResNetModel(config).save_pretrained(resnet)
    folders["non-transformer"] = resnet
    folders["weights-file"] = _weights_file(beto_dir)
    return folders


MODEL_CASES = [
    Case("missing-path", "/no/existe/modelo", errors.ModelNotFoundError, "No existe la carpeta"),
    Case("missing-relative-path", "./modelos/beto", errors.ModelNotFoundError, "No existe la carpeta"),
    Case(
        "invalid-hub-id",
        "mi modelo favorito",
        errors.ModelNotFoundError,
        "no es una carpeta ni un nombre válido",
    ),
    Case("empty-name", "  ", errors.ModelNotFoundError, "Falta el nombre"),
    Case("file-not-folder", "weights-file", errors.ModelNotFoundError, "es un archivo: pasa la carpeta"),
    Case("no-config", "no-config", errors.InvalidModelError, "no tiene config.json"),
    Case("corrupt-weights", "corrupt-weights", errors.InvalidModelError, "dañados"),
    Case("truncated-weights", "truncated-weights", errors.InvalidModelError, "dañados"),
    Case("no-weights", "no-weights", errors.InvalidModelError, "dañados"),
    Case("corrupt-config", "corrupt-config", errors.InvalidModelError, "dañados"),
    Case("non-transformer", "non-transformer", errors.NoAttentionError, "no es un Transformer de texto"),
]


def _model_arg(case: Case, broken_models: dict[str, Path]) -> str:
    return str(broken_models.get(str(case.value), case.value))


@pytest.mark.parametrize("case", MODEL_CASES, ids=lambda c: c.id)
def test_model_case_through_api(broken_models, case):
    with pytest.raises(case.expected) as info:
        attnviz.load_model(_model_arg(case, broken_models))
    _check_spanish_error(info.value, case.expected, case.fragment)


def test_model_loaded_by_the_user_with_sdpa_still_gives_weights(minilm):
    """SDPA returns no weights (an empty tuple on transformers 5); extract switches or falls back."""
    from transformers import AutoModel

    model = AutoModel.from_pretrained(attnviz.offline_model_path(), attn_implementation="sdpa").eval()
    result = attnviz.extract(model, minilm[1], SEED)
    expected = attnviz.extract(*minilm, SEED)
    np.testing.assert_allclose(result.attention, expected.attention, atol=1e-5)


def _stub_model(inner, attentions):
    """A model whose attention implementation cannot return weights (or returns the wrong ones)."""
    import torch

    class NoWeights(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.inner = inner
            self.config = inner.config

        def forward(self, input_ids, attention_mask=None, token_type_ids=None, output_attentions=False):
            out = self.inner(input_ids=input_ids, attention_mask=attention_mask)
            out.attentions = attentions(input_ids.shape[1])
            return out

    return NoWeights()


@pytest.mark.parametrize(
    "attentions,fragment",
    [
        (lambda n: (), "no devolvió pesos de atención"),
        (lambda n: None, "no devolvió pesos de atención"),
        (lambda n: tuple(np.ones((1, 12, n, n)) for _ in range(2)), "devolvió atención de 2 capas y tiene 6"),
    ],
    ids=["empty-tuple", "none", "wrong-layer-count"],
)
def test_model_without_attention_weights(minilm, attentions, fragment):
    model, tokenizer = minilm
    with pytest.raises(errors.NoAttentionError) as info:
        attnviz.extract(_stub_model(model, attentions), tokenizer, SEED)
    _check_spanish_error(info.value, errors.NoAttentionError, fragment)
    assert 'attn_implementation="eager"' in info.value.message_es


# ---------------------------------------------------------------------------------------------
# Output paths.
# ---------------------------------------------------------------------------------------------


def test_export_to_missing_folder_or_wrong_extension(minilm_result, tmp_path):
    with pytest.raises(errors.OutputPathError) as info:
        attnviz.weights_to_csv(minilm_result, tmp_path / "no-existe" / "pesos.csv")
    _check_spanish_error(info.value, errors.OutputPathError, "no existe")
    with pytest.raises(errors.OutputPathError) as info:
        attnviz.save_npy(minilm_result, tmp_path / "pesos.txt")
    _check_spanish_error(info.value, errors.OutputPathError, ".npy")
    assert list(tmp_path.iterdir()) == []


# ---------------------------------------------------------------------------------------------
# The CLI in-process: exit code, exactly one "error:" line, no traceback.
# ---------------------------------------------------------------------------------------------


def _run_cli(capsys, argv: list[str]) -> tuple[int, str, str]:
    code = main(argv)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _one_error_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert "Traceback" not in err
    assert len(lines) == 1, err
    assert lines[0].startswith("error: "), err
    return lines[0]


@pytest.mark.parametrize("case", TEXT_CASES, ids=lambda c: c.id)
def test_text_case_through_cli(capsys, tmp_path, case):
    out = tmp_path / "arcos.svg"
    code, stdout, stderr = _run_cli(capsys, [case.value, "--model", "minilm", "--out", str(out), "--values"])
    if case.expected == RENDER:
        assert code == 0, stderr
        assert stderr == ""
        assert out.read_text(encoding="utf-8").lstrip().startswith("<?xml")
        assert "Atención desde" in stdout and f"guardado: {out}" in stdout
    else:
        assert code == 1
        assert case.fragment in _one_error_line(stderr)
        assert not out.exists()


def test_5000_words_through_cli_warn_on_stderr(capsys, tmp_path):
    out = tmp_path / "largo.png"
    code, _, stderr = _run_cli(capsys, [" ".join(["palabra"] * 5000), "--model", "minilm", "--out", str(out)])
    assert code == 0
    assert stderr.startswith("aviso: ") and "se recortó" in stderr and len(stderr.splitlines()) == 1
    assert out.read_bytes().startswith(b"\x89PNG")


# (id, extra argv, exit code, fragment of the one stderr line)
CLI_ARG_CASES = [
    ("layer-out-of-range", ["--layer", "6", "--values"], 1, "La capa 6 no existe"),
    ("layer-negative", ["--layer", "-1", "--values"], 1, "La capa -1 no existe"),
    ("head-out-of-range", ["--head", "12", "--values"], 1, "La cabeza 12 no existe"),
    ("token-out-of-range", ["--token", "500", "--values"], 1, "El token 500 no existe"),
    ("word-out-of-range", ["--words", "--token", "12", "--values"], 1, "La palabra 12 no existe: hay 12"),
    ("layer-float", ["--layer", "1.5", "--values"], 2, "--layer"),
    ("layer-word", ["--layer", "tres", "--values"], 2, "--layer"),
    ("top-k-negative", ["--top-k", "-3", "--values"], 2, "--top-k: debe ser un número entero positivo"),
    ("top-k-zero", ["--top-k", "0", "--values"], 2, "--top-k"),
    ("empty-pair", ["--pair", "", "--values"], 1, "vacío"),
    ("out-missing-folder", ["--out", "/no/existe/arcos.png"], 1, "no existe"),
    ("out-bad-extension", ["--out", "arcos.gif"], 1, "extensión"),
    ("out-no-extension", ["--out", "arcos"], 1, "extensión"),
    ("csv-bad-extension", ["--csv", "pesos.txt"], 1, ".csv"),
    ("nothing-to-do", [], 2, ""),
]


@pytest.mark.parametrize(
    "argv,code,fragment", [c[1:] for c in CLI_ARG_CASES], ids=[c[0] for c in CLI_ARG_CASES]
)
def test_bad_arguments_through_cli(capsys, argv, code, fragment):
    # SEED with MiniLM: 19 tokens, 12 words, 6 layers, 12 heads.
    try:
        got = main([SEED, "--model", "minilm", *argv])
    except SystemExit as exit_:  # argparse exits by itself
        got = exit_.code
    stderr = capsys.readouterr().err
    assert got == code
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert "Traceback" not in stderr
    if fragment:
        assert lines[0].startswith("error: ") and fragment in lines[0]
    assert len(lines) == 1


@pytest.mark.parametrize("case", MODEL_CASES, ids=lambda c: c.id)
def test_model_case_through_cli(capsys, broken_models, case):
    code, _, stderr = _run_cli(capsys, [SEED, "--model", _model_arg(case, broken_models), "--values"])
    assert code == 1
    assert case.fragment in _one_error_line(stderr)


# ---------------------------------------------------------------------------------------------
# The network: real subprocesses, because huggingface_hub reads HF_ENDPOINT / HF_HUB_OFFLINE at import.
# ---------------------------------------------------------------------------------------------

API_PROBE = """
import json, sys, warnings
import attnviz
for name in sys.argv[1:]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            model, _ = attnviz.load_model(None if name == "-" else name)
            out = {"ok": type(model).__name__, "layers": model.config.num_hidden_layers}
        except attnviz.AttnvizError as err:
            out = {"error": type(err).__name__, "es": err.message_es, "en": err.message_en}
    out["warnings"] = [w.category.__name__ for w in caught if issubclass(w.category, UserWarning)]
    print(json.dumps(out))
"""


class _NotFoundHub(http.server.BaseHTTPRequestHandler):
    """Answers like huggingface.co does for a repo that does not exist (401 + RepoNotFound)."""

    def _reply(self) -> None:
        body = b'{"error":"Repository not found"}'
        self.send_response(401)
        self.send_header("X-Error-Code", "RepoNotFound")
        self.send_header("X-Error-Message", "Repository not found")
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    do_GET = do_HEAD = _reply

    def log_message(self, *args: object) -> None:
        pass


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def network_runs(tmp_path_factory):
    """Start every network case at once (each is a fresh interpreter), then collect them."""
    home = tmp_path_factory.mktemp("hf-home")  # an empty cache: BETO is not there
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _NotFoundHub)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    closed = f"http://127.0.0.1:{_closed_port()}"
    not_found = f"http://127.0.0.1:{server.server_address[1]}"
    offline = {"HF_HUB_OFFLINE": "1"}
    out_dir = tmp_path_factory.mktemp("net-out")
    specs = {
        "api-offline": (offline, ["-c", API_PROBE, "dccuchile/bert-base-spanish-wwm-cased", "-"]),
        "api-closed-port": ({"HF_ENDPOINT": closed}, ["-c", API_PROBE, "beto"]),
        "api-unknown-id": ({"HF_ENDPOINT": not_found}, ["-c", API_PROBE, "nadie/no-existe-este-modelo"]),
        "cli-offline-beto": (offline, ["-m", "attnviz", SEED, "--model", "beto", "--values"]),
        "cli-closed-port": ({"HF_ENDPOINT": closed}, ["-m", "attnviz", SEED, "--model", "beto", "--values"]),
        "cli-unknown-id": (
            {"HF_ENDPOINT": not_found},
            ["-m", "attnviz", SEED, "--model", "nadie/no-existe", "--values"],
        ),
        # No --model and no network: the offline model, with a notice; the XSS text as an SVG.
        "cli-offline-default-xss": (offline, ["-m", "attnviz", XSS, "--out", str(out_dir / "x.svg")]),
    }
    base = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "TRANSFORMERS_"))}
    base.update(HF_HOME=str(home), HF_HUB_DISABLE_TELEMETRY="1", PYTHONWARNINGS="ignore::FutureWarning")
    procs = {
        name: subprocess.Popen(
            [sys.executable, *args],
            env={**base, **env},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for name, (env, args) in specs.items()
    }
    try:
        runs = {}
        for name, proc in procs.items():
            stdout, stderr = proc.communicate(timeout=240)
            runs[name] = (proc.returncode, stdout, stderr)
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                proc.kill()
        server.shutdown()
        server.server_close()
    runs["out_dir"] = out_dir
    return runs


def _probe(runs, name, index: int = 0) -> dict:
    code, stdout, stderr = runs[name]
    assert code == 0, stderr
    return json.loads(stdout.strip().splitlines()[index])


@pytest.mark.slow  # network_runs: seven fresh interpreters
def test_offline_mode_asking_for_beto_by_name(network_runs):
    out = _probe(network_runs, "api-offline", 0)
    assert out["error"] == "ModelUnavailableError"
    assert "dccuchile/bert-base-spanish-wwm-cased" in out["es"]
    assert "HF_HUB_OFFLINE=1" in out["es"] and "load_model('minilm')" in out["es"]
    # A model the student named is never replaced silently.
    assert out["warnings"] == []


@pytest.mark.slow  # network_runs: seven fresh interpreters
def test_offline_mode_default_falls_back_with_visible_warning(network_runs):
    out = _probe(network_runs, "api-offline", 1)
    assert out["ok"] == "BertModel" and out["layers"] == 6
    assert out["warnings"] == [errors.OfflineFallbackWarning.__name__]


@pytest.mark.slow  # network_runs: seven fresh interpreters
def test_unreachable_endpoint_gives_clear_error(network_runs):
    out = _probe(network_runs, "api-closed-port")
    assert out["error"] == errors.ModelUnavailableError.__name__
    assert "no hay conexión con http://127.0.0.1:" in out["es"] and "minilm" in out["es"]


@pytest.mark.slow  # network_runs: seven fresh interpreters
def test_unknown_hub_id(network_runs):
    out = _probe(network_runs, "api-unknown-id")
    assert out["error"] == errors.ModelNotFoundError.__name__
    assert "«nadie/no-existe-este-modelo» no existe en el hub" in out["es"]


@pytest.mark.slow  # network_runs: seven fresh interpreters
@pytest.mark.parametrize(
    "name,fragment",
    [
        ("cli-offline-beto", "HF_HUB_OFFLINE=1"),
        ("cli-closed-port", "no hay conexión con http://127.0.0.1:"),
        ("cli-unknown-id", "no existe en el hub"),
    ],
)
def test_network_and_model_errors_through_python_m_attnviz(network_runs, name, fragment):
    code, stdout, stderr = network_runs[name]
    assert code == 1, stderr
    assert stdout == "", stderr
    assert fragment in _one_error_line(stderr)


@pytest.mark.slow  # network_runs: seven fresh interpreters
def test_cli_default_model_offline_falls_back_and_renders_xss_text_escaped(network_runs):
    code, _, stderr = network_runs["cli-offline-default-xss"]
    assert code == 0, stderr
    assert stderr.startswith("aviso: ") and "sin conexión" in stderr
    svg = (network_runs["out_dir"] / "x.svg").read_text(encoding="utf-8")
    assert "<img" not in svg
    root = ElementTree.fromstring(svg)  # still well-formed XML: nothing was injected
    assert not [el for el in root.iter() if el.tag.rsplit("}", 1)[-1] in {"img", "script"}]


# ---------------------------------------------------------------------------------------------
# The explorer: one Spanish sentence in the banner, and the widget keeps working.
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def explorer_widget(minilm):
    from attnviz import explorer

    widget = explorer(model=minilm, text=SEED)
    assert widget.result is not None and widget.banner.value == ""
    return widget


_RECOVERY = iter(range(10_000))


def _assert_recovers(widget, before: int) -> None:
    sentence = f"El gato duerme {next(_RECOVERY)} horas."  # always a new value: the box reacts
    widget.text.value = sentence
    assert widget.forward_count == before + 1
    assert widget.banner.value == ""
    assert widget.result.text == sentence
    assert widget.image.value[:8] == b"\x89PNG\r\n\x1a\n"


#: One of each outcome through the widget (two errors, two pictures); the API and CLI tests
#: above run every text case, and the explorer only shows what the API returns.
EXPLORER_TEXT_CASES = [c for c in TEXT_CASES if c.id in {"empty", "only-zero-width", "emoji", "html-xss"}]


@pytest.mark.parametrize("case", EXPLORER_TEXT_CASES, ids=lambda c: c.id)
def test_text_case_through_explorer(explorer_widget, case):
    widget = explorer_widget
    widget.text.value = "frase previa"
    before = widget.forward_count
    widget.text.value = case.value
    if case.expected == RENDER:
        assert widget.forward_count == before + 1
        assert widget.banner.value == ""
        assert widget.result.n_tokens == len(widget.token_selector.options)
        assert widget.image.value[:4] == b"\x89PNG"
        assert "<img" not in widget.table.value
    else:
        assert widget.forward_count == before
        assert widget.result.text == "frase previa"  # the last good result stays
        banner = widget.banner.value
        assert case.fragment in banner and "Traceback" not in banner and " / " not in banner
        assert banner.count("<div") == 1
    _assert_recovers(widget, widget.forward_count)


def test_explorer_text_none_shows_one_spanish_sentence(minilm):
    from attnviz import explorer

    widget = explorer(model=minilm, text=None)  # type: ignore[arg-type]
    assert widget.result is None
    assert "texto" in widget.banner.value and widget.banner.value.count("<div") == 1
    _assert_recovers(widget, widget.forward_count)


@pytest.mark.parametrize("case", MODEL_CASES, ids=lambda c: c.id)
def test_model_case_through_explorer(explorer_widget, broken_models, case):
    widget = explorer_widget
    before_model = widget.model_selector.value
    widget.set_model(_model_arg(case, broken_models))
    assert case.fragment in widget.banner.value
    assert widget.model_selector.value == before_model
    _assert_recovers(widget, widget.forward_count)


def test_explorer_sliders_cannot_leave_the_result(explorer_widget):
    widget = explorer_widget
    widget.layer_slider.value = 99
    widget.head_slider.value = -5
    assert widget.layer_slider.value == widget.result.n_layers - 1
    assert widget.head_slider.value == 0
    assert widget.banner.value == ""
    assert widget.image.value[:4] == b"\x89PNG"
