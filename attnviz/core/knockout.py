"""Switch attention heads off: zero their part of the context before the output projection.

A layer's attention output is ``concat_h(context_h) @ W_O + b_O``: head ``h`` reaches the rest of
the model only through its slice ``[h*d_k:(h+1)*d_k]`` of the output projection's input.  A
forward pre-hook on that module (:data:`~attnviz.core.projections.FAMILIES` says where it is)
multiplies the slice by 0, so the head adds nothing and the layer keeps only ``b_O`` and the
residual path from it.  It works on every transformers version (transformers 5 has no
``head_mask``) and with any attention kernel (eager, SDPA), since it acts after the kernel.

:func:`switch_off` turns the same heads off for a whole batch; :func:`switch_off_per_row` gives
each row of a batch its own heads off, so that many knockouts run in one forward pass
(:func:`attnviz.core.importance.head_importance`).
"""

from __future__ import annotations

import contextlib
import numbers
import re
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import numpy as np

from .errors import IndexOutOfRangeError, InvalidInputTypeError, MeasureUnavailableError
from .projections import FAMILIES, attention_layers, module_at, n_heads

Heads = Iterable[tuple[int, int]] | str
"""What the functions here take as heads: ``(layer, head)`` pairs, or text for :func:`parse_heads`."""

_NOUNS_ES, _NOUNS_EN = ("capa", "cabeza"), ("layer", "head")
_ITEM = re.compile(r"\s*([^:,]*?)\s*:\s*([^:,]*?)\s*")


def output_projections(model: Any) -> list[Any]:
    """Each layer's attention output projection module (the module whose input holds the heads).

    Parameters
    ----------
    model
        A model of a family in :data:`~attnviz.core.projections.FAMILIES` (BERT, RoBERTa,
        DistilBERT, GPT-2, MiniLM...), with or without a head on top.

    Returns
    -------
    list
        One ``torch.nn.Module`` per layer, from layer 0.

    Raises
    ------
    MeasureUnavailableError
        attnviz does not know where this model's output projections are.

    Examples
    --------
    >>> len(output_projections(model))
    12
    """
    model_type = getattr(getattr(model, "config", None), "model_type", "") or ""
    family = FAMILIES.get(model_type)
    name = model_type or type(model).__name__
    if family is not None:
        # A model laid out otherwise than its family gives the same Spanish error as an unknown one.
        with contextlib.suppress(AttributeError, TypeError):
            modules = [module_at(layer, family[2]) for layer in attention_layers(model)]
            if modules:
                return modules
    raise MeasureUnavailableError(
        f"No se pueden apagar cabezas en este modelo: attnviz no sabe dónde está la salida de la "
        f"atención de «{name}» (sí en BERT, RoBERTa, DistilBERT, GPT-2 y MiniLM).",
        f"Heads cannot be switched off in this model: attnviz does not know where «{name}»'s "
        "attention output is (it does for BERT, RoBERTa, DistilBERT, GPT-2 and MiniLM).",
    )


def model_shape(model: Any) -> tuple[int, int]:
    """``(layers, heads)`` of a model whose heads can be switched off.

    Examples
    --------
    >>> model_shape(model)
    (12, 12)
    """
    return len(output_projections(model)), n_heads(model.config)


def _example(n_layers: int, n_heads: int) -> tuple[str, str]:
    # The example in the messages must itself be valid for this model (a tiny one has 2 layers).
    layer, head = min(3, n_layers - 1), min(5, n_heads - 1)
    return (
        f"Escribe CAPA:CABEZA, por ejemplo {layer}:{head}, o {layer}:* para toda la capa.",
        f"Write LAYER:HEAD, e.g. {layer}:{head}, or {layer}:* for the whole layer.",
    )


def _index(value: str, size: int, noun_es: str, noun_en: str, item: str, hint: tuple[str, str]) -> int:
    """A layer or head number typed as text, checked against the model's ``size``."""
    if not value:
        raise InvalidInputTypeError(
            f"«{item}» no es una cabeza: falta el número de la {noun_es}. {hint[0]}",
            f"«{item}» is not a head: the {noun_en} number is missing. {hint[1]}",
        )
    if not re.fullmatch(r"[+-]?\d+", value):
        raise InvalidInputTypeError(
            f"«{item}» no es una cabeza: la {noun_es} debe ser un número entero y «{value}» no lo es. "
            f"{hint[0]}",
            f"«{item}» is not a head: the {noun_en} must be a whole number and «{value}» is not. {hint[1]}",
        )
    return _in_range(int(value), size, noun_es, noun_en, hint)


def _in_range(index: int, size: int, noun_es: str, noun_en: str, hint: tuple[str, str]) -> int:
    if not 0 <= index < size:
        raise IndexOutOfRangeError(
            f"La {noun_es} {index} no existe: hay {size} ({noun_es}s 0 a {size - 1}). {hint[0]}",
            f"{noun_en.capitalize()} {index} does not exist: there are {size} "
            f"({noun_en}s 0 to {size - 1}). {hint[1]}",
        )
    return index


def parse_heads(text: str, n_layers: int, n_heads: int) -> list[tuple[int, int]]:
    """The heads a student typed: ``"3:5"``, ``"3:5,4:0"``, ``"3:*"`` (every head of layer 3).

    Spaces around the numbers and a trailing comma are accepted; a head named twice is kept once,
    in the order first named.

    Parameters
    ----------
    text : str
        Comma-separated ``LAYER:HEAD`` items, counted from 0; ``*`` as the head means the whole layer.
    n_layers, n_heads : int
        The model's size, to check the numbers.

    Returns
    -------
    list of tuple of int
        ``(layer, head)`` pairs.

    Raises
    ------
    InvalidInputTypeError
        Not text, empty, or an item that is not ``LAYER:HEAD`` with whole numbers.
    IndexOutOfRangeError
        A layer or head the model does not have (negative numbers included).

    Examples
    --------
    >>> parse_heads("3:5, 4:*", 12, 12)[:3]
    [(3, 5), (4, 0), (4, 1)]
    """
    hint = _example(n_layers, n_heads)
    if not isinstance(text, str):
        raise InvalidInputTypeError(
            f"Las cabezas se escriben como texto, no como {type(text).__name__}. {hint[0]}",
            f"Heads are written as text, not as {type(text).__name__}. {hint[1]}",
        )
    items = [item.strip() for item in text.split(",")]
    if items and not items[-1]:
        items.pop()  # "3:5," is a slip, not a mistake worth an error
    if not items or not any(items):
        raise InvalidInputTypeError(
            f"No has escrito ninguna cabeza. {hint[0]}", f"No head was written. {hint[1]}"
        )
    heads: dict[tuple[int, int], None] = {}
    for item in items:
        if not item:
            raise InvalidInputTypeError(
                f"Sobra una coma en «{text.strip()}». {hint[0]}",
                f"There is one comma too many in «{text.strip()}». {hint[1]}",
            )
        match = _ITEM.fullmatch(item)
        if match is None:
            raise InvalidInputTypeError(
                f"«{item}» no es una cabeza: falta la forma CAPA:CABEZA. {hint[0]}",
                f"«{item}» is not a head: it lacks the LAYER:HEAD form. {hint[1]}",
            )
        layer = _index(match[1], n_layers, "capa", "layer", item, hint)
        if match[2] == "*":
            heads.update(dict.fromkeys((layer, h) for h in range(n_heads)))
        else:
            heads[(layer, _index(match[2], n_heads, "cabeza", "head", item, hint))] = None
    return list(heads)


def format_heads(heads: Iterable[tuple[int, int]], n_heads: int | None = None, limit: int = 6) -> str:
    """Heads as a student would type them: ``"3:5, 4:0"``; ``"3:*"`` for a whole layer (with ``n_heads``).

    The inverse of :func:`parse_heads`; past ``limit`` items only the first ones are listed,
    after how many heads there are.

    Examples
    --------
    >>> format_heads([(3, 5), (4, 0)])
    '3:5, 4:0'
    >>> format_heads([(3, h) for h in range(12)], n_heads=12)
    '3:*'
    """
    by_layer: dict[int, list[int]] = {}
    for layer, head in heads:
        by_layer.setdefault(int(layer), []).append(int(head))
    items = []
    for layer, off in by_layer.items():
        if n_heads is not None and sorted(set(off)) == list(range(n_heads)):
            items.append(f"{layer}:*")
        else:
            items.extend(f"{layer}:{head}" for head in off)
    if len(items) <= limit:
        return ", ".join(items)
    count = sum(len(set(off)) for off in by_layer.values())
    return f"{count} cabezas ({', '.join(items[:limit])}, …)"


def check_heads(heads: Heads, n_layers: int, n_heads: int) -> list[tuple[int, int]]:
    """``heads`` as a list of valid ``(layer, head)`` pairs; text goes through :func:`parse_heads`.

    Examples
    --------
    >>> check_heads([(3, 5)], 12, 12)
    [(3, 5)]
    """
    if isinstance(heads, str):
        return parse_heads(heads, n_layers, n_heads)
    hint = _example(n_layers, n_heads)
    pairs: dict[tuple[int, int], None] = {}
    items: list[Any]
    try:
        items = list(heads)
    except TypeError:
        items = [heads]  # reported below, as any other item that is not a pair
    for pair in items:
        if not (isinstance(pair, tuple | list) and len(pair) == 2):
            raise InvalidInputTypeError(
                f"Cada cabeza es un par (capa, cabeza), como (3, 5), no {pair!r}. {hint[0]}",
                f"Each head is a (layer, head) pair, like (3, 5), not {pair!r}. {hint[1]}",
            )
        checked: list[int] = []
        sizes = (n_layers, n_heads)
        for value, size, noun_es, noun_en in zip(pair, sizes, _NOUNS_ES, _NOUNS_EN, strict=True):
            # bool is an int, but True as a layer is always a mistake.
            if isinstance(value, bool) or not isinstance(value, numbers.Integral):
                raise InvalidInputTypeError(
                    f"La {noun_es} de {pair!r} debe ser un número entero, no {value!r}. {hint[0]}",
                    f"The {noun_en} of {pair!r} must be a whole number, not {value!r}. {hint[1]}",
                )
            checked.append(_in_range(int(value), size, noun_es, noun_en, hint))
        pairs[(checked[0], checked[1])] = None
    return list(pairs)


def _pre_hook(scale: Callable[[Any], Any]) -> Callable[..., Any]:
    """A forward pre-hook (``with_kwargs=True``) that replaces the module's input ``x`` by ``scale(x)``."""

    def hook(_module: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[Any, Any]:
        if args:
            return (scale(args[0]), *args[1:]), kwargs
        # nn.Linear's argument is called "input", GPT-2's Conv1D's "x": whichever was passed.
        key = next(iter(kwargs))
        return args, {**kwargs, key: scale(kwargs[key])}

    return hook


@contextlib.contextmanager
def _hooked(modules: list[tuple[Any, Callable[[Any], Any]]]) -> Iterator[None]:
    handles = []
    try:
        for module, scale in modules:
            handles.append(module.register_forward_pre_hook(_pre_hook(scale), with_kwargs=True))
        yield
    finally:
        # Also on an exception inside the with block: the model must come out as it went in.
        for handle in handles:
            handle.remove()


@contextlib.contextmanager
def switch_off(model: Any, heads: Heads) -> Iterator[list[tuple[int, int]]]:
    """While the ``with`` block runs, the given heads add nothing to their layer's output.

    Each head's slice of the output projection's input is multiplied by 0, in every row of the
    batch; the hooks are removed on leaving the block (also on an exception), so the model is
    unchanged afterwards.  Switching off no head adds no hook at all: the numbers are the
    model's own, bit for bit.

    Parameters
    ----------
    model
        A model of a family in :data:`~attnviz.core.projections.FAMILIES`.
    heads : iterable of (int, int), or str
        ``(layer, head)`` pairs counted from 0, or text such as ``"3:5,4:*"`` (:func:`parse_heads`).

    Yields
    ------
    list of tuple of int
        The heads switched off, checked and without repeats.

    Raises
    ------
    MeasureUnavailableError
        attnviz does not know where this model's output projections are.
    InvalidInputTypeError, IndexOutOfRangeError
        A head that is not a pair of whole numbers, or that the model does not have.

    Examples
    --------
    >>> with switch_off(model, [(3, 5)]):
    ...     outputs = model(**inputs)
    """
    projections = output_projections(model)
    heads_per_layer = n_heads(model.config)
    pairs = check_heads(heads, len(projections), heads_per_layer)
    by_layer: dict[int, list[int]] = {}
    for layer, head in pairs:
        by_layer.setdefault(layer, []).append(head)
    hooked = []
    for layer, off in by_layer.items():
        keep = np.ones(heads_per_layer, dtype=np.float32)
        keep[off] = 0.0
        hooked.append((projections[layer], _head_scaler(keep[None], heads_per_layer)))
    with _hooked(hooked):
        yield pairs


@contextlib.contextmanager
def switch_off_per_row(model: Any, masks: Any) -> Iterator[None]:
    """While the ``with`` block runs, head ``h`` of layer ``l`` is scaled by ``masks[b, l, h]`` in row ``b``.

    With 0/1 masks, each row of one forward pass is its own knockout: row ``b`` equals a pass of
    that row alone inside :func:`switch_off` with the heads where ``masks[b] == 0``.  Layers whose
    mask is 1 everywhere get no hook.

    Parameters
    ----------
    model
        A model of a family in :data:`~attnviz.core.projections.FAMILIES`.
    masks : array-like
        ``[batch, layers, heads]`` multipliers (numpy or torch); the batch the model runs in the
        block must have ``batch`` rows.

    Raises
    ------
    MeasureUnavailableError
        attnviz does not know where this model's output projections are.
    InvalidInputTypeError
        ``masks`` is not ``[batch, layers, heads]`` for this model, or the batch differs.

    Examples
    --------
    >>> with switch_off_per_row(model, masks):  # masks.shape == (16, 12, 12)
    ...     outputs = model(input_ids=ids.expand(16, -1))
    """
    projections = output_projections(model)
    heads_per_layer = n_heads(model.config)
    array = np.asarray(masks.detach().cpu() if hasattr(masks, "detach") else masks, dtype=np.float32)
    wanted = (len(projections), heads_per_layer)
    if array.ndim != 3 or array.shape[1:] != wanted:
        raise InvalidInputTypeError(
            f"Las máscaras de cabezas deben tener forma (filas, {wanted[0]}, {wanted[1]}), no {array.shape}.",
            f"Head masks must have shape (rows, {wanted[0]}, {wanted[1]}), not {array.shape}.",
        )
    hooked = [
        (projections[layer], _head_scaler(array[:, layer], heads_per_layer))
        for layer in range(len(projections))
        if not (array[:, layer] == 1).all()
    ]
    with _hooked(hooked):
        yield


def _head_scaler(keep: np.ndarray, heads: int) -> Callable[[Any], Any]:
    """``x [batch, n, heads*d_k] -> x`` with head ``h`` of row ``b`` times ``keep[b, h]``.

    ``keep`` is ``[1, heads]`` (the same heads for every row) or ``[batch, heads]``.
    """
    cache: dict[tuple[Any, Any], Any] = {}

    def scale(x: Any) -> Any:
        import torch

        rows = keep.shape[0]
        if rows != 1 and x.shape[0] != rows:
            raise InvalidInputTypeError(
                f"Las máscaras de cabezas tienen {rows} filas y el lote que entra al modelo {x.shape[0]}.",
                f"The head masks have {rows} rows and the batch given to the model {x.shape[0]}.",
            )
        factor = cache.get((x.dtype, x.device))
        if factor is None:
            # Converted once per dtype and device, not at every call.
            factor = torch.as_tensor(keep, dtype=x.dtype, device=x.device)[:, None, :, None]
            cache[(x.dtype, x.device)] = factor
        # Out of place: the context tensor may be kept by autograd or by the caller's own hooks.
        split = x.reshape(*x.shape[:-1], heads, x.shape[-1] // heads)
        return (split * factor).reshape(x.shape)

    return scale
