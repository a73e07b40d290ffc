"""Heatmap of one head: the ``n x n`` matrix, rows = from, columns = to."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Literal

import numpy as np

from ..core.aggregate import segment_mask
from ..core.measures import with_measure
from ..core.result import AttentionResult
from . import style
from .labels import LABEL_SPACING, MAX_TITLE_CHARS, join_lines, label_text, side_points

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.colorbar import Colorbar
    from matplotlib.colors import Colormap
    from matplotlib.text import Text

#: Masked cells (another sentence-pair block, a causal model's future) are hatched, not coloured:
#: coolwarm's light grey middle would read as a middling weight.
MASKED_HATCH = "////"
MASKED_EDGE = "0.75"
#: Smallest zoom window, in tokens.
MIN_WINDOW = 16
#: Share of the tokens that fit which a zoom window shows.
WINDOW_MARGIN = 0.85
#: A number in a cell needs this many label font sizes of room ("0.27" is about 2.2 em wide).
VALUE_WIDTH_EM = 2.5
#: Fewest rows (or columns) a classroom heatmap's window shows, however little room it has.
MIN_PROJECTOR_WINDOW = 3
#: The axes' names (columns, rows), on a laptop and, shorter, in classroom mode.
AXIS_NAMES = {
    "normal": ("hacia (token que recibe la atención)", "desde (token que atiende)"),
    "clase": ("hacia (recibe la atención)", "desde (atiende)"),
}

Window = int | Literal["auto"] | None


def settle_layout(ax: Axes) -> None:
    """Lay out once more, now that all is on the figure (else a notebook's first draw may clip the title)."""
    from matplotlib.layout_engine import ConstrainedLayoutEngine

    figure = ax.figure.canvas.figure  # the root Figure, through any SubFigures
    engine = figure.get_layout_engine()
    if isinstance(engine, ConstrainedLayoutEngine):
        engine.execute(figure)


def token_labels(result: AttentionResult) -> list[str]:
    """Token texts safe for matplotlib: short, no mathtext, no missing glyphs, visible blanks."""
    return [label_text(t) for t in result.tokens]


def figure_size(n: int, max_side: float = 16.0, fontsize: float | None = None) -> tuple[float, float]:
    """Inches for ``n`` tokens: a square of 5 to ``max_side`` inches (more for larger fonts), a colour bar.

    In classroom mode, the classroom box (:func:`attnviz.plots.style.fit_figure`): rows and columns
    then zoom separately around a source (:func:`projector_windows`).
    """
    if style.classroom_mode():
        return style.CLASSROOM_WIDTH, style.CLASSROOM_HEIGHT
    grow = style.base_size(fontsize) / style.FONTSIZE
    side = float(np.clip(0.38 * n * grow + 2.5, 5.0, max_side))
    return side + 1.2, side


def masked_matrix(
    result: AttentionResult, matrix: np.ndarray, segments: Sequence[str] | str | None = None
) -> np.ma.MaskedArray:
    """``matrix`` with the causal future and the cells outside ``segments`` masked."""
    n = result.n_tokens
    data = np.asarray(matrix, dtype=np.float64)
    if data.shape != (n, n):
        raise ValueError(f"matrix must be [{n}, {n}], got {data.shape}")
    hidden = ~segment_mask(result, segments)
    if result.causal:
        hidden |= np.triu(np.ones((n, n), dtype=bool), k=1)
    return np.ma.masked_array(data, mask=hidden)


def scaled(
    data: np.ma.MaskedArray, scale: style.Scale, causal: bool = False
) -> tuple[np.ma.MaskedArray, float]:
    """What the image shows and the top of its colour scale; ``"row"`` divides each row by its own top."""
    hidden = np.ma.getmaskarray(data)
    if scale == "row":
        return data / style.row_tops(np.ma.getdata(data), hidden)[:, None], 1.0
    return data, style.scale_top(np.ma.getdata(data), None, scale, causal, hidden)


def window_range(n: int, source: int, size: int) -> tuple[int, int]:
    """``(start, stop)`` of ``size`` tokens centred on ``source``, inside ``0..n``."""
    size = min(n, size)
    start = int(np.clip(source - size // 2, 0, n - size))
    return start, start + size


def readable_tokens(ax: Axes, fontsize: float) -> int:
    """How many token labels fit along the Axes' shorter side at ``fontsize``, as the Axes stands now."""
    side = min(side_points(ax, "x"), side_points(ax, "y"))
    return max(1, int(side // (LABEL_SPACING * fontsize)))


def resolve_window(n: int, source: int | None, window: Window, fit: int) -> tuple[int, int]:
    """The token range a heatmap shows: all, or a window around ``source``."""
    if source is None or window is None:
        return 0, n
    if window == "auto":
        if n <= fit:
            return 0, n
        # A margin: the zoomed labels (all shown now) may be longer and take room from the cells.
        size = max(MIN_WINDOW, int(WINDOW_MARGIN * fit))
    elif isinstance(window, bool) or not isinstance(window, int) or window < 1:
        raise ValueError(f"window must be a positive int, 'auto' or None, not {window!r}")
    else:
        size = window
    return window_range(n, source, size)


def room_points(ax: Axes) -> tuple[float, float]:
    """Width and height, in points, that the layout gives the Axes (before square cells shrink a side).

    Parameters
    ----------
    ax : matplotlib Axes

    Returns
    -------
    (float, float)

    Examples
    --------
    >>> room_points(plot_heatmap(result, 3, 5))  # (414.7, 414.7) on a laptop
    """
    box = ax.get_position(original=True).transformed(ax.figure.transSubfigure)
    return box.width * 72.0 / ax.figure.dpi, box.height * 72.0 / ax.figure.dpi


def projector_windows(
    ax: Axes, n: int, source: int, fontsize: float
) -> tuple[tuple[int, int], tuple[int, int]]:
    """The rows and the columns a classroom heatmap shows around ``source``: as many as can be labelled.

    A projector's picture is wide and short: every column may fit while only a few rows do, so
    each has its own window (a square one would leave most of the width empty).

    Parameters
    ----------
    ax : matplotlib Axes
        The heatmap's Axes, laid out (its room is known).
    n : int
        Tokens.
    source : int
        The marked row; both windows are centred on it.
    fontsize : float
        The labels' size, in points.

    Returns
    -------
    ((int, int), (int, int))
        ``(start, stop)`` of the rows, then of the columns.

    Examples
    --------
    >>> projector_windows(ax, 19, 9, 16.0)  # a 19-token sentence in the classroom box: 7 rows, every column
    ((6, 13), (0, 19))
    """
    width, height = room_points(ax)
    spacing = LABEL_SPACING * fontsize

    def span(points: float) -> tuple[int, int]:
        fit = max(1, int(points // spacing))
        return (0, n) if n <= fit else window_range(n, source, max(MIN_PROJECTOR_WINDOW, fit))

    return span(height), span(width)


def _fit_windows(
    ax: Axes, notes: Text, n: int, source: int, fontsize: float
) -> tuple[tuple[int, int], tuple[int, int]]:
    """Classroom windows that the laid-out map holds: the map fills its room (its cells about as wide
    as tall), and the windows shrink until the room the layout leaves them holds all their labels."""
    figure = ax.figure.canvas.figure
    ax.set_aspect("auto")
    notes.set_text("\n\n")  # the marked row and the two windows: three lines at most
    figure.draw_without_rendering()
    span, columns = projector_windows(ax, n, source, fontsize)
    for _ in range(4):
        show_window(ax, *span, columns=columns)
        figure.draw_without_rendering()
        rows_fit, columns_fit = projector_windows(ax, n, source, fontsize)
        # Windows only shrink from one round to the next, so the rounds end.
        smaller = (
            rows_fit if rows_fit[1] - rows_fit[0] < span[1] - span[0] else span,
            columns_fit if columns_fit[1] - columns_fit[0] < columns[1] - columns[0] else columns,
        )
        if smaller == (span, columns):
            break
        span, columns = smaller
    return span, columns


def show_window(ax: Axes, start: int, stop: int, columns: tuple[int, int] | None = None) -> None:
    """Zoom the Axes on rows ``start..stop-1`` and on ``columns`` (default: the same tokens)."""
    first, last = (start, stop) if columns is None else columns
    ax.set_xlim(first - 0.5, last - 0.5)
    ax.set_ylim(stop - 0.5, start - 0.5)


def heatmap_notes(
    result: AttentionResult,
    source: int | None,
    span: tuple[int, int],
    segments: Sequence[str] | str | None = None,
    columns: tuple[int, int] | None = None,
) -> list[str]:
    """The parts of the grey note under the map: indices, model, marked row, window(s), masks.

    ``span`` is the rows shown; ``columns`` the columns, when they are another window.
    """
    notes = [f"Índices desde 0 · {result.model_name}"]
    if source is not None:
        word = label_text(result.tokens[source], MAX_TITLE_CHARS)
        notes.append(f"fila marcada ▶: «{word}» ({result.unit_noun} {source})")
    start, stop = span
    n, units = result.n_tokens, f"{result.unit_noun}s"
    if columns is not None and columns != span:
        shown = [(name, first, last) for name, (first, last) in (("filas", span), ("columnas", columns))]
        windows = [f"{name} {first}–{last - 1}" for name, first, last in shown if last - first < n]
        notes.append(f"ventana: {', '.join(windows)} de {n} {units}")
    elif stop - start < n:
        notes.append(f"ventana: {units} {start}–{stop - 1} de {n}")
    if result.causal:
        notes.append("rayado: futuro enmascarado")
    if segments is not None:
        blocks = ", ".join([segments] if isinstance(segments, str) else segments)
        notes.append(f"bloques: {blocks} (el resto, rayado)")
    return notes


def fit_colorbar_label(colorbar: Colorbar, label: str, fontsize: float) -> None:
    """Set an upright colour bar's label, broken into lines no longer than the bar (none is cut off).

    A classroom picture is short: its bar is shorter than a label such as «peso de atención ·
    escala 0 – máximo de esta cabeza» at the notes' size.

    Parameters
    ----------
    colorbar : matplotlib Colorbar
        An upright bar, laid out (its length is read from its Axes).
    label : str
        What the bar says (:func:`attnviz.plots.style.colorbar_label`).
    fontsize : float
        The label's size, in points.

    Examples
    --------
    >>> bar = plot_heatmap(result, 3, 5).images[0].colorbar
    >>> fit_colorbar_label(bar, style.colorbar_label("head"), 12.8)
    """
    length = colorbar.ax.bbox.height * 72.0 / colorbar.ax.figure.dpi
    # A middle dot stays at the end of its line: it never starts one.
    words = label.replace(" · ", "\u00a0· ").split(" ")
    colorbar.set_label(join_lines(words, length, fontsize, separator=" "), fontsize=fontsize)


def heatmap_cmap() -> Colormap:
    """Coolwarm with masked cells transparent (the hatched Axes background shows through)."""
    import matplotlib.pyplot as plt

    return plt.get_cmap(style.CMAP).with_extremes(bad=(0.0, 0.0, 0.0, 0.0))


def plot_heatmap(
    result: AttentionResult,
    layer: int | None,
    head: int | None,
    ax: Axes | None = None,
    *,
    matrix: np.ndarray | None = None,
    source: int | None = None,
    window: Window = "auto",
    values: bool = False,
    segments: Sequence[str] | str | None = None,
    colorbar: bool = True,
    title: str | None = None,
    scale: style.Scale | None = None,
    vmax: float | None = None,
    fontsize: float | None = None,
    measure: str | None = None,
) -> Axes:
    """Draw one head (or ``matrix``, e.g. an aggregate) as a heatmap.

    Rows are the tokens attention comes FROM, columns the tokens it goes TO; blue is a low
    weight, red a high one.  Hidden cells (outside ``segments``, a causal model's future) are
    hatched.  Token labels that would overlap are skipped in even steps, never the source's.

    Parameters
    ----------
    result : AttentionResult
        What :func:`attnviz.extract` (or :func:`attnviz.to_words`) returns.
    layer, head : int or None
        Which head, counted from 0; None with ``matrix``.
    ax : matplotlib Axes, optional
        Where to draw; ``None`` makes a new figure sized to the token count (5 to 16 inches a side).
    matrix : ndarray, optional
        An ``[n, n]`` matrix to draw instead of one head (see :mod:`attnviz.core.aggregate`).
    source : int, optional
        A token (row) to mark with a frame and ``▶``; at long ``n`` the map zooms on it.
    window : int, "auto" or None
        With ``source``: show this many tokens around it; ``"auto"``: as many as can be
        labelled, when the whole map cannot (in classroom mode the rows and the columns each,
        :func:`projector_windows`); None: the whole map.
    values : bool
        Write each weight in its cell when the numbers fit (a note says when they do not).
    segments : str or sequence of str, optional
        Keep only some sentence-pair blocks: ``"A->A"``, ``"A->B"``, ``"B->A"``, ``"B->B"``.
    colorbar : bool
        Add a colour bar; its label names the scale.
    title : str, optional
        Replaces "Capa · cabeza".
    scale : {"head", "absolute", "row"}, optional
        Top of the colours: the head's largest weight (default), 1, or each row's own
        maximum, rounded up as in every view (:func:`attnviz.plots.style.scale_top`).
    vmax : float, optional
        Top of the colour scale given by hand, e.g. shared by several panels; overrides ``scale``.
    fontsize : float, optional
        Base text size in points (tick labels); ``attnviz.plots.style.CLASSROOM_FONTSIZE`` for a projector.
        After :func:`attnviz.modo_clase`, at least that, on a figure laid out for a projector.
    measure : {"peso", "contribucion"}, optional
        The weights, or each arc's contribution (:func:`attnviz.with_measure`); None: what
        ``result`` holds.  The title and the colour bar say which.

    Returns
    -------
    matplotlib Axes
        The Axes drawn on.  Gids: ``"heatmap"`` (the image), ``"source"``, ``"notes"``, ``"value-<i>-<j>"``.

    Examples
    --------
    >>> ax = attnviz.plot_heatmap(result, 3, 5, source=2, values=True)
    >>> attnviz.plot_heatmap(pair, 3, 5, segments=["A->B"], scale="absolute")
    """
    result = with_measure(result, measure)
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle

    from .token_ticks import TokenFormatter, TokenLocator

    scale = style.check_scale(scale)
    sizes = style.font_sizes(fontsize)
    if matrix is None:
        if layer is None or head is None:
            raise ValueError("pass layer and head, or a matrix")
        matrix = result.head(layer, head)
    if source is not None:
        source = result.check_token(source)
    weights = masked_matrix(result, matrix, segments)
    data, top = scaled(weights, scale, result.causal)
    if vmax is not None:
        top = vmax
    n = result.n_tokens
    if ax is None:
        _, ax = plt.subplots(figsize=figure_size(n, fontsize=sizes["labels"]), layout="constrained")
    ax.patch.set(facecolor="white", hatch=MASKED_HATCH, edgecolor=MASKED_EDGE)
    image = ax.imshow(
        data, cmap=heatmap_cmap(), vmin=0.0, vmax=top, interpolation="nearest", aspect="equal", gid="heatmap"
    )
    # Tick labels that would overlap are skipped at draw time, in even steps from the source.
    labels = token_labels(result)
    anchor = 0 if source is None else source
    ax.xaxis.set_major_locator(TokenLocator(n, sizes["labels"], anchor, along="x"))
    ax.xaxis.set_major_formatter(TokenFormatter(labels))
    ax.yaxis.set_major_locator(TokenLocator(n, sizes["labels"], anchor, along="y"))
    ax.yaxis.set_major_formatter(TokenFormatter(labels, source))
    ax.tick_params(length=0, labelsize=sizes["labels"])
    ax.tick_params(axis="x", labelrotation=90)
    ax.xaxis.tick_top()
    ax.xaxis.set_label_position("top")
    # A classroom picture is short: an upright name longer than the map would squeeze it.
    names = AXIS_NAMES["clase" if style.classroom_mode() else "normal"]
    ax.set_xlabel(names[0], fontsize=sizes["labels"])
    ax.set_ylabel(names[1], fontsize=sizes["labels"])
    if title is None:
        title = f"Capa {layer} · cabeza {head}" if layer is not None and head is not None else ""
        title += style.measure_suffix(result) if title else ""
    ax.set_title(title, fontsize=sizes["title"])
    notes = style.add_notes(ax, 0.0, -0.01, "", sizes["notes"])
    bar = None
    if colorbar:
        label = style.colorbar_label(scale, vmax, result.measure)
        bar = style.add_colorbar(ax.figure, image, label, sizes["notes"], ax=ax, shrink=0.8, pad=0.02)

    if values or (source is not None and window == "auto"):
        # The room left for the cells is known only once the layout has placed the labels.
        ax.figure.canvas.figure.draw_without_rendering()
    if style.classroom_mode() and source is not None and window == "auto":
        span, columns = _fit_windows(ax, notes, n, source, sizes["labels"])
    else:
        span = columns = resolve_window(n, source, window, readable_tokens(ax, sizes["labels"]))
    show_window(ax, *span, columns=columns)
    frame = Rectangle(
        (columns[0] - 0.5, (source or 0) - 0.5),
        columns[1] - columns[0],
        1.0,
        fill=False,
        edgecolor="black",
        linewidth=2.0,
        gid="source",
        visible=source is not None,
        zorder=3,
    )
    ax.add_patch(frame)
    parts = heatmap_notes(result, source, span, segments, columns)
    if values and not _draw_values(ax, weights, data, top, (span, columns), sizes["values"]):
        parts.append("números omitidos: no caben en las celdas")
    notes.set_text(join_lines(parts, side_points(ax, "x"), sizes["notes"]))
    if bar is not None and style.classroom_mode():
        # A short classroom picture: the bar's label in lines as long as the bar, once it is laid out.
        ax.figure.canvas.figure.draw_without_rendering()
        fit_colorbar_label(bar, bar.ax.get_ylabel(), sizes["notes"])
    settle_layout(ax)
    return ax


def _draw_values(
    ax: Axes,
    weights: np.ma.MaskedArray,
    shown: np.ma.MaskedArray,
    top: float,
    spans: tuple[tuple[int, int], tuple[int, int]],
    size: float,
) -> bool:
    """Write the weights of the visible cells in a colour readable on ``shown``; False if they do not fit.

    ``spans``: the rows and the columns shown.
    """
    (start, stop), (first, last) = spans
    if (first, last) == (start, stop):
        cell = min(side_points(ax, "x"), side_points(ax, "y")) / (stop - start)
    else:
        width, height = room_points(ax)
        cell = min(width / (last - first), height / (stop - start))
    if cell < VALUE_WIDTH_EM * size:
        return False
    raw = np.ma.getdata(weights)
    colours = heatmap_cmap()(np.clip(np.ma.getdata(shown) / top, 0.0, 1.0))
    visible = np.argwhere(~np.ma.getmaskarray(weights)[start:stop, first:last]) + np.array([start, first])
    for i, j in visible.tolist():
        ax.text(
            j,
            i,
            f"{raw[i, j]:.2f}",
            ha="center",
            va="center",
            fontsize=size,
            color=style.text_color_on(tuple(colours[i, j])),
            gid=f"value-{i}-{j}",
            # Cells sit inside the Axes: leaving them out of the layout keeps savefig fast.
            in_layout=False,
        )
    return True
