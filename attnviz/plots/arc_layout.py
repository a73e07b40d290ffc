"""Where everything in an arc picture goes, decided from font metrics without drawing.

The links and their shapes, :class:`ArcLayout` (one sentence's labels and numbers) and
:func:`figure_layout` (a new figure's size and Axes); :mod:`attnviz.plots.arcs` draws from them.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, NamedTuple

import numpy as np

from ..core.errors import InvalidInputTypeError
from ..core.result import AttentionResult
from .labels import font_coverage, join_lines, label_text, text_width
from .style import CLASSROOM_WIDTH, SCALES, Scale, classroom_mode, colorbar_label, font_sizes

# Re-exported: the explorer's tests read the arcs' colour scale here (the rule is style's).
from .style import colour_scale_max as colour_scale_max
from .style import scale_top as scale_top

if TYPE_CHECKING:
    from ..syntax.parsing import SyntaxAnnotation

ARC_POINTS = 33
AUTO_TOP_K_ABOVE = 48
AUTO_TOP_K = 24

TopK = int | None | Literal["auto"]

#: Figure widths (inches): a picture never needs more pixels than a notebook shows (1280 at 100 dpi).
MIN_WIDTH_IN = 8.0
MAX_WIDTH_IN = 12.8
#: Inches per token of a short sentence, per point of label size (0.55 in at 10 pt).
WIDTH_PER_TOKEN_IN = 0.055
#: Height of the arcs' area (inches) at 12 points or less; larger text makes it taller, so that
#: the colour bar stays as tall as its label.
ARC_AREA_IN = 3.0
#: Area of the self-attention dot at weight 0 and at the top of the scale (points²).
DOT_AREA = (40.0, 540.0)
#: Closest readable label spacing, in ems: slanted neighbours with their highlight boxes
#: (1.57 em high) keep clear of each other at 45° (0.71 × 2.3 em).
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
#: Where the colour bar goes: upright right of the arcs, or on a line of its own above them.
ColorbarPlace = Literal["right", "top"]
#: The ``"top"`` colour bar: length and thickness in ems of the notes' size, the gap to the texts
#: at its ends, and the widest top of a scale (maxima are rounded to style.NICE_STEPS).
TOP_BAR_EM = (10.0, 0.7)
TOP_BAR_GAP_EM = 0.5
TOP_BAR_LONGEST_END = "0.0125"
#: Least height of the arcs' area when the figure's height is given, in ems of the token labels.
MIN_ARC_AREA_EM = 3.0
CAUSAL_NOTE = "modelo causal: el futuro está enmascarado"


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
    """Apex height of an arc spanning ``distance`` tokens: sub-linear, so that nested arcs do not overlap."""
    return 0.5 * np.power(np.asarray(distance, dtype=np.float64), 0.75)


def selected_targets(
    row: np.ndarray, source: int, top_k: TopK = "auto", threshold: float = 0.0, causal: bool = False
) -> np.ndarray:
    """Indices of the targets to draw, strongest first (the source itself excluded)."""
    index = np.arange(len(row))
    keep = (index != source) & (row >= threshold)
    if causal:
        keep &= index < source
    candidates = index[keep]
    order = np.argsort(-row[candidates], kind="stable")[: resolve_top_k(top_k, len(row))]
    return candidates[order]


def resolve_top_k(top_k: TopK, n: int) -> int | None:
    """How many links to draw for ``n`` tokens (None: all)."""
    if top_k == "auto":
        return AUTO_TOP_K if n > AUTO_TOP_K_ABOVE else None
    if top_k is not None and (isinstance(top_k, bool) or not isinstance(top_k, int) or top_k < 1):
        raise ValueError(f"top_k must be a positive int, None or 'auto', not {top_k!r}")
    return top_k


def fit_text(text: str, size: float, width: float) -> str:
    """``text`` cut with an ellipsis so that it is at most ``width`` points wide at ``size``."""
    if text_width(text, size) <= width:
        return text
    while len(text) > 1 and text_width(text + "…", size) > width:
        text = text[:-1]
    return text.rstrip() + "…"


@functools.lru_cache(maxsize=8)
def _labels_of(tokens: tuple[str, ...]) -> tuple[tuple[str, ...], np.ndarray]:
    """Each token's label and its width in ems (cached: a sentence is laid out several times)."""
    covered = font_coverage()
    labels = tuple(label_text(t, covered=covered) for t in tokens)
    widths = np.array([text_width(label, 1.0) for label in labels], dtype=np.float64)
    widths.setflags(write=False)
    return labels, widths


def _round_up(value: float, step: float) -> float:
    return float(math.ceil(value / step - 1e-9) * step) if value > 0 else 0.0


@dataclass(frozen=True)
class ArcLayout:
    """Where one sentence's labels and numbers go in an Axes ``axes_width`` points wide.

    Short inputs put token i at ``x = i``.  With more tokens than slots :data:`SLOT_EM_90` ems wide
    the layout *focuses*: a window around the source keeps one slot per token, the rest are squeezed
    beside it, and only the labels that fit (the window's, the strongest far targets') are drawn.
    """

    n: int
    sizes: dict[str, float]
    #: Each token's label text (shortened, placeholders for missing glyphs, ``$`` escaped).
    labels: tuple[str, ...]
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
    #: Width of the Axes in points, and the most lines the notes above it may take (0: none drawn).
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
        focus, units = False, n
        if widest + 0.5 * size <= slot:
            rotation = 0
        elif slot >= SLOT_EM_45 * size:
            rotation = 45
        elif slot >= SLOT_EM_90 * size:
            rotation = 90
        else:
            focus, rotation = True, 45
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
        # The numbers' rows end above the highest a boxed label reaches: no label touches a number.
        box_pad = HIGHLIGHT_PAD_EM * size
        reach_up = box_pad if rotation in (0, 90) else (line / 2 + 2 * box_pad) * sin
        label_pad = dot_clear + rows * (box[1] + 1.0) + reach_up + 2.0
        # Rounded up, so that similar sentences of one length share a layout (and the explorer a figure).
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
        """Everything that places artists (not the label texts): equal shapes draw alike.

        Focused, the token count only moves tokens within a view (:meth:`positions`): left out.
        """
        skipped = {"labels", "slot", "sizes", "axes_width", "_linear", *(["n"] if self.focus else [])}
        kept = [getattr(self, f.name) for f in dataclasses.fields(self) if f.name not in skipped]
        return (*kept, round(self.slot, 6), tuple(sorted(self.sizes.items())))

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
        first, last = self.window_of(source)
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
        """Mask of the labels drawn: the window's, then those of ``strongest`` a slot clear of the others."""
        shown = np.zeros(self.n, dtype=bool)
        first, last = self.window_of(source)
        shown[first : last + 1] = True
        placed: list[float] = []
        for j in strongest.tolist():
            if not shown[j] and all(abs(x[j] - p) >= 1.0 - 1e-9 for p in placed):
                shown[j] = True
                placed.append(float(x[j]))
        return shown

    def place_values(self, candidates: list[int], x: np.ndarray) -> tuple[list[tuple[int, float, int]], int]:
        """``(token, x, row)`` of each number: in the first row with room, and how many had none."""
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


class FigureLayout(NamedTuple):
    """Size of a new arc figure and where its Axes go (figure fractions: left, bottom, width, height)."""

    size: tuple[float, float]
    main: tuple[float, float, float, float]
    colorbar: tuple[float, float, float, float] | None
    dependencies: tuple[float, float, float, float] | None
    layout: ArcLayout


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
    notes: bool = True,
) -> FigureLayout:
    """Lay out a new arc figure without drawing: its size and the rectangles of its Axes.

    Parameters
    ----------
    result : AttentionResult
        The sentence (only its tokens matter).
    fontsize : float, optional
        Base text size (see :func:`attnviz.plots.style.font_sizes`).
    width : float, optional
        Figure width in inches; default: wider with more tokens, 8 to 12.8.
    height : float, optional
        Figure height in inches: the arcs take what the text leaves, at least :data:`MIN_ARC_AREA_EM`
        ems of the labels (the figure grows rather).  Default: arcs :data:`ARC_AREA_IN` tall.
    title, colorbar, syntax
        Leave room for a title, a colour bar and dependency arcs, as :func:`attnviz.plot_arcs` draws them.
    hides_links : bool
        Whether a view may hide weak links (``top_k`` or ``threshold``): room in the notes to count them.
    notes : bool
        Leave room for the grey notes above the arcs; ``False`` for a front end that shows them as text.

    Returns
    -------
    FigureLayout

    Examples
    --------
    >>> figure_layout(result, fontsize=16, width=8, height=3.3, colorbar="top").size
    (8.0, 3.3)
    """
    sizes = font_sizes(fontsize)
    notes_size = sizes["notes"]
    place = colorbar_place(colorbar)
    for_tokens = WIDTH_PER_TOKEN_IN * sizes["labels"] * result.n_tokens + 2.5
    if width is None:
        # In classroom mode no wider than a projector shows at the classroom sizes (style.modo_clase).
        widest = CLASSROOM_WIDTH if classroom_mode() else MAX_WIDTH_IN
        width = float(np.clip(for_tokens, min(MIN_WIDTH_IN, widest), widest))
    width = float(width)
    total = width * 72.0
    arcs = ARC_AREA_IN * 72.0 * (max(1.0, sizes["labels"] / 12.0) if place == "right" else 1.0)

    def margins(arcs: float) -> tuple[float, float, float, float, float, ArcLayout]:
        """Margins (left, right, top, bottom), room below for dependencies (points), and the layout."""
        left, right = 8.0, 0.0
        if place == "right":
            # Bar, its tick labels ("0.0025"), and its label written sideways on as many lines as it needs.
            labels = (colorbar_lines(scale, notes_size, 0.95 * arcs, result.measure) for scale in SCALES)
            lines = 1 + max(label.count("\n") for label in labels)
            bar = 10.0 + 12.0 + 4.0  # the gap, the bar and its ticks
            right = bar + text_width("0.0025", notes_size) + 6.0 + lines * LINE_EM * notes_size + 6.0
        elif place == "top":
            right = 8.0  # only what reaches past the last slot
        layout = ArcLayout.build(result.tokens, fontsize, total - left - right)
        if layout.left_overhang + 4.0 > left or (place == "top" and layout.right_overhang + 4.0 > right):
            left = max(left, layout.left_overhang + 4.0)
            right = max(right, layout.right_overhang + 4.0) if place == "top" else right
            layout = ArcLayout.build(result.tokens, fontsize, total - left - right)
        legend = top_bar_height(layout.sizes) if place == "top" else 0.0
        # Room for the longest notes of any view: every part, with the widest counts.
        longest = arc_notes(result, layout, 999 if hides_links else 0, 999, 99)
        lines = longest.count("\n") + 1 if notes else 0
        layout = dataclasses.replace(layout, notes_lines=lines, legend=legend)
        below = dependency_height(layout, syntax) if syntax is not None else 0.0
        top = notes_height(layout) + ((LINE_EM * sizes["title"] + 8.0) if title else 0.0)
        bottom = layout.label_pad + layout.label_depth + 6.0 + below
        return left, right, top, bottom, below, layout

    left, right, top, bottom, below, layout = margins(arcs)
    if height is not None:
        # The right bar's label wraps to the arcs' height, which moves the tokens: a few rounds settle it.
        for _ in range(3):
            fitted = max(height * 72.0 - top - bottom, MIN_ARC_AREA_EM * sizes["labels"])
            if abs(fitted - arcs) < 0.5:
                break
            arcs = fitted
            left, right, top, bottom, below, layout = margins(arcs)
    figure_height = top + arcs + bottom

    def fractions(x: float, y: float, w: float, h: float) -> tuple[float, float, float, float]:
        return (x / total, y / figure_height, w / total, h / figure_height)

    bar = None
    if place == "right":
        bar = fractions(total - right + 10.0, bottom + 0.1 * arcs, 12.0, 0.8 * arcs)
    elif place == "top":
        x, y, w, h = top_bar_box(layout)
        bar = fractions(total - right - x - w, bottom + arcs + y, w, h)
    deps = fractions(left, 4.0, total - left - right, below - 6.0) if syntax is not None else None
    main = fractions(left, bottom, total - left - right, arcs)
    return FigureLayout((width, round(figure_height / 72.0, 3)), main, bar, deps, layout)


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


def colorbar_lines(scale: Scale, size: float, height: float, measure: str = "peso") -> str:
    """The colour bar's label on lines that fit along a bar ``height`` points tall (at `` · `` first)."""
    parts = colorbar_label(scale, measure=measure).split(" · ")
    return "\n".join(join_lines(part.split(" "), height, size, separator=" ") for part in parts)


def top_bar_height(sizes: dict[str, float]) -> float:
    """Points above the Axes for the colour bar's own line: one line of notes and a little air."""
    return LINE_EM * sizes["notes"] + 6.0


def top_bar_box(layout: ArcLayout) -> tuple[float, float, float, float]:
    """The ``"top"`` colour bar, in points: (left of the Axes' right end, above its top, width, thickness)."""
    size = layout.sizes["notes"]
    length, thickness = (TOP_BAR_EM[0] * size, TOP_BAR_EM[1] * size)
    end = TOP_BAR_GAP_EM * size + text_width(TOP_BAR_LONGEST_END, size)
    return end, (layout.legend - thickness) / 2, length, thickness


def notes_height(layout: ArcLayout, lines: int | None = None) -> float:
    """Points above the Axes for the notes line(s) and the colour bar's line: also the title's pad."""
    lines = layout.notes_lines if lines is None else lines
    return layout.legend + 6.0 + lines * LINE_EM * layout.sizes["notes"] + 4.0


def arc_notes(
    result: AttentionResult,
    layout: ArcLayout,
    hidden: int,
    unlabelled: int,
    without_room: int,
    *,
    mathtext: bool = True,
) -> str:
    """The grey notes above the arcs (model, what is hidden, causal mask) on lines that fit the Axes.

    ``mathtext=False`` for a front end's plain text, where ``$`` needs no escaping.
    """
    notes = f"Índices desde 0 · {label_text(result.model_name, 60, mathtext=mathtext)}"
    if hidden > 0:
        notes += f" · {_count(hidden, 'enlace débil oculto', 'enlaces débiles ocultos')}"
    if layout.focus:
        unit = result.unit_noun if unlabelled == 1 else f"{result.unit_noun}s"
        notes += f" · texto largo: {unlabelled} {unit} sin etiqueta (marcas grises)"
    if without_room:
        notes += f" · {_count(without_room, 'valor sin sitio', 'valores sin sitio')}"
    if result.causal:
        notes += f" · {CAUSAL_NOTE}"
    return join_lines(notes.split(" · "), layout.axes_width, layout.sizes["notes"])


def _count(count: int, one: str, many: str) -> str:
    return f"{count} {one if count == 1 else many}"


def dependency_height(layout: ArcLayout, syntax: SyntaxAnnotation) -> float:
    """Points below the labels for the dependency arcs (as deep as their nesting) and the POS legend."""
    if layout.focus:
        return 0.0
    from ..syntax.plots import arc_levels

    size = layout.sizes["notes"]
    x = word_x(syntax, layout.positions(0))
    edges = syntax.edges()
    pairs = [(x[e.dependent], x[e.governor]) for e in edges]
    # The extents draw_dependencies will measure, so that its levels are the ones sized for here.
    half = [0.65 * (text_width(e.relation, size) + size) / layout.slot for e in edges]
    extents = [((a + b) / 2 - h, (a + b) / 2 + h) for (a, b), h in zip(pairs, half, strict=True)]
    levels = arc_levels([(e.dependent, e.governor) for e in edges], extents)
    deepest = max(levels, default=0)
    return (deepest + 0.8) * DEP_LEVEL_EM * size + LINE_EM * size + 14.0


def word_x(syntax: SyntaxAnnotation, token_x: np.ndarray) -> np.ndarray:
    """x of each word of ``syntax``: the mean of its tokens' x."""
    ids = np.asarray(syntax.word_ids)
    return np.array([token_x[ids == w].mean() if (ids == w).any() else np.nan for w in range(syntax.n_words)])
