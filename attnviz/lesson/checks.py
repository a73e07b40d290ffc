"""What a student types into an exercise cell, checked before anything is drawn.

Each check raises one of the package's errors with one Spanish sentence that says what to write
instead, and it runs before any figure exists, so that a mistake never leaves an empty picture.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence

from ..core.errors import AttnvizError, IndexOutOfRangeError, InvalidInputTypeError, InvalidTextError
from ..core.result import AttentionResult, require_result


class ExerciseInputError(AttnvizError, ValueError):
    """A value typed into an exercise cell that the exercise cannot use (a threshold, a relation, a tag)."""


def _is_whole(value: object) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def check_index(value: object, size: int, noun: str, *, feminine: bool) -> int:
    """``value`` as an ``int`` in ``[0, size)``, or an error saying which numbers are valid.

    Negative numbers are refused: Python would read ``-1`` as «the last one», but in the lesson
    every layer, head and token is counted from 0.

    Examples
    --------
    >>> check_index(3, 6, "capa", feminine=True)
    3
    """
    last = size - 1
    article = "La" if feminine else "El"
    if not _is_whole(value):
        raise IndexOutOfRangeError(
            f"{article} {noun} tiene que ser un número entero entre 0 y {last}, sin comillas ni decimales, "
            f"no {value!r}.",
            f"The {noun} must be a whole number from 0 to {last}, not {value!r}.",
        )
    index = int(value)  # type: ignore[call-overload]
    if index < 0:
        raise IndexOutOfRangeError(
            f"{article} {noun} {index} no vale: aquí se cuenta desde 0 y sin números negativos; "
            f"escribe un número entre 0 y {last}.",
            f"{noun} {index} is not valid: counting starts at 0, without negative numbers; use 0 to {last}.",
        )
    if index > last:
        plural, numbered = f"{noun}s", "numeradas" if feminine else "numerados"
        raise IndexOutOfRangeError(
            f"{article} {noun} {index} no existe: hay {size} {plural}, {numbered} del 0 al {last}; "
            f"escribe un número entre 0 y {last}.",
            f"{noun} {index} does not exist: there are {size}, numbered 0 to {last}.",
        )
    return index


def check_choice(
    result: AttentionResult,
    layer: object = None,
    head: object = None,
    source: object = None,
) -> None:
    """Check the layer, head and source token a student chose, before anything is drawn.

    Parameters
    ----------
    result : AttentionResult
        The sentence the exercise draws (token or word level).
    layer, head, source : int or None
        The numbers typed into the cell; ``None`` is not checked (for example «the mean of the heads»).

    Raises
    ------
    IndexOutOfRangeError
        With one Spanish sentence: which numbers exist and what to type.

    Examples
    --------
    >>> check_choice(result, layer=1, head=3, source=2)
    >>> check_choice(result, layer=-1)  # doctest: +SKIP
    IndexOutOfRangeError: La capa -1 no vale: aquí se cuenta desde 0 y sin números negativos; ...
    """
    result = require_result(result)
    if layer is not None:
        check_index(layer, result.n_layers, "capa", feminine=True)
    if head is not None:
        check_index(head, result.n_heads, "cabeza", feminine=True)
    if source is not None:
        check_index(source, result.n_tokens, result.unit_noun, feminine=result.unit_noun == "palabra")


def check_threshold(threshold: object) -> float:
    """A graph threshold as a fraction: ``0.3`` stays ``0.3``, a percentage such as ``30`` becomes ``0.3``.

    Parameters
    ----------
    threshold : float
        A fraction between 0 and 1, or a percentage between 0 and 100.

    Returns
    -------
    float
        The fraction between 0 and 1.

    Raises
    ------
    ExerciseInputError
        Not a number, or outside both ranges.

    Examples
    --------
    >>> check_threshold(30)
    0.3
    >>> check_threshold(0.25)
    0.25
    """
    what = "una fracción entre 0 y 1 (como 0.3) o un porcentaje entre 0 y 100 (como 30)"
    if isinstance(threshold, bool) or not isinstance(threshold, numbers.Real):
        raise ExerciseInputError(
            f"El umbral tiene que ser un número, {what}, no {threshold!r}.",
            f"The threshold must be a number, a fraction from 0 to 1 or a percentage, not {threshold!r}.",
        )
    value = float(threshold)
    if 0.0 <= value <= 1.0:
        return value
    if 1.0 < value <= 100.0:
        return value / 100.0
    raise ExerciseInputError(
        f"El umbral {threshold} no vale: escribe {what}.",
        f"Threshold {threshold} is not valid: use a fraction from 0 to 1 or a percentage from 0 to 100.",
    )


def check_sentences(sentences: object, name: str = "la lista de frases") -> list[str]:
    """A list of sentences, each a non-empty ``str``; a single string is the usual slip.

    Examples
    --------
    >>> check_sentences(["El niño come."])
    ['El niño come.']
    """
    if isinstance(sentences, str):
        raise InvalidInputTypeError(
            f"{name[0].upper()}{name[1:]} tiene que ser una lista, con corchetes: "
            f'["{sentences.strip()[:40]}"], no una sola frase entre comillas.',
            f"{name} must be a list of sentences in square brackets, not one string.",
        )
    if not isinstance(sentences, Sequence) or not all(isinstance(s, str) for s in sentences):
        raise InvalidInputTypeError(
            f'{name[0].upper()}{name[1:]} tiene que ser una lista de frases entre comillas, como ["El niño '
            f'come.", "Llueve."], no {type(sentences).__name__}.',
            f"{name} must be a list of sentences (str).",
        )
    if not sentences or any(not s.strip() for s in sentences):
        raise InvalidTextError(
            f"{name[0].upper()}{name[1:]} está vacía o tiene una frase vacía: escribe al menos una frase, "
            'como ["El niño come una manzana."].',
            f"{name} is empty or has an empty sentence.",
        )
    return list(sentences)
