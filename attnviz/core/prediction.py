"""What the model predicts, with every head on or some switched off (:mod:`attnviz.core.knockout`).

* :func:`predict_masked`: a masked-language model (BERT, BETO, RoBERTa, DistilBERT with their
  masked-word head) guesses a word of the sentence hidden behind its mask token.
* :func:`sentence_vector`: any encoder's sentence vector (mean of its last hidden states), for a
  model without that head, such as the offline all-MiniLM-L6-v2; :func:`vector_change` compares two.
* :func:`predict_next`: a causal model with its language-model head (GPT-2) guesses the next token.

Each runs ONE forward pass, with ``heads_off`` switched off during it.
"""

from __future__ import annotations

import contextlib
import dataclasses
import inspect
import math
import numbers
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from .errors import IndexOutOfRangeError, InvalidInputTypeError, InvalidTextError, MeasureUnavailableError
from .inputs import check_model_and_tokenizer, encode_readable
from .knockout import Heads, switch_off
from .tokens import Encoded, clean_text, display_tokens

#: How many words an error message lists at most.
_LISTED_WORDS = 40


@dataclass(frozen=True)
class Prediction:
    """What a masked-language model guessed for one word of a sentence, hidden behind its mask.

    ``top`` holds the ``top_k`` likeliest tokens for the word's first piece, with their
    probabilities; ``probability`` is the model's probability for the original word, the product
    of each piece's probability at its own masked position (``piece_probabilities``), and
    ``log_probability`` its natural log.
    """

    text: str
    word: str
    #: The word's index among the sentence's words, special tokens counted (as in attnviz.to_words).
    word_index: int
    pieces: tuple[str, ...]
    top: tuple[tuple[str, float], ...]
    probability: float
    log_probability: float
    piece_probabilities: tuple[float, ...]
    heads_off: tuple[tuple[int, int], ...] = ()


@dataclass(frozen=True)
class NextTokenPrediction:
    """The ``top_k`` likeliest next tokens after ``text``, with their probabilities (causal models)."""

    text: str
    top: tuple[tuple[str, float], ...]
    heads_off: tuple[tuple[int, int], ...] = ()


@dataclass(frozen=True)
class MaskedWord:
    """A sentence with one word replaced, piece by piece, by the mask token (whole-word masking)."""

    text: str
    #: The sentence as written.
    encoded: Encoded
    word_index: int
    word: str
    #: Token positions of the word's pieces, and each piece's own token id (what the model must guess).
    positions: tuple[int, ...]
    piece_ids: tuple[int, ...]
    #: The model's input: ``encoded.ids`` with every piece of the word replaced by the mask token.
    ids: tuple[int, ...]
    #: The sentence as the model reads it: ``ids``, and the mask token where the word's pieces and
    #: the word were (what a view of this pass shows).
    shown: Encoded


def is_causal_lm(model: Any) -> bool:
    """True for a model that predicts the next token with a language-model head (GPT-2's LM head model).

    Examples
    --------
    >>> is_causal_lm(GPT2LMHeadModel(config))
    True
    """
    if _output_embeddings(model) is None:
        return False
    # transformers 4.41 says BertForMaskedLM "can_generate" too: the class name and the config decide.
    name = type(model).__name__
    decoder = bool(getattr(model.config, "is_decoder", False))
    return decoder or name.endswith(("LMHeadModel", "ForCausalLM"))


def has_masked_lm_head(model: Any, tokenizer: Any) -> bool:
    """True when ``model`` can guess a masked word: a masked-LM head and a tokenizer with a mask token.

    Examples
    --------
    >>> has_masked_lm_head(*attnviz.load_model("minilm"))
    False
    """
    return (
        _output_embeddings(model) is not None
        and getattr(tokenizer, "mask_token_id", None) is not None
        and not is_causal_lm(model)
    )


def require_masked_lm(model: Any, tokenizer: Any) -> None:
    """Raise :class:`MeasureUnavailableError`, in Spanish, unless :func:`has_masked_lm_head`.

    Examples
    --------
    >>> require_masked_lm(model, tokenizer)  # a BertForMaskedLM: no error
    """
    if has_masked_lm_head(model, tokenizer):
        return
    if is_causal_lm(model):
        raise MeasureUnavailableError(
            "Este modelo predice el token siguiente, no una palabra tapada: usa predict_next en vez de "
            "predict_masked.",
            "This model predicts the next token, not a masked word: use predict_next instead of "
            "predict_masked.",
        )
    raise MeasureUnavailableError(
        "Este modelo no tiene cabeza para adivinar palabras tapadas (es un modelo de frases o se cargó "
        "sin ella): usa sentence_vector para ver cómo cambia el vector de la frase.",
        "This model has no head to guess masked words (it is a sentence model or was loaded without "
        "it): use sentence_vector to see how the sentence vector changes.",
    )


def _output_embeddings(model: Any) -> Any:
    get = getattr(model, "get_output_embeddings", None)
    return get() if callable(get) else None


class Words(Protocol):
    """What :func:`find_word` reads: an :class:`~attnviz.core.tokens.Encoded` or an AttentionResult."""

    @property
    def words(self) -> tuple[str, ...]: ...

    @property
    def word_ids(self) -> tuple[int, ...]: ...

    @property
    def special(self) -> tuple[bool, ...]: ...


def _sentence_words(encoded: Words) -> list[tuple[int, str]]:
    """``(word index, word)`` of each word that is not a special token."""
    first_piece: dict[int, int] = {}
    for position, word in enumerate(encoded.word_ids):
        first_piece.setdefault(word, position)
    return [(w, text) for w, text in enumerate(encoded.words) if not encoded.special[first_piece[w]]]


def _listed(words: Sequence[tuple[int, str]]) -> str:
    shown = ", ".join(f"«{w}»" for _, w in words[:_LISTED_WORDS])
    return shown + (", …" if len(words) > _LISTED_WORDS else "")


def find_word(encoded: Words, word: object) -> int:
    """Index in ``encoded.words`` of ``word``: its text (first occurrence, exact case) or its index.

    Parameters
    ----------
    encoded : Encoded or AttentionResult
        The sentence, from :func:`~attnviz.core.inputs.encode_readable` (or a result of it).
    word : str or int
        The word as the tokenizer splits the sentence into words (``"persiguió"``, ``"."``), or its
        index among ``encoded.words``, where special tokens count (``[CLS]`` is 0 for BERT), as in
        :func:`attnviz.to_words`.

    Returns
    -------
    int

    Raises
    ------
    InvalidInputTypeError
        ``word`` is neither text nor a whole number.
    InvalidTextError
        The word is not in the sentence (the message lists its words), or is empty.
    IndexOutOfRangeError
        An index outside the sentence's words, or one of a special token.

    Examples
    --------
    >>> find_word(encode_readable(model, tokenizer, "El perro ladra."), "perro")
    2
    """
    words = _sentence_words(encoded)
    if isinstance(word, str):
        wanted = word.strip()
        if not wanted:
            raise InvalidTextError(
                f"Escribe la palabra que el modelo debe adivinar, una de estas: {_listed(words)}.",
                f"Type the word the model must guess, one of these: {_listed(words)}.",
            )
        for index, text in words:
            if text == wanted:
                return index
        # Matching is exact (a cased model tells «El» from «el»): say so when only the case differs.
        case = any(text.casefold() == wanted.casefold() for _, text in words)
        note_es, note_en = (" (las mayúsculas cuentan)", " (case matters)") if case else ("", "")
        raise InvalidTextError(
            f"La palabra «{wanted}» no está en la frase{note_es}: sus palabras son {_listed(words)}.",
            f"The word «{wanted}» is not in the sentence{note_en}: its words are {_listed(words)}.",
        )
    if isinstance(word, bool) or not isinstance(word, numbers.Integral):
        raise InvalidInputTypeError(
            f'La palabra se indica con su texto (como "gato") o con su número, no con {type(word).__name__}.',
            f'Give the word as its text (like "gato") or its number, not as {type(word).__name__}.',
        )
    index = int(word)
    valid = dict(words)
    (first, first_word), (last, last_word) = words[0], words[-1]
    span_es = f"de la {first} («{first_word}») a la {last} («{last_word}»)"
    span_en = f"from {first} («{first_word}») to {last} («{last_word}»)"
    if 0 <= index < len(encoded.words) and index not in valid:
        raise IndexOutOfRangeError(
            f"La palabra {index} es «{encoded.words[index]}», un token especial que no se predice: "
            f"elige una {span_es}.",
            f"Word {index} is «{encoded.words[index]}», a special token that is not predicted: "
            f"pick one {span_en}.",
        )
    if index not in valid:
        raise IndexOutOfRangeError(
            f"La palabra {index} no existe: las de esta frase van {span_es}.",
            f"Word {index} does not exist: this sentence's words go {span_en}.",
        )
    return index


def mask_word(model: Any, tokenizer: Any, text: str, word: object) -> MaskedWord:
    """``text`` with every piece of ``word`` replaced by the mask token (see :func:`find_word`).

    Examples
    --------
    >>> mask_word(model, tokenizer, "El perro persiguió al gato.", "persiguió").positions
    (3, 4)
    """
    text = clean_text(text)
    return mask_encoded(tokenizer, encode_readable(model, tokenizer, text), word, text)


def mask_encoded(tokenizer: Any, encoded: Encoded, word: object, text: str) -> MaskedWord:
    """:func:`mask_word` for a text already encoded (a sentence pair too: words of either text).

    Parameters
    ----------
    tokenizer
        A tokenizer with a mask token.
    encoded : Encoded
        The text, from :func:`~attnviz.core.inputs.encode_readable`.
    word : str or int
        As in :func:`find_word`.
    text : str
        The (first) text, as :attr:`MaskedWord.text` keeps it.

    Returns
    -------
    MaskedWord

    Examples
    --------
    >>> text = "El perro ladra."
    >>> mask_encoded(tokenizer, encode_readable(model, tokenizer, text), "perro", text).word_index
    2
    """
    index = find_word(encoded, word)
    positions = tuple(i for i, w in enumerate(encoded.word_ids) if w == index)
    mask_id = int(tokenizer.mask_token_id)
    mask_text = display_tokens(tokenizer, [str(tokenizer.mask_token)])[0]
    ids, tokens = list(encoded.ids), list(encoded.tokens)
    for position in positions:
        ids[position], tokens[position] = mask_id, mask_text
    words = list(encoded.words)
    words[index] = mask_text
    shown = dataclasses.replace(encoded, ids=tuple(ids), tokens=tuple(tokens), words=tuple(words))
    return MaskedWord(
        text=text,
        encoded=encoded,
        word_index=index,
        word=encoded.words[index],
        positions=positions,
        piece_ids=tuple(encoded.ids[p] for p in positions),
        ids=shown.ids,
        shown=shown,
    )


def model_inputs(
    module: Any, ids: Sequence[int], type_ids: Sequence[int] | None, rows: int = 1
) -> dict[str, Any]:
    """Keyword arguments for ``module`` (a model or its base model): ``rows`` copies of one text.

    Examples
    --------
    >>> model(**model_inputs(model, encoded.ids, encoded.type_ids)).logits.shape[:2]
    torch.Size([1, 14])
    """
    import torch

    inputs = {
        "input_ids": torch.tensor([list(ids)]).expand(rows, -1),
        "attention_mask": torch.ones((rows, len(ids)), dtype=torch.long),
    }
    if type_ids is not None:
        inputs["token_type_ids"] = torch.tensor([list(type_ids)]).expand(rows, -1)
    accepted = set(inspect.signature(module.forward).parameters)
    device = next(module.parameters()).device
    return {k: v.to(device) for k, v in inputs.items() if k in accepted}


@contextlib.contextmanager
def knocked_out(model: Any, heads_off: Heads) -> Iterator[tuple[tuple[int, int], ...]]:
    """:func:`~attnviz.core.knockout.switch_off`, and no hook at all (any model) when no head is off.

    Examples
    --------
    >>> with knocked_out(model, "3:5") as heads:
    ...     heads
    ((3, 5),)
    """
    if not isinstance(heads_off, str):
        heads_off = list(heads_off)
        if not heads_off:
            # A model whose projections attnviz does not know still predicts with every head on.
            yield ()
            return
    with switch_off(model, heads_off) as pairs:
        yield tuple(pairs)


def _check_top_k(top_k: object, vocabulary: int) -> int:
    if isinstance(top_k, bool) or not isinstance(top_k, numbers.Integral) or top_k < 1:
        raise InvalidInputTypeError(
            f"top_k es cuántas predicciones mostrar: un número entero desde 1, no {top_k!r}.",
            f"top_k is how many predictions to show: a whole number from 1, not {top_k!r}.",
        )
    return min(int(top_k), vocabulary)


def _top(tokenizer: Any, log_probs: Any, top_k: int) -> tuple[tuple[str, float], ...]:
    values, ids = log_probs.topk(min(top_k, log_probs.shape[-1]))
    raw = tokenizer.convert_ids_to_tokens([int(i) for i in ids])
    # A model may have more outputs than its tokenizer has tokens (padded vocabularies).
    texts = display_tokens(
        tokenizer, [t if t is not None else f"[{int(i)}]" for t, i in zip(raw, ids, strict=True)]
    )
    return tuple((text, math.exp(float(v))) for text, v in zip(texts, values, strict=True))


def predict_masked(
    model: Any, tokenizer: Any, text: str, word: str | int, *, top_k: int = 5, heads_off: Heads = ()
) -> Prediction:
    """Hide ``word`` behind the mask token and see what the model guesses, in ONE forward pass.

    Every piece of the word is masked (whole-word masking, as BETO was trained).  The original
    word's probability is the product of each piece's probability at its own masked position.

    Parameters
    ----------
    model, tokenizer
        A model with a masked-language head (e.g. ``BertForMaskedLM``) and its tokenizer.
    text : str
        The sentence.
    word : str or int
        The word to hide: its text as the tokenizer splits words (first occurrence, exact case),
        or its index among the sentence's words counting special tokens (as in
        :func:`attnviz.to_words`).
    top_k : int
        How many guesses to return, for the word's first piece.
    heads_off : iterable of (int, int), or str
        Heads switched off during the pass (:func:`~attnviz.core.knockout.switch_off`).

    Returns
    -------
    Prediction

    Raises
    ------
    MeasureUnavailableError
        The model has no masked-word head (e.g. the offline MiniLM): use :func:`sentence_vector`.
    InvalidTextError, IndexOutOfRangeError, InvalidInputTypeError
        An empty sentence, a word not in it, an index out of range, bad heads or ``top_k``.

    Examples
    --------
    >>> predict_masked(model, tokenizer, "El perro persiguió al gato.", "gato", heads_off="3:5").top[0]
    ('gato', 0.41)
    """
    import torch

    check_model_and_tokenizer(model, tokenizer)
    require_masked_lm(model, tokenizer)
    top_k = _check_top_k(top_k, len(tokenizer))
    masked = mask_word(model, tokenizer, text, word)
    with (
        knocked_out(model, heads_off) as pairs,
        only_positions(model, masked.positions),
        torch.inference_mode(),
    ):
        logits = model(**model_inputs(model, masked.ids, masked.encoded.type_ids)).logits
    return masked_prediction(tokenizer, masked, logits[0], top_k=top_k, heads_off=pairs)


def masked_prediction(
    tokenizer: Any,
    masked: MaskedWord,
    logits: Any,
    *,
    top_k: int = 5,
    heads_off: tuple[tuple[int, int], ...] = (),
) -> Prediction:
    """The :class:`Prediction` that one pass's logits make for the masked word.

    :func:`predict_masked` and :func:`attnviz.extract` (with ``mask=``) both end here, so that a
    prediction is computed the same way whichever pass made it.

    Parameters
    ----------
    tokenizer
        The model's tokenizer (for the guesses' texts).
    masked : MaskedWord
        The sentence and the word hidden in the pass.
    logits : torch.Tensor
        ``[len(masked.positions), vocabulary]``: the logits at the masked positions, in order
        (:func:`only_positions` makes the model compute only these); or ``[n, vocabulary]``
        for every position, from which the masked ones are taken.
    top_k : int
        How many guesses to keep, for the word's first piece.
    heads_off : tuple of (int, int)
        The heads that were off during the pass, to record.

    Returns
    -------
    Prediction

    Examples
    --------
    >>> masked = mask_word(model, tokenizer, "El perro ladra.", "perro")
    >>> logits = model(**model_inputs(model, masked.ids, None)).logits[0]
    >>> masked_prediction(tokenizer, masked, logits).word
    'perro'
    """
    import torch

    top_k = _check_top_k(top_k, len(tokenizer))
    positions = list(masked.positions)
    if logits.shape[0] != len(positions):
        logits = logits[positions]
    # float64 so that a product of several small piece probabilities keeps its digits.
    log_probs = torch.log_softmax(logits.detach().double(), dim=-1)
    piece_log_probs = log_probs[torch.arange(len(positions)), list(masked.piece_ids)]
    log_probability = float(piece_log_probs.sum())
    return Prediction(
        text=masked.text,
        word=masked.word,
        word_index=masked.word_index,
        pieces=tuple(masked.encoded.tokens[p] for p in positions),
        top=_top(tokenizer, log_probs[0], top_k),
        probability=math.exp(log_probability),
        log_probability=log_probability,
        piece_probabilities=tuple(math.exp(float(v)) for v in piece_log_probs),
        heads_off=tuple(heads_off),
    )


@contextlib.contextmanager
def only_positions(model: Any, positions: Sequence[int] | None) -> Iterator[None]:
    """While active, the base model hands the model's head only the hidden states at ``positions``.

    The masked-LM head then computes ``len(positions)`` rows of logits instead of ``n``: at
    BETO's size the head (768 x 31 002 per token) is a fifth of a pass's work, and at n = 64 and
    16 rows its logits would take 127 MB.  A head that does not take the base model's first
    output gets every position (:func:`masked_prediction` then picks the masked ones itself).
    Nothing changes for ``positions=None`` or a model without a head on top.

    Examples
    --------
    >>> with only_positions(model, (4, 5)):
    ...     model(**inputs).logits.shape
    torch.Size([1, 2, 31002])
    """
    base = getattr(model, "base_model", model)
    if positions is None or base is model:
        yield
        return
    kept = list(positions)

    def keep_positions(_module: Any, _inputs: Any, output: Any) -> Any:
        if isinstance(output, tuple):
            return (output[0][:, kept], *output[1:])
        first = next(iter(output.keys()), None)
        if first is not None:
            output[first] = output[first][:, kept]
        return output

    handle = base.register_forward_hook(keep_positions)
    try:
        yield
    finally:
        handle.remove()


def mean_over(hidden: Any, keep: Sequence[bool]) -> np.ndarray:
    """``[rows, dim]`` float64: each row's mean of ``hidden[row, i]`` over the positions ``keep[i]``.

    Examples
    --------
    >>> mean_over(torch.ones(2, 3, 4), [False, True, True]).shape
    (2, 4)
    """
    import torch

    weights = torch.tensor(keep, dtype=torch.float64, device=hidden.device)
    summed = torch.einsum("rnd,n->rd", hidden.double(), weights)
    return (summed / weights.sum()).cpu().numpy()


def sentence_vector(
    model: Any, tokenizer: Any, text: str, *, heads_off: Heads = (), include_special: bool = False
) -> np.ndarray:
    """The sentence's vector: the mean of the last hidden states over its tokens, in ONE forward pass.

    all-MiniLM-L6-v2's sentence embedding is such a mean (mean pooling; its final L2
    normalisation does not change :func:`vector_change`).  By default the special tokens ([CLS],
    [SEP]) are left out, so that it is a mean over the sentence's own words;
    ``include_special=True`` averages over every token, exactly as MiniLM's model card
    (``mean_pooling`` over the attention mask) and sentence-transformers do.

    Parameters
    ----------
    model, tokenizer
        Any model of a family attnviz knows (with or without a head on top) and its tokenizer.
    text : str
        The sentence.
    heads_off : iterable of (int, int), or str
        Heads switched off during the pass (:func:`~attnviz.core.knockout.switch_off`).
    include_special : bool
        Average over the special tokens too.

    Returns
    -------
    numpy.ndarray
        float64 ``[hidden]``.

    Examples
    --------
    >>> sentence_vector(model, tokenizer, "The cat sleeps.", heads_off="0:*").shape
    (384,)
    """
    import torch

    check_model_and_tokenizer(model, tokenizer)
    encoded = encode_readable(model, tokenizer, clean_text(text))
    base = getattr(model, "base_model", model)
    with knocked_out(model, heads_off), torch.inference_mode():
        hidden = base(**model_inputs(base, encoded.ids, encoded.type_ids))[0]
    keep = [True] * len(encoded.ids) if include_special else [not s for s in encoded.special]
    return mean_over(hidden, keep)[0]


def vector_change(a: Any, b: Any) -> float:
    """``1 − cos(a, b)``: 0 for vectors pointing the same way, up to 2 for opposite ones.

    A zero vector has no direction: against another zero vector the change is 0, else 1.

    Examples
    --------
    >>> vector_change(np.array([1.0, 0.0]), np.array([0.0, 1.0]))
    1.0
    """
    a, b = np.asarray(a, dtype=np.float64).ravel(), np.asarray(b, dtype=np.float64).ravel()
    norms = float(np.linalg.norm(a)) * float(np.linalg.norm(b))
    if norms == 0.0:
        return 0.0 if not (a.any() or b.any()) else 1.0
    return float(1.0 - np.dot(a, b) / norms)


def predict_next(
    model: Any, tokenizer: Any, text: str, *, top_k: int = 5, heads_off: Heads = ()
) -> NextTokenPrediction:
    """The likeliest next tokens after ``text``, for a causal model with its LM head (GPT-2).

    Parameters
    ----------
    model, tokenizer
        E.g. ``GPT2LMHeadModel`` and its tokenizer.
    text : str
        The beginning of the sentence.
    top_k : int
        How many tokens to return.
    heads_off : iterable of (int, int), or str
        Heads switched off during the pass.

    Returns
    -------
    NextTokenPrediction

    Raises
    ------
    MeasureUnavailableError
        The model does not predict the next token (BERT-like, or GPT-2 without its LM head).

    Examples
    --------
    >>> predict_next(gpt2, tokenizer, "The dog chased the", heads_off=[(0, 1)]).top[0]
    (' cat', 0.12)
    """
    import torch

    check_model_and_tokenizer(model, tokenizer)
    if not is_causal_lm(model):
        raise MeasureUnavailableError(
            "predict_next necesita un modelo que prediga el token siguiente con su cabeza de lenguaje "
            "(como GPT2LMHeadModel); para uno como BERT usa predict_masked.",
            "predict_next needs a model that predicts the next token with its language-model head "
            "(like GPT2LMHeadModel); for one like BERT use predict_masked.",
        )
    top_k = _check_top_k(top_k, len(tokenizer))
    encoded = encode_readable(model, tokenizer, clean_text(text))
    # After the last token of the text itself, not after an end token the tokenizer may add.
    last = max(i for i, special in enumerate(encoded.special) if not special)
    with knocked_out(model, heads_off) as pairs, torch.inference_mode():
        logits = model(**model_inputs(model, encoded.ids[: last + 1], None)).logits
    log_probs = torch.log_softmax(logits[0, -1].double(), dim=-1)
    return NextTokenPrediction(text=clean_text(text), top=_top(tokenizer, log_probs, top_k), heads_off=pairs)
