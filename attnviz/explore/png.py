"""PNG bytes from a matplotlib canvas, fast: zlib at level 1 with no row filter, or a 256-colour palette.

A slider move sends one picture to the browser (over a student's link when
the kernel is remote): :class:`PaletteEncoder` keeps it about three times
smaller than RGB by choosing one palette per figure and mapping every later
frame onto it, which is also faster than choosing a palette per frame.
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


class PaletteEncoder:
    """8-bit palette PNGs of one figure's frames, all with one palette chosen from the first.

    The palette is an octree quantisation of the first frame together with
    ``colors`` (every colour the later frames may bring: the colour map at
    several opacities over white, highlight colours), so a frame with other
    arcs maps onto it within a few levels per channel.  Each frame is read
    from the canvas's RGBA buffer by Pillow's raw decoder (no copy on the
    numpy side) and mapped with Pillow's public ``quantize(palette=...)``.
    """

    def __init__(self, colors: np.ndarray | None = None, compress_level: int = PNG_COMPRESS_LEVEL) -> None:
        self.colors = None if colors is None else np.asarray(colors, dtype=np.uint8).reshape(-1, 3)
        self.compress_level = compress_level
        self.palette: Any = None

    def encode(self, figure: Figure) -> bytes:
        """The figure's canvas as a palette PNG."""
        from PIL import Image

        canvas: FigureCanvasAgg = figure.canvas  # type: ignore[assignment]
        width, height = canvas.get_width_height(physical=True)
        # Pillow maps only RGB onto a palette: the raw decoder reads the opaque RGBA buffer
        # straight into an RGB image (one pass in C, no numpy copy; ~1 ms at 1280x400).
        image = Image.frombytes("RGB", (width, height), canvas.buffer_rgba(), "raw", "RGBX")
        if self.palette is None:
            self.palette = self._choose(image)
        paletted = image.quantize(palette=self.palette, dither=Image.Dither.NONE)
        out = io.BytesIO()
        paletted.save(out, format="png", compress_level=self.compress_level)
        return out.getvalue()

    def _choose(self, first: Any) -> Any:
        from PIL import Image

        # Every third pixel each way: the octree sees the same colours, nine times faster.
        sample = first.resize((max(1, first.width // 3), max(1, first.height // 3)), Image.Resampling.NEAREST)
        if self.colors is not None and len(self.colors):
            # The extra colours as a strip as wide as the sample, each repeated so the octree
            # weighs them like a visible area of the picture.
            strip = np.repeat(self.colors, 8, axis=0)
            width, height = sample.size
            rows = -(-len(strip) // width)
            padded = np.full((rows * width, 3), 255, dtype=np.uint8)
            padded[: len(strip)] = strip
            frame, sample = sample, Image.new("RGB", (width, height + rows))
            sample.paste(frame, (0, 0))
            sample.paste(Image.fromarray(padded.reshape(rows, width, 3), "RGB"), (0, height))
        # The octree's colours, but pure white and black instead of the near-white and
        # near-black means of its cells: Pillow maps each pixel through a cache of 4-level
        # cells, so a 254 grey next to white would turn the whole background 254.
        octree = sample.quantize(254, method=Image.Quantize.FASTOCTREE, dither=Image.Dither.NONE)
        found = np.array(octree.getpalette() or [], dtype=np.int16)[: 3 * 254].reshape(-1, 3)
        keep = found[(found.min(axis=1) < 244) & (found.max(axis=1) > 11)]
        colours = np.concatenate([[[255, 255, 255], [0, 0, 0]], keep]).astype(np.uint8)
        palette = Image.new("P", (1, 1))
        palette.putpalette(colours.ravel().tolist() + [0, 0, 0] * (256 - len(colours)))
        return palette


def _png_chunk(tag: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))
