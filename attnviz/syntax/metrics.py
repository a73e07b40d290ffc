"""Attention heads measured against the grammar (Clark et al. 2019, "What does BERT look at?", §4.2).

:func:`relation_scores`, :func:`syntax_profile` and :func:`pos_matrix` work at word level
(:func:`attnviz.to_words`: attention TO a word is the sum over its pieces, FROM a word the mean)
and take one sentence or many: a result, a ``(result, annotation)`` pair, or an iterable (a
generator too) of either; results without annotation are parsed with :func:`attnviz.syntax.parse`.
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


def _ties(att: np.ndarray, special: np.ndarray) -> np.ndarray:
    """Each column's credit as its row's most-attended non-special word; ``m`` tied get ``1 / m`` each."""
    masked = np.where(special, -np.inf, att)
    top = masked.max(axis=-1, keepdims=True)
    tied = (masked >= top - _TIE_RTOL * np.abs(top)) & ~special
    return tied / np.maximum(tied.sum(axis=-1, keepdims=True), 1)


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

    * ``dep_to_gov[r, layer, head]``: share of the ``dep_count[r]`` dependents of relation
      ``relations[r]`` whose most-attended word (special tokens ignored) is their governor.
    * ``gov_to_dep[r, layer, head]``: share of the ``gov_count[r]`` governors (with a dependent
      of that relation) whose most-attended word is one of those dependents.
    * ``dep_baseline`` / ``gov_baseline``: accuracy of always predicting the most common relative
      position (``dep_offset`` / ``gov_offset``, in words) for that relation.

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
            found = [c for d in directions if (c := self._best_in(r, d)) is not None]
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
        layer, head = (int(i) for i in np.unravel_index(int(np.nanargmax(scores[r])), scores[r].shape))
        accuracy = float(scores[r, layer, head])
        return BestHead(self.relations[r], direction, layer, head, accuracy, count[r], base[r], offset[r])


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
    >>> print(relation_table(relation_scores(attnviz.extract(model, tokenizer, "El perro ladra."))))
    """
    relations = tuple(relations)
    index = {rel: r for r, rel in enumerate(relations)}
    dep_sum = gov_sum = np.zeros(0)
    dep_count = np.zeros(len(relations), dtype=int)
    gov_count = np.zeros(len(relations), dtype=int)
    dep_offsets: list[Counter[int]] = [Counter() for _ in relations]
    gov_offsets: list[Counter[int]] = [Counter() for _ in relations]
    n_sentences = 0
    for words, annotation in iter_pairs(data, nlp):
        if n_sentences == 0:
            dep_sum = np.zeros((len(relations), words.n_layers, words.n_heads))
            gov_sum = np.zeros_like(dep_sum)
        elif (words.n_layers, words.n_heads) != dep_sum.shape[1:]:
            raise ValueError(_OTHER_MODEL)
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
    if n_sentences == 0:
        raise ValueError("no sentences to score")
    with np.errstate(invalid="ignore", divide="ignore"):
        dep_to_gov = dep_sum / dep_count[:, None, None]
        gov_to_dep = gov_sum / gov_count[:, None, None]
    dep_baseline, dep_offset = _fixed_offsets(dep_offsets, dep_count)
    gov_baseline, gov_offset = _fixed_offsets(gov_offsets, gov_count)
    return RelationScores(
        relations=relations,
        dep_to_gov=dep_to_gov,
        gov_to_dep=gov_to_dep,
        dep_count=tuple(int(c) for c in dep_count),
        gov_count=tuple(int(c) for c in gov_count),
        dep_baseline=dep_baseline,
        gov_baseline=gov_baseline,
        dep_offset=dep_offset,
        gov_offset=gov_offset,
        n_sentences=n_sentences,
    )


def _fixed_offsets(
    offsets: list[Counter[int]], counts: np.ndarray
) -> tuple[tuple[float, ...], tuple[int, ...]]:
    """Accuracy and offset of each relation's most common relative position (the nearer one on a tie)."""
    best = [max(c.items(), key=lambda kv: (kv[1], -abs(kv[0]), kv[0]), default=(0, 0)) for c in offsets]
    accuracy = tuple(hits / n if n else float("nan") for (_, hits), n in zip(best, counts, strict=True))
    return accuracy, tuple(offset for offset, _ in best)


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
