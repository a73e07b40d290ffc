"""What the explorer shows, without ipywidgets: controls in, (picture, table, metrics line) out.

:class:`Session` owns the model, the one cached :class:`AttentionResult` per
sentence and every cache built from it (word level, aggregates, renderers,
pictures).  The model runs only in :meth:`Session.analyze`; :meth:`Session.frame`
draws any :class:`Controls` from the cache.  :class:`attnviz.widget.Explorer`
is one front end over it; the vocabulary both front ends share (views,
aggregates, the seed sentence) is defined here and in :mod:`attnviz.aggregate`.
"""

from __future__ import annotations

import contextlib
import html
import os
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from . import grid, heatmap
from .aggregate import AGGREGATES
from .arcs import from_source
from .errors import AttnvizError, InvalidInputTypeError, OfflineFallbackWarning, TruncationWarning
from .extraction import extract
from .loading import OFFLINE_ALIAS, OFFLINE_DISPLAY_NAME, display_name, load_model
from .metrics import one_head_summary
from .render import ArcRenderer, FigureRenderer
from .result import AttentionResult
from .words import to_words

SEED_SENTENCE = "El perro que persiguió al gato cruzó la calle."

#: Every view by name, with what a selector shows.  The explorer offers EXPLORER_VIEWS;
#: the CLI (``--view``) all of them.
VIEWS: dict[str, str] = {
    "arcs": "Arcos",
    "heatmap": "Mapa de calor",
    "grid": "Todas las cabezas",
    "profile": "Perfil por capa",
}
EXPLORER_VIEWS: tuple[str, ...] = ("arcs", "heatmap", "grid")
#: The "aggregate" that is no aggregate: the head the sliders pick.
ONE_HEAD = "head"
#: What the explorer's ``Cabezas:`` selector offers, as (label, name) pairs.
AGGREGATE_CHOICES: list[tuple[str, str]] = [
    ("una cabeza", ONE_HEAD),
    *((AGGREGATES[name].label, name) for name in ("mean", "rollout")),
]

#: What the model selector offers, and the alias each choice loads.
MODEL_CHOICES: dict[str, str] = {
    "BETO cased": "beto",
    "BETO uncased": "beto-uncased",
    "sin conexión (MiniLM)": OFFLINE_ALIAS,
}
_ALIAS_LABELS = {alias: label for label, alias in MODEL_CHOICES.items()}
FALLBACK_NOTICE = (
    "No se pudo conectar con BETO: se usa el modelo sin conexión all-MiniLM-L6-v2 (en inglés, 6 capas)."
)

#: PNGs kept per sentence (about 100 KB each at most).
PICTURE_CACHE = 64
#: The heat map's side stops at 10 inches in the explorer (a notebook shows it ~1000 px wide).
HEATMAP_MAX_SIDE = 10.0


@dataclass(frozen=True)
class Controls:
    """Everything a front end lets a student choose for one view (indices from 0)."""

    layer: int = 0
    head: int = 0
    #: The token (or word, with ``words``) the attention comes from.
    source: int = 0
    view: str = "arcs"
    #: ``"head"`` or a name in :data:`attnviz.aggregate.AGGREGATES`.
    aggregate: str = ONE_HEAD
    words: bool = False

    @property
    def uses_head(self) -> bool:
        """False when the head slider changes nothing (an aggregate, outside the grid)."""
        return self.aggregate == ONE_HEAD or self.view == "grid"


@dataclass(frozen=True)
class Frame:
    """One view as a front end shows it."""

    #: PNG bytes.
    picture: bytes
    #: HTML table of the source's weights, strongest first (token text escaped).
    table: str
    #: HTML line with the chosen head's metrics.
    metrics: str


class Session:
    """A model, the current sentence's result, and every picture drawn from it.

    Methods raise :class:`~attnviz.AttnvizError` with a Spanish message
    (``err.message_es``) for anything a student should read, unexpected
    failures included, and leave the session as it was.
    """

    _words: AttentionResult | None
    _renderers: dict[tuple[str, str], Any]
    _matrices: dict[tuple[str, str, int], np.ndarray]
    _metrics: dict[tuple[str, int, int], str]
    _pictures: dict[tuple[str, str, str, int, int, int], bytes]

    def __init__(self) -> None:
        self.model: Any = None
        self.tokenizer: Any = None
        #: What the model selector shows for the loaded model.
        self.model_label = ""
        #: A lasting notice about the model (the offline fallback), "" if none.
        self.notice = ""
        #: The current sentence's token-level result.
        self.result: AttentionResult | None = None
        self.forward_count = 0
        self._reset_caches()

    # -- model and sentence: the only places the model runs --------------------------------

    def load(self, model: Any = None, tokenizer: Any = None) -> None:
        """Use another model: a name, alias or path, a (model, tokenizer) pair, or a model and ``tokenizer``.

        ``None`` loads BETO, or the offline model with :data:`notice` set when BETO cannot be reached.
        """
        notice = ""
        if model is None:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                model, tokenizer = load_model(None)
            fell_back = any(issubclass(w.category, OfflineFallbackWarning) for w in caught)
            label = _ALIAS_LABELS[OFFLINE_ALIAS if fell_back else "beto"]
            notice = FALLBACK_NOTICE if fell_back else ""
        elif isinstance(model, (tuple, list)):
            if len(model) != 2:
                raise InvalidInputTypeError(
                    "Pasa el modelo como un nombre o como un par (modelo, tokenizador).",
                    "Pass the model as a name or as a (model, tokenizer) pair.",
                )
            model, tokenizer = model
            label = _loaded_label(model)
        elif isinstance(model, (str, os.PathLike)):
            name = MODEL_CHOICES.get(os.fspath(model).strip(), os.fspath(model).strip())
            model, tokenizer = load_model(name)
            label = _ALIAS_LABELS.get(name.lower(), name)
        else:
            if tokenizer is None:
                raise InvalidInputTypeError(
                    "Falta el tokenizador: pasa explorer((modelo, tokenizador)) o "
                    "explorer(modelo, tokenizer=tokenizador).",
                    "The tokenizer is missing: pass explorer((model, tokenizer)) or "
                    "explorer(model, tokenizer=tokenizer).",
                )
            label = _loaded_label(model)
        self.model, self.tokenizer, self.model_label, self.notice = model, tokenizer, label, notice

    def analyze(self, text: object) -> str:
        """Run the model once on ``text``; returns the truncation warning in Spanish, or ""."""
        if self.model is None:
            raise AttnvizError(
                "No hay ningún modelo cargado: elige uno en «Modelo».",
                "No model is loaded: pick one under «Modelo».",
            )
        failure = ("El modelo falló con esta frase", "The model failed on this sentence")
        with _one_sentence(*failure, detail=False), warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            result = extract(self.model, self.tokenizer, text)  # type: ignore[arg-type]
        self.forward_count += 1
        self.result = result
        self._reset_caches()
        truncations = [w for w in caught if issubclass(w.category, TruncationWarning)]
        return str(truncations[0].message).split(" / ")[0] if truncations else ""

    # -- views: never run the model -------------------------------------------------------

    def view_result(self, words: bool) -> AttentionResult | None:
        """The result a view shows: token level, or word level (computed once)."""
        if self.result is None or not words:
            return self.result
        if self._words is None:
            self._words = to_words(self.result)
        return self._words

    def switch_level(self, source: int, words: bool) -> int:
        """The same place in the sentence at the other level: the token's word, or the word's first piece."""
        result = self.result
        if result is None:
            return 0
        if words:
            return result.word_ids[source] if source < len(result.word_ids) else 0
        spans = result.word_spans
        return spans[source][0] if source < len(spans) else 0

    @staticmethod
    def token_options(result: AttentionResult) -> list[tuple[str, int]]:
        """``("2: perro", 2)`` for each token (or word) a source selector offers."""
        return [(f"{i}: {tok or '␣'}", i) for i, tok in enumerate(result.tokens)]

    def frame(self, controls: Controls) -> Frame:
        """Picture, weights table and metrics line of one view, from the cached result."""
        result = self.view_result(controls.words)
        if result is None:
            raise AttnvizError("Todavía no hay ninguna frase analizada.", "No sentence was analysed yet.")
        with _one_sentence("No se pudo dibujar esta vista", "This view could not be drawn", detail=True):
            return self._frame(result, controls)

    def clear_pictures(self) -> None:
        """Forget the pictures already drawn (the renderers and aggregates stay)."""
        self._pictures.clear()

    # -- helpers --------------------------------------------------------------------------

    def _frame(self, result: AttentionResult, c: Controls) -> Frame:
        matrix, title = self._matrix(result, c)
        key = (c.view, result.level, c.aggregate, c.layer, c.head, c.source)
        picture = self._pictures.pop(key, None)
        if picture is None:
            picture = self._picture(result, c, matrix, title)
        # Most recent last; sliding back and forth over the same views costs nothing.
        self._pictures[key] = picture
        while len(self._pictures) > PICTURE_CACHE:
            self._pictures.pop(next(iter(self._pictures)))
        row = (result.head(c.layer, c.head) if matrix is None else matrix)[c.source]
        table = weights_table(result, c.source, row)
        return Frame(picture, table, self._metrics_line(result, c.layer, c.head))

    def _matrix(self, result: AttentionResult, c: Controls) -> tuple[np.ndarray | None, str | None]:
        """The aggregate's ``[n, n]`` matrix and title; (None, None) for one head."""
        if c.aggregate == ONE_HEAD:
            return None, None
        aggregate = AGGREGATES[c.aggregate]
        key = (result.level, c.aggregate, c.layer)
        if key not in self._matrices:
            self._matrices[key] = aggregate.matrix(result, c.layer)
        return self._matrices[key], f"{aggregate.title(result, c.layer)} · {from_source(result, c.source)}"

    def _picture(
        self, result: AttentionResult, c: Controls, matrix: np.ndarray | None, title: str | None
    ) -> bytes:
        if c.view == "arcs":
            key = ("arcs", result.level)
            if key not in self._renderers:
                self._renderers[key] = ArcRenderer(result)
            renderer: ArcRenderer = self._renderers[key]
            return renderer.render(c.layer, c.head, c.source, matrix=matrix, title=title)
        if c.view == "heatmap":
            size = heatmap.figure_size(result.n_tokens, HEATMAP_MAX_SIDE)
            return self._figure_renderer(("heatmap", result.level), size).render(
                lambda ax: heatmap.plot_heatmap(result, c.layer, c.head, ax, matrix=matrix, title=title)
            )
        size = grid.figure_size(result.n_layers, result.n_heads)
        return self._figure_renderer(("grid", result.level), size).render(
            lambda ax: grid.plot_grid(result, ax, selected=(c.layer, c.head))
        )

    def _figure_renderer(self, key: tuple[str, str], size: tuple[float, float]) -> FigureRenderer:
        if key not in self._renderers:
            self._renderers[key] = FigureRenderer(size)
        return self._renderers[key]

    def _metrics_line(self, result: AttentionResult, layer: int, head: int) -> str:
        key = (result.level, layer, head)
        if key not in self._metrics:
            self._metrics[key] = f"<div>{html.escape(one_head_summary(result, layer, head))}</div>"
        return self._metrics[key]

    def _reset_caches(self) -> None:
        self._words = None
        self._renderers = {}
        self._matrices = {}
        self._metrics = {}
        self._pictures = {}


def weights_table(result: AttentionResult, source: int, row: np.ndarray) -> str:
    """HTML table of one source's weights to every token, strongest first; token text escaped."""
    row = np.asarray(row, dtype=np.float64)
    order = np.argsort(-row, kind="stable")
    noun = result.unit_noun
    tokens = result.tokens
    body = "".join(
        f"<tr><td>{rank}</td><td>{html.escape(tokens[j] or '␣')}</td><td>{j}</td><td>{row[j]:.4f}</td></tr>"
        for rank, j in enumerate(order.tolist(), start=1)
    )
    return (
        # One style rule, not one per cell: at 512 tokens the table must stay small.
        "<style>.attnviz-pesos td:last-child{text-align:right;font-family:monospace}</style>"
        # A heading, not a <caption>: JupyterLab squeezes captions to the table's width.
        f"<div style='font-weight:bold'>Pesos de atención desde «{html.escape(tokens[source])}» "
        f"({noun} {source}), de mayor a menor</div>"
        f"<div style='max-height:16em;overflow-y:auto'><table class='attnviz-pesos'>"
        f"<thead><tr><th>#</th><th>{noun}</th><th>índice</th><th>peso</th></tr></thead>"
        f"<tbody>{body}</tbody></table></div>"
    )


@contextlib.contextmanager
def _one_sentence(es: str, en: str, *, detail: bool) -> Iterator[None]:
    """Let AttnvizErrors through; turn anything else into one a student can read (not a traceback)."""
    try:
        yield
    except AttnvizError:
        raise
    except Exception as err:
        what = f"{type(err).__name__}: {err}" if detail else type(err).__name__
        raise AttnvizError(f"{es} ({what}).", f"{en} ({what}).") from err


def _loaded_label(model: Any) -> str:
    name = display_name(getattr(model, "name_or_path", "") or "modelo cargado")
    return _ALIAS_LABELS[OFFLINE_ALIAS] if name == OFFLINE_DISPLAY_NAME else name
