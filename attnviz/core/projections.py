"""Each layer's query, key and value projections, read in the same forward pass as the attention.

A head's weights say where a token looks; its query and key say why (``q·k``), and its
value passed through the head's slice of the output matrix, ``f_h(x) = (x W_V^h + b_V^h) W_O^h``,
says what it carries (Kobayashi et al., 2020, "Attention is Not Only a Weight").  Forward hooks
on the model's own projection modules catch ``q``, ``k`` and ``v`` while the model runs, so
nothing is computed twice and no second pass is needed.

The families whose modules are known are in :data:`FAMILIES`; any other model still gives its
attention, and these measures say in Spanish that they are not available for it.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from .errors import MeasureUnavailableError

_BERT = (
    "encoder.layer",
    ("attention.self.query", "attention.self.key", "attention.self.value"),
    "attention.output.dense",
)
#: model_type -> (path from the base model to its layers, then from a layer to q, k, v and the
#: output projection).  A fused ``c_attn`` (GPT-2) returns q, k and v side by side.
FAMILIES: dict[str, tuple[str, tuple[str, ...], str]] = {
    **dict.fromkeys(("bert", "roberta", "xlm-roberta", "camembert", "electra"), _BERT),
    "distilbert": (
        "transformer.layer",
        ("attention.q_lin", "attention.k_lin", "attention.v_lin"),
        "attention.out_lin",
    ),
    "gpt2": ("h", ("attn.c_attn",), "attn.c_proj"),
}


@dataclass(frozen=True, eq=False)
class Projections:
    """What one text's pass produced inside every attention layer.

    ``queries``, ``keys`` and ``values`` hold one ``[n, hidden]`` array per layer, heads side
    by side (:meth:`query` and :meth:`key` give one head's ``[n, d_k]``): the pass's own
    outputs, read-only and not copied into one stack (a new sentence's first picture does not
    wait for ~14 MB of copies at n=128 with BETO); ``score_scale`` is
    ``[layer]``, the factor the model multiplies ``q·k`` by before the softmax (``1/√d_k``
    for BERT); ``output_weights`` holds each layer's ``W_O`` as ``[heads, d_k, hidden]``
    (the model's own tensors, not copies), for :meth:`value_norms`.
    """

    queries: tuple[np.ndarray, ...]
    keys: tuple[np.ndarray, ...]
    values: tuple[np.ndarray, ...]
    score_scale: np.ndarray
    output_weights: tuple[Any, ...]

    def __post_init__(self) -> None:
        for array in (*self.queries, *self.keys, *self.values, self.score_scale):
            array.flags.writeable = False

    @property
    def n_heads(self) -> int:
        return int(self.output_weights[0].shape[0])

    def _head(self, arrays: tuple[np.ndarray, ...], layer: int, head: int) -> np.ndarray:
        d_k = arrays[layer].shape[-1] // self.n_heads
        return arrays[layer][:, head * d_k : (head + 1) * d_k]

    def query(self, layer: int, head: int) -> np.ndarray:
        """One head's ``[n, d_k]`` queries."""
        return self._head(self.queries, layer, head)

    def key(self, layer: int, head: int) -> np.ndarray:
        """One head's ``[n, d_k]`` keys."""
        return self._head(self.keys, layer, head)

    def value_norms(self) -> np.ndarray:
        """``[layer, head, n]``: ``‖f_h(x_j)‖``, the norm of what token ``j`` carries through head ``h``.

        Computed when asked, not during the pass: ``‖v W_O^h‖² = v (W_O^h W_O^hᵀ) vᵀ``, with the
        ``d_k × d_k`` Gram matrix, costs 40-60 ms for BETO at n = 128-512 (the
        ``[n, hidden]`` products would cost 100-350 ms).
        """
        import torch

        heads = self.n_heads
        norms = []
        with torch.inference_mode():
            for values, weight in zip(self.values, self.output_weights, strict=True):
                w = weight.float()
                gram = w @ w.transpose(1, 2)  # [head, d_k, d_k]
                v = torch.tensor(values).reshape(len(values), heads, -1).transpose(0, 1)
                squared = ((v @ gram) * v).sum(-1)  # [head, n]
                norms.append(squared.clamp_min(0).sqrt().numpy())
        return np.stack(norms)

    def cut(self, n: int) -> Projections:
        """The first ``n`` tokens (a text of a right-padded batch), as copies."""
        return Projections(
            tuple(a[:n].copy() for a in self.queries),
            tuple(a[:n].copy() for a in self.keys),
            tuple(a[:n].copy() for a in self.values),
            self.score_scale,
            self.output_weights,
        )


def unavailable_reason(model: Any) -> str | None:
    """Why q·k and contribution can't be read from ``model`` (in Spanish), or None if they can."""
    config = model.config
    model_type = getattr(config, "model_type", "")
    if model_type not in FAMILIES:
        return (
            "esta medida no está disponible para este modelo: attnviz no conoce las proyecciones de "
            f"«{model_type or type(model).__name__}» (sí las de BERT, RoBERTa, DistilBERT, GPT-2 y MiniLM)."
        )
    if getattr(config, "position_embedding_type", "absolute") not in (None, "absolute"):
        return "esta medida no está disponible para este modelo: sus posiciones relativas cambian q·k."
    return None


def attention_layers(model: Any) -> list[Any]:
    """The model's transformer layers, in order (a family in :data:`FAMILIES`)."""
    path, _, _ = FAMILIES[model.config.model_type]
    base = getattr(model, "base_model", model)
    return list(module_at(base, path))


def module_at(obj: Any, dotted: str) -> Any:
    """``obj.a.b.c`` for ``dotted="a.b.c"``."""
    for name in dotted.split("."):
        obj = getattr(obj, name)
    return obj


def n_heads(config: Any) -> int:
    for key in ("num_attention_heads", "n_heads", "n_head"):
        value = getattr(config, key, None)
        if isinstance(value, int) and value > 0:
            return value
    raise MeasureUnavailableError(
        "esta medida no está disponible para este modelo: su configuración no dice cuántas cabezas tiene.",
        "this measure is not available for this model: its config does not say how many heads it has.",
    )


def _output_weight(model: Any, layer: int) -> tuple[Any, Any]:
    """The output projection's ``[heads, d_k, hidden]`` weight and its bias, as torch views."""
    _, _, out_path = FAMILIES[model.config.model_type]
    module = module_at(attention_layers(model)[layer], out_path)
    # torch.nn.Linear computes x @ W.T; GPT-2's Conv1D computes x @ W.
    weight = module.weight if type(module).__name__ == "Conv1D" else module.weight.T
    heads = n_heads(model.config)
    return weight.detach().reshape(heads, -1, weight.shape[1]), module.bias


def output_projection(model: Any, layer: int) -> tuple[np.ndarray, np.ndarray]:
    """``(W_O, b_O)`` of one layer, as float64 ``[heads, d_k, hidden]`` and ``[hidden]`` arrays.

    The part of head ``h`` in the attention output is ``context_h @ W_O[h]``; their sum plus
    ``b_O`` is what the layer adds to the residual stream (before dropout and LayerNorm).

    Parameters
    ----------
    model
        A model of a family in :data:`FAMILIES`.
    layer : int
        The layer, from 0.

    Returns
    -------
    tuple of numpy.ndarray

    Examples
    --------
    >>> w_o, b_o = output_projection(model, 0)
    >>> w_o.shape
    (12, 64, 768)
    """
    weight, bias = _output_weight(model, layer)
    w = weight.double().cpu().numpy()
    b = bias.detach().double().cpu().numpy() if bias is not None else np.zeros(w.shape[-1])
    return w, b


def _score_scale(model: Any, layer: int, d_k: int) -> float:
    config = model.config
    if config.model_type == "gpt2":
        scale = 1 / math.sqrt(d_k) if getattr(config, "scale_attn_weights", True) else 1.0
        if getattr(config, "scale_attn_by_inverse_layer_idx", False):
            scale /= layer + 1
        return scale
    return 1 / math.sqrt(d_k)


@contextlib.contextmanager
def capture(model: Any) -> Iterator[list[Projections]]:
    """Hooks on every layer's projections while the ``with`` block runs the model.

    The yielded list is filled, after the block, with one :class:`Projections` per text of
    the batch (right-padded: cut each with :meth:`Projections.cut`).  A model whose
    projections are unknown leaves it empty.
    """
    found: list[Projections] = []
    try:
        layers = attention_layers(model) if unavailable_reason(model) is None else []
    except AttributeError:  # laid out otherwise than its family: attention only
        layers = []
    if not layers:
        yield found
        return
    _, qkv_paths, _ = FAMILIES[model.config.model_type]
    caught: list[list[Any]] = [[] for _ in layers]
    hooks = []
    try:
        for i, layer in enumerate(layers):
            for path in qkv_paths:

                def keep(_module: Any, _inputs: Any, output: Any, store: list[Any] = caught[i]) -> None:
                    store.append(output.detach())

                hooks.append(module_at(layer, path).register_forward_hook(keep))
        yield found
    finally:
        for hook in hooks:
            hook.remove()
    if all(len(c) == len(qkv_paths) for c in caught):
        # A module laid out otherwise than its family's gives no measure rather than wrong ones.
        with contextlib.suppress(RuntimeError, ValueError, AttributeError):
            found.extend(_assemble(model, caught))


def _assemble(model: Any, caught: list[list[Any]]) -> list[Projections]:
    heads = n_heads(model.config)
    per_layer = [outputs if len(outputs) == 3 else outputs[0].chunk(3, dim=-1) for outputs in caught]
    d_k = per_layer[0][2].shape[-1] // heads
    scale = np.asarray([_score_scale(model, i, d_k) for i in range(len(caught))], dtype=np.float32)
    weights = tuple(_output_weight(model, i)[0] for i in range(len(caught)))
    # Per layer [batch, n, hidden] -> one Projections per text of the batch, views of the pass's outputs.
    q, k, v = ([parts[i].float().cpu().numpy() for parts in per_layer] for i in range(3))
    batch = q[0].shape[0]
    return [
        Projections(tuple(a[b] for a in q), tuple(a[b] for a in k), tuple(a[b] for a in v), scale, weights)
        for b in range(batch)
    ]
