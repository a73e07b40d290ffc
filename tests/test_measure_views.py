"""Every view shows either measure: the title and the colour bar say which, the artists carry its values."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.text import Text

import attnviz
from attnviz.plots.style import CLASSROOM_FONTSIZE
from attnviz.plots.views import VIEWS

LAYER, HEAD, SOURCE = 2, 5, 3


def _texts(ax):
    return [t.get_text() for t in ax.figure.findobj(Text) if t.get_visible() and t.get_text()]


@pytest.mark.parametrize("view", [name for name in VIEWS if name not in ("scores", "profile")])
@pytest.mark.parametrize("measure", ["peso", "contribucion"])
def test_every_view_names_the_measure_it_shows_on_the_projector(beto_result, view, measure):
    ax = VIEWS[view].draw(beto_result, LAYER, HEAD, SOURCE, fontsize=CLASSROOM_FONTSIZE, measure=measure)
    texts = _texts(ax)
    bar = [t for t in texts if "escala" in t]
    assert bar, texts
    named = "contribución" if measure == "contribucion" else "peso de atención"
    assert any(named in t.replace("\n", " ") for t in bar), bar
    if measure == "contribucion":
        title = ax.get_title() or ax.get_title(loc="left")
        assert "contribución" in title, title
    else:
        assert not any("contribución" in t for t in texts)
    plt.close(ax.figure)


def test_the_heatmap_text_and_graph_carry_the_contribution_values(beto_result):
    carried = attnviz.with_measure(beto_result, "contribucion")
    expected = carried.attention[LAYER, HEAD]
    ax = attnviz.plot_heatmap(beto_result, LAYER, HEAD, measure="contribucion")
    image = next(a for a in ax.get_images() if a.get_gid() == "heatmap")
    np.testing.assert_allclose(np.ma.getdata(image.get_array()), expected, atol=1e-7)
    plt.close(ax.figure)
    ax = attnviz.plot_text(beto_result, LAYER, HEAD, SOURCE, measure="contribucion")
    boxes = next(c for c in ax.collections if c.get_gid() == "boxes")
    np.testing.assert_allclose(np.ma.getdata(boxes.get_array()), expected[SOURCE], atol=1e-7)
    plt.close(ax.figure)
    ax = attnviz.plot_graph(beto_result, LAYER, HEAD, measure="contribucion")
    nodes = next(c for c in ax.collections if c.get_gid() == "nodes")
    np.testing.assert_allclose(np.ma.getdata(nodes.get_array()), np.diag(expected), atol=1e-7)
    plt.close(ax.figure)


def test_the_arcs_draw_the_contribution_row(beto_result):
    carried = attnviz.with_measure(beto_result, "contribucion")
    by_measure = {
        m: attnviz.plot_arcs(beto_result, LAYER, HEAD, SOURCE, values="all", measure=m)
        for m in ("peso", "contribucion")
    }
    for measure, ax in by_measure.items():
        row = (carried if measure == "contribucion" else beto_result).attention[LAYER, HEAD, SOURCE]
        values = {t.get_gid(): t.get_text() for t in ax.texts if (t.get_gid() or "").startswith("value-")}
        for gid, text in values.items():
            j = int(gid.split("-")[1])
            assert text == f"{row[j]:.2f}", (measure, j)
        plt.close(ax.figure)
    assert "contribución a «" in by_measure["contribucion"].get_title()


def test_the_grid_and_the_profile_take_the_measure(beto_result):
    carried = attnviz.with_measure(beto_result, "contribucion")
    ax = VIEWS["profile"].draw(beto_result, 0, 0, 0, measure="contribucion")
    line = next(line for line in ax.get_lines() if line.get_gid() == "profile-cls")
    expected = attnviz.layer_profile(attnviz.head_metrics(carried))["cls"]
    np.testing.assert_allclose(line.get_ydata(), expected)
    plt.close(ax.figure)
    ax = attnviz.plot_grid(beto_result, measure="contribucion")
    assert ax.get_title().endswith("· contribución")
    plt.close(ax.figure)


def test_an_unknown_measure_in_a_view_is_one_spanish_sentence(beto_result):
    with pytest.raises(attnviz.InvalidInputTypeError) as caught:
        attnviz.plot_heatmap(beto_result, 0, 0, measure="norma")
    assert caught.value.message_es == "La medida 'norma' no existe: elige «peso» o «contribucion»."


def test_the_cli_prints_and_draws_the_chosen_measure(capsys, minilm, tmp_path):
    from attnviz.cli import main

    from .conftest import SEED

    model, tokenizer = minilm
    carried = attnviz.with_measure(attnviz.extract(model, tokenizer, SEED), "contribucion")
    args = [SEED, "--model", "minilm", "--layer", "1", "--head", "2", "--token", "3", "--values"]
    assert main([*args, "--medida", "contribucion"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].endswith("· contribución, de mayor a menor:")
    assert lines[1].split() == ["índice", "token", "contribución"]
    printed = {int(line.split()[0]): float(line.split()[-1]) for line in lines[2:] if line.strip()}
    assert printed == {j: pytest.approx(float(v), abs=5e-5) for j, v in enumerate(carried.attention[1, 2, 3])}
    out = tmp_path / "c.svg"
    assert main([*args[:-1], "--medida", "contribucion", "--view", "heatmap", "--out", str(out)]) == 0
    assert "contribución" in out.read_text()


def test_the_projector_top_bar_still_names_the_contribution(beto_result):
    ax = attnviz.plot_arcs(
        beto_result,
        LAYER,
        HEAD,
        SOURCE,
        fontsize=CLASSROOM_FONTSIZE,
        colorbar="top",
        figsize=(8, 3.3),
        measure="contribucion",
    )
    label = next(t.get_text() for t in ax.figure.findobj(Text) if t.get_gid() == "colorbar-label")
    assert label.startswith("contribución")
    plt.close(ax.figure)
