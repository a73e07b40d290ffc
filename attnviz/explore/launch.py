"""``attnviz.explorer()``: the interactive explorer, one call in the notebook, every control in Spanish.

ipywidgets (and IPython) are imported only when the first explorer is made, so
``import attnviz`` and the CLI stay free of them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..core.corpus import SEED_SENTENCE

if TYPE_CHECKING:
    from .widget import Explorer


def explorer(
    model: Any = None, text: str = SEED_SENTENCE, *, tokenizer: Any = None, modo: str | None = None
) -> Explorer:
    """The attention explorer widget; display it (it is an ``ipywidgets.VBox``).

    It opens on the head with the strongest previous-token pattern in the sentence (and says so).
    The model runs once per distinct sentence and model.

    Parameters
    ----------
    model : str, path, (model, tokenizer) or model, optional
        A hub id, a local folder, an alias (``"beto"``, ``"beto-uncased"``,
        ``"minilm"``), a pair already loaded, or a model with ``tokenizer=``.
        ``None`` loads BETO, or the offline model with a notice in the
        banner when BETO cannot be reached.
    text : str
        The first sentence.
    tokenizer : optional
        The tokenizer, when ``model`` is a loaded model.
    modo : {"normal", "clase"}, optional
        ``"clase"`` for a projector: large text, the picture at full width
        and the main controls on two rows (the «Modo clase» button switches).
        Default: ``"clase"`` after :func:`attnviz.modo_clase`, else ``"normal"``.

    Returns
    -------
    Explorer
        The widget; errors show as one Spanish sentence in its banner.

    Examples
    --------
    >>> attnviz.explorer(model=(model, tokenizer), text="El banco del parque estaba recién pintado.")
    """
    from ..plots.style import classroom_mode
    from .widget import Explorer

    if modo is None:
        modo = "clase" if classroom_mode() else "normal"
    return Explorer(model, text, tokenizer=tokenizer, modo=modo)
