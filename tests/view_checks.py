"""Measurements the view tests share: text extents, overlaps, long results with real-looking tokens."""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Iterable

import numpy as np

from attnviz.core.result import AttentionResult

from .helpers import synthetic_result

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
