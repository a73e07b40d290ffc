"""Attention heads measured against the grammar (Clark et al. 2019, "What does BERT look at?", §4.2).

Everything works at word level (:func:`attnviz.to_words`: attention TO a
word is the sum over its pieces, FROM a word the mean) and takes one
sentence or many: ``data`` is a result, a ``(result, annotation)`` pair,
or an iterable of either (results are parsed with :func:`attnviz.syntax.parse`).
A generator works, so a corpus can be fed sentence by sentence.

* :func:`relation_scores`: for each relation and head, how often a
  dependent's most-attended word is its governor (and the reverse), against
  the fixed-offset baseline; :meth:`RelationScores.best` and
  :func:`relation_table` give the best head per relation.
* :func:`syntax_profile`: layer by layer, the share of attention that goes
  to a word's syntactic neighbours, against a position-matched chance level.
* :func:`pos_matrix`: mean attention from words of one part of speech to
  words of another.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator
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

#: Two weights closer than this (relative) are a tie; ties share the credit.
_TIE_RTOL = 1e-5


def iter_pairs(data: Data, nlp: Any = None) -> Iterator[tuple[AttentionResult, SyntaxAnnotation]]:
    """``(word-level result, annotation)`` for each sentence of ``data``, parsing results without one."""
    is_pair = (
        isinstance(data, tuple)
        and len(data) == 2
        and isinstance(data[0], AttentionResult)
        and isinstance(data[1], SyntaxAnnotation)
    )
    items: Iterable[Any] = [data] if isinstance(data, AttentionResult) or is_pair else data
    for item in items:
        if isinstance(item, AttentionResult):
            result, annotation = item, parse(item, nlp)
        else:
            result, annotation = item
        words = to_words(result)
        if annotation.words != tuple(words.words):
            raise ValueError(
                f"the annotation's {annotation.n_words} words are not the result's {words.n_tokens}: "
                "annotate the same result"
            )
        yield words, annotation


def _ties(att: np.ndarray, special: np.ndarray) -> np.ndarray:
    """``[..., n, n]`` share of the credit each column gets as a row's most-attended word.

    Special tokens ([CLS], [SEP]) are never predicted; when several words
    share the maximum, each gets ``1 / count`` (the expected score of
    breaking the tie at random).
    """
    masked = np.where(special[None, None, None, :], -np.inf, att)
    top = masked.max(axis=-1, keepdims=True)
    tied = (masked >= top - _TIE_RTOL * np.abs(top)) & ~special[None, None, None, :]
    return tied / np.maximum(tied.sum(axis=-1, keepdims=True), 1)


# --------------------------------------------------------------------------- relations


@dataclass(frozen=True)
class BestHead:
    """The best head for one relation in one direction."""

    relation: str
    direction: Direction  # "dep": dependent -> governor; "gov": governor -> dependent
    layer: int
    head: int
    accuracy: float
    count: int
    baseline: float
    offset: int  # the fixed-offset baseline's relative position


@dataclass(frozen=True, eq=False)  # arrays have no single truth value
class RelationScores:
    """Accuracy of every head at finding each relation's governor or dependent.

    * ``dep_to_gov[r, layer, head]``: share of the dependents of relation
      ``relations[r]`` whose most-attended word (special tokens ignored) is
      their governor; ``dep_count[r]`` dependents were counted.
    * ``gov_to_dep[r, layer, head]``: share of governors (with at least one
      dependent of that relation) whose most-attended word is one of those
      dependents; ``gov_count[r]`` governors.
    * ``dep_baseline`` / ``gov_baseline``: accuracy of always predicting the
      most common relative position (``dep_offset`` / ``gov_offset``, in
      words) for that relation over the same data.

    NaN where a relation never occurs.
    """

    relations: tuple[str, ...]
    dep_to_gov: np.ndarray
    gov_to_dep: np.ndarray
    dep_count: tuple[int, ...]
    gov_count: tuple[int, ...]
    dep_baseline: tuple[float, ...]
    gov_baseline: tuple[float, ...]
    dep_offset: tuple[int, ...]
    gov_offset: tuple[int, ...]
    n_sentences: int

    def best(self, direction: Direction | Literal["both"] = "both") -> tuple[BestHead, ...]:
        """The best head for each relation that occurs (``"both"``: the better direction)."""
        directions: tuple[Direction, ...] = ("dep", "gov") if direction == "both" else (direction,)
        rows = []
        for r in range(len(self.relations)):
            candidates = [self._best_in(r, d) for d in directions]
            found = [c for c in candidates if c is not None]
            if found:
                rows.append(max(found, key=lambda c: c.accuracy))
        return tuple(rows)

    def _best_in(self, r: int, direction: Direction) -> BestHead | None:
        if direction == "dep":
            scores, count, base, offset = self.dep_to_gov, self.dep_count, self.dep_baseline, self.dep_offset
        else:
            scores, count, base, offset = self.gov_to_dep, self.gov_count, self.gov_baseline, self.gov_offset
        if count[r] == 0:
            return None
        layer, head = np.unravel_index(int(np.nanargmax(scores[r])), scores[r].shape)
        return BestHead(
            self.relations[r],
            direction,
            int(layer),
            int(head),
            float(scores[r, layer, head]),
            count[r],
            base[r],
            offset[r],
        )


def relation_scores(
    data: Data, *, relations: Iterable[str] = DEFAULT_RELATIONS, nlp: Any = None
) -> RelationScores:
    """Score every head on each relation, over one sentence or many (Clark et al. 2019, §4.2).

    Parameters
    ----------
    data
        A result, a ``(result, annotation)`` pair, or an iterable of either.
    relations
        Base UD relations to score.
    nlp
        spaCy pipeline for results given without annotation (default: :func:`attnviz.syntax.load_parser`).

    Returns
    -------
    RelationScores

    Examples
    --------
    >>> scores = relation_scores(attnviz.extract(model, tokenizer, "El perro ladra."))
    >>> print(relation_table(scores))
    """
    relations = tuple(relations)
    index = {rel: r for r, rel in enumerate(relations)}
    shape: tuple[int, ...] | None = None
    dep_sum = gov_sum = np.zeros(0)
    dep_count = np.zeros(len(relations), dtype=int)
    gov_count = np.zeros(len(relations), dtype=int)
    dep_offsets: list[Counter[int]] = [Counter() for _ in relations]
    gov_offsets: list[Counter[int]] = [Counter() for _ in relations]
    n_sentences = 0
    for words, annotation in iter_pairs(data, nlp):
        if shape is None:
            shape = (len(relations), words.n_layers, words.n_heads)
            dep_sum, gov_sum = np.zeros(shape), np.zeros(shape)
        elif (words.n_layers, words.n_heads) != shape[1:]:
            raise ValueError("all results must come from the same model (same layers and heads)")
        n_sentences += 1
        credit = _ties(np.asarray(words.attention, dtype=np.float64), np.asarray(words.special, dtype=bool))
        dependents: dict[tuple[int, int], list[int]] = {}
        for dep, gov, rel in annotation.edges(index):
            r = index[rel]
            dep_sum[r] += credit[:, :, dep, gov]
            dep_count[r] += 1
            dep_offsets[r][gov - dep] += 1
            dependents.setdefault((r, gov), []).append(dep)
        for (r, gov), deps in dependents.items():
            gov_sum[r] += credit[:, :, gov, deps].sum(axis=-1)
            gov_count[r] += 1
            gov_offsets[r].update({d - gov for d in deps})
    if shape is None:
        raise ValueError("no sentences to score")
    with np.errstate(invalid="ignore", divide="ignore"):
        dep_acc = dep_sum / dep_count[:, None, None]
        gov_acc = gov_sum / gov_count[:, None, None]
    dep_fixed = [_fixed_offset(c, n) for c, n in zip(dep_offsets, dep_count, strict=True)]
    gov_fixed = [_fixed_offset(c, n) for c, n in zip(gov_offsets, gov_count, strict=True)]
    return RelationScores(
        relations=relations,
        dep_to_gov=dep_acc,
        gov_to_dep=gov_acc,
        dep_count=tuple(int(c) for c in dep_count),
        gov_count=tuple(int(c) for c in gov_count),
        dep_baseline=tuple(b for b, _ in dep_fixed),
        gov_baseline=tuple(b for b, _ in gov_fixed),
        dep_offset=tuple(o for _, o in dep_fixed),
        gov_offset=tuple(o for _, o in gov_fixed),
        n_sentences=n_sentences,
    )


def _fixed_offset(offsets: Counter[int], count: int) -> tuple[float, int]:
    """Accuracy and offset of the most common relative position (the nearer one on a tie)."""
    if not count:
        return float("nan"), 0
    offset, hits = max(offsets.items(), key=lambda kv: (kv[1], -abs(kv[0]), kv[0]))
    return hits / count, offset


def relation_table(scores: RelationScores, direction: Direction | Literal["both"] = "both") -> str:
    """The best head per relation as a text table with Spanish headings (for the CLI and notebook)."""
    arrows = {"dep": "dep → núcleo", "gov": "núcleo → dep"}
    header = ("relación", "sentido", "capa", "cabeza", "acierto", "casos", "base fija", "desplaz.")
    rows = [
        (
            row.relation,
            arrows[row.direction],
            str(row.layer),
            str(row.head),
            f"{row.accuracy:.0%}",
            str(row.count),
            f"{row.baseline:.0%}",
            f"{row.offset:+d}",
        )
        for row in scores.best(direction)
    ]
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    lines = [
        "  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)).rstrip() for r in [header, *rows]
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    names = ", ".join(f"{r[0]} = {DEPREL_NAMES_ES[r[0]]}" for r in rows if r[0] in DEPREL_NAMES_ES)
    notes = (
        f"{scores.n_sentences} frases · capas y cabezas desde 0 · «dep → núcleo»: la palabra dependiente "
        "atiende sobre todo a su núcleo · «base fija»: acertar siempre con la misma posición relativa"
    )
    return "\n".join([*lines, "", notes, names])


# --------------------------------------------------------------------------- layer profile


@dataclass(frozen=True, eq=False)
class SyntaxProfile:
    """Where syntax lives, layer by layer.

    ``share[layer]``: share of a word's attention that goes to its governor
    or its dependents, averaged over heads and source words.
    ``baseline[layer]``: the same if each head's attention depended only on
    relative position: for each offset, the head's mean attention to a word
    at that offset, summed over the offsets of the word's neighbours.
    ``head_share`` / ``head_baseline`` are the ``[layers, heads]`` values.
    Source words are aligned non-special words with at least one neighbour.
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
    >>> profile = syntax_profile(pairs)
    >>> plot_syntax_profile(profile)
    """
    shape: tuple[int, int] | None = None
    share_sum = np.zeros(0)
    offset_sum: dict[int, np.ndarray] = {}
    offset_count: Counter[int] = Counter()
    neighbour_offsets: Counter[int] = Counter()
    n_words = n_sentences = 0
    for words, annotation in iter_pairs(data, nlp):
        att = np.asarray(words.attention, dtype=np.float64)
        if shape is None:
            shape = (words.n_layers, words.n_heads)
            share_sum = np.zeros(shape)
        elif (words.n_layers, words.n_heads) != shape:
            raise ValueError("all results must come from the same model (same layers and heads)")
        n_sentences += 1
        neighbours: dict[int, set[int]] = {}
        for dep, gov, _ in annotation.edges():
            neighbours.setdefault(dep, set()).add(gov)
            neighbours.setdefault(gov, set()).add(dep)
        special = np.asarray(words.special, dtype=bool)
        targets = np.flatnonzero(~special)
        for i, near in neighbours.items():
            if special[i]:
                continue
            n_words += 1
            share_sum += att[:, :, i, sorted(near)].sum(axis=-1)
            neighbour_offsets.update(j - i for j in near)
            for j in targets:
                if j != i:
                    offset_sum.setdefault(int(j - i), np.zeros(shape))
                    offset_sum[int(j - i)] += att[:, :, i, j]
                    offset_count[int(j - i)] += 1
    if shape is None or n_words == 0:
        raise ValueError("no word with a syntactic neighbour to measure")
    baseline_sum = sum(
        (hits * offset_sum[o] / offset_count[o] for o, hits in neighbour_offsets.items()), np.zeros(shape)
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


# --------------------------------------------------------------------------- parts of speech


@dataclass(frozen=True, eq=False)
class PosMatrix:
    """Mean attention between parts of speech.

    ``values[layer, head, a, b]``: for source words tagged ``tags[a]``, the
    share of each one's attention to words (special tokens left out, rows
    renormalised to 1) that goes to words tagged ``tags[b]``, averaged over
    those source words.  ``counts[a]`` source words; rows with none are NaN.
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
    >>> matrix = pos_matrix(pairs)
    >>> plot_pos_matrix(matrix, layer=3)
    """
    tag_index = {t: k for k, t in enumerate(UPOS_TAGS)}
    n_tags = len(UPOS_TAGS)
    sums = np.zeros(0)
    counts = np.zeros(n_tags, dtype=int)
    seen = np.zeros(n_tags, dtype=bool)
    n_sentences = 0
    for words, annotation in iter_pairs(data, nlp):
        n_sentences += 1
        if sums.size == 0:
            sums = np.zeros((words.n_layers, words.n_heads, n_tags, n_tags))
        elif sums.shape[:2] != (words.n_layers, words.n_heads):
            raise ValueError("all results must come from the same model (same layers and heads)")
        tagged = [
            i
            for i, (tag, ok, special) in enumerate(
                zip(annotation.upos, annotation.aligned, words.special, strict=True)
            )
            if ok and not special and tag in tag_index
        ]
        if not tagged:
            continue
        onehot = np.zeros((len(tagged), n_tags))
        onehot[np.arange(len(tagged)), [tag_index[annotation.upos[i]] for i in tagged]] = 1.0
        seen |= onehot.any(axis=0)
        rows = np.asarray(words.attention, dtype=np.float64)[:, :, :, tagged]
        totals = rows.sum(axis=-1, keepdims=True)
        by_tag = (rows / np.where(totals > 0, totals, 1.0)) @ onehot  # [L, H, n, tags]
        for i in tagged:
            if annotation.shared[i]:
                continue
            a = tag_index[annotation.upos[i]]
            sums[:, :, a] += by_tag[:, :, i]
            counts[a] += 1
    if n_sentences == 0 or not seen.any():
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
