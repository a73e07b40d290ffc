"""docs/guia-docente.md: its answers are what the solutions measure, and its plans add up."""

from __future__ import annotations

import importlib
import itertools
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
GUIDE = ROOT / "docs" / "guia-docente.md"


def guide_answers():
    sys.path.insert(0, str(ROOT / "tools"))
    try:
        return importlib.import_module("guide_answers")
    finally:
        sys.path.pop(0)


def section(text: str, heading: str) -> str:
    start = text.index(f"## {heading}")
    end = text.find("\n## ", start + 1)
    return text[start : end if end > 0 else None]


@pytest.mark.slow  # recomputes every exercise's answer (7 s): `make test` runs it, the developer loop not
def test_the_guide_s_answers_are_the_solutions_on_the_offline_model(minilm) -> None:
    """The block the tool writes, recomputed now, is the block the guide holds (to the character)."""
    tool = guide_answers()
    guide = GUIDE.read_text(encoding="utf-8")
    assert tool.block_of(guide) == tool.render(*minilm), (
        "docs/guia-docente.md is out of date: python tools/guide_answers.py"
    )


def test_the_table_answers_every_exercise_with_the_offline_model_named() -> None:
    block = guide_answers().block_of(GUIDE.read_text(encoding="utf-8"))
    rows = re.findall(r"^\| (\d+)\. ", block, re.MULTILINE)
    assert rows == [str(n) for n in range(1, 11)]
    assert "all-MiniLM-L6-v2 (sin conexión)" in block.splitlines()[0]
    # The claims that hold only for BETO are gone from the guide's own text.
    text = GUIDE.read_text(encoding="utf-8")
    for beto_only in ("persigui ##ó", "token «perro»", "[SEP]` reciba mucha atención en las capas medias"):
        assert beto_only not in text


def test_replace_block_keeps_the_rest_of_the_guide() -> None:
    tool = guide_answers()
    guide = GUIDE.read_text(encoding="utf-8")
    replaced = tool.replace_block(guide, "| nueva |")
    assert tool.block_of(replaced) == "| nueva |"
    before, after = guide.split(tool.START)[0], guide.split(tool.END)[1]
    assert replaced.startswith(before) and replaced.endswith(after)
    assert tool.replace_block(replaced, tool.block_of(guide)) == guide


@pytest.mark.parametrize(("heading", "total"), [("Plan de 50 minutos", 50), ("Plan de 90 minutos", 90)])
def test_each_plan_fills_its_minutes_without_gaps(heading: str, total: int) -> None:
    plan = section(GUIDE.read_text(encoding="utf-8"), heading)
    spans = [(int(a), int(b)) for a, b in re.findall(r"^\| (\d+)–(\d+) \|", plan, re.MULTILINE)]
    assert spans[0][0] == 0 and spans[-1][1] == total
    assert all(b == c for (_, b), (c, _) in itertools.pairwise(spans)), spans
    assert all(a < b for a, b in spans)


def test_the_guide_has_what_a_teacher_needs_before_and_during_class() -> None:
    text = GUIDE.read_text(encoding="utf-8")
    before = section(text, "Antes de clase")
    assert "soluciones-atencion.ipynb" in before and "--modelo beto" in before
    questions = section(text, "Preguntas para cada sección")
    assert questions.count("- **") >= 8
    plan_b = section(text, "Plan B")
    assert "python -m attnviz" in plan_b and "--out" in plan_b
    mistakes = section(text, "Errores frecuentes")
    for needed in ("columnas", "`[CLS]`", "Peso frente a contribución", "$\\sqrt{d_k}$"):
        assert needed in mistakes


@pytest.mark.slow
def test_the_tool_s_check_passes_and_fails(tmp_path: Path) -> None:
    command = [sys.executable, str(ROOT / "tools" / "guide_answers.py"), "--modelo", "minilm", "--comprobar"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    stale = tmp_path / "guia.md"
    tool = guide_answers()
    guide = GUIDE.read_text(encoding="utf-8")
    stale.write_text(tool.replace_block(guide, tool.block_of(guide) + "\n| 10. | otra |"), encoding="utf-8")
    done = subprocess.run([*command, "--guia", str(stale)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 1
    assert "no coinciden" in done.stdout
