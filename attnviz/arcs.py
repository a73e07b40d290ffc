"""Token-arc plot: one arc from a source token to every token it attends to.

Where everything goes (which tokens get a label, where each number sits, how
long inputs are squeezed around the source) is decided by :class:`ArcLayout`
from font metrics, with numpy and without drawing.  :func:`plot_arcs` and the
explorer's fast renderer (:mod:`attnviz.render`) share it, so they draw the
same picture.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, NamedTuple

import numpy as np

from .errors import InvalidInputTypeError
from .labels import MAX_TITLE_CHARS, label_text
from .result import AttentionResult, require_result
from .style import CMAP, SCALE_LABELS, SCALES, Scale, check_scale, colorbar_label, font_sizes

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.collections import LineCollection, PathCollection
    from matplotlib.colorbar import Colorbar
    from matplotlib.colors import Normalize
    from matplotlib.figure import Figure
    from matplotlib.text import Text
    from matplotlib.transforms import Transform

    from .syntax import SyntaxAnnotation

SOURCE_COLOR = "#1f5fbf"
MAX_COLOR = "#d62728"
ARC_POINTS = 33
AUTO_TOP_K_ABOVE = 48
AUTO_TOP_K = 24
TOP_VALUES = 5

TopK = int | None | Literal["auto"]
Values = Literal["top", "all", "none"] | int

#: Figure widths (inches): a picture never needs more pixels than a notebook shows (1280 at 100 dpi).
MIN_WIDTH_IN = 8.0
MAX_WIDTH_IN = 12.8
#: Inches per token of a short sentence, per point of label size (0.55 in at 10 pt).
WIDTH_PER_TOKEN_IN = 0.055
#: Height of the area the arcs live in (inches) at 12 points or less; it grows with larger text,
#: so that the colour bar stays as tall as its label.
ARC_AREA_IN = 3.0
#: Area of the self-attention dot at weight 0 and at the top of the scale (points²).
DOT_AREA = (40.0, 540.0)
#: Labels closer than these many ems stop being readable: horizontal labels need their
#: width, slanted ones this far apart, so that two neighbours with their highlight boxes
#: (one line and two paddings high: 1.57 em) keep clear of each other (at 45°, 0.71 × 2.3 em).
SLOT_EM_45 = 2.3
SLOT_EM_90 = 1.65
#: Height of one line of DejaVu Sans (ascent + descent), in ems.
LINE_EM = 1.17
#: Padding around a number, as matplotlib's ``boxstyle="round,pad=..."`` (in ems).
VALUE_PAD_EM = 0.15
#: Padding of the box around the source's and the most attended token's labels (in ems).
HIGHLIGHT_PAD_EM = 0.2
#: One dependency nesting level, in ems of the relation labels.
DEP_LEVEL_EM = 2.2
#: Where the colour bar goes: upright right of the arcs, or on a line of its own above them (a wide,
#: short picture for a projector: the whole width goes to the tokens).
ColorbarPlace = Literal["right", "top"]
#: The ``"top"`` colour bar: length and thickness in ems of the notes' size, the gap between it and
#: the texts at its ends, and the widest top of a scale (maxima are rounded to NICE_STEPS).
TOP_BAR_EM = (10.0, 0.7)
TOP_BAR_GAP_EM = 0.5
TOP_BAR_LONGEST_END = "0.0125"
#: Least height of the arcs' area when the figure's height is given, in ems of the token labels.
MIN_ARC_AREA_EM = 3.0
#: Name of the Axes that holds the dependency arcs (see :func:`dependency_axes`).
DEPENDENCY_AXES_LABEL = "dependencias"


# --------------------------------------------------------------------------- geometry


def arc_paths(n: int, source: int, points: int = ARC_POINTS) -> np.ndarray:
    """``[n, points, 2]`` half-ellipses from ``source`` to every token (tokens at x = index).

    The height grows with the distance so that nested arcs do not overlap;
    the row for ``source`` itself is degenerate (a point) and is drawn as a
    marker instead.
    """
    return arcs_between(float(source), np.arange(n, dtype=np.float64), points)


def arcs_between(x_source: float, x_targets: np.ndarray, points: int = ARC_POINTS) -> np.ndarray:
    """``[len(x_targets), points, 2]`` half-ellipses from ``x_source`` to each target's x."""
    t = np.linspace(0.0, np.pi, points)
    targets = np.asarray(x_targets, dtype=np.float64)[:, None]
    middle = (x_source + targets) / 2.0
    half = (targets - x_source) / 2.0
    x = middle - half * np.cos(t)[None, :]
    y = arc_height(np.abs(targets - x_source)) * np.sin(t)[None, :]
    return np.stack([x, y], axis=-1)


def arc_height(distance: np.ndarray | float) -> np.ndarray:
    """Apex height of an arc spanning ``distance`` tokens: sub-linear, so long arcs stay low."""
    return 0.5 * np.power(np.asarray(distance, dtype=np.float64), 0.75)


def selected_targets(
    row: np.ndarray, source: int, top_k: TopK = "auto", threshold: float = 0.0, causal: bool = False
) -> np.ndarray:
    """Indices of the targets to draw, strongest first (the source itself excluded)."""
    n = len(row)
    candidates = np.arange(n)
    keep = (candidates != source) & (row >= threshold)
    if causal:
        keep &= candidates < source
    candidates = candidates[keep]
    k = resolve_top_k(top_k, n)
    order = np.argsort(-row[candidates], kind="stable")
    if k is not None:
        order = order[:k]
    return candidates[order]


def resolve_top_k(top_k: TopK, n: int) -> int | None:
    if top_k == "auto":
        return AUTO_TOP_K if n > AUTO_TOP_K_ABOVE else None
    if top_k is not None and (isinstance(top_k, bool) or not isinstance(top_k, int) or top_k < 1):
        raise ValueError(f"top_k must be a positive int, None or 'auto', not {top_k!r}")
    return top_k


#: Colour-scale maxima: a maximum is rounded up to one of these (times a power of ten),
#: so the colour bar reads in round numbers and a redraw can reuse a colour bar drawn before.
NICE_STEPS = (1.0, 1.25, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0)


def colour_scale_max(values: np.ndarray, scale: Scale = "row") -> float:
    """Top of the colour and width scale: 1 for ``"absolute"``, else the maximum of ``values`` rounded up.

    ``values`` is the row for ``"row"`` and the head's matrix for ``"head"``
    (see :func:`scale_top`).  Rounding keeps the strongest link at 75 % or
    more of the scale, so it stays red.
    """
    if scale == "absolute":
        return 1.0
    peak = float(max(np.max(values), 1e-6))
    decade = 10.0 ** np.floor(np.log10(peak))
    for step in NICE_STEPS:
        # The tolerance keeps exact steps (0.5) from rounding up to the next one.
        if peak <= step * decade * (1 + 1e-9):
            return float(step * decade)
    return float(10.0 * decade)


def scale_top(matrix: np.ndarray, source: int, scale: Scale, causal: bool = False) -> float:
    """The colour scale's top for one view: the row's, the head's (whole matrix) or 1.

    A causal model's first row always puts 1 on the first token; it is left
    out of the head's maximum, which would otherwise always be 1.
    """
    if scale == "row":
        return colour_scale_max(matrix[source], "row")
    if scale == "head":
        values = matrix[1:] if causal and len(matrix) > 1 else matrix
        return colour_scale_max(values, "head")
    return 1.0


# --------------------------------------------------------------------------- text metrics


@functools.lru_cache(maxsize=1)
def _font() -> Any:
    from matplotlib import font_manager
    from matplotlib.ft2font import FT2Font

    font = FT2Font(font_manager.findfont(font_manager.FontProperties()))
    font.set_size(100, 72)  # advances in 1/100 point per point of text size
    return font


@functools.lru_cache(maxsize=8192)
def _advance_em(character: str) -> float:
    from matplotlib import ft2font

    font = _font()
    index = font.get_char_index(ord(character))
    if index == 0:  # drawn by a fallback font (or a placeholder): about one em
        return 1.0
    # matplotlib 3.10 renamed the flag (3.8 and 3.9 have only the old name).
    new = hasattr(ft2font, "LoadFlags")
    flags = ft2font.LoadFlags.NO_HINTING if new else vars(ft2font).get("LOAD_NO_HINTING", 2)
    return float(font.load_glyph(index, flags=flags).linearHoriAdvance) / 65536 / 100


def text_width(text: str, size: float) -> float:
    """Width of ``text`` at ``size`` points in matplotlib's default font, in points.

    Sums the glyph advances (no kerning, no shaping): within a few percent of
    what matplotlib draws, and fast enough for 512 labels; it decides the
    layout before anything is drawn.
    """
    return size * sum(_advance_em(c) for c in text.replace("\\$", "$"))


def wrap_text(text: str, size: float, width: float) -> str:
    """``text`` broken into lines at most ``width`` points wide (at `` · `` first, then at spaces)."""
    lines: list[str] = []
    for part in text.split(" · "):
        line = ""
        for word in part.split(" "):
            longer = f"{line} {word}" if line else word
            if line and text_width(longer, size) > width:
                lines.append(line)
                longer = word
            line = longer
        lines.append(line)
    return "\n".join(lines)


def fit_text(text: str, size: float, width: float) -> str:
    """``text`` cut with an ellipsis so that it is at most ``width`` points wide at ``size``."""
    if text_width(text, size) <= width:
        return text
    while len(text) > 1 and text_width(text + "…", size) > width:
        text = text[:-1]
    return text.rstrip() + "…"


# --------------------------------------------------------------------------- layout


@functools.lru_cache(maxsize=8)
def _labels_of(tokens: tuple[str, ...]) -> tuple[tuple[str, ...], np.ndarray]:
    """Each token's label text and its width in ems (kept: a sentence is laid out several times)."""
    labels = tuple(label_text(t) for t in tokens)
    widths = np.array([text_width(label, 1.0) for label in labels], dtype=np.float64)
    widths.setflags(write=False)
    return labels, widths


def _round_up(value: float, step: float) -> float:
    return float(math.ceil(value / step - 1e-9) * step) if value > 0 else 0.0


@dataclass(frozen=True)
class ArcLayout:
    """Where one sentence's labels and numbers go in an Axes ``axes_width`` points wide.

    Short inputs put every token at ``x = index`` with its label.  When the
    labels cannot all be read (more tokens than slots :data:`SLOT_EM_90` ems
    wide), the layout *focuses*: a window of tokens around the source keeps
    one slot each, the tokens left and right of it are squeezed into the
    remaining width, and only the labels that fit (the window's and those of
    the strongest far targets) are drawn.
    """

    n: int
    sizes: dict[str, float]
    #: Each token's label text (shortened, placeholders for missing glyphs, ``$`` escaped).
    labels: tuple[str, ...]
    #: Width of each label in points.
    label_widths: np.ndarray
    focus: bool
    #: Slots (data units) across the Axes; ``n`` when not focused.
    units: int
    #: Points per data unit along x.
    slot: float
    rotation: int
    #: Tokens kept around the source when focused.
    window: int
    value_rows: int
    value_box: tuple[float, float]
    #: Points below the baseline where the first row of numbers starts (clear of the dot).
    dot_clear: float
    #: Points from the baseline (the Axes' bottom) down to the token labels.
    label_pad: float
    #: How far the labels reach below their anchor, left of the first slot and (labels or
    #: numbers) right of the last one, in points.
    label_depth: float
    left_overhang: float
    right_overhang: float
    #: Width of the Axes in points, and the most lines the notes above it may take.
    axes_width: float
    _linear: np.ndarray = field(repr=False, compare=False)
    notes_lines: int = 1
    #: Points above the Axes taken by the colour bar's own line (``colorbar="top"``), else 0.
    legend: float = 0.0

    @classmethod
    def build(cls, tokens: tuple[str, ...], fontsize: float | None, axes_width: float) -> ArcLayout:
        """The layout of ``tokens`` for an Axes ``axes_width`` points wide."""
        sizes = font_sizes(fontsize)
        size = sizes["labels"]
        n = len(tokens)
        labels, widths_em = _labels_of(tuple(tokens))
        widths = widths_em * size
        widest = float(widths.max()) if n else 0.0
        slot = axes_width / max(n, 1)
        focus = False
        if widest + 0.5 * size <= slot:
            rotation = 0
        elif slot >= SLOT_EM_45 * size:
            rotation = 45
        elif slot >= SLOT_EM_90 * size:
            rotation = 90
        else:
            focus, rotation = True, 45
        units = n
        if focus:
            units = max(7, int(axes_width // (SLOT_EM_45 * size)))
            slot = axes_width / units
        window = min(n, max(3, round(0.6 * units) | 1))
        value_size = sizes["values"]
        box = (
            text_width("0.00", value_size) + 2 * VALUE_PAD_EM * value_size,
            (LINE_EM + 2 * VALUE_PAD_EM) * value_size,
        )
        rows = 1 if box[0] + 2.0 <= slot else 2
        dot_clear = math.sqrt(DOT_AREA[1]) / 2 + 1.5
        line = LINE_EM * size
        sin, cos = math.sin(math.radians(rotation)), math.cos(math.radians(rotation))
        # How far a label (with the box of a highlighted one) reaches above its anchor: the
        # numbers' row must end above that, so that no label ever touches a number.
        box_pad = HIGHLIGHT_PAD_EM * size
        reach_up = box_pad if rotation in (0, 90) else (line / 2 + 2 * box_pad) * sin
        label_pad = dot_clear + rows * (box[1] + 1.0) + reach_up + 2.0
        # Rounded up, so that sentences of one length with similar words share one layout
        # (and the explorer one figure).
        depth = _round_up(widest * sin + line * cos, line / 2)
        lead = 0.6 if focus else 0.8  # x distance of the first slot from the Axes' left edge
        if rotation == 0:
            reach = widths / 2
        elif rotation == 45:
            reach = widths * cos + line * sin / 2
        else:
            reach = np.full(n, line / 2)
        positions = np.arange(n) if not focus else np.zeros(n)
        overhang = _round_up(float(np.max(reach - (positions + lead) * slot, initial=0.0)), 6.0)
        # Right of the last slot: half a number, or the last label (a highlighted one with its box).
        last = float(widths[-1]) / 2 if n and rotation == 0 else line / 2 * (sin if rotation == 45 else 1.0)
        trail = 0.4 if focus else 0.2  # x distance of the last slot from the Axes' right edge
        right = _round_up(max(box[0] / 2, last + box_pad) - trail * slot, 6.0)
        return cls(
            n=n,
            sizes=sizes,
            labels=labels,
            label_widths=widths,
            focus=focus,
            units=units,
            slot=slot,
            rotation=rotation,
            window=window,
            value_rows=rows,
            value_box=box,
            dot_clear=dot_clear,
            label_pad=label_pad,
            label_depth=depth,
            left_overhang=overhang,
            right_overhang=right,
            axes_width=axes_width,
            _linear=np.arange(n, dtype=np.float64),
        )

    def shape(self) -> tuple[Any, ...]:
        """Everything that places artists (not the label texts): equal shapes draw alike."""
        return (
            self.n,
            self.focus,
            self.units,
            round(self.slot, 6),
            self.rotation,
            self.window,
            self.value_rows,
            self.label_pad,
            self.label_depth,
            self.left_overhang,
            self.right_overhang,
            self.notes_lines,
            self.legend,
            tuple(sorted(self.sizes.items())),
        )

    @property
    def xlim(self) -> tuple[float, float]:
        return (-0.6, self.units - 0.4) if self.focus else (-0.8, self.n - 0.2)

    @property
    def top(self) -> float:
        """The y limit above the highest possible arc."""
        return 1.12 * max(1.0, float(arc_height(self.units - 1)))

    def label_style(self) -> dict[str, Any]:
        """Text properties of every token label (tick labels and the renderer's own)."""
        if self.rotation == 0:
            return {"rotation": 0, "ha": "center", "va": "top", "rotation_mode": "anchor"}
        return {"rotation": self.rotation, "ha": "right", "va": "center", "rotation_mode": "anchor"}

    def positions(self, source: int) -> np.ndarray:
        """x of every token for a view from ``source``: its index, or the focused layout."""
        if not self.focus:
            return self._linear
        n, units, window = self.n, self.units, self.window
        first = int(np.clip(source - window // 2, 0, n - window))
        last = first + window - 1
        left, right = first, n - 1 - last
        free = units - window - (left > 0) - (right > 0)
        if left and right:
            left_width = float(np.clip(round(free * left / (left + right)), 1, free - 1))
        else:
            left_width = float(free) if left else 0.0
        right_width = free - left_width
        x = np.empty(n)
        x[:first] = (np.arange(left) + 0.5) * (left_width / max(left, 1)) - 0.5
        start = left_width + (1.0 if left else 0.0)
        x[first : last + 1] = start + np.arange(window)
        edge = start + window + 0.5  # the right region starts after one empty slot
        x[last + 1 :] = edge + (np.arange(right) + 0.5) * (right_width / max(right, 1))
        return x

    def window_of(self, source: int) -> tuple[int, int]:
        """First and last token of the focused window (the whole input when not focused)."""
        if not self.focus:
            return 0, self.n - 1
        first = int(np.clip(source - self.window // 2, 0, self.n - self.window))
        return first, first + self.window - 1

    def shown_labels(self, source: int, strongest: np.ndarray, x: np.ndarray) -> np.ndarray:
        """Boolean mask of the tokens whose label is drawn.

        Every label when not focused; else the window's, then the labels of
        ``strongest`` (the drawn targets, strongest first) that keep one slot
        from every label already drawn.
        """
        shown = np.zeros(self.n, dtype=bool)
        first, last = self.window_of(source)
        shown[first : last + 1] = True
        if not self.focus:
            return shown
        placed: list[float] = []
        for j in strongest.tolist():
            if shown[j]:
                continue
            if all(abs(x[j] - p) >= 1.0 - 1e-9 for p in placed):
                shown[j] = True
                placed.append(float(x[j]))
        return shown

    def place_values(self, candidates: list[int], x: np.ndarray) -> tuple[list[tuple[int, float, int]], int]:
        """``(token, x, row)`` of each number, strongest first, and how many had no room.

        A number sits under its token, in the first row where its box keeps
        clear of every number already placed.
        """
        width = (self.value_box[0] + 2.0) / self.slot  # in data units, with a 2-point gap
        rows: list[list[float]] = [[] for _ in range(self.value_rows)]
        placed = []
        for j in candidates:
            xj = float(x[j])
            for r, taken in enumerate(rows):
                if all(abs(xj - other) >= width for other in taken):
                    taken.append(xj)
                    placed.append((j, xj, r))
                    break
        return placed, len(candidates) - len(placed)

    def value_offset(self, row: int) -> float:
        """Points from the baseline down to the top of a number's text in ``row``."""
        return self.dot_clear + row * (self.value_box[1] + 1.0) + VALUE_PAD_EM * self.sizes["values"]


# --------------------------------------------------------------------------- figure layout


class FigureLayout(NamedTuple):
    """Size of a new arc figure and where its Axes go (figure fractions: left, bottom, width, height)."""

    size: tuple[float, float]
    main: tuple[float, float, float, float]
    colorbar: tuple[float, float, float, float] | None
    dependencies: tuple[float, float, float, float] | None
    layout: ArcLayout


def figure_size(n: int, fontsize: float | None = None) -> float:
    """Width in inches of a new arc figure for ``n`` tokens: wider with more tokens, 8 to 12.8."""
    size = font_sizes(fontsize)["labels"]
    return float(np.clip(WIDTH_PER_TOKEN_IN * size * n + 2.5, MIN_WIDTH_IN, MAX_WIDTH_IN))


def figure_layout(
    result: AttentionResult,
    fontsize: float | None = None,
    *,
    width: float | None = None,
    height: float | None = None,
    title: bool = True,
    colorbar: bool | ColorbarPlace = True,
    syntax: SyntaxAnnotation | None = None,
    hides_links: bool = True,
) -> FigureLayout:
    """Lay out a new arc figure without drawing: its size and the rectangles of its Axes.

    Parameters
    ----------
    result : AttentionResult
        The sentence (only its tokens and length matter).
    fontsize : float, optional
        Base text size (see :func:`attnviz.style.font_sizes`).
    width : float, optional
        Figure width in inches; default :func:`figure_size`.
    height : float, optional
        Figure height in inches: the arcs' area takes what the text leaves (at
        least :data:`MIN_ARC_AREA_EM` ems of the labels; the figure grows
        past ``height`` rather than squash it more).  Default: an arcs' area
        :data:`ARC_AREA_IN` tall.
    title : bool
        Leave room for a title.
    colorbar : bool, "right" or "top"
        Leave room for a colour bar: upright on the right (``True``), or on a
        line of its own above the arcs (``"top"``), which leaves the whole
        width to the tokens.
    syntax : SyntaxAnnotation, optional
        Leave room below the labels for its dependency arcs.
    hides_links : bool
        Whether a view may hide weak links (``top_k`` or ``threshold``):
        ``False`` leaves no room in the notes for counting them.

    Returns
    -------
    FigureLayout

    Examples
    --------
    >>> figure_layout(result, fontsize=16).size
    (12.8, 5.9)
    >>> figure_layout(result, fontsize=16, width=8, height=3.3, colorbar="top").size
    (8.0, 3.3)
    """
    sizes = font_sizes(fontsize)
    place = colorbar_place(colorbar)
    width = figure_size(result.n_tokens, fontsize) if width is None else float(width)
    total = width * 72.0
    arcs = ARC_AREA_IN * 72.0 * (max(1.0, sizes["labels"] / 12.0) if place == "right" else 1.0)
    plan = _plan_figure(result, fontsize, total, arcs, place, title, syntax, hides_links)
    if height is not None:
        # The right colour bar's label wraps to the arcs' height, which changes the room left for
        # the tokens: a few rounds settle it (its lines change in whole steps).
        for _ in range(3):
            fitted = max(height * 72.0 - plan.top - plan.bottom, MIN_ARC_AREA_EM * sizes["labels"])
            if abs(fitted - arcs) < 0.5:
                break
            arcs = fitted
            plan = _plan_figure(result, fontsize, total, arcs, place, title, syntax, hides_links)
    left, right, top, bottom, layout = plan.left, plan.right, plan.top, plan.bottom, plan.layout
    figure_height = top + arcs + bottom
    fraction = (left / total, bottom / figure_height, (total - left - right) / total, arcs / figure_height)
    bar = None
    if place == "right":
        bar = (
            (total - right + 10.0) / total,
            (bottom + 0.1 * arcs) / figure_height,
            12.0 / total,
            0.8 * arcs / figure_height,
        )
    elif place == "top":
        x, y, w, h = top_bar_box(layout)
        bar = (
            (total - right - x - w) / total,
            (bottom + arcs + y) / figure_height,
            w / total,
            h / figure_height,
        )
    deps = None
    if syntax is not None:
        deps = (fraction[0], 4.0 / figure_height, fraction[2], (plan.dependencies - 6.0) / figure_height)
    return FigureLayout((width, round(figure_height / 72.0, 3)), fraction, bar, deps, layout)


class _FigurePlan(NamedTuple):
    """Margins (points) around the arcs' Axes for one arcs' height, and the layout they give."""

    left: float
    right: float
    top: float
    bottom: float
    dependencies: float
    layout: ArcLayout


def _plan_figure(
    result: AttentionResult,
    fontsize: float | None,
    total: float,
    arcs: float,
    place: ColorbarPlace | None,
    title: bool,
    syntax: SyntaxAnnotation | None,
    hides_links: bool,
) -> _FigurePlan:
    sizes = font_sizes(fontsize)
    notes = sizes["notes"]
    right = 0.0
    if place == "right":
        # Bar, its tick labels ("0.0025"), and its label written sideways on as many lines as it needs.
        lines = 1 + max(colorbar_lines(scale, notes, 0.95 * arcs).count("\n") for scale in SCALES)
        right = 10.0 + 12.0 + 4.0 + text_width("0.0025", notes) + 6.0 + lines * LINE_EM * notes + 6.0
    left = 8.0
    if place == "top":
        # Nothing right of the arcs but what reaches past their last slot.
        right = 8.0
    layout = ArcLayout.build(result.tokens, fontsize, total - left - right)
    if layout.left_overhang + 4.0 > left or (place == "top" and layout.right_overhang + 4.0 > right):
        left = max(left, layout.left_overhang + 4.0)
        right = max(right, layout.right_overhang + 4.0) if place == "top" else right
        layout = ArcLayout.build(result.tokens, fontsize, total - left - right)
    legend = top_bar_height(layout.sizes) if place == "top" else 0.0
    lines = longest_notes(result, layout, hides_links)
    layout = dataclasses.replace(layout, notes_lines=lines, legend=legend)
    dependencies = _dependency_height(layout, syntax) if syntax is not None else 0.0
    top = notes_height(layout) + ((LINE_EM * sizes["title"] + 8.0) if title else 0.0)
    bottom = layout.label_pad + layout.label_depth + 6.0 + dependencies
    return _FigurePlan(left, right, top, bottom, dependencies, layout)


def colorbar_place(colorbar: object) -> ColorbarPlace | None:
    """Where a ``colorbar=`` option puts the colour bar: ``"right"`` (``True``), ``"top"``, or None."""
    if colorbar is True or colorbar == "right":
        return "right"
    if colorbar == "top":
        return "top"
    if colorbar is False or colorbar is None:
        return None
    raise InvalidInputTypeError(
        f'colorbar debe ser True, False, "right" o "top", no {colorbar!r}.',
        f'colorbar must be True, False, "right" or "top", not {colorbar!r}.',
    )


def top_bar_height(sizes: dict[str, float]) -> float:
    """Points above the Axes for the colour bar's own line: one line of notes and a little air."""
    return LINE_EM * sizes["notes"] + 6.0


def top_bar_box(layout: ArcLayout) -> tuple[float, float, float, float]:
    """Where the ``"top"`` colour bar goes, in points: (gap left of the Axes' right edge, height
    above the Axes' top, width, thickness).  Its right end leaves room for the scale's top."""
    size = layout.sizes["notes"]
    length, thickness = (TOP_BAR_EM[0] * size, TOP_BAR_EM[1] * size)
    gap = TOP_BAR_GAP_EM * size
    end = gap + text_width(TOP_BAR_LONGEST_END, size)
    return end, (layout.legend - thickness) / 2, length, thickness


def notes_height(layout: ArcLayout, lines: int | None = None) -> float:
    """Points above the Axes for the notes line(s) and the colour bar's line: also the title's pad."""
    return layout.legend + 6.0 + (lines or layout.notes_lines) * LINE_EM * layout.sizes["notes"] + 4.0


def wrap_notes(notes: str, size: float, width: float) -> str:
    """The notes on as few lines as fit ``width`` points, broken between their `` · `` parts."""
    lines: list[str] = []
    for part in notes.split(" · "):
        if lines and text_width(f"{lines[-1]} · {part}", size) <= width:
            lines[-1] = f"{lines[-1]} · {part}"
        else:
            lines.append(part)
    return "\n".join(lines)


def longest_notes(result: AttentionResult, layout: ArcLayout, hides_links: bool = True) -> int:
    """Lines the longest notes of any view of ``result`` take: every part, with three-digit counts.

    ``hides_links=False``: no view hides a link (no ``top_k`` or threshold
    applies), so the notes never count hidden ones.
    """
    parts = [
        f"Índices desde 0 · {label_text(result.model_name, 60)}",
        *(["999 enlaces débiles ocultos"] if hides_links else []),
        *([_unlabelled(999, result)] if layout.focus else []),
        "99 valores sin sitio",
        *([CAUSAL_NOTE] if result.causal else []),
    ]
    return wrap_notes(" · ".join(parts), layout.sizes["notes"], layout.axes_width).count("\n") + 1


def _unlabelled(count: int, result: AttentionResult) -> str:
    unit = result.unit_noun if count == 1 else f"{result.unit_noun}s"
    return f"texto largo: {count} {unit} sin etiqueta (marcas grises)"


def _count(count: int, one: str, many: str) -> str:
    """``"1 valor sin sitio"``, ``"3 valores sin sitio"``."""
    return f"{count} {one if count == 1 else many}"


CAUSAL_NOTE = "modelo causal: el futuro está enmascarado"


def _dependency_height(layout: ArcLayout, syntax: SyntaxAnnotation) -> float:
    """Points below the labels for the dependency arcs (as deep as their nesting) and the POS legend."""
    if layout.focus:
        return 0.0
    from .syntax_plots import arc_levels

    size = layout.sizes["notes"]
    x = _word_x(syntax, layout.positions(0))
    edges = syntax.edges()
    pairs = [(x[e.dependent], x[e.governor]) for e in edges]
    # The extents draw_dependencies will measure, so that its levels are the ones sized for here.
    half = [0.65 * (text_width(e.relation, size) + size) / layout.slot for e in edges]
    extents = [((a + b) / 2 - h, (a + b) / 2 + h) for (a, b), h in zip(pairs, half, strict=True)]
    levels = arc_levels([(e.dependent, e.governor) for e in edges], extents)
    deepest = max(levels, default=0)
    return (deepest + 0.8) * DEP_LEVEL_EM * size + LINE_EM * size + 14.0


def _word_x(syntax: SyntaxAnnotation, token_x: np.ndarray) -> np.ndarray:
    """x of each word of ``syntax``: the mean of its tokens' x."""
    ids = np.asarray(syntax.word_ids)
    return np.array([token_x[ids == w].mean() if (ids == w).any() else np.nan for w in range(syntax.n_words)])


# --------------------------------------------------------------------------- one view


class ArcArtists(NamedTuple):
    """What :func:`plot_arcs` drew, for a caller that redraws it in place (:mod:`attnviz.render`)."""

    arcs: LineCollection
    self_dot: PathCollection
    labels: list[Text]
    values: list[Text]
    notes: Text
    colorbar: Colorbar | None
    rug: LineCollection
    #: The ``"top"`` colour bar's texts: its label, "0" and the scale's top (empty otherwise).
    colorbar_texts: tuple[Text, ...] = ()


class _ArcPlotter:
    """One arc view: which links to draw and how each looks, then the artists (as seaborn's ``_HeatMapper``).

    The only place for the width, alpha, dot-size and placement formulas:
    :func:`plot_arcs` draws a plotter once, and the explorer's renderer
    builds one per redraw and copies its numbers onto the artists it keeps.
    """

    def __init__(
        self,
        result: AttentionResult,
        layer: int,
        head: int,
        source: int,
        layout: ArcLayout,
        top_k: TopK = "auto",
        threshold: float = 0.0,
        values: Values = "top",
        scale: Scale = "head",
        matrix: np.ndarray | None = None,
        title: str | None = None,
    ) -> None:
        if matrix is None:
            matrix = result.head(layer, head)
        self.result = result
        self.layout = layout
        self.n = result.n_tokens
        self.source = result.check_token(source)
        self.row = np.asarray(matrix[self.source], dtype=np.float64)
        self.scale = scale
        self.vmax = scale_top(matrix, self.source, scale, result.causal)
        #: Targets to draw, strongest first; drawn weakest first so that strong arcs lie on top.
        self.targets = selected_targets(self.row, self.source, top_k, threshold, result.causal)
        self.draw_order = self.targets[::-1]
        self.weights = self.row[self.draw_order]
        self.self_weight = float(self.row[self.source])
        self.max_target = int(np.argmax(self.row))
        self.x = layout.positions(self.source)
        # Besides the window, the labels of the drawn links' targets (strongest first) that fit.
        self.shown = layout.shown_labels(self.source, self.targets, self.x)
        # A number only under a token whose label is drawn: the rest are counted in the notes.
        printed = value_targets(self.row, self.source, self.draw_order, values)
        self.values, self.values_without_room = layout.place_values(
            [j for j in printed if self.shown[j]], self.x
        )
        self.values_without_room += sum(not self.shown[j] for j in printed)
        self.title = arc_title(result, layer, head, self.source) if title is None else title
        self.notes = arc_notes(result, self.source, len(self.targets), self)
        #: The notes as drawn: on lines that fit the Axes' width.
        self.notes_text = wrap_notes(self.notes, layout.sizes["notes"], layout.axes_width)

    # -- the formulas --------------------------------------------------------------------

    def widths(self) -> np.ndarray:
        """Line width of each drawn arc, in points: thicker for heavier links."""
        return 0.6 + 7.0 * np.clip(self.weights / max(self.vmax, 1e-12), 0.0, 1.0)

    def alphas(self) -> list[float] | None:
        """Opacity of each drawn arc: faint weak links keep the eye on the strong ones."""
        if not len(self.weights):  # a causal model's first token attends to nothing else
            return None
        return (0.3 + 0.7 * np.clip(self.weights / self.vmax, 0.0, 1.0)).tolist()

    def dot_size(self) -> float:
        """Area of the dot that shows the source's attention to itself, in points²."""
        low, high = DOT_AREA
        return low + (high - low) * min(self.self_weight / self.vmax, 1.0)

    def paths(self) -> np.ndarray:
        """``[len(draw_order), points, 2]`` arc shapes, weakest first."""
        return arcs_between(float(self.x[self.source]), self.x[self.draw_order])

    def value_texts(self) -> list[tuple[int, float, int, str]]:
        """``(target, x, row, text)`` of each weight printed under its token, strongest first."""
        return [(j, x, r, f"{self.row[j]:.2f}") for j, x, r in self.values]

    def rug(self) -> np.ndarray:
        """x of the tokens squeezed outside the focused window (a tick each), else empty."""
        if not self.layout.focus:
            return np.empty(0)
        first, last = self.layout.window_of(self.source)
        return np.concatenate([self.x[:first], self.x[last + 1 :]])

    def norm(self) -> Normalize:
        from matplotlib.colors import Normalize

        return Normalize(vmin=0.0, vmax=self.vmax)

    # -- drawing -------------------------------------------------------------------------

    def plot(
        self,
        ax: Axes,
        *,
        colorbar: bool | Axes = True,
        syntax: SyntaxAnnotation | None = None,
        dependencies: Axes | None = None,
        tick_labels: bool = True,
    ) -> ArcArtists:
        """Draw the view on ``ax`` and return its artists.

        ``colorbar`` may be the Axes to draw the colour bar into;
        ``dependencies`` the Axes for the syntax (default: one made below ``ax``).
        ``tick_labels=False`` leaves the token labels out (no ticks at all), for a
        caller that draws them itself with :func:`label_artist`.
        """
        import matplotlib.pyplot as plt
        from matplotlib.collections import LineCollection

        layout, sizes = self.layout, self.layout.sizes
        norm = self.norm()
        cmap = plt.get_cmap(CMAP)
        arcs = LineCollection(
            list(self.paths()), cmap=cmap, norm=norm, linewidths=self.widths(), capstyle="round"
        )
        arcs.set_array(self.weights)
        alphas = self.alphas()
        if alphas is not None:
            arcs.set_alpha(alphas)
        arcs.set_gid("arcs")
        ax.add_collection(arcs)

        self_dot = ax.scatter(
            [self.x[self.source]],
            [0.0],
            s=[self.dot_size()],
            c=[self.self_weight],
            cmap=cmap,
            norm=norm,
            zorder=3,
            edgecolors="black",
            linewidths=0.8,
            gid="self",
            clip_on=False,
        )
        rug = LineCollection(
            [], colors="0.6", linewidths=0.6, transform=ax.get_xaxis_transform(), gid="rug", zorder=1
        )
        rug.set_segments(rug_segments(self.rug()))
        ax.add_collection(rug)
        base = token_colors(self.result, syntax)
        if tick_labels:
            labels = _draw_labels(ax, self, base)
        else:
            ax.set_xticks([])
            labels = []
        texts = []
        for j, x, row, text in self.value_texts():
            label = value_text(ax, layout, x, row, text)
            label.set_gid(f"value-{j}")
            texts.append(label)

        ax.set_xlim(*layout.xlim)
        ax.set_ylim(0.0, layout.top)
        ax.set_yticks([])
        for spine in ax.spines.values():
            spine.set_visible(False)
        notes_size = sizes["notes"]
        notes_text = self.notes_text
        lines = max(layout.notes_lines, notes_text.count("\n") + 1)
        ax.set_title(self.title, fontsize=sizes["title"], pad=notes_height(layout, lines))
        # Between the title and the arcs, where no arc reaches.
        notes = ax.text(
            0.0,
            1.0,
            notes_text,
            transform=notes_transform(ax, layout),
            fontsize=notes_size,
            color="0.35",
            va="bottom",
            ha="left",
            gid="notes",
        )
        bar = None
        ends: list[Text] = []
        if colorbar is not False:
            mappable = plt.cm.ScalarMappable(norm=norm, cmap=cmap)
            if layout.legend:
                # The colour bar on its own line above the arcs (the layout left it that room).
                cax = colorbar if colorbar is not True else top_bar_axes(ax, layout)
                bar = ax.figure.colorbar(mappable, cax=cax, orientation="horizontal")
                # Its ends say 0 and the top in texts of its own; a new scale would bring ticks back.
                cax.xaxis.set_visible(False)
                ends = top_bar_texts(cax, layout)
                set_top_bar(ends, self.scale, self.vmax, layout)
            else:
                if colorbar is True:
                    bar = ax.figure.colorbar(mappable, ax=ax, shrink=0.8, pad=0.01)
                else:
                    bar = ax.figure.colorbar(mappable, cax=colorbar)
                height = _points(bar.ax.get_window_extent().height, ax)
                bar.set_label(colorbar_lines(self.scale, notes_size, height), fontsize=notes_size)
                bar.ax.tick_params(labelsize=notes_size)
        if syntax is not None and not layout.focus:
            draw_syntax(ax, self, syntax, dependencies)
        return ArcArtists(arcs, self_dot, labels, texts, notes, bar, rug, tuple(ends))


def top_bar_axes(ax: Axes, layout: ArcLayout) -> Axes:
    """An Axes for the ``"top"`` colour bar above ``ax``, placed (when drawn) where
    :func:`top_bar_box` says: for a plot on an Axes the caller made."""
    from matplotlib.transforms import Bbox

    cax = ax.inset_axes((0.0, 1.0, 0.1, 0.1))

    def above(_axes: Any, renderer: Any) -> Bbox:
        main = ax.get_window_extent(renderer)
        pixels = root_figure(ax).dpi / 72.0
        x, y, width, height = (value * pixels for value in top_bar_box(layout))
        box = Bbox.from_bounds(main.x1 - x - width, main.y1 + y, width, height)
        return box.transformed(ax.figure.transSubfigure.inverted())

    cax.set_axes_locator(above)
    return cax


def top_bar_texts(cax: Axes, layout: ArcLayout) -> list[Text]:
    """The ``"top"`` colour bar's label, left of its "0", and the scale's top at its right end."""
    from matplotlib.transforms import offset_copy

    size = layout.sizes["notes"]
    gap = TOP_BAR_GAP_EM * size
    figure = root_figure(cax)
    zero = text_width("0", size)
    style: dict[str, Any] = {"fontsize": size, "va": "center_baseline"}
    where = [
        (0.0, -(2 * gap + zero), "right", "colorbar-label"),
        (0.0, -gap, "right", "colorbar-min"),
        (1.0, gap, "left", "colorbar-max"),
    ]
    return [
        cax.text(
            x,
            0.5,
            "",
            transform=offset_copy(cax.transAxes, fig=figure, x=dx, units="points"),
            ha=ha,
            gid=gid,
            **style,
        )
        for x, dx, ha, gid in where
    ]


def set_top_bar(texts: list[Text], scale: Scale, vmax: float, layout: ArcLayout) -> None:
    """Write which scale the ``"top"`` colour bar shows, from 0 to ``vmax``, into its texts."""
    label, low, high = texts
    size = layout.sizes["notes"]
    gap = TOP_BAR_GAP_EM * size
    # The label may take the line left of the bar, up to the figure's left margin (as wide as the
    # labels' overhang).  Short of room it names only the scale, which is what the bar must say.
    x, _, length, _ = top_bar_box(layout)
    room = layout.axes_width + layout.left_overhang - x - length - 3 * gap - text_width("0", size)
    words = colorbar_label(scale)
    if text_width(words, size) > room:
        words = f"escala {SCALE_LABELS[scale]}"
    label.set_text(fit_text(words, size, room))
    low.set_text("0")
    high.set_text(f"{vmax:g}")


def colorbar_lines(scale: Scale, size: float, height: float) -> str:
    """The colour bar's label (which scale it is) on lines that fit along a bar ``height`` points tall."""
    return wrap_text(colorbar_label(scale), size, height)


def root_figure(ax: Axes) -> Figure:
    """The figure ``ax`` is drawn in (the root one when it sits in a subfigure)."""
    figure = ax.figure
    return figure.figure if figure.figure is not None else figure  # type: ignore[return-value]


def _points(pixels: float, ax: Axes) -> float:
    return pixels * 72.0 / root_figure(ax).dpi


def rug_segments(x: np.ndarray) -> list[np.ndarray]:
    """One short tick on the baseline for each squeezed token (y in Axes fractions)."""
    return [np.array([[xi, 0.0], [xi, 0.025]]) for xi in x.tolist()]


def notes_transform(ax: Axes, layout: ArcLayout | None = None) -> Transform:
    """Where the notes start: above the Axes, and above the colour bar's line when it has one."""
    from matplotlib.transforms import offset_copy

    legend = 0.0 if layout is None else layout.legend
    return offset_copy(ax.transAxes, fig=root_figure(ax), y=6.0 + legend, units="points")


def value_transform(ax: Axes, layout: ArcLayout, row: int) -> Transform:
    """x in data, y in points below the baseline: the row ``row`` of numbers."""
    from matplotlib.transforms import offset_copy

    return offset_copy(
        ax.get_xaxis_transform(), fig=root_figure(ax), y=-layout.value_offset(row), units="points"
    )


def value_text(ax: Axes, layout: ArcLayout, x: float = 0.0, row: int = 0, text: str = "") -> Text:
    """A weight label under its token, in the style every weight label has."""
    return ax.text(
        x,
        0.0,
        text,
        fontsize=layout.sizes["values"],
        transform=value_transform(ax, layout, row),
        in_layout=False,  # its room is the label pad, already part of the tick labels' offset
        **VALUE_STYLE,  # type: ignore[arg-type]
    )


def token_colors(result: AttentionResult, syntax: SyntaxAnnotation | None) -> list[str]:
    """Each token label's own colour: black, or its part of speech's colour made dark enough to read."""
    if syntax is None:
        return ["black"] * result.n_tokens
    from .syntax_plots import pos_colors

    return [readable_color(c) for c in pos_colors(syntax, per_token=True)]


def readable_color(color: str) -> str:
    """``color`` darkened until it reads on white like body text.

    Relative luminance at most 0.18: a contrast of 4.5:1 with white (WCAG AA).
    """
    from matplotlib.colors import to_hex, to_rgb

    rgb = np.array(to_rgb(color))
    for _ in range(20):
        linear = np.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)
        if float(linear @ np.array([0.2126, 0.7152, 0.0722])) <= 0.18:
            break
        rgb = rgb * 0.85
    return str(to_hex((float(rgb[0]), float(rgb[1]), float(rgb[2]))))


def check_syntax(result: AttentionResult, syntax: object) -> SyntaxAnnotation | None:
    """The annotation to draw: ``None``, a :class:`SyntaxAnnotation` of this sentence (made at token
    or at word level), or this result parsed (``True``)."""
    if syntax is None or syntax is False:
        return None
    from .syntax import SyntaxAnnotation, parse

    if syntax is True:
        return parse(result)
    if not isinstance(syntax, SyntaxAnnotation):
        raise InvalidInputTypeError(
            "syntax debe ser True (analizar la frase con spaCy) o el resultado de attnviz.syntax.parse.",
            "syntax must be True (parse the sentence with spaCy) or what attnviz.syntax.parse returns.",
        )
    if syntax.words != tuple(result.words):
        raise InvalidInputTypeError(
            "La anotación sintáctica es de otra frase: créala con attnviz.syntax.parse(resultado) "
            "sobre este mismo resultado.",
            "The syntax annotation belongs to another sentence: make it with "
            "attnviz.syntax.parse(result) on this same result.",
        )
    if syntax.word_ids != tuple(result.word_ids):
        # The same sentence at the other level (tokens or words): the words are the same.
        syntax = dataclasses.replace(syntax, word_ids=tuple(result.word_ids))
    return syntax


def draw_syntax(ax: Axes, view: _ArcPlotter, syntax: SyntaxAnnotation, dependencies: Axes | None) -> Axes:
    """Dependency arcs under the token labels (in ``dependencies`` or a new Axes there) and a POS legend."""
    from .syntax import POS_NAMES_ES
    from .syntax_plots import POS_COLORS, draw_dependencies

    layout = view.layout
    size = layout.sizes["notes"]
    if dependencies is None:
        dependencies = _axes_below_labels(ax, _dependency_height(layout, syntax))
    dependencies.set_label(DEPENDENCY_AXES_LABEL)
    dependencies.set_xlim(*layout.xlim)
    dependencies.set_axis_off()
    depth = 1.0
    # One nesting level is DEP_LEVEL_EM ems tall, whatever the Axes' height.
    height = dependencies.get_window_extent().height * 72.0 / ax.figure.dpi
    levels = max(1.0, (height - LINE_EM * size - 14.0) / (DEP_LEVEL_EM * size) - 0.8)
    dependencies.set_ylim(-(levels + 0.8) * depth, 0.05)
    draw_dependencies(dependencies, syntax, _word_x(syntax, view.x), 0.0, fontsize=size, depth=depth)
    # Legend: the parts of speech present, each in the colour its token labels use.
    present = [tag for tag in POS_COLORS if tag in set(syntax.upos)]
    x = 0.0
    for tag in present:
        name = POS_NAMES_ES.get(tag, tag)
        dependencies.text(
            0.0,
            0.0,
            name,
            transform=_points_right(dependencies, x),
            fontsize=size,
            color=readable_color(POS_COLORS[tag]),
            va="bottom",
            ha="left",
            gid=f"pos-{tag}",
        )
        x += text_width(name, size) + size
    return dependencies


def _points_right(ax: Axes, x: float) -> Transform:
    from matplotlib.transforms import offset_copy

    return offset_copy(ax.transAxes, fig=root_figure(ax), x=x, y=0.0, units="points")


def _axes_below_labels(ax: Axes, height: float) -> Axes:
    """A child Axes sharing x with ``ax``, ``height`` points tall, put under its tick labels when drawn."""
    from matplotlib.transforms import Bbox

    child = ax.inset_axes((0.0, -0.5, 1.0, 0.4), sharex=ax)

    def below_labels(_axes: Any, renderer: Any) -> Bbox:
        main = ax.get_window_extent(renderer)
        labels = [t.get_window_extent(renderer) for t in ax.get_xticklabels() if t.get_visible()]
        lowest = min([b.y0 for b in labels], default=main.y0)
        pixels = height * ax.figure.dpi / 72.0
        box = Bbox.from_bounds(main.x0, lowest - 4.0 - pixels, main.width, pixels)
        return box.transformed(ax.figure.transSubfigure.inverted())

    child.set_axes_locator(below_labels)
    return child


def dependency_axes(ax: Axes) -> Axes | None:
    """The Axes with the dependency arcs that :func:`plot_arcs` drew under ``ax`` (``syntax=...``), or None.

    Examples
    --------
    >>> ax = attnviz.plot_arcs(result, 3, 5, 2, syntax=True)
    >>> lower = dependency_axes(ax)
    >>> [t.get_text() for t in lower.texts if t.get_gid().startswith("dep-label-")]
    ['det', 'nsubj', ...]
    """
    for candidate in [*ax.child_axes, *ax.figure.axes]:
        ours = candidate in ax.child_axes or candidate.get_shared_x_axes().joined(candidate, ax)
        if candidate is not ax and candidate.get_label() == DEPENDENCY_AXES_LABEL and ours:
            return candidate  # type: ignore[return-value]
    return None


def plot_arcs(
    result: AttentionResult,
    layer: int,
    head: int,
    source: int,
    ax: Axes | None = None,
    *,
    top_k: TopK = "auto",
    threshold: float = 0.0,
    values: Values = "top",
    scale: Scale | None = None,
    colorbar: bool | ColorbarPlace = True,
    matrix: np.ndarray | None = None,
    title: str | bool | None = None,
    fontsize: float | None = None,
    syntax: SyntaxAnnotation | bool | None = None,
    figsize: tuple[float | None, float | None] | None = None,
) -> Axes:
    """Draw the attention from token ``source`` in one layer and head as arcs.

    Line width and colour follow the weight (blue low, red high, one scale
    with a colour bar that says which scale it is).  The source token is
    boxed in blue and the most attended token in red; the dot under the
    source is its attention to itself, and each printed weight sits under
    the token that receives it.  Long inputs focus on the source: its
    neighbours keep their labels, the rest are squeezed (a grey tick each)
    and only the strongest far targets are labelled; a note above the arcs
    counts what is hidden.

    Parameters
    ----------
    result : AttentionResult
        What :func:`attnviz.extract` (or :func:`attnviz.to_words`) returns.
    layer, head : int
        Which head, counted from 0.  Ignored when ``matrix`` is given, except in the title.
    source : int
        The token (or word) the attention comes from, counted from 0.
    ax : matplotlib Axes, optional
        Where to draw.  ``None`` makes a new figure laid out for the token
        count and text size (8 to 12.8 inches wide).
    top_k : int, None or "auto"
        Draw only the ``top_k`` strongest links; ``"auto"``: the 24 strongest above 48 tokens.
    threshold : float
        Hide links weaker than this.
    values : "top", "all", "none" or int
        Which weights to print: the 5 strongest, all, none or the N strongest.
        Numbers never overlap: one that finds no room is left out (and counted in the note).
    scale : "head", "absolute" or "row", optional
        Top of the colour and width scale: the head's maximum (default,
        :data:`attnviz.style.DEFAULT_SCALE`), 1, or the source row's maximum;
        maxima are rounded up to round numbers.
    colorbar : bool, "right" or "top"
        Add a colour bar: upright on the right (``True``), or on a line of
        its own above the arcs (``"top"``: the whole width for the tokens,
        for a wide and short picture).
    matrix : ndarray, optional
        An ``[n, n]`` matrix (an aggregate, see :mod:`attnviz.aggregate`) to draw instead of one head.
    title : str or False, optional
        Replaces the default "Capa · cabeza · atención desde …" title
        (:func:`arc_title`); ``False`` draws none.
    fontsize : float, optional
        Base text size in points (token labels); numbers, title and notes
        follow it (:func:`attnviz.style.font_sizes`).  ``16``
        (:data:`attnviz.style.CLASSROOM_FONTSIZE`) reads on a projector.
    syntax : SyntaxAnnotation or True, optional
        Draw the sentence's dependencies below the tokens (one arc per
        dependency, labelled with its relation) and colour each token label
        by its part of speech.  ``True`` parses the sentence with
        :func:`attnviz.syntax.parse` (needs spaCy; otherwise
        :class:`attnviz.syntax.ParserUnavailableError`).  The dependency arcs
        live in their own Axes under the labels: :func:`dependency_axes`
        returns it.  Not drawn when a long input is focused.
    figsize : (float or None, float or None), optional
        Width and height in inches of the new figure (``ax=None``); a None
        keeps the default.  With a height, the arcs' area takes what the
        text leaves (see :func:`figure_layout`).

    Returns
    -------
    matplotlib Axes
        The main Axes (the attention arcs), like seaborn; save with ``ax.figure.savefig``.
        Artist gids: ``"arcs"``, ``"self"``, ``"notes"``, ``"rug"``, ``"token-<i>"``, ``"value-<j>"``.

    Examples
    --------
    >>> ax = attnviz.plot_arcs(result, layer=3, head=5, source=2)
    >>> ax.figure.savefig("arcos.svg")
    >>> attnviz.plot_arcs(result, 3, 5, 2, fontsize=16, scale="absolute")  # for the projector
    >>> attnviz.plot_arcs(result, 3, 5, 2, fontsize=16, colorbar="top", figsize=(8, 3.3))  # wide, short
    >>> attnviz.plot_arcs(result, 3, 0, 2, matrix=attnviz.rollout(result, 3), title="Rollout")
    """
    result = require_result(result)
    scale = check_scale(scale)
    annotation = check_syntax(result, syntax)
    place = colorbar_place(colorbar)
    dependencies = None
    colorbar_target: bool | Axes = place is not None
    if ax is None:
        import matplotlib.pyplot as plt

        width, height = figsize or (None, None)
        plan = figure_layout(
            result,
            fontsize,
            width=width,
            height=height,
            title=title is not False,
            colorbar=place or False,
            syntax=annotation,
            hides_links=threshold > 0 or resolve_top_k(top_k, result.n_tokens) is not None,
        )
        made = place_axes(plt.figure(figsize=plan.size), plan)
        ax, layout, dependencies = made.ax, made.layout, made.dependencies
        colorbar_target = made.colorbar if made.colorbar is not None else False
    else:
        layout = ArcLayout.build(result.tokens, fontsize, _points(ax.get_window_extent().width, ax))
        if place == "top":
            layout = dataclasses.replace(layout, legend=top_bar_height(layout.sizes))
    given = "" if title is False else (title if isinstance(title, str) else None)
    plotter = _ArcPlotter(result, layer, head, source, layout, top_k, threshold, values, scale, matrix, given)
    if given is None:
        plotter.title = fit_text(plotter.title, layout.sizes["title"], _points(ax.figure.bbox.width, ax) - 16)
    plotter.plot(ax, colorbar=colorbar_target, syntax=annotation, dependencies=dependencies)
    return ax


class ArcFigure(NamedTuple):
    """A figure laid out by :func:`place_axes`, its Axes and the layout they were placed for."""

    figure: Figure
    ax: Axes
    colorbar: Axes | None
    dependencies: Axes | None
    layout: ArcLayout


def place_axes(figure: Figure, plan: FigureLayout) -> ArcFigure:
    """Size ``figure`` (empty) as ``plan`` (from :func:`figure_layout`) says and add its Axes there.

    No layout engine: the Axes stay where the plan put them.
    """
    figure.set_size_inches(*plan.size)
    ax = figure.add_axes(plan.main)
    bar = figure.add_axes(plan.colorbar) if plan.colorbar is not None else None
    dependencies = None
    if plan.dependencies is not None and not plan.layout.focus:
        dependencies = figure.add_axes(plan.dependencies, sharex=ax)
    return ArcFigure(figure, ax, bar, dependencies, plan.layout)


def label_artist(ax: Axes, layout: ArcLayout, x: float = 0.0, text: str = "") -> Text:
    """A token label that is not a tick label but draws exactly like one (for the fast renderer)."""
    transform = label_transform(ax, layout)
    return ax.text(x, 0.0, text, transform=transform, fontsize=layout.sizes["labels"], **layout.label_style())


def label_transform(ax: Axes, layout: ArcLayout) -> Transform:
    """Where tick labels go: x in data, y ``label_pad`` points below the Axes."""
    return ax.get_xaxis_text1_transform(layout.label_pad)[0]


def _draw_labels(ax: Axes, view: _ArcPlotter, base: list[str]) -> list[Text]:
    """Tokens as x tick labels, so that layout engines leave room for them.

    One tick per token, in order; a label that cannot be read (a long input's
    squeezed tokens) is empty.
    """
    layout = view.layout
    texts = [label if shown else "" for label, shown in zip(layout.labels, view.shown, strict=True)]
    ax.set_xticks(view.x.tolist(), texts, fontsize=layout.sizes["labels"], **layout.label_style())
    ax.tick_params(axis="x", length=0, pad=layout.label_pad)
    labels = list(ax.get_xticklabels())
    for i, label in enumerate(labels):
        label.set_gid(f"token-{i}")
        style_token_label(label, i, view.source, view.max_target, view.result.causal, base[i])
    return labels


def style_token_label(
    label: Text, i: int, source: int, max_target: int, causal: bool, base: str = "black"
) -> None:
    """Colour token ``i``'s label: source boxed in blue, most attended in red, masked future grey.

    ``base`` is the label's own colour (its part of speech, or black).
    Also resets a label styled for another source, so that a reused figure
    (attnviz.render) looks exactly like a fresh plot.
    """
    label.set_color("0.7" if causal and i > source else base)
    label.set_bbox(None)
    if i == max_target:
        label.set_color("white")
        label.set_bbox({"boxstyle": f"round,pad={HIGHLIGHT_PAD_EM}", "fc": MAX_COLOR, "ec": MAX_COLOR})
    if i == source:
        both = i == max_target
        label.set_color("white")
        label.set_bbox(
            {
                "boxstyle": f"round,pad={HIGHLIGHT_PAD_EM}",
                "fc": SOURCE_COLOR,
                "ec": MAX_COLOR if both else SOURCE_COLOR,
                "lw": 2.5 if both else 1,
            }
        )


def arc_title(result: AttentionResult, layer: int, head: int, source: int, *, mathtext: bool = True) -> str:
    """The default title: which head, and where the attention comes from.

    ``mathtext=False`` gives the plain text (for HTML beside the picture, escaped by the caller).

    Examples
    --------
    >>> arc_title(result, 3, 5, 2)
    'Capa 3 · cabeza 5 · atención desde «perro» (token 2)'
    """
    return f"Capa {layer} · cabeza {head} · {from_source(result, source, mathtext=mathtext)}"


def from_source(result: AttentionResult, source: int, *, mathtext: bool = True) -> str:
    """``atención desde «perro» (token 2)``: the end of every arc title (a long token is shortened)."""
    token = label_text(result.tokens[source], MAX_TITLE_CHARS, mathtext=mathtext)
    return f"atención desde «{token}» ({result.unit_noun} {source})"


def arc_notes(result: AttentionResult, source: int, n_drawn: int, view: _ArcPlotter | None = None) -> str:
    """The small grey line above the arcs: model, hidden links and labels, causal mask."""
    n = result.n_tokens
    hidden = n - 1 - n_drawn - (n - 1 - source if result.causal else 0)
    notes = [f"Índices desde 0 · {label_text(result.model_name, 60)}"]
    if hidden > 0:
        notes.append(_count(hidden, "enlace débil oculto", "enlaces débiles ocultos"))
    if view is not None and view.layout.focus:
        unnamed = n - int(view.shown.sum())
        notes.append(_unlabelled(unnamed, result))
    if view is not None and view.values_without_room:
        notes.append(_count(view.values_without_room, "valor sin sitio", "valores sin sitio"))
    if result.causal:
        notes.append(CAUSAL_NOTE)
    return " · ".join(notes)


def value_targets(row: np.ndarray, source: int, drawn: np.ndarray, values: Values) -> list[int]:
    """The tokens whose weight is printed, strongest first (the source's own weight included)."""
    if values == "none":
        return []
    shown = np.concatenate([drawn, [source]]).astype(np.intp)
    shown = shown[np.argsort(-row[shown], kind="stable")]
    if values == "top":
        # A "0.00" label says nothing; the strongest links are the point.
        shown = shown[:TOP_VALUES]
        shown = shown[row[shown] >= 0.005]
    elif isinstance(values, int) and not isinstance(values, bool):
        shown = shown[:values]
    elif values != "all":
        raise ValueError(f"values must be 'top', 'all', 'none' or an int, not {values!r}")
    return [int(j) for j in shown]


#: Numbers sit in their own row under the tokens, on white: no box needed (a box costs a redraw ~2 ms).
VALUE_STYLE: dict[str, object] = {"ha": "center", "va": "top"}
