"""Put the current attnviz inside demo-atencion.ipynb, so the notebook can be uploaded alone.

The seed's workflow is "upload demo-atencion.ipynb to Colab or Kaggle and run all
cells".  The notebook's first cell (tagged ``attnviz-install``) carries attnviz as
a wheel (base64).  It installs it only when ``import attnviz`` fails, always with
``--no-deps`` and from the carried file, so it never changes what the platform
preinstalled, and then hands over to ``attnviz.prepare_lesson()``.

The wheel is carried with its files stored uncompressed and the whole archive as one xz (lzma)
stream, in base64: one solid stream is about 40% smaller than each file deflated on its own,
which keeps each notebook under 450 KB.

The solutions notebook (soluciones-atencion.ipynb) carries the same first cell.

Usage:
    python tools/build_notebook.py           # rewrite the first cell of both notebooks
    python tools/build_notebook.py --check   # exit 1 if the carried copy differs from attnviz/
"""

from __future__ import annotations

import argparse
import base64
import io
import lzma
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "demo-atencion.ipynb"
SOLUTIONS = ROOT / "soluciones-atencion.ipynb"
#: Both can be uploaded alone, so both carry attnviz.
NOTEBOOKS = (NOTEBOOK, SOLUTIONS)
INSTALL_CELL_TAG = "attnviz-install"
WHEEL_START = 'ATTNVIZ_WHEEL = """'

INSTALL_TEMPLATE = '''\
#@title Preparación (ejecuta esta celda primero; no hace falta leerla)
# Este cuaderno lleva attnviz dentro (generado por tools/build_notebook.py). Si attnviz no está
# instalado, se instala desde esa copia sin tocar nada de lo que la plataforma ya trae
# (torch, transformers, ipywidgets, matplotlib, numpy).
import base64
import lzma
import subprocess
import sys
import tempfile
from pathlib import Path

ATTNVIZ_WHEEL_NAME = {wheel_name!r}
ATTNVIZ_WHEEL = """
{wheel_b64}
"""


class PreparacionFallida(Exception):
    # Jupyter muestra solo este mensaje, y «Ejecutar todo» se detiene aquí.
    def _render_traceback_(self):
        return [str(self)]


try:
    import attnviz
except ImportError:
    if sys.version_info < (3, 10):
        raise PreparacionFallida(
            f"attnviz necesita Python 3.10 o más nuevo y aquí hay Python {{sys.version.split()[0]}}. "
            "Cambia el entorno de ejecución por uno más reciente."
        ) from None
    carpeta = Path(tempfile.mkdtemp())
    rueda = carpeta / ATTNVIZ_WHEEL_NAME
    rueda.write_bytes(lzma.decompress(base64.b64decode("".join(ATTNVIZ_WHEEL.split()))))
    instalacion = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-index", str(rueda)],
        capture_output=True,
        text=True,
    )
    if instalacion.returncode != 0:
        motivo = [linea for linea in instalacion.stderr.splitlines() if linea.strip()][-2:]
        raise PreparacionFallida("No se pudo instalar attnviz. pip dice: " + " ".join(motivo)) from None
    import attnviz

PREPARACION = attnviz.prepare_lesson()
'''


def build_wheel(workdir: Path) -> Path:
    """Build attnviz's wheel from a copy of the sources, so the repository tree is not touched."""
    source = workdir / "src"
    source.mkdir()
    # Without the README as long description: the carried copy changes only when the package does.
    project = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    (source / "pyproject.toml").write_text(
        "".join(line for line in project.splitlines(keepends=True) if not line.startswith("readme")),
        encoding="utf-8",
    )
    shutil.copytree(
        ROOT / "attnviz", source / "attnviz", ignore=shutil.ignore_patterns("__pycache__", "*.pyc")
    )
    out = workdir / "wheel"
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


def stored(wheel: bytes) -> bytes:
    """The same wheel with its files uncompressed, so that xz compresses them all as one stream.

    pip installs it the same way: RECORD lists each file's own hash, not the archive's.
    """
    source, out = zipfile.ZipFile(io.BytesIO(wheel)), io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as target:
        for info in source.infolist():
            data = source.read(info.filename)
            info.compress_type = zipfile.ZIP_STORED
            target.writestr(info, data)
    return out.getvalue()


def install_cell(wheel: Path) -> nbformat.NotebookNode:
    packed = lzma.compress(stored(wheel.read_bytes()), preset=9 | lzma.PRESET_EXTREME)
    encoded = base64.b64encode(packed).decode("ascii")
    lines = "\n".join(encoded[i : i + 100] for i in range(0, len(encoded), 100))
    cell = new_code_cell(INSTALL_TEMPLATE.format(wheel_name=wheel.name, wheel_b64=lines))
    cell.metadata["tags"] = [INSTALL_CELL_TAG]
    # Hide the long base64 in JupyterLab and Colab; the code is still there to read.
    cell.metadata["jupyter"] = {"source_hidden": True}
    cell.metadata["cellView"] = "form"
    return cell


def carried_wheel(notebook: nbformat.NotebookNode) -> zipfile.ZipFile:
    """The wheel inside the notebook's install cell."""
    source = install_cell_of(notebook).source
    encoded = source.split(WHEEL_START, 1)[1].split('"""', 1)[0]
    return zipfile.ZipFile(io.BytesIO(lzma.decompress(base64.b64decode("".join(encoded.split())))))


def install_cell_of(notebook: nbformat.NotebookNode) -> nbformat.NotebookNode:
    for cell in notebook.cells:
        if INSTALL_CELL_TAG in cell.get("metadata", {}).get("tags", []):
            return cell
    raise LookupError(f"no cell tagged {INSTALL_CELL_TAG!r}")


def package_files() -> dict[str, bytes]:
    """attnviz/ as a wheel carries it: every file but caches."""
    return {
        path.relative_to(ROOT).as_posix(): path.read_bytes()
        for path in sorted((ROOT / "attnviz").rglob("*"))
        if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc"
    }


def differences(notebook: nbformat.NotebookNode) -> list[str]:
    """Files whose carried copy differs from attnviz/ (or the metadata from pyproject.toml)."""
    with tempfile.TemporaryDirectory() as tmp:
        fresh = zipfile.ZipFile(build_wheel(Path(tmp)))
        carried = carried_wheel(notebook)
        names = sorted(n for n in set(fresh.namelist()) | set(carried.namelist()) if not n.endswith("RECORD"))
        return [
            name
            for name in names
            if name not in carried.namelist()
            or name not in fresh.namelist()
            or carried.read(name) != fresh.read(name)
        ]


def build(notebook_path: Path = NOTEBOOK) -> Path:
    lesson = nbformat.read(notebook_path, as_version=4)
    with tempfile.TemporaryDirectory() as tmp:
        cell = install_cell(build_wheel(Path(tmp)))
    try:
        old = install_cell_of(lesson)
        lesson.cells[lesson.cells.index(old)] = cell
    except LookupError:
        lesson.cells.insert(0, cell)
    for index, code in enumerate(lesson.cells):
        # nbformat 5 wants an id on every cell; cells added by hand may lack one.
        code.setdefault("id", f"celda-{index:02d}")
        if code.cell_type == "code":
            code.outputs = []
            code.execution_count = None
    nbformat.validate(lesson)
    nbformat.write(lesson, notebook_path)
    return notebook_path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only compare the carried copy with attnviz/")
    args = parser.parse_args(argv)
    if args.check:
        status = 0
        for path in NOTEBOOKS:
            stale = differences(nbformat.read(path, as_version=4))
            if stale:
                print(f"La copia de attnviz que lleva {path.name} está desactualizada:", ", ".join(stale))
                status = 1
        print("Regenérala con: make notebook" if status else "Las copias de attnviz coinciden con attnviz/.")
        return status
    for path in NOTEBOOKS:
        out = build(path)
        size = out.stat().st_size / 1024
        print(f"{out.name} ({size:.0f} KB) lleva attnviz dentro: súbelo solo a Colab o Kaggle.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
