"""The tokens stage: text in, what every token is called and which word it belongs to.

:func:`attnviz.extract` and the corpus pass (:mod:`attnviz.core.corpus`) both
start here, so a sentence gets the same tokens and words either way.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import accumulate
from typing import Any

from .errors import InvalidInputTypeError, InvalidTextError

#: C0 and C1 control characters except tab, newline and carriage return.
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_CONTINUATION = "##"
_SPACE_MARKS = ("Ġ", "▁")


def clean_text(text: object, what: str = "texto") -> str:
    """Check the type and drop what no tokenizer can take (lone surrogates, NUL).

    Parameters
    ----------
    text : object
        What the student passed; anything but a ``str`` is an error.
    what : str
        How the Spanish message names it: ``"texto"`` or ``"segundo texto"``.

    Returns
    -------
    str
        The text without lone surrogates and control characters.
    """
    what_en = "text" if what == "texto" else "second text"
    if not isinstance(text, str):
        raise InvalidInputTypeError(
            f"El {what} debe ser una cadena de texto (str), no {type(text).__name__}.",
            f"The {what_en} must be a string (str), not {type(text).__name__}.",
        )
    # Surrogate pairs are joined, lone ones (not encodable to UTF-8) replaced.
    text = text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    # Tokenizers drop control characters anyway; dropping them here keeps them out of the word texts.
    text = _CONTROL.sub("", text)
    if not text.strip():
        raise InvalidTextError(
            f"El {what} está vacío: escribe al menos una palabra.",
            f"The {what_en} is empty: type at least one word.",
        )
    return text


def display_token(token: str) -> str:
    """How a raw token is shown: byte-level BPE's ``Ġ`` and SentencePiece's ``▁`` become spaces."""
    return token.replace("Ġ", " ").replace("▁", " ").replace("Ċ", "\n")


def display_tokens(tokenizer: Any, raw_tokens: Sequence[str]) -> list[str]:
    """The display text of each raw token; byte-level pieces are decoded to text."""
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


def _byte_decoder() -> dict[str, int]:
    # GPT-2's table: printable bytes stand for themselves, the rest for chars from 256 up (space -> Ġ).
    printable = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), 256)]
    others = [b for b in range(256) if b not in printable]
    chars = [*printable, *range(256, 256 + len(others))]
    return {chr(c): b for b, c in zip([*printable, *others], chars, strict=True)}


_BYTE_DECODER = _byte_decoder()


def byte_level_text(token: str) -> str:
    """A byte-level piece as text: ``Ġgato`` -> `` gato``, ``iÃ³`` -> ``ió``.

    A piece holding only part of a multi-byte character shows ``�`` for it.
    """
    if not token or any(ch not in _BYTE_DECODER for ch in token):
        return display_token(token)
    return bytes(_BYTE_DECODER[ch] for ch in token).decode("utf-8", errors="replace")


def group_pieces(tokens: Sequence[str], special: Sequence[bool]) -> list[int]:
    """Word index of each piece from the pieces alone (slow tokenizers).

    A ``##`` piece continues the previous word, as do byte-level pieces that
    do not start with a space marker; special tokens are words of their own.
    """
    word_ids: list[int] = []
    word = -1
    previous_special = True
    byte_level = any(t.startswith(_SPACE_MARKS) for t in tokens)
    for token, is_special in zip(tokens, special, strict=True):
        continues = (
            not is_special
            and not previous_special
            and (token.startswith(_CONTINUATION) or (byte_level and not token.startswith(_SPACE_MARKS)))
        )
        if not continues:
            word += 1
        word_ids.append(word)
        previous_special = is_special
    return word_ids


def words_from_pieces(
    raw_tokens: Sequence[str], tokens: Sequence[str], special: Sequence[bool]
) -> tuple[list[int], list[str]]:
    """Word index of each piece and each word's text, from the pieces alone (slow tokenizers)."""
    word_ids = group_pieces(raw_tokens, special)
    words = [""] * len(set(word_ids))
    for word, token in zip(word_ids, tokens, strict=True):
        words[word] += token.removeprefix(_CONTINUATION)
    return word_ids, words


def words_from_offsets(
    tok_words: Sequence[int | None],
    sequences: Sequence[int | None],
    offsets: Sequence[Sequence[int]],
    tokens: Sequence[str],
    special: Sequence[bool],
    sources: dict[int, str],
) -> tuple[list[int], list[str]]:
    """Word index of each piece and each word's text, from a fast tokenizer's word ids and offsets.

    Pieces of one word of one text share a word; special tokens and pieces in no word are words of their
    own.  A word's text is the stretch of ``sources[sequence]`` its pieces cover (so ``[UNK]`` shows the
    original characters), or its first piece's display text when offsets say nothing.
    """
    word_ids: list[int] = []
    words: list[str] = []
    previous: tuple[int | None, int | None] | None = None
    for i, (word, seq) in enumerate(zip(tok_words, sequences, strict=True)):
        in_word = word is not None and not special[i]
        if not in_word or (seq, word) != previous:
            words.append(tokens[i])
            start = offsets[i][0]
        end = offsets[i][1]
        word_ids.append(len(words) - 1)
        previous = (seq, word) if in_word else None
        if in_word and seq in sources:
            source = sources[seq]
            if 0 <= start < end <= len(source):
                # Byte-level offsets include the leading space; the word label does not.
                words[-1] = source[start:end].strip() or source[start:end]
    return word_ids, words


def segments_of(sequences: Sequence[int | None] | None, type_ids: Sequence[int] | None, n: int) -> list[int]:
    """0 for the first text, 1 for the second; a special token takes the segment before it (0 if none).

    From a fast tokenizer's sequence ids; else from the token type ids; else all 0.
    """
    if sequences is None:
        return [0] * n if type_ids is None else [int(t) for t in type_ids]
    return list(accumulate(sequences, lambda current, seq: current if seq is None else seq, initial=0))[1:]


@dataclass(frozen=True)
class Encoded:
    """One text (or sentence pair) as the model reads it and as attnviz shows it.

    Every tuple has one entry per token, after truncation to the model's limit.
    """

    ids: tuple[int, ...]
    #: None when the tokenizer gives no token type ids.
    type_ids: tuple[int, ...] | None
    #: Display text of each token (``##`` kept, byte-level decoded).
    tokens: tuple[str, ...]
    #: True only for what the tokenizer added ([CLS], [SEP]...), not for a "[SEP]" the text contains.
    special: tuple[bool, ...]
    word_ids: tuple[int, ...]
    words: tuple[str, ...]
    segments: tuple[int, ...]
    #: How many tokens the text has before truncation.
    full_length: int

    @property
    def truncated(self) -> bool:
        return self.full_length > len(self.ids)


def encode(tokenizer: Any, text: str, text_pair: str | None = None, *, limit: int) -> Encoded:
    """Tokenize a cleaned text (see :func:`clean_text`) for a model that takes ``limit`` tokens."""
    fast = bool(getattr(tokenizer, "is_fast", False))
    encoding = tokenizer(
        text,
        text_pair,
        truncation=True,
        max_length=limit,
        return_offsets_mapping=fast,
        return_special_tokens_mask=True,
    )
    ids = [int(i) for i in encoding["input_ids"]]
    special = [bool(flag) for flag in encoding["special_tokens_mask"]]
    raw_tokens = tokenizer.convert_ids_to_tokens(ids)
    tokens = display_tokens(tokenizer, raw_tokens)
    type_ids = encoding.get("token_type_ids")
    if fast:
        sequences = encoding.sequence_ids()
        sources = {0: text, 1: text_pair or ""}
        word_ids, words = words_from_offsets(
            encoding.word_ids(), sequences, encoding["offset_mapping"], tokens, special, sources
        )
    else:
        sequences = None
        word_ids, words = words_from_pieces(raw_tokens, tokens, special)
    return Encoded(
        ids=tuple(ids),
        type_ids=None if type_ids is None else tuple(int(t) for t in type_ids),
        tokens=tuple(tokens),
        special=tuple(special),
        word_ids=tuple(word_ids),
        words=tuple(words),
        segments=tuple(segments_of(sequences, type_ids, len(ids))),
        full_length=len(tokenizer(text, text_pair, truncation=False, verbose=False)["input_ids"]),
    )
