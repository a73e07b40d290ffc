"""Graph of one head: the arrows are exactly the links above the threshold, readable at any length."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pytest

from attnviz.plots import style
from attnviz.plots.graph import circle_positions, graph_edges, labelled_nodes, plot_graph

from .helpers import make_result, previous_token_matrix, random_attention
from .view_checks import drawn_extents, glyph_warnings, ink_overlaps, long_result, outside_after_first_draw

COOLWARM = plt.get_cmap("coolwarm")


def _edges(ax) -> dict[tuple[int, int], object]:
    found = {}
    for patch in ax.patches:
        gid = patch.get_gid() or ""
        if gid.startswith("edge-"):
            _, i, j = gid.split("-")
            found[int(i), int(j)] = patch
    return found


def _labels(ax):
    return [t for t in ax.texts if (t.get_gid() or "").startswith("label-")]


def test_arrows_are_the_links_above_the_threshold(beto_result):
    weights = beto_result.attention[4, 2].astype(np.float64)
    ax = plot_graph(beto_result, 4, 2, threshold=0.1)
    expected = {(i, j) for i, j in np.argwhere(weights >= 0.1).tolist() if i != j}
    edges = _edges(ax)
    assert set(edges) == expected
    top = style.scale_top(weights, None, "head")
    for (i, j), patch in edges.items():
        np.testing.assert_allclose(patch.get_edgecolor()[:3], COOLWARM(weights[i, j] / top)[:3], atol=1 / 255)
    # Heavier links are drawn wider.
    ordered = sorted(edges, key=lambda e: weights[e])
    widths = [edges[e].get_linewidth() for e in ordered]
    assert widths == sorted(widths)
    (nodes,) = [c for c in ax.collections if c.get_gid() == "nodes"]
    np.testing.assert_allclose(nodes.get_array(), np.diag(weights), rtol=1e-6)
    assert nodes.norm.vmax == pytest.approx(top)
    assert ax.get_title() == "Capa 4 · cabeza 2 · grafo"


def test_row_scale_without_a_source_puts_each_row_on_its_own_top(beto_result):
    weights = beto_result.attention[4, 2].astype(np.float64)
    ax = plot_graph(beto_result, 4, 2, threshold=0.1, scale="row")
    tops = style.row_tops(weights)
    for (i, j), patch in _edges(ax).items():
        colour = COOLWARM(weights[i, j] / tops[i])[:3]
        np.testing.assert_allclose(patch.get_edgecolor()[:3], colour, atol=1 / 255)
    (nodes,) = [c for c in ax.collections if c.get_gid() == "nodes"]
    np.testing.assert_allclose(nodes.get_array(), np.diag(weights) / tops, rtol=1e-6)
    assert nodes.norm.vmax == 1.0


def test_previous_token_head_is_a_ring_of_short_arrows():
    n = 6
    result = make_result(previous_token_matrix(n))
    ax = plot_graph(result, 0, 0, threshold=0.5)
    assert set(_edges(ax)) == {(i, i - 1) for i in range(1, n)}
    where = circle_positions(n)
    np.testing.assert_allclose(where[0], [0.0, 1.0], atol=1e-12)  # the first token at the top
    assert where[1][0] > 0  # then clockwise


def test_only_the_source_links_and_at_most_max_edges(beto_result):
    ax = plot_graph(beto_result, 1, 1, threshold=0.0, source=3)
    edges = set(_edges(ax))
    assert edges and all(i == 3 for i, _ in edges)
    assert len(edges) == beto_result.n_tokens - 1
    assert any(p.get_gid() == "source" for p in ax.collections)
    pairs, total = graph_edges(beto_result.attention[1, 1], 0.0, max_edges=5)
    assert len(pairs) == 5 and total == beto_result.n_tokens * (beto_result.n_tokens - 1)
    strongest = np.sort(beto_result.attention[1, 1][~np.eye(beto_result.n_tokens, dtype=bool)])[::-1][:5]
    np.testing.assert_allclose(beto_result.attention[1, 1][pairs[:, 0], pairs[:, 1]], strongest)
    assert not _edges(plot_graph(beto_result, 1, 1, threshold=1.0))


def test_causal_future_is_never_a_link():
    att = np.tril(random_attention(np.random.default_rng(1), (1, 1, 6, 6)))
    att /= att.sum(-1, keepdims=True)
    result = make_result(att, causal=True)
    ax = plot_graph(result, 0, 0, threshold=0.0)
    assert all(j < i for i, j in _edges(ax))


@pytest.mark.parametrize("n", [14, 300])
@pytest.mark.parametrize("fontsize", [None, style.CLASSROOM_FONTSIZE])
def test_labels_never_overlap_and_honour_the_font_size(n, fontsize):
    result = long_result(n, layers=1, heads=1)
    ax = plot_graph(result, 0, 0, threshold=0.1, fontsize=fontsize)
    labels = _labels(ax)
    assert labels and {t.get_fontsize() for t in labels} == {fontsize or style.FONTSIZE}
    # Radial labels: their axis-aligned boxes may cross, their ink must not.
    assert ink_overlaps(ax.figure, labels) == 0
    boxes = drawn_extents(ax.figure, labels)
    figure = ax.figure.bbox
    assert all(b.x0 >= 0 and b.y0 >= 0 and b.x1 <= figure.x1 and b.y1 <= figure.y1 for b in boxes)
    (notes,) = [t for t in ax.texts if t.get_gid() == "notes"]
    hidden = n - len(labels)
    assert (f"{hidden} etiquetas omitidas" in notes.get_text()) == (hidden > 0)
    assert ax.title.get_fontsize() == style.font_sizes(fontsize)["title"]


def test_labelled_nodes_keep_their_distance():
    # 100 nodes on 1000 points: 10 points apart, and a label needs 13.
    chosen = labelled_nodes(100, [50, 51, 10, 52, 99, 0], circumference_pt=1000.0, fontsize=10.0)
    assert chosen == [10, 50, 52, 99]  # 51 is too close to 50, 0 to 99 (around the circle)


def test_emoji_label_draws_without_warnings():
    result = long_result(8, layers=1, heads=1, extra=["🦄", "x" * 10_000])
    ax = plot_graph(result, 0, 0, threshold=0.05)
    assert not glyph_warnings(ax.figure)
    texts = {t.get_gid(): t.get_text() for t in _labels(ax)}
    assert texts.get("label-1") == "□"
    assert texts.get("label-2", "x…").endswith("…")
    with pytest.raises(ValueError):
        plot_graph(result, 0, 0, threshold=1.5)


def test_the_ink_check_sees_overlapping_labels():
    figure, ax = plt.subplots()
    apart = [ax.text(0.1, 0.5, "perro", rotation=45), ax.text(0.6, 0.5, "gato", rotation=45)]
    assert ink_overlaps(figure, apart) == 0
    # Two rotated labels a few pixels apart: their boxes overlap, and so does their ink.
    close = [ax.text(0.3, 0.3, "persiguió", rotation=45), ax.text(0.31, 0.3, "persiguió", rotation=45)]
    assert ink_overlaps(figure, close) > 0


def test_first_draw_keeps_title_and_notes_inside_the_picture():
    result = long_result(300, layers=1, heads=1)
    ax = plot_graph(result, 0, 0, threshold=0.1, fontsize=style.CLASSROOM_FONTSIZE)
    notes = [t for t in ax.texts if t.get_gid() == "notes"]
    assert len(notes[0].get_text().split("\n")) >= 3
    assert not outside_after_first_draw(ax.figure, [ax.title, *notes, *_labels(ax)])
