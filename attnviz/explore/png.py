"""PNG bytes from a matplotlib canvas, fast: zlib at level 1 with no row filter, or a 256-colour palette.

A slider move sends one picture over a student's link: :class:`PaletteEncoder` makes it a third of RGB's
size, mapping every frame onto one palette per figure (faster than choosing a palette per frame).
"""

from __future__ import annotations

import io
import struct
import zlib
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

#: zlib level 1: several times faster than matplotlib's default (6), ~15% bigger files.
PNG_COMPRESS_LEVEL = 1
#: Above this a picture is re-encoded with a palette, so that one explorer view (picture in
#: base64 plus the weights table) stays under 200 KB in a saved notebook at any length.
PNG_BUDGET = 100 * 1024


def encode_png(figure: Figure, max_bytes: int | None = PNG_BUDGET) -> bytes:
    """The figure's Agg buffer as PNG bytes: RGB (the figure is opaque), no row filter.

    Pillow's search for a filter per row is most of its time; on a mostly white picture zlib alone is
    several times faster, and as small.  Above ``max_bytes`` (hundreds of token labels) a 256-colour
    palette is used: about a quarter of the bytes, each channel within a few levels of the original.
    """
    canvas: FigureCanvasAgg = figure.canvas  # type: ignore[assignment]
    width, height = canvas.get_width_height(physical=True)
    rgb = np.asarray(canvas.buffer_rgba()).reshape(height, width, 4)[..., :3]
    data = png_bytes(rgb)
    if max_bytes is not None and len(data) > max_bytes:
        from PIL import Image

        image = Image.fromarray(np.ascontiguousarray(rgb), "RGB")
        paletted = image.quantize(256, method=Image.Quantize.FASTOCTREE, dither=Image.Dither.NONE)
        data = _save(paletted, PNG_COMPRESS_LEVEL)
    return data


def png_bytes(rgb: np.ndarray, compress_level: int = PNG_COMPRESS_LEVEL) -> bytes:
    """Encode an ``[h, w, 3]`` uint8 array as a PNG file (8-bit RGB, filter "none")."""
    height, width, _ = rgb.shape
    scanlines = np.zeros((height, 1 + 3 * width), dtype=np.uint8)
    scanlines[:, 1:] = rgb.reshape(height, 3 * width)
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    chunks = [
        (b"IHDR", header),
        (b"IDAT", zlib.compress(scanlines.tobytes(), compress_level)),
        (b"IEND", b""),
    ]
    return b"\x89PNG\r\n\x1a\n" + b"".join(
        struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))
        for tag, data in chunks
    )


class PaletteEncoder:
    """8-bit palette PNGs of one figure's frames, all with one palette chosen from the first.

    The palette is an octree quantisation of the first frame and ``colors`` (every colour later frames
    may bring), so a frame with other arcs maps onto it within a few levels per channel.
    """

    def __init__(self, colors: np.ndarray | None = None, compress_level: int = PNG_COMPRESS_LEVEL) -> None:
        self.colors = None if colors is None else np.asarray(colors, dtype=np.uint8).reshape(-1, 3)
        self.compress_level = compress_level
        self.palette: Any = None

    def encode(self, figure: Figure) -> bytes:
        """The figure's canvas as a palette PNG."""
        from PIL import Image

        canvas: FigureCanvasAgg = figure.canvas  # type: ignore[assignment]
        # Pillow maps only RGB onto a palette: the raw decoder reads the opaque RGBA buffer
        # straight into an RGB image (one pass in C, no numpy copy).
        image = Image.frombytes(
            "RGB", canvas.get_width_height(physical=True), canvas.buffer_rgba(), "raw", "RGBX"
        )
        if self.palette is None:
            self.palette = self._choose(image)
        return _save(image.quantize(palette=self.palette, dither=Image.Dither.NONE), self.compress_level)

    def _choose(self, first: Any) -> Any:
        from PIL import Image

        # Every third pixel each way: the octree sees the same colours, nine times faster.
        sample = first.resize((max(1, first.width // 3), max(1, first.height // 3)), Image.Resampling.NEAREST)
        if self.colors is not None and len(self.colors):
            # The extra colours as a strip as wide as the sample, each repeated so the octree
            # weighs them like a visible area of the picture.
            strip = np.repeat(self.colors, 8, axis=0)
            rows = -(-len(strip) // sample.width)
            padded = np.full((rows * sample.width, 3), 255, dtype=np.uint8)
            padded[: len(strip)] = strip
            pixels = np.concatenate([np.asarray(sample), padded.reshape(rows, sample.width, 3)])
            sample = Image.fromarray(pixels, "RGB")
        # Pure white and black instead of the octree's near-white and near-black cell means:
        # Pillow maps pixels through a cache of 4-level cells, so a 254 grey next to white
        # would turn the whole background 254.
        octree = sample.quantize(254, method=Image.Quantize.FASTOCTREE, dither=Image.Dither.NONE)
        found = np.array(octree.getpalette() or [], dtype=np.int16)[: 3 * 254].reshape(-1, 3)
        keep = found[(found.min(axis=1) < 244) & (found.max(axis=1) > 11)]
        colours = np.concatenate([[[255, 255, 255], [0, 0, 0]], keep]).astype(np.uint8)
        palette = Image.new("P", (1, 1))
        palette.putpalette(colours.ravel().tolist() + [0, 0, 0] * (256 - len(colours)))
        return palette


def _save(image: Any, compress_level: int) -> bytes:
    out = io.BytesIO()
    image.save(out, format="png", compress_level=compress_level)
    return out.getvalue()
