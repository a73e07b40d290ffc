"""PNG encoding: the palette encoder maps each frame exactly as Pillow's public quantize would."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from attnviz import png
from attnviz.png import PaletteEncoder
from attnviz.render import ArcRenderer


def _indices(png: bytes) -> tuple[np.ndarray, list[int]]:
    image = Image.open(io.BytesIO(png))
    assert image.mode == "P"
    return np.asarray(image), image.getpalette()


def _public_quantize(figure, palette) -> np.ndarray:
    """What Pillow's documented API gives: an RGB copy of the canvas, quantized onto the palette."""
    rgb = Image.fromarray(np.asarray(figure.canvas.buffer_rgba())[..., :3].copy(), "RGB")
    return np.asarray(rgb.quantize(palette=palette, dither=Image.Dither.NONE))


@pytest.fixture
def two_views(minilm_result):
    """A renderer whose figure shows two different views, one after the other."""
    renderer = ArcRenderer(minilm_result)
    return renderer, [(0, 0, 1), (3, 7, 5)]


def test_frames_map_onto_the_first_palette_as_pillows_quantize_does(two_views):
    renderer, views = two_views
    encoder = PaletteEncoder()
    palettes = []
    for view in views:
        renderer.update(renderer._view(*view, None, None, "head"))
        renderer.draw()
        indices, palette = _indices(encoder.encode(renderer.figure))
        np.testing.assert_array_equal(indices, _public_quantize(renderer.figure, encoder.palette))
        palettes.append(palette)
    # One palette for every frame; the second view really is another picture.
    assert palettes[0] == palettes[1]


def test_without_the_direct_conversion_the_rgb_copy_gives_the_same_file(two_views, monkeypatch):
    renderer, views = two_views
    renderer.update(renderer._view(*views[1], None, None, "head"))
    renderer.draw()
    direct = PaletteEncoder()
    expected = direct.encode(renderer.figure)

    def refuse(*args, **kwargs):
        raise ValueError("conversion not supported")

    # Older Pillows may not map RGBA onto a palette in C: the encoder copies to RGB instead.
    monkeypatch.setattr(png, "_rgba_onto_palette", refuse)
    fallback = PaletteEncoder()
    fallback.palette = direct.palette
    assert fallback.encode(renderer.figure) == expected
