"""attnviz: see the attention inside a real Transformer, layer by layer and head by head.

text -> tokens -> attention tensor -> picture::

    import attnviz
    model, tokenizer = attnviz.load_model("beto")
    result = attnviz.extract(model, tokenizer, "El perro que persiguió al gato cruzó la calle.")
    attnviz.plot_arcs(result, layer=3, head=5, source=2)
"""

from .arcs import plot_arcs
from .errors import (
    AttnvizError,
    IndexOutOfRangeError,
    InvalidInputTypeError,
    InvalidModelError,
    InvalidTextError,
    ModelNotFoundError,
    ModelUnavailableError,
    NoAttentionError,
    OfflineFallbackWarning,
    OutputPathError,
    TruncationWarning,
)
from .extraction import extract
from .loading import ALIASES, DEFAULT_MODEL, OFFLINE_ALIAS, load_model, offline_model_path
from .result import AttentionResult
from .words import to_words

__version__ = "0.1.0"

__all__ = [
    "ALIASES",
    "DEFAULT_MODEL",
    "OFFLINE_ALIAS",
    "AttentionResult",
    "AttnvizError",
    "IndexOutOfRangeError",
    "InvalidInputTypeError",
    "InvalidModelError",
    "InvalidTextError",
    "ModelNotFoundError",
    "ModelUnavailableError",
    "NoAttentionError",
    "OfflineFallbackWarning",
    "OutputPathError",
    "TruncationWarning",
    "extract",
    "load_model",
    "offline_model_path",
    "plot_arcs",
    "to_words",
]
