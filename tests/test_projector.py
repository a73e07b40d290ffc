"""Issue 21 §7: one classroom switch, and every picture readable on a 1280x720 projector at 150 % zoom.

Sizes are measured in the picture: each text's size in points times the figure's dpi / 72 times the
picture's scale on that screen (the explorer fits it in 673 x 360 CSS px, a notebook shows it at its
own size or shrunk to 673 px wide).  Labels >= 18 CSS px, numbers and notes >= 14, no two numbers
(nor two labels) overlapping.
"""

from __future__ import annotations

import io

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pytest
from PIL import Image

import attnviz
from attnviz.core.metrics import head_metrics, layer_profile
from attnviz.explore.canvas import FigureRenderer
from attnviz.explore.heatmap_render import HeatmapRenderer
from attnviz.plots import style
from attnviz.plots.style import root_figure
from attnviz.plots.views import VIEWS

from .conftest import SEED
from .view_checks import (
    box_overlaps,
    css_sizes,
    drawn_extents,
    figure_texts,
    ink_overlaps,
    long_result,
    overlapping,
    projector_scale,
)

LONG = "El perro que persiguió al gato cruzó la calle y se durmió bajo el árbol grande del parque."


@pytest.fixture(autouse=True)
def _laptop_after():
    """Every test leaves classroom mode off (it is global to the process)."""
    yield
    style.modo_clase(False)


@pytest.fixture(scope="module")
def seed_minilm(minilm):
    return attnviz.extract(*minilm, SEED)


@pytest.fixture(scope="module")
def long_minilm(minilm):
    return attnviz.extract(*minilm, LONG)


def _readable(texts: list[dict], dpi: float, scale: float, what: str) -> dict[str, float]:
    """Assert the projector's least sizes and no overlapping numbers; return the sizes."""
    sizes = css_sizes(texts, dpi, scale)
    assert sizes.get("label", 99.0) >= style.MIN_LABEL_PX, f"{what}: labels {sizes}"
    assert sizes.get("number", 99.0) >= style.MIN_NUMBER_PX, f"{what}: numbers {sizes}"
    assert sizes.get("note", 99.0) >= style.MIN_NUMBER_PX, f"{what}: notes {sizes}"
    numbers = [t for t in texts if t["role"] == "number"]
    assert box_overlaps(numbers) == [], f"{what}: overlapping numbers"
    return sizes


def _png_size(png: bytes) -> tuple[int, int]:
    return Image.open(io.BytesIO(png)).size


# --------------------------------------------------------------------------- the switch


def test_modo_clase_sets_the_sizes_and_matplotlib_and_false_undoes_it():
    before = dict(matplotlib.rcParams)
    assert style.font_sizes()["labels"] == style.FONTSIZE and not style.classroom_mode()
    attnviz.plots.style.modo_clase()
    sizes = style.font_sizes()
    assert style.classroom_mode()
    assert sizes == style.font_sizes(style.CLASSROOM_FONTSIZE)
    # A smaller size asked for is raised to the classroom's; a larger one is kept.
    assert style.font_sizes(10)["labels"] == style.CLASSROOM_FONTSIZE
    assert style.font_sizes(20)["labels"] == 20
    rc = matplotlib.rcParams
    assert rc["legend.fontsize"] == rc["xtick.labelsize"] == rc["axes.labelsize"] == sizes["labels"]
    assert rc["axes.titlesize"] == sizes["title"]
    assert list(rc["figure.figsize"]) == list(style.CLASSROOM_BOX)
    style.modo_clase()  # twice: nothing more changes, and once off everything is back
    style.modo_clase(False)
    assert dict(matplotlib.rcParams) == before
    assert style.font_sizes()["labels"] == style.FONTSIZE and not style.classroom_mode()
    with pytest.raises(attnviz.AttnvizError, match="modo_clase"):
        style.modo_clase("sí")  # type: ignore[arg-type]


def test_the_explorers_classroom_context_changes_no_matplotlib_setting():
    before = dict(matplotlib.rcParams)
    with style.classroom():
        assert style.classroom_mode() and style.font_sizes()["labels"] == style.CLASSROOM_FONTSIZE
        assert style.fit_figure(16.0, 8.0) == (8.0, 4.0)
        # Inside, the laptop's layout can be asked for again (the explorer's normal mode).
        with style.classroom(False):
            assert style.font_sizes()["labels"] == style.FONTSIZE
    assert dict(matplotlib.rcParams) == before and not style.classroom_mode()
    assert style.fit_figure(16.0, 8.0) == (16.0, 8.0)


def test_panels_go_one_under_another_in_classroom_mode():
    figure, axes = style.panels(2, 2, figsize=(18, 11))
    assert axes.shape == (2, 2) and tuple(figure.get_size_inches()) == (18, 11)
    style.modo_clase()
    figure, axes = style.panels(2, 2, figsize=(18, 11), gridspec_kw={"width_ratios": [1, 2]})
    assert axes.shape == (4,) and len(list(axes.flat)) == 4
    assert tuple(figure.get_size_inches()) == (style.CLASSROOM_WIDTH, 4 * style.CLASSROOM_HEIGHT)


def _inline_png(figure) -> bytes:
    """The PNG a notebook shows: JupyterLab's inline backend saves with ``bbox_inches="tight"``."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", bbox_inches="tight")
    return buffer.getvalue()


def test_a_plain_matplotlib_figure_reads_on_the_projector():
    """A figure the lesson draws itself (no attnviz view): title, axis names, ticks and legend."""
    style.modo_clase()
    figure, ax = plt.subplots()
    for k, name in enumerate(["esta frase", "media del corpus", "línea base"]):
        ax.plot(np.arange(6), np.linspace(0, 1, 6) ** (k + 1), label=name)
    ax.set(title="¿Adónde va la atención?", xlabel="capa", ylabel="proporción")
    ax.legend()
    texts = figure_texts(figure)
    assert {t["role"] for t in texts} == {"label", "number"}
    width, height = _png_size(_inline_png(figure))
    sizes = _readable(texts, figure.dpi, projector_scale(width, height, explorer=False), "plain figure")
    assert sizes["label"] == pytest.approx(16 * 100 / 72 * min(1.0, style.PROJECTOR_WIDTH_PX / width))
    style.modo_clase(False)
    figure, ax = plt.subplots()
    ax.plot([0, 1], label="x")
    assert ax.legend().get_texts()[0].get_fontsize() == 10.0  # the laptop's size again


# --------------------------------------------------------------------------- the explorer's views


def _explorer_figure(view: str, result, layer: int, head: int, source: int):
    """A classroom view as the explorer draws it: in ``style.classroom()``, on the classroom box."""
    with style.classroom():
        if view == "heatmap":
            renderer = HeatmapRenderer(result, fontsize=style.CLASSROOM_FONTSIZE)
            png = renderer.render(layer, head, source)
            return renderer.figure, png, renderer
        options = {"fontsize": style.CLASSROOM_FONTSIZE}
        if view == "text":
            figure = VIEWS["text"].draw(result, layer, head, source, **options).figure
            figure.canvas.draw()
            buffer = io.BytesIO()
            figure.savefig(buffer, format="png", dpi=figure.dpi)
            return figure, buffer.getvalue(), None
        box = FigureRenderer(style.CLASSROOM_BOX)
        png = box.render(lambda ax: VIEWS[view].draw(result, layer, head, source, ax, **options))
        return box.figure, png, None


EXPLORER = ["heatmap", "graph", "text", "grid", "scores"]
CASES = {
    "seed-minilm": ("seed_minilm", 0, 0, 1),
    "seed-beto": ("beto_result", 3, 5, 2),
    "long-minilm": ("long_minilm", 2, 3, 15),
}


@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("view", EXPLORER)
def test_every_explorer_view_reads_on_the_projector_in_classroom_mode(request, view, case):
    fixture, layer, head, source = CASES[case]
    result = request.getfixturevalue(fixture)
    figure, png, _ = _explorer_figure(view, result, layer, head, source)
    width, height = _png_size(png)
    assert (width, height) == tuple(round(v) for v in figure.bbox.size)
    # No taller than the explorer's picture box at that width, so it is shown full width.
    assert height / width <= style.PROJECTOR_HEIGHT_PX / style.PROJECTOR_WIDTH_PX + 0.01
    texts = figure_texts(figure)
    sizes = _readable(texts, figure.dpi, projector_scale(width, height, explorer=True), f"{view} {case}")
    assert sizes["label"] >= 18.5  # the labels' 16 points, on a picture 8 inches wide
    labels = [t for t in texts if t["role"] == "label"]
    if view == "graph":
        # Node labels turn round the circle: their inked pixels, not their boxes, must not meet.
        from matplotlib.text import Text

        drawn = [t for t in figure.findobj(Text) if (t.get_gid() or "").startswith("label-")]
        assert drawn and ink_overlaps(figure, drawn) == 0
    else:
        assert box_overlaps(labels) == [], f"{view}: overlapping labels"
    # Nothing outside the picture.
    for text in texts:
        x0, y0, x1, y1 = text["box"]
        assert x0 >= -1 and y0 >= -1 and x1 <= width + 1 and y1 <= height + 1, text["text"]


def test_the_classroom_heatmap_zooms_rows_and_columns_apart_and_labels_each(long_minilm):
    result = long_minilm
    _, _, renderer = _explorer_figure("heatmap", result, 2, 3, 15)
    assert renderer.projector and renderer.window is not None
    n = result.n_tokens
    for source in (0, 15, n - 1):
        renderer.render(2, 3, source)
        rows, columns = renderer.span(source), renderer.column_span(source)
        assert rows[0] <= source < rows[1] and columns[0] <= source < columns[1]
        assert rows[1] - rows[0] == renderer.window >= 3
        # Every row and column of the windows keeps its label: nothing thinned.
        assert [round(t) for t in renderer.ax.yaxis.get_ticklocs()] == list(range(*rows))
        assert [round(t) for t in renderer.ax.xaxis.get_ticklocs()] == list(range(*columns))
        notes = renderer.notes.get_text().replace("\n", " · ")
        window = f"filas {rows[0]}–{rows[1] - 1}, columnas {columns[0]}–{columns[1] - 1} de {n} tokens"
        assert f"ventana: {window}" in notes
    # The wide picture shows more columns than rows.
    assert (renderer.column_window or n) > renderer.window


def test_a_long_text_in_classroom_mode_keeps_the_lines_around_the_source():
    result = long_result(220, layers=1, heads=1)
    source = 150
    with style.classroom():
        ax = attnviz.plot_text(result, 0, 0, source)
    figure = ax.figure
    assert figure.get_figwidth() == style.CLASSROOM_WIDTH
    assert figure.get_figheight() <= style.CLASSROOM_HEIGHT + 1e-6
    drawn = {int(t.get_gid().split("-")[1]) for t in ax.texts if (t.get_gid() or "").startswith("token-")}
    assert source in drawn and len(drawn) < result.n_tokens
    # The tokens drawn are one run of whole lines: consecutive indices.
    assert drawn == set(range(min(drawn), max(drawn) + 1))
    notes = next(t for t in ax.texts if t.get_gid() == "notes").get_text().replace("\n", " ")
    assert "líneas " in notes and " de " in notes
    texts = figure_texts(figure)
    width, height = (round(v) for v in figure.bbox.size)
    _readable(texts, figure.dpi, projector_scale(width, height, explorer=True), "long text")
    assert box_overlaps([t for t in texts if t["role"] == "label"]) == []


def test_the_classroom_scores_keep_as_many_rows_as_fit(long_minilm):
    with style.classroom():
        ax = attnviz.plot_scores(long_minilm, 2, 3, 15)
    rows = len(ax.get_yticks())
    assert 4 <= rows < long_minilm.n_tokens
    notes = next(t for t in ax.texts if t.get_gid() == "notes").get_text().replace("\n", " ")
    assert f"se muestran las {rows} filas de más peso de {long_minilm.n_tokens}" in notes
    headings = [t.get_text() for t in ax.get_xticklabels()]
    assert [h.replace("\n", " ") for h in headings] == ["q·k", "q·k / √32", "softmax", "peso del modelo"]


# --------------------------------------------------------------------------- static figures of the lesson


def _static(name: str, result):
    profile = layer_profile(head_metrics(result))
    banks = [attnviz.to_words(result), attnviz.to_words(result)]
    draw = {
        "profile": lambda: attnviz.plot_profile(profile, compare=profile, labels=("frase", "corpus")),
        "compare-heatmap": lambda: attnviz.plot_compare([result, result], 1, None, source=4)[0],
        "compare-text": lambda: attnviz.plot_compare([result, result], 1, 0, source=4, kind="text")[0],
        "compare-layers": lambda: attnviz.plot_compare_layers(banks, 3, hide_special=True)[0],
        "heatmap": lambda: attnviz.plot_heatmap(result, 1, 0, source=4),
        "graph": lambda: attnviz.plot_graph(result, 1, 0),
        "grid": lambda: attnviz.plot_grid(result, selected=(1, 0)),
        "scores": lambda: attnviz.plot_scores(result, 1, 0, 4),
    }[name]
    return root_figure(draw())


STATIC = [
    "profile",
    "compare-heatmap",
    "compare-text",
    "compare-layers",
    "heatmap",
    "graph",
    "grid",
    "scores",
]


@pytest.mark.parametrize("name", STATIC)
def test_every_static_figure_reads_on_the_projector_after_modo_clase(seed_minilm, name):
    style.modo_clase()
    figure = _static(name, seed_minilm)
    png = _inline_png(figure)
    width, height = _png_size(png)
    assert width <= style.PROJECTOR_WIDTH_PX / 0.8  # never shrunk to less than 0.8 of its size
    texts = figure_texts(figure)
    sizes = _readable(texts, figure.dpi, projector_scale(width, height, explorer=False), name)
    assert sizes["label"] >= style.MIN_LABEL_PX
    if name == "profile":
        legend = figure.axes[0].get_legend()
        assert {t.get_fontsize() for t in legend.get_texts()} == {style.CLASSROOM_FONTSIZE}


@pytest.fixture(scope="module")
def agreement_minilm(minilm):
    sentence = "Los perros que persiguieron al gato cruzaron la calle."
    return attnviz.agreement_experiment(*minilm, sentence, "cruzaron", "cruzó", "perros", progress=False)


EXPERIMENT = ["importance", "importance-and-attention", "knockout", "prediction"]


@pytest.mark.parametrize("name", EXPERIMENT)
def test_the_experiment_figures_read_on_the_projector_after_modo_clase(
    agreement_minilm, minilm, beto_mlm, name
):
    style.modo_clase()
    exp = agreement_minilm
    draw = {
        "importance": lambda: attnviz.plot_importance(exp.importance),
        "importance-and-attention": lambda: attnviz.plot_importance_and_attention(
            exp.importance, exp.result, exp.subject, exp.source
        )[0],
        "knockout": lambda: attnviz.plot_knockout(attnviz.knock_out(*minilm, exp.text, "5:3")),
        "prediction": lambda: attnviz.plot_prediction(
            attnviz.extract(*beto_mlm, exp.text, mask="cruzaron"),
            attnviz.extract(*beto_mlm, exp.text, mask="cruzaron", heads_off="5:*"),
        ),
    }[name]
    figure = root_figure(draw())
    assert figure.get_figwidth() <= style.CLASSROOM_WIDTH + 1e-6
    png = _inline_png(figure)
    width, height = _png_size(png)
    texts = figure_texts(figure)
    _readable(texts, figure.dpi, projector_scale(width, height, explorer=False), name)
    for ax in figure.axes:
        ticks = [t for t in ax.get_xticklabels() if t.get_text()]
        assert overlapping(drawn_extents(figure, ticks)) == [], f"{name}: head numbers touch"
