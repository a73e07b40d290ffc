"""What the explorer shows, without ipywidgets: controls in, (picture, table, metrics line) out.

The model runs only in :meth:`Session.compute`; :meth:`Session.frame` draws any
:class:`Controls` from the cached result.
"""

from __future__ import annotations

import contextlib
import dataclasses
import html
import importlib.util
import math
import os
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..core.aggregate import AGGREGATES
from ..core.errors import AttnvizError, InvalidInputTypeError, OfflineFallbackWarning, TruncationWarning
from ..core.extraction import extract
from ..core.loading import OFFLINE_ALIAS, OFFLINE_DISPLAY_NAME, display_name, load_model, offline_hint
from ..core.measures import MEASURES, with_measure
from ..core.metrics import attention_metrics
from ..core.result import AttentionResult
from ..core.words import to_words
from ..plots import grid
from ..plots.arcs import arc_title, from_source
from ..plots.labels import shorten
from ..plots.style import (
    CLASSROOM_BOX,
    CLASSROOM_FONTSIZE,
    CLASSROOM_WIDTH,
    DEFAULT_SCALE,
    SCALE_LABELS,
    SCALES,
    check_scale,
    classroom,
)
from ..plots.views import EXPLORER_VIEWS
from ..plots.views import VIEWS as ALL_VIEWS
from ..syntax.parsing import PARSER_MODEL, SyntaxAnnotation, load_parser, parse
from .canvas import MAX_WIDTH_PX, ArcRenderer, FigureRenderer
from .heatmap_render import HeatmapRenderer
from .png import encode_png

#: Every view by name, with what a selector shows; the explorer offers EXPLORER_VIEWS.
VIEWS: dict[str, str] = {name: view.label for name, view in ALL_VIEWS.items()}
#: The size of the graph view's figure in inches: square, as the graph draws itself on a circle.
GRAPH_SIZE = (8.0, 8.0)
#: The "aggregate" that is no aggregate: the head the sliders pick.
ONE_HEAD = "head"
#: What the explorer's ``Cabezas:`` selector offers, as (label, name) pairs.
AGGREGATE_CHOICES: list[tuple[str, str]] = [
    ("una cabeza", ONE_HEAD),
    *((AGGREGATES[name].label, name) for name in ("mean", "rollout")),
]
#: What the explorer's ``Medida:`` selector offers, as (label, name) pairs.
MEASURE_CHOICES: list[tuple[str, str]] = [("peso", "peso"), ("contribución", "contribucion")]
#: What the explorer's ``Escala:`` selector offers, as (label, name) pairs.
SCALE_CHOICES: list[tuple[str, str]] = [(SCALE_LABELS[name], name) for name in SCALES]

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

#: How the explorer names the offline model in a message (loading's messages name the Python call).
OFFLINE_HINT = (
    f"elige «{_ALIAS_LABELS[OFFLINE_ALIAS]}» en «Modelo»",
    f"pick «{_ALIAS_LABELS[OFFLINE_ALIAS]}» under «Modelo»",
)

#: PNGs kept per sentence (about 100 KB each at most).
PICTURE_CACHE = 64
#: Longest token text in a selector option, the weights table or a title shown as text.
MAX_TEXT_CHARS = 40
#: Arc figure size in classroom mode, in inches: on a 1280x720 projector at 150 % zoom the
#: picture is 673 CSS px wide and may be 295 px tall under the sliders (tests/test_arcs_classroom.py);
#: the arcs are as tall as when the notes' line was inside a 3.3-inch picture.
CLASSROOM_ARC_WIDTH = CLASSROOM_WIDTH
CLASSROOM_ARC_HEIGHT = 3.1


@dataclass(frozen=True)
class Controls:
    """Everything a front end lets a student choose for one view (indices from 0)."""

    layer: int = 0
    head: int = 0
    #: The token (or word, with ``words``) the attention comes from.
    source: int = 0
    view: str = "arcs"
    #: ``"head"`` or a name in :data:`attnviz.core.aggregate.AGGREGATES`.
    aggregate: str = ONE_HEAD
    words: bool = False
    #: Top of the colour scale: a name in :data:`attnviz.plots.style.SCALES`.
    scale: str = DEFAULT_SCALE
    #: Draw the dependency parse with the arcs.
    syntax: bool = False
    #: Classroom mode: pictures for a projector (large text, arcs as wide as the screen shows them).
    classroom: bool = False
    #: What the views show: ``"peso"`` or ``"contribucion"`` (:data:`attnviz.core.measures.MEASURES`).
    measure: str = "peso"

    @property
    def uses_head(self) -> bool:
        """False when the head slider changes nothing (an aggregate, outside the grid and the q·k steps)."""
        return self.aggregate == ONE_HEAD or self.view in ("grid", "scores")

    @property
    def fontsize(self) -> float | None:
        """Base text size of the picture in points; None: each view's own."""
        return CLASSROOM_FONTSIZE if self.classroom else None

    @property
    def arc_figure(self) -> dict[str, Any]:
        """:class:`attnviz.explore.canvas.ArcRenderer` options: {} or, in classroom mode, a wide, short
        figure with its colour bar above the arcs and as many pixels as a notebook shows."""
        if not self.classroom:
            return {}
        return {
            "width": CLASSROOM_ARC_WIDTH,
            "height": CLASSROOM_ARC_HEIGHT,
            "colorbar": "top",
            "dpi": MAX_WIDTH_PX / CLASSROOM_ARC_WIDTH,
        }


@dataclass(frozen=True)
class Frame:
    """One view as a front end shows it."""

    #: PNG bytes.
    picture: bytes
    #: HTML table of the source's weights, strongest first (token text escaped).
    table: str
    #: HTML line with the chosen head's (or aggregate's) metrics, and what they mean.
    metrics: str
    #: The picture's title as plain text when the picture leaves it out, else "".
    title: str = ""
    #: The picture's notes (indices from 0, the model, what is hidden) as plain text when the
    #: picture leaves them out, else "".
    notes: str = ""


@dataclass(frozen=True)
class Analysis:
    """What one forward pass gave: the result, and the truncation message ("" if none)."""

    text: object
    result: AttentionResult
    warning: str
    #: The word hidden behind the mask token in this pass (None: nothing hidden).
    mask: str | None = None


@dataclass(frozen=True)
class Suggestion:
    """A view chosen by measuring the sentence, and why (Spanish, for the explorer)."""

    layer: int
    head: int
    source: int
    reason: str


class Session:
    """A model, the current sentence's result, and every picture drawn from it.

    Methods raise :class:`~attnviz.AttnvizError` with a Spanish message (``err.message_es``),
    unexpected failures included, and leave the session as it was.  :meth:`compute` (the forward
    pass) changes nothing but :attr:`forward_count`; :meth:`install` makes its result current.
    """

    def __init__(self) -> None:
        self.model: Any = None
        self.tokenizer: Any = None
        #: What the model selector shows for the loaded model.
        self.model_label = ""
        #: A lasting notice about the model (the offline fallback), "" if none.
        self.notice = ""
        #: The current sentence's token-level result.
        self.result: AttentionResult | None = None
        #: The text the current result was computed from, as given (None after a model change),
        #: and the word hidden in that pass (None: nothing hidden).
        self.analyzed_text: object = None
        self.analyzed_mask: str | None = None
        self.forward_count = 0
        self._renderers: dict[tuple[Any, ...], Any] = {}
        self._reset_caches()

    def load(self, model: Any = None, tokenizer: Any = None) -> None:
        """Use another model: a name, alias or path, a (model, tokenizer) pair, or a model and ``tokenizer``.

        ``None`` loads BETO, or the offline model with :data:`notice` set when BETO cannot be reached.
        Messages name the model selector (:data:`OFFLINE_HINT`), not Python calls.
        """
        notice = ""
        with offline_hint(*OFFLINE_HINT):
            if model is None:
                # The banner says it (FALLBACK_NOTICE), not a warning under the cell.
                with warnings.catch_warnings(record=True) as caught:
                    warnings.simplefilter("always")
                    model, tokenizer = load_model(None)
                fell_back = any(issubclass(w.category, OfflineFallbackWarning) for w in caught)
                label = _ALIAS_LABELS[OFFLINE_ALIAS if fell_back else "beto"]
                notice = FALLBACK_NOTICE if fell_back else ""
            elif isinstance(model, (str, os.PathLike)):
                name = MODEL_CHOICES.get(os.fspath(model).strip(), os.fspath(model).strip())
                model, tokenizer = load_model(name)
                label = _ALIAS_LABELS.get(name.lower(), name)
            else:
                if isinstance(model, (tuple, list)):
                    if len(model) != 2:
                        raise InvalidInputTypeError(
                            "Pasa el modelo como un nombre o como un par (modelo, tokenizador).",
                            "Pass the model as a name or as a (model, tokenizer) pair.",
                        )
                    model, tokenizer = model
                elif tokenizer is None:
                    raise InvalidInputTypeError(
                        "Falta el tokenizador: pasa explorer((modelo, tokenizador)) o "
                        "explorer(modelo, tokenizer=tokenizador).",
                        "The tokenizer is missing: pass explorer((model, tokenizer)) or "
                        "explorer(model, tokenizer=tokenizer).",
                    )
                name = display_name(getattr(model, "name_or_path", "") or "modelo cargado")
                label = _ALIAS_LABELS[OFFLINE_ALIAS] if name == OFFLINE_DISPLAY_NAME else name
        self.model, self.tokenizer, self.model_label, self.notice = model, tokenizer, label, notice
        # The same text must run again on the new model.
        self.analyzed_text = None

    def compute(self, text: object, mask: str | None = None) -> Analysis:
        """Run the model once on ``text``, ``mask`` hidden; the session does not change (:meth:`install`)."""
        if self.model is None:
            raise AttnvizError(
                "No hay ningún modelo cargado: elige uno en «Modelo».",
                "No model is loaded: pick one under «Modelo».",
            )
        failure = ("El modelo falló con esta frase", "The model failed on this sentence")
        # The truncation warning goes to the banner (Analysis.warning), not under the cell.
        with _one_sentence(*failure, detail=False), warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            result = extract(self.model, self.tokenizer, text, mask=mask)  # type: ignore[arg-type]
        self.forward_count += 1
        truncations = [w for w in caught if issubclass(w.category, TruncationWarning)]
        warning = str(truncations[0].message).split(" / ")[0] if truncations else ""
        return Analysis(text, result, warning, mask)

    def install(self, analysis: Analysis) -> None:
        """Make ``analysis`` the current sentence (every cache of the previous one is dropped)."""
        self.result = analysis.result
        self.analyzed_text = analysis.text
        self.analyzed_mask = analysis.mask
        self._reset_caches()

    def analyze(self, text: object) -> str:
        """Run the model once on ``text`` and keep it; returns the truncation message in Spanish, or ""."""
        analysis = self.compute(text)
        self.install(analysis)
        return analysis.warning

    def view_result(self, words: bool, measure: str = "peso") -> AttentionResult | None:
        """The result a view shows: token or word level, weights or contribution (each computed once)."""
        if self.result is None:
            return None
        key = (words, measure)
        if key not in self._levels:
            weights = to_words(self.result) if words else self.result
            self._levels[key] = with_measure(weights, measure)
        return self._levels[key]

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
        return [(f"{i}: {shorten(tok, MAX_TEXT_CHARS) or '␣'}", i) for i, tok in enumerate(result.tokens)]

    def annotation(self, words: bool = False) -> SyntaxAnnotation:
        """The current sentence's parse, aligned to its tokens (or words): parsed once per sentence.

        Raises :class:`attnviz.syntax.ParserUnavailableError` when spaCy or its Spanish model is missing.
        """
        if self.result is None:
            raise AttnvizError("Todavía no hay ninguna frase analizada.", "No sentence was analysed yet.")
        if words not in self._annotations:
            if False not in self._annotations:
                self._annotations[False] = parse(self.result, load_parser())
            tokens = self._annotations[False]
            # The word-level result's tokens are the words: the same parse, one position per word.
            self._annotations[True] = dataclasses.replace(tokens, word_ids=tuple(range(tokens.n_words)))
        return self._annotations[words]

    @staticmethod
    def supports(view: str, option: str) -> bool:
        """True when ``view``'s picture honours ``option`` (``"scale"``, ``"fontsize"``, ``"syntax"``)."""
        return view in ALL_VIEWS and option in ALL_VIEWS[view].options

    def frame(self, controls: Controls) -> Frame:
        """Picture, weights table and metrics line of one view, from the cached result."""
        if self.result is None:
            raise AttnvizError("Todavía no hay ninguna frase analizada.", "No sentence was analysed yet.")
        for es, en, value, choices in (
            ("La vista", "view", controls.view, EXPLORER_VIEWS),
            ("La escala", "scale", controls.scale, SCALES),
            ("La medida", "measure", controls.measure, tuple(MEASURES)),
        ):
            if value not in choices:
                listed = ", ".join(choices)
                raise InvalidInputTypeError(
                    f"{es} «{value}» no existe: elige {listed}.",
                    f"There is no {en} {value!r}: choose one of {listed}.",
                )
        with _one_sentence("No se pudo dibujar esta vista", "This view could not be drawn", detail=True):
            if controls.view == "scores":
                # The q·k view rebuilds one head's weights: no aggregate, no contribution.
                controls = dataclasses.replace(controls, aggregate=ONE_HEAD, measure="peso")
            result = self.view_result(controls.words, controls.measure)
            assert result is not None
            return self._frame(result, controls)

    def clear_pictures(self) -> None:
        """Forget the pictures already drawn (the renderers and aggregates stay)."""
        self._pictures.clear()

    def _frame(self, result: AttentionResult, c: Controls) -> Frame:
        result.check_layer(c.layer)
        if c.uses_head:
            result.check_head(c.head)
        result.check_token(c.source)
        matrix, title = self._matrix(result, c)
        # Most recent last; sliding back and forth over the same views costs nothing.
        cached = self._pictures.pop(c, None) or self._picture(result, c, matrix, title)
        self._pictures[c] = cached
        while len(self._pictures) > PICTURE_CACHE:
            self._pictures.pop(next(iter(self._pictures)))
        picture, text_title, notes = cached
        row = (result.head(c.layer, c.head) if matrix is None else matrix)[c.source]
        table = weights_table(result, c.source, row)
        return Frame(picture, table, self._metrics_line(result, c, matrix), text_title, notes)

    def _matrix(self, result: AttentionResult, c: Controls) -> tuple[np.ndarray | None, str | None]:
        """The aggregate's ``[n, n]`` matrix and title; (None, None) for one head."""
        if c.aggregate == ONE_HEAD:
            return None, None
        aggregate = AGGREGATES[c.aggregate]
        key = (result.level, result.measure, c.aggregate, c.layer)
        if key not in self._matrices:
            self._matrices[key] = aggregate.matrix(result, c.layer)
        return self._matrices[key], f"{aggregate.title(result, c.layer)} · {from_source(result, c.source)}"

    def _picture(
        self, result: AttentionResult, c: Controls, matrix: np.ndarray | None, title: str | None
    ) -> tuple[bytes, str, str]:
        """PNG bytes, and the title and notes as text when the picture leaves them out ("" otherwise)."""
        # «Modo clase» lays every view out by the classroom rule (attnviz.plots.style.modo_clase),
        # the normal mode by the laptop's, whatever the notebook's mode.
        with classroom(c.classroom):
            return self._draw(result, c, matrix, title)

    def _draw(
        self, result: AttentionResult, c: Controls, matrix: np.ndarray | None, title: str | None
    ) -> tuple[bytes, str, str]:
        view = (c.layer, c.head, c.source)
        syntax = self._syntax(c)
        if c.view == "arcs":
            renderer = self._arc_renderer(result, c, syntax)
            picture = renderer.render(*view, matrix=matrix, title=title, scale=check_scale(c.scale))
            # The picture leaves its title and notes out: the front end shows them as plain text beside it
            # (crisp at any zoom, and a new sentence's first picture does not draw a long line of text).
            notes = renderer.plot.notes_line
            if c.aggregate == ONE_HEAD:
                return picture, arc_title(result, *view, mathtext=False), notes
            source = from_source(result, c.source, mathtext=False)
            return picture, f"{AGGREGATES[c.aggregate].title(result, c.layer)} · {source}", notes
        key = (c.view, result.level, result.measure, c.fontsize)
        if c.view == "heatmap":
            if key not in self._renderers:
                self._renderers[key] = HeatmapRenderer(result, fontsize=c.fontsize)
            return self._renderers[key].render(*view, scale=c.scale, matrix=matrix, title=title), "", ""
        draw = ALL_VIEWS[c.view].draw
        options: dict[str, Any] = dict(
            matrix=matrix, title=title, scale=c.scale, fontsize=c.fontsize, syntax=syntax
        )
        if c.view == "text":
            import matplotlib.pyplot as plt

            # The text is as tall as its lines: a new figure each time, closed once encoded.
            figure: Any = draw(result, *view, **options).figure
            try:
                figure.canvas.draw()
                return encode_png(figure), "", ""
            finally:
                plt.close(figure)
        if key not in self._renderers:
            size = GRAPH_SIZE if c.view == "graph" else grid.figure_size(result.n_layers, result.n_heads)
            # «Modo clase»: the classroom box, which each view fills in its own way.
            self._renderers[key] = FigureRenderer(CLASSROOM_BOX if c.classroom else size)
        return self._renderers[key].render(lambda ax: draw(result, *view, ax, **options)), "", ""

    def _arc_renderer(
        self, result: AttentionResult, c: Controls, syntax: SyntaxAnnotation | None
    ) -> ArcRenderer:
        """The arc renderer of these controls' mode and level (built once; it fixes the layout)."""
        key = ("arcs", result.level, c.classroom, None if syntax is None else id(syntax), result.measure)
        if key not in self._renderers:
            # The previous sentence's figure is taken over when it was made the same way.
            previous = self._spare_arcs.pop((c.classroom, result.level, result.measure), None)
            self._renderers[key] = ArcRenderer(
                result,
                fontsize=c.fontsize,
                syntax=syntax,
                title=False,
                notes=False,
                previous=previous,
                **c.arc_figure,
            )
        return self._renderers[key]

    def arc_renderer(self, controls: Controls) -> ArcRenderer:
        """The renderer of the arc picture ``controls`` show, having drawn it again (not from the cache).

        For a caller that measures the picture (:meth:`ArcRenderer.drawn_texts`).

        Examples
        --------
        >>> labels, numbers = session.arc_renderer(Controls(source=1, classroom=True)).drawn_texts()
        """
        if controls.view != "arcs":
            raise InvalidInputTypeError(
                f"Solo la vista de arcos describe su texto, no «{controls.view}».",
                f"Only the arc view describes its text, not {controls.view!r}.",
            )
        # Out of the picture cache, so that frame() draws it and the renderer holds this view.
        self._pictures.pop(controls, None)
        self.frame(controls)  # also checks the controls, as for the picture on screen
        result = self.view_result(controls.words, controls.measure)
        assert result is not None
        return self._arc_renderer(result, controls, self._syntax(controls))

    def _syntax(self, c: Controls) -> SyntaxAnnotation | None:
        """The annotation the view of ``c`` draws, or None."""
        return self.annotation(c.words) if c.syntax and self.supports(c.view, "syntax") else None

    def _metrics_line(self, result: AttentionResult, c: Controls, matrix: np.ndarray | None) -> str:
        level = (result.level, result.measure)
        key = (*level, c.layer, c.head) if c.uses_head else (*level, c.aggregate, c.layer)
        if key not in self._metrics:
            if c.uses_head:
                attention = result.attention[c.layer : c.layer + 1, c.head : c.head + 1]
                who = f"Capa {c.layer}, cabeza {c.head}"
            else:
                assert matrix is not None
                attention = np.asarray(matrix)[None, None]
                who = AGGREGATES[c.aggregate].title(result, c.layer)
            self._metrics[key] = _metrics_html(result, attention, who)
        return self._metrics[key]

    def _reset_caches(self) -> None:
        # The next sentence's arc renderers take over these figures (see ArcRenderer's ``previous``).
        self._spare_arcs = {
            (key[2], key[1], key[4]): renderer
            for key, renderer in self._renderers.items()
            if key[0] == "arcs" and key[3] is None
        }
        self._levels: dict[tuple[bool, str], AttentionResult] = {}
        self._annotations: dict[bool, SyntaxAnnotation] = {}
        self._renderers = {}
        self._matrices: dict[tuple[str, str, str, int], np.ndarray] = {}
        self._metrics: dict[tuple[Any, ...], str] = {}
        #: By controls: the level is ``controls.words``, and the caches are per sentence.
        self._pictures: dict[Controls, tuple[bytes, str, str]] = {}


def _metrics_html(result: AttentionResult, attention: np.ndarray, who: str) -> str:
    """Two ``<div>`` about one ``[1, 1, n, n]`` attention: the figures, then what they mean (escaped)."""
    m = attention_metrics(attention, result.tokens, result.special, result.causal)
    v = {name: float(value[0, 0]) for name, value in m.as_dict().items()}
    n = result.n_tokens
    units = f"{result.unit_noun}s"
    entropy_help = (
        f"Entropía: cuánto se reparte la atención de cada {result.unit_noun}: 0 si va entera a uno solo, "
        f"{math.log(n):.2f} (ln {n}) si se reparte por igual entre los {n}."
    )
    distance_help = f"Distancia: a cuántos {units} de sí mismo mira, de media, cada {result.unit_noun}."
    parts = [
        f"<abbr title='{html.escape(entropy_help)}'>entropía</abbr> {v['entropy']:.2f} "
        f"(de 0 a {math.log(n):.2f})",
        f"[CLS] {v['cls']:.0%}",
        f"[SEP] {v['sep']:.0%}",
        f"puntuación {v['punct']:.0%}",
        f"sí mismo {v['self']:.0%}",
        f"anterior {v['prev']:.0%}",
        f"siguiente {v['next']:.0%}",
        f"<abbr title='{html.escape(distance_help)}'>distancia</abbr> {v['distance']:.1f} {units}",
    ]
    return (
        f"<div><b>{html.escape(who)}</b>: {' · '.join(parts)}</div>"
        f"<div style='font-size:90%;color:#555'>{html.escape(f'{entropy_help} {distance_help}')}</div>"
    )


def suggest_view(result: AttentionResult) -> Suggestion:
    """The head with the strongest previous-token pattern, and a source token that shows it.

    It is the clearest pattern BERT-like models have (Clark et al. 2019), where
    layer 0, head 0 is often near-uniform and shows nothing.

    Parameters
    ----------
    result : AttentionResult
        A token-level or word-level result.

    Returns
    -------
    Suggestion
        ``layer``, ``head``, ``source`` and a Spanish ``reason``.

    Examples
    --------
    >>> suggest_view(attnviz.extract(*attnviz.load_model("minilm"), "The dog barked.")).reason[:44]
    'Vista inicial: capa 0, cabeza 2, la cabeza q'
    """
    previous = previous_share(result)
    layer, head = (int(i) for i in np.unravel_index(int(np.argmax(previous)), previous.shape))
    noun = result.unit_noun
    reason = (
        f"Vista inicial: capa {layer}, cabeza {head}, la cabeza que más mira al {noun} anterior en esta "
        f"frase ({float(previous[layer, head]):.0%} de media)"
    )
    # Candidates: a text token whose previous token is text too; a word's first piece reads best.
    special = result.special
    candidates = [i for i in range(1, result.n_tokens) if not special[i] and not special[i - 1]]
    if not candidates:
        return Suggestion(layer, head, 1 if result.n_tokens > 1 else 0, reason + ".")
    whole = [i for i in candidates if not result.tokens[i].startswith("##")]
    weights = result.attention[layer, head]
    # Near-ties (as printed, in whole percent) go to the earliest token: a sentence reads from its start.
    source = max(whole or candidates, key=lambda i: (round(float(weights[i, i - 1]), 2), -i))
    shown = _plain_token(result.tokens[source]), _plain_token(result.tokens[source - 1])
    reason += (
        f"; desde «{shown[0]}», que da un {float(weights[source, source - 1]):.0%} de su atención "
        f"a «{shown[1]}»."
    )
    return Suggestion(layer, head, source, reason)


def previous_share(result: AttentionResult) -> np.ndarray:
    """Mean share of attention each head gives the previous token: ``head_metrics(result).previous``.

    Only the diagonal below the main one is read: fast enough before the explorer's first picture.

    Parameters
    ----------
    result : AttentionResult
        Any result; at word level "previous" is the previous word.

    Returns
    -------
    ndarray
        ``[layer, head]`` float64, averaged over the rows that have a previous token (all but the first).

    Examples
    --------
    >>> previous_share(result).max()  # the strongest previous-token head's share
    """
    attention = result.attention
    if result.n_tokens < 2:
        return np.zeros(attention.shape[:2])
    return np.diagonal(attention, offset=-1, axis1=-2, axis2=-1).mean(axis=-1, dtype=np.float64)


def _plain_token(token: str) -> str:
    """A token as plain text in one line: short, and visible when blank."""
    return shorten(" ".join(token.split()), MAX_TEXT_CHARS) or "␣"


def parser_installed() -> bool:
    """Whether spaCy and its Spanish model are installed, checked without importing them (instant).

    Returns
    -------
    bool
        True when both packages can be imported.

    Examples
    --------
    >>> parser_installed()
    True
    """
    return all(importlib.util.find_spec(name) is not None for name in ("spacy", PARSER_MODEL))


def weights_table(result: AttentionResult, source: int, row: np.ndarray) -> str:
    """HTML table of one source's weights to every token, strongest first; token text escaped."""
    row = np.asarray(row, dtype=np.float64)
    order = np.argsort(-row, kind="stable")
    noun = result.unit_noun
    tokens = result.tokens
    heading, column = (
        ("Pesos de atención desde", "peso")
        if result.measure == "peso"
        else ("Contribuciones a", "contribución")
    )
    body = "".join(
        f"<tr><td>{rank}</td><td>{html.escape(shorten(tokens[j], MAX_TEXT_CHARS) or '␣')}</td>"
        f"<td>{j}</td><td>{row[j]:.4f}</td></tr>"
        for rank, j in enumerate(order.tolist(), start=1)
    )
    return (
        # One style rule, not one per cell: at 512 tokens the table must stay small.
        "<style>.attnviz-pesos td:last-child{text-align:right;font-family:monospace}</style>"
        # A heading, not a <caption>: JupyterLab squeezes captions to the table's width.
        f"<div style='font-weight:bold'>{heading} "
        f"«{html.escape(_plain_token(tokens[source]))}» ({noun} {source}), de mayor a menor</div>"
        f"<div style='max-height:16em;overflow-y:auto'><table class='attnviz-pesos'>"
        f"<thead><tr><th>#</th><th>{noun}</th><th>índice</th><th>{column}</th></tr></thead>"
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
