"""The explorer's logic without widgets: controls in, picture, table and metrics line out."""

from __future__ import annotations

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
            frame = session.frame(Controls(layer=2, head=3, source=4, view=view, aggregate=aggregate))
            assert frame.picture[:8] == b"\x89PNG\r\n\x1a\n"
            assert "Capa 2, cabeza 3" in frame.metrics
            assert f"«{result.tokens[4]}» (token 4)" in frame.table
            pictures.add(frame.picture)
    # The grid looks the same for every aggregate: 3 views x 3 aggregates - 2 repeated grids.
    assert len(pictures) == 7
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
