"""Run the model: one forward pass per text (or per padded batch), its attention as numpy.

The tokens stage (:mod:`attnviz.tokens`) says what each token is; this
module checks the model, runs it with attention weights switched on, and
stacks the weights into one float32 array.
"""

from __future__ import annotations

import contextlib
import inspect
import queue
import threading
import time
import warnings
from typing import Any

import numpy as np

from .errors import InvalidInputTypeError, InvalidTextError, NoAttentionError, TruncationWarning
from .loading import display_name
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
    attention = forward_attention(model, [encoded])[0]
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
    stack = _new_stack(_stack_shape(model, len(encoded), width))
    copier = _LayerCopier(model, stack) if stack is not None and stack.nbytes >= _PAGE_IN_BYTES else None
    try:
        with torch.inference_mode():
            outputs = model(**inputs, output_attentions=True)
    finally:
        if copier is not None:
            copier.stop()
    # Take the layers out of the output object so that _stack_attention can
    # free each tensor as soon as it is copied.
    layers = list(getattr(outputs, "attentions", None) or ())
    del outputs
    copied = copier is not None and copier.copied(layers)
    return _stack_attention(layers, model, len(encoded), width, out=stack, copied=copied)


#: Stacks at least this large (n >= ~170 for BETO) are paged in and copied layer by layer during the pass.
_PAGE_IN_BYTES = 16 * 2**20


def _stack_shape(model: Any, batch: int, n: int) -> tuple[int, ...] | None:
    """``(batch, layers, heads, n, n)`` from the config, or None when the config does not say."""
    config = model.config
    # BERT's names; GPT-2 and DistilBERT map them onto their own (n_layer/n_layers...).
    n_layers = getattr(config, "num_hidden_layers", None)
    n_heads = getattr(config, "num_attention_heads", None)
    if not (isinstance(n_layers, int) and isinstance(n_heads, int) and n_layers > 0 and n_heads > 0):
        return None
    return (batch, n_layers, n_heads, n, n)


def _new_stack(shape: tuple[int, ...] | None) -> np.ndarray | None:
    return None if shape is None else np.empty(shape, dtype=np.float32)


class _LayerCopier:
    """Copies each layer's attention into a large stack while the model computes the next one.

    Why: copying 144 MiB after the pass at n=512 took 11-16 ms of the 50 ms the first picture
    may take after it (issue 13); a layer is done ~100 ms before the next one, so on another
    thread the copy costs the first picture ~1 ms (the last layer's).  The same thread first
    touches the stack's pages: the first write to fresh memory costs page faults, 0.1 s for
    n=512 and up to 0.4 s when the kernel assembles huge pages.  The price: the stack is
    resident during the pass, 144 MiB more at the peak for n=512.

    The layers are caught by forward hooks on every module, as the first output of the
    expected shape ``(batch, heads, n, n)`` with new storage.  Nothing is assumed about which
    module returns them: :meth:`copied` accepts the copy only when the model's own
    ``outputs.attentions`` are those very tensors, in that order; otherwise the caller copies
    them after the pass, as for a small stack.
    """

    def __init__(self, model: Any, stack: np.ndarray) -> None:
        batch, self._n_layers, heads, n, _ = stack.shape
        self._stack = stack
        self._expected = (batch, heads, n, n)
        self._caught: list[Any] = []  # held until the end, so that no storage is reused meanwhile
        self._storage: set[int] = set()
        self._work: queue.SimpleQueue[int | None] = queue.SimpleQueue()
        self._ok = True
        self._hooks: list[Any] = []
        try:
            for module in model.modules():
                self._hooks.append(module.register_forward_hook(self._catch))
        except Exception:  # a module that takes no hooks (scripted...): copy after the pass
            self._ok = False
        self._thread = threading.Thread(target=self._run, name="attnviz-copy", daemon=True)
        self._thread.start()

    def _catch(self, module: Any, args: Any, output: Any) -> None:
        # An exception here would break the student's forward pass: any surprise only
        # switches the copy back to after the pass.
        try:
            for item in output if isinstance(output, tuple) else (output,):
                if getattr(item, "ndim", None) == 4 and tuple(item.shape) == self._expected:
                    storage = item.data_ptr()
                    if storage not in self._storage:
                        self._storage.add(storage)
                        self._caught.append(item)
                        if len(self._caught) <= self._n_layers:
                            self._work.put(len(self._caught) - 1)
        except Exception:
            self._ok = False

    def _run(self) -> None:
        try:
            self._stack.fill(0.0)
            while (layer := self._work.get()) is not None:
                if self._ok:
                    np.copyto(self._stack[:, layer], _as_array(self._caught[layer]))
        except Exception:
            self._ok = False
            while self._work.get() is not None:  # stop() still waits for its end mark
                pass

    def stop(self) -> None:
        """Remove the hooks and wait for the copies (the last layer's, ~1 ms, is usually left)."""
        for hook in self._hooks:
            hook.remove()
        self._work.put(None)
        self._thread.join()

    def copied(self, layers: list[Any]) -> bool:
        """True when the stack holds ``layers``: the model's outputs are the tensors copied."""
        caught, self._caught = self._caught, []
        return (
            self._ok
            and len(caught) == len(layers) == self._n_layers
            and all(
                layer is not None
                and layer.data_ptr() == mine.data_ptr()
                and tuple(layer.shape) == tuple(mine.shape)
                and layer.stride() == mine.stride()
                for layer, mine in zip(layers, caught, strict=True)
            )
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


def _stack_attention(
    attentions: list[Any],
    model: Any,
    batch: int,
    n: int,
    out: np.ndarray | None = None,
    copied: bool = False,
) -> np.ndarray:
    """One float32 ``[batch, layer, head, n, n]`` array; empties ``attentions``.

    ``out`` is used when it has that shape; ``copied`` says that it holds ``attentions``
    already (see :class:`_LayerCopier`).
    """
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
    shape = (batch, len(attentions), n_heads, n, n)
    for i, layer in enumerate(attentions):
        if layer is None or tuple(layer.shape) != (batch, n_heads, n, n):
            raise NoAttentionError(
                f"La capa {i} no devolvió una atención de forma ({batch}, {n_heads}, {n}, {n}).",
                f"Layer {i} did not return attention of shape ({batch}, {n_heads}, {n}, {n}).",
            )
    if out is None or out.shape != shape or out.nbytes < _PAGE_IN_BYTES:
        # Small, or into fresh memory (the stack grows as it is written): dropping each tensor
        # as it is copied keeps about one stack's worth alive (144 MiB at n=512 for BETO).
        stack = out if out is not None and out.shape == shape else np.empty(shape, dtype=np.float32)
        for i in range(len(attentions)):
            stack[:, i] = _as_array(attentions[i])
            attentions[i] = None
        return stack
    # The paged-in stack (see _LayerCopier) is whole already, so freeing early would save
    # nothing at the peak.  When the layers were not copied during the pass, two threads copy
    # them (numpy lets go of the GIL: 12 -> 9 ms at n=512).  The tensors are returned to the
    # system later, on another thread (12-17 ms at n=512, measured; see _release_later).
    if not copied:
        half = len(attentions) // 2
        failures: list[BaseException] = []
        helper = threading.Thread(
            target=_copy_layers, args=(attentions, out, half, len(attentions), failures)
        )
        helper.start()
        _copy_layers(attentions, out, 0, half, failures)
        helper.join()
        if failures:
            raise failures[0]
    held = list(attentions)
    attentions.clear()
    _release_later(held)
    return out


def _as_array(layer: Any) -> np.ndarray:
    return np.asarray(layer.detach().float().cpu().numpy())


def _copy_layers(
    attentions: list[Any], stack: np.ndarray, first: int, stop: int, failures: list[BaseException]
) -> None:
    """Copy layers ``first:stop`` into the stack; a failure is kept for the caller (threads swallow them)."""
    try:
        for i in range(first, stop):
            np.copyto(stack[:, i], _as_array(attentions[i]))
    except BaseException as err:  # re-raised by the caller, on its own thread
        failures.append(err)


#: How long the model's tensors outlive a long extraction.  Each free holds the GIL for
#: the ~1 ms the system takes to unmap it, and twelve of them interleaved with the first
#: picture's drawing made it slower (PNG encoding 6.7 -> 12.8 ms at n=512, measured).
_RELEASE_AFTER_S = 0.2
_release_lock = threading.Lock()
_last_release: threading.Event | None = None


def _release_later(tensors: list[Any]) -> None:
    """Free ``tensors`` on another thread once the first picture has had its time.

    A new release makes the one before it free at once, so at most one pass's tensors wait.
    The thread is not a daemon: the interpreter waits for it before it exits, as torch
    aborts the process when a tensor is freed during its shutdown.
    """
    global _last_release
    now = threading.Event()
    with _release_lock:
        if _last_release is not None:
            _last_release.set()
        _last_release = now
    threading.Thread(target=_drop_one_by_one, args=(tensors, now), name="attnviz-release").start()


def _drop_one_by_one(tensors: list[Any], now: threading.Event) -> None:
    """Wait, then free the tensors with pauses, so that the thread drawing keeps the GIL."""
    now.wait(_RELEASE_AFTER_S)
    while tensors:
        tensors.pop()
        time.sleep(0.0005)
