"""Issue 23's pictures: the prediction bars, the importance grid and the attention grid beside it.

Hand-made predictions and grids (no model), so that every number the artists carry is known.
"""

from __future__ import annotations

import dataclasses
import math

import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.text import Text

import attnviz
from attnviz.core.agreement import compare_heads, strongest_target, word_attention
from attnviz.core.importance import HeadImportance
from attnviz.core.prediction import NextTokenPrediction, Prediction
from attnviz.plots import style
from attnviz.plots.importance import agreement_text, importance_top
from attnviz.plots.prediction import HIGHLIGHT, VECTOR_CHANGE_LABEL, format_probability
from attnviz.plots.views import EXPLORER_VIEWS, VIEWS

from .helpers import make_result
from .view_checks import glyph_warnings, outside_after_first_draw

TEXT = "Los perros que persiguieron al gato cruzaron la calle."
COOLWARM = plt.get_cmap("coolwarm")


def _prediction(top, probability, pieces=("cruzaron",), heads_off=(), word="cruzaron"):
    return Prediction(
        text=TEXT,
        word=word,
        word_index=7,
        pieces=tuple(pieces),
        top=tuple(top),
        probability=probability,
        log_probability=math.log(probability),
        piece_probabilities=(probability,),
        heads_off=tuple(heads_off),
    )


BEFORE = _prediction(
    [("cruzaron", 0.62), ("cruzaban", 0.11), ("atravesaron", 0.08), ("cruzó", 0.05), ("recorrieron", 0.03)],
    0.62,
)
AFTER = _prediction(
    [("cruzó", 0.41), ("cruzaron", 0.22), ("atravesó", 0.09), ("cruza", 0.05), ("recorrió", 0.02)],
    0.22,
    heads_off=[(8, 3), (9, 1)],
)


def _by_gid(ax, prefix):
    found = [a for a in ax.get_children() if (a.get_gid() or "").startswith(prefix)]
    return sorted(found, key=lambda a: int(a.get_gid().rsplit("-", 1)[1]))


def _bars(ax):
    bars = [p for p in ax.patches if (p.get_gid() or "").startswith(("bar-", "word-"))]
    return sorted(bars, key=lambda p: int(p.get_gid().rsplit("-", 1)[1]))


def _texts(figure):
    return [t.get_text() for t in figure.findobj(Text) if t.get_visible() and t.get_text()]


# --- plot_prediction -----------------------------------------------------------------------------


def test_the_bars_carry_the_probabilities_and_the_word_is_highlighted():
    ax = attnviz.plot_prediction(BEFORE, AFTER)
    bars = _bars(ax)
    expected = [p for _, p in BEFORE.top] + [p for _, p in AFTER.top]
    assert [b.get_width() for b in bars] == pytest.approx(expected)
    # Each bar says its probability.
    assert [t.get_text() for t in _by_gid(ax, "value-")] == [format_probability(p) for p in expected]
    # «cruzaron» is among the guesses both times: its bar, not an extra one, is highlighted.
    words = [b for b in bars if b.get_gid().startswith("word-")]
    assert [b.get_width() for b in words] == [0.62, 0.22]
    assert all(b.get_facecolor()[:3] == pytest.approx(plt.matplotlib.colors.to_rgb(HIGHLIGHT)) for b in words)
    labels = [t.get_text() for t in ax.get_yticklabels() if t.get_text()]
    assert labels == [t for t, _ in BEFORE.top] + [t for t, _ in AFTER.top]
    bold = [t.get_text() for t in ax.get_yticklabels() if t.get_fontweight() == "bold"]
    assert bold == ["cruzaron", "cruzaron"]
    headings = [t.get_text() for t in _by_gid(ax, "group-")]
    assert headings == ["Con todas las cabezas:", "Con 8:3, 9:1 apagadas:"]
    assert ax.get_title() == (
        "¿Qué palabra va en lugar de «cruzaron»?\nP(«cruzaron») = 0.62 → 0.22 con 8:3, 9:1 apagadas"
    )
    assert ax.get_xlabel() == "probabilidad"
    plt.close(ax.figure)


def test_a_word_of_several_pieces_gets_its_own_bar_and_the_note_says_how():
    pieces = _prediction(
        [("persigui", 0.3), ("siguie", 0.2), ("vi", 0.1), ("mordi", 0.05), ("ataca", 0.01)],
        0.012,
        pieces=("persigui", "##eron"),
        word="persiguieron",
    )
    ax = attnviz.plot_prediction(pieces)
    bars = _bars(ax)
    assert [b.get_width() for b in bars] == pytest.approx([0.3, 0.2, 0.1, 0.05, 0.01, 0.012])
    # The first piece's guess and the whole word's own bar are highlighted.
    assert [b.get_gid().split("-")[0] for b in bars] == ["word", "bar", "bar", "bar", "bar", "word"]
    assert ax.get_yticklabels()[-1].get_text() == "«persiguieron» (la tapada, 2 piezas)"
    notes = next(t for t in ax.texts if t.get_gid() == "notes").get_text().replace("\n", " · ")
    assert "producto de la de cada pieza" in notes and "primera pieza" in notes
    assert not _by_gid(ax, "group-")  # one prediction: no headings
    assert ax.get_title().endswith("P(«persiguieron») = 0.012")
    plt.close(ax.figure)


def test_results_are_accepted_and_a_whole_layer_reads_as_one(beto_result):
    layer_off = dataclasses.replace(AFTER, heads_off=tuple((3, h) for h in range(12)))
    before = dataclasses.replace(beto_result, prediction=BEFORE)
    after = dataclasses.replace(beto_result, prediction=layer_off, heads_off=layer_off.heads_off)
    ax = attnviz.plot_prediction(before, after)
    assert [t.get_text() for t in _by_gid(ax, "group-")][1] == "Con 3:* apagadas:"
    assert ax.get_title().endswith("0.62 → 0.22 con 3:* apagadas")
    plt.close(ax.figure)


def test_gpt2_s_next_token_plays_the_masked_word_s_part():
    following = NextTokenPrediction("The dog that chased the", ((" cat", 0.4), (" dog", 0.2)))
    ax = attnviz.plot_prediction(following)
    assert [b.get_width() for b in _bars(ax)] == pytest.approx([0.4, 0.2])
    assert ax.get_title() == "¿Qué token sigue a «The dog that chased the»?"
    plt.close(ax.figure)


def test_bad_input_to_plot_prediction_is_one_spanish_sentence(beto_result):
    with pytest.raises(attnviz.InvalidInputTypeError, match="Este resultado no tiene predicción"):
        attnviz.plot_prediction(beto_result)
    with pytest.raises(attnviz.InvalidInputTypeError, match="plot_prediction dibuja lo que devuelven"):
        attnviz.plot_prediction("cruzaron")
    other_word = dataclasses.replace(AFTER, word="perros")
    with pytest.raises(attnviz.InvalidInputTypeError, match="misma palabra tapada"):
        attnviz.plot_prediction(BEFORE, other_word)
    assert plt.get_fignums() == []


def test_the_vector_change_picture_for_a_model_without_the_head():
    ax = attnviz.plot_vector_change({"3:5": 0.0123, "capa 2": 0.104})
    bars = _by_gid(ax, "change-")
    assert [b.get_width() for b in bars] == [0.0123, 0.104]
    assert [t.get_text() for t in _by_gid(ax, "value-")] == ["0.0123", "0.1040"]
    assert ax.get_xlabel() == VECTOR_CHANGE_LABEL == "cuánto cambia el vector de la frase (1 − coseno)"
    assert [t.get_text() for t in ax.get_yticklabels()] == ["3:5", "capa 2"]
    plt.close(ax.figure)
    ax = attnviz.plot_vector_change(0.5)
    assert [t.get_text() for t in ax.get_yticklabels()] == ["cabezas apagadas"]
    plt.close(ax.figure)
    with pytest.raises(attnviz.InvalidInputTypeError, match="No hay ningún cambio que dibujar"):
        attnviz.plot_vector_change({})


# --- the importance grid and the attention grid ----------------------------------------------------


def _importance(values, kind="log_probability"):
    values = np.asarray(values, dtype=np.float64)
    measure = "caída de log-probabilidad de «cruzaron»" if kind == "log_probability" else "cambio"
    return HeadImportance(values, measure, kind, TEXT, "cruzaron", -1.0)


def _image(ax, gid):
    return next(image for image in ax.get_images() if image.get_gid() == gid)


def test_the_importance_grid_is_centred_at_zero_with_its_numbers():
    values = np.array([[0.3, -1.1, 0.0], [0.05, 0.9, -0.2]])
    ax = attnviz.plot_importance(_importance(values))
    image = _image(ax, "importance")
    np.testing.assert_array_equal(image.get_array(), values)
    top = importance_top(values)
    assert top == 1.25 and (image.norm.vmin, image.norm.vmax) == (-top, top)
    assert image.cmap.name == "coolwarm"
    # 0 (no change) is the colour map's middle.
    assert image.to_rgba(0.0) == pytest.approx(COOLWARM(0.5))
    assert ax.get_xlabel() == "cabeza" and ax.get_ylabel() == "capa"
    assert [t.get_text() for t in ax.get_xticklabels()] == ["0", "1", "2"]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["0", "1"]
    numbers = {t.get_gid(): t for t in ax.texts if "-value-" in (t.get_gid() or "")}
    assert numbers["importance-value-0-1"].get_text() == "-1.10" and len(numbers) == 6
    assert numbers["importance-value-0-2"].get_text() == "0.00"
    for (layer, head), value in np.ndenumerate(values):
        text = numbers[f"importance-value-{layer}-{head}"]
        assert text.get_color() == style.text_color_on(image.to_rgba(value))
    bar = image.colorbar
    assert bar.ax.get_xlabel() == "caída de log-probabilidad de «cruzaron» · escala −1.2 – 1.2 (0: no cambia)"
    assert ax.get_title() == "¿Qué cabezas importan?"
    plt.close(ax.figure)


def test_numbers_that_do_not_fit_are_left_out_and_said(tmp_path):
    fig, ax = plt.subplots(figsize=(3, 3))
    attnviz.plot_importance(_importance(np.random.default_rng(0).normal(size=(12, 12))), ax)
    assert not [t for t in ax.texts if "-value-" in (t.get_gid() or "")]
    notes = next(t for t in ax.texts if t.get_gid() == "notes").get_text()
    assert "números omitidos" in notes
    plt.close(fig)


def test_the_attention_grid_is_word_to_word_attention(beto_result):
    ax = attnviz.plot_attention_to_word(beto_result, "perro", "persiguió")
    words = attnviz.to_words(beto_result)
    expected = words.attention[:, :, words.words.index("persiguió"), words.words.index("perro")]
    np.testing.assert_allclose(_image(ax, "attention").get_array(), expected, rtol=1e-6)
    assert ax.get_title() == "Atención de «persiguió» a «perro»"
    assert ax.get_xlabel() == "cabeza" and ax.get_ylabel() == "capa"
    top = style.colour_scale_max(expected)
    assert _image(ax, "attention").norm.vmax == top
    assert _image(ax, "attention").colorbar.ax.get_xlabel() == style.colorbar_label(vmax=top)
    plt.close(ax.figure)
    # Token indices read the result's own cells.
    ax = attnviz.plot_attention_to_word(beto_result, 2, 4, measure="contribucion")
    carried = attnviz.with_measure(beto_result, "contribucion")
    np.testing.assert_allclose(_image(ax, "attention").get_array(), carried.attention[:, :, 4, 2], rtol=1e-6)
    assert ax.get_title().endswith("· contribución")
    plt.close(ax.figure)


def test_the_masked_word_is_the_default_source(beto_result):
    # «persiguió» is word 4 (pieces 4 and 5), as if extract(..., mask="persiguió") had run.
    masked = dataclasses.replace(
        beto_result, prediction=dataclasses.replace(BEFORE, word="persiguió", word_index=4)
    )
    looked = word_attention(masked, "perro")
    assert (looked.source_index, looked.target_index, looked.level) == (4, 2, "word")
    assert looked.hidden == "persiguió"
    np.testing.assert_allclose(looked.values, word_attention(beto_result, "perro", "persiguió").values)
    ax = attnviz.plot_attention_to_word(masked, "perro")
    assert ax.get_title() == "Atención de «persiguió» (tapada) a «perro»"
    plt.close(ax.figure)
    with pytest.raises(attnviz.InvalidInputTypeError, match="Di desde qué palabra se mira"):
        word_attention(beto_result, "perro")
    with pytest.raises(attnviz.InvalidTextError, match="«perros» no está en la frase"):
        word_attention(beto_result, "perros", "gato")


def test_compare_heads_names_where_the_grids_agree_and_disagree():
    importance = np.array([[0.0, 1.0], [0.5, -0.3]])
    attention = np.array([[0.0, 0.9], [0.0, 1.0]])
    agreement = compare_heads(importance, attention)
    assert agreement.most_important == (0, 1) and agreement.most_attending == (1, 1)
    assert not agreement.same_head
    # Shares of each grid's largest value: (0, 1) is 1 and 0.9; (1, 1) is 0 (helps when off) and 1.
    assert agreement.agree == (0, 1)
    assert agreement.disagree == (1, 1) and agreement.disagree_kind == "mira"
    ranks_i, ranks_a = np.array([1, 3, 2, 0]), np.array([0.5, 2, 0.5, 3])
    expected = np.corrcoef(ranks_i, ranks_a)[0, 1]
    assert agreement.spearman == pytest.approx(expected)
    assert compare_heads(attention * 0 + np.array([[0, 0], [1, 0]]), attention).disagree_kind == "importa"
    with pytest.raises(attnviz.InvalidInputTypeError, match="mismo modelo"):
        compare_heads(importance, np.ones((3, 2)))


@pytest.mark.slow  # 2-3 s: `make test` runs it, the developer loop does not
def test_importance_and_attention_side_by_side_name_the_heads(beto_result):
    rng = np.random.default_rng(3)
    importance = _importance(rng.normal(size=(12, 12)))
    left, right = attnviz.plot_importance_and_attention(importance, beto_result, "perro", "persiguió")
    agreement = compare_heads(importance, word_attention(beto_result, "perro", "persiguió"))
    for ax in (left, right):
        frames = {p.get_gid(): p for p in ax.patches if p.get_gid() in ("agree", "disagree")}
        assert frames["agree"].get_xy() == (agreement.agree[1] - 0.5, agreement.agree[0] - 0.5)
        assert frames["disagree"].get_xy() == (agreement.disagree[1] - 0.5, agreement.disagree[0] - 0.5)
        assert frames["disagree"].get_linestyle() == "--"
    figure = left.figure
    findings = next(t for t in figure.texts if t.get_gid() == "agreement").get_text()
    assert findings.startswith(agreement_text(agreement))
    assert "La que más mira: capa" in findings and "Spearman" in findings
    assert figure._suptitle.get_text() == "¿La cabeza que más mira a «perro» es la que más importa?"
    assert outside_after_first_draw(figure, figure.findobj(Text)) == []
    assert glyph_warnings(figure) == []
    plt.close(figure)


@pytest.mark.parametrize("suffix,magic", [(".png", b"\x89PNG"), (".svg", b"<?xml"), (".pdf", b"%PDF")])
def test_the_pictures_save_in_every_format(beto_result, tmp_path, suffix, magic):
    pictures = {
        "prediccion": attnviz.plot_prediction(BEFORE, AFTER).figure,
        "vector": attnviz.plot_vector_change({"3:5": 0.01}).figure,
        "importancia": attnviz.plot_importance(_importance(np.eye(12))).figure,
        "atencion": attnviz.plot_attention_to_word(beto_result, "perro", "persiguió").figure,
    }
    for name, figure in pictures.items():
        path = tmp_path / f"{name}{suffix}"
        figure.savefig(path)
        assert path.read_bytes().startswith(magic)
        plt.close(figure)


@pytest.mark.parametrize("picture", ["prediction", "vector", "importance", "attention", "both"])
def test_the_projector_size_reaches_every_picture_and_nothing_is_cut(beto_result, picture):
    size = style.CLASSROOM_FONTSIZE
    drawn = {
        "prediction": lambda: attnviz.plot_prediction(BEFORE, AFTER, fontsize=size).figure,
        "vector": lambda: attnviz.plot_vector_change({"3:5": 0.01}, fontsize=size).figure,
        "importance": lambda: attnviz.plot_importance(_importance(np.eye(12)), fontsize=size).figure,
        "attention": lambda: (
            attnviz.plot_attention_to_word(beto_result, "perro", "persiguió", fontsize=size).figure
        ),
        "both": lambda: (
            attnviz.plot_importance_and_attention(
                _importance(np.eye(12)), beto_result, "perro", "persiguió", fontsize=size
            )[0].figure
        ),
    }[picture]
    figure = drawn()
    sizes = {round(t.get_fontsize(), 1) for t in figure.findobj(Text) if t.get_text()}
    assert size in sizes and min(sizes) >= style.font_sizes(size)["notes"] - 0.01
    assert outside_after_first_draw(figure, figure.findobj(Text)) == []
    plt.close(figure)


# --- the views table's new row --------------------------------------------------------------------


def test_the_to_word_view_is_in_the_table_not_in_the_explorer(beto_result):
    view = VIEWS["to_word"]
    assert not view.in_explorer and "to_word" not in EXPLORER_VIEWS
    assert view.options == {"fontsize", "measure", "target"}
    ax = view.draw(beto_result, 3, 5, 4, fontsize=14, scale="row")  # scale is not its option: dropped
    target = strongest_target(beto_result, 4)
    expected = beto_result.attention[:, :, 4, target]
    np.testing.assert_allclose(_image(ax, "attention").get_array(), expected, rtol=1e-6)
    plt.close(ax.figure)
    ax = view.draw(beto_result, 3, 5, 4, target=2)
    np.testing.assert_allclose(
        _image(ax, "attention").get_array(), beto_result.attention[:, :, 4, 2], rtol=1e-6
    )
    plt.close(ax.figure)


def test_strongest_target_leaves_out_itself_and_the_special_tokens():
    attention = np.zeros((2, 2, 4, 4))
    attention[..., 1, :] = [0.5, 0.3, 0.05, 0.15]  # [CLS] most, itself next, then token 3
    result = make_result(attention, ("[CLS]", "a", "b", "[SEP]"), (True, False, False, True))
    assert strongest_target(result, 1) == 2
    alone = make_result(np.full((1, 1, 3, 3), 1 / 3), ("[CLS]", "a", "[SEP]"), (True, False, True))
    assert strongest_target(alone, 1) == 0  # nothing else left: the strongest of all
