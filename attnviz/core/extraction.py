"""Run the model: one forward pass per text (or per padded batch), its attention as numpy.

The tokens stage (:mod:`attnviz.core.tokens`) says what each token is; this
module checks the model, runs it with attention weights switched on, and
stacks the weights into one float32 array.
"""

from __future__ import annotations

import contextlib
import inspect
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np

from .errors import NoAttentionError, TruncationWarning
from .inputs import check_model_and_tokenizer, encode_readable, max_tokens
from .knockout import Heads
from .loading import display_name
from .prediction import knocked_out, mask_encoded, masked_prediction, only_positions, require_masked_lm
from .projections import Projections, capture
from .result import Attention, AttentionResult
from .tokens import Encoded, clean_text

#: ``check_model_and_tokenizer`` and ``max_tokens`` live in :mod:`attnviz.core.inputs`; they are
#: still importable from here.
__all__ = [
    "check_model_and_tokenizer",
    "extract",
    "forward_attention",
    "forward_pass",
    "is_causal",
    "max_tokens",
]


def extract(
    model: Any,
    tokenizer: Any,
    text: str,
    text_pair: str | None = None,
    *,
    model_name: str | None = None,
    mask: str | int | None = None,
    heads_off: Heads = (),
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
    mask : str or int, optional
        A word to hide behind the mask token, every piece of it (whole-word masking): its
        text (first occurrence, exact case) or its index among ``result.words``, special tokens
        counted.  The model's guesses for it, from the logits of this same pass, are
        ``result.prediction`` (:func:`attnviz.predict_masked` computes the same numbers), and
        the tokens and words show the mask token where the word was.  Needs a model with a
        masked-word head (BETO loaded by :func:`attnviz.load_model` has it).
    heads_off : iterable of (int, int), or str
        Heads switched off during the pass (``"3:5,4:*"`` or ``[(3, 5)]``, see
        :func:`attnviz.switch_off`): their part of the context is zeroed before the output
        projection, so the layers after them and the prediction change; their own weights are
        still shown.  The model is unchanged after the call.

    Returns
    -------
    AttentionResult
        Tokens, words, special flags, segments and the read-only
        ``[layer, head, from, to]`` float32 attention; ``prediction`` with ``mask``.

    Raises
    ------
    MeasureUnavailableError
        ``mask`` with a model that has no masked-word head (e.g. the offline MiniLM, whose
        sentence vector :func:`attnviz.sentence_vector` gives instead), or ``heads_off`` with a
        model whose heads attnviz cannot switch off.
    InvalidTextError, IndexOutOfRangeError, InvalidInputTypeError
        An empty text, a word to hide that is not in it, an index out of range, bad heads.

    Text longer than the model accepts is truncated, with a
    :class:`TruncationWarning` and ``result.truncated`` set.

    Examples
    --------
    >>> model, tokenizer = attnviz.load_model("minilm")
    >>> result = attnviz.extract(model, tokenizer, "El perro ladra.")
    >>> result.attention.shape
    (6, 12, 7, 7)
    >>> beto, tokenizer = attnviz.load_model("beto")
    >>> masked = attnviz.extract(beto, tokenizer, "Los perros cruzaron la calle.", mask="cruzaron")
    >>> masked.words[3], masked.prediction.word, len(masked.prediction.top)
    ('[MASK]', 'cruzaron', 5)
    """
    check_model_and_tokenizer(model, tokenizer)
    text = clean_text(text)
    if text_pair is not None:
        text_pair = clean_text(text_pair, "segundo texto")
    if mask is not None:
        require_masked_lm(model, tokenizer)  # before the word: a model without the head says so first
    encoded = encode_readable(model, tokenizer, text, text_pair)
    masked = None if mask is None else mask_encoded(tokenizer, encoded, mask, text)
    shown, positions = (encoded, None) if masked is None else (masked.shown, masked.positions)
    with knocked_out(model, heads_off) as pairs:
        stacked, inside, logits = run_model(model, [shown], logits_at=positions)
    if encoded.truncated:
        limit = max_tokens(model, tokenizer)
        warnings.warn(
            TruncationWarning(
                f"El texto tiene {encoded.full_length} tokens y el modelo acepta {limit}: se recortó. "
                f"/ The text has {encoded.full_length} tokens; the model takes {limit}: it was truncated."
            ),
            stacklevel=2,
        )
    attention = stacked[0]
    prediction = None if masked is None else masked_prediction(tokenizer, masked, logits[0], heads_off=pairs)
    return AttentionResult(
        tokens=shown.tokens,
        attention=attention,
        model_name=model_name or display_name(getattr(model, "name_or_path", "") or "modelo"),
        special=shown.special,
        word_ids=shown.word_ids,
        words=shown.words,
        segments=shown.segments,
        text=text,
        text_pair=text_pair,
        truncated=encoded.truncated,
        causal=is_causal(attention),
        projections=inside[0] if inside else None,
        prediction=prediction,
        heads_off=pairs,
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
    stack, inside, _ = run_model(model, encoded, pad_id)
    return stack, inside


def run_model(
    model: Any, encoded: list[Encoded], pad_id: int = 0, *, logits_at: Sequence[int] | None = None
) -> tuple[np.ndarray, list[Projections], Any]:
    """:func:`forward_pass`, and the logits of the model's head at ``logits_at``, in ONE pass.

    Without ``logits_at`` only the base model runs (the encoder: a masked-word or language-model
    head on top would add a fifth to the work and give nothing to show).  With it, the whole
    model runs and its head computes only those positions
    (:func:`~attnviz.core.prediction.only_positions`).

    Parameters
    ----------
    model
        Any model :func:`attnviz.load_model` returns.
    encoded : list of Encoded
        The texts, right-padded into one batch.
    pad_id : int
        The id padding takes (masked out, so any id will do).
    logits_at : sequence of int, optional
        Token positions whose logits to return (the same for every text of the batch).

    Returns
    -------
    tuple
        The ``[batch, layer, head, width, width]`` attention, each text's :class:`Projections`,
        and the ``[batch, len(logits_at), vocabulary]`` logits (a torch tensor), or None.

    Examples
    --------
    >>> attention, projections, logits = run_model(model, [encoded], logits_at=(4, 5))
    >>> logits.shape
    torch.Size([1, 2, 31002])
    """
    import torch

    module = model if logits_at is not None else getattr(model, "base_model", model)
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
    accepted = set(inspect.signature(module.forward).parameters)
    device = next(module.parameters()).device
    inputs = {k: v.to(device) for k, v in inputs.items() if k in accepted}
    _ensure_eager(model)
    with torch.inference_mode(), capture(model) as inside, only_positions(model, logits_at):
        outputs = module(**inputs, output_attentions=True)
    logits = None if logits_at is None else outputs.logits
    # Out of the output object, so that _stack_attention can free each layer once it is copied.
    layers = list(getattr(outputs, "attentions", None) or ())
    del outputs
    stack = _stack_attention(layers, model, len(encoded), width)
    if len(encoded) == 1:
        return stack, inside, logits
    return stack, [p.cut(n) for p, n in zip(inside, lengths, strict=True)], logits


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
