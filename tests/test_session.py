"""The explorer's logic without widgets: controls in, picture, table and metrics line out."""

from __future__ import annotations

import dataclasses
import html
import subprocess
import sys

import numpy as np
import pytest

import attnviz
from attnviz.core.aggregate import AGGREGATES
from attnviz.explore.session import AGGREGATE_CHOICES, EXPLORER_VIEWS, VIEWS, Controls, Session

from .conftest import SEED
from .view_checks import picture_text


@pytest.fixture
def session(minilm) -> Session:
    session = Session()
    session.load(minilm)
    assert session.analyze(SEED) == ""
    return session


def test_the_session_needs_no_widgets():
    code = "import sys, attnviz.explore.session; print('ipywidgets' in sys.modules, 'IPython' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["False", "False"]


@pytest.mark.slow  # 2-3 s: `make test` runs it, the developer loop does not
def test_every_view_and_aggregate_gives_a_frame_without_running_the_model(session):
    result = session.result
    pictures = set()
    for view in EXPLORER_VIEWS:
        for _, aggregate in AGGREGATE_CHOICES:
            controls = Controls(layer=2, head=3, source=4, view=view, aggregate=aggregate)
            frame = session.frame(controls)
            assert frame.picture[:8] == b"\x89PNG\r\n\x1a\n"
            # Issue 10: a mean or a rollout is no head, and its metrics line says what it is.
            if controls.uses_head:
                assert "Capa 2, cabeza 3" in frame.metrics
            else:
                assert "cabeza 3" not in frame.metrics
                assert html.escape(AGGREGATES[aggregate].title(result, 2)) in frame.metrics
            assert f"«{result.tokens[4]}» (token 4)" in frame.table
            pictures.add(frame.picture)
    # The grid and the q·k steps look the same for every aggregate: every other view and aggregate differs.
    assert len(pictures) == len(EXPLORER_VIEWS) * len(AGGREGATE_CHOICES) - 4
    assert session.forward_count == 1


def test_aggregate_titles_and_rows_come_from_the_named_aggregates(session):
    result = session.result
    frame = session.frame(Controls(layer=2, source=4, aggregate="mean"))
    row = AGGREGATES["mean"].matrix(result, 2)[4]
    assert f"<td>{int(np.argmax(row))}</td>" in frame.table.split("<tbody>")[1].split("</tr>")[0]
    matrix, title = session._matrix(result, Controls(layer=2, source=4, aggregate="rollout"))
    np.testing.assert_allclose(matrix, attnviz.rollout(result, 2))
    assert title == (
        "Rollout de las capas 0 a 2 (Abnar y Zuidema, 2020; aproximación) · "
        f"atención desde «{result.tokens[4]}» (token 4)"
    )


def test_word_level_and_switching_levels(session):
    words = session.view_result(True)
    assert words.level == "word" and session.view_result(True) is words
    token = session.result.word_spans[3][0]
    assert session.switch_level(token, True) == 3
    assert session.switch_level(3, False) == token
    frame = session.frame(Controls(source=3, words=True))
    assert "(palabra 3)" in frame.table
    assert Session.token_options(words)[3] == (f"3: {words.tokens[3]}", 3)


def test_head_slider_matters_only_for_one_head_or_the_grid():
    assert Controls().uses_head and Controls(view="grid", aggregate="mean").uses_head
    assert not Controls(aggregate="rollout").uses_head
    assert set(EXPLORER_VIEWS) < set(VIEWS)


def test_errors_are_spanish_and_leave_the_session_as_it_was(session):
    before = session.result
    with pytest.raises(attnviz.InvalidTextError, match="vacío"):
        session.analyze("   ")
    with pytest.raises(attnviz.IndexOutOfRangeError):
        session.frame(Controls(layer=99))
    assert session.result is before and session.forward_count == 1
    empty = Session()
    with pytest.raises(attnviz.AttnvizError, match="No hay ningún modelo cargado"):
        empty.analyze(SEED)
    with pytest.raises(attnviz.InvalidInputTypeError, match="Falta el tokenizador"):
        empty.load(session.model)
    assert empty.model is None


def test_an_unexpected_failure_becomes_one_spanish_sentence(session, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(session, "_picture", broken)
    with pytest.raises(attnviz.AttnvizError) as caught:
        session.frame(Controls(view="heatmap", layer=1))
    assert caught.value.message_es == "No se pudo dibujar esta vista (RuntimeError: boom)."


def test_previous_share_is_the_metric_head_metrics_reports(minilm_result):
    from attnviz.explore.session import previous_share

    from .helpers import synthetic_result

    for result in (minilm_result, attnviz.to_words(minilm_result), synthetic_result(9, causal=True)):
        np.testing.assert_allclose(previous_share(result), attnviz.head_metrics(result).previous, atol=1e-12)


def test_the_suggested_view_is_a_pure_previous_token_head_when_there_is_one():
    from attnviz.explore.session import suggest_view

    from .helpers import TOKENS, make_result, previous_token_matrix

    n = len(TOKENS)
    uniform = np.full((n, n), 1.0 / n)
    result = make_result(
        np.stack([np.stack([uniform, uniform]), np.stack([uniform, previous_token_matrix(n)])])
    )
    chosen = suggest_view(result)
    # Layer 1, head 1 puts everything on the previous token; «gato» (2) looks at «El» (1) and is the
    # first source whose previous token is not [CLS].
    assert (chosen.layer, chosen.head, chosen.source) == (1, 1, 2)
    assert chosen.reason == (
        "Vista inicial: capa 1, cabeza 1, la cabeza que más mira al token anterior en esta frase "
        "(100% de media); desde «gato», que da un 100% de su atención a «El»."
    )


def test_messages_name_the_control_of_each_front_end():
    from attnviz.cli import OFFLINE_HINT as CLI_HINT
    from attnviz.core.loading import offline_hint
    from attnviz.explore.session import OFFLINE_HINT

    def explorer_wording(place):
        return offline_hint(*{"explorer": OFFLINE_HINT, "cli": CLI_HINT}[place])

    error = attnviz.ModelUnavailableError(
        "No se puede cargar «beto»: sin red. Usa el modelo sin conexión (load_model('minilm')).",
        "Cannot load 'beto': offline. Use the offline model (load_model('minilm')).",
    )
    for place, hint in (("explorer", "elige «sin conexión (MiniLM)» en «Modelo»"), ("cli", "--model minilm")):
        with pytest.raises(attnviz.ModelUnavailableError) as caught, explorer_wording(place):
            raise error
        assert (
            caught.value.message_es
            == f"No se puede cargar «beto»: sin red. Usa el modelo sin conexión ({hint})."
        )
        assert "load_model" not in caught.value.message_en


# -- the text of the arc picture, for a test on a real screen ------------------------------------------


def test_picture_text_describes_the_arc_picture_the_controls_show(session):
    from attnviz.plots.style import CLASSROOM_FONTSIZE, font_sizes

    from .test_render import decode

    result = session.result
    shown = Controls(layer=0, head=0, source=1, classroom=True)
    picture = session.frame(shown).picture
    # Another view in between: the renderer now holds that one, and the text must not describe it.
    session.frame(dataclasses.replace(shown, layer=4, head=7, source=9))
    text = picture_text(session.arc_renderer(shown))
    assert decode(picture).shape[:2] == (text.height, text.width) == (496, 1280)
    assert text.dpi == 160.0
    assert [t.gid for t in text.labels] == [f"token-{i}" for i in range(result.n_tokens)]
    assert {t.fontsize for t in text.labels} == {CLASSROOM_FONTSIZE}
    assert {t.fontsize for t in text.values} == {font_sizes(CLASSROOM_FONTSIZE)["values"]}
    # The numbers are this view's weights, each under its own token's label.
    row = result.attention[0, 0, 1]
    labels = {t.gid.split("-")[1]: t.box for t in text.labels}
    assert len(text.values) >= 3
    for value in text.values:
        j = value.gid.split("-")[1]
        assert value.text == f"{row[int(j)]:.2f}"
        left, _, right, bottom = value.box
        label_left, label_top, label_right, _ = labels[j]
        assert bottom < label_top and left < label_right and label_left < right
    for box in (t.box for t in (*text.labels, *text.values)):
        assert 0 <= box[0] < box[2] <= text.width and 0 <= box[1] < box[3] <= text.height
    # Shown 673 CSS px wide (a 1280x720 projector at 150 %), 16-point labels are 18.7 px tall.
    assert text.on_screen(CLASSROOM_FONTSIZE, 673) == pytest.approx(16 * 160 / 72 * 673 / 1280)
    assert text.on_screen(CLASSROOM_FONTSIZE, 673) == pytest.approx(18.69, abs=0.01)
    assert session.forward_count == 1


def test_picture_text_in_normal_mode_and_at_word_level(session):
    text = picture_text(session.arc_renderer(Controls(layer=2, head=3, source=2, words=True)))
    words = session.view_result(True)
    assert [t.gid for t in text.labels] == [f"token-{i}" for i in range(words.n_tokens)]
    assert [t.text for t in text.labels] == list(words.tokens)
    assert {t.fontsize for t in text.labels} == {10.0} and text.dpi == 100.0


def test_picture_text_is_only_for_the_arc_view(session):
    with pytest.raises(attnviz.AttnvizError, match="Solo la vista de arcos"):
        session.arc_renderer(Controls(view="heatmap"))
    with pytest.raises(attnviz.AttnvizError):
        session.arc_renderer(Controls(layer=99))


@pytest.mark.slow  # 2-3 s: `make test` runs it, the developer loop does not
def test_the_measure_switch_redraws_every_view_from_the_same_pass(session):
    carried = attnviz.with_measure(session.result, "contribucion")
    for view in EXPLORER_VIEWS:
        weights = session.frame(Controls(layer=2, head=3, source=4, view=view))
        contribution = session.frame(Controls(layer=2, head=3, source=4, view=view, measure="contribucion"))
        if view == "scores":  # q·k rebuilds the weights: the same picture either way
            assert contribution.picture == weights.picture
            continue
        assert contribution.picture != weights.picture, view
        assert "Contribuciones a «" in contribution.table and "<th>contribución</th>" in contribution.table
        top = int(np.argmax(carried.attention[2, 3, 4]))
        first_row = contribution.table.split("<tbody>")[1].split("</tr>")[0]
        assert f"<td>{top}</td><td>{carried.attention[2, 3, 4, top]:.4f}</td>" in first_row
    words = session.frame(Controls(layer=2, head=3, source=1, words=True, measure="contribucion"))
    merged = attnviz.to_words(carried).attention[2, 3, 1]
    assert f"{merged.max():.4f}" in words.table
    assert session.forward_count == 1


def test_an_unknown_measure_in_the_explorer_is_one_spanish_sentence(session):
    with pytest.raises(attnviz.AttnvizError) as caught:
        session.frame(Controls(measure="norma"))
    assert caught.value.message_es == "La medida «norma» no existe: elige peso, contribucion."
