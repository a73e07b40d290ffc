"""Attention heads measured against the grammar (Clark et al. 2019, "What does BERT look at?", §4.2).

A head predicts, for each word, the word it attends to most, special tokens and the word itself left
out (as in Clark et al.'s code), in two directions: ``dep`` (the dependent's pick is its governor) and
``gov`` (the governor's view: of all the words, the governor is the one that attends most to the
dependent).  :class:`RelationInstances` keeps one row per dependency, so that any subset of sentences
can be scored (:mod:`attnviz.syntax.heldout` chooses on one half and measures on the other).

:func:`relation_scores`, :func:`syntax_profile` and :func:`pos_matrix` work at word level
(:func:`attnviz.to_words`: attention TO a word is the sum over its pieces, FROM a word the mean)
and take one sentence or many: a result, a ``(result, annotation)`` pair, or an iterable (a
generator too) of either; results without annotation are parsed with :func:`attnviz.syntax.parse`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from ..core.result import AttentionResult
from ..core.words import to_words
from .parsing import DEPREL_NAMES_ES, POS_NAMES_ES, UPOS_TAGS, SyntaxAnnotation, parse

#: The relations Clark et al. report, and those a student meets first in Spanish.
DEFAULT_RELATIONS: tuple[str, ...] = (
    "det",
    "nsubj",
    "obj",
    "amod",
    "case",
    "nmod",
    "obl",
    "advmod",
    "aux",
    "cop",
    "mark",
    "cc",
    "conj",
    "acl",
)

Direction = Literal["dep", "gov"]
Item = AttentionResult | tuple[AttentionResult, SyntaxAnnotation]
Data = Item | Iterable[Item]

#: Two weights closer than this (relative) are a tie; ties share the credit, as a random pick does on average.
_TIE_RTOL = 1e-5
_OTHER_MODEL = "all results must come from the same model (same layers and heads)"


def iter_pairs(data: Data, nlp: Any = None) -> Iterator[tuple[AttentionResult, SyntaxAnnotation]]:
    """``(word-level result, annotation)`` for each sentence of ``data``, parsing results without one."""
    is_pair = isinstance(data, tuple) and len(data) == 2 and isinstance(data[1], SyntaxAnnotation)
    items: Iterable[Any] = [data] if isinstance(data, AttentionResult) or is_pair else data
    for item in items:
        result, annotation = (item, parse(item, nlp)) if isinstance(item, AttentionResult) else item
        words = to_words(result)
        if annotation.words != tuple(words.words):
            raise ValueError(
                f"the annotation's {annotation.n_words} words are not the result's {words.n_tokens}: "
                "annotate the same result"
            )
        yield words, annotation


def _ties(att: np.ndarray, excluded: np.ndarray) -> np.ndarray:
    """Each column's credit as its row's most-attended allowed word; ``m`` tied get ``1 / m`` each.

    ``excluded[i, j]`` is True when word ``j`` cannot be row ``i``'s pick (a special token, or ``i`` itself).
    A row with nothing allowed gives no credit.
    """
    masked = np.where(excluded, -np.inf, att)
    top = masked.max(axis=-1, keepdims=True)
    tied = (masked >= top - _TIE_RTOL * np.abs(top)) & ~excluded
    return tied / np.maximum(tied.sum(axis=-1, keepdims=True), 1)


@dataclass(frozen=True)
class BestHead:
    """The best head for one relation in one direction."""

    relation: str
    direction: Direction  # "dep": dependent -> governor; "gov": the governor's view (attention transposed)
    layer: int
    head: int
    accuracy: float
    count: int
    baseline: float
    offset: int  # the fixed-offset baseline's relative position


@dataclass(frozen=True, eq=False)  # arrays have no single truth value
class RelationScores:
    """Accuracy of every head at finding each relation's governor, in both directions.

    * ``dep_to_gov[r, layer, head]``: share of the ``count[r]`` dependents of relation ``relations[r]``
      whose most-attended word is their governor (dependent → governor).
    * ``gov_to_dep[r, layer, head]``: share of those dependents whose governor is, of all the words,
      the one that attends to them most (the governor's view: Clark et al.'s attention transposed).
    * ``baseline[r]``: accuracy of always predicting the most common relative position ``offset[r]``
      (in words, governor minus dependent) for that relation.

    Special tokens are never a word's pick, nor the word itself unless ``include_self``.  NaN where
    a relation never occurs.  See :class:`RelationInstances` for the rules.
    """

    relations: tuple[str, ...]
    dep_to_gov: np.ndarray
    gov_to_dep: np.ndarray
    count: tuple[int, ...]
    baseline: tuple[float, ...]
    offset: tuple[int, ...]
    n_sentences: int
    include_self: bool = False

    def best(self, direction: Direction | Literal["both"] = "both") -> tuple[BestHead, ...]:
        """The best head for each relation that occurs (``"both"``: the better direction, ``dep`` on ties)."""
        directions: tuple[Direction, ...] = ("dep", "gov") if direction == "both" else (direction,)
        rows = []
        for r in range(len(self.relations)):
            found = [c for d in directions if (c := self._best_in(r, d)) is not None]
            if found:
                rows.append(max(found, key=lambda c: c.accuracy))
        return tuple(rows)

    def _best_in(self, r: int, direction: Direction) -> BestHead | None:
        scores = self.dep_to_gov if direction == "dep" else self.gov_to_dep
        if self.count[r] == 0:
            return None
        layer, head = (int(i) for i in np.unravel_index(int(np.nanargmax(scores[r])), scores[r].shape))
        accuracy = float(scores[r, layer, head])
        relation, count, baseline, offset = (
            self.relations[r],
            self.count[r],
            self.baseline[r],
            self.offset[r],
        )
        return BestHead(relation, direction, layer, head, accuracy, count, baseline, offset)


@dataclass(frozen=True, eq=False)
class RelationInstances:
    """Every scored dependency of some sentences, one row each, with what every head made of it.

    The scoring is Clark et al.'s (2019, §4.2; their code, ``Syntax_Analysis.ipynb``): a head
    *predicts* for each word the other word it attends to most, at word level, in two directions:

    * ``dep`` (dependent → governor): the word that the dependent attends to most is its governor;
    * ``gov`` (the governor's view, their «head<-dep»: the attention matrix transposed): of all the
      words, the one that attends most to the dependent is its governor.

    ``[CLS]``/``[SEP]`` and other special tokens are never a prediction, and neither is the word itself
    (their code sets the diagonal to zero before the argmax): without that rule a head that mostly
    looks at each word itself would be scored on its second choice by accident.  ``include_self=True``
    keeps the word itself as a possible (always wrong) prediction, as attnviz did before.  Both
    directions score each dependent once, so they share the count and the fixed-offset baseline.
    Ties share the credit (``m`` tied words get ``1 / m`` each), as a random tie-break does on average.

    Attributes
    ----------
    relations : tuple of str
        The base UD relations scored; ``relation`` indexes it.
    relation, sentence, dependent, governor, offset : ndarray of int, shape (n,)
        Each dependency's relation, sentence (in the order given), words, and ``governor - dependent``.
    choices : ndarray of int, shape (n,)
        How many words a head could predict for that dependent (``1 / choices`` is a random head's chance).
    dep_hits, gov_hits : ndarray of float, shape (n, layers, heads)
        Credit of every head in each direction: 1 when right, 0 when wrong, ``1 / m`` on an ``m``-way tie.
    n_sentences : int
    model_name : str
    source : str
        Where the annotation comes from (``"UD Spanish GSD 2.15 (test, ≤ 25 palabras)"``, a spaCy version...).
    include_self : bool
    """

    relations: tuple[str, ...]
    relation: np.ndarray
    sentence: np.ndarray
    dependent: np.ndarray
    governor: np.ndarray
    offset: np.ndarray
    choices: np.ndarray
    dep_hits: np.ndarray
    gov_hits: np.ndarray
    n_sentences: int
    model_name: str = ""
    source: str = ""
    include_self: bool = False

    @property
    def n_layers(self) -> int:
        return int(self.dep_hits.shape[1])

    @property
    def n_heads(self) -> int:
        return int(self.dep_hits.shape[2])

    def rows(self, sentences: np.ndarray | None = None) -> np.ndarray:
        """Boolean mask of the dependencies whose sentence is in ``sentences`` (a mask over sentences)."""
        if sentences is None:
            return np.ones(len(self.relation), dtype=bool)
        keep = np.asarray(sentences, dtype=bool)
        if keep.shape != (self.n_sentences,):
            raise ValueError(f"sentences must be one boolean per sentence ({self.n_sentences})")
        return keep[self.sentence]

    def scores(self, sentences: np.ndarray | None = None) -> RelationScores:
        """Every head's accuracy, over all sentences or those where ``sentences`` (a mask) is True.

        Examples
        --------
        >>> instances.scores(np.arange(instances.n_sentences) % 2 == 0).best()  # doctest: +SKIP
        """
        rows = self.rows(sentences)
        n_relations = len(self.relations)
        count = np.bincount(self.relation[rows], minlength=n_relations)
        shape = (n_relations, self.n_layers, self.n_heads)
        dep_sum, gov_sum = np.zeros(shape), np.zeros(shape)
        np.add.at(dep_sum, self.relation[rows], self.dep_hits[rows])
        np.add.at(gov_sum, self.relation[rows], self.gov_hits[rows])
        with np.errstate(invalid="ignore", divide="ignore"):
            dep_to_gov = dep_sum / count[:, None, None]
            gov_to_dep = gov_sum / count[:, None, None]
        best = [fixed_offset(self.offset[rows & (self.relation == r)]) for r in range(n_relations)]
        return RelationScores(
            relations=self.relations,
            dep_to_gov=dep_to_gov,
            gov_to_dep=gov_to_dep,
            count=tuple(int(c) for c in count),
            baseline=tuple(accuracy for _, accuracy in best),
            offset=tuple(offset for offset, _ in best),
            n_sentences=self.n_sentences if sentences is None else int(np.count_nonzero(sentences)),
            include_self=self.include_self,
        )


def fixed_offset(offsets: np.ndarray) -> tuple[int, float]:
    """The most common relative position among ``offsets`` and its accuracy (the nearer one on a tie).

    The fixed-offset baseline of Clark et al.: always predict the word ``offset`` places away.

    Examples
    --------
    >>> fixed_offset(np.array([1, 1, 2, -1]))
    (1, 0.5)
    """
    counted = Counter(int(o) for o in np.asarray(offsets).ravel())
    offset, hits = max(counted.items(), key=lambda kv: (kv[1], -abs(kv[0]), kv[0]), default=(0, 0))
    return offset, (hits / len(offsets) if len(offsets) else float("nan"))


def relation_instances(
    data: Data, *, relations: Iterable[str] = DEFAULT_RELATIONS, nlp: Any = None, include_self: bool = False
) -> RelationInstances:
    """Score every head on every dependency of ``data``, one row per dependency (:class:`RelationInstances`).

    Parameters
    ----------
    data
        A result, a ``(result, annotation)`` pair, or an iterable of either.
    relations
        Base UD relations to score.
    nlp
        spaCy pipeline for results given without annotation (default: :func:`attnviz.syntax.load_parser`).
    include_self
        Let a word predict itself (always wrong); Clark et al. leave it out, and so does the default.

    Returns
    -------
    RelationInstances

    Examples
    --------
    >>> instances = relation_instances(gsd_results(model, tokenizer))  # doctest: +SKIP
    >>> instances.scores().best()  # doctest: +SKIP
    """
    relations = tuple(relations)
    index = {rel: r for r, rel in enumerate(relations)}
    rows: list[tuple[int, int, int, int, int]] = []  # relation, sentence, dependent, governor, choices
    dep_hits: list[np.ndarray] = []
    gov_hits: list[np.ndarray] = []
    shape: tuple[int, int] | None = None
    names: set[str] = set()
    sources: set[str] = set()
    n_sentences = 0
    for words, annotation in iter_pairs(data, nlp):
        if shape is None:
            shape = (words.n_layers, words.n_heads)
        elif (words.n_layers, words.n_heads) != shape:
            raise ValueError(_OTHER_MODEL)
        names.add(words.model_name)
        sources.add(annotation.parser)
        special = np.asarray(words.special, dtype=bool)
        excluded = np.repeat(special[None, :], len(special), axis=0)
        if not include_self:
            np.fill_diagonal(excluded, True)
        n_choices = int((~special).sum()) - (0 if include_self else 1)
        edges = annotation.edges(index)
        if edges:
            att = np.asarray(words.attention, dtype=np.float64)
            dep = np.array([e.dependent for e in edges])
            gov = np.array([e.governor for e in edges])
            # [layers, heads, edges] -> [edges, layers, heads]
            dep_hits.append(np.moveaxis(_ties(att, excluded)[:, :, dep, gov], -1, 0))
            gov_hits.append(np.moveaxis(_ties(att.swapaxes(-1, -2), excluded)[:, :, dep, gov], -1, 0))
            rows += [(index[e.relation], n_sentences, e.dependent, e.governor, n_choices) for e in edges]
        n_sentences += 1
    if shape is None:
        raise ValueError("no sentences to score")
    relation, sentence, dependent, governor, choices = np.array(rows, dtype=np.int64).reshape(-1, 5).T
    empty = np.zeros((0, *shape))
    return RelationInstances(
        relations=relations,
        relation=relation,
        sentence=sentence,
        dependent=dependent,
        governor=governor,
        offset=governor - dependent,
        choices=choices,
        dep_hits=np.concatenate(dep_hits) if dep_hits else empty,
        gov_hits=np.concatenate(gov_hits) if gov_hits else empty,
        n_sentences=n_sentences,
        model_name=" / ".join(sorted(names)),
        source=" / ".join(sorted(sources)),
        include_self=include_self,
    )


def relation_scores(
    data: Data, *, relations: Iterable[str] = DEFAULT_RELATIONS, nlp: Any = None, include_self: bool = False
) -> RelationScores:
    """Score every head on each relation, over one sentence or many (Clark et al. 2019, §4.2).

    The head is chosen and scored on the same sentences: with many heads and few sentences, the best
    score flatters (see :func:`attnviz.syntax.held_out_scores` for the held-out measure).

    Parameters
    ----------
    data, relations, nlp, include_self
        As in :func:`relation_instances`.

    Returns
    -------
    RelationScores

    Examples
    --------
    >>> print(relation_table(relation_scores(attnviz.extract(model, tokenizer, "El perro ladra."))))
    """
    return relation_instances(data, relations=relations, nlp=nlp, include_self=include_self).scores()


#: How the tables name each direction.
DIRECTION_NAMES_ES: dict[str, str] = {"dep": "dep → núcleo", "gov": "núcleo → dep"}


def relation_table(scores: RelationScores, direction: Direction | Literal["both"] = "both") -> str:
    """The best head per relation as a text table with Spanish headings (for the CLI and notebook)."""
    header = ("relación", "sentido", "capa", "cabeza", "acierto", "casos", "base fija", "desplaz.")
    rows = [
        (
            row.relation,
            DIRECTION_NAMES_ES[row.direction],
            str(row.layer),
            str(row.head),
            f"{row.accuracy:.0%}",
            str(row.count),
            f"{row.baseline:.0%}",
            f"{row.offset:+d}",
        )
        for row in scores.best(direction)
    ]
    lines = text_table(header, rows)
    names = ", ".join(f"{r[0]} = {DEPREL_NAMES_ES[r[0]]}" for r in rows if r[0] in DEPREL_NAMES_ES)
    itself = "contando" if scores.include_self else "sin contar"
    notes = (
        f"{scores.n_sentences} frases · capas y cabezas desde 0 · «dep → núcleo»: la palabra dependiente "
        "atiende sobre todo a su núcleo · «núcleo → dep»: de todas las palabras, su núcleo es la que más la "
        f"atiende · {itself} la propia palabra · «base fija»: acertar siempre con la misma posición "
        "relativa · cabeza elegida y medida en las mismas frases"
    )
    return "\n".join([*lines, "", notes, names])


def text_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    """Lines of a plain text table: left-aligned columns, a dashed rule under the header.

    Examples
    --------
    >>> text_table(("a", "bb"), [("1", "2")])
    ['a  bb', '-  --', '1  2']
    """
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    lines = [
        "  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)).rstrip() for r in [header, *rows]
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return lines


@dataclass(frozen=True, eq=False)
class SyntaxProfile:
    """Where syntax lives, layer by layer.

    ``share[layer]``: share of a word's attention that goes to its governor or its dependents,
    averaged over heads and source words (aligned non-special words with a neighbour).
    ``baseline[layer]``: the same if each head's attention depended only on relative position
    (its mean attention at each offset, summed over the offsets of the word's neighbours).
    ``head_share`` / ``head_baseline`` are the ``[layers, heads]`` values.
    """

    share: np.ndarray
    baseline: np.ndarray
    head_share: np.ndarray
    head_baseline: np.ndarray
    n_words: int
    n_sentences: int


def syntax_profile(data: Data, *, nlp: Any = None) -> SyntaxProfile:
    """Share of attention to syntactic neighbours per layer, with its position-matched chance level.

    Parameters
    ----------
    data
        A result, a ``(result, annotation)`` pair, or an iterable of either.
    nlp
        spaCy pipeline for results given without annotation.

    Returns
    -------
    SyntaxProfile

    Examples
    --------
    >>> plot_syntax_profile(syntax_profile(pairs))
    """
    share_sum = np.zeros(0)
    offset_sum: dict[int, np.ndarray] = {}
    offset_count: Counter[int] = Counter()
    neighbour_offsets: Counter[int] = Counter()
    n_words = n_sentences = 0
    for words, annotation in iter_pairs(data, nlp):
        att = np.asarray(words.attention, dtype=np.float64)
        if n_sentences == 0:
            share_sum = np.zeros((words.n_layers, words.n_heads))
        elif (words.n_layers, words.n_heads) != share_sum.shape:
            raise ValueError(_OTHER_MODEL)
        n_sentences += 1
        neighbours: dict[int, set[int]] = {}
        for dep, gov, _ in annotation.edges():
            neighbours.setdefault(dep, set()).add(gov)
            neighbours.setdefault(gov, set()).add(dep)
        targets = np.flatnonzero(~np.asarray(words.special, dtype=bool))
        for i, near in neighbours.items():  # only aligned words, so never a special token
            n_words += 1
            share_sum += att[:, :, i, sorted(near)].sum(axis=-1)
            neighbour_offsets.update(j - i for j in near)
            for j in targets[targets != i].tolist():
                offset_sum[j - i] = offset_sum.get(j - i, 0) + att[:, :, i, j]
                offset_count[j - i] += 1
    if n_words == 0:
        raise ValueError("no word with a syntactic neighbour to measure")
    baseline_sum = sum(
        (hits * offset_sum[o] / offset_count[o] for o, hits in neighbour_offsets.items()),
        np.zeros_like(share_sum),
    )
    head_share = share_sum / n_words
    head_baseline = baseline_sum / n_words
    return SyntaxProfile(
        share=head_share.mean(axis=1),
        baseline=head_baseline.mean(axis=1),
        head_share=head_share,
        head_baseline=head_baseline,
        n_words=n_words,
        n_sentences=n_sentences,
    )


@dataclass(frozen=True, eq=False)
class PosMatrix:
    """Mean attention between parts of speech.

    ``values[layer, head, a, b]``: for source words tagged ``tags[a]``, the share of each one's attention to
    words (special tokens left out, rows renormalised to 1) that goes to words tagged ``tags[b]``, averaged
    over those source words.  ``counts[a]`` source words; rows with none are NaN.
    """

    tags: tuple[str, ...]
    values: np.ndarray
    counts: tuple[int, ...]
    n_sentences: int

    @property
    def names(self) -> tuple[str, ...]:
        """Spanish names of ``tags`` (sustantivo, verbo...)."""
        return tuple(POS_NAMES_ES.get(t, t) for t in self.tags)

    def matrix(self, layer: int | None = None, head: int | None = None) -> np.ndarray:
        """``[tags, tags]``: one head, a layer's mean over heads, or (``layer=None``) the mean of all."""
        values = self.values if layer is None else self.values[layer : layer + 1]
        if head is not None:
            return values[:, head].mean(axis=0)
        return values.mean(axis=(0, 1))


def pos_matrix(data: Data, *, nlp: Any = None) -> PosMatrix:
    """Attention from each part of speech to each other, per layer and head.

    Parameters
    ----------
    data
        What :func:`syntax_profile` takes (results, annotated pairs, or an iterable of them).
    nlp
        As in :func:`syntax_profile`.

    Returns
    -------
    PosMatrix
        Only the tags that occur, in :data:`attnviz.syntax.UPOS_TAGS` order.

    Examples
    --------
    >>> plot_pos_matrix(pos_matrix(pairs), layer=3)
    """
    n_tags = len(UPOS_TAGS)
    sums = np.zeros(0)
    counts = np.zeros(n_tags, dtype=int)
    seen = np.zeros(n_tags, dtype=bool)
    n_sentences = 0
    for words, annotation in iter_pairs(data, nlp):
        if n_sentences == 0:
            sums = np.zeros((words.n_layers, words.n_heads, n_tags, n_tags))
        elif sums.shape[:2] != (words.n_layers, words.n_heads):
            raise ValueError(_OTHER_MODEL)
        n_sentences += 1
        # Special tokens are never aligned.
        tagged = [i for i, tag in enumerate(annotation.upos) if annotation.aligned[i] and tag in UPOS_TAGS]
        tag_of = [UPOS_TAGS.index(annotation.upos[i]) for i in tagged]
        onehot = np.eye(n_tags)[tag_of]
        seen |= onehot.any(axis=0)
        rows = np.asarray(words.attention, dtype=np.float64)[:, :, :, tagged]
        totals = rows.sum(axis=-1, keepdims=True)
        by_tag = (rows / np.where(totals > 0, totals, 1.0)) @ onehot  # [L, H, n, tags]
        for i, a in zip(tagged, tag_of, strict=True):
            if not annotation.shared[i]:
                sums[:, :, a] += by_tag[:, :, i]
                counts[a] += 1
    if not seen.any():
        raise ValueError("no tagged words to measure")
    keep = np.flatnonzero(seen)
    with np.errstate(invalid="ignore", divide="ignore"):
        values = sums / counts[None, None, :, None]
    return PosMatrix(
        tags=tuple(UPOS_TAGS[k] for k in keep),
        values=values[:, :, keep][:, :, :, keep],
        counts=tuple(int(counts[k]) for k in keep),
        n_sentences=n_sentences,
    )
