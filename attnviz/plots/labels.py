"""Token text as a picture draws it: readable, short, and never a "Glyph missing" warning.

Every view that writes a token passes it through :func:`label_text`: a
10,000-character "word" is cut with an ellipsis, an emoji the font lacks
becomes a visible placeholder, and a ``$`` is never read as mathtext.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from matplotlib.axes import Axes

#: Longest token text a label shows, ellipsis included.
MAX_LABEL_CHARS = 20
#: Longest token text a title shows (titles have more room than a tick label).
MAX_TITLE_CHARS = 30
#: What a run of characters the font cannot draw becomes (U+25A1 WHITE SQUARE).
PLACEHOLDER = "□"
#: What a token made only of white space becomes (U+2423 OPEN BOX).
BLANK = "␣"
ELLIPSIS = "…"
#: Distance between two labelled tokens, in multiples of the label font size.
LABEL_SPACING = 1.3
#: Marks the source's label on an axis (the heatmap's rows).
SOURCE_MARK = " ▶"

_SPACES = re.compile(r"\s+")
#: Zero-width joiners and variation selectors belong to the character before them.
_JOINERS = {0x200C, 0x200D, *range(0xFE00, 0xFE10), *range(0xE0100, 0xE01F0)}


@lru_cache(maxsize=8)
def _coverage(font_paths: tuple[str, ...]) -> frozenset[int]:
    from matplotlib.ft2font import FT2Font

    return frozenset(code for path in font_paths for code in FT2Font(path).get_charmap())


def font_coverage() -> frozenset[int]:
    """Code points that matplotlib's current text font (and its fallbacks) can draw."""
    from matplotlib import font_manager
    from matplotlib.font_manager import FontProperties

    properties = FontProperties()
    finder = getattr(font_manager.fontManager, "_find_fonts_by_props", None)
    # The private finder returns the whole fallback list matplotlib uses; findfont only the first.
    paths = finder(properties) if finder is not None else [font_manager.findfont(properties)]
    return _coverage(tuple(str(p) for p in paths))


def drawable(text: str, covered: frozenset[int] | None = None) -> str:
    """``text`` with every run of characters the font lacks replaced by :data:`PLACEHOLDER`.

    Parameters
    ----------
    text : str
        Any text.
    covered : frozenset of int, optional
        :func:`font_coverage`, fetched once by a caller with many texts.

    Returns
    -------
    str
        The text, without what matplotlib would draw as an empty box (warning "Glyph … missing").

    Examples
    --------
    >>> drawable("hola 🦄🦄!")
    'hola □!'
    """
    covered = font_coverage() if covered is None else covered
    out: list[str] = []
    missing_run = False
    for ch in text:
        code = ord(ch)
        if code in _JOINERS and missing_run:
            continue  # part of the emoji sequence already replaced
        missing = code not in covered and unicodedata.category(ch) != "Zs"
        if missing and not missing_run:
            out.append(PLACEHOLDER)
        elif not missing:
            out.append(ch)
        missing_run = missing
    return "".join(out)


def shorten(text: str, max_chars: int) -> str:
    """``text`` cut to ``max_chars`` characters, the last one an ellipsis when anything was cut.

    Examples
    --------
    >>> shorten("electroencefalografista", 10)
    'electroen…'
    """
    if max_chars < 1:
        raise ValueError(f"max_chars must be at least 1, not {max_chars}")
    return text if len(text) <= max_chars else text[: max_chars - 1] + ELLIPSIS


def label_text(
    token: str,
    max_chars: int = MAX_LABEL_CHARS,
    *,
    mathtext: bool = True,
    covered: frozenset[int] | None = None,
) -> str:
    """A token's text ready for a matplotlib label.

    White space becomes one space (a token of only white space, :data:`BLANK`);
    characters the font lacks become :data:`PLACEHOLDER`; the text is cut to
    ``max_chars`` with an ellipsis; ``$`` is escaped for mathtext.

    Parameters
    ----------
    token : str
        The token (or word) text, as in ``result.tokens``.
    max_chars : int
        Longest text shown, ellipsis included, before escaping.
    mathtext : bool
        Escape ``$`` (for a Text with matplotlib's default ``parse_math=True``).
    covered : frozenset of int, optional
        :func:`font_coverage`, fetched once by a caller with many tokens.

    Returns
    -------
    str
        The label.

    Examples
    --------
    >>> label_text("x" * 10_000, 5)
    'xxxx…'
    """
    text = _SPACES.sub(" ", token).strip() or BLANK
    text = shorten(drawable(text, covered), max_chars)
    return text.replace("$", r"\$") if mathtext else text


@lru_cache(maxsize=2)
def _face(bold: bool) -> Any:
    from matplotlib import font_manager
    from matplotlib.ft2font import FT2Font

    properties = font_manager.FontProperties(weight="bold" if bold else "normal")
    font = FT2Font(font_manager.findfont(properties))
    font.set_size(100, 72)  # advances in 1/100 point per point of text size
    return font


@lru_cache(maxsize=8192)
def _advance_em(character: str, bold: bool) -> float:
    from matplotlib import ft2font

    font = _face(bold)
    index = font.get_char_index(ord(character))
    if index == 0:  # drawn by a fallback font (or a placeholder): about one em
        return 1.0
    # matplotlib 3.10 renamed the flag (3.8 and 3.9 have only the old name).
    new = hasattr(ft2font, "LoadFlags")
    flags = ft2font.LoadFlags.NO_HINTING if new else vars(ft2font).get("LOAD_NO_HINTING", 2)
    return float(font.load_glyph(index, flags=flags).linearHoriAdvance) / 65536 / 100


def text_width(text: str, fontsize: float, bold: bool = False) -> float:
    """Width of one line of ``text`` in matplotlib's default font, in points (no figure needed).

    The sum of the glyph advances (no kerning): within a few percent of what
    matplotlib draws, and fast enough to lay out 512 labels before drawing.
    An escaped dollar (``\\$``) counts as the one ``$`` it draws.

    Parameters
    ----------
    text : str
        One line of text.
    fontsize : float
        Size in points.
    bold : bool
        Measure the bold face.

    Returns
    -------
    float
        Width in points.

    Examples
    --------
    >>> text_width("perro", 20) == 2 * text_width("perro", 10)
    True
    """
    return fontsize * sum(_advance_em(c, bold) for c in text.replace("\\$", "$"))


def join_lines(parts: list[str], width: float, fontsize: float, separator: str = " · ") -> str:
    """``parts`` joined by ``separator``, broken into lines no wider than ``width`` points where possible.

    A note wider than its panel would make a layout engine shrink the panel.

    Parameters
    ----------
    parts : list of str
        The pieces, in order; a piece is never split.
    width : float
        Room for one line, in points.
    fontsize : float
        Size of the text, in points.
    separator : str
        What goes between two pieces on one line.

    Returns
    -------
    str
        The text, lines separated by ``"\\n"``.

    Examples
    --------
    >>> join_lines(["uno", "dos"], 1000, 10), join_lines(["uno", "dos"], 10, 10)
    ('uno · dos', 'uno\\ndos')
    """
    lines: list[str] = []
    for part in parts:
        joined = f"{lines[-1]}{separator}{part}" if lines else part
        if lines and text_width(joined, fontsize) <= width:
            lines[-1] = joined
        else:
            lines.append(part)
    return "\n".join(lines)


def side_points(ax: Axes, along: Literal["x", "y"]) -> float:
    """Width (``"x"``) or height (``"y"``) of the Axes, in points."""
    box = ax.bbox
    return (box.width if along == "x" else box.height) * 72.0 / ax.figure.dpi
