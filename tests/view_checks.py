"""Measurements the view tests share: text extents, overlaps, long results with real-looking tokens."""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Iterable

import numpy as np

from attnviz.core.result import AttentionResult

from .helpers import synthetic_result


@dataclasses.dataclass(frozen=True)
class TextBox:
    """One text of a picture as drawn."""

    #: ``"token-<i>"`` or ``"value-<j>"`` (the token it belongs to).
    gid: str
    text: str
    #: Font size in points.
    fontsize: float
    #: (left, top, right, bottom) of the text's box (not a highlight's), in the PNG's pixels from top-left.
    box: tuple[float, float, float, float]


@dataclasses.dataclass(frozen=True)
class PictureText:
    """The token labels and numbers of an arc picture, as drawn: how large, and where (in pixels)."""

    #: The PNG's size in pixels, and the figure's dots per inch.
    width: int
    height: int
    dpi: float
    labels: tuple[TextBox, ...]
    values: tuple[TextBox, ...]

    def on_screen(self, fontsize: float, shown_width: float) -> float:
        """The size of text ``fontsize`` points tall when the picture is shown ``shown_width`` wide."""
        return fontsize * self.dpi / 72.0 * shown_width / self.width


def arc_text_boxes(renderer) -> dict:
    """The labels and numbers of an ArcRenderer's last picture as JSON-ready data (see PictureText).

    Self-contained: the browser tests run this function's source in the notebook's kernel.
    """
    drawn = renderer.canvas.renderer()
    width, height = renderer.canvas.agg.get_width_height()

    def boxes(texts) -> list[dict]:
        # A focused window's label drawn again highlighted is one label.
        found = {}
        for text in texts:
            if not (text.get_visible() and text.get_text()):
                continue
            x0, y0, x1, y1 = text.get_window_extent(drawn).extents
            box = [float(x0), float(height - y1), float(x1), float(height - y0)]
            gid = str(text.get_gid())
            found[gid] = {
                "gid": gid,
                "text": text.get_text(),
                "fontsize": float(text.get_fontsize()),
                "box": box,
            }
        return list(found.values())

    labels, numbers = renderer.drawn_texts()
    size = {"width": width, "height": height, "dpi": float(renderer.figure.dpi)}
    return {**size, "labels": boxes(labels), "values": boxes(numbers)}


def picture_text(picture) -> PictureText:
    """The text of an ArcRenderer's last picture, or of :func:`arc_text_boxes`'s data from a kernel."""
    data = picture if isinstance(picture, dict) else arc_text_boxes(picture)

    def boxes(key: str) -> tuple[TextBox, ...]:
        return tuple(TextBox(**{**box, "box": tuple(box["box"])}) for box in data[key])

    return PictureText(**{**data, "labels": boxes("labels"), "values": boxes("values")})


def canvas_rgba(renderer) -> np.ndarray:
    """An explorer renderer's canvas as it stands, ``[height, width, 4]`` uint8."""
    return np.asarray(renderer.canvas.agg.buffer_rgba()).copy()


def is_palette_png(data: bytes) -> bool:
    """True for an 8-bit palette PNG (IHDR colour type 3)."""
    return len(data) > 25 and data[25] == 3


#: Spanish words and pieces of the lengths a tokenizer gives, for long hand-made results.
WORDS = (
    "El", "perro", "que", "persig", "##uió", "al", "gato", "cruzó", "la", "calle", ".", "La", "niña",
    "leía", "un", "libro", "en", "el", "parque", "levantó", "vista", "cuando", "oyó", "los", "ladr",
    "##idos", ",", "y", "su", "abuelo", "dormía", "banco", "se", "despertó", "extraordinariamente",
)  # fmt: skip


def long_result(
    n: int, *, layers: int = 2, heads: int = 2, seed: int = 0, causal: bool = False, extra: Iterable[str] = ()
) -> AttentionResult:
    """``n`` tokens ([CLS] … [SEP]) of Spanish-looking text, ``extra`` tokens first, random attention."""
    result = synthetic_result(n, layers=layers, heads=heads, seed=seed, causal=causal)
    body = [*extra, *(WORDS[i % len(WORDS)] for i in range(n))][: n - 2]
    tokens = ("[CLS]", *body, "[SEP]")
    word_ids, word = [], -1
    for i, token in enumerate(tokens):
        if not (token.startswith("##") and 0 < i < n - 1):
            word += 1
        word_ids.append(word)
    words = [""] * (word + 1)
    for token, w in zip(tokens, word_ids, strict=True):
        words[w] += token.removeprefix("##")
    return dataclasses.replace(
        result, tokens=tokens, word_ids=tuple(word_ids), words=tuple(words), text=" ".join(words[1:-1])
    )


def drawn_extents(figure, texts) -> list:
    """Window extents (pixels) of the visible, non-empty texts, after a full draw."""
    figure.canvas.draw()
    renderer = figure.canvas.get_renderer()
    return [t.get_window_extent(renderer) for t in texts if t.get_visible() and t.get_text()]


def overlapping(boxes, slack: float = 0.5) -> list[tuple[int, int]]:
    """Pairs of boxes that overlap by more than ``slack`` pixels both ways."""
    pairs = []
    for i, a in enumerate(boxes):
        for j in range(i + 1, len(boxes)):
            b = boxes[j]
            if min(a.x1, b.x1) - max(a.x0, b.x0) > slack and min(a.y1, b.y1) - max(a.y0, b.y0) > slack:
                pairs.append((i, j))
    return pairs


def glyph_warnings(figure) -> list[str]:
    """Warnings a full draw of ``figure`` raises about glyphs missing from the font."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        figure.canvas.draw()
    return [str(w.message) for w in caught if "Glyph" in str(w.message) or "missing from" in str(w.message)]


def tick_texts(axis) -> list:
    """The tick labels a draw shows (non-empty)."""
    return [t for t in axis.get_ticklabels() if t.get_visible() and t.get_text()]


def ink_overlaps(figure, texts, alpha: int = 96) -> int:
    """Pixels inked by two or more of ``texts`` (each drawn alone): exact for rotated labels too.

    ``alpha`` leaves out the faint anti-aliased rim, where neighbours may just touch.
    """
    figure.canvas.draw()
    renderer = figure.canvas.get_renderer()
    count = None
    for text in texts:
        if not (text.get_visible() and text.get_text()):
            continue
        renderer.clear()
        text.draw(renderer)
        inked = np.asarray(renderer.buffer_rgba())[..., 3] > alpha
        count = inked.astype(np.int16) if count is None else count + inked
    figure.canvas.draw()  # leave the canvas as it was
    return 0 if count is None else int((count > 1).sum())


def outside_after_first_draw(figure, texts) -> list[str]:
    """Texts that the figure's first draw (what a notebook shows) puts partly outside the picture."""
    import io

    figure.savefig(io.BytesIO(), format="png", dpi=figure.dpi)
    renderer = figure.canvas.get_renderer()
    box = figure.bbox
    out = []
    for text in texts:
        if not (text.get_visible() and text.get_text()):
            continue
        extent = text.get_window_extent(renderer)
        if extent.x0 < -0.5 or extent.y0 < -0.5 or extent.x1 > box.x1 + 0.5 or extent.y1 > box.y1 + 0.5:
            out.append(text.get_text())
    return out


#: What a number looks like on a picture: a weight, a tick, a colour bar's end, or a dash for none.
NUMBER = r"^(—|[−-]?\d+([.,]\d+)?%?)$"


def figure_texts(figure) -> list[dict]:
    """Every text a draw of ``figure`` shows: string, size (points), role, box (pixels from the top-left).

    Roles: ``"number"`` (weights, ticks, colour-bar ends; :data:`NUMBER`), ``"note"`` (the grey notes and
    a colour bar's label) and ``"label"`` (the rest: tokens, titles, axis names, legends, headings).
    Only what is drawn: tick labels of the ticks shown, nothing of a hidden axis or artist.
    Self-contained: the browser test runs this function's source in the notebook's kernel.
    """
    import re

    from matplotlib.axes import Axes
    from matplotlib.axis import Axis
    from matplotlib.text import Text

    if not hasattr(figure.canvas, "get_renderer"):
        # A pyplot figure closed after it was shown loses its canvas: measure on a new one, same dpi.
        from matplotlib.backends.backend_agg import FigureCanvasAgg

        FigureCanvasAgg(figure)
    figure.draw_without_rendering()
    renderer = figure.canvas.get_renderer()
    height = figure.bbox.height
    found = []
    # The Axes of colour bars: a picture's images and collections name theirs.
    bars = {
        id(artist.colorbar.ax)
        for ax in figure.get_axes()
        for artist in [*ax.images, *ax.collections]
        if getattr(artist, "colorbar", None) is not None
    }

    def role(text, owner) -> str:
        if re.match(r"^(—|[−-]?\d+([.,]\d+)?(e[−-]?\d+)?%?)$", text.get_text().strip()):
            return "number"
        if text.get_gid() in ("notes", "colorbar-label", "agreement"):  # grey notes, whatever their name
            return "note"
        in_colorbar = owner is not None and (id(owner) in bars or "colorbar" in str(owner.get_label()))
        return "note" if in_colorbar and text in (owner.xaxis.label, owner.yaxis.label) else "label"

    def collect(artist, owner) -> None:
        if not artist.get_visible():
            return
        if isinstance(artist, Text):
            if artist.get_text().strip():
                x0, y0, x1, y1 = artist.get_window_extent(renderer).extents
                found.append(
                    {
                        "text": artist.get_text(),
                        "fontsize": float(artist.get_fontsize()),
                        "role": role(artist, owner),
                        "gid": artist.get_gid(),
                        "rotation": float(artist.get_rotation()),
                        "box": (float(x0), float(height - y1), float(x1), float(height - y0)),
                    }
                )
            return
        if isinstance(artist, Axis):
            for text in [artist.label, *artist.get_majorticklabels(), *artist.get_minorticklabels()]:
                collect(text, owner)
            return
        if isinstance(artist, Axes):
            owner = artist
        for child in artist.get_children():
            if isinstance(child, Axis) and isinstance(artist, Axes) and not artist.axison:
                continue
            collect(child, owner)

    collect(figure, None)
    return found


def projector_scale(width: float, height: float, *, explorer: bool) -> float:
    """CSS px per picture pixel on the classroom projector (1280 x 720 at 150 %).

    The explorer shows a picture inside :data:`attnviz.plots.style.PROJECTOR_WIDTH_PX` x
    :data:`~attnviz.plots.style.PROJECTOR_HEIGHT_PX` (``object-fit: contain``); a notebook at its own
    size, or shrunk to the width.
    """
    from attnviz.plots import style

    if explorer:
        return min(style.PROJECTOR_WIDTH_PX / width, style.PROJECTOR_HEIGHT_PX / height)
    return min(1.0, style.PROJECTOR_WIDTH_PX / width)


def css_sizes(texts: list[dict], dpi: float, scale: float) -> dict[str, float]:
    """The smallest text of each role, in CSS px: points x dpi / 72 x the picture's scale on screen."""
    smallest: dict[str, float] = {}
    for text in texts:
        px = text["fontsize"] * dpi / 72.0 * scale
        smallest[text["role"]] = min(px, smallest.get(text["role"], px))
    return smallest


def box_overlaps(texts: list[dict], slack: float = 0.5) -> list[tuple[str, str]]:
    """Pairs of ``texts`` (:func:`figure_texts`) whose boxes overlap by more than ``slack`` px both ways."""
    pairs = []
    for i, a in enumerate(texts):
        for b in texts[i + 1 :]:
            (ax0, ay0, ax1, ay1), (bx0, by0, bx1, by1) = a["box"], b["box"]
            if min(ax1, bx1) - max(ax0, bx0) > slack and min(ay1, by1) - max(ay0, by0) > slack:
                pairs.append((a["text"], b["text"]))
    return pairs
