"""The explorer's experiment panel: the masked word's prediction, heads switched off, and which heads matter.

The prediction comes from the pass the explorer already ran (``extract(..., mask=...)``);
switching heads off is one more pass, and the importance grid one pass per batch of heads.
Each function returns a PNG and one Spanish line for the panel.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import matplotlib.pyplot as plt
import numpy as np

from ..core.importance import head_importance
from ..core.knockout_outcome import knock_out
from ..core.prediction import has_masked_lm_head
from ..core.result import AttentionResult
from ..plots.importance import plot_importance
from ..plots.prediction import plot_knockout, plot_prediction
from ..plots.style import CLASSROOM_FONTSIZE
from .png import encode_png

#: What the panel says for a model that cannot guess a hidden word (the offline MiniLM).
NO_HEAD = (
    "Este modelo no adivina palabras tapadas (no tiene la cabeza de predicción de palabras): "
    "al apagar cabezas se mide cuánto cambia el vector de la frase (1 − coseno)."
)


@dataclass(frozen=True)
class Outcome:
    """A picture for the panel and one line that says what it shows."""

    picture: bytes
    note: str


def _png(ax: Any) -> bytes:
    figure = ax.figure if hasattr(ax, "figure") else ax[0].figure
    try:
        return encode_png(figure)
    finally:
        plt.close(figure)


def prediction(result: AttentionResult, classroom: bool) -> Outcome | None:
    """The top guesses for the hidden word, from the pass on screen (None without a hidden word)."""
    guess = result.prediction
    if guess is None:
        return None
    note = f"P(«{guess.word}») = {guess.probability:.1%}, con la misma pasada que la atención de arriba."
    return Outcome(_png(plot_prediction(result, fontsize=CLASSROOM_FONTSIZE if classroom else None)), note)


def switch_heads_off(
    model: Any, tokenizer: Any, result: AttentionResult, heads_text: str, mask: str | None, classroom: bool
) -> Outcome:
    """One more pass with ``heads_text`` off: the prediction before and after, or the vector's change."""
    outcome = knock_out(model, tokenizer, result.text, heads_text, mask, before=result)
    note = outcome.summary()
    if outcome.change is not None and not has_masked_lm_head(model, tokenizer):
        note = f"{NO_HEAD} {note}"
    return Outcome(_png(plot_knockout(outcome, fontsize=CLASSROOM_FONTSIZE if classroom else None)), note)


def importance(
    model: Any, tokenizer: Any, result: AttentionResult, mask: str | None, classroom: bool
) -> Outcome:
    """Every head switched off alone: how much the hidden word's log-probability (or the vector) changes."""
    word = mask if result.prediction is not None else None
    grid = head_importance(model, tokenizer, result.text, word, progress=False)
    layer, head = (int(i) for i in np.unravel_index(np.argmax(grid.values), grid.values.shape))
    value = float(grid.values[layer, head])
    note = f"La cabeza que más importa: capa {layer}, cabeza {head} ({grid.measure}: {value:.3g})."
    if grid.kind == "sentence_vector":
        note = f"{NO_HEAD} {note}"
    return Outcome(_png(plot_importance(grid, fontsize=CLASSROOM_FONTSIZE if classroom else None)), note)
