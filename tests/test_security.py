"""Security (issue 6): no remote code, no pickle code, escaped token text, no eval/exec anywhere."""

from __future__ import annotations

import ast
import inspect
import json
import os
import pickle
import re
import shutil
from pathlib import Path

import numpy as np
import pytest

import attnviz
from attnviz.core.errors import InvalidModelError

from .conftest import SEED

ROOT = Path(__file__).resolve().parent.parent
XSS = "<img src=x onerror=alert(1)>"


# ---------------------------------------------------------------------------------------------
# Loading never runs code that came with the model.
# ---------------------------------------------------------------------------------------------


def test_trust_remote_code_is_off_by_default():
    assert inspect.signature(attnviz.load_model).parameters["trust_remote_code"].default is False


def test_loading_passes_trust_remote_code_false(monkeypatch, minilm):
    import transformers

    seen: list[object] = []
    real = transformers.AutoModel.from_pretrained

    def spy(*args, **kwargs):
        seen.append(kwargs.get("trust_remote_code", "missing"))
        return real(*args, **kwargs)

    monkeypatch.setattr(transformers.AutoModel, "from_pretrained", spy)
    model, _ = attnviz.load_model("minilm")
    assert seen == [False]
    assert model.config.num_hidden_layers == 6


def test_folder_with_custom_code_is_refused_and_not_run(tmp_path):
    marker = tmp_path / "EJECUTADO"
    folder = tmp_path / "remoto"
    folder.mkdir()
    (folder / "config.json").write_text(
        json.dumps(
            {
                "model_type": "malicioso",
                "num_attention_heads": 2,
                "auto_map": {"AutoConfig": "malicioso.Config", "AutoModel": "malicioso.Model"},
            }
        )
    )
    (folder / "malicioso.py").write_text(f"open({str(marker)!r}, 'w').write('x')\n")
    with pytest.raises(InvalidModelError) as info:
        attnviz.load_model(str(folder))
    assert "código Python propio" in info.value.message_es
    assert "trust_remote_code=True" in info.value.message_es
    assert not marker.exists()


class _RunsCode:
    """A pickle payload that would create a file if unpickled with plain pickle."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


def _write_evil_bin(folder: Path, marker: Path) -> None:
    with open(folder / "pytorch_model.bin", "wb") as handle:
        pickle.dump({"embeddings.word_embeddings.weight": _RunsCode(marker)}, handle, protocol=2)


def test_untrusted_bin_weights_are_not_unpickled(tmp_path, beto_dir):
    """transformers reads a .bin with torch.load(weights_only=True): a code payload is refused."""
    marker = tmp_path / "EJECUTADO"
    folder = shutil.copytree(beto_dir, tmp_path / "bin")
    for weights in folder.glob("*.safetensors"):
        weights.unlink()
    _write_evil_bin(folder, marker)
    with pytest.raises(InvalidModelError) as info:
        attnviz.load_model(str(folder))
    assert "dañados" in info.value.message_es
    assert not marker.exists()


def test_safetensors_are_preferred_over_bin(tmp_path, beto_dir, beto):
    marker = tmp_path / "EJECUTADO"
    folder = shutil.copytree(beto_dir, tmp_path / "ambos")
    _write_evil_bin(folder, marker)
    model, tokenizer = attnviz.load_model(str(folder))
    assert not marker.exists()
    expected = attnviz.extract(*beto, SEED).attention
    np.testing.assert_array_equal(attnviz.extract(model, tokenizer, SEED).attention, expected)


# ---------------------------------------------------------------------------------------------
# Token text is escaped in every HTML output.
# ---------------------------------------------------------------------------------------------


def _assert_escaped(markup: str) -> None:
    assert "<img" not in markup and "<script" not in markup.lower()


@pytest.fixture(scope="module")
def xss_explorer(minilm):
    from attnviz import explorer

    return explorer(model=minilm, text=f"{XSS} <script>alert(2)</script> hola")


def test_explorer_table_escapes_token_text(xss_explorer):
    widget = xss_explorer
    assert widget.banner.value == ""
    tokens = widget.result.tokens
    assert "<" in tokens and ">" in tokens
    for source in range(widget.result.n_tokens):
        widget.token_selector.value = source
        _assert_escaped(widget.table.value)
        _assert_escaped(widget.metrics.value)
    assert "&lt;" in widget.table.value


def test_explorer_word_mode_escapes_whole_words(xss_explorer):
    widget = xss_explorer
    widget.words_toggle.value = True
    try:
        words = widget.view_result.tokens
        assert "<img" in words or any("<" in w for w in words)
        for source in range(len(words)):
            widget.token_selector.value = source
            _assert_escaped(widget.table.value)
    finally:
        widget.words_toggle.value = False


def test_explorer_banner_escapes_a_model_name(xss_explorer):
    widget = xss_explorer
    widget.set_model(f"./{XSS}")
    assert "No existe la carpeta" in widget.banner.value
    _assert_escaped(widget.banner.value)
    assert "&lt;img" in widget.banner.value


def test_weights_table_escapes_every_cell():
    from attnviz.explore.session import weights_table

    result = attnviz.AttentionResult(
        tokens=("[CLS]", XSS, "<b onmouseover=x>", "[SEP]"),
        attention=np.full((1, 1, 4, 4), 0.25, dtype=np.float32),
        model_name="prueba",
        special=(True, False, False, True),
        word_ids=(0, 1, 2, 3),
        words=("[CLS]", XSS, "<b onmouseover=x>", "[SEP]"),
        segments=(0, 0, 0, 0),
        text=XSS,
    )
    markup = weights_table(result, 1, result.attention[0, 0, 1])
    _assert_escaped(markup)
    assert "<b onmouseover" not in markup and "&lt;b onmouseover=x&gt;" in markup
    assert markup.count("&lt;img src=x onerror=alert(1)&gt;") == 2  # the caption and the row


def test_svg_output_has_no_live_markup(minilm, tmp_path):
    result = attnviz.extract(*minilm, XSS)
    ax = attnviz.plot_arcs(result, 0, 0, 1)
    out = tmp_path / "x.svg"
    ax.figure.savefig(out)
    _assert_escaped(out.read_text(encoding="utf-8"))


# ---------------------------------------------------------------------------------------------
# No eval/exec anywhere: the package, the tools (standalone-notebook installer) and the notebooks.
# ---------------------------------------------------------------------------------------------

_FORBIDDEN_CALLS = {"eval", "exec", "compile", "__import__"}


def _sources() -> list[tuple[str, str]]:
    files = sorted((ROOT / "attnviz").rglob("*.py"))
    files += sorted((ROOT / "tools").glob("*.py")) if (ROOT / "tools").is_dir() else []
    sources = [(str(p.relative_to(ROOT)), p.read_text(encoding="utf-8")) for p in files]
    for notebook in sorted(ROOT.glob("*.ipynb")):
        cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
        for i, cell in enumerate(cells):
            if cell["cell_type"] == "code":
                code = "".join(cell["source"])
                # IPython magics and shell lines are not Python.
                code = "\n".join(
                    "" if line.lstrip().startswith(("%", "!")) else line for line in code.splitlines()
                )
                sources.append((f"{notebook.name}#cell{i}", code))
    return sources


def _dangerous_calls(code: str) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(code)):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = func.id if isinstance(func, ast.Name) else None
        if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
            if func.value.id == "builtins" or (func.value.id, func.attr) in {
                ("pickle", "load"),
                ("pickle", "loads"),
                ("marshal", "loads"),
            }:
                name = f"{func.value.id}.{func.attr}"
            if func.attr == "load" and func.value.id == "torch":
                weights_only = [k for k in node.keywords if k.arg == "weights_only"]
                if not weights_only or getattr(weights_only[0].value, "value", None) is not True:
                    name = "torch.load without weights_only=True"
        if name in _FORBIDDEN_CALLS or (name and "." in name):
            found.append(f"{name} (line {node.lineno})")
    return found


def test_scanner_finds_what_it_looks_for():
    code = "eval('1')\nexec(x)\nbuiltins.eval(y)\npickle.loads(b)\ntorch.load(f)\nmodel.eval()\n"
    assert _dangerous_calls(code) == [
        "eval (line 1)",
        "exec (line 2)",
        "builtins.eval (line 3)",
        "pickle.loads (line 4)",
        "torch.load without weights_only=True (line 5)",
    ]


def test_no_eval_or_exec_in_package_tools_or_notebooks():
    sources = _sources()
    assert any(name.startswith("attnviz/") for name, _ in sources)
    offenders = {name: calls for name, code in sources if (calls := _dangerous_calls(code))}
    assert offenders == {}


_BARE_CALL = re.compile(r"(?<![\w.])(eval|exec|compile|__import__)\s*\(")


def test_no_eval_or_exec_in_code_templates():
    """Code kept in strings (the standalone notebook's installer cell) is checked as text."""
    templates = []
    for path in sorted((ROOT / "tools").glob("*.py")) + sorted((ROOT / "attnviz").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and "\n" in node.value:
                templates.append((f"{path.name}:{node.lineno}", node.value))
    assert _BARE_CALL.search("x = eval(y)") and not _BARE_CALL.search("model.eval()")
    assert [(where, m.group(0)) for where, text in templates for m in _BARE_CALL.finditer(text)] == []


def test_no_trust_remote_code_true_in_the_sources():
    for name, code in _sources():
        for node in ast.walk(ast.parse(code)):
            if isinstance(node, ast.keyword) and node.arg == "trust_remote_code":
                assert not (isinstance(node.value, ast.Constant) and node.value.value is True), name


def test_hub_offline_env_is_respected_without_network(monkeypatch):
    # A named hub model in offline mode fails in our code, before transformers tries the network.
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    from attnviz.core import loading

    monkeypatch.setattr(loading, "hub_reachable", lambda *a, **k: pytest.fail("network probed offline"))
    with pytest.raises(attnviz.ModelUnavailableError, match="HF_HUB_OFFLINE"):
        attnviz.load_model("nadie/modelo-que-no-esta-en-cache")
    assert os.environ["HF_HUB_OFFLINE"] == "1"
