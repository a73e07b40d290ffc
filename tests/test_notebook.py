"""Run demo-atencion.ipynb top to bottom, headless, under the offline model, and read its outputs."""

from __future__ import annotations

import base64
import importlib
import io
import re
import sys
import zipfile
from pathlib import Path

import nbclient
import nbformat
import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "demo-atencion.ipynb"
SOLUTIONS = ROOT / "soluciones-atencion.ipynb"
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
DIFFERENCE = re.compile(r"Diferencia máxima con la atención del modelo: ([0-9.eE+-]+)")

pytestmark = pytest.mark.slow


def offline_env(monkeypatch: pytest.MonkeyPatch) -> None:
    # The kernel inherits these: the offline model, and no attempt to reach a hub.
    monkeypatch.setenv("ATTNVIZ_MODEL", "minilm")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")


def execute(path: Path, cwd: Path) -> nbformat.NotebookNode:
    notebook = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(
        notebook,
        timeout=180,
        kernel_name="python3",
        allow_errors=True,  # errors are asserted on below, with their text
        store_widget_state=True,
        resources={"metadata": {"path": str(cwd)}},
    )
    client.execute()
    return notebook


@pytest.fixture(scope="module")
def executed(tmp_path_factory: pytest.TempPathFactory) -> nbformat.NotebookNode:
    monkeypatch = pytest.MonkeyPatch()
    offline_env(monkeypatch)
    try:
        return execute(NOTEBOOK, tmp_path_factory.mktemp("run"))
    finally:
        monkeypatch.undo()


def code_cells(notebook: nbformat.NotebookNode) -> list:
    return [cell for cell in notebook.cells if cell.cell_type == "code"]


def text_of(cell) -> str:
    parts = []
    for output in cell.outputs:
        if output.output_type == "stream":
            parts.append(output.text)
        elif "data" in output and "text/plain" in output.data:
            parts.append(output.data["text/plain"])
    return "\n".join(parts)


def cell_with(notebook: nbformat.NotebookNode, snippet: str):
    matches = [cell for cell in code_cells(notebook) if snippet in cell.source]
    assert len(matches) == 1, f"expected one cell containing {snippet!r}, found {len(matches)}"
    return matches[0]


def png_pixels(data: str | bytes) -> np.ndarray:
    import matplotlib.image as mpimg

    raw = base64.b64decode(data) if isinstance(data, str) else data
    assert raw[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    return mpimg.imread(io.BytesIO(raw), format="png")


def test_no_cell_fails(executed) -> None:
    errors = [
        f"{out.ename}: {out.evalue}"
        for cell in code_cells(executed)
        for out in cell.outputs
        if out.output_type == "error"
    ]
    assert errors == []
    assert all(cell.execution_count for cell in code_cells(executed)), "a cell did not run"


def test_uses_the_offline_model(executed) -> None:
    setup = cell_with(executed, "attnviz.load_model(MODELO)")
    assert "all-MiniLM-L6-v2" in text_of(setup)
    assert "6 capas × 12 cabezas" in text_of(setup)


def test_worked_example_matches_the_model(executed) -> None:
    cell = cell_with(executed, "diferencia = np.abs(pesos - del_modelo).max()")
    found = DIFFERENCE.findall(text_of(cell))
    assert len(found) == 1, text_of(cell)
    difference = float(found[0])
    assert 0.0 <= difference < 1e-5


def test_explorer_is_displayed_with_a_picture(executed) -> None:
    cell = cell_with(executed, "explorador = ")
    views = [out.data[WIDGET_VIEW]["model_id"] for out in cell.outputs if WIDGET_VIEW in out.get("data", {})]
    assert len(views) == 1, "the explorer cell must display one widget"
    state = executed.metadata["widgets"][WIDGET_STATE]["state"]
    root = state[views[0]]
    assert root["model_name"] == "VBoxModel"

    # Walk the widget tree from the explorer down to its Image.
    seen, stack, images = set(), [views[0]], []
    while stack:
        model_id = stack.pop()
        if model_id in seen or model_id not in state:
            continue
        seen.add(model_id)
        entry = state[model_id]
        if entry["model_name"] == "ImageModel":
            images.append(entry)
        for value in entry["state"].values():
            refs = value if isinstance(value, list) else [value]
            stack.extend(
                r[len("IPY_MODEL_") :] for r in refs if isinstance(r, str) and r.startswith("IPY_MODEL_")
            )
    assert images, "no Image widget inside the explorer"
    # The attention picture; the experiment panel's image stays empty until a word is hidden.
    pictures = [
        b["data"]
        for image in images
        for b in image.get("buffers", [])
        if tuple(b["path"]) == ("value",) and b["data"]
    ]
    assert len(pictures) == 1, "the explorer's Image has no picture"
    pixels = png_pixels(pictures[0])
    assert pixels.shape[0] > 100 and pixels.shape[1] > 200
    assert pixels[..., :3].std() > 0.01, "the explorer's picture is blank"


def test_pictures_are_drawn(executed) -> None:
    pictures = [
        png_pixels(out.data["image/png"])
        for cell in code_cells(executed)
        for out in cell.outputs
        if "image/png" in out.get("data", {})
    ]
    # Head grid, four heads, layer profile, and the exercises' plots.
    assert len(pictures) >= 5
    for pixels in pictures:
        assert pixels.shape[0] > 200 and pixels.shape[1] > 300
        assert pixels[..., :3].std() > 0.01, "a blank picture"


def test_layer_profile_is_measured_for_every_layer(executed) -> None:
    cell = cell_with(executed, "layer_profile(")
    text = text_of(cell)
    lines = [line for line in text.splitlines() if line.startswith("capa ")]
    assert [line.split(":")[0] for line in lines] == [f"capa {i}" for i in range(6)]
    shares = [float(v) for line in lines for v in re.findall(r"(\d+)%", line)]
    assert len(shares) == 6 * 5
    assert all(0 <= s <= 100 for s in shares)
    assert any(s > 0 for s in shares)


EXERCISE_TAG = "ejercicio"
#: A student's edits: other sentences, other words, other choices, in every exercise cell.
EDITS = {
    "La niña que leía el libro sonrió a su hermano.": "Mi abuela cocina sopa los domingos.",
    '"Me senté en el banco del parque.", "Saqué dinero del banco ayer."': (
        '"El banco de peces nadaba cerca de la orilla.", "Abrí una cuenta en el banco nuevo."'
    ),
    '"El niño come una manzana roja.", "Los perros ladran a los gatos del vecino."': (
        '"Mi hermana escribe cartas largas."'
    ),
    "CAPA_2, CABEZA_2 = 0, 0": "CAPA_2, CABEZA_2 = 1, 2",
    "CABEZA_3 = None": "CABEZA_3 = 1",
    'relacion_7 = "case"': 'relacion_7 = "det"',
    "Los niños juegan en el parque por la tarde.": "La profesora corrigió los exámenes del curso.",
    "UMBRAL_8 = 0.3": "UMBRAL_8 = 0.1",
    "APAGAR_10 = [acuerdo_10.agreement.most_attending]": "APAGAR_10 = [acuerdo_10.agreement.most_important]",
}


def exercise_cells(notebook: nbformat.NotebookNode) -> list:
    return [c for c in code_cells(notebook) if EXERCISE_TAG in c.metadata.get("tags", [])]


def test_every_exercise_has_its_own_cell_that_shows_something(executed) -> None:
    cells = exercise_cells(executed)
    assert len(cells) == 10
    for cell in cells:
        assert cell.outputs, f"an exercise cell shows nothing: {cell.source[:60]!r}"


def test_own_metric_exercise_is_left_to_the_student(executed) -> None:
    cell = cell_with(executed, "def distancia_normalizada")
    assert "return np.zeros(r.n_layers)" in cell.source
    assert "Todavía no" in text_of(cell)


def test_toy_example_gives_the_numbers_worked_on_paper(executed) -> None:
    text = text_of(cell_with(executed, "juguete = ["))
    assert "«el» mira a: el 0.28 · perro 0.14 · ladra 0.58  →  z = (0.86; 0.72)" in text


def test_worked_example_labels_each_number_with_its_token(executed) -> None:
    text = text_of(cell_with(executed, "# Paso 1: puntuaciones"))
    lines = [line for line in text.splitlines() if "Q·K =" in line]
    assert len(lines) == executed_tokens(executed)


def executed_tokens(executed) -> int:
    setup = text_of(cell_with(executed, "attnviz.load_model(MODELO)"))
    return int(re.search(r"(\d+) tokens", setup).group(1))


def test_syntax_heads_are_measured_on_the_model_it_runs(executed, minilm) -> None:
    """The syntax answers are generated from held-out numbers on GSD, recomputed here."""
    import attnviz

    model, tokenizer = minilm
    table = attnviz.held_out_scores(attnviz.gsd_results(model, tokenizer))
    chosen = max(table.with_verdict("beats"), key=lambda row: row.n, default=table.row("case"))
    relation = text_of(cell_with(executed, "tabla = attnviz.held_out_scores(attnviz.gsd_results("))
    assert relation.strip() == attnviz.relation_answer(table, chosen.relation).strip()
    answer = text_of(cell_with(executed, "print(attnviz.syntax_answer(tabla))"))
    assert attnviz.syntax_answer(table).strip() in answer
    assert "analizadas por spaCy y corregidas a mano" in answer
    appendix = text_of(cell_with(executed, "print(attnviz.held_out_text(tabla))"))
    assert attnviz.held_out_text(table).strip() in appendix
    profile = text_of(cell_with(executed, "perfil_sintactico = attnviz.syntax_profile"))
    assert [line.split(":")[0] for line in profile.splitlines() if line.startswith("capa ")] == [
        f"capa {i}" for i in range(6)
    ]


@pytest.fixture(scope="module")
def executed_with_edits(tmp_path_factory: pytest.TempPathFactory) -> nbformat.NotebookNode:
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    for cell in exercise_cells(notebook):
        for old, new in EDITS.items():
            cell.source = cell.source.replace(old, new)
    folder = tmp_path_factory.mktemp("edited")
    path = folder / NOTEBOOK.name
    nbformat.write(notebook, path)
    monkeypatch = pytest.MonkeyPatch()
    offline_env(monkeypatch)
    try:
        return execute(path, folder)
    finally:
        monkeypatch.undo()


def test_every_exercise_runs_on_a_student_s_edits(executed_with_edits) -> None:
    cells = exercise_cells(executed_with_edits)
    edited = sum(any(new in cell.source for new in EDITS.values()) for cell in cells)
    # All but the other-models one (needs a network) and the own-metric one (code to write).
    assert edited == 7
    errors = [
        f"{out.ename}: {out.evalue}" for cell in cells for out in cell.outputs if out.output_type == "error"
    ]
    assert errors == []
    # The edited sentence is what was drawn (MiniLM lower-cases and cuts it into English pieces).
    assert "'domingo'" in text_of(cell_with(executed_with_edits, "mi_frase ="))
    assert "capa 5:" in text_of(cell_with(executed_with_edits, "frases_3 = ["))


@pytest.fixture(scope="module")
def solutions(tmp_path_factory: pytest.TempPathFactory) -> nbformat.NotebookNode:
    monkeypatch = pytest.MonkeyPatch()
    offline_env(monkeypatch)
    try:
        return execute(SOLUTIONS, tmp_path_factory.mktemp("solutions"))
    finally:
        monkeypatch.undo()


def test_every_solution_runs(solutions) -> None:
    errors = [
        f"{o.ename}: {o.evalue}" for c in code_cells(solutions) for o in c.outputs if o.output_type == "error"
    ]
    assert errors == []
    assert all(c.execution_count for c in code_cells(solutions))
    assert "¡Correcto!" in text_of(cell_with(solutions, "def distancia_normalizada"))
    previous = text_of(cell_with(solutions, "attnviz.exercise_answer(2, model, tokenizer)"))
    assert re.search(r"Capa \d, cabeza \d+: \d+% al token anterior \(all-MiniLM-L6-v2", previous)


def test_without_settings_an_offline_machine_gets_the_offline_model(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`make demo` on a fresh offline machine sets nothing: the first cell picks the offline model.

    It says so in one Spanish line, with no warning block on stderr.
    """
    monkeypatch.delenv("ATTNVIZ_MODEL", raising=False)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")  # what an offline machine answers, without the wait
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    second_code = [i for i, c in enumerate(notebook.cells) if c.cell_type == "code"][1]
    notebook.cells = notebook.cells[: second_code + 1]
    path = tmp_path / "setup.ipynb"
    nbformat.write(notebook, path)
    prepare, load = code_cells(execute(path, tmp_path))
    assert [o for c in (prepare, load) for o in c.outputs if o.output_type == "error"] == []
    stderr = "".join(
        o.text for c in (prepare, load) for o in c.outputs if o.output_type == "stream" and o.name == "stderr"
    )
    assert stderr == ""
    assert "Instalado ahora: nada más." in text_of(prepare)
    assert "Modelo: sin conexión (all-MiniLM-L6-v2, inglés)" in text_of(prepare)
    assert "Modelo: all-MiniLM-L6-v2 (sin conexión)" in text_of(load)


@pytest.mark.parametrize("path", [NOTEBOOK, SOLUTIONS], ids=lambda p: p.name)
def test_first_cell_carries_the_current_package(path: Path) -> None:
    """The copy of attnviz inside each notebook is attnviz/ as it is now (regenerate: make notebook)."""
    notebook = nbformat.read(path, as_version=4)
    first = code_cells(notebook)[0]
    assert "attnviz-install" in first.metadata["tags"]
    assert "eval(" not in first.source and "exec(" not in first.source
    assert "--no-deps" in first.source and "--no-index" in first.source
    build_notebook = tools_module("build_notebook")
    names = build_notebook.carried_wheel(notebook).namelist()
    assert "attnviz/__init__.py" in names and "attnviz/data/corpus_es.txt" in names
    assert build_notebook.differences(notebook) == []


def test_a_changed_package_is_detected_as_stale(tmp_path: Path) -> None:
    build_notebook = tools_module("build_notebook")
    fresh = tmp_path / NOTEBOOK.name
    fresh.write_bytes(NOTEBOOK.read_bytes())
    notebook = nbformat.read(build_notebook.build(fresh), as_version=4)
    assert build_notebook.differences(notebook) == []
    cell = build_notebook.install_cell_of(notebook)
    wheel = build_notebook.carried_wheel(notebook)
    changed = tmp_path / "changed.whl"
    with zipfile.ZipFile(changed, "w") as out:
        for name in wheel.namelist():
            data = wheel.read(name)
            out.writestr(name, data + b"\n# changed\n" if name == "attnviz/plots/arcs.py" else data)
    cell.source = build_notebook.install_cell(changed).source
    assert build_notebook.differences(notebook) == ["attnviz/plots/arcs.py"]


def tools_module(name: str):
    sys.path.insert(0, str(ROOT / "tools"))
    try:
        return importlib.import_module(name)
    finally:
        sys.path.pop(0)


def test_saved_notebook_is_clean() -> None:
    """The committed notebook carries no outputs: students run it themselves."""
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(notebook)
    assert all(not cell.outputs and cell.execution_count is None for cell in code_cells(notebook))


def test_teacher_guide_gives_the_answers_the_solutions_print(solutions) -> None:
    """docs/guia-docente.md's table is, row by row, the «En la guía docente: …» line of each solution."""
    guide = (ROOT / "docs" / "guia-docente.md").read_text(encoding="utf-8")
    rows = dict(re.findall(r"^\| (\d+)\. [^|\n]+ \| (.+) \|$", guide, re.MULTILINE))
    printed = {}
    for cell in code_cells(solutions):
        found = re.search(r"attnviz\.exercise_answer\((\d+),", cell.source)
        if found:
            lines = [line for line in text_of(cell).splitlines() if line.startswith("En la guía docente: ")]
            assert len(lines) == 1, cell.source
            printed[found.group(1)] = lines[0].removeprefix("En la guía docente: ")
    assert sorted(printed, key=int) == [str(n) for n in range(1, 11)]
    assert {n: rows.get(n) for n in printed} == printed


def test_solutions_show_their_controls(solutions) -> None:
    """Exercises 1, 3, 4 and 6 answer with their control, generated from the run."""
    articles = text_of(cell_with(solutions, "attnviz.exercise_answer(1, model, tokenizer)"))
    control = r"^Control: en «La pequeña niña .+» la misma cabeza lleva «La» a «"
    assert re.search(control, articles, re.MULTILINE)
    assert re.search(r"En \d de \d artículos la cabeza sigue a la palabra siguiente", articles)
    ambiguity = text_of(cell_with(solutions, "attnviz.exercise_answer(3, model, tokenizer)"))
    assert re.search(r"^capa 5: «banco» → .+ · «sofá» → .+ · «cajero» → ", ambiguity, re.MULTILINE)
    uniform = text_of(cell_with(solutions, "attnviz.exercise_answer(4, model, tokenizer)"))
    assert len(re.findall(r"^capa \d: VERB → NOUN [\d.]+ \(uniforme [\d.]+\)", uniform, re.MULTILINE)) == 6
    distance = text_of(cell_with(solutions, "def distancia_normalizada"))
    assert "¡Correcto!" in distance and "sin [CLS] ni [SEP]" in distance and "con ellos" in distance
    star = text_of(cell_with(solutions, "attnviz.exercise_answer(8, model, tokenizer)"))
    assert re.search(r"^Estrella: capa \d, cabeza \d+, .+ todas miran a «\[CLS\]»", star, re.MULTILINE)


def test_the_scores_and_the_two_measures_are_measured_on_the_model_it_runs(executed) -> None:
    steps = text_of(cell_with(executed, "pasos = attnviz.score_steps(resultado, CAPA, CABEZA, ORIGEN)"))
    d_k, difference = re.search(
        r"d_k = (\d+) · diferencia máxima entre el softmax y el peso del modelo: (\S+)", steps
    ).groups()
    assert int(d_k) == 32 and float(difference) < 1e-5  # MiniLM: 384 / 12
    unscaled = text_of(
        cell_with(executed, "attnviz.plot_scores(resultado, CAPA, CABEZA, ORIGEN, scaled=False)")
    )
    scaled_peak, unscaled_peak = re.search(
        r"(\d+)% dividiendo por √32 y (\d+)% sin dividir", unscaled
    ).groups()
    assert int(unscaled_peak) >= int(scaled_peak)
    summary = text_of(cell_with(executed, "print(measures_summary(por_peso, por_contribucion"))
    assert "Con all-MiniLM-L6-v2 (sin conexión), de media sobre 40 frases" in summary
    by_weight, by_contribution = (
        int(x) for x in re.search(r"reciben el (\d+)% de la atención por peso y el (\d+)%", summary).groups()
    )
    assert by_contribution < by_weight


def markdown_of(notebook: nbformat.NotebookNode) -> list[str]:
    return [cell.source for cell in notebook.cells if cell.cell_type == "markdown"]


def test_claims_about_the_model_on_screen_are_generated_from_the_run(executed, minilm) -> None:
    """The sink token, the word-order demo and the rollout line: printed from the run, recomputed here."""
    import attnviz

    model, tokenizer = minilm
    seed = "El perro que persiguió al gato cruzó la calle."
    profile = text_of(cell_with(executed, "layer_profile("))
    corpus = attnviz.corpus_metrics(model, tokenizer, attnviz.load_corpus()[:40], progress=False)
    assert attnviz.sink_summary(corpus) in profile
    assert "En este modelo el sumidero es [CLS], no [SEP]" in profile  # the offline model
    order = text_of(cell_with(executed, "attnviz.position_experiment(model, tokenizer, FRASE)"))
    assert attnviz.position_experiment(model, tokenizer, seed).summary() in order
    result = attnviz.extract(model, tokenizer, seed)
    rollout = text_of(cell_with(executed, "acumulado = attnviz.rollout(resultado)"))
    assert f"da a [CLS] el {attnviz.rollout(result)[:, 0].mean():.0%} de cada token" in rollout


#: What the markdown may not state about the model on screen: it depends on the run.
RUN_DEPENDENT = [
    re.compile(r"d_k\s*=\s*\d{2,}"),  # a real model's d_k is printed by the run (the toy's is 2)
    re.compile(r"sumidero es"),
    re.compile(r"capas 3[–-]6"),
    re.compile(r"analizadas a mano"),
    re.compile(r"no aprendió la gramática"),
]


@pytest.mark.parametrize("path", [NOTEBOOK, SOLUTIONS], ids=lambda p: p.name)
def test_markdown_states_nothing_the_run_decides(path: Path) -> None:
    for text in markdown_of(nbformat.read(path, as_version=4)):
        for claim in RUN_DEPENDENT:
            assert not claim.search(text), (claim.pattern, text[:200])


def test_numbers_are_written_one_way_everywhere() -> None:
    """Decimals with a point and percentages glued, as Python prints them in the outputs beside the text."""
    texts = [
        *markdown_of(nbformat.read(NOTEBOOK, as_version=4)),
        *markdown_of(nbformat.read(SOLUTIONS, as_version=4)),
        (ROOT / "docs" / "guia-docente.md").read_text(encoding="utf-8"),
    ]
    for text in texts:
        assert not re.search(r"\d,\d|\{,\}", text), re.search(r".{40}(\d,\d|\{,\}).{20}", text)
        assert not re.search(r"\d %", text), re.search(r".{40}\d %.{20}", text)


@pytest.mark.parametrize("path", [NOTEBOOK, SOLUTIONS], ids=lambda p: p.name)
def test_notebooks_stay_small_enough_to_upload(path: Path) -> None:
    assert path.stat().st_size < 450 * 1024
