"""PNG bytes from a matplotlib canvas, fast: zlib at level 1 with no row filter, a palette when large."""

from __future__ import annotations

import io
import struct
import zlib
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

#: zlib level 1: several times faster than matplotlib's default (6), ~15% bigger files.
PNG_COMPRESS_LEVEL = 1
#: Above this a picture is re-encoded with a palette, so that one explorer view (picture in
#: base64 plus the weights table) stays under 200 KB in a saved notebook at any length.
PNG_BUDGET = 100 * 1024


def encode_png(
    figure: Figure,
    compress_level: int = PNG_COMPRESS_LEVEL,
    max_bytes: int | None = PNG_BUDGET,
    *,
    palette_first: bool = False,
) -> bytes:
    """The figure's Agg buffer as PNG bytes: RGB (the figure is opaque), no row filter.

    Pillow tries five filters per row and spends most of its time there; on
    a mostly white picture zlib alone at level 1 is several times faster and
    the file is as small.  A picture larger than ``max_bytes`` (hundreds of
    token labels) is stored with a 256-colour palette instead: about a
    quarter of the bytes, each channel within a few levels of the original.
    ``palette_first`` skips the RGB attempt, for a figure whose last picture needed the palette.
    """
    canvas: FigureCanvasAgg = figure.canvas  # type: ignore[assignment]
    width, height = canvas.get_width_height(physical=True)
    rgb = np.asarray(canvas.buffer_rgba()).reshape(height, width, 4)[..., :3]
    if palette_first and max_bytes is not None:
        return palette_png_bytes(rgb, compress_level)
    data = png_bytes(rgb, compress_level)
    if max_bytes is not None and len(data) > max_bytes:
        data = palette_png_bytes(rgb, compress_level)
    return data


def is_palette_png(data: bytes) -> bool:
    """True for an 8-bit palette PNG (IHDR colour type 3)."""
    return len(data) > 25 and data[25] == 3


def palette_png_bytes(rgb: np.ndarray, compress_level: int = PNG_COMPRESS_LEVEL) -> bytes:
    """An ``[h, w, 3]`` uint8 array as an 8-bit palette PNG (fast octree, no dithering)."""
    from PIL import Image

    image = Image.fromarray(np.ascontiguousarray(rgb), "RGB")
    paletted = image.quantize(256, method=Image.Quantize.FASTOCTREE, dither=Image.Dither.NONE)
    out = io.BytesIO()
    paletted.save(out, format="png", compress_level=compress_level)
    return out.getvalue()


def png_bytes(rgb: np.ndarray, compress_level: int = PNG_COMPRESS_LEVEL) -> bytes:
    """Encode an ``[h, w, 3]`` uint8 array as a PNG file (8-bit RGB, filter "none")."""
    height, width, _ = rgb.shape
    scanlines = np.zeros((height, 1 + 3 * width), dtype=np.uint8)
    scanlines[:, 1:] = rgb.reshape(height, 3 * width)
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"".join(
        [
            b"\x89PNG\r\n\x1a\n",
            _png_chunk(b"IHDR", header),
            _png_chunk(b"IDAT", zlib.compress(scanlines.tobytes(), compress_level)),
            _png_chunk(b"IEND", b""),
        ]
    )


def _png_chunk(tag: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))
