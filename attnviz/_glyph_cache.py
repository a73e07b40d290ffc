"""Private, temporary: reuse shaped strings and rasterised glyphs between redraws of one Agg renderer.

Targets matplotlib 3.11 (tested with 3.11.2).  Matplotlib 3.11 shapes every
string with libraqm and rasterises every glyph with FreeType on each draw,
about ten times slower than 3.10; an explorer redraw then spends most of its
time on a title and a few numbers it drew a moment ago.

This module monkeypatches ``draw_text`` on one renderer instance and calls
private matplotlib APIs (``RendererAgg._prepare_font``,
``FT2Font._layout``, ``FT2Font._set_transform``, ``FT2Font._render_glyph``,
``RendererAgg._renderer.draw_text_image``).  On a matplotlib without any of
them (3.8 to 3.10, or a later release that changed them) it is not
installed, and if one fails while drawing it uninstalls itself and the text
is drawn the normal way; ``tests/test_render.py`` proves both by removing them.

When to delete it: matplotlib's own text caching (matplotlib PR #32120) is
merged upstream.  When a release ships it, run ``make bench`` with and
without this cache (comment out the ``GlyphCache.install`` calls in
:mod:`attnviz.render`); if the redraw times match, delete this module and
those calls.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np


class _Store:
    """The process's shaped strings, glyph bitmaps and the fonts their keys point to."""

    def __init__(self) -> None:
        self.layouts: dict[tuple[Any, ...], list[tuple[Any, float, int, float, float]]] = {}
        self.glyphs: dict[tuple[Any, ...], tuple[np.ndarray, int, int]] = {}
        self.fonts: dict[int, Any] = {}


SHARED = _Store()


class GlyphCache:
    """Shaped strings and glyph bitmaps of one renderer, drawn at the pixel matplotlib would use.

    A glyph is keyed by everything FreeType sees, including its 1/64-pixel
    offset, and placed at the same integer pixel as matplotlib places it, so
    the picture is identical (tested against ``plot_arcs``).  Both caches are
    shared by every renderer in the process and bounded: when full they are
    emptied and refilled.
    """

    MAX_GLYPHS = 20_000
    MAX_LAYOUTS = 5_000

    def __init__(self, renderer: Any) -> None:
        from matplotlib.backends import backend_agg

        self.renderer = renderer
        self.agg = backend_agg
        # Shared by every renderer of the process: keys hold everything a glyph depends on
        # (font, size, dpi, angle, sub-pixel offset), so a new figure starts with the glyphs
        # drawn before (a new sentence's first picture, the heat map after the arcs).
        self.layouts = SHARED.layouts
        self.glyphs = SHARED.glyphs
        #: Glyphs are keyed by id(font): holding the font keeps that id from being reused.
        self.fonts = SHARED.fonts
        #: False once a private API failed and the renderer draws text the normal way again.
        self.active = True
        self._own_draw_text: Any = None

    @staticmethod
    def supported(renderer: Any) -> bool:
        """True when every private API that :meth:`draw_text` calls is there."""
        try:
            from matplotlib import ft2font
            from matplotlib.backends import backend_agg
        except ImportError:
            return False
        font_methods = ("_layout", "_set_transform", "_render_glyph", "set_size")
        return (
            callable(getattr(renderer, "_prepare_font", None))
            and callable(getattr(getattr(renderer, "_renderer", None), "draw_text_image", None))
            and callable(getattr(backend_agg, "get_hinting_flag", None))
            and hasattr(ft2font, "RenderMode")
            and all(callable(getattr(ft2font.FT2Font, name, None)) for name in font_methods)
        )

    @classmethod
    def install(cls, renderer: Any) -> GlyphCache | None:
        """Route ``renderer``'s plain-text drawing through a cache; None where not supported."""
        if getattr(renderer, "_attnviz_glyph_cache", None) is not None:
            return renderer._attnviz_glyph_cache
        if not cls.supported(renderer):
            return None
        cache = cls(renderer)
        original = renderer.draw_text

        def draw_text(
            gc: Any,
            x: float,
            y: float,
            s: str,
            prop: Any,
            angle: float,
            ismath: Any = False,
            mtext: Any = None,
        ) -> None:
            if ismath:
                return original(gc, x, y, s, prop, angle, ismath, mtext)
            try:
                cache.draw_text(gc, x, y, s, prop, angle, mtext)
            except Exception:  # a private API changed: uninstall and draw the normal way
                cache.uninstall()
                original(gc, x, y, s, prop, angle, ismath, mtext)
            return None

        cache._own_draw_text = vars(renderer).get("draw_text")
        renderer.draw_text = draw_text
        renderer._attnviz_glyph_cache = cache
        return cache

    def uninstall(self) -> None:
        """Give the renderer its own ``draw_text`` back; this cache stays off."""
        if self._own_draw_text is None:
            vars(self.renderer).pop("draw_text", None)
        else:
            self.renderer.draw_text = self._own_draw_text
        self.active = False

    def draw_text(self, gc: Any, x: float, y: float, s: str, prop: Any, angle: float, mtext: Any) -> None:
        from matplotlib.ft2font import RenderMode

        renderer = self.renderer
        flags = self.agg.get_hinting_flag()
        features = mtext.get_fontfeatures() if mtext is not None else None
        language = mtext.get_language() if mtext is not None else None
        size = prop.get_size_in_points()
        layout_key = (s, hash(prop), str(prop), features, language, flags, renderer.dpi)
        items = self.layouts.get(layout_key)
        if items is None:
            font = renderer._prepare_font(prop)
            items = [
                (item.ft_object, size, item.glyph_index, item.x, item.y)
                for item in font._layout(s, flags=flags, features=features, language=language)
            ]
            if len(self.layouts) >= self.MAX_LAYOUTS:
                self.layouts.clear()
            self.layouts[layout_key] = items
        antialiased = bool(gc.get_antialiased())
        cos = math.cos(math.radians(angle))
        sin = math.sin(math.radians(angle))
        height = renderer.height
        for font, glyph_size, glyph_index, dx, dy in items:
            fx = round(0x40 * (x + dx * cos - dy * sin))
            fy = round(0x40 * (height - y + dx * sin + dy * cos))
            key = (
                id(font),
                glyph_size,
                renderer.dpi,
                glyph_index,
                angle,
                fx & 63,
                fy & 63,
                flags,
                antialiased,
            )
            glyph = self.glyphs.get(key)
            if glyph is None:
                font.set_size(glyph_size, renderer.dpi)
                font._set_transform(
                    (0x10000 * np.array([[cos, -sin], [sin, cos]])).round().astype(int), [fx, fy]
                )
                bitmap = font._render_glyph(
                    glyph_index, flags, RenderMode.NORMAL if antialiased else RenderMode.MONO
                )
                buffer = np.array(bitmap.buffer, copy=True)
                if not antialiased:
                    buffer *= 0xFF
                if len(self.glyphs) >= self.MAX_GLYPHS:
                    self.glyphs.clear()
                    self.fonts.clear()
                # Offsets relative to the whole-pixel position: shifting by whole pixels is exact.
                glyph = (buffer, bitmap.left - (fx >> 6), bitmap.top - (fy >> 6))
                self.glyphs[key] = glyph
                self.fonts[id(font)] = font
            buffer, left, top = glyph
            renderer._renderer.draw_text_image(
                buffer, (fx >> 6) + left, int(height) - ((fy >> 6) + top) + buffer.shape[0], 0, gc
            )
