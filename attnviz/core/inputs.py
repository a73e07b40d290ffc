"""What a model accepts: the ``(model, tokenizer)`` pair checked, how many tokens, a readable text.

Extraction (:mod:`attnviz.core.extraction`) and the predictions (:mod:`attnviz.core.prediction`)
both start here, so that a text is checked and cut the same way whichever runs it.
"""

from __future__ import annotations

from typing import Any

from .errors import InvalidInputTypeError, InvalidTextError
from .tokens import Encoded, encode

#: Tokenizers without a real limit report a huge ``model_max_length``.
_NO_LIMIT = 1_000_000


def check_model_and_tokenizer(model: Any, tokenizer: Any) -> None:
    """A student may pass a name, swap the two, or pass only one: say so instead of an AttributeError.

    Examples
    --------
    >>> check_model_and_tokenizer(*attnviz.load_model("minilm"))  # no error
    """
    model_ok = callable(model) and hasattr(model, "config") and hasattr(model, "parameters")
    tokenizer_ok = callable(tokenizer) and hasattr(tokenizer, "convert_ids_to_tokens")
    if not (model_ok and tokenizer_ok):
        got = f"{type(model).__name__} y {type(tokenizer).__name__}"
        raise InvalidInputTypeError(
            "Pasa el modelo y el tokenizador que devuelve attnviz.load_model(...), en ese orden: "
            f"recibí {got}.",
            "Pass the model and the tokenizer returned by attnviz.load_model(...), in that order: "
            f"got {got.replace(' y ', ' and ')}.",
        )


def max_tokens(model: Any, tokenizer: Any) -> int:
    """How many tokens the model accepts, from the tokenizer or the config.

    Examples
    --------
    >>> max_tokens(*attnviz.load_model("minilm"))
    512
    """
    limits = []
    tok_limit = getattr(tokenizer, "model_max_length", None)
    if isinstance(tok_limit, int) and 0 < tok_limit < _NO_LIMIT:
        limits.append(tok_limit)
    config = model.config
    for key in ("max_position_embeddings", "n_positions"):
        value = getattr(config, key, None)
        if isinstance(value, int) and value > 0:
            # RoBERTa-style position ids start after the padding index.
            offset = 2 if getattr(config, "model_type", "") in {"roberta", "xlm-roberta", "camembert"} else 0
            limits.append(value - offset)
            break
    return min(limits) if limits else 512


def encode_readable(model: Any, tokenizer: Any, text: str, text_pair: str | None = None) -> Encoded:
    """A cleaned text (and pair) tokenized for ``model``; an error if the model can read none of it.

    Parameters
    ----------
    model, tokenizer
        The model (for its token limit) and its tokenizer.
    text : str
        The text, already through :func:`attnviz.core.tokens.clean_text`.
    text_pair : str, optional
        A second text, also cleaned.

    Returns
    -------
    Encoded
        Cut to :func:`max_tokens`.

    Raises
    ------
    InvalidTextError
        The tokenizer left no token, or only the special ones it adds ([CLS], [SEP]).

    Examples
    --------
    >>> encode_readable(model, tokenizer, "El gato duerme.").words
    ('[CLS]', 'El', 'gato', 'duerme', '.', '[SEP]')
    """
    encoded = encode(tokenizer, text, text_pair, limit=max_tokens(model, tokenizer))
    if not encoded.ids:
        raise InvalidTextError("El texto no produjo ningún token.", "The text produced no token.")
    # Only the tokens the tokenizer added ([CLS], [SEP]...) are special: an
    # [UNK] or a "[SEP]" the user typed is part of the text.
    if all(encoded.special):
        raise InvalidTextError(
            "El texto no tiene nada que el modelo pueda leer (solo espacios, caracteres de control o "
            "signos que el modelo ignora): escribe al menos una palabra.",
            "The text has nothing the model can read (only spaces, control characters or marks the "
            "model ignores): type at least one word.",
        )
    return encoded
