"""Heatmap, all-heads grid and layer profile: their artists carry the right data."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.patches import Rectangle

import attnviz
from attnviz.aggregate import rollout, segment_mask
from attnviz.grid import MAX_THUMBNAIL, gap_size, shrink, thumbnail_origin, thumbnail_size, tile
from attnviz.metrics import METRIC_NAMES, head_metrics, layer_profile

from .helpers import make_result, random_attention


def _image(ax, gid):
    (image,) = [im for im in ax.images if im.get_gid() == gid]
    return image


def test_heatmap_shows_one_head_with_labels_and_colorbar(beto_result):
    ax = attnviz.plot_heatmap(beto_result, 3, 5)
    data = _image(ax, "heatmap").get_array()
    np.testing.assert_allclose(np.ma.getdata(data), beto_result.attention[3, 5], rtol=1e-6)
    assert not np.ma.getmaskarray(data).any()
    tokens = list(beto_result.tokens)
    assert [t.get_text() for t in ax.get_xticklabels()] == tokens
    assert [t.get_text() for t in ax.get_yticklabels()] == tokens
    assert ax.get_xlabel().startswith("hacia") and ax.get_ylabel().startswith("desde")
    assert "Capa 3 · cabeza 5" in ax.get_title()
    assert len(ax.figure.axes) == 2  # the heatmap and its colour bar
    assert not [t for t in ax.texts if t.get_gid() and t.get_gid().startswith("value-")]


def test_heatmap_values_in_cells(beto_result):
    ax = attnviz.plot_heatmap(beto_result, 0, 0, values=True, colorbar=False)
    n = beto_result.n_tokens
    texts = {t.get_gid(): t for t in ax.texts if t.get_gid() and t.get_gid().startswith("value-")}
    assert len(texts) == n * n
    cell = texts["value-4-5"]
    assert cell.get_text() == f"{beto_result.attention[0, 0, 4, 5]:.2f}"
    assert cell.get_position() == (5, 4)  # x = column ("to"), y = row ("from")
    assert len(ax.figure.axes) == 1


def test_heatmap_draws_a_given_matrix(beto_result):
    matrix = rollout(beto_result)
    ax = attnviz.plot_heatmap(beto_result, None, None, matrix=matrix, title="Rollout")
    np.testing.assert_allclose(np.ma.getdata(_image(ax, "heatmap").get_array()), matrix)
    assert ax.get_title().startswith("Rollout")
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
    # Only the shown cells get numbers.
    assert len([t for t in ax.texts if (t.get_gid() or "").startswith("value-")]) == keep.sum()
    assert "A->B" in ax.get_title()


def test_heatmap_masks_the_causal_future():
    att = np.tril(random_attention(np.random.default_rng(2), (1, 1, 6, 6)))
    att /= att.sum(-1, keepdims=True)
    result = make_result(att, causal=True)
    ax = attnviz.plot_heatmap(result, 0, 0)
    mask = np.ma.getmaskarray(_image(ax, "heatmap").get_array())
    np.testing.assert_array_equal(mask, np.triu(np.ones((6, 6), dtype=bool), k=1))
    assert "futuro enmascarado" in ax.get_title()


def test_heatmap_in_given_axes_and_saves(beto_result, tmp_path):
    fig, (left, right) = plt.subplots(1, 2)
    assert attnviz.plot_heatmap(beto_result, 1, 1, ax=right) is right
    assert not left.images
    for suffix in ("png", "svg"):
        fig.savefig(tmp_path / f"h.{suffix}")
        assert (tmp_path / f"h.{suffix}").stat().st_size > 1000


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
            np.ma.getdata(image)[r : r + n, c : c + n], head_matrix / head_matrix.max(), rtol=1e-6
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
    with pytest.raises(ValueError):
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
    np.testing.assert_allclose(image[r : r + size, c : c + size], pooled / pooled.max(), rtol=1e-6)
    assert image.shape == (2 * (size + gap_size(n)) - gap_size(n), 3 * (size + gap_size(n)) - gap_size(n))


def test_grid_is_readable_for_12x12(beto_result, tmp_path):
    ax = attnviz.plot_grid(beto_result, selected=(0, 0))
    width, height = ax.figure.get_size_inches()
    assert width <= 14 and height <= 14  # fits a laptop screen
    assert all(t.get_fontsize() >= 7 for t in ax.get_yticklabels())
    ax.figure.savefig(tmp_path / "grid.png", dpi=80)
    assert (tmp_path / "grid.png").stat().st_size > 1000


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
