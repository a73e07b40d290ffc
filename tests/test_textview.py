"""Highlighted text: each token's box carries the weight it receives, laid out readably at any length."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pytest

from attnviz.core.errors import IndexOutOfRangeError
from attnviz.plots import style
from attnviz.plots.labels import ELLIPSIS, PLACEHOLDER
from attnviz.plots.textview import (
    MAX_TOKEN_CHARS,
    PIECE_GAP_PT,
    WORD_GAP_EM,
    layout_text,
    plot_text,
    text_axes,
)

from .helpers import make_result, random_attention
from .view_checks import drawn_extents, glyph_warnings, long_result, outside_after_first_draw, overlapping

COOLWARM = plt.get_cmap("coolwarm")


def _boxes(ax):
    (boxes,) = [c for c in ax.collections if c.get_gid() == "boxes"]
    return boxes


def _tokens(ax):
    texts = {t.get_gid(): t for t in ax.texts if (t.get_gid() or "").startswith("token-")}
    return [texts[f"token-{i}"] for i in range(len(texts))]


def test_box_colours_are_the_weights_from_the_source(beto_result):
    ax = plot_text(beto_result, 3, 5, 2)
    ax.figure.canvas.draw()  # collections map their array to colours when drawn
    row = beto_result.attention[3, 5, 2].astype(np.float64)
    boxes = _boxes(ax)
    np.testing.assert_allclose(boxes.get_array(), row, rtol=1e-6)
    assert boxes.norm.vmax == pytest.approx(style.scale_top(beto_result.attention[3, 5], 2, "head"))
    np.testing.assert_allclose(boxes.get_facecolors(), COOLWARM(row / boxes.norm.vmax), atol=1 / 255)
    # Each word's text contrasts with its box.
    for text, colour in zip(_tokens(ax), boxes.get_facecolors(), strict=True):
        assert text.get_color() == style.text_color_on(tuple(colour))
    assert [t.get_text() for t in _tokens(ax)][:3] == ["[CLS]", "El", "perro"]
    assert _tokens(ax)[2].get_fontweight() == "bold"
    assert ax.get_title(loc="left") == "Capa 3 · cabeza 5 · atención desde «perro» (token 2)"
    bar = next(a for a in ax.figure.axes if a is not ax)
    assert bar.get_xlabel() == "peso de atención · escala 0 – máximo de esta cabeza"


@pytest.mark.parametrize(("scale", "top"), [("absolute", 1.0), ("row", "row")])
def test_scales(beto_result, scale, top):
    ax = plot_text(beto_result, 0, 1, 4, scale=scale)
    expected = style.scale_top(beto_result.attention[0, 1], 4, "row") if top == "row" else top
    assert _boxes(ax).norm.vmax == pytest.approx(expected)
    bar = next(a for a in ax.figure.axes if a is not ax)
    assert style.SCALE_LABELS[scale] in bar.get_xlabel()


def test_the_source_is_framed_around_its_own_box(beto_result):
    ax = plot_text(beto_result, 0, 0, 4)
    ax.figure.canvas.draw()
    (frame,) = [p for p in ax.patches if p.get_gid() == "source"]
    box = _boxes(ax).get_paths()[4].get_extents(_boxes(ax).get_transform())
    outline = frame.get_window_extent()
    assert outline.x0 < box.x0 and outline.x1 > box.x1 and outline.y0 < box.y0 and outline.y1 > box.y1
    assert frame.get_edgecolor()[:3] == (0.0, 0.0, 0.0)


@pytest.mark.parametrize("n", [14, 300, 512])
@pytest.mark.parametrize("fontsize", [None, style.CLASSROOM_FONTSIZE])
def test_long_texts_wrap_into_readable_lines(n, fontsize):
    result = long_result(n, layers=1, heads=1)
    ax = plot_text(result, 0, 0, n // 2, fontsize=fontsize)
    figure = ax.figure
    texts = _tokens(ax)
    assert len(texts) == n and {t.get_fontsize() for t in texts} == {fontsize or style.FONTSIZE}
    boxes = drawn_extents(figure, texts)
    assert not overlapping(boxes)
    inside = figure.bbox
    assert all(
        b.x0 >= inside.x0 and b.x1 <= inside.x1 and b.y0 >= inside.y0 and b.y1 <= inside.y1 for b in boxes
    )
    # Every text sits inside its own coloured box.
    transform = _boxes(ax).get_transform()
    for text, path in zip(boxes, _boxes(ax).get_paths(), strict=True):
        cell = path.get_extents(transform)
        assert cell.x0 - 0.5 <= text.x0 and text.x1 <= cell.x1 + 0.5
    width, _ = figure.get_size_inches()
    assert width == 10.0  # a page, not a 40-inch strip


def test_pieces_of_a_word_sit_together_and_words_apart():
    result = long_result(12, layers=1, heads=1)
    assert result.tokens[4:6] == ("persig", "##uió")
    layout = layout_text(result, 10_000.0, 10.0)
    gap_inside = layout.x[5] - (layout.x[4] + layout.width[4])
    gap_between = layout.x[6] - (layout.x[5] + layout.width[5])
    assert gap_inside == pytest.approx(PIECE_GAP_PT)
    assert gap_between == pytest.approx(WORD_GAP_EM * 10.0)
    assert layout.texts[5] == "uió"  # no "##" inside a word
    assert layout.lines == 1


def test_a_word_moves_to_the_next_line_whole():
    result = long_result(40, layers=1, heads=1)
    layout = layout_text(result, 150.0, 10.0)
    assert layout.lines > 3
    pieces = [i for i, t in enumerate(result.tokens) if t.startswith("##")]
    for i in pieces:
        assert layout.y[i] == layout.y[i - 1]
    assert (layout.x + layout.width <= 150.0 + 1e-9).all()


def test_causal_future_is_hatched_and_not_coloured():
    att = np.tril(random_attention(np.random.default_rng(3), (1, 1, 6, 6)))
    att /= att.sum(-1, keepdims=True)
    result = make_result(att, causal=True)
    ax = plot_text(result, 0, 0, 2)
    (masked,) = [c for c in ax.collections if c.get_gid() == "masked"]
    assert len(masked.get_paths()) == 3 and masked.get_hatch() == "////"
    np.testing.assert_allclose(_boxes(ax).get_array(), att[0, 0, 2, :3], rtol=1e-6)
    (notes,) = [t for t in ax.texts if t.get_gid() == "notes"]
    assert "rayado: futuro enmascarado" in notes.get_text()


def test_emoji_and_a_huge_word_without_glyph_warnings():
    result = long_result(8, layers=1, heads=1, extra=["🦄", "x" * 10_000, "$5"])
    ax = plot_text(result, 0, 0, 2)
    assert not glyph_warnings(ax.figure)
    texts = [t.get_text() for t in _tokens(ax)]
    assert texts[1] == PLACEHOLDER
    assert len(texts[2]) == MAX_TOKEN_CHARS and texts[2].endswith(ELLIPSIS)
    assert texts[3] == "$5"
    assert "«xxxx" in ax.get_title(loc="left") and ELLIPSIS in ax.get_title(loc="left")


def test_in_given_axes_it_wraps_at_their_width_and_saves(beto_result, tmp_path):
    figure, (_top, bottom) = plt.subplots(2, 1, figsize=(4, 5))
    assert plot_text(beto_result, 1, 1, 1, ax=bottom) is bottom
    ax_width = bottom.get_window_extent().width
    boxes = drawn_extents(figure, _tokens(bottom))
    assert max(b.x1 for b in boxes) - min(b.x0 for b in boxes) <= ax_width + 1
    figure.savefig(tmp_path / "texto.png")
    assert (tmp_path / "texto.png").stat().st_size > 1000
    with pytest.raises(IndexOutOfRangeError):
        plot_text(beto_result, 0, 0, 99)


def test_a_figure_outside_pyplot_for_the_explorer_fits_everything(beto_result):
    before = plt.get_fignums()
    ax = text_axes(beto_result, 2, fontsize=style.CLASSROOM_FONTSIZE, pyplot=False)
    assert plt.get_fignums() == before  # nothing a notebook would show twice
    assert plot_text(beto_result, 3, 5, 2, ax, fontsize=style.CLASSROOM_FONTSIZE) is ax
    bar = next(a for a in ax.figure.axes if a is not ax)
    texts = [ax.title, *ax.texts, bar.xaxis.label, *bar.get_xticklabels()]
    assert not outside_after_first_draw(ax.figure, texts)
    # The colour bar sits under the notes, not on them.
    (notes,) = [t for t in ax.texts if t.get_gid() == "notes"]
    assert notes.get_window_extent().y0 > bar.get_window_extent().y1
