"""Run the model: one forward pass per text (or per padded batch), its attention as numpy.

The tokens stage (:mod:`attnviz.core.tokens`) says what each token is; this
module checks the model, runs it with attention weights switched on, and
stacks the weights into one float32 array.
"""

from __future__ import annotations

import contextlib
import inspect
import warnings
from typing import Any

import numpy as np

from .errors import InvalidInputTypeError, InvalidTextError, NoAttentionError, TruncationWarning
from .loading import display_name
from .projections import Projections, capture
from .result import Attention, AttentionResult
from .tokens import Encoded, clean_text, encode

#: Tokenizers without a real limit report a huge ``model_max_length``.
_NO_LIMIT = 1_000_000


def check_model_and_tokenizer(model: Any, tokenizer: Any) -> None:
    """A student may pass a name, swap the two, or pass only one: say so instead of an AttributeError."""
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
    """How many tokens the model accepts, from the tokenizer or the config."""
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


def extract(
    model: Any,
    tokenizer: Any,
    text: str,
    text_pair: str | None = None,
    *,
    model_name: str | None = None,
) -> AttentionResult:
    """Run ONE forward pass and return every layer's and head's attention.

    Parameters
    ----------
    model, tokenizer
        What :func:`attnviz.load_model` returns (any Hugging Face model that
        can return attention weights, and its tokenizer).
    text : str
        The sentence.  Control characters are dropped; an empty text is an
        :class:`~attnviz.InvalidTextError`.
    text_pair : str, optional
        A second sentence, for sentence-pair views (``result.segments``).
    model_name : str, optional
        The name views print; by default the model's short name.

    Returns
    -------
    AttentionResult
        Tokens, words, special flags, segments and the read-only
        ``[layer, head, from, to]`` float32 attention.

    Text longer than the model accepts is truncated, with a
    :class:`TruncationWarning` and ``result.truncated`` set.

    Examples
    --------
    >>> model, tokenizer = attnviz.load_model("minilm")
    >>> result = attnviz.extract(model, tokenizer, "El perro ladra.")
    >>> result.attention.shape
    (6, 12, 7, 7)
    """
    check_model_and_tokenizer(model, tokenizer)
    text = clean_text(text)
    if text_pair is not None:
        text_pair = clean_text(text_pair, "segundo texto")
    limit = max_tokens(model, tokenizer)
    encoded = encode(tokenizer, text, text_pair, limit=limit)
    if not encoded.ids:
        raise InvalidTextError("El texto no produjo ningún token.", "The text produced no token.")
    # Only the tokens the tokenizer added ([CLS], [SEP]...) are special: an
    # [UNK] or a "[SEP]" the user typed is part of the text.
    if all(encoded.special):
        raise InvalidTextError(
            "El texto no tiene nada que el modelo pueda leer (solo espacios, caracteres de "
            "control o signos que el modelo ignora).",
            "The text has nothing the model can read (only spaces, control characters or "
            "marks the model ignores).",
        )
    stacked, inside = forward_pass(model, [encoded])
    attention = stacked[0]
    if encoded.truncated:
        warnings.warn(
            TruncationWarning(
                f"El texto tiene {encoded.full_length} tokens y el modelo acepta {limit}: se recortó. "
                f"/ The text has {encoded.full_length} tokens; the model takes {limit}: it was truncated."
            ),
            stacklevel=2,
        )
    return AttentionResult(
        tokens=encoded.tokens,
        attention=attention,
        model_name=model_name or display_name(getattr(model, "name_or_path", "") or "modelo"),
        special=encoded.special,
        word_ids=encoded.word_ids,
        words=encoded.words,
        segments=encoded.segments,
        text=text,
        text_pair=text_pair,
        truncated=encoded.truncated,
        causal=is_causal(attention),
        projections=inside[0] if inside else None,
    )


def is_causal(attention: Attention) -> bool:
    """True when nothing attends to a later token: a causal (GPT-style) model.

    ``attention`` is ``[layer, head, n, n]``; a single token proves nothing.
    """
    n = attention.shape[-1]
    # Head by head: np.triu of the whole stack would be a second 144 MiB copy at n=512, and a
    # bidirectional model is told apart by its first head (0.3 ms instead of 8 for a layer).
    return bool(n > 1 and not any(np.triu(head, k=1).any() for layer in attention for head in layer))


def forward_attention(model: Any, encoded: list[Encoded], pad_id: int = 0) -> np.ndarray:
    """``[batch, layer, head, width, width]`` attention of right-padded texts, in one forward pass.

    ``width`` is the longest text's length; padding is masked, so row ``i``
    of a text of ``n`` tokens, cut to ``[:n, :n]``, equals that text run alone.
    """
    return forward_pass(model, encoded, pad_id)[0]


def forward_pass(model: Any, encoded: list[Encoded], pad_id: int = 0) -> tuple[np.ndarray, list[Projections]]:
    """:func:`forward_attention` and, from the same pass, each text's :class:`Projections`.

    The projections list is empty for a model whose projections attnviz does not know;
    each item is cut back to its text's own tokens.
    """
    import torch

    lengths = [len(e.ids) for e in encoded]
    width = max(lengths)
    # Right padding, built here so that tokenizers without a pad token (GPT-2) work too.
    ids = torch.full((len(encoded), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(encoded), width), dtype=torch.long)
    types = torch.zeros((len(encoded), width), dtype=torch.long)
    for row, (enc, n) in enumerate(zip(encoded, lengths, strict=True)):
        ids[row, :n] = torch.tensor(enc.ids)
        mask[row, :n] = 1
        if enc.type_ids is not None:
            types[row, :n] = torch.tensor(enc.type_ids)
    inputs = {"input_ids": ids, "attention_mask": mask}
    if encoded[0].type_ids is not None:
        inputs["token_type_ids"] = types
    accepted = set(inspect.signature(model.forward).parameters)
    device = next(model.parameters()).device
    inputs = {k: v.to(device) for k, v in inputs.items() if k in accepted}
    _ensure_eager(model)
    with torch.inference_mode(), capture(model) as inside:
        outputs = model(**inputs, output_attentions=True)
    # Out of the output object, so that _stack_attention can free each layer once it is copied.
    layers = list(getattr(outputs, "attentions", None) or ())
    del outputs
    stack = _stack_attention(layers, model, len(encoded), width)
    if len(encoded) == 1:
        return stack, inside
    return stack, [p.cut(n) for p, n in zip(inside, lengths, strict=True)]


def _ensure_eager(model: Any) -> None:
    # SDPA and flash kernels return no weights (transformers 5 silently returns an empty
    # tuple): a model the student loaded with one is switched through transformers' public
    # set_attn_implementation, a no-op for an eager model (~0.1 ms).  transformers 4.41 has no
    # such method, but there a BERT-style SDPA layer asked for weights computes them eagerly.
    switch = getattr(model, "set_attn_implementation", None)
    if callable(switch):
        # If it cannot switch, the check after the forward pass reports it.
        with contextlib.suppress(Exception):
            switch("eager")


def _stack_attention(attentions: list[Any], model: Any, batch: int, n: int) -> np.ndarray:
    """One float32 ``[batch, layer, head, n, n]`` array; empties ``attentions``."""
    config = model.config
    n_layers = getattr(config, "num_hidden_layers", None) or getattr(config, "n_layer", None)
    hint_es = 'Cárgalo con attnviz.load_model(...) o con attn_implementation="eager".'
    hint_en = 'Load it with attnviz.load_model(...) or with attn_implementation="eager".'
    if not attentions:
        raise NoAttentionError(
            f"El modelo no devolvió pesos de atención. {hint_es}",
            f"The model returned no attention weights. {hint_en}",
        )
    if n_layers is not None and len(attentions) != n_layers:
        raise NoAttentionError(
            f"El modelo devolvió atención de {len(attentions)} capas y tiene {n_layers}. {hint_es}",
            f"The model returned attention for {len(attentions)} layers but has {n_layers}. {hint_en}",
        )
    first = attentions[0]
    if first is None or first.ndim != 4 or first.shape[0] != batch or tuple(first.shape[2:]) != (n, n):
        shape = None if first is None else tuple(first.shape)
        raise NoAttentionError(
            f"La atención no tiene la forma esperada ({batch}, cabezas, {n}, {n}): {shape}.",
            f"The attention does not have the expected shape ({batch}, heads, {n}, {n}): {shape}.",
        )
    n_heads = int(first.shape[1])
    del first
    for i, layer in enumerate(attentions):
        if layer is None or tuple(layer.shape) != (batch, n_heads, n, n):
            raise NoAttentionError(
                f"La capa {i} no devolvió una atención de forma ({batch}, {n_heads}, {n}, {n}).",
                f"Layer {i} did not return attention of shape ({batch}, {n_heads}, {n}, {n}).",
            )
    # One copy, layer by layer into fresh memory, dropping each tensor once copied: the peak
    # stays near one stack's worth (144 MiB at n=512 for BETO) instead of two (torch.stack).
    stack = np.empty((batch, len(attentions), n_heads, n, n), dtype=np.float32)
    for i in range(len(attentions)):
        stack[:, i] = _as_array(attentions[i])
        attentions[i] = None
    return stack


def _as_array(layer: Any) -> np.ndarray:
    return np.asarray(layer.detach().float().cpu().numpy())
