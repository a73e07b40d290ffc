"""The table of views: each view's name, what a selector shows, its plot function and the options it takes.

The CLI (``--view``) and the explorer both draw through it: a view takes exactly the options written here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..core.agreement import strongest_target
from ..core.measures import with_measure
from ..core.metrics import head_metrics, layer_profile
from ..core.result import AttentionResult
from .arcs import plot_arcs
from .graph import plot_graph
from .grid import plot_grid
from .heatmap import plot_heatmap
from .importance import plot_attention_to_word
from .profile import plot_profile
from .scores import plot_scores
from .textview import plot_text

if TYPE_CHECKING:
    from matplotlib.axes import Axes


@dataclass(frozen=True)
class View:
    """One view of a result.

    Examples
    --------
    >>> sorted(VIEWS["grid"].options)
    ['fontsize', 'measure', 'scale']
    """

    #: What a selector shows (Spanish).
    label: str
    #: ``plot(result, layer, head, source, ax, **options)``.
    plot: Callable[..., Axes]
    #: The options this view honours; any other is dropped by :meth:`draw`.
    options: frozenset[str]
    #: Offered by the explorer (the profile needs the whole model, not one head).
    in_explorer: bool = True

    def draw(
        self,
        result: AttentionResult,
        layer: int,
        head: int,
        source: int,
        ax: Axes | None = None,
        **options: Any,
    ) -> Axes:
        """Draw this view, passing only the options it takes (and leaving out those set to None).

        Parameters
        ----------
        result : AttentionResult
            The sentence.
        layer, head, source : int
            The head and the token the attention comes from (from 0).
        ax : matplotlib Axes, optional
            Where to draw (a new figure if None).
        **options
            Any option of any view (``matrix``, ``scale``, ``syntax``…); only :attr:`options` are passed on.

        Returns
        -------
        matplotlib Axes

        Examples
        --------
        >>> VIEWS["text"].draw(result, 3, 5, 2, scale="row", fontsize=16).figure.savefig("texto.png")
        """
        taken = {name: value for name, value in options.items() if name in self.options and value is not None}
        return self.plot(result, layer, head, source, ax, **taken)


def _heatmap(result: AttentionResult, layer: int, head: int, source: int, ax: Axes | None, **o: Any) -> Axes:
    return plot_heatmap(result, layer, head, ax, source=source, **o)


def _grid(result: AttentionResult, layer: int, head: int, source: int, ax: Axes | None, **o: Any) -> Axes:
    # The grid has no "row" scale: each thumbnail up to its own maximum is the nearest.
    if o.get("scale") == "row":
        o["scale"] = "head"
    return plot_grid(result, ax, selected=(layer, head), **o)


def _graph(result: AttentionResult, layer: int, head: int, source: int, ax: Axes | None, **o: Any) -> Axes:
    # The whole head's structure: with a source the graph would keep only that token's edges.
    return plot_graph(result, layer, head, ax=ax, **o)


def _profile(result: AttentionResult, layer: int, head: int, source: int, ax: Axes | None, **o: Any) -> Axes:
    result = with_measure(result, o.pop("measure", "peso"))
    return plot_profile(layer_profile(head_metrics(result)), ax, **o)


def _scores(result: AttentionResult, layer: int, head: int, source: int, ax: Axes | None, **o: Any) -> Axes:
    return plot_scores(result, layer, head, source, ax, **o)


def _to_word(result: AttentionResult, layer: int, head: int, source: int, ax: Axes | None, **o: Any) -> Axes:
    # Every head at once, from the source: to the word it looks at most (on average) unless named.
    target = o.pop("target", None)
    if target is None:
        target = strongest_target(result, source)
    return plot_attention_to_word(result, target, source, ax, **o)


_ONE_HEAD = frozenset({"matrix", "title", "scale", "fontsize", "measure"})

#: Every view by name, in the order selectors show them.
VIEWS: dict[str, View] = {
    "arcs": View("Arcos", plot_arcs, _ONE_HEAD | {"syntax", "top_k", "values"}),
    "text": View("Texto resaltado", plot_text, _ONE_HEAD),
    "heatmap": View("Mapa de calor", _heatmap, _ONE_HEAD | {"values", "segments"}),
    "grid": View("Todas las cabezas", _grid, frozenset({"scale", "fontsize", "measure"})),
    "graph": View("Grafo", _graph, _ONE_HEAD),
    # q·k rebuilds the weights themselves: it has no contribution to show.
    "scores": View("Cálculo q·k", _scores, frozenset({"fontsize", "scaled"})),
    "profile": View(
        "Perfil por capa", _profile, frozenset({"fontsize", "compare", "measure"}), in_explorer=False
    ),
    # A grid of every head, not one head: beside the importance grid (plot_importance_and_attention).
    "to_word": View(
        "Atención hacia una palabra, cabeza a cabeza",
        _to_word,
        frozenset({"fontsize", "measure", "target"}),
        in_explorer=False,
    ),
}

#: The views the explorer offers.
EXPLORER_VIEWS: tuple[str, ...] = tuple(name for name, view in VIEWS.items() if view.in_explorer)
