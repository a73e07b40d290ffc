"""PNG encoding: the palette encoder maps each frame exactly as Pillow's public quantize would."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from attnviz.explore.canvas import ArcRenderer
from attnviz.explore.png import PaletteEncoder


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
        renderer.render(*view)
        indices, palette = _indices(encoder.encode(renderer.figure))
        np.testing.assert_array_equal(indices, _public_quantize(renderer.figure, encoder.palette))
        palettes.append(palette)
    # One palette for every frame; the second view really is another picture.
    assert palettes[0] == palettes[1]


def test_each_frame_is_the_file_pillows_public_api_writes(two_views):
    """Byte for byte: an RGB copy of the canvas, quantized onto the palette, saved by Pillow."""
    renderer, views = two_views
    encoder = PaletteEncoder(compress_level=3)
    for view in views:
        renderer.render(*view)
        data = encoder.encode(renderer.figure)
        rgb = Image.fromarray(np.asarray(renderer.figure.canvas.buffer_rgba())[..., :3].copy(), "RGB")
        out = io.BytesIO()
        rgb.quantize(palette=encoder.palette, dither=Image.Dither.NONE).save(
            out, format="png", compress_level=3
        )
        assert data == out.getvalue()


def test_the_palette_keeps_pure_white_and_the_extra_colours(two_views):
    renderer, views = two_views
    extra = np.array([[200, 30, 40], [10, 120, 200]], dtype=np.uint8)
    encoder = PaletteEncoder(colors=extra)
    renderer.render(*views[0])
    indices, palette = _indices(encoder.encode(renderer.figure))
    colours = np.array(palette, dtype=np.int16).reshape(-1, 3)
    assert tuple(colours[0]) == (255, 255, 255) and tuple(colours[1]) == (0, 0, 0)
    # The background is pure white, and each extra colour has a palette entry within a few levels.
    rgb = np.asarray(renderer.figure.canvas.buffer_rgba())[..., :3]
    white = (rgb == 255).all(axis=-1)
    assert white.any() and (indices[white] == 0).all()
    for colour in extra.astype(np.int16):
        assert np.abs(colours - colour).max(axis=1).min() <= 8
