"""Does the head that looks matter?  Attention from one word to another, head by head, beside importance.

:func:`word_attention` reads, for every layer and head, how much one word (the masked verb)
attends to another (its subject); :func:`compare_heads` sets that grid beside the importance grid
(:func:`~attnviz.core.importance.head_importance`) and names the heads where the two agree and
where they disagree most.  Attention is a hypothesis about what a head does; switching it off
is one way to check it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from .errors import InvalidInputTypeError
from .extraction import extract
from .importance import HeadImportance, head_importance
from .prediction import find_word, has_masked_lm_head
from .result import AttentionResult

Head = tuple[int, int]


@dataclass(frozen=True, eq=False)
class WordAttention:
    """``values[layer, head]``: how much ``source`` attends to ``target`` in that head.

    At word level (a word given as text, or the masked word) attention to a word is the sum
    over its pieces and attention from a word the mean over its pieces, as in
    :func:`attnviz.to_words`; with token indices it is the result's own cell.
    """

    values: np.ndarray
    source: str
    target: str
    #: Indices of the two among the tokens (``level="token"``) or the words (``"word"``).
    source_index: int
    target_index: int
    level: Literal["token", "word"]
    #: What the values are: ``"peso"`` or ``"contribucion"`` (the result's measure).
    measure: str
    #: The source is the word hidden by ``extract(..., mask=...)``: ``hidden`` is that word's
    #: text (``source`` is the mask token the pass read); None otherwise.
    hidden: str | None = None

    def __post_init__(self) -> None:
        self.values.flags.writeable = False


def _position(result: AttentionResult, value: object, word_level: bool) -> int:
    """A word's index (word level) or a token's, from its text or its index in ``result.tokens``."""
    if isinstance(value, str):
        return find_word(result, value)
    index = result.check_token(value)
    return result.word_ids[index] if word_level else index


def word_attention(
    result: AttentionResult, target: str | int, source: str | int | None = None
) -> WordAttention:
    """How much ``source`` attends to ``target`` in every layer and head.

    Parameters
    ----------
    result : AttentionResult
        From :func:`attnviz.extract` (with ``mask=...``, the masked word is the default source).
    target : str or int
        The word looked at (e.g. the verb's subject): its text, first occurrence and exact
        case (the words are ``result.words``), or a token index (``result.tokens``, from 0).
    source : str or int, optional
        The word that looks, likewise; by default the word hidden by ``mask=``.  A word given as
        text (or the default) works at word level: pieces merged as in :func:`attnviz.to_words`.

    Returns
    -------
    WordAttention

    Raises
    ------
    InvalidInputTypeError
        No source and no masked word to default to.
    InvalidTextError, IndexOutOfRangeError
        A word not in the sentence, an index out of range.

    Examples
    --------
    >>> text = "Los perros que persiguieron al gato cruzaron la calle."
    >>> result = attnviz.extract(model, tokenizer, text, mask="cruzaron")
    >>> word_attention(result, "perros").values.shape
    (12, 12)
    """
    if source is None:
        if result.prediction is None:
            raise InvalidInputTypeError(
                "Di desde qué palabra se mira (source=...), o extrae la frase con una palabra tapada "
                '(extract(..., mask="palabra")) para que sea esa.',
                "Say which word looks (source=...), or extract the sentence with a masked word "
                '(extract(..., mask="word")) to use that one.',
            )
        source = result.prediction.word_index
        if result.level == "token":
            # The word index as the first piece's token index: _position maps it back to the word.
            source = result.word_ids.index(source)
        word_level = True
    else:
        word_level = isinstance(source, str) or isinstance(target, str)
    word_level = word_level and result.level == "token"
    source_index = _position(result, source, word_level)
    target_index = _position(result, target, word_level)
    if word_level:
        ids = np.asarray(result.word_ids)
        rows, columns = np.flatnonzero(ids == source_index), np.flatnonzero(ids == target_index)
        # To a word: the sum over its pieces; from a word: the mean over its pieces.
        values = result.attention[:, :, rows][:, :, :, columns].astype(np.float64).sum(-1).mean(-1)
        names = result.words
    else:
        values = result.attention[:, :, source_index, target_index].astype(np.float64)
        names = result.tokens
    # The source's word, to tell whether it is the hidden one (a token index goes to its word).
    source_word = source_index if word_level or result.level == "word" else result.word_ids[source_index]
    hidden = (
        result.prediction.word if result.prediction and source_word == result.prediction.word_index else None
    )
    return WordAttention(
        values=np.ascontiguousarray(values),
        source=names[source_index],
        target=names[target_index],
        source_index=source_index,
        target_index=target_index,
        level="word" if word_level or result.level == "word" else "token",
        measure=result.measure,
        hidden=hidden,
    )


def strongest_target(result: AttentionResult, source: int) -> int:
    """The token ``source`` attends to most, on average over every layer and head.

    Itself and the special tokens ([CLS], [SEP]: where heads park their attention) are left
    out, unless nothing else is left.

    Parameters
    ----------
    result : AttentionResult
    source : int
        A token index (``result.tokens``).

    Returns
    -------
    int
        A token index.

    Examples
    --------
    >>> result.tokens[strongest_target(result, 4)]
    'perro'
    """
    source = result.check_token(source)
    mean = result.attention[:, :, source].astype(np.float64).mean(axis=(0, 1))
    candidates = [j for j in range(result.n_tokens) if j != source and not result.special[j]]
    if not candidates:
        return int(np.argmax(mean))
    return max(candidates, key=lambda j: float(mean[j]))


@dataclass(frozen=True)
class HeadAgreement:
    """Where the importance grid and the attention grid agree and disagree.

    Each grid is read as a share of its largest value (importance below 0, a head whose removal
    helps, counts as 0).  ``agree`` is the head whose smaller share is largest (it attends and
    matters); ``disagree`` the one whose two shares differ most, and ``disagree_kind`` says which
    way: ``"mira"`` (it attends a lot and matters little) or ``"importa"`` (it matters a lot and
    attends little).  ``spearman`` is the rank correlation of the two grids.
    """

    most_important: Head
    most_attending: Head
    agree: Head
    disagree: Head
    disagree_kind: Literal["mira", "importa"]
    spearman: float

    @property
    def same_head(self) -> bool:
        """True when the head that attends most is the one that matters most."""
        return self.most_important == self.most_attending


def _ranks(values: np.ndarray) -> np.ndarray:
    """Each value's rank from 0 (smallest) to 1 (largest); ties share their mean rank (for Spearman)."""
    flat = values.ravel()
    ranks = np.empty(flat.size, dtype=np.float64)
    ranks[np.argsort(flat, kind="stable")] = np.arange(flat.size, dtype=np.float64)
    _, inverse, counts = np.unique(flat, return_inverse=True, return_counts=True)
    ranks = np.bincount(inverse, weights=ranks)[inverse] / counts[inverse]
    return (ranks / max(flat.size - 1, 1)).reshape(values.shape)


def compare_heads(
    importance: HeadImportance | np.ndarray, attention: WordAttention | np.ndarray
) -> HeadAgreement:
    """Name the heads where importance and attention agree and disagree most.

    Parameters
    ----------
    importance : HeadImportance or ndarray
        ``[layers, heads]``: how much each head matters (:func:`attnviz.head_importance`).
    attention : WordAttention or ndarray
        ``[layers, heads]``: how much each head attends from one word to another
        (:func:`word_attention`), from the same sentence and model.

    Returns
    -------
    HeadAgreement

    Raises
    ------
    InvalidInputTypeError
        The two grids do not have the same shape (another model).

    Examples
    --------
    >>> importance = head_importance(model, tokenizer, text, "cruzaron")
    >>> agreement = compare_heads(importance, word_attention(result, "perros"))
    >>> agreement.same_head
    False
    """
    imp = np.asarray(getattr(importance, "values", importance), dtype=np.float64)
    att = np.asarray(getattr(attention, "values", attention), dtype=np.float64)
    if imp.shape != att.shape or imp.ndim != 2:
        raise InvalidInputTypeError(
            f"Las dos rejillas deben ser del mismo modelo (capas × cabezas): una es {imp.shape} y la otra "
            f"{att.shape}.",
            f"The two grids must come from the same model (layers x heads): one is {imp.shape} and the "
            f"other {att.shape}.",
        )
    share_imp = _shares(np.clip(imp, 0.0, None))
    share_att = _shares(np.clip(att, 0.0, None))

    def head(index: np.intp) -> Head:
        layer, column = np.unravel_index(int(index), imp.shape)
        return int(layer), int(column)

    gap = share_att - share_imp
    disagree = np.argmax(np.abs(gap))
    rank_imp, rank_att = _ranks(imp), _ranks(att)
    centred_imp, centred_att = rank_imp - rank_imp.mean(), rank_att - rank_att.mean()
    norms = float(np.linalg.norm(centred_imp) * np.linalg.norm(centred_att))
    return HeadAgreement(
        most_important=head(np.argmax(imp)),
        most_attending=head(np.argmax(att)),
        agree=head(np.argmax(np.minimum(share_imp, share_att))),
        disagree=head(disagree),
        disagree_kind="mira" if gap.ravel()[disagree] > 0 else "importa",
        spearman=float((centred_imp * centred_att).sum() / norms) if norms > 0 else 0.0,
    )


def _shares(values: np.ndarray) -> np.ndarray:
    """``values`` over their largest one (all 0 when none is above 0)."""
    top = float(values.max())
    return values / top if top > 0 else np.zeros_like(values)


@dataclass(frozen=True, eq=False)
class AgreementExperiment:
    """Subject-verb agreement, checked two ways: what the model guesses, and which heads it needs.

    ``right`` and ``wrong`` are the probabilities of the verb form that agrees with the subject and
    of the one that does not, each hidden whole at the same place (None for a model without a
    masked-word head); ``importance`` switches each head off alone; ``attention`` is how much the
    hidden verb attends to its subject; ``agreement`` compares the two grids.
    """

    model_name: str
    text: str
    verb: str
    other_form: str
    subject: str
    result: AttentionResult
    right: float | None
    wrong: float | None
    importance: HeadImportance
    attention: WordAttention
    agreement: HeadAgreement

    @property
    def source(self) -> str | None:
        """The word the attention grid starts from: None (the hidden verb) or the verb as written."""
        return None if self.result.prediction is not None else self.verb

    def summary(self) -> str:
        """What the run shows, in Spanish, with the model it ran on."""

        def name(head: Head) -> str:
            return f"la cabeza {head[1]} de la capa {head[0]}"

        with_model = f"Con {self.model_name}"
        a = self.agreement
        same = (
            "es la misma"
            if a.same_head
            else f"no es la misma (la correlación de rangos entre las dos rejillas es {a.spearman:.2f})"
        )
        heads = (
            f"La que más mira de «{self.verb}» a «{self.subject}» es {name(a.most_attending)}; la que más "
            f"importa para {self.importance.measure} es {name(a.most_important)}: {same}."
        )
        if self.right is None or self.wrong is None:
            return (
                f"{with_model}, esta parte no puede medir la concordancia: el modelo no adivina palabras "
                f"tapadas (hace falta BETO). Lo que sí se mide: {self.importance.measure} al apagar cada "
                f"cabeza. {heads}"
            )
        better = "prefiere" if self.right > self.wrong else "no prefiere"
        return (
            f"{with_model}, en «{self.text}» el modelo {better} la forma que concuerda con el sujeto: "
            f"P(«{self.verb}») = {_probability(self.right)} frente a "
            f"P(«{self.other_form}») = {_probability(self.wrong)}. "
            f"{heads}"
        )


def agreement_experiment(
    model: Any,
    tokenizer: Any,
    text: str,
    verb: str,
    other_form: str,
    subject: str,
    *,
    progress: bool = True,
) -> AgreementExperiment:
    """Hide the verb, compare its two forms, see which heads matter and which look at the subject.

    With a masked-word head (BETO): two passes for the two forms, then :func:`head_importance`
    (the right form's log-probability drop per head).  Without one (the offline MiniLM) the
    forms are not compared and importance is the sentence vector's change.

    Parameters
    ----------
    model, tokenizer
        What :func:`attnviz.load_model` returns.
    text : str
        The sentence, with the verb in the form that agrees (e.g. «Los perros que persiguieron al
        gato cruzaron la calle.»).
    verb, other_form : str
        The verb as written («cruzaron») and the form that does not agree («cruzó»).
    subject : str
        The verb's subject («perros»).

    Returns
    -------
    AgreementExperiment

    Examples
    --------
    >>> exp = attnviz.agreement_experiment(model, tokenizer, frase, "cruzaron", "cruzó", "perros")
    >>> print(exp.summary())
    """
    masked_lm = has_masked_lm_head(model, tokenizer)
    wrong_text = _replace_word(text, verb, other_form)
    right: float | None = None
    wrong: float | None = None
    if masked_lm:
        result = extract(model, tokenizer, text, mask=verb)
        assert result.prediction is not None
        wrong_result = extract(model, tokenizer, wrong_text, mask=other_form)
        assert wrong_result.prediction is not None
        right, wrong = result.prediction.probability, wrong_result.prediction.probability
        attention = word_attention(result, subject)
    else:
        result = extract(model, tokenizer, text)
        attention = word_attention(result, subject, verb)
    importance = head_importance(model, tokenizer, text, verb if masked_lm else None, progress=progress)
    return AgreementExperiment(
        model_name=result.model_name,
        text=result.text,
        verb=verb,
        other_form=other_form,
        subject=subject,
        result=result,
        right=right,
        wrong=wrong,
        importance=importance,
        attention=attention,
        agreement=compare_heads(importance, attention),
    )


def _replace_word(text: str, word: str, other: str) -> str:
    """``text`` with the first whole-word ``word`` replaced by ``other`` (a Spanish error if absent)."""
    replaced, count = re.subn(rf"(?<!\w){re.escape(word)}(?!\w)", other, text, count=1)
    if not count:
        raise InvalidInputTypeError(
            f"«{word}» no está en la frase como palabra: escribe el verbo tal como aparece en ella.",
            f"{word!r} is not a word of the sentence: write the verb as it appears in it.",
        )
    return replaced


def _probability(p: float) -> str:
    """A percentage, or scientific notation when it would round to 0.0%."""
    return f"{p:.1%}" if p >= 0.0005 else f"{p:.1e}"
