"""Comparing sentences: words found by name, every panel on one colour scale."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pytest

import attnviz
from attnviz.core.aggregate import head_mean
from attnviz.plots import style
from attnviz.plots.compare import WordNotFoundError, find_word, plot_compare, plot_compare_layers

from .view_checks import outside_after_first_draw

PARK = "Me senté en el banco del parque."
MONEY = "Saqué dinero del banco ayer."


@pytest.fixture(scope="module")
def banks(beto):
    model, tokenizer = beto
    return [attnviz.extract(model, tokenizer, text) for text in (PARK, MONEY)]


def _norms(axes) -> list[float]:
    tops = []
    for ax in axes:
        tops += [im.norm.vmax for im in ax.images]
        tops += [c.norm.vmax for c in ax.collections if c.get_gid() == "boxes"]
    return tops


def _colorbar_label(axes) -> str:
    (bar,) = [a for a in axes[0].figure.axes if a.get_label() == "colorbar"]
    return bar.get_xlabel()


def test_find_word_at_token_and_word_level(banks):
    park, money = banks
    i = find_word(park, "banco")
    assert park.tokens[i] == "banco" and park.word_ids[i] == park.words.index("banco")
    words = attnviz.to_words(money)
    assert words.tokens[find_word(words, "Banco")] == "banco"  # case does not matter
    assert words.tokens[find_word(words, "saque")] == "Saqué"  # accents only if nothing matches with them
    # A word cut into pieces: its first piece.
    j = find_word(money, "Saqué")
    assert money.word_ids[j] == 1 and (j == 0 or money.word_ids[j - 1] != 1)


def test_a_missing_word_is_one_spanish_sentence_listing_the_words(banks):
    with pytest.raises(WordNotFoundError) as info:
        find_word(banks[0], "dinero")
    message = info.value.message_es
    assert message.startswith("La palabra «dinero» no está en «Me senté en el banco del parque.».")
    assert "«banco»" in message and "«parque»" in message and "[CLS]" not in message
    assert isinstance(info.value, attnviz.AttnvizError)
    with pytest.raises(WordNotFoundError, match="aparece 1 vez"):
        find_word(banks[0], "banco", occurrence=1)


def test_heatmaps_side_by_side_share_one_scale(banks):
    words = [attnviz.to_words(r) for r in banks]
    axes = plot_compare(banks, 3, 5, source="banco", words=True)
    assert len(axes) == 2
    expected = max(style.scale_top(w.attention[3, 5], None, "head") for w in words)
    assert _norms(axes) == [pytest.approx(expected)] * 2
    for ax, w in zip(axes, words, strict=True):
        np.testing.assert_allclose(np.ma.getdata(ax.images[0].get_array()), w.attention[3, 5], rtol=1e-6)
        (frame,) = [p for p in ax.patches if p.get_gid() == "source"]
        assert frame.get_y() + 0.5 == w.tokens.index("banco")
    assert _colorbar_label(axes) == "peso de atención · escala común: 0 – máximo de todos los paneles"
    assert "«Me senté en el banco del parque.»" in axes[0].get_title()
    assert "desde «banco»" in axes[1].get_title()


def test_texts_of_the_head_mean_share_one_scale(banks):
    axes = plot_compare(banks, 2, None, source="banco", kind="text", scale="row")
    rows = [head_mean(r, 2)[find_word(r, "banco")] for r in banks]
    assert _norms(axes) == [pytest.approx(max(style.colour_scale_max(r) for r in rows))] * 2
    for ax, row in zip(axes, rows, strict=True):
        (boxes,) = [c for c in ax.collections if c.get_gid() == "boxes"]
        np.testing.assert_allclose(boxes.get_array(), row, rtol=1e-6)
        assert "media de las cabezas" in ax.get_title(loc="left")
    assert "máximo de las filas comparadas" in _colorbar_label(axes)
    with pytest.raises(ValueError):
        plot_compare(banks, 2, None, kind="text")


def test_given_axes_and_absolute_scale(banks):
    _figure, grid = plt.subplots(1, 2)
    axes = plot_compare(banks, 0, 0, ax=grid, scale="absolute", fontsize=style.CLASSROOM_FONTSIZE)
    assert list(axes) == list(grid)
    assert _norms(axes) == [1.0, 1.0]
    assert axes[0].title.get_fontsize() == style.font_sizes(style.CLASSROOM_FONTSIZE)["title"]
    with pytest.raises(ValueError, match="one Axes per result"):
        plot_compare(banks, 0, 0, ax=grid[:1])
    with pytest.raises(WordNotFoundError):
        plot_compare(banks, 0, 0, source=["banco", "parque"])
    # Indices work too, one per sentence; a word and an index can mix.
    axes = plot_compare(banks, 0, 0, source=[find_word(banks[0], "banco"), "banco"])
    assert [p.get_y() + 0.5 for ax in axes for p in ax.patches if p.get_gid() == "source"] == [
        find_word(r, "banco") for r in banks
    ]


def test_layer_by_layer_on_one_scale(banks):
    axes = plot_compare_layers(banks, "banco", words=True)
    words = [attnviz.to_words(r) for r in banks]
    tops = []
    for ax, w in zip(axes, words, strict=True):
        source = w.tokens.index("banco")
        expected = w.attention[:, :, source, :].astype(np.float64).mean(axis=1)
        (image,) = ax.images
        np.testing.assert_allclose(np.ma.getdata(image.get_array()), expected, rtol=1e-6)
        assert [t.get_text() for t in ax.get_yticklabels()] == [f"capa {i}" for i in range(12)]
        tops.append(float(expected.max()))
    assert _norms(axes) == [pytest.approx(style.colour_scale_max(np.array(tops)))] * 2


def test_layer_by_layer_can_leave_special_tokens_out_of_the_scale(banks):
    axes = plot_compare_layers(banks, "banco", head=4, words=True, layers=[0, 5, 11], hide_special=True)
    tops = []
    for ax, result in zip(axes, banks, strict=True):
        w = attnviz.to_words(result)
        data = ax.images[0].get_array()
        special = np.array(w.special)
        assert np.ma.getmaskarray(data)[:, special].all() and not np.ma.getmaskarray(data)[:, ~special].any()
        source = w.tokens.index("banco")
        tops.append(float(w.attention[[0, 5, 11], 4, source][:, ~special].max()))
        assert "[CLS] y [SEP] rayados" in ax.get_title()
    assert _norms(axes) == [pytest.approx(style.colour_scale_max(np.array(tops)))] * 2


def test_first_draw_keeps_every_title_and_the_colour_bar_inside(banks):
    for axes in (
        plot_compare(banks, 1, 1, source="banco", fontsize=style.CLASSROOM_FONTSIZE),
        plot_compare_layers(banks, "banco", words=True, fontsize=style.CLASSROOM_FONTSIZE),
    ):
        (bar,) = [a for a in axes[0].figure.axes if a.get_label() == "colorbar"]
        texts = [t for ax in axes for t in (ax.title, *ax.get_xticklabels())] + [bar.xaxis.label]
        assert not outside_after_first_draw(axes[0].figure, texts)
