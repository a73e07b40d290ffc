"""Heatmap, all-heads grid and layer profile: their artists carry the right data, measured."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.patches import Rectangle

import attnviz
from attnviz.core.aggregate import rollout, segment_mask
from attnviz.core.metrics import METRIC_NAMES, head_metrics, layer_profile
from attnviz.plots import style
from attnviz.plots.grid import MAX_THUMBNAIL, gap_size, shrink, thumbnail_origin, thumbnail_size, tile
from attnviz.plots.heatmap import MASKED_HATCH
from attnviz.plots.labels import ELLIPSIS, MAX_LABEL_CHARS, PLACEHOLDER, SOURCE_MARK

from .helpers import make_result, random_attention
from .view_checks import (
    drawn_extents,
    glyph_warnings,
    long_result,
    outside_after_first_draw,
    overlapping,
    tick_texts,
)

COOLWARM = plt.get_cmap("coolwarm")


def _image(ax, gid):
    (image,) = [im for im in ax.images if im.get_gid() == gid]
    return image


def _notes(ax) -> str:
    (notes,) = [t for t in ax.texts if t.get_gid() == "notes"]
    return notes.get_text().replace("\n", " · ")


def _colorbar(ax):
    return _image(ax, "heatmap").colorbar


def test_heatmap_shows_one_head_with_spanish_labels_and_colorbar(beto_result):
    ax = attnviz.plot_heatmap(beto_result, 3, 5)
    data = _image(ax, "heatmap").get_array()
    np.testing.assert_allclose(np.ma.getdata(data), beto_result.attention[3, 5], rtol=1e-6)
    assert not np.ma.getmaskarray(data).any()
    tokens = list(beto_result.tokens)
    assert [t.get_text() for t in ax.get_xticklabels()] == tokens
    assert [t.get_text() for t in ax.get_yticklabels()] == tokens
    # Spanish only: no "(from)" / "(to)" left.
    assert ax.get_xlabel() == "hacia (token que recibe la atención)"
    assert ax.get_ylabel() == "desde (token que atiende)"
    assert ax.get_title() == "Capa 3 · cabeza 5"
    assert "Índices desde 0" in _notes(ax)
    assert len(ax.figure.axes) == 2  # the heatmap and its colour bar
    assert _colorbar(ax).ax.get_ylabel() == "peso de atención · escala 0 – máximo de esta cabeza"
    assert not [t for t in ax.texts if t.get_gid() and t.get_gid().startswith("value-")]


@pytest.mark.parametrize("scale", ["head", "absolute", "row"])
def test_heatmap_colours_are_coolwarm_at_the_weights(beto_result, scale):
    ax = attnviz.plot_heatmap(beto_result, 2, 7, scale=scale)
    image = _image(ax, "heatmap")
    weights = beto_result.attention[2, 7].astype(np.float64)
    expected = {
        "head": weights / style.scale_top(weights, None, "head"),
        "absolute": weights,
        "row": weights / style.row_tops(weights)[:, None],
    }[scale]
    np.testing.assert_allclose(image.to_rgba(image.get_array()), COOLWARM(expected), atol=1 / 255)
    # The strongest weight is deep red and a zero weight deep blue, whatever the scale's top.
    assert image.to_rgba(image.norm.vmax)[0] > 0.65 and image.to_rgba(0.0)[2] > 0.7
    assert style.SCALE_LABELS[scale] in _colorbar(ax).ax.get_ylabel()


def test_heatmap_shared_top_is_named_on_the_colour_bar(beto_result):
    ax = attnviz.plot_heatmap(beto_result, 0, 0, vmax=0.5)
    assert _image(ax, "heatmap").norm.vmax == 0.5
    assert _colorbar(ax).ax.get_ylabel() == "peso de atención · escala 0 – 0.5"
    with pytest.raises(attnviz.AttnvizError, match="no existe"):
        attnviz.plot_heatmap(beto_result, 0, 0, scale="fila")  # type: ignore[arg-type]


def test_heatmap_values_in_cells_contrast_with_their_colour(beto_result):
    ax = attnviz.plot_heatmap(beto_result, 0, 0, values=True, colorbar=False)
    n = beto_result.n_tokens
    texts = {t.get_gid(): t for t in ax.texts if t.get_gid() and t.get_gid().startswith("value-")}
    assert len(texts) == n * n
    cell = texts["value-4-5"]
    assert cell.get_text() == f"{beto_result.attention[0, 0, 4, 5]:.2f}"
    assert cell.get_position() == (5, 4)  # x = column ("to"), y = row ("from")
    assert len(ax.figure.axes) == 1
    image = _image(ax, "heatmap")
    for (i, j), text in [((i, j), texts[f"value-{i}-{j}"]) for i in range(n) for j in range(n)]:
        background = image.to_rgba(image.get_array()[i, j])
        assert text.get_color() == style.text_color_on(background)


def test_value_text_is_white_on_both_dark_ends_and_black_in_the_middle():
    matrix = np.array([[1.0, 0.0, 0.0], [0.5, 0.5, 0.0], [0.0, 0.0, 1.0]])
    result = make_result(matrix, ("a", "b", "c"), (False,) * 3)
    ax = attnviz.plot_heatmap(result, 0, 0, values=True, scale="absolute")
    colours = {t.get_gid(): t.get_color() for t in ax.texts if (t.get_gid() or "").startswith("value-")}
    assert colours["value-0-0"] == "white"  # deep red
    assert colours["value-0-1"] == "white"  # deep blue
    assert colours["value-1-0"] == "black"  # the light grey middle


def test_heatmap_draws_a_given_matrix(beto_result):
    matrix = rollout(beto_result)
    ax = attnviz.plot_heatmap(beto_result, None, None, matrix=matrix, title="Rollout")
    np.testing.assert_allclose(np.ma.getdata(_image(ax, "heatmap").get_array()), matrix)
    assert ax.get_title() == "Rollout"
    with pytest.raises(ValueError):
        attnviz.plot_heatmap(beto_result, None, None)
    with pytest.raises(ValueError):
        attnviz.plot_heatmap(beto_result, None, None, matrix=np.eye(3))


def test_heatmap_filters_sentence_pair_blocks():
    att = random_attention(np.random.default_rng(0), (1, 1, 6, 6))
    result = make_result(att, segments=(0, 0, 0, 1, 1, 1))
    ax = attnviz.plot_heatmap(result, 0, 0, segments=["A->B"], values=True)
    data = _image(ax, "heatmap").get_array()
    keep = segment_mask(result, "A->B")
    np.testing.assert_array_equal(~np.ma.getmaskarray(data), keep)
    np.testing.assert_allclose(data[keep], result.attention[0, 0][keep], rtol=1e-6)
    # Only the shown cells get numbers; the hidden ones are transparent over a hatched background.
    assert len([t for t in ax.texts if (t.get_gid() or "").startswith("value-")]) == keep.sum()
    assert "bloques: A->B" in _notes(ax)
    assert _image(ax, "heatmap").cmap.get_bad()[3] == 0.0
    assert ax.patch.get_hatch() == MASKED_HATCH


def test_heatmap_masks_the_causal_future():
    att = np.tril(random_attention(np.random.default_rng(2), (1, 1, 6, 6)))
    att /= att.sum(-1, keepdims=True)
    result = make_result(att, causal=True)
    ax = attnviz.plot_heatmap(result, 0, 0)
    mask = np.ma.getmaskarray(_image(ax, "heatmap").get_array())
    np.testing.assert_array_equal(mask, np.triu(np.ones((6, 6), dtype=bool), k=1))
    assert "rayado: futuro enmascarado" in _notes(ax)


def test_heatmap_in_given_axes_and_saves(beto_result, tmp_path):
    fig, (left, right) = plt.subplots(1, 2)
    assert attnviz.plot_heatmap(beto_result, 1, 1, ax=right) is right
    assert not left.images
    for suffix in ("png", "svg"):
        fig.savefig(tmp_path / f"h.{suffix}")
        assert (tmp_path / f"h.{suffix}").stat().st_size > 1000


def test_heatmap_honours_the_classroom_font_size(beto_result):
    size = style.CLASSROOM_FONTSIZE
    ax = attnviz.plot_heatmap(beto_result, 3, 5, source=2, values=True, fontsize=size)
    sizes = style.font_sizes(size)
    ax.figure.canvas.draw()
    labels = [*tick_texts(ax.xaxis), *tick_texts(ax.yaxis)]
    assert len(labels) == 2 * beto_result.n_tokens
    assert {t.get_fontsize() for t in labels} == {size}
    assert ax.title.get_fontsize() == sizes["title"]
    assert ax.xaxis.label.get_fontsize() == ax.yaxis.label.get_fontsize() == size
    (notes,) = [t for t in ax.texts if t.get_gid() == "notes"]
    assert notes.get_fontsize() == sizes["notes"]
    values = [t for t in ax.texts if (t.get_gid() or "").startswith("value-")]
    assert values and {t.get_fontsize() for t in values} == {sizes["values"]}
    # Each number fits its cell: no two of them touch.
    assert not overlapping(drawn_extents(ax.figure, values[: 3 * beto_result.n_tokens]))
    bar = _colorbar(ax)
    assert bar.ax.yaxis.label.get_fontsize() == sizes["notes"]


@pytest.mark.parametrize("n", [14, 64, 300])
@pytest.mark.parametrize("fontsize", [None, style.CLASSROOM_FONTSIZE])
@pytest.mark.parametrize("source", [None, "middle"])
def test_heatmap_tick_labels_never_overlap(n, fontsize, source):
    result = long_result(n, layers=1, heads=1)
    row = None if source is None else n // 2
    ax = attnviz.plot_heatmap(result, 0, 0, source=row, fontsize=fontsize)
    for axis in (ax.xaxis, ax.yaxis):
        boxes = drawn_extents(ax.figure, tick_texts(axis))
        assert len(boxes) >= min(n, 10)  # thinned, never empty
        assert not overlapping(boxes), f"labels overlap on the {axis.axis_name} axis"
        shown = [round(t) for t in axis.get_ticklocs()]
        steps = set(np.diff(shown).tolist())
        assert len(steps) <= 1  # an even step, so the reader can count
        if row is not None:
            assert row in shown  # the source row keeps its label
    if row is not None:
        marked = [t.get_text() for t in tick_texts(ax.yaxis) if t.get_text().endswith(SOURCE_MARK)]
        assert marked == [result.tokens[row] + SOURCE_MARK]
    assert {t.get_fontsize() for t in tick_texts(ax.xaxis)} == {fontsize or style.FONTSIZE}


def test_heatmap_zooms_on_a_window_around_the_source_at_long_n():
    n = 300
    result = long_result(n, layers=1, heads=1)
    ax = attnviz.plot_heatmap(result, 0, 0, source=150)
    x0, x1 = ax.get_xlim()
    y1, y0 = ax.get_ylim()
    start, stop = round(x0 + 0.5), round(x1 + 0.5)
    assert (start, stop) == (round(y0 + 0.5), round(y1 + 0.5))
    assert 16 <= stop - start < n and start <= 150 < stop
    assert f"ventana: tokens {start}–{stop - 1} de {n}" in _notes(ax)
    # Every token in the window is labelled: that is what the zoom is for.
    assert [round(t) for t in ax.yaxis.get_ticklocs()] == list(range(start, stop))
    (frame,) = [p for p in ax.patches if p.get_gid() == "source"]
    assert frame.get_visible() and frame.get_y() == 149.5 and frame.get_width() == stop - start
    # The colour scale is the whole head's, so it does not jump while the window pans.
    top = style.scale_top(result.attention[0, 0], None, "head")
    assert _image(ax, "heatmap").norm.vmax == pytest.approx(top)
    whole = attnviz.plot_heatmap(result, 0, 0, source=150, window=None)
    assert whole.get_xlim() == (-0.5, n - 0.5)
    assert attnviz.plot_heatmap(result, 0, 0, source=150, window=40).get_xlim() == (129.5, 169.5)


def test_heatmap_leaves_out_numbers_that_do_not_fit():
    result = long_result(60, layers=1, heads=1)
    ax = attnviz.plot_heatmap(result, 0, 0, values=True)
    assert not [t for t in ax.texts if (t.get_gid() or "").startswith("value-")]
    assert "números omitidos: no caben en las celdas" in _notes(ax)


def test_emoji_and_huge_words_become_readable_labels_without_warnings():
    result = long_result(10, layers=1, heads=1, extra=["🦄🤖", "x" * 10_000, "$5", "漢字"])
    ax = attnviz.plot_heatmap(result, 0, 0, source=1)
    assert not glyph_warnings(ax.figure)
    labels = [t.get_text() for t in ax.get_xticklabels()]
    assert labels[1] == PLACEHOLDER
    assert len(labels[2]) == MAX_LABEL_CHARS and labels[2].endswith(ELLIPSIS)
    assert labels[3] == r"\$5"  # shown as "$5", never read as mathtext
    assert labels[4] == PLACEHOLDER
    assert "«□»" in _notes(ax)


def test_grid_tiles_every_head_of_a_12x12_model(beto_result):
    ax = attnviz.plot_grid(beto_result, selected=(3, 5))
    image = _image(ax, "grid").get_array()
    n = beto_result.n_tokens
    gap = gap_size(n)
    assert image.shape == (12 * (n + gap) - gap, 12 * (n + gap) - gap)
    np.testing.assert_allclose(np.ma.getdata(image), tile(beto_result), equal_nan=True)
    for layer, head in [(0, 0), (3, 5), (11, 11)]:
        r, c = thumbnail_origin(beto_result, layer, head)
        head_matrix = beto_result.attention[layer, head]
        np.testing.assert_allclose(
            np.ma.getdata(image)[r : r + n, c : c + n],
            head_matrix / style.scale_top(head_matrix, None, "head"),
            rtol=1e-6,
        )
    # Gaps between thumbnails are blank.
    assert np.isnan(np.ma.getdata(image)[n : n + gap]).all()
    assert [t.get_text() for t in ax.get_yticklabels()] == [f"capa {i}" for i in range(12)]
    assert [t.get_text() for t in ax.get_xticklabels()] == [f"cabeza {j}" for j in range(12)]
    (outline,) = [p for p in ax.patches if p.get_gid() == "selected"]
    assert isinstance(outline, Rectangle)
    r, c = thumbnail_origin(beto_result, 3, 5)
    x, y = outline.get_xy()
    assert x < c and x + outline.get_width() > c + n - 1
    assert y < r and y + outline.get_height() > r + n - 1


def test_grid_absolute_scale_and_no_selection(beto_result):
    ax = attnviz.plot_grid(beto_result, scale="absolute")
    image = np.ma.getdata(_image(ax, "grid").get_array())
    r, c = thumbnail_origin(beto_result, 2, 7)
    n = beto_result.n_tokens
    np.testing.assert_allclose(image[r : r + n, c : c + n], beto_result.attention[2, 7], rtol=1e-6)
    assert not [p for p in ax.patches if p.get_gid() == "selected"]
    with pytest.raises(attnviz.IndexOutOfRangeError):
        attnviz.plot_grid(beto_result, selected=(12, 0))
    with pytest.raises(attnviz.AttnvizError, match="La escala 'loud' no existe"):
        attnviz.plot_grid(beto_result, scale="loud")  # type: ignore[arg-type]


def test_grid_max_pools_long_texts():
    n = 130
    att = random_attention(np.random.default_rng(5), (2, 3, n, n))
    result = make_result(att, tuple(f"t{i}" for i in range(n)), (False,) * n)
    size = thumbnail_size(n)
    assert size <= MAX_THUMBNAIL and size == 44  # blocks of 3 tokens
    pooled = shrink(result.attention[1, 2], size)
    assert pooled.shape == (size, size)
    assert pooled[0, 0] == result.attention[1, 2, :3, :3].max()
    assert pooled[-1, -1] == result.attention[1, 2, 129, 129]  # the last block is partly padding
    ax = attnviz.plot_grid(result, selected=(1, 2))
    image = np.ma.getdata(_image(ax, "grid").get_array())
    r, c = thumbnail_origin(result, 1, 2)
    top = style.scale_top(result.attention[1, 2], None, "head")
    np.testing.assert_allclose(image[r : r + size, c : c + size], pooled / top, rtol=1e-6)
    assert image.shape == (2 * (size + gap_size(n)) - gap_size(n), 3 * (size + gap_size(n)) - gap_size(n))


def test_grid_is_readable_for_12x12(beto_result, tmp_path):
    ax = attnviz.plot_grid(beto_result, selected=(0, 0))
    width, height = ax.figure.get_size_inches()
    assert width <= 14 and height <= 14  # fits a laptop screen
    assert all(t.get_fontsize() >= 7 for t in ax.get_yticklabels())
    ax.figure.savefig(tmp_path / "grid.png", dpi=80)
    assert (tmp_path / "grid.png").stat().st_size > 1000


@pytest.mark.parametrize("scale", ["head", "absolute"])
def test_grid_uses_coolwarm_and_names_its_scale(beto_result, scale):
    ax = attnviz.plot_grid(beto_result, selected=(3, 5), scale=scale)
    image = _image(ax, "grid")
    assert image.norm.vmin == 0.0 and image.norm.vmax == 1.0
    r, c = thumbnail_origin(beto_result, 3, 5)
    n = beto_result.n_tokens
    thumb = np.ma.getdata(image.get_array())[r : r + n, c : c + n]
    np.testing.assert_allclose(image.to_rgba(thumb), COOLWARM(thumb), atol=1 / 255)
    label = image.colorbar.ax.get_xlabel()  # a horizontal bar under the grid
    assert (
        label
        == {
            "head": "peso de atención · escala 0 – máximo de cada cabeza",
            "absolute": "peso de atención · escala 0 – 1 (fija)",
        }[scale]
    )
    (outline,) = [p for p in ax.patches if p.get_gid() == "selected"]
    assert outline.get_edgecolor()[:3] == (0.0, 0.0, 0.0)  # black: red is a weight


def test_grid_honours_the_classroom_font_size_without_overlaps(beto_result):
    size = style.CLASSROOM_FONTSIZE
    ax = attnviz.plot_grid(beto_result, selected=(0, 0), fontsize=size)
    for axis in (ax.xaxis, ax.yaxis):
        labels = tick_texts(axis)
        assert len(labels) == 12 and {t.get_fontsize() for t in labels} == {size}
        assert not overlapping(drawn_extents(ax.figure, labels))
    assert ax.title.get_fontsize() == style.font_sizes(size)["title"]
    assert _image(ax, "grid").colorbar.ax.xaxis.label.get_fontsize() == style.font_sizes(size)["notes"]


def _line(ax, gid):
    axes = [ax, *([ax.right_ax] if hasattr(ax, "right_ax") else [])]
    (line,) = [ln for a in axes for ln in a.lines if ln.get_gid() == gid]
    return line


def test_profile_lines_carry_the_layer_means(beto_result):
    sentence = layer_profile(head_metrics(beto_result))
    other = {k: v[::-1] for k, v in sentence.items()}
    ax = attnviz.plot_profile(sentence, compare=other, labels=("frase", "corpus"))
    for name in METRIC_NAMES:
        line = _line(ax, f"profile-{name}")
        np.testing.assert_allclose(line.get_ydata(), sentence[name])
        np.testing.assert_array_equal(line.get_xdata(), np.arange(12))
        dashed = _line(ax, f"compare-{name}")
        np.testing.assert_allclose(dashed.get_ydata(), other[name])
        assert dashed.get_linestyle() == "--"
        assert dashed.get_color() == line.get_color()
    # Shares on the left axis (0..1), entropy and distance on the right one.
    assert _line(ax, "profile-cls").axes is ax
    assert _line(ax, "profile-entropy").axes is ax.right_ax
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "frase" in legend and "corpus" in legend and "a [SEP]" in legend


def test_profile_subset_of_metrics():
    result = make_result(random_attention(np.random.default_rng(4), (6, 2, 6, 6)))
    profile = layer_profile(head_metrics(result))
    ax = attnviz.plot_profile(profile, metrics=["prev", "next"])
    assert {ln.get_gid() for ln in ax.lines} == {"profile-prev", "profile-next"}
    assert not hasattr(ax, "right_ax")
    assert len(_line(ax, "profile-prev").get_ydata()) == 6
    with pytest.raises(ValueError):
        attnviz.plot_profile(profile, metrics=["bogus"])


def test_profile_honours_the_classroom_font_size(beto_result):
    size = style.CLASSROOM_FONTSIZE
    sizes = style.font_sizes(size)
    ax = attnviz.plot_profile(layer_profile(head_metrics(beto_result)), fontsize=size)
    assert ax.title.get_fontsize() == sizes["title"]
    assert ax.xaxis.label.get_fontsize() == ax.yaxis.label.get_fontsize() == size
    assert ax.right_ax.yaxis.label.get_fontsize() == size
    assert {t.get_fontsize() for t in ax.get_legend().get_texts()} == {sizes["notes"]}
    assert {t.get_fontsize() for t in tick_texts(ax.xaxis)} == {sizes["notes"]}
    # The legend sits right of the right axis's label, not on it.
    boxes = drawn_extents(ax.figure, [ax.right_ax.yaxis.label, *ax.get_legend().get_texts()])
    assert all(box.x0 > boxes[0].x1 for box in boxes[1:])


@pytest.mark.parametrize("fontsize", [None, style.CLASSROOM_FONTSIZE])
def test_first_draw_keeps_titles_and_notes_inside_the_picture(beto_result, fontsize):
    heat = attnviz.plot_heatmap(beto_result, 3, 5, source=2, fontsize=fontsize)
    texts = [heat.title, heat.xaxis.label, *[t for t in heat.texts if t.get_gid() == "notes"]]
    assert not outside_after_first_draw(heat.figure, [*texts, _colorbar(heat).ax.yaxis.label])
    grid = attnviz.plot_grid(beto_result, selected=(1, 1), fontsize=fontsize)
    bar = _image(grid, "grid").colorbar
    assert not outside_after_first_draw(
        grid.figure, [grid.title, bar.ax.xaxis.label, *tick_texts(grid.xaxis)]
    )
