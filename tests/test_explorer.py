"""The explorer widget, driven from Python: sliders never re-run the model, errors stay inside."""

from __future__ import annotations

import dataclasses
import html
import io
import re

import ipywidgets as widgets
import numpy as np
import pytest
from PIL import Image

import attnviz
import attnviz.explore.widget
from attnviz.core.aggregate import AGGREGATES
from attnviz.explore.canvas import ArcRenderer
from attnviz.explore.session import EXPLORER_VIEWS, Session, weights_table
from attnviz.explore.widget import Explorer

from .conftest import SEED
from .view_checks import picture_text

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


def plain(html_text: str) -> str:
    """What a student reads in an HTML widget: no tags, single spaces."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", html_text)).split())


def test_explorer_is_a_vbox_with_every_control(explorer):
    assert isinstance(explorer, widgets.VBox)
    assert isinstance(explorer.image, widgets.Image) and explorer.image.format == "png"
    assert explorer.image.value[:8] == b"\x89PNG\r\n\x1a\n"
    result = explorer.result
    assert result.text == SEED and explorer.forward_count == 1
    assert (explorer.layer_slider.max, explorer.head_slider.max) == (5, 11)
    assert explorer.token_selector.options[1] == (f"1: {result.tokens[1]}", 1)
    views = [value for _, value in explorer.view_selector.options]
    assert views == list(EXPLORER_VIEWS) and {"arcs", "heatmap", "grid"} <= set(views)
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
    # Issue 13: «Analizar» on the sentence already shown does not run the model again.
    explorer.analyze_button.click()
    assert explorer.forward_count == 2


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
    # Issue 13: the box keeps the typo to fix; the banner says which model still runs.
    assert explorer.model_selector.value == "./no/existe/este-modelo"
    assert "Sigue en uso «sin conexión (MiniLM)»." in banner_text(explorer)
    explorer.model_selector.value = "sin conexión (MiniLM)"  # picking the working model again
    assert explorer.banner.layout.display == "none" and explorer.forward_count == 1

    explorer.text.value = "A new sentence."
    assert explorer.forward_count == 2
    assert explorer.banner.layout.display == "none"


def test_too_long_text_is_truncated_with_a_warning(beto, monkeypatch, recwarn):
    _, tokenizer = beto
    monkeypatch.setattr(tokenizer, "model_max_length", 24)  # a short limit keeps the test fast
    ex = attnviz.explorer(beto, "palabra " * 40)
    assert ex.result.truncated and ex.result.n_tokens == 24
    assert "se recortó" in banner_text(ex)
    # Said once, in the banner: not also as a warning under the cell.
    assert not [w for w in recwarn if issubclass(w.category, attnviz.TruncationWarning)]
    assert ex.image.value[:4] == b"\x89PNG"


def test_offline_fallback_says_so(monkeypatch, recwarn):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    ex = attnviz.explorer()
    assert not [w for w in recwarn if issubclass(w.category, attnviz.OfflineFallbackWarning)]
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
    from attnviz.core import aggregate

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


# -- issue 13: one pass per sentence, a busy state, and controls that never mix sentences ----------

LONG = " ".join(["El perro que persiguió al gato cruzó la calle."] * 12)


class SlowExtract:
    """``extract`` that records each text and runs ``during(text)`` first: what happens while the model runs.

    In a kernel, the front end keeps sending events while a pass runs; they are handled after it.
    ``during`` fires them inside the pass instead, the harder case: the explorer must still run each
    distinct request at most once and keep only the latest.
    """

    def __init__(self, real):
        self.real = real
        self.texts: list[str] = []
        self.during = None

    def __call__(self, model, tokenizer, text, *args, **kwargs):
        self.texts.append(text)
        during, self.during = self.during, None  # once: the passes it triggers run normally
        if during is not None:
            during(text)
        return self.real(model, tokenizer, text, *args, **kwargs)


@pytest.fixture
def slow(monkeypatch) -> SlowExtract:
    import attnviz.explore.session

    slow = SlowExtract(attnviz.explore.session.extract)
    monkeypatch.setattr(attnviz.explore.session, "extract", slow)
    return slow


def assert_consistent(ex: Explorer) -> None:
    """Picture, token list, sliders, table, metrics and banner all describe the sentence the session holds."""
    result = ex.view_result
    assert [label for label, _ in ex.token_selector.options] == [
        label for label, _ in Session.token_options(result)
    ]
    assert (ex.layer_slider.max, ex.head_slider.max) == (result.n_layers - 1, result.n_heads - 1)
    frame = ex.session.frame(ex.controls)  # the picture these controls give, from the cache
    assert bytes(ex.image.value) == frame.picture
    assert (ex.table.value, ex.metrics.value) == (frame.table, frame.metrics)
    assert ("se recortó" in banner_text(ex)) == result.truncated


def assert_busy(ex: Explorer, busy: bool, label: str = "Analizando…") -> None:
    assert ex.busy is busy
    assert ex.analyze_button.disabled is busy
    assert ex.analyze_button.description == (label if busy else "Analizar")


def test_blur_then_click_runs_the_model_once(explorer, slow):
    before = explorer.result

    def meanwhile(text):
        assert_busy(explorer, True)  # what the front end shows while the model runs
        assert explorer.result is before
        assert_consistent(explorer)  # still the previous sentence, everywhere
        explorer.analyze_button.click()  # a click while the blur's pass runs

    slow.during = meanwhile
    explorer.text.value = "The cat sat on the mat."  # what leaving the text box sends
    explorer.analyze_button.click()  # the click after it
    assert slow.texts == ["The cat sat on the mat."] and explorer.forward_count == 2
    assert explorer.result.text == "The cat sat on the mat."
    assert_busy(explorer, False)
    assert_consistent(explorer)


def test_ten_fast_clicks_on_a_long_text_run_once_and_the_controls_never_mix_sentences(explorer, slow):
    before = explorer.result

    def meanwhile(text):
        for _ in range(10):
            explorer.analyze_button.click()
            assert_busy(explorer, True)
            assert explorer.result is before
            assert_consistent(explorer)

    slow.during = meanwhile
    explorer.text.value = LONG
    for _ in range(10):  # and the clicks a kernel handles after the pass
        explorer.analyze_button.click()
        assert_consistent(explorer)
    assert slow.texts == [LONG] and explorer.forward_count == 2
    assert explorer.result.text == LONG and explorer.result.n_tokens > 100
    assert_busy(explorer, False)

    explorer.text.value = "A new sentence."  # then a new sentence and Enter
    assert slow.texts[1:] == ["A new sentence."] and explorer.forward_count == 3
    assert_consistent(explorer)


def test_requests_during_a_run_collapse_into_one_run_of_the_latest_text(explorer, slow):
    def meanwhile(text):
        for later in ("Second text.", "Third text.", "Fourth text."):
            explorer.text.value = later
            explorer.analyze_button.click()
            assert_consistent(explorer)

    slow.during = meanwhile
    explorer.text.value = "First text."
    # The running pass finishes; of the three that arrived meanwhile only the latest runs, and the
    # superseded first one is never shown.
    assert slow.texts == ["First text.", "Fourth text."]
    assert explorer.forward_count == 3 and explorer.result.text == "Fourth text."
    assert_consistent(explorer)


def test_going_back_to_the_shown_sentence_during_a_run_costs_no_pass(explorer, slow):
    shown = explorer.result
    slow.during = lambda text: setattr(explorer.text, "value", SEED)  # back to what is on screen
    explorer.text.value = "Another text."
    assert slow.texts == ["Another text."] and explorer.forward_count == 2
    assert explorer.result is shown
    assert_consistent(explorer)


def test_a_failing_request_during_a_run_keeps_the_shown_sentence_consistent(explorer, slow):
    slow.during = lambda text: setattr(explorer.text, "value", "   ")
    explorer.text.value = "Valid text."
    assert banner_text(explorer).strip() == "El texto está vacío: escribe al menos una palabra."
    assert explorer.result.text == SEED  # "Valid text." was superseded, the empty one failed
    assert_consistent(explorer)
    assert_busy(explorer, False)


def test_the_busy_state_covers_a_model_change(explorer, beto_dir, slow):
    def meanwhile(text):
        assert_busy(explorer, True, "Cargando el modelo…")
        assert explorer.result.n_layers == 6  # MiniLM's sentence is still the one shown
        assert_consistent(explorer)

    slow.during = meanwhile
    explorer.model_selector.value = str(beto_dir)
    assert explorer.result.n_layers == 12 and explorer.forward_count == 2
    assert_busy(explorer, False)
    assert_consistent(explorer)


def test_an_unexpected_failure_never_leaves_the_explorer_busy(explorer, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(explorer, "_install", broken)
    explorer.text.value = "Otra frase."
    assert "Algo falló al analizar la frase (RuntimeError: boom)." in banner_text(explorer)
    assert_busy(explorer, False)
    monkeypatch.undo()
    explorer.text.value = "Y otra más."
    assert explorer.result.text == "Y otra más." and explorer.banner.layout.display == "none"


# -- issue 13 §5: messages that fit the explorer ------------------------------------------------------


def test_model_errors_name_the_selector_choice_not_python(explorer, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    explorer.model_selector.value = "BETO cased"
    text = banner_text(explorer)
    assert "elige «sin conexión (MiniLM)» en «Modelo»" in text
    assert "load_model" not in text and "Sigue en uso «sin conexión (MiniLM)»." in text
    assert explorer.result.n_layers == 6 and explorer.forward_count == 1


def test_an_empty_model_box_shows_the_model_in_use_and_no_stale_error(explorer):
    explorer.model_selector.value = "./no/existe"
    assert explorer.banner.layout.display == "block"
    explorer.model_selector.value = ""
    assert explorer.model_selector.value == "sin conexión (MiniLM)"
    assert explorer.banner.layout.display == "none"
    assert "BETO" not in explorer.model_selector.placeholder  # it does not pose as a model in use
    assert explorer.forward_count == 1


# -- issue 10: classroom mode, colour scale, a measured first view, a metrics line that explains --------


def test_classroom_mode_puts_slider_and_picture_first_at_full_width(minilm):
    ex = attnviz.explorer(minilm, SEED, modo="clase")
    assert ex.classroom and ex.mode_toggle.value
    assert ex.controls.classroom and ex.controls.fontsize == attnviz.plots.style.CLASSROOM_FONTSIZE
    rows = [child for child in ex.children if isinstance(child, widgets.HBox)]
    picture = list(ex.children).index(ex.image)
    above = [row for row in rows if list(ex.children).index(row) < picture]
    assert len(above) == 2  # compact: two rows of controls above the picture
    assert ex.text in above[0].children and ex.mode_toggle in above[0].children
    assert ex.layer_slider in above[1].children and ex.token_selector in above[1].children
    assert ex.image.layout.width == "100%"
    classroom_picture = bytes(ex.image.value)
    # What the picture was drawn with: projector-sized text on a wide, short figure, every token labelled.
    text = picture_text(ex.session.arc_renderer(ex.controls))
    assert {t.fontsize for t in text.labels} == {attnviz.plots.style.CLASSROOM_FONTSIZE}
    assert len(text.labels) == ex.result.n_tokens
    width, height = attnviz.explore.session.CLASSROOM_ARC_WIDTH, attnviz.explore.session.CLASSROOM_ARC_HEIGHT
    assert (text.width / text.dpi, text.height / text.dpi) == pytest.approx((width, height), abs=0.01)
    assert Image.open(io.BytesIO(classroom_picture)).size == (text.width, text.height)

    ex.mode_toggle.value = False  # the toggle in the explorer switches back
    assert not ex.controls.classroom and ex.controls.fontsize is None and ex.image.layout.width is None
    rows = [child for child in ex.children if isinstance(child, widgets.HBox)]
    assert len([row for row in rows if list(ex.children).index(row) < list(ex.children).index(ex.image)]) == 5
    if attnviz.explore.session.Session.supports("arcs", "fontsize"):
        assert bytes(ex.image.value) != classroom_picture  # larger text is another picture
    assert ex.forward_count == 1
    assert_consistent(ex)


def test_the_title_is_text_beside_the_picture_when_the_renderer_leaves_it_out(explorer):
    from attnviz.plots.arcs import arc_title

    explorer.layer_slider.value, explorer.head_slider.value, explorer.token_selector.value = 3, 5, 2
    if not Session.supports("arcs", "title"):
        assert explorer.title.layout.display == "none"
        return
    result = explorer.result
    title, notes = _title_and_notes(explorer)
    assert title == arc_title(result, 3, 5, 2, mathtext=False)
    assert notes == f"Índices desde 0 · {result.model_name}"
    explorer.aggregate_selector.value = "rollout"
    assert _title_and_notes(explorer)[0] == (
        "Rollout de las capas 0 a 3 (Abnar y Zuidema, 2020; aproximación) · "
        f"atención desde «{result.tokens[2]}» (token 2)"
    )
    explorer.view_selector.value = "heatmap"  # a picture with its own title and notes: no second ones
    assert explorer.title.layout.display == "none" and explorer.notes.layout.display == "none"


def _title_and_notes(explorer) -> tuple[str, str]:
    """The title's text above the picture and the grey notes' under it."""
    children = list(explorer.children)
    assert children.index(explorer.title) + 1 == children.index(explorer.image)
    assert children.index(explorer.image) + 1 == children.index(explorer.notes)
    assert "attnviz-notes" in explorer.notes.value and explorer.notes.layout.display == "block"
    return plain(explorer.title.value), plain(explorer.notes.value)


def test_the_notes_are_a_caption_under_the_picture_not_in_it(minilm):
    """The arcs' grey notes (indices from 0, the model, what is hidden) are escaped text under the
    picture, as large as the picture's numbers in classroom mode; the picture leaves them out."""
    long_text = " ".join(["El perro que persiguió al gato <b>cruzó</b> la calle."] * 8)
    ex = attnviz.explorer(minilm, long_text, modo="clase")
    result = ex.result
    ex.layer_slider.value, ex.head_slider.value, ex.token_selector.value = 2, 4, 3
    renderer = ex.session._arc_renderer(result, ex.controls, None)
    _, notes = _title_and_notes(ex)
    assert notes == renderer.plot.notes_line
    assert f"{result.n_tokens - 1 - 24} enlaces débiles ocultos" in notes  # the 24 strongest shown
    assert "texto largo:" in notes and "sin etiqueta (marcas grises)" in notes
    assert "&lt;b&gt;" not in notes  # no token text in the notes
    assert "font-size:1.2em" in ex.notes.value  # 1.2 × JupyterLab's 13 px: 15.6 px, as the numbers
    assert not renderer.plot.artists.notes.get_visible()
    assert all("Índices" not in t.text for t in picture_text(renderer).labels)
    # A model name is text from outside: escaped in the HTML, and its "$" is not mathtext there.
    named = dataclasses.replace(result, model_name="<i>mío</i> & $x$")
    plot = ArcRenderer(named, title=False, notes=False).plot.show(2, 4, 3)
    assert plot.notes_line.startswith("Índices desde 0 · <i>mío</i> & $x$ · ")
    assert r"\$x\$" in plot.notes_text  # in a picture, "$" is escaped for matplotlib
    frame = ex.session.frame(ex.controls)
    ex._show_frame(dataclasses.replace(frame, notes=plot.notes_line))
    assert "&lt;i&gt;mío&lt;/i&gt; &amp; $x$" in ex.notes.value and "<i>" not in ex.notes.value


def test_unknown_mode_is_one_spanish_sentence(minilm):
    ex = attnviz.explorer(minilm, SEED, modo="proyector")
    assert banner_text(ex).strip() == 'El modo «proyector» no existe: usa modo="clase" o modo="normal".'
    assert ex.image.value[:4] == b"\x89PNG" and not ex.classroom


@pytest.mark.slow  # 2-3 s: `make test` runs it, the developer loop does not
def test_scale_selector_offers_the_shared_scales_where_a_view_uses_them(explorer):
    from attnviz.plots.style import DEFAULT_SCALE, SCALE_LABELS, SCALES

    assert [value for _, value in explorer.scale_selector.options] == list(SCALES)
    assert [label for label, _ in explorer.scale_selector.options] == [SCALE_LABELS[s] for s in SCALES]
    assert explorer.scale_selector.value == DEFAULT_SCALE
    # A diffuse head, where "up to 1" and "up to this row's maximum" must colour differently.
    peaks = explorer.result.attention.max(axis=(2, 3))
    layer, head = np.unravel_index(np.argmin(peaks), peaks.shape)
    explorer.layer_slider.value, explorer.head_slider.value = int(layer), int(head)
    for view in EXPLORER_VIEWS:
        explorer.view_selector.value = view
        supported = Session.supports(view, "scale")
        assert (explorer.scale_selector.layout.display != "none") is supported
        if supported:
            explorer.scale_selector.value = "absolute"
            absolute = bytes(explorer.image.value)
            explorer.scale_selector.value = "head" if view == "grid" else "row"
            assert bytes(explorer.image.value) != absolute, view
            explorer.scale_selector.value = DEFAULT_SCALE
        assert_consistent(explorer)


def test_first_view_is_the_measured_previous_token_head_and_says_why(explorer):
    result = explorer.result
    previous = attnviz.head_metrics(result).previous
    layer, head = np.unravel_index(np.argmax(previous), previous.shape)
    assert (explorer.layer_slider.value, explorer.head_slider.value) == (layer, head)
    source = explorer.token_selector.value
    weights = result.attention[layer, head]
    assert not result.special[source] and not result.special[source - 1]
    assert weights[source, source - 1] >= 0.995 * max(
        weights[i, i - 1] for i in range(2, result.n_tokens) if not result.special[i]
    )
    note = html.unescape(explorer.note.value)
    assert f"capa {layer}, cabeza {head}" in note and f"{previous[layer, head]:.0%}" in note
    assert f"«{result.tokens[source]}»" in note and f"«{result.tokens[source - 1]}»" in note
    assert explorer.note.layout.display != "none"
    explorer.layer_slider.value = (layer + 1) % result.n_layers
    assert explorer.note.layout.display == "none"  # the line no longer describes what is shown


def test_metrics_line_names_the_aggregate_and_explains_its_words(explorer):
    explorer.layer_slider.value = 2
    explorer.head_slider.value = 5
    text = plain(explorer.metrics.value)
    assert "Capa 2, cabeza 5" in text and "Entropía:" in text and "Distancia:" in text
    for aggregate, matrix in (("mean", attnviz.head_mean), ("rollout", attnviz.rollout)):
        explorer.aggregate_selector.value = aggregate
        text = plain(explorer.metrics.value)
        assert "cabeza 5" not in text
        assert AGGREGATES[aggregate].title(explorer.result, 2) in text
        m = matrix(explorer.result, 2).astype(np.float64)
        entropy = float(-(m * np.log(np.where(m > 0, m, 1.0))).sum(-1).mean())
        assert f"entropía {entropy:.2f}" in text


# -- issue 11: the «Sintaxis» checkbox exists only where a parser does ----------------------------------


def test_without_spacy_there_is_no_syntax_checkbox_and_the_explorer_works(minilm, monkeypatch):
    monkeypatch.setattr(attnviz.explore.widget, "parser_installed", lambda: False)
    ex = attnviz.explorer(minilm, SEED)
    assert ex.syntax_toggle.layout.display == "none"
    ex.syntax_toggle.value = True  # even if something ticks it, nothing asks for a parser
    assert not ex.controls.syntax and ex.banner.layout.display == "none"
    assert ex.image.value[:4] == b"\x89PNG"
    assert_consistent(ex)


def test_a_parser_that_cannot_load_gives_the_install_command_and_hides_the_checkbox(minilm, monkeypatch):
    import attnviz.explore.session
    from attnviz.syntax import ParserUnavailableError
    from attnviz.syntax.parsing import _unavailable

    def broken(*args, **kwargs):
        raise _unavailable("spaCy no está instalado", "spaCy is not installed")

    monkeypatch.setattr(attnviz.explore.widget, "parser_installed", lambda: True)
    monkeypatch.setattr(attnviz.explore.session, "load_parser", broken)
    monkeypatch.setattr(attnviz.explore.session.Session, "supports", staticmethod(lambda view, option: True))
    ex = attnviz.explorer(minilm, SEED)
    assert ex.syntax_toggle.layout.display != "none"
    before = bytes(ex.image.value)
    ex.syntax_toggle.value = True
    assert isinstance(broken, object) and issubclass(ParserUnavailableError, attnviz.AttnvizError)
    assert "pip install spacy" in banner_text(ex) and len(ex.banner.value.split("<div")) == 2
    assert ex.syntax_toggle.layout.display == "none"
    assert bytes(ex.image.value) == before  # the picture without syntax stays


def test_the_measure_selector_switches_every_view_without_running_the_model(explorer):
    assert [label for label, _ in explorer.measure_selector.options] == ["peso", "contribución"]
    before = explorer.image.value
    explorer.measure_selector.value = "contribucion"
    assert explorer.image.value != before
    carried = attnviz.with_measure(explorer.result, "contribucion")
    c = explorer.controls
    rows = table_rows(explorer.table.value)
    assert rows[0][3] == pytest.approx(float(carried.attention[c.layer, c.head, c.source].max()), abs=1e-4)
    assert explorer.measure_selector.layout.display is None
    explorer.view_selector.value = "scores"  # q·k rebuilds the weights: nothing to switch there
    assert explorer.measure_selector.layout.display == "none"
    assert explorer.aggregate_selector.layout.display == "none"
    assert explorer.forward_count == 1
