"""The arc plot: its artists carry the weights they should."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.collections import LineCollection
from matplotlib.colors import to_rgba

import attnviz
from attnviz.plots.arc_layout import AUTO_TOP_K, DOT_AREA, selected_targets
from attnviz.plots.arcs import MAX_COLOR, SOURCE_COLOR


def _arcs(ax) -> LineCollection:
    (arcs,) = [c for c in ax.collections if c.get_gid() == "arcs"]
    return arcs


def _targets(arcs: LineCollection) -> list[int]:
    # Each arc ends above its target token.
    return [round(path.vertices[-1, 0]) for path in arcs.get_paths()]


def _label(ax, i):
    (label,) = [t for t in ax.get_xticklabels() if t.get_gid() == f"token-{i}"]
    return label


def test_one_arc_per_other_token_carrying_its_weight(beto_result):
    r = beto_result
    layer, head, source = 3, 5, 2
    ax = attnviz.plot_arcs(r, layer, head, source)
    arcs = _arcs(ax)
    targets = _targets(arcs)
    assert sorted(targets) == [j for j in range(r.n_tokens) if j != source]
    row = r.attention[layer, head, source]
    np.testing.assert_allclose(arcs.get_array(), row[targets])
    # Every arc starts at the source token.
    assert {round(p.vertices[0, 0]) for p in arcs.get_paths()} == {source}


def test_width_and_colour_rise_with_weight(minilm_result):
    # The row's own scale spans the whole colour map (the default "head" scale may use its low half,
    # where coolwarm's blue channel is not monotonic).
    ax = attnviz.plot_arcs(minilm_result, 2, 3, 4, scale="row")
    arcs = _arcs(ax)
    weights = np.asarray(arcs.get_array())
    widths = np.asarray(arcs.get_linewidths())
    order = np.argsort(weights)
    assert np.all(np.diff(widths[order]) >= 0)
    assert widths[order[-1]] > widths[order[0]]
    # Colour: red channel rises and blue falls with the weight (coolwarm).
    colours = arcs.cmap(arcs.norm(weights))
    assert colours[order[-1], 0] > colours[order[0], 0]
    assert colours[order[-1], 2] < colours[order[0], 2]


def test_source_is_blue_and_most_attended_is_red(minilm_result):
    r = minilm_result
    layer, head, source = 1, 0, 3
    row = r.attention[layer, head, source]
    top = int(np.argmax(row))
    assert top != source  # the check below needs two different tokens
    ax = attnviz.plot_arcs(r, layer, head, source)
    assert _label(ax, source).get_bbox_patch().get_facecolor()[:3] == pytest.approx(
        plt.matplotlib.colors.to_rgb(SOURCE_COLOR)
    )
    assert _label(ax, top).get_bbox_patch().get_facecolor()[:3] == pytest.approx(
        plt.matplotlib.colors.to_rgb(MAX_COLOR)
    )
    others = [i for i in range(r.n_tokens) if i not in (source, top)]
    assert all(_label(ax, i).get_bbox_patch() is None for i in others)


def test_labels_title_and_values(beto_result):
    r = beto_result
    ax = attnviz.plot_arcs(r, 3, 5, 2)
    assert [t.get_text() for t in ax.get_xticklabels()] == list(r.tokens)
    assert "Capa 3" in ax.get_title() and "cabeza 5" in ax.get_title() and "«perro»" in ax.get_title()
    notes = next(t for t in ax.texts if t.get_gid() == "notes").get_text()
    assert "desde 0" in notes
    values = {t.get_gid(): t.get_text() for t in ax.texts if (t.get_gid() or "").startswith("value-")}
    row = r.attention[3, 5, 2]
    strongest = np.argsort(-row)[:5]
    assert set(values) == {f"value-{j}" for j in strongest}
    for j in strongest:
        assert values[f"value-{j}"] == f"{row[j]:.2f}"
    ax_all = attnviz.plot_arcs(r, 3, 5, 2, values="all")
    assert sum((t.get_gid() or "").startswith("value-") for t in ax_all.texts) == r.n_tokens


def test_self_attention_mark_carries_the_diagonal(beto_result):
    ax = attnviz.plot_arcs(beto_result, 0, 0, 4)
    (mark,) = [line for line in ax.lines if line.get_gid() == "self"]
    weight = float(beto_result.attention[0, 0, 4, 4])
    # Its colour is the weight on the arcs' own scale, its area grows with the weight.
    scale = _arcs(ax).norm
    expected = plt.get_cmap("coolwarm")(scale(weight))
    np.testing.assert_allclose(to_rgba(mark.get_markerfacecolor()), expected)
    low, high = DOT_AREA
    assert mark.get_markersize() ** 2 == pytest.approx(low + (high - low) * min(weight / scale.vmax, 1.0))
    assert (list(mark.get_xdata()), list(mark.get_ydata())) == ([4.0], [0.0])


def test_top_k_and_threshold_hide_weak_links(beto_result):
    r = beto_result
    row = r.attention[5, 1, 1]
    ax = attnviz.plot_arcs(r, 5, 1, 1, top_k=3)
    kept = _targets(_arcs(ax))
    expected = [j for j in np.argsort(-row) if j != 1][:3]
    assert sorted(kept) == sorted(int(j) for j in expected)
    cut = float(np.median(row))
    ax2 = attnviz.plot_arcs(r, 5, 1, 1, threshold=cut)
    assert all(row[j] >= cut for j in _targets(_arcs(ax2)))


def test_long_inputs_draw_top_k_by_default():
    row = np.random.default_rng(0).dirichlet(np.ones(200))
    kept = selected_targets(row, 10)
    assert len(kept) == AUTO_TOP_K
    others = np.delete(np.arange(200), 10)
    assert set(kept) == set(others[np.argsort(-row[others])[:AUTO_TOP_K]])


def test_draws_into_given_axes_and_saves(beto_result, tmp_path):
    fig, (left, right) = plt.subplots(1, 2, figsize=(14, 4))
    returned = attnviz.plot_arcs(beto_result, 0, 0, 1, ax=right)
    assert returned is right
    assert not any(c.get_gid() == "arcs" for c in left.collections)
    for suffix, magic in ((".png", b"\x89PNG"), (".svg", b"<?xml"), (".pdf", b"%PDF")):
        path = tmp_path / f"arcs{suffix}"
        fig.savefig(path)
        assert path.read_bytes().startswith(magic)
    svg = (tmp_path / "arcs.svg").read_text()
    # Arcs are vector paths in the SVG, one per target at least.
    assert svg.count("<path") >= beto_result.n_tokens - 1


@pytest.mark.parametrize("bad", [12, -1, 1.5, True, "3"])
def test_bad_layer_is_a_clear_error(beto_result, bad):
    with pytest.raises(attnviz.IndexOutOfRangeError, match="capa"):
        attnviz.plot_arcs(beto_result, bad, 0, 1)


def test_bad_token_is_a_clear_error(beto_result):
    with pytest.raises(attnviz.IndexOutOfRangeError, match="14"):
        attnviz.plot_arcs(beto_result, 0, 0, 14)


@pytest.mark.parametrize("plot", ["plot_arcs", "plot_heatmap", "plot_grid"])
def test_views_refuse_what_is_not_a_result(minilm, plot):
    with pytest.raises(attnviz.InvalidInputTypeError, match=r"attnviz\.extract"):
        if plot == "plot_grid":
            attnviz.plot_grid(minilm)
        else:
            getattr(attnviz, plot)(minilm, 0, 0, 1)


def test_a_title_of_two_lines_stays_above_the_grey_notes(minilm_result):
    import matplotlib.pyplot as plt

    import attnviz

    ax = attnviz.plot_arcs(
        minilm_result, 1, 0, source=2, title="Una línea\ny otra", colorbar=False, fontsize=14
    )
    figure = ax.figure
    figure.canvas.draw()
    notes = next(t for t in ax.texts if t.get_gid() == "notes")
    assert ax.title.get_window_extent().y0 >= notes.get_window_extent().y1 - 0.5
    plt.close(figure)
