"""One colour-scale rule: every view's colour bar tops out where :func:`style.scale_top` says."""

from __future__ import annotations

import numpy as np
import pytest

import attnviz
from attnviz.plots import style
from attnviz.plots.grid import thumbnail_origin

from .helpers import synthetic_result

LAYER, HEAD, SOURCE, N = 1, 0, 3, 8


def test_scale_top_known_answers():
    head = np.array(
        [
            [1.0, 0.0, 0.0],
            [0.3, 0.62, 0.08],
            [0.27, 0.05, 0.68],
        ]
    )
    assert style.scale_top(head, 1, "head") == 1.0
    assert style.scale_top(head, None, "absolute") == style.scale_top(head, 1, "absolute") == 1.0
    assert style.scale_top(head, 1, "row") == pytest.approx(0.8)  # 0.62 rounded up
    assert style.scale_top(head, 2, "row") == pytest.approx(0.8)
    # A causal model's first row (always 1 on the first token) does not set the head's top.
    assert style.scale_top(head, 1, "head", causal=True) == pytest.approx(0.8)
    assert style.scale_top(head, 0, "row", causal=True) == 1.0  # but it is its own row's
    # Hidden cells are left out: without the diagonal, the largest weight is 0.3.
    off_diagonal = np.eye(3, dtype=bool)
    assert style.scale_top(head, None, "head", hidden=off_diagonal) == pytest.approx(0.3)
    assert style.scale_top(head, None, "row") == 1.0  # every row on its own top
    np.testing.assert_allclose(style.row_tops(head), [1.0, 0.8, 0.8])
    np.testing.assert_allclose(style.row_tops(head, off_diagonal), [1e-6, 0.3, 0.3])
    # Round numbers, the strongest weight at 75 % or more of the scale.
    for peak, top in [(0.5, 0.5), (0.501, 0.6), (0.0123, 0.0125), (0.031, 0.04), (0.99, 1.0)]:
        assert style.colour_scale_max(np.array([peak])) == pytest.approx(top)


def _arcs(result, scale):
    ax = attnviz.plot_arcs(result, LAYER, HEAD, SOURCE, scale=scale, top_k=None)
    (arcs,) = [c for c in ax.collections if c.get_gid() == "arcs"]
    return arcs.norm.vmax, np.asarray(arcs.get_array()) / arcs.norm.vmax


def _text(result, scale):
    ax = attnviz.plot_text(result, LAYER, HEAD, SOURCE, scale=scale)
    (boxes,) = [c for c in ax.collections if c.get_gid() == "boxes"]
    shares = np.asarray(boxes.get_array()) / boxes.norm.vmax
    return boxes.norm.vmax, np.delete(shares, SOURCE)  # boxes of the visible tokens, in order


def _heatmap(result, scale):
    ax = attnviz.plot_heatmap(result, LAYER, HEAD, scale=scale)
    image = ax.images[0]
    row = np.delete(np.ma.compressed(image.get_array()[SOURCE]), SOURCE)  # the visible cells
    return image.norm.vmax, row / image.norm.vmax


def _graph(result, scale):
    ax = attnviz.plot_graph(result, LAYER, HEAD, threshold=0.0, source=SOURCE, max_edges=None, scale=scale)
    (nodes,) = [c for c in ax.collections if c.get_gid() == "nodes"]
    edges = [p for p in ax.patches if (p.get_gid() or "").startswith(f"edge-{SOURCE}-")]
    # An arrow's width is 0.6 points plus 4 points at the top of the scale.
    return nodes.norm.vmax, np.array([(p.get_linewidth() - 0.6) / 4.0 for p in edges])


def _grid(result, scale):
    ax = attnviz.plot_grid(result, scale=scale)
    image = ax.images[0]
    row, column = thumbnail_origin(result, LAYER, HEAD)
    shares = np.asarray(image.get_array()[row + SOURCE, column : column + N]) / image.norm.vmax
    return image.norm.vmax, np.delete(shares, SOURCE)[: SOURCE if result.causal else None]


VIEWS = {"arcs": _arcs, "text": _text, "heatmap": _heatmap, "graph": _graph, "grid": _grid}
#: Views that show every row at once have no source row to scale by.
EVERY_ROW = ("heatmap", "grid")
CASES = [(v, s) for v in VIEWS for s in style.SCALES if (v, s) != ("grid", "row")]  # the grid has no "row"


@pytest.mark.parametrize("classroom", [False, True], ids=["portatil", "clase"])
@pytest.mark.parametrize("causal", [False, True], ids=["bidireccional", "causal"])
@pytest.mark.parametrize(("view", "scale"), CASES)
def test_every_view_tops_its_colour_bar_by_the_one_rule(view, scale, causal, classroom):
    result = synthetic_result(N, seed=0, causal=causal)  # tops 0.8: rounded, first row left out
    matrix = result.attention[LAYER, HEAD]
    # Laid out for a projector (attnviz.plots.style.modo_clase), the colours follow the same rule.
    with style.classroom(classroom):
        top, shares = VIEWS[view](result, scale)
    source = None if view in EVERY_ROW else SOURCE
    # The grid's thumbnails are each divided by their head's top: its bar runs 0 - 1.
    assert top == pytest.approx(1.0 if view == "grid" else style.scale_top(matrix, source, scale, causal))
    # The source's links have the same colours in every view: their weights over the arcs' top.
    links = np.delete(matrix[SOURCE], SOURCE)[: SOURCE if causal else None]
    expected = links / style.scale_top(matrix, SOURCE, scale, causal)
    assert len(shares) == len(links)
    np.testing.assert_allclose(np.sort(shares), np.sort(expected), rtol=1e-5, atol=1e-6)
