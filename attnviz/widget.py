"""The explorer widget: the controls, picture, table and banner of a :class:`~attnviz.session.Session`.

The model runs once per sentence (or per new model).  Sliders and selectors
only pick a slice of the cached :class:`AttentionResult` and redraw it into
an ``ipywidgets.Image`` that is updated in place, so nothing stacks up and
nothing flickers (the ``interact`` + ``plt.show`` pitfall on Colab).  What to
draw is decided by the session; this module only wires widgets to it (and
is the only one that imports ipywidgets).
"""

from __future__ import annotations

import html
from typing import Any

import ipywidgets as widgets

from .errors import AttnvizError
from .result import AttentionResult
from .session import (
    AGGREGATE_CHOICES,
    EXPLORER_VIEWS,
    MODEL_CHOICES,
    ONE_HEAD,
    SEED_SENTENCE,
    VIEWS,
    Controls,
    Session,
)


class Explorer(widgets.VBox):
    """Controls, picture, weights table and banner around one :class:`~attnviz.session.Session`.

    Widgets: ``text`` (+ ``analyze_button``), ``model_selector``,
    ``layer_slider``, ``head_slider``, ``token_selector``, ``view_selector``
    (arcs / heatmap / grid), ``aggregate_selector`` (head / mean / rollout),
    ``words_toggle``, ``image`` (PNG, updated in place), ``table``,
    ``metrics`` and ``banner``.  ``session`` holds the model and the caches;
    ``result`` is the cached token-level result, ``view_result`` what the
    picture shows, and ``forward_count`` how many forward passes ran.
    """

    def __init__(self, model: Any = None, text: str = SEED_SENTENCE, *, tokenizer: Any = None) -> None:
        self.session = Session()
        self._message = ""  # the last error or warning, cleared by the next success
        self._syncing = False

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
            options=[(VIEWS[name], name) for name in EXPLORER_VIEWS],
            value="arcs",
            description="Vista:",
            style={**wide, "button_width": "auto"},
        )
        self.words_toggle = widgets.Checkbox(value=False, description="Nivel de palabra", indent=False)
        self.aggregate_selector = widgets.Dropdown(
            options=AGGREGATE_CHOICES, value=ONE_HEAD, description="Cabezas:", style=wide
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
        if self.session.model is not None:
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

    @property
    def result(self) -> AttentionResult | None:
        return self.session.result

    @property
    def forward_count(self) -> int:
        return self.session.forward_count

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
        )

    # -- model and sentence: the only places the model runs --------------------------------

    def set_model(self, model: Any, tokenizer: Any = None) -> None:
        """Load another model (name, alias, path or loaded pair) and re-analyse the sentence."""
        if self._use_model(model, tokenizer):
            self.analyze()

    def _use_model(self, model: Any, tokenizer: Any) -> bool:
        try:
            self.session.load(model, tokenizer)
        except AttnvizError as err:
            self._show_error(err.message_es)
            return False
        self._message = ""
        self._sync(self.model_selector, "value", self.session.model_label)
        self._update_banner()
        return True

    def analyze(self) -> None:
        """Run the model once on the text box's sentence and show the first view."""
        try:
            self._message = self.session.analyze(self.text.value)
        except AttnvizError as err:
            self._show_error(err.message_es)
            return
        self._refresh_controls()
        self._update_banner()
        self.redraw()

    def _on_model_selected(self, change: dict[str, Any]) -> None:
        if self._syncing or not str(change["new"]).strip() or change["new"] == self.session.model_label:
            return
        previous = self.session.model_label
        if not self._use_model(change["new"], None):
            self._sync(self.model_selector, "value", previous)
            return
        self.analyze()

    # -- views: never run the model -------------------------------------------------------

    def _on_view_changed(self, change: dict[str, Any]) -> None:
        if not self._syncing:
            self.redraw()

    def _on_words_toggled(self, change: dict[str, Any]) -> None:
        if self.result is None:
            return
        # Keep the same place in the sentence: the token's word, or the word's first piece.
        self._refresh_controls(self.session.switch_level(self.token_selector.value, change["new"]))
        self.redraw()

    def redraw(self) -> None:
        """Draw the current view from the cached result into the image, table and metrics line."""
        if self.view_result is None:
            return
        controls = self.controls
        # The grid outlines the chosen head whatever the aggregate; the other views ignore it.
        self.head_slider.disabled = not controls.uses_head
        try:
            frame = self.session.frame(controls)
        except AttnvizError as err:
            self._show_error(err.message_es)
            return
        self.image.value = frame.picture
        self.table.value = frame.table
        self.metrics.value = frame.metrics

    # -- helpers --------------------------------------------------------------------------

    def _refresh_controls(self, source: int | None = None) -> None:
        """Fit sliders and the token list to the current result without redrawing each change."""
        result = self.view_result
        assert result is not None
        if source is None:
            source = 1 if result.n_tokens > 1 else 0
        self._syncing = True
        try:
            self.layer_slider.max = result.n_layers - 1
            self.head_slider.max = result.n_heads - 1
            self.token_selector.description = f"{result.unit_noun.capitalize()} de origen:"
            self.token_selector.options = Session.token_options(result)
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
        lines = [line for line in (self.session.notice, self._message) if line]
        self.banner.value = "".join(
            f'<div style="background:#fff3cd;border:1px solid #e0c36c;padding:4px 8px;'
            f'margin:2px 0">{html.escape(line)}</div>'
            for line in lines
        )
        self.banner.layout.display = "block" if lines else "none"
