"""The fast renderer draws exactly what plot_arcs draws, and only the strongest links when asked."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from attnviz.explore.canvas import ArcRenderer, FigureRenderer, new_figure
from attnviz.explore.png import encode_png, png_bytes
from attnviz.plots import arc_layout, arcs

from .baseline import naive_render
from .helpers import make_result, random_attention, synthetic_result
from .view_checks import canvas_rgba, is_palette_png


def decode(png: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGBA")).astype(np.int16)


def canvas_after(renderer: ArcRenderer, png: bytes) -> np.ndarray:
    """The canvas the PNG was made from, after checking the PNG holds that canvas."""
    canvas = canvas_rgba(renderer).astype(np.int16)
    decoded = decode(png)
    assert decoded.shape == canvas.shape
    if Image.open(io.BytesIO(png)).mode == "RGB":  # lossless; "P" (palette) only above the budget
        np.testing.assert_array_equal(decoded, canvas)
    else:
        assert np.abs(decoded - canvas).mean() < 3
    return canvas


def reference_pixels(renderer: ArcRenderer, layer: int, head: int, source: int, **kwargs) -> np.ndarray:
    """plot_arcs with the renderer's options on a new figure: the full-redraw reference.

    Both lay the figure out the same way (attnviz.plots.arc_layout.figure_layout), so
    everything drawn must match.
    """
    options = {
        "fontsize": renderer.fontsize,
        "syntax": renderer.syntax,
        "scale": renderer.scale,
        "top_k": renderer.top_k,
        "values": renderer.values,
    }
    if not renderer.title:
        options["title"] = False
    if not renderer.plot.with_notes:
        options["notes"] = False
    ax = arcs.plot_arcs(renderer.result, layer, head, source, **{**options, **kwargs})
    figure = ax.figure
    figure.set_dpi(renderer.figure.dpi)
    figure.canvas.draw()
    return np.asarray(figure.canvas.buffer_rgba()).astype(np.int16)


def assert_same_picture(blitted: np.ndarray, reference: np.ndarray) -> None:
    assert blitted.shape == reference.shape
    difference = np.abs(blitted - reference).max(axis=-1)
    # Anti-aliased edges may round differently; nothing else may change.
    assert (difference > 8).sum() <= 20, f"{(difference > 8).sum()} pixels differ"
    assert difference.mean() < 0.05


@pytest.mark.parametrize("fixture", ["minilm_result", "beto_result"])
def test_blitted_redraws_equal_plot_arcs_pixel_for_pixel(request, fixture):
    result = request.getfixturevalue(fixture)
    renderer = ArcRenderer(result)
    # A sequence, so that highlights and values left by one view must vanish in the next.
    for layer, head, source in [(0, 0, 1), (3, 5, 4), (3, 5, 0), (5, 11, result.n_tokens - 1), (1, 2, 2)]:
        png = renderer.render(layer, head, source)
        assert_same_picture(canvas_after(renderer, png), reference_pixels(renderer, layer, head, source))


@pytest.mark.parametrize(
    ("fixture", "figure"),
    [
        ("minilm_result", {}),
        ("beto_result", {"fontsize": 16, "colorbar": "top", "width": 8.0, "height": 3.3}),
    ],
)
def test_without_notes_the_renderer_and_plot_arcs_leave_them_out_alike(request, fixture, figure):
    """The explorer's pictures (title=False, notes=False): the notes are not drawn and take no room,
    the picture is plot_arcs(..., notes=False)'s, and the notes stay on the plot as one line of text."""
    result = request.getfixturevalue(fixture)
    renderer = ArcRenderer(result, title=False, notes=False, **figure)
    with_notes = ArcRenderer(result, title=False, **figure)
    reference = {"colorbar": "top", "figsize": (8.0, 3.3)} if figure else {}
    for layer, head, source in [(0, 0, 1), (3, 5, 4), (5, 11, result.n_tokens - 1)]:
        png = renderer.render(layer, head, source)
        assert_same_picture(
            canvas_after(renderer, png), reference_pixels(renderer, layer, head, source, **reference)
        )
        with_notes.render(layer, head, source)
        assert not renderer.plot.artists.notes.get_visible()
        assert renderer.plot.notes_line == with_notes.plot.notes_text.replace("\n", " · ")
        assert renderer.plot.notes_line.startswith(f"Índices desde 0 · {result.model_name}")
    if figure:  # a fixed size: the arcs take the notes' room
        assert renderer.figure.get_size_inches().tolist() == with_notes.figure.get_size_inches().tolist()
        assert renderer.ax.get_window_extent().height > with_notes.ax.get_window_extent().height
    else:  # the arcs keep their height: the picture is shorter by the notes' lines
        lines = with_notes.layout.notes_lines
        room = lines * arc_layout.LINE_EM * with_notes.layout.sizes["notes"] / 72.0
        assert renderer.figure.get_figheight() == pytest.approx(
            with_notes.figure.get_figheight() - room, abs=0.01
        )
    # A figure drawn without notes is not handed to a renderer that draws them, nor the other way.
    assert ArcRenderer(result, title=False, previous=renderer, **figure).figure is not renderer.figure


def test_blitted_redraw_equals_a_full_redraw_of_the_same_figure(minilm_result):
    renderer = ArcRenderer(minilm_result)
    renderer.render(2, 3, 1)
    blitted = canvas_after(renderer, renderer.render(4, 7, 6))
    full = canvas_after(renderer, renderer.render(4, 7, 6, full=True))
    assert_same_picture(blitted, full)


def test_blitted_aggregate_and_causal_views_equal_the_reference():
    result = synthetic_result(12, causal=True)
    renderer = ArcRenderer(result)
    for source in (3, 9, 5):
        assert_same_picture(
            canvas_after(renderer, renderer.render(1, 0, source)), reference_pixels(renderer, 1, 0, source)
        )
    mean = result.attention[1].mean(axis=0)
    png = renderer.render(1, 0, 7, matrix=mean, title="media")
    assert_same_picture(
        canvas_after(renderer, png), reference_pixels(renderer, 1, 0, 7, matrix=mean, title="media")
    )


def test_a_causal_models_first_token_after_another_source_draws_no_arc():
    # Token 0 of a causal model attends to nothing else: no arc.  Going there from a view with
    # arcs used to fail inside matplotlib (an array of opacities cannot go back to none).
    result = synthetic_result(20, causal=True)
    renderer = ArcRenderer(result)
    for source in (3, 0, 5):
        png = renderer.render(0, 0, source)
        assert_same_picture(canvas_after(renderer, png), reference_pixels(renderer, 0, 0, source))
        (arcs_shown,) = [c for c in renderer.ax.collections if c.get_gid() == "arcs"]
        assert arcs_shown.get_visible() is (source != 0)


def _count_label_draws(monkeypatch) -> list[str]:
    """Every token label drawn from now on (their gids), pasted ones excluded."""
    from matplotlib.text import Text

    drawn: list[str] = []
    original = Text.draw

    def draw(self, renderer):
        if (self.get_gid() or "").startswith("token-"):
            drawn.append(self.get_gid())
        return original(self, renderer)

    monkeypatch.setattr(Text, "draw", draw)
    return drawn


def test_highlighted_labels_drawn_once_are_pasted_back_exactly(minilm_result, monkeypatch):
    renderer = ArcRenderer(minilm_result)
    drawn = _count_label_draws(monkeypatch)
    views = [(0, 0, 1), (2, 3, 1), (4, 1, 6), (2, 3, 1), (4, 1, 6)]
    draws_per_view = []
    for view in views:
        before = len(drawn)
        png = renderer.render(*view)
        draws_per_view.append(len(drawn) - before)
        assert_same_picture(canvas_after(renderer, png), reference_pixels(renderer, *view))
    # The first views draw their source and most attended labels (the very first keeps no picture
    # of them: a new sentence's first picture measures nothing); seen again, both are pasted.
    assert draws_per_view[0] >= 1
    assert draws_per_view[3:] == [0, 0]


def test_labels_that_touch_each_other_are_drawn_over_the_arcs_every_time(monkeypatch):
    # A causal model's 30 labels all change colour with the source, and neighbours' boxes meet.
    result = synthetic_result(30, causal=True)
    renderer = ArcRenderer(result)
    drawn = _count_label_draws(monkeypatch)
    counts = []
    for source in (1, 2, 1):
        before = len(drawn)
        png = renderer.render(0, 0, source)
        counts.append(len(drawn) - before)
        assert_same_picture(canvas_after(renderer, png), reference_pixels(renderer, 0, 0, source))
    # The second visit of source 1 pastes the lone labels but draws the ones that touch.
    assert 0 < counts[2] < counts[0]


def test_long_input_blits_the_reference_with_top_k():
    result = synthetic_result(80, seed=3)
    renderer = ArcRenderer(result)
    for layer, head, source in [(0, 1, 10), (1, 0, 70)]:
        assert_same_picture(
            canvas_after(renderer, renderer.render(layer, head, source)),
            reference_pixels(renderer, layer, head, source),
        )


def drawn_targets(renderer: ArcRenderer, source: int) -> set[int]:
    """Each arc ends at its target's x position (the token's index, or its place in a focused layout)."""
    x = renderer.layout.positions(source)
    index = {round(float(xi), 6): i for i, xi in enumerate(x)}
    ends = {index[round(float(seg[-1][0]), 6)] for seg in renderer.plot.artists.arcs.get_segments()}
    starts = {index[round(float(seg[0][0]), 6)] for seg in renderer.plot.artists.arcs.get_segments()}
    assert starts == {source}
    return ends


@pytest.mark.parametrize("top_k", [1, 3, 7])
def test_top_k_keeps_the_k_largest_weights(top_k):
    result = synthetic_result(30, seed=top_k)
    renderer = ArcRenderer(result, top_k=top_k)
    source = 11
    renderer.render(1, 1, source)
    row = result.attention[1, 1, source].astype(np.float64)
    others = [j for j in np.argsort(-row, kind="stable") if j != source]
    assert drawn_targets(renderer, source) == set(map(int, others[:top_k]))
    weakest_drawn = min(row[j] for j in others[:top_k])
    assert all(row[j] <= weakest_drawn for j in others[top_k:])


def test_long_inputs_draw_the_24_strongest_links_by_default():
    result = synthetic_result(100, seed=5)
    renderer = ArcRenderer(result)
    renderer.render(0, 1, 40)
    row = result.attention[0, 1, 40]
    expected = [int(j) for j in np.argsort(-row, kind="stable") if j != 40][: arc_layout.AUTO_TOP_K]
    assert drawn_targets(renderer, 40) == set(expected)
    assert "75 enlaces débiles ocultos" in renderer.plot.artists.notes.get_text()


def test_picture_changes_with_layer_head_and_source(minilm_result):
    renderer = ArcRenderer(minilm_result)
    pictures = [renderer.render(*view) for view in [(0, 0, 1), (1, 0, 1), (1, 4, 1), (1, 4, 3)]]
    assert len(set(pictures)) == 4
    # The same view gives the same bytes: nothing accumulates on the reused figure.
    assert renderer.render(0, 0, 1) == pictures[0]


def test_png_bytes_round_trip():
    rng = np.random.default_rng(0)
    rgb = rng.integers(0, 256, size=(7, 13, 3), dtype=np.uint8)
    decoded = np.asarray(Image.open(io.BytesIO(png_bytes(rgb))).convert("RGB"))
    np.testing.assert_array_equal(decoded, rgb)


def test_naive_render_and_figure_renderer_give_pngs(beto_result):
    naive = naive_render(beto_result, 0, 0, 1)
    fast = ArcRenderer(beto_result).render(0, 0, 1)
    assert decode(naive).shape == decode(fast).shape
    renderer = FigureRenderer((4, 3))
    one = renderer.render(lambda ax: ax.plot([0, 1], [0, 1]))
    two = renderer.render(lambda ax: ax.plot([0, 1], [1, 0]))
    assert one != two and decode(one).shape == (300, 400, 4)
    # The figure is cleared between calls: a redraw of the first gives the first.
    assert renderer.render(lambda ax: ax.plot([0, 1], [0, 1])) == one


def test_word_level_result_renders(beto_result):
    from attnviz.core.words import to_words

    words = to_words(beto_result)
    renderer = ArcRenderer(words)
    assert_same_picture(canvas_after(renderer, renderer.render(2, 3, 2)), reference_pixels(renderer, 2, 3, 2))


def test_palette_pictures_are_faithful_and_a_third_of_the_bytes():
    result = synthetic_result(40, layers=1, heads=1, seed=2)
    renderer = ArcRenderer(result)
    png = renderer.render(0, 0, 20)
    assert Image.open(io.BytesIO(png)).mode == "P"
    lossless = encode_png(renderer.figure, max_bytes=None)
    assert Image.open(io.BytesIO(lossless)).mode == "RGB" and len(png) < len(lossless) / 2
    difference = np.abs(decode(png) - canvas_rgba(renderer).astype(np.int16))
    assert difference.max() <= 40 and difference.mean() < 1
    # Over the byte budget, a plain encode also falls back to a palette.
    fallback = encode_png(renderer.figure, max_bytes=len(lossless) - 1)
    assert Image.open(io.BytesIO(fallback)).mode == "P"


def test_figure_renderer_heatmap_equals_a_plain_draw(beto_result):
    from attnviz.plots.heatmap import plot_heatmap

    renderer = FigureRenderer((6, 5))
    renderer.render(lambda ax: plot_heatmap(beto_result, 1, 1, ax))
    cached = decode(renderer.render(lambda ax: plot_heatmap(beto_result, 2, 3, ax)))
    figure = new_figure(6, 5)
    plot_heatmap(beto_result, 2, 3, figure.add_subplot())
    figure.canvas.draw()
    assert_same_picture(cached, np.asarray(figure.canvas.buffer_rgba()).astype(np.int16))


def test_a_colour_bar_drawn_before_is_reused_and_still_exact(minilm_result):
    renderer = ArcRenderer(minilm_result, scale="row")
    rows = minilm_result.attention
    views = [(layer, head, 1) for layer in range(6) for head in range(12)]
    scales = [arc_layout.colour_scale_max(rows[layer, head, 1]) for layer, head, _ in views]
    # Two views with the same rounded scale, and a different one between them.
    first = next(i for i, s in enumerate(scales) if scales.count(s) > 1)
    again = next(i for i, s in enumerate(scales) if s == scales[first] and i != first)
    other = next(i for i, s in enumerate(scales) if s != scales[first])
    for index in (first, other, again):
        png = renderer.render(*views[index])
    assert sum(key[0] == "colorbar" for key in renderer.canvas.pictures) == 2
    assert_same_picture(canvas_after(renderer, png), reference_pixels(renderer, *views[again]))


def test_a_new_sentence_of_the_same_length_takes_over_the_figure():
    rng = np.random.default_rng(7)
    first = make_result(random_attention(rng, (2, 2, 6, 6)))
    second = make_result(
        random_attention(rng, (2, 2, 6, 6)), tokens=("[CLS]", "Un", "pato", "nada", "!", "[SEP]")
    )
    renderer = ArcRenderer(first)
    renderer.render(0, 1, 2)
    figure = renderer.figure
    again = ArcRenderer(second, previous=renderer)
    assert again.figure is figure  # no new figure, Axes or colour bar
    assert [label.get_text() for label in again._all_labels] == list(second.tokens)
    for view in [(1, 0, 3), (0, 1, 1)]:
        assert_same_picture(canvas_after(again, again.render(*view)), reference_pixels(again, *view))
    # Built with other options, a renderer makes a figure of its own.
    assert ArcRenderer(second, previous=again, fontsize=16).figure is not figure


def test_a_sentence_of_another_length_lays_a_spare_figure_out_again():
    sentences = [synthetic_result(12, seed=1), synthetic_result(20, seed=2), synthetic_result(100, seed=3)]
    sentences.append(synthetic_result(6, seed=4, causal=True))
    figure, renderer = None, None
    for result in sentences:
        renderer = ArcRenderer(result, previous=renderer)
        assert figure is None or renderer.figure is figure  # one figure, laid out again each time
        figure = renderer.figure
        for view in [(0, 1, 2), (1, 0, result.n_tokens - 2)]:
            png = renderer.render(*view)
            assert_same_picture(canvas_after(renderer, png), reference_pixels(renderer, *view))


@pytest.mark.parametrize(
    "peak,expected",
    [(0.5, 0.5), (0.46, 0.5), (0.56, 0.6), (0.81, 1.0), (0.0757, 0.08), (0.0021, 0.0025), (0.101, 0.125)],
)
def test_colour_scale_rounds_the_row_maximum_up(peak, expected):
    """Round numbers on the colour bar, and the strongest link still at 75 % or more of it."""
    row = np.array([peak / 3, peak, 0.0])
    top = arc_layout.colour_scale_max(row)
    assert top == pytest.approx(expected)
    assert peak / top >= 0.75
    assert arc_layout.colour_scale_max(row, "absolute") == 1.0


def test_colour_scale_keeps_the_strongest_link_in_the_top_quarter():
    peaks = np.geomspace(1 / 512, 1.0, 2000)
    ratios = [peak / arc_layout.colour_scale_max(np.array([peak])) for peak in peaks]
    assert min(ratios) >= 0.75 - 1e-9 and max(ratios) <= 1.0


def test_a_long_sentence_keeps_one_palette_and_a_faithful_picture():
    result = synthetic_result(200)
    renderer = ArcRenderer(result)
    first = renderer.render(0, 0, 5)
    palette = renderer.canvas.encoder.palette
    second = renderer.render(0, 1, 7)
    # One palette for every frame of the figure, chosen from the first.
    assert renderer.canvas.encoder.palette is palette
    assert is_palette_png(first) and is_palette_png(second)
    canvas_after(renderer, second)


def test_a_long_inputs_lone_labels_are_pasted_back_exactly(monkeypatch):
    # Focused, the labels drawn over the source's background (far targets, the highlighted source
    # and maximum) that touch nothing are pasted when seen again from that source.
    result = synthetic_result(80, seed=3)
    renderer = ArcRenderer(result)
    assert renderer.layout.focus
    drawn = _count_label_draws(monkeypatch)
    views = [(0, 1, 10), (1, 0, 10), (0, 1, 70), (1, 1, 10), (1, 0, 10), (1, 1, 10)]
    first: dict[tuple[int, int, int], np.ndarray] = {}
    counts = []
    for view in views:
        before = len(drawn)
        canvas = canvas_after(renderer, renderer.render(*view))
        counts.append(drawn[before:])
        if view in first:
            np.testing.assert_array_equal(canvas, first[view])  # pasted, to the last bit
        else:
            first[view] = canvas
            assert_same_picture(canvas, reference_pixels(renderer, *view))
    # The first view from a source keeps no pictures; the next ones do: a new view from that source
    # pastes the boxed source, and a view seen again pastes every label.
    assert "token-10" in counts[1] and "token-10" not in counts[3]
    assert counts[4] == counts[5] == []


@pytest.mark.slow  # 2-3 s: `make test` runs it, the developer loop does not
def test_a_long_sentence_of_another_length_keeps_the_layout_and_its_pictures():
    # Focused, the token count only moves tokens within a view: the figure is not laid out again.
    renderer = ArcRenderer(synthetic_result(100, seed=3))
    renderer.render(0, 1, 10)
    kept = dict(renderer.canvas.pictures)
    again = ArcRenderer(synthetic_result(101, seed=4), previous=renderer)
    assert again.figure is renderer.figure and again.layout.focus
    assert again.layout.shape() == renderer.layout.shape() and kept
    assert all(again.canvas.pictures.get(key) is picture for key, picture in kept.items())
    for view in [(0, 1, 10), (1, 0, 100), (1, 1, 50)]:
        assert_same_picture(canvas_after(again, again.render(*view)), reference_pixels(again, *view))
    # Not focused, the token count places every token: another length is another layout.
    short = [arc_layout.ArcLayout.build(tuple(f"t{i}" for i in range(n)), None, 600.0) for n in (12, 13)]
    assert not short[0].focus and short[0].shape() != short[1].shape()
