"""HeatmapRenderer: blitted frames equal full redraws, show what plot_heatmap shows, and stay readable."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from attnviz.core.aggregate import head_mean, rollout
from attnviz.explore.heatmap_render import HeatmapRenderer
from attnviz.plots import style
from attnviz.plots.labels import SOURCE_MARK

from .view_checks import drawn_extents, long_result, overlapping, tick_texts


def _pixels(png: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))


def test_blitted_frames_equal_full_redraws(beto_result):
    renderer = HeatmapRenderer(beto_result, palette=False)
    mean = head_mean(beto_result, 4)
    views = [
        ((0, 0, 0), {}),
        ((3, 5, 2), {}),
        ((3, 6, 2), {"scale": "row"}),
        ((4, 0, 7), {"matrix": mean, "title": "Capa 4 · media de las cabezas"}),
        ((11, 11, 13), {"scale": "absolute"}),
        ((3, 5, 2), {}),  # back to a scale drawn before: its colour-bar picture is reused
    ]
    for args, options in views:
        fast = _pixels(renderer.render(*args, **options))
        full = _pixels(renderer.render(*args, **options, full=True))
        assert fast.shape == full.shape
        assert (fast != full).any(axis=-1).sum() == 0, (args, options)


def test_frames_show_the_same_data_labels_and_title_as_plot_heatmap(beto_result):
    renderer = HeatmapRenderer(beto_result)
    renderer.render(3, 5, 2)
    image = renderer.image
    np.testing.assert_allclose(np.ma.getdata(image.get_array()), beto_result.attention[3, 5], rtol=1e-6)
    assert image.norm.vmax == pytest.approx(style.scale_top(beto_result.attention[3, 5], None, "head"))
    assert renderer.ax.get_title() == "Capa 3 · cabeza 5"
    assert renderer.colorbar.ax.get_ylabel() == style.colorbar_label("head")
    ys = [t.get_text() for t in tick_texts(renderer.ax.yaxis)]
    assert ys == [t if i != 2 else t + SOURCE_MARK for i, t in enumerate(beto_result.tokens)]
    renderer.render(0, 0, 0, matrix=rollout(beto_result, 5), title="Rollout", scale="absolute")
    np.testing.assert_allclose(np.ma.getdata(image.get_array()), rollout(beto_result, 5), rtol=1e-6)
    assert image.norm.vmax == 1.0 and renderer.ax.get_title() == "Rollout"
    assert renderer.colorbar.ax.get_ylabel() == style.colorbar_label("absolute")


@pytest.mark.parametrize("fontsize", [None, style.CLASSROOM_FONTSIZE])
def test_long_text_frames_zoom_on_the_source_with_readable_labels(fontsize):
    n = 300
    result = long_result(n, layers=2, heads=2)
    renderer = HeatmapRenderer(result, fontsize=fontsize, palette=False)
    assert renderer.window is not None and 16 <= renderer.window < n
    for source in (0, 150, n - 1):
        renderer.render(1, 1, source)
        start, stop = renderer.span(source)
        assert start <= source < stop and stop - start == renderer.window
        assert renderer.ax.get_xlim() == (start - 0.5, stop - 0.5)
        figure = renderer.figure
        for axis in (renderer.ax.xaxis, renderer.ax.yaxis):
            labels = tick_texts(axis)
            assert {t.get_fontsize() for t in labels} == {fontsize or style.FONTSIZE}
            boxes = drawn_extents(figure, labels)
            assert not overlapping(boxes)
            # Inside the picture, and clear of the axis title pinned when the renderer was built.
            assert all(b.x0 >= 0 and b.y1 <= figure.bbox.y1 for b in boxes)
            assert not overlapping([*boxes, axis.label.get_window_extent()])
        assert [round(t) for t in renderer.ax.yaxis.get_ticklocs()] == list(range(start, stop))
        notes = renderer.notes.get_text().replace("\n", " · ")
        assert f"ventana: tokens {start}–{stop - 1} de {n}" in notes


def test_short_texts_show_every_token_and_palette_pictures_stay_close(beto_result):
    renderer = HeatmapRenderer(beto_result)
    assert renderer.window is None
    palette = _pixels(renderer.render(2, 3, 4))
    exact = np.asarray(renderer.canvas.agg.buffer_rgba())[..., :3]
    # 256 colours: each channel within a few levels of the real picture.
    assert np.abs(palette.astype(int) - exact).max() <= 24
    assert np.abs(palette.astype(int) - exact).mean() < 2.0
