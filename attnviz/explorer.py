"""The interactive explorer: one call in the notebook, every control in Spanish.

The model runs once per sentence (or per new model).  Sliders and selectors
only pick a slice of the cached :class:`AttentionResult` and redraw it into
an ``ipywidgets.Image`` that is updated in place, so nothing stacks up and
nothing flickers (the ``interact`` + ``plt.show`` pitfall on Colab).
"""

from __future__ import annotations

import html
import os
import warnings
from collections.abc import Callable
from typing import Any

import ipywidgets as widgets
import numpy as np

from .errors import AttnvizError, InvalidInputTypeError, OfflineFallbackWarning, TruncationWarning
from .extraction import extract
from .loading import OFFLINE_ALIAS, OFFLINE_DISPLAY_NAME, display_name, load_model
from .render import ArcRenderer, FigureRenderer
from .result import AttentionResult
from .words import to_words

SEED_SENTENCE = "El perro que persiguió al gato cruzó la calle."

#: What the model selector offers, and the alias each choice loads.
MODEL_CHOICES: dict[str, str] = {
    "BETO cased": "beto",
    "BETO uncased": "beto-uncased",
    "sin conexión (MiniLM)": OFFLINE_ALIAS,
}
_ALIAS_LABELS = {alias: label for label, alias in MODEL_CHOICES.items()}
VIEWS: list[tuple[str, str]] = [
    ("Arcos", "arcs"),
    ("Mapa de calor", "heatmap"),
    ("Todas las cabezas", "grid"),
]
#: PNGs kept per sentence (about 100 KB each at most).
PICTURE_CACHE = 64
AGGREGATES: list[tuple[str, str]] = [
    ("una cabeza", "head"),
    ("media de cabezas", "mean"),
    ("rollout", "rollout"),
]


def explorer(model: Any = None, text: str = SEED_SENTENCE, *, tokenizer: Any = None) -> Explorer:
    """The attention explorer widget; display it (it is an ``ipywidgets.VBox``).

    ``model`` is a hub id, a local folder, an alias (``"beto"``,
    ``"beto-uncased"``, ``"minilm"``), a ``(model, tokenizer)`` pair already
    loaded, or a model with ``tokenizer=``.  ``None`` tries BETO and falls
    back to the offline model, saying so in the banner.
    """
    return Explorer(model, text, tokenizer=tokenizer)


class Explorer(widgets.VBox):
    """Controls, picture, weights table and banner around one cached AttentionResult.

    Widgets: ``text`` (+ ``analyze_button``), ``model_selector``,
    ``layer_slider``, ``head_slider``, ``token_selector``, ``view_selector``
    (arcs / heatmap / grid), ``aggregate_selector`` (head / mean / rollout),
    ``words_toggle``, ``image`` (PNG, updated in place), ``table``,
    ``metrics`` and ``banner``.  ``result`` is the cached token-level
    result, ``view_result`` what the picture shows, and ``forward_count``
    how many forward passes ran.
    """

    _words: AttentionResult | None
    _renderers: dict[tuple[str, str], Any]
    _matrices: dict[tuple[str, str, int], np.ndarray]
    _metrics: dict[tuple[str, int, int], str]
    _pictures: dict[tuple[str, str, str, int, int, int], bytes]

    def __init__(self, model: Any = None, text: str = SEED_SENTENCE, *, tokenizer: Any = None) -> None:
        self.result: AttentionResult | None = None
        self.forward_count = 0
        self._model: Any = None
        self._tokenizer: Any = None
        self._model_label = ""
        self._notice = ""  # lasts while it is true (offline fallback)
        self._message = ""  # the last error or warning, cleared by the next success
        self._syncing = False
        self._reset_caches()

        wide = {"description_width": "initial"}
        self.text = widgets.Text(
            value=text if isinstance(text, str) else "",
            description="Frase:",
            continuous_update=False,
            style=wide,
            layout=widgets.Layout(width="60%"),
        )
        self.analyze_button = widgets.Button(
            description="Analizar", button_style="primary", tooltip="Ejecuta el modelo sobre la frase"
        )
        self.model_selector = widgets.Combobox(
            value="",
            options=list(MODEL_CHOICES),
            description="Modelo:",
            ensure_option=False,
            continuous_update=False,
            placeholder="BETO cased, un id del hub o una carpeta",
            style=wide,
            layout=widgets.Layout(width="45%"),
        )
        self.layer_slider = widgets.IntSlider(
            value=0, min=0, max=0, description="Capa:", continuous_update=True, style=wide
        )
        self.head_slider = widgets.IntSlider(
            value=0, min=0, max=0, description="Cabeza:", continuous_update=True, style=wide
        )
        self.token_selector = widgets.Dropdown(
            options=[("—", 0)], value=0, description="Token de origen:", style=wide
        )
        self.view_selector = widgets.ToggleButtons(
            options=VIEWS, value="arcs", description="Vista:", style={**wide, "button_width": "auto"}
        )
        self.words_toggle = widgets.Checkbox(value=False, description="Nivel de palabra", indent=False)
        self.aggregate_selector = widgets.Dropdown(
            options=AGGREGATES, value="head", description="Cabezas:", style=wide
        )
        self.banner = widgets.HTML(value="", layout=widgets.Layout(display="none"))
        self.image = widgets.Image(format="png", layout=widgets.Layout(max_width="100%"))
        self.metrics = widgets.HTML(value="")
        self.table = widgets.HTML(value="")

        # On a narrow screen (a projector at 1024 px) controls wrap instead of overflowing.
        def wrap() -> widgets.Layout:
            return widgets.Layout(flex_flow="row wrap", align_items="center")

        super().__init__(
            children=[
                self.banner,
                widgets.HBox([self.text, self.analyze_button]),
                widgets.HBox([self.model_selector]),
                widgets.HBox([self.layer_slider, self.head_slider, self.token_selector], layout=wrap()),
                widgets.HBox([self.view_selector, self.aggregate_selector, self.words_toggle], layout=wrap()),
                self.image,
                self.metrics,
                self.table,
            ]
        )

        self._use_model(model, tokenizer)
        if self._model is not None:
            self.analyze()
        if not isinstance(text, str):
            self._show_error(f"La frase debe ser texto (str), no {type(text).__name__}.")

        self.text.observe(lambda change: self.analyze(), names="value")
        self.analyze_button.on_click(lambda button: self.analyze())
        self.model_selector.observe(self._on_model_selected, names="value")
        for control in (
            self.layer_slider,
            self.head_slider,
            self.token_selector,
            self.view_selector,
            self.aggregate_selector,
        ):
            control.observe(self._on_view_changed, names="value")
        self.words_toggle.observe(self._on_words_toggled, names="value")

    # -- model and sentence: the only places the model runs --------------------------------

    def set_model(self, model: Any, tokenizer: Any = None) -> None:
        """Load another model (name, alias, path or loaded pair) and re-analyse the sentence."""
        if self._use_model(model, tokenizer):
            self.analyze()

    def _use_model(self, model: Any, tokenizer: Any) -> bool:
        notice = ""
        try:
            if model is None:
                model, tokenizer, label, notice = _load_default()
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
        except AttnvizError as err:
            self._show_error(err.message_es)
            return False
        self._model, self._tokenizer, self._model_label = model, tokenizer, label
        self._notice = notice
        self._message = ""
        self._sync(self.model_selector, "value", label)
        self._update_banner()
        return True

    def analyze(self) -> None:
        """Run the model once on the text box's sentence and show the first view."""
        if self._model is None:
            self._show_error("No hay ningún modelo cargado: elige uno en «Modelo».")
            return
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                result = extract(self._model, self._tokenizer, self.text.value)
        except AttnvizError as err:
            self._show_error(err.message_es)
            return
        except Exception as err:  # a student sees one sentence, not a traceback
            self._show_error(f"El modelo falló con esta frase ({type(err).__name__}).")
            return
        self.forward_count += 1
        truncations = [w for w in caught if issubclass(w.category, TruncationWarning)]
        self._message = str(truncations[0].message).split(" / ")[0] if truncations else ""
        self.result = result
        self._reset_caches()
        self._refresh_controls()
        self._update_banner()
        self.redraw()

    def _on_model_selected(self, change: dict[str, Any]) -> None:
        if self._syncing or not str(change["new"]).strip() or change["new"] == self._model_label:
            return
        previous = self._model_label
        if not self._use_model(change["new"], None):
            self._sync(self.model_selector, "value", previous)
            return
        self.analyze()

    # -- views: never run the model -------------------------------------------------------

    @property
    def view_result(self) -> AttentionResult | None:
        """The result the picture shows: token level, or word level with the toggle on."""
        if self.result is None or not self.words_toggle.value:
            return self.result
        if self._words is None:
            self._words = to_words(self.result)
        return self._words

    def _on_view_changed(self, change: dict[str, Any]) -> None:
        if not self._syncing:
            self.redraw()

    def _on_words_toggled(self, change: dict[str, Any]) -> None:
        if self.result is None:
            return
        # Keep the same place in the sentence: the token's word, or the word's first piece.
        source = self.token_selector.value
        if change["new"]:
            source = self.result.word_ids[source] if source < len(self.result.word_ids) else 0
        else:
            spans = self.result.word_spans
            source = spans[source][0] if source < len(spans) else 0
        self._refresh_controls(source)
        self.redraw()

    def redraw(self) -> None:
        """Draw the current view from the cached result into the image, table and metrics line."""
        result = self.view_result
        if result is None:
            return
        layer, head, source = self.layer_slider.value, self.head_slider.value, self.token_selector.value
        view, how = self.view_selector.value, self.aggregate_selector.value
        # The grid outlines the chosen head whatever the aggregate; the other views ignore it.
        self.head_slider.disabled = how != "head" and view != "grid"
        try:
            matrix, title = self._matrix(result, layer, head, how, source)
            key = (view, result.level, how, layer, head, source)
            picture = self._pictures.pop(key, None)
            if picture is None:
                picture = self._picture(result, view, layer, head, source, matrix, title)
            # Most recent last; sliding back and forth over the same views costs nothing.
            self._pictures[key] = picture
            while len(self._pictures) > PICTURE_CACHE:
                self._pictures.pop(next(iter(self._pictures)))
            self.image.value = picture
            row = (result.head(layer, head) if matrix is None else matrix)[source]
            self.table.value = weights_table(result, source, row)
            self.metrics.value = self._metrics_line(result, layer, head)
        except AttnvizError as err:
            self._show_error(err.message_es)
        except Exception as err:  # a student sees one sentence, not a traceback
            self._show_error(f"No se pudo dibujar esta vista ({type(err).__name__}: {err}).")

    def _matrix(
        self, result: AttentionResult, layer: int, head: int, how: str, source: int
    ) -> tuple[np.ndarray | None, str | None]:
        if how == "head":
            return None, None
        key = (result.level, how, layer)
        if key not in self._matrices:
            from . import aggregate

            self._matrices[key] = (
                aggregate.head_mean(result, layer) if how == "mean" else aggregate.rollout(result, layer)
            )
        noun = "palabra" if result.level == "word" else "token"
        where = (
            f"Capa {layer} · media de las {result.n_heads} cabezas"
            if how == "mean"
            else f"Rollout de las capas 0 a {layer}"
        )
        return self._matrices[key], f"{where} · atención desde «{result.tokens[source]}» ({noun} {source})"

    def _picture(
        self,
        result: AttentionResult,
        view: str,
        layer: int,
        head: int,
        source: int,
        matrix: np.ndarray | None,
        title: str | None,
    ) -> bytes:
        if view == "arcs":
            key = ("arcs", result.level)
            if key not in self._renderers:
                self._renderers[key] = ArcRenderer(result)
            return self._renderers[key].render(layer, head, source, matrix=matrix, title=title)
        if view == "heatmap":
            from .heatmap import plot_heatmap

            side = float(np.clip(0.38 * result.n_tokens + 2.5, 5.0, 10.0))
            draw: Callable[[Any], object] = lambda ax: plot_heatmap(  # noqa: E731
                result, layer, head, ax, matrix=matrix, title=title
            )
            return self._figure_renderer(("heatmap", result.level), (side + 1.2, side)).render(draw)
        from .grid import plot_grid

        width = float(np.clip(0.75 * result.n_heads + 1.5, 5.0, 12.0))
        height = float(np.clip(width * result.n_layers / result.n_heads, 4.0, 12.0))
        return self._figure_renderer(("grid", result.level), (width, height)).render(
            lambda ax: plot_grid(result, ax, selected=(layer, head))
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

    # -- helpers --------------------------------------------------------------------------

    def _reset_caches(self) -> None:
        self._words = None
        self._renderers = {}
        self._matrices = {}
        self._metrics = {}
        self._pictures = {}

    def _refresh_controls(self, source: int | None = None) -> None:
        """Fit sliders and the token list to the current result without redrawing each change."""
        result = self.view_result
        assert result is not None
        if source is None:
            source = 1 if result.n_tokens > 1 else 0
        noun = "palabra" if result.level == "word" else "token"
        self._syncing = True
        try:
            self.layer_slider.max = result.n_layers - 1
            self.head_slider.max = result.n_heads - 1
            self.token_selector.description = f"{noun.capitalize()} de origen:"
            self.token_selector.options = [(f"{i}: {tok or '␣'}", i) for i, tok in enumerate(result.tokens)]
            self.token_selector.value = min(source, result.n_tokens - 1)
        finally:
            self._syncing = False

    def _sync(self, control: widgets.Widget, name: str, value: Any) -> None:
        self._syncing = True
        try:
            setattr(control, name, value)
        finally:
            self._syncing = False

    def _show_error(self, message_es: str) -> None:
        self._message = message_es
        self._update_banner()

    def _update_banner(self) -> None:
        lines = [line for line in (self._notice, self._message) if line]
        self.banner.value = "".join(
            f'<div style="background:#fff3cd;border:1px solid #e0c36c;padding:4px 8px;'
            f'margin:2px 0">{html.escape(line)}</div>'
            for line in lines
        )
        self.banner.layout.display = "block" if lines else "none"


def weights_table(result: AttentionResult, source: int, row: np.ndarray) -> str:
    """HTML table of one source's weights to every token, strongest first; token text escaped."""
    row = np.asarray(row, dtype=np.float64)
    order = np.argsort(-row, kind="stable")
    noun = "palabra" if result.level == "word" else "token"
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


def one_head_summary(result: AttentionResult, layer: int, head: int) -> str:
    """head_summary for one head, computing only that head (all 144 take ~1 s at 512 tokens)."""
    from .metrics import METRIC_NAMES, HeadMetrics, attention_metrics, head_summary

    one = attention_metrics(
        result.attention[layer : layer + 1, head : head + 1], result.tokens, result.special, result.causal
    )
    placed = {}
    for name in METRIC_NAMES:
        values = np.full((result.n_layers, result.n_heads), np.nan)
        values[layer, head] = one.get(name)[0, 0]
        placed[name] = values
    return head_summary(HeadMetrics(**placed), layer, head)  # type: ignore[arg-type]


def _load_default() -> tuple[Any, Any, str, str]:
    """BETO cased, or the offline model with a notice when BETO cannot be reached."""
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            model, tokenizer = load_model(None)
    except AttnvizError as err:
        model, tokenizer = load_model(OFFLINE_ALIAS)
        return model, tokenizer, _ALIAS_LABELS[OFFLINE_ALIAS], _fallback_notice(err.message_es)
    if any(issubclass(w.category, OfflineFallbackWarning) for w in caught):
        return model, tokenizer, _ALIAS_LABELS[OFFLINE_ALIAS], _fallback_notice("")
    return model, tokenizer, _ALIAS_LABELS["beto"], ""


def _fallback_notice(reason: str) -> str:
    del reason  # the long loading message would drown the one thing a student needs to know
    return (
        "No se pudo conectar con BETO: se usa el modelo sin conexión all-MiniLM-L6-v2 (en inglés, 6 capas)."
    )


def _loaded_label(model: Any) -> str:
    name = display_name(getattr(model, "name_or_path", "") or "modelo cargado")
    return _ALIAS_LABELS[OFFLINE_ALIAS] if name == OFFLINE_DISPLAY_NAME else name
