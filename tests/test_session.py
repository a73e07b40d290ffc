"""The explorer's logic without widgets: controls in, picture, table and metrics line out."""

from __future__ import annotations

import html
import subprocess
import sys

import numpy as np
import pytest

import attnviz
from attnviz.aggregate import AGGREGATES
from attnviz.session import AGGREGATE_CHOICES, EXPLORER_VIEWS, VIEWS, Controls, Session

from .conftest import SEED


@pytest.fixture
def session(minilm) -> Session:
    session = Session()
    session.load(minilm)
    assert session.analyze(SEED) == ""
    return session


def test_the_session_needs_no_widgets():
    code = "import sys, attnviz.session; print('ipywidgets' in sys.modules, 'IPython' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["False", "False"]


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
    # The grid looks the same for every aggregate: every other view and aggregate differs.
    assert len(pictures) == len(EXPLORER_VIEWS) * len(AGGREGATE_CHOICES) - 2
    assert session.forward_count == 1


def test_aggregate_titles_and_rows_come_from_the_named_aggregates(session):
    result = session.result
    frame = session.frame(Controls(layer=2, source=4, aggregate="mean"))
    row = AGGREGATES["mean"].matrix(result, 2)[4]
    assert f"<td>{int(np.argmax(row))}</td>" in frame.table.split("<tbody>")[1].split("</tr>")[0]
    matrix, title = session._matrix(result, Controls(layer=2, source=4, aggregate="rollout"))
    np.testing.assert_allclose(matrix, attnviz.rollout(result, 2))
    assert title == f"Rollout de las capas 0 a 2 · atención desde «{result.tokens[4]}» (token 4)"


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
    from attnviz.session import previous_share

    from .helpers import synthetic_result

    for result in (minilm_result, attnviz.to_words(minilm_result), synthetic_result(9, causal=True)):
        np.testing.assert_allclose(previous_share(result), attnviz.head_metrics(result).previous, atol=1e-12)


def test_the_suggested_view_is_a_pure_previous_token_head_when_there_is_one():
    from attnviz.session import suggest_view

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


def test_options_reach_only_the_functions_that_take_them():
    from attnviz.session import call_supported

    def view(result, *, scale="head", fontsize=None):
        return result, scale, fontsize

    assert call_supported(view, 1, scale="row", fontsize=None, syntax=object()) == (1, "row", None)


def test_messages_name_the_control_of_each_front_end():
    from attnviz.session import explorer_wording

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
