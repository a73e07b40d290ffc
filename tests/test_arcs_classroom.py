"""The arc picture in class: readable sizes, numbers at their tokens that never overlap, honest
colour scales, syntax under the tokens, long inputs focused on the source, hostile text."""

from __future__ import annotations

import io
import warnings

import matplotlib.text
import numpy as np
import pytest
from matplotlib.colors import to_hex
from PIL import Image

import attnviz
from attnviz.explore.canvas import ArcRenderer
from attnviz.explore.session import Controls
from attnviz.plots import arc_layout, arcs
from attnviz.plots.labels import MAX_LABEL_CHARS, PLACEHOLDER
from attnviz.plots.style import CLASSROOM_FONTSIZE, SCALE_LABELS, colorbar_label, font_sizes

from .conftest import SEED
from .helpers import make_result, random_attention, synthetic_result
from .test_render import assert_same_picture, canvas_after, reference_pixels
from .view_checks import canvas_rgba, picture_text

SIZES = [None, CLASSROOM_FONTSIZE]


def _texts(ax, prefix: str) -> list:
    """Visible texts of ``ax`` (tick labels included) whose gid starts with ``prefix``."""
    found = [t for t in [*ax.texts, *ax.get_xticklabels()] if (t.get_gid() or "").startswith(prefix)]
    return [t for t in found if t.get_visible() and t.get_text()]


def _extents(texts, renderer) -> list:
    return [t.get_window_extent(renderer) for t in texts]


def _assert_apart(boxes, what: str) -> None:
    for k, a in enumerate(boxes):
        for b in boxes[k + 1 :]:
            assert not a.overlaps(b), f"two {what} overlap: {a} and {b}"


def _outline(text, renderer) -> np.ndarray:
    """The four corners (pixels) of a text as drawn: rotated, with its highlight box if it has one."""
    from matplotlib.text import Text

    probe = Text(0, 0, text.get_text(), fontproperties=text.get_fontproperties(), figure=text.figure)
    box = probe.get_window_extent(renderer)
    width, height = box.width, box.height
    pad = 0.0
    if text.get_bbox_patch() is not None:
        pad = arc_layout.HIGHLIGHT_PAD_EM * text.get_fontsize() * text.figure.dpi / 72
    x0 = {"left": 0.0, "center": -width / 2, "right": -width}[text.get_horizontalalignment()]
    y0 = {"bottom": 0.0, "center": -height / 2, "top": -height}[text.get_verticalalignment()]
    corners = np.array(
        [
            [x0 - pad, y0 - pad],
            [x0 + width + pad, y0 - pad],
            [x0 + width + pad, y0 + height + pad],
            [x0 - pad, y0 + height + pad],
        ]
    )
    angle = np.radians(text.get_rotation())
    turn = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    return corners @ turn.T + text.get_transform().transform(text.get_position())


def _outlines_apart(texts, renderer, what: str) -> None:
    """No two rotated boxes overlap by more than half a pixel (separating-axis test)."""
    shapes = [_outline(t, renderer) for t in texts]
    for k, a in enumerate(shapes):
        for b in shapes[k + 1 :]:
            axes = [np.roll(s, -1, axis=0) - s for s in (a, b)]
            normals = np.concatenate(axes) @ np.array([[0.0, -1.0], [1.0, 0.0]])
            separated = False
            for normal in normals / np.linalg.norm(normals, axis=1, keepdims=True):
                pa, pb = a @ normal, b @ normal
                if min(pa.max(), pb.max()) - max(pa.min(), pb.min()) < 0.5:
                    separated = True
                    break
            assert separated, f"two {what} overlap"


def _drawn(ax):
    ax.figure.canvas.draw()
    return ax.figure.canvas.get_renderer()


def _label_x(ax, renderer, i: int) -> float:
    """Pixel x of token ``i``'s anchor: where its tick (or focused label) sits."""
    (label,) = [t for t in _texts(ax, f"token-{i}") if t.get_gid() == f"token-{i}"]
    return float(label.get_transform().transform(label.get_position())[0])


# --------------------------------------------------------------------------- numbers


CASES = {
    "seed (BETO)": lambda request: (request.getfixturevalue("beto_result"), 3, 5, 2, "all"),
    "seed (MiniLM)": lambda request: (request.getfixturevalue("minilm_result"), 2, 9, 5, "all"),
    # Nested arcs from the middle, every weight printed: the case that stacked "0.72" on "0.03".
    "nested 30": lambda request: (synthetic_result(30, seed=11), 1, 0, 15, "all"),
    # More tokens than fit in one row of numbers: numbers must move to a second row or give way.
    "dense 48": lambda request: (synthetic_result(48, seed=12), 0, 1, 24, "all"),
}


@pytest.mark.parametrize("fontsize", SIZES, ids=["normal", "clase"])
@pytest.mark.parametrize("case", list(CASES))
def test_numbers_sit_under_their_token_and_never_overlap(request, case, fontsize):
    result, layer, head, source, values = CASES[case](request)
    ax = attnviz.plot_arcs(result, layer, head, source, values=values, fontsize=fontsize)
    renderer = _drawn(ax)
    numbers = _texts(ax, "value-")
    assert numbers, "no number was printed"
    row = result.attention[layer, head, source]
    labels = _extents(_texts(ax, "token-"), renderer)
    for text in numbers:
        j = int(text.get_gid().split("-")[1])
        assert text.get_text() == f"{row[j]:.2f}"
        box = text.get_window_extent(renderer)
        # Centred over its own token, and between the baseline and the token labels.
        assert abs((box.x0 + box.x1) / 2 - _label_x(ax, renderer, j)) < 1.0
        assert box.y1 < ax.get_window_extent(renderer).y0
        assert not any(box.overlaps(label) for label in labels)
    _assert_apart(_extents(numbers, renderer), "numbers")
    _outlines_apart(_texts(ax, "token-"), renderer, "token labels")
    # Every number left out for lack of room is counted in the notes.
    others = np.array([j for j in range(result.n_tokens) if j != source])
    dropped = len(arcs.value_targets(row, source, others, values)) - len(numbers)
    notes = next(t for t in ax.texts if t.get_gid() == "notes").get_text()
    counted = f"{dropped} valores sin sitio" if dropped > 1 else "1 valor sin sitio"
    assert dropped == 0 or counted in notes.replace("\n", " ")


@pytest.mark.parametrize("fontsize", SIZES, ids=["normal", "clase"])
def test_the_renderer_places_numbers_like_plot_arcs_and_apart(beto_result, fontsize):
    renderer = ArcRenderer(beto_result, fontsize=fontsize, values="all")
    for view in [(3, 5, 2), (0, 0, 7), (11, 11, 13)]:
        png = renderer.render(*view)
        drawn = renderer.canvas.renderer()
        _assert_apart(_extents(renderer.plot.artists.values, drawn), "numbers")
        assert_same_picture(canvas_after(renderer, png), reference_pixels(renderer, *view))


def test_classroom_text_sizes(beto_result):
    sizes = font_sizes(CLASSROOM_FONTSIZE)
    ax = attnviz.plot_arcs(beto_result, 3, 5, 2, fontsize=CLASSROOM_FONTSIZE)
    assert {t.get_fontsize() for t in _texts(ax, "token-")} == {sizes["labels"]}
    assert {t.get_fontsize() for t in _texts(ax, "value-")} == {sizes["values"]}
    assert ax.title.get_fontsize() == sizes["title"]
    assert next(t for t in ax.texts if t.get_gid() == "notes").get_fontsize() == sizes["notes"]
    # No wider than a 1280-pixel screen at the default 100 dpi, and drawn at that size.
    width = ax.figure.get_figwidth() * ax.figure.dpi
    assert width <= 1280
    renderer = _drawn(ax)
    label = _texts(ax, "token-5")[0]
    # A 16-point label is 22 pixels tall at 100 dpi (its line box, with descenders).
    assert label.get_window_extent(renderer).height >= 16 * 100 / 72
    # Everything inside the figure: nothing cut at an edge.
    figure_box = ax.figure.bbox
    for text in [*_texts(ax, "token-"), *_texts(ax, "value-"), ax.title]:
        box = text.get_window_extent(renderer)
        assert figure_box.x0 <= box.x0 and box.x1 <= figure_box.x1 and figure_box.y0 <= box.y0


# --------------------------------------------------------------------------- scales


def _norm_and_label(ax):
    arcs_collection = next(c for c in ax.collections if c.get_gid() == "arcs")
    bar = ax.figure.axes[1]
    return arcs_collection.norm.vmax, bar.get_ylabel()


def test_default_scale_is_the_heads_maximum_and_says_so(minilm_result):
    r = minilm_result
    vmax, label = _norm_and_label(attnviz.plot_arcs(r, 2, 9, 5))
    assert vmax == arc_layout.colour_scale_max(r.attention[2, 9])
    assert vmax >= r.attention[2, 9].max()
    assert SCALE_LABELS["head"] in label.replace("\n", " ")
    # The same head from another token: the same scale, so one colour means one weight.
    assert _norm_and_label(attnviz.plot_arcs(r, 2, 9, 1))[0] == vmax


@pytest.mark.parametrize("scale", ["row", "absolute", "head"])
def test_every_scale_is_accepted_and_named(minilm_result, scale):
    r = minilm_result
    vmax, label = _norm_and_label(attnviz.plot_arcs(r, 2, 9, 5, scale=scale))
    expected = {
        "row": arc_layout.colour_scale_max(r.attention[2, 9, 5]),
        "absolute": 1.0,
        "head": arc_layout.colour_scale_max(r.attention[2, 9]),
    }[scale]
    assert vmax == pytest.approx(expected)
    assert SCALE_LABELS[scale] in label.replace("\n", " ")


def test_an_unknown_scale_is_a_spanish_error(minilm_result):
    with pytest.raises(attnviz.AttnvizError, match="escala"):
        attnviz.plot_arcs(minilm_result, 0, 0, 1, scale="fila")


def test_renderer_scale_per_picture_equals_plot_arcs(minilm_result):
    renderer = ArcRenderer(minilm_result, fontsize=CLASSROOM_FONTSIZE, title=False)
    for scale in ["absolute", "row", "head"]:
        png = renderer.render(2, 9, 5, scale=scale)
        assert_same_picture(canvas_after(renderer, png), reference_pixels(renderer, 2, 9, 5, scale=scale))


# --------------------------------------------------------------------------- syntax


@pytest.fixture(scope="module")
def seed_syntax(beto):
    """The seed sentence and its hand-checked annotation (the bundled gold file: no parser needed)."""
    from attnviz.syntax import from_conllu, load_gold

    model, tokenizer = beto
    result = attnviz.extract(model, tokenizer, SEED)
    (gold,) = [s for s in load_gold() if s.comment_text == SEED]
    return result, from_conllu(result, gold)


@pytest.mark.parametrize("fontsize", SIZES, ids=["normal", "clase"])
def test_dependency_arcs_hang_below_the_tokens_one_per_dependency(seed_syntax, fontsize):
    from attnviz.syntax.plots import POS_COLORS

    result, annotation = seed_syntax
    ax = attnviz.plot_arcs(result, 3, 5, 2, syntax=annotation, fontsize=fontsize)
    assert any(c.get_gid() == "arcs" for c in ax.collections)  # the main Axes comes back
    lower = arcs.dependency_axes(ax)
    assert lower is not None and lower is not ax
    renderer = _drawn(ax)
    edges = annotation.edges()
    lines = {a.get_gid(): a for a in lower.lines if (a.get_gid() or "").startswith("dep-arc-")}
    names = {t.get_gid(): t for t in lower.texts if (t.get_gid() or "").startswith("dep-label-")}
    assert len(lines) == len(names) == len(edges) > 0
    labels_bottom = min(b.y0 for b in _extents(_texts(ax, "token-"), renderer))
    word_x = {
        w: np.mean([i for i, v in enumerate(annotation.word_ids) if v == w])
        for w in range(annotation.n_words)
    }
    for dependent, governor, relation in edges:
        assert names[f"dep-label-{dependent}"].get_text() == relation
        line = lines[f"dep-arc-{dependent}"]
        # From the governor's tokens to the dependent's (a word sits at the mean of its tokens).
        ends = {round(float(x), 6) for x in np.asarray(line.get_xdata())[[0, -1]]}
        assert ends == {round(word_x[dependent], 6), round(word_x[governor], 6)}
        ys = np.asarray(line.get_ydata())
        assert ys.max() <= 0.0 + 1e-9 and ys.min() < 0.0  # hangs below its baseline
        # ...which lies under the token labels, on the screen too.
        screen = line.get_transform().transform(np.column_stack([line.get_xdata(), ys]))
        assert screen[:, 1].max() < labels_bottom
    _assert_apart(_extents(names.values(), renderer), "relation labels")
    # «cruzó» (cruz + ##ó) is the root, «perro» its subject: each token label in its word's colour.
    perro = result.tokens.index("perro")
    cruz = result.tokens.index("cruz")
    label = {i: _texts(ax, f"token-{i}")[0] for i in (perro, cruz, cruz + 1)}
    assert to_hex(label[cruz].get_color()) == to_hex(label[cruz + 1].get_color())
    assert to_hex(label[cruz].get_color()) == arcs.readable_color(POS_COLORS["VERB"])
    assert label[perro].get_bbox_patch() is not None  # the source keeps its blue box
    legend = {t.get_text() for t in lower.texts if (t.get_gid() or "").startswith("pos-")}
    assert {"sustantivo", "verbo", "determinante"} <= legend


def test_syntax_in_the_renderer_equals_plot_arcs(seed_syntax):
    result, annotation = seed_syntax
    renderer = ArcRenderer(result, syntax=annotation, fontsize=CLASSROOM_FONTSIZE)
    for view in [(3, 5, 2), (1, 1, 8)]:
        png = renderer.render(*view)
        assert_same_picture(canvas_after(renderer, png), reference_pixels(renderer, *view))


def test_syntax_true_parses_and_without_spacy_says_how_to_install(seed_syntax, monkeypatch):
    import builtins

    from attnviz.syntax import parse

    result, _ = seed_syntax
    ax = attnviz.plot_arcs(result, 3, 5, 2, syntax=True)  # the real parser, from PyPI
    lower = arcs.dependency_axes(ax)
    relations = [t.get_text() for t in lower.texts if (t.get_gid() or "").startswith("dep-label-")]
    assert sorted(relations) == sorted(edge.relation for edge in parse(result).edges())
    assert {"det", "nsubj", "obj", "acl"} <= set(relations)

    from attnviz.syntax import ParserUnavailableError, load_parser

    load_parser.cache_clear()
    real_import = builtins.__import__

    def no_spacy(name, *args, **kwargs):
        if name == "spacy" or name.startswith("spacy."):
            raise ImportError("No module named 'spacy'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_spacy)
    with pytest.raises(ParserUnavailableError, match="pip install"):
        attnviz.plot_arcs(result, 3, 5, 2, syntax=True)
    monkeypatch.undo()
    load_parser.cache_clear()


def test_an_annotation_of_another_sentence_is_refused(seed_syntax, beto):
    _, annotation = seed_syntax
    other = attnviz.extract(*beto, "Marta sonríe.")
    with pytest.raises(attnviz.AttnvizError, match="otra frase"):
        attnviz.plot_arcs(other, 0, 0, 1, syntax=annotation)


def test_word_level_syntax(seed_syntax):
    result, annotation = seed_syntax
    words = attnviz.to_words(result)
    # The token-level annotation of the same sentence serves its word level too.
    ax = attnviz.plot_arcs(words, 3, 5, 2, syntax=annotation)
    lower = arcs.dependency_axes(ax)
    xs = {int(a.get_gid().split("-")[2]): a.get_xdata() for a in lower.lines if "dep-arc" in a.get_gid()}
    persiguio = words.tokens.index("persiguió")
    assert xs[persiguio][-1] == pytest.approx(persiguio)  # one position per word
    assert len(xs) == len(annotation.edges())


# --------------------------------------------------------------------------- long inputs


@pytest.fixture(scope="module")
def long_result(beto):
    model, tokenizer = beto
    text = " ".join(attnviz.load_corpus()[:40])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = attnviz.extract(model, tokenizer, text)
    assert result.n_tokens >= 300
    return result


@pytest.mark.parametrize("fontsize", SIZES, ids=["normal", "clase"])
def test_long_input_focuses_on_the_source_with_readable_labels(long_result, fontsize):
    r = long_result
    source = r.n_tokens // 2
    ax = attnviz.plot_arcs(r, 3, 5, source, fontsize=fontsize)
    renderer = _drawn(ax)
    layout = arc_layout.ArcLayout.build(
        r.tokens, fontsize, ax.get_window_extent(renderer).width * 72 / ax.figure.dpi
    )
    assert layout.focus
    shown = _texts(ax, "token-")
    indices = {int(t.get_gid().split("-")[1]) for t in shown}
    # The window around the source, whole; the most attended token too.
    first, last = layout.window_of(source)
    assert set(range(first, last + 1)) <= indices and source in range(first, last + 1)
    assert int(np.argmax(r.attention[3, 5, source])) in indices
    _outlines_apart(shown, renderer, "token labels")
    # Labels are no smaller than asked, and the rest are counted.
    assert {t.get_fontsize() for t in shown} == {font_sizes(fontsize)["labels"]}
    notes = next(t for t in ax.texts if t.get_gid() == "notes").get_text().replace("\n", " ")
    assert f"{r.n_tokens - len(indices)} tokens sin etiqueta" in notes
    # One grey tick per token squeezed outside the window.
    (rug,) = [line for line in ax.lines if line.get_gid() == "rug"]
    x = np.asarray(rug.get_xdata()).reshape(-1, 3)  # (x, x, NaN) per tick
    outside = [i for i in range(r.n_tokens) if not first <= i <= last]
    np.testing.assert_array_equal(x[:, 0], layout.positions(source)[outside])
    assert np.isnan(x[:, 2]).all()
    # One tick per token, in order; the unreadable ones empty.
    expected = [label if i in indices else "" for i, label in enumerate(layout.labels)]
    assert [t.get_text() for t in ax.get_xticklabels()] == expected


def test_long_input_renderer_equals_plot_arcs_and_stays_focused(long_result):
    renderer = ArcRenderer(long_result, fontsize=CLASSROOM_FONTSIZE)
    n = long_result.n_tokens
    for view in [(3, 5, n // 2), (0, 0, 1), (11, 2, n - 2)]:
        png = renderer.render(*view)
        assert_same_picture(canvas_after(renderer, png), reference_pixels(renderer, *view))
        _outlines_apart(renderer._shown_labels, renderer.canvas.renderer(), "token labels")


# --------------------------------------------------------------------------- hostile text


def _hostile_result():
    word = "supercalifragilístico" * 500  # 10,500 characters
    tokens = ("[CLS]", "Hola", "🦄", "猫", word, "$5", "[SEP]")
    rng = np.random.default_rng(3)
    return make_result(random_attention(rng, (1, 1, 7, 7)), tokens=tokens, special=(True, *[False] * 5, True))


def test_missing_glyphs_become_a_placeholder_without_warnings():
    result = _hostile_result()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # "Glyph … missing from font" would fail here
        for source in (2, 3):
            ax = attnviz.plot_arcs(result, 0, 0, source, values="all")
            buffer = io.BytesIO()
            ax.figure.savefig(buffer, format="png")
            assert PLACEHOLDER in ax.get_title()
        renderer = ArcRenderer(result)
        png = renderer.render(0, 0, 3)
    assert Image.open(io.BytesIO(png)).size[0] > 0
    texts = [t.get_text() for t in ax.get_xticklabels()]
    assert texts[2] == PLACEHOLDER and texts[3] == PLACEHOLDER
    assert texts[5] == r"\$5"  # never read as mathtext


def test_a_ten_thousand_character_word_is_shortened_in_labels_and_title():
    result = _hostile_result()
    ax = attnviz.plot_arcs(result, 0, 0, 4)
    label = ax.get_xticklabels()[4].get_text()
    assert len(label) <= MAX_LABEL_CHARS and label.endswith("…")
    title = ax.get_title()
    assert "…" in title and len(title) < 120
    renderer = _drawn(ax)
    assert ax.title.get_window_extent(renderer).width <= ax.figure.bbox.width


# --------------------------------------------------------------------------- bytes


def test_a_move_at_fourteen_tokens_is_a_small_faithful_palette_png(beto_result):
    assert beto_result.n_tokens == 14
    renderer = ArcRenderer(beto_result)
    for view in [(3, 5, 2), (0, 0, 7), (7, 3, 12)]:
        png = renderer.render(*view)
        assert len(png) <= 35 * 1024
        image = Image.open(io.BytesIO(png))
        assert image.mode == "P"
        # No more pixels than a notebook shows.
        assert image.size[0] <= 1280
        difference = np.abs(
            np.asarray(image.convert("RGB")).astype(np.int16)
            - canvas_rgba(renderer)[..., :3].astype(np.int16)
        )
        assert difference.mean() < 0.5
        assert np.percentile(difference.max(axis=-1), 99.9) <= 16


# --------------------------------------------------------------------------- projector: wide and short

#: The explorer's classroom figure (attnviz.explore.session.Controls.arc_figure): 8 x 3.1 inches, colour bar
#: on its own line above the arcs.
PROJECTOR = Controls(classroom=True).arc_figure
PROJECTOR_SIZE = (PROJECTOR["width"], PROJECTOR["height"])
#: The tallest picture under the explorer's sliders on a 1280x720 projector at 150 % zoom:
#: JupyterLab leaves 359 - 64 CSS px under the slider's row and the title, at 673 CSS px wide.
MAX_PROJECTOR_HEIGHT = 8.0 * (359 - 64) / 673


def _projector_renderer(result, **options) -> ArcRenderer:
    return ArcRenderer(
        result, fontsize=CLASSROOM_FONTSIZE, title=False, notes=False, **{**PROJECTOR, **options}
    )


def _inside_figure(texts, renderer, figure) -> None:
    box = figure.bbox
    for text in texts:
        extent = text.get_window_extent(renderer)
        assert box.x0 <= extent.x0 and extent.x1 <= box.x1, f"{text.get_text()!r} is cut at a side"
        assert box.y0 <= extent.y0 and extent.y1 <= box.y1, f"{text.get_text()!r} is cut at the top or bottom"


def _drawn_texts(figure) -> list:
    from matplotlib.text import Text

    texts = [t for t in figure.findobj(Text) if t.get_visible() and t.get_text().strip()]
    assert texts
    return texts


@pytest.fixture(scope="module")
def seed_minilm(minilm):
    return attnviz.extract(*minilm, SEED)


@pytest.mark.parametrize("fixture", ["seed_minilm", "beto_result"])
def test_the_projector_figure_labels_every_token_of_the_seed_and_keeps_its_size(request, fixture):
    """Issue 10: at the explorer's classroom size every token of the seed keeps its label (19 with
    the offline model, 14 with BETO); the colour bar's line leaves the whole width to them."""
    result = request.getfixturevalue(fixture)
    width, height = PROJECTOR_SIZE
    plan = arc_layout.figure_layout(
        result, CLASSROOM_FONTSIZE, width=width, height=height, title=False, colorbar="top", notes=False
    )
    assert plan.size == PROJECTOR_SIZE
    assert not plan.layout.focus and plan.layout.rotation in (45, 90)
    # The arcs' Axes spans the figure but for the labels' and numbers' overhang.
    assert plan.main[2] >= 0.9
    assert plan.main[3] * PROJECTOR_SIZE[1] * 72 >= arc_layout.MIN_ARC_AREA_EM * CLASSROOM_FONTSIZE
    renderer = _projector_renderer(result)
    png = renderer.render(0, 0, 1)
    assert Image.open(io.BytesIO(png)).size == (1280, 496)  # as many pixels as a notebook shows
    text = picture_text(renderer)
    assert [t.gid for t in text.labels] == [f"token-{i}" for i in range(result.n_tokens)]
    drawn = renderer.canvas.renderer()
    _outlines_apart(renderer._all_labels, drawn, "token labels")
    _assert_apart(_extents(renderer.plot.artists.values, drawn), "numbers")
    _inside_figure(_drawn_texts(renderer.figure), drawn, renderer.figure)


@pytest.mark.parametrize(
    "text",
    [
        "El perro que persiguió al gato cruzó la calle y se durmió bajo el árbol grande.",
        "Los estudiantes de la universidad, que llegaron tarde a la clase de inteligencia artificial, "
        "preguntaron por qué la atención no es una explicación.",
    ],
    ids=["30-tokens", "long-words"],
)
@pytest.mark.parametrize("model", ["minilm", "beto"])
def test_a_long_sentence_on_the_projector_focuses_and_still_fits_under_the_sliders(request, model, text):
    result = attnviz.extract(*request.getfixturevalue(model), text)
    assert 22 <= result.n_tokens <= 48
    renderer = _projector_renderer(result)
    width, height = renderer.figure.get_size_inches()
    assert width == PROJECTOR_SIZE[0] and PROJECTOR_SIZE[1] <= height <= MAX_PROJECTOR_HEIGHT
    assert renderer.layout.focus
    source = result.n_tokens // 2
    for view in [(0, 0, 1), (2, 3, source), (1, 1, result.n_tokens - 1)]:
        png = renderer.render(*view)
        assert_same_picture(
            canvas_after(renderer, png),
            reference_pixels(renderer, *view, colorbar="top", figsize=PROJECTOR_SIZE),
        )
        drawn = renderer.canvas.renderer()
        shown = picture_text(renderer)
        assert len(shown.labels) >= 7 and {t.fontsize for t in shown.labels} == {CLASSROOM_FONTSIZE}
        _assert_apart(_extents(renderer.plot.artists.values, drawn), "numbers")
        _inside_figure(_drawn_texts(renderer.figure), drawn, renderer.figure)


@pytest.mark.parametrize("scale", ["head", "absolute", "row"])
def test_the_top_colour_bar_names_its_scale_and_its_ends(seed_minilm, scale):
    ax = attnviz.plot_arcs(
        seed_minilm, 2, 9, 5, scale=scale, fontsize=CLASSROOM_FONTSIZE, colorbar="top", figsize=PROJECTOR_SIZE
    )
    vmax = arc_layout.scale_top(seed_minilm.attention[2, 9], 5, scale)
    texts = {t.get_gid(): t.get_text() for t in ax.figure.findobj(matplotlib.text.Text) if t.get_gid()}
    assert texts["colorbar-label"] == colorbar_label(scale)
    assert (texts["colorbar-min"], texts["colorbar-max"]) == ("0", f"{vmax:g}")
    bar = next(a for a in ax.figure.axes if a is not ax)
    renderer = _drawn(ax)
    notes = next(t for t in ax.texts if t.get_gid() == "notes").get_window_extent(renderer)
    # A horizontal bar on its own line: above the arcs, below the notes, right-aligned with them.
    box = bar.get_window_extent(renderer)
    assert box.width > 5 * box.height
    assert ax.get_window_extent(renderer).y1 < box.y0 and box.y1 < notes.y0
    assert not bar.xaxis.get_visible()  # its ends are texts: no ticks to crowd the line
    _inside_figure(_drawn_texts(ax.figure), renderer, ax.figure)


def test_a_reused_projector_figure_draws_the_next_sentence_like_plot_arcs(seed_minilm, minilm):
    first = _projector_renderer(seed_minilm)
    first.render(0, 0, 1, scale="absolute")
    figure = first.figure
    # Another length: the figure handed over is laid out again, and its colour bar keeps no ticks.
    longer = attnviz.extract(*minilm, SEED + " Después se durmió.")
    second = _projector_renderer(longer, previous=first)
    assert second.figure is figure
    for view, scale in [((0, 0, 1), "head"), ((3, 2, 4), "row")]:
        png = second.render(*view, scale=scale)
        reference = reference_pixels(second, *view, scale=scale, colorbar="top", figsize=PROJECTOR_SIZE)
        assert_same_picture(canvas_after(second, png), reference)


def test_a_given_height_squeezes_the_arcs_no_further_than_their_least_height(seed_minilm):
    tall = arc_layout.figure_layout(seed_minilm, CLASSROOM_FONTSIZE, width=8.0, height=6.0, colorbar="top")
    assert tall.size == (8.0, 6.0)
    short = arc_layout.figure_layout(seed_minilm, CLASSROOM_FONTSIZE, width=8.0, height=1.0, colorbar="top")
    arcs_points = short.main[3] * short.size[1] * 72
    assert arcs_points == pytest.approx(arc_layout.MIN_ARC_AREA_EM * CLASSROOM_FONTSIZE, abs=0.1)
    assert short.size[1] > 1.0  # it grows rather than squash the arcs more
    # With the colour bar on the right too: the height is kept.
    right = arc_layout.figure_layout(seed_minilm, CLASSROOM_FONTSIZE, width=12.8, height=5.0)
    assert right.size == (12.8, 5.0)


def test_an_unknown_colour_bar_place_is_a_spanish_error(seed_minilm):
    with pytest.raises(attnviz.AttnvizError, match="colorbar debe ser"):
        attnviz.plot_arcs(seed_minilm, 0, 0, 1, colorbar="left")


def test_a_top_colour_bar_on_an_axes_of_ones_own_sits_above_it(seed_minilm):
    import matplotlib.pyplot as plt

    figure, ax = plt.subplots(figsize=(8, 4), layout="constrained")
    attnviz.plot_arcs(seed_minilm, 2, 9, 5, ax=ax, colorbar="top", fontsize=CLASSROOM_FONTSIZE)
    renderer = _drawn(ax)
    (bar,) = ax.child_axes
    box, main = bar.get_window_extent(renderer), ax.get_window_extent(renderer)
    assert main.y1 < box.y0 and box.x1 < main.x1 and box.width > 5 * box.height
    notes = next(t for t in ax.texts if t.get_gid() == "notes").get_window_extent(renderer)
    assert box.y1 < notes.y0
    plt.close(figure)
