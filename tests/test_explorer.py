"""The explorer widget, driven from Python: sliders never re-run the model, errors stay inside."""

from __future__ import annotations

import dataclasses
import html
import re

import ipywidgets as widgets
import numpy as np
import pytest

import attnviz
from attnviz.session import weights_table
from attnviz.widget import Explorer

from .conftest import SEED

HOSTILE = "<img src=x onerror=alert(1)>"


@pytest.fixture
def explorer(minilm) -> Explorer:
    return attnviz.explorer(minilm, SEED)


def table_rows(table_html: str) -> list[tuple[int, str, int, float]]:
    cells = re.findall(
        r"<tr><td>(\d+)</td><td>(.*?)</td><td>(\d+)</td><td[^>]*>([\d.]+)</td></tr>", table_html
    )
    return [(int(rank), token, int(index), float(weight)) for rank, token, index, weight in cells]


def banner_text(ex: Explorer) -> str:
    return html.unescape(re.sub(r"<[^>]+>", " ", ex.banner.value))


def test_explorer_is_a_vbox_with_every_control(explorer):
    assert isinstance(explorer, widgets.VBox)
    assert isinstance(explorer.image, widgets.Image) and explorer.image.format == "png"
    assert explorer.image.value[:8] == b"\x89PNG\r\n\x1a\n"
    result = explorer.result
    assert result.text == SEED and explorer.forward_count == 1
    assert (explorer.layer_slider.max, explorer.head_slider.max) == (5, 11)
    assert explorer.token_selector.options[1] == (f"1: {result.tokens[1]}", 1)
    assert [value for _, value in explorer.view_selector.options] == ["arcs", "heatmap", "grid"]
    assert [value for _, value in explorer.aggregate_selector.options] == ["head", "mean", "rollout"]
    assert explorer.banner.layout.display == "none"


def test_sliders_redraw_without_running_the_model(explorer):
    pictures = [explorer.image.value]
    explorer.layer_slider.value = 3
    pictures.append(explorer.image.value)
    explorer.head_slider.value = 7
    pictures.append(explorer.image.value)
    explorer.token_selector.value = 4
    pictures.append(explorer.image.value)
    assert len(set(pictures)) == 4
    assert explorer.forward_count == 1

    explorer.layer_slider.value = 0  # a new view (0, 7, 4)
    assert bytes(explorer.image.value) not in {bytes(p) for p in pictures}
    explorer.layer_slider.value = 3  # back to (3, 7, 4): the same picture, from the cache
    assert bytes(explorer.image.value) == bytes(pictures[3]) and explorer.forward_count == 1

    explorer.text.value = "The cat sat on the mat."
    assert bytes(explorer.image.value) not in {bytes(p) for p in pictures}  # no stale cached picture
    assert explorer.forward_count == 2
    assert explorer.result.text == "The cat sat on the mat."
    assert explorer.token_selector.options[-1][0].endswith("[SEP]")
    explorer.analyze_button.click()
    assert explorer.forward_count == 3


def test_weights_table_matches_the_result_row(explorer):
    explorer.layer_slider.value = 2
    explorer.head_slider.value = 9
    explorer.token_selector.value = 3
    row = explorer.result.attention[2, 9, 3]
    rows = table_rows(explorer.table.value)
    assert len(rows) == explorer.result.n_tokens
    assert [index for _, _, index, _ in rows] == list(np.argsort(-row, kind="stable"))
    assert [rank for rank, *_ in rows] == list(range(1, len(rows) + 1))
    for _, token, index, weight in rows:
        assert html.unescape(token) == explorer.result.tokens[index]
        assert weight == pytest.approx(float(row[index]), abs=5e-5)


def test_table_escapes_any_token_text(minilm_result):
    tokens = list(minilm_result.tokens)
    tokens[2] = HOSTILE
    result = dataclasses.replace(minilm_result, tokens=tuple(tokens))
    table = weights_table(result, 2, result.attention[0, 0, 2])
    assert HOSTILE not in table and "<img" not in table
    assert html.escape(HOSTILE) in table


def test_hostile_sentence_is_escaped_in_the_widget(explorer):
    explorer.text.value = f"Hola {HOSTILE} mundo"
    explorer.words_toggle.value = True
    assert "<img" not in explorer.table.value and "&lt;" in explorer.table.value
    assert "<img" not in explorer.banner.value + explorer.metrics.value


def test_errors_show_one_spanish_sentence_and_the_widget_keeps_working(explorer):
    before = explorer.result
    explorer.text.value = "   "
    assert explorer.banner.layout.display == "block"
    assert banner_text(explorer).strip() == "El texto está vacío: escribe al menos una palabra."
    assert "Traceback" not in explorer.banner.value
    assert explorer.result is before and explorer.forward_count == 1

    picture = explorer.image.value
    explorer.layer_slider.value = 4
    assert explorer.image.value != picture

    explorer.model_selector.value = "./no/existe/este-modelo"
    assert "No existe la carpeta del modelo" in banner_text(explorer)
    assert explorer.model_selector.value == "sin conexión (MiniLM)"

    explorer.text.value = "A new sentence."
    assert explorer.forward_count == 2
    assert explorer.banner.layout.display == "none"


def test_too_long_text_is_truncated_with_a_warning(beto, monkeypatch):
    _, tokenizer = beto
    monkeypatch.setattr(tokenizer, "model_max_length", 24)  # a short limit keeps the test fast
    ex = attnviz.explorer(beto, "palabra " * 40)
    assert ex.result.truncated and ex.result.n_tokens == 24
    assert "se recortó" in banner_text(ex)
    assert ex.image.value[:4] == b"\x89PNG"


def test_offline_fallback_says_so(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    ex = attnviz.explorer()
    assert ex.banner.layout.display == "block"
    assert "sin conexión" in banner_text(ex) and "BETO" in banner_text(ex)
    assert ex.model_selector.value == "sin conexión (MiniLM)"
    assert ex.result.n_layers == 6 and ex.forward_count == 1


def test_model_selector_loads_a_new_model_and_runs_once(explorer, beto_dir):
    explorer.model_selector.value = str(beto_dir)
    assert explorer.forward_count == 2
    assert explorer.result.n_layers == 12 and "[CLS]" in explorer.result.tokens
    assert explorer.banner.layout.display == "none"


def test_model_as_object_with_tokenizer_or_missing_tokenizer(beto):
    model, tokenizer = beto
    ex = attnviz.explorer(model, SEED, tokenizer=tokenizer)
    assert ex.result.n_heads == 12 and ex.forward_count == 1
    broken = attnviz.explorer(model, SEED)
    assert broken.result is None and "Falta el tokenizador" in banner_text(broken)
    assert broken.forward_count == 0


def test_views_aggregates_and_word_level_come_from_the_cache(explorer):
    from attnviz import aggregate

    first = bytes(explorer.image.value)
    pictures = {first}
    for view in ("heatmap", "grid", "arcs"):
        explorer.view_selector.value = view
        pictures.add(bytes(explorer.image.value))
    assert bytes(explorer.image.value) == first  # nothing accumulates on the reused figures
    explorer.layer_slider.value = 2
    explorer.aggregate_selector.value = "mean"
    assert explorer.head_slider.disabled
    mean_row = aggregate.head_mean(explorer.result, 2)[explorer.token_selector.value]
    assert table_rows(explorer.table.value)[0][2] == int(np.argmax(mean_row))
    pictures.add(bytes(explorer.image.value))
    explorer.aggregate_selector.value = "rollout"
    pictures.add(bytes(explorer.image.value))
    assert len(pictures) == 5  # arcs, heat map, grid, mean, rollout
    assert explorer.banner.layout.display == "none"

    explorer.aggregate_selector.value = "head"
    explorer.token_selector.value = 3  # "##ro", the second piece of "perro"
    explorer.words_toggle.value = True
    words = explorer.view_result
    assert words.level == "word" and explorer.token_selector.options[2][0] == "2: perro"
    assert explorer.token_selector.value == 2
    rows = table_rows(explorer.table.value)
    assert len(rows) == len(words.tokens)
    assert "Capa 2, cabeza" in explorer.metrics.value
    assert explorer.forward_count == 1


def test_wrong_input_type_is_reported_and_a_sentence_then_works(minilm):
    ex = attnviz.explorer(minilm, 123)
    assert banner_text(ex).strip() == "La frase debe ser texto (str), no int."
    assert ex.result is None and ex.forward_count == 0
    ex.text.value = SEED
    assert ex.forward_count == 1 and ex.result.text == SEED
    assert ex.banner.layout.display == "none"
