"""Run the model once and collect every layer's and head's attention."""

from __future__ import annotations

import contextlib
import inspect
import re
import warnings
from typing import Any

import numpy as np

from .errors import InvalidInputTypeError, InvalidTextError, NoAttentionError, TruncationWarning
from .loading import display_name
from .result import AttentionResult
from .words import display_token, group_pieces

#: Tokenizers without a real limit report a huge ``model_max_length``.
_NO_LIMIT = 1_000_000
#: C0 and C1 control characters except tab, newline and carriage return.
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def clean_text(text: object, what: str = "texto") -> str:
    """Check the type and drop what no tokenizer can take (lone surrogates, NUL)."""
    if not isinstance(text, str):
        raise InvalidInputTypeError(
            f"El {what} debe ser una cadena de texto (str), no {type(text).__name__}.",
            f"The {'text' if what == 'texto' else 'second text'} must be a string (str), "
            f"not {type(text).__name__}.",
        )
    # Lone surrogates cannot be encoded to UTF-8; pairs are joined, lone ones replaced.
    text = text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    # Tokenizers drop control characters anyway; dropping them here keeps them
    # out of the word texts that views and HTML tables show.
    text = _CONTROL.sub("", text)
    if not text.strip():
        second = what != "texto"
        raise InvalidTextError(
            f"El {what} está vacío: escribe al menos una palabra.",
            f"The {'second text' if second else 'text'} is empty: type at least one word.",
        )
    return text


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

    Text longer than the model accepts is truncated, with a
    :class:`TruncationWarning` and ``result.truncated`` set.
    """
    import torch

    check_model_and_tokenizer(model, tokenizer)
    text = clean_text(text)
    if text_pair is not None:
        text_pair = clean_text(text_pair, "segundo texto")
    limit = max_tokens(model, tokenizer)
    fast = bool(getattr(tokenizer, "is_fast", False))
    encoding = tokenizer(
        text,
        text_pair,
        truncation=True,
        max_length=limit,
        return_tensors="pt",
        return_offsets_mapping=fast,
        return_special_tokens_mask=True,
    )
    full_length = len(tokenizer(text, text_pair, truncation=False, verbose=False)["input_ids"])
    truncated = full_length > limit
    ids = encoding["input_ids"][0].tolist()
    if not ids:
        raise InvalidTextError("El texto no produjo ningún token.", "The text produced no token.")
    # Only the tokens the tokenizer added ([CLS], [SEP]...) are special: an
    # [UNK] or a "[SEP]" the user typed is part of the text.
    special = tuple(bool(flag) for flag in encoding["special_tokens_mask"][0].tolist())
    if all(special):
        raise InvalidTextError(
            "El texto no tiene nada que el modelo pueda leer (solo espacios, caracteres de "
            "control o signos que el modelo ignora).",
            "The text has nothing the model can read (only spaces, control characters or "
            "marks the model ignores).",
        )
    raw_tokens = tokenizer.convert_ids_to_tokens(ids)
    tokens = _display_tokens(tokenizer, raw_tokens)
    word_ids, words = _words(encoding, raw_tokens, tokens, special, text, text_pair, fast)
    segments = _segments(encoding, special, len(ids), fast)

    accepted = set(inspect.signature(model.forward).parameters)
    device = next(model.parameters()).device
    inputs = {k: v.to(device) for k, v in encoding.items() if k in accepted and k != "offset_mapping"}
    _ensure_eager(model)
    with torch.inference_mode():
        outputs = model(**inputs, output_attentions=True)
    # Take the layers out of the output object so that _stack_attention can
    # free each tensor as soon as it is copied.
    layers = list(getattr(outputs, "attentions", None) or ())
    del outputs
    attention = _stack_attention(layers, model, len(ids))

    if truncated:
        warnings.warn(
            TruncationWarning(
                f"El texto tiene {full_length} tokens y el modelo acepta {limit}: se recortó. "
                f"/ The text has {full_length} tokens; the model takes {limit}: it was truncated."
            ),
            stacklevel=2,
        )
    n = len(ids)
    # Layer by layer: np.triu of the whole stack would be a second 144 MiB copy at n=512.
    causal = n > 1 and not any(np.triu(layer, k=1).any() for layer in attention)
    return AttentionResult(
        tokens=tuple(tokens),
        attention=attention,
        model_name=model_name or display_name(getattr(model, "name_or_path", "") or "modelo"),
        special=special,
        word_ids=tuple(word_ids),
        words=tuple(words),
        segments=tuple(segments),
        text=text,
        text_pair=text_pair,
        truncated=truncated,
        causal=bool(causal),
    )


def _ensure_eager(model: Any) -> None:
    # SDPA and flash kernels return no weights (transformers 5.x silently
    # returns an empty tuple).  Newer versions can switch without reloading.
    config = model.config
    current = getattr(config, "_attn_implementation", None)
    if current not in (None, "eager") and hasattr(model, "set_attn_implementation"):
        # If it cannot switch, the check after the forward pass reports it.
        with contextlib.suppress(Exception):
            model.set_attn_implementation("eager")


def _stack_attention(attentions: list[Any], model: Any, n: int) -> np.ndarray:
    """One float32 array from the per-layer tensors; empties ``attentions`` as it copies."""
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
    if first is None or first.ndim != 4 or first.shape[0] != 1 or tuple(first.shape[2:]) != (n, n):
        shape = None if first is None else tuple(first.shape)
        raise NoAttentionError(
            f"La atención no tiene la forma esperada (1, cabezas, {n}, {n}): {shape}.",
            f"The attention does not have the expected shape (1, heads, {n}, {n}): {shape}.",
        )
    n_heads = int(first.shape[1])
    del first
    # Copy layer by layer into one array and drop each tensor as we go, so
    # that at most one copy of the stack (144 MiB at n=512 for BETO) is alive.
    stack = np.empty((len(attentions), n_heads, n, n), dtype=np.float32)
    for i in range(len(attentions)):
        layer = attentions[i]
        if layer is None or tuple(layer.shape) != (1, n_heads, n, n):
            raise NoAttentionError(
                f"La capa {i} no devolvió una atención de forma (1, {n_heads}, {n}, {n}).",
                f"Layer {i} did not return attention of shape (1, {n_heads}, {n}, {n}).",
            )
        stack[i] = layer[0].detach().float().cpu().numpy()
        attentions[i] = None
    return stack


def _display_tokens(tokenizer: Any, raw_tokens: list[str]) -> list[str]:
    if not _is_byte_level(tokenizer):
        return [display_token(t) for t in raw_tokens]
    special = set(getattr(tokenizer, "all_special_tokens", []))
    return [t if t in special else byte_level_text(t) for t in raw_tokens]


def _is_byte_level(tokenizer: Any) -> bool:
    """GPT-2/RoBERTa-style tokenizers write each byte as one printable character."""
    if hasattr(tokenizer, "byte_decoder"):
        return True
    backend = getattr(tokenizer, "backend_tokenizer", None)
    parts = [getattr(backend, "pre_tokenizer", None), getattr(backend, "decoder", None)]
    return any("ByteLevel" in repr(part) for part in parts if part is not None)


def _bytes_to_unicode() -> dict[int, str]:
    # GPT-2's table: printable bytes map to themselves, the rest to chars from 256 up (space -> Ġ).
    printable = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), 256)]
    chars = list(printable)
    extra = 0
    for b in range(256):
        if b not in printable:
            printable.append(b)
            chars.append(256 + extra)
            extra += 1
    return dict(zip(printable, map(chr, chars), strict=True))


_BYTE_DECODER = {c: b for b, c in _bytes_to_unicode().items()}


def byte_level_text(token: str) -> str:
    """A byte-level piece as text: ``Ġgato`` -> `` gato``, ``iÃ³`` -> ``ió``.

    A piece holding only part of a multi-byte character shows ``�`` for it.
    """
    if not token or any(ch not in _BYTE_DECODER for ch in token):
        return display_token(token)
    return bytes(_BYTE_DECODER[ch] for ch in token).decode("utf-8", errors="replace")


def _words(
    encoding: Any,
    raw_tokens: list[str],
    tokens: list[str],
    special: tuple[bool, ...],
    text: str,
    text_pair: str | None,
    fast: bool,
) -> tuple[list[int], list[str]]:
    """Word index of each piece, and each word's text (from the original text when possible)."""
    if not fast:
        word_ids = group_pieces(raw_tokens, special)
        words: list[str] = []
        for i, w in enumerate(word_ids):
            piece = tokens[i][2:] if tokens[i].startswith("##") else tokens[i]
            if w == len(words):
                words.append(piece)
            else:
                words[w] += piece
        return word_ids, words

    tok_words = encoding.word_ids(0)
    sequences = encoding.sequence_ids(0)
    offsets = encoding["offset_mapping"][0].tolist()
    sources = {0: text, 1: text_pair or ""}
    word_ids = []
    words = []
    spans: list[list[int]] = []
    previous: tuple[int | None, int | None] | None = None
    for i, (word, seq) in enumerate(zip(tok_words, sequences, strict=True)):
        key = (seq, word)
        if word is None or special[i] or key != previous:
            words.append(tokens[i])
            spans.append(list(offsets[i]))
        else:
            spans[-1][1] = offsets[i][1]
        word_ids.append(len(words) - 1)
        previous = key if word is not None and not special[i] else None
        if word is not None and not special[i] and seq in sources:
            start, end = spans[-1]
            source = sources[seq]
            if 0 <= start < end <= len(source):
                # Byte-level offsets include the leading space; the word label does not.
                words[-1] = source[start:end].strip() or source[start:end]
    return word_ids, words


def _segments(encoding: Any, special: tuple[bool, ...], n: int, fast: bool) -> list[int]:
    """0 for the first text (and leading specials), 1 for the second."""
    if fast:
        segments = []
        current = 0
        for seq in encoding.sequence_ids(0):
            if seq is not None:
                current = seq
            segments.append(current)
        return segments
    if "token_type_ids" in encoding:
        return [int(t) for t in encoding["token_type_ids"][0].tolist()]
    return [0] * n
