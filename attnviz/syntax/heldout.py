"""Syntax heads chosen on one half of the sentences and measured on the other, against chance.

Picking the best of ``2 × layers × heads`` predictors and scoring it on the same sentences flatters it:
with few cases, some head is lucky.  So :func:`held_out_scores`

1. splits the sentences in two halves, always the same way (:func:`split_halves`: sentences 0, 2, 4…
   *choose*, sentences 1, 3, 5… *score*; alternating, so that both halves mix the treebank's documents);
2. chooses on the first half, for each relation, the best head and direction and the fixed-offset
   baseline's offset (Clark et al. 2019, §4.2: see :class:`attnviz.syntax.RelationInstances`);
3. reports both on the other half, with the number of cases ``n`` and a 95% Wilson interval
   (:func:`wilson_interval`);
4. runs a null model (:func:`null_model`): the same choice among as many heads that attend at random.

A relation with fewer than :data:`MIN_CASES` cases in the scoring half is not ranked («pocos casos»),
and one whose baseline already gets :data:`SATURATED` of them right (``det``: the article right before
its noun) cannot show anything.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from .metrics import DEFAULT_RELATIONS, Data, Direction, RelationInstances, fixed_offset, relation_instances

#: Fewer cases than this in the scoring half: the relation is listed as «pocos casos», not ranked.
MIN_CASES = 30
#: A baseline at least this good leaves no room to show anything.
SATURATED = 0.99
#: How far above the baseline a head must be: the lesson's «supera la línea base» (10 points).
MARGIN = 0.10
#: Random heads per relation in :func:`null_model`.
NULL_TRIALS = 1000
#: z for a two-sided 95% interval.
Z95 = 1.959963984540054

Verdict = Literal["beats", "unclear", "below", "few", "saturated"]
#: What each verdict says, in the tables and the generated answer.
VERDICTS_ES: dict[str, str] = {
    "beats": "supera la línea base",
    "unclear": "no concluyente",
    "below": "no la supera",
    "few": "pocos casos",
    "saturated": "línea base ≥ 99%: no puede mostrar nada",
}


def wilson_interval(successes: float, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval for a proportion ``successes / n`` (95% by default).

    Better than ``p ± z·√(p(1-p)/n)`` with few cases or a proportion near 0 or 1: it never leaves [0, 1]
    and is not empty at 0 or ``n`` successes.  ``successes`` may be fractional (ties share credit).

    Examples
    --------
    >>> [round(x, 4) for x in wilson_interval(81, 263)]  # Newcombe (1998), Table I
    [0.2553, 0.3662]
    """
    if n <= 0:
        return (math.nan, math.nan)
    p = successes / n
    z2 = z * z
    centre = (p + z2 / (2 * n)) / (1 + z2 / n)
    half = z / (1 + z2 / n) * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n))
    return (max(0.0, centre - half), min(1.0, centre + half))


def split_halves(n_sentences: int) -> np.ndarray:
    """Which sentences choose (True) and which score (False): even positions choose, odd ones score.

    Deterministic and independent of the model; with an odd count the choosing half has one more.

    Examples
    --------
    >>> split_halves(5).tolist()
    [True, False, True, False, True]
    """
    return np.arange(n_sentences) % 2 == 0


@dataclass(frozen=True)
class HeldOutRow:
    """One relation: its head chosen on one half, measured on the other.

    ``accuracy`` is on the scoring half (``n`` dependents there), with the 95% Wilson interval
    ``low``–``high``; ``chosen_accuracy`` is what the head scored on the half that chose it.
    ``baseline`` is the fixed-offset rule (``offset`` chosen on the choosing half) on the scoring half.
    ``null_rate``: share of the null model's trials where the best random head beat ``baseline`` by more
    than ``margin`` on the scoring half; ``null_top``: the 95th percentile of that random margin.
    """

    relation: str
    direction: Direction
    layer: int
    head: int
    accuracy: float
    low: float
    high: float
    n: int
    chosen_accuracy: float
    n_chosen: int
    baseline: float
    offset: int
    null_rate: float
    null_top: float
    verdict: Verdict

    @property
    def margin(self) -> float:
        """Held-out accuracy minus the held-out baseline (a fraction: 0.1 is 10 points)."""
        return self.accuracy - self.baseline

    @property
    def ranked(self) -> bool:
        """Enough cases and room above the baseline to be compared at all."""
        return self.verdict not in ("few", "saturated")


@dataclass(frozen=True, eq=False)
class NullModel:
    """How the held-out procedure fares when every head attends at random.

    Each of the ``2 × layers × heads`` random predictors picks, for every dependent, one of the words
    it could pick (its ``choices``) uniformly at random: what the argmax of a random attention row gives.
    Per trial, the best one on the choosing half is scored on the other half, against the real
    baseline, as :func:`held_out_scores` does with the model.  Arrays are per relation.

    Random rather than permuted attention: a permutation of the model's own heads or positions keeps
    (or scrambles) its habits of looking at the neighbour, which the fixed-offset baseline already
    measures; random picks ask the one question left, how far the best of this many heads gets by luck
    on this many cases.

    * ``rate``: share of trials where it beat the baseline by more than ``margin`` (held out);
    * ``in_sample_rate``: the same when chosen and scored on all sentences (attnviz's old measure);
    * ``top``: 95th percentile of the held-out margin; ``margins[trial, relation]``: every margin.
    """

    relations: tuple[str, ...]
    rate: np.ndarray
    in_sample_rate: np.ndarray
    top: np.ndarray
    margins: np.ndarray
    margin: float
    trials: int
    seed: int
    n_predictors: int


@dataclass(frozen=True, eq=False)
class HeldOutTable:
    """The held-out table of one model on one set of sentences (:func:`held_out_scores`).

    ``rows`` are ranked first (by margin over the baseline, largest first), then the relations with
    «pocos casos» and those whose baseline is saturated; ``absent`` lists relations with no case in
    one of the halves.
    """

    rows: tuple[HeldOutRow, ...]
    absent: tuple[str, ...]
    null: NullModel
    model_name: str
    source: str
    n_sentences: int
    n_choose: int
    n_score: int
    n_layers: int
    n_heads: int
    include_self: bool
    margin: float
    min_cases: int

    def row(self, relation: str) -> HeldOutRow:
        """The row of ``relation`` (``KeyError`` if it has none)."""
        for row in self.rows:
            if row.relation == relation:
                return row
        raise KeyError(relation)

    def with_verdict(self, *verdicts: Verdict) -> tuple[HeldOutRow, ...]:
        """The rows with one of these verdicts, in table order."""
        return tuple(row for row in self.rows if row.verdict in verdicts)


def null_model(
    instances: RelationInstances,
    *,
    choose: np.ndarray | None = None,
    margin: float = MARGIN,
    trials: int = NULL_TRIALS,
    seed: int = 0,
) -> NullModel:
    """Run the held-out choice ``trials`` times with random heads instead of the model's (seeded).

    Vectorised: a random head's hits on a group of dependents that share the same number of choices
    ``c`` follow a binomial law with ``p = 1 / c``, so each trial draws one binomial per group, head
    and half instead of one pick per dependent.

    Parameters
    ----------
    instances
        From :func:`attnviz.syntax.relation_instances` (only the cases, choices and offsets are used).
    choose
        Mask of the choosing sentences (default :func:`split_halves`).
    margin
        Points (as a fraction) above the baseline that count as beating it.
    trials, seed
        Number of simulated runs, and the seed of ``numpy.random.default_rng``.

    Returns
    -------
    NullModel

    Examples
    --------
    >>> null = null_model(relation_instances(pairs))  # doctest: +SKIP
    >>> dict(zip(null.relations, null.rate))  # doctest: +SKIP
    """
    if trials < 1:
        raise ValueError(f"trials must be >= 1, not {trials}")
    choose = split_halves(instances.n_sentences) if choose is None else np.asarray(choose, dtype=bool)
    in_choose = instances.rows(choose)
    predictors = 2 * instances.n_layers * instances.n_heads
    rng = np.random.default_rng(seed)
    n_rel = len(instances.relations)
    margins = np.full((trials, n_rel), np.nan)
    in_sample = np.full((trials, n_rel), np.nan)
    for r in range(n_rel):
        mine = instances.relation == r
        chosen_rows, scored_rows = mine & in_choose, mine & ~in_choose
        n_c, n_s = int(chosen_rows.sum()), int(scored_rows.sum())
        if n_c == 0 or n_s == 0:
            continue
        offset, _ = fixed_offset(instances.offset[chosen_rows])
        baseline = float(np.mean(instances.offset[scored_rows] == offset))
        baseline_all = fixed_offset(instances.offset[mine])[1]
        hits_c = _random_hits(rng, instances.choices[chosen_rows], trials, predictors)
        hits_s = _random_hits(rng, instances.choices[scored_rows], trials, predictors)
        best = np.argmax(hits_c, axis=1)  # the first on a tie: random heads are interchangeable
        margins[:, r] = hits_s[np.arange(trials), best] / n_s - baseline
        in_sample[:, r] = (hits_c + hits_s).max(axis=1) / (n_c + n_s) - baseline_all
    with np.errstate(invalid="ignore"):
        rate = np.where(np.isnan(margins[0]), np.nan, np.mean(margins > margin, axis=0))
        in_sample_rate = np.where(np.isnan(in_sample[0]), np.nan, np.mean(in_sample > margin, axis=0))
    top = np.full(n_rel, np.nan)
    seen = ~np.isnan(margins[0])
    if seen.any():
        top[seen] = np.quantile(margins[:, seen], 0.95, axis=0)
    return NullModel(
        relations=instances.relations,
        rate=rate,
        in_sample_rate=in_sample_rate,
        top=top,
        margins=margins,
        margin=margin,
        trials=trials,
        seed=seed,
        n_predictors=predictors,
    )


def _random_hits(rng: np.random.Generator, choices: np.ndarray, trials: int, predictors: int) -> np.ndarray:
    """``[trials, predictors]`` hits of random heads on dependents with these numbers of ``choices``."""
    values, counts = np.unique(choices, return_counts=True)
    draws = rng.binomial(counts, 1.0 / values, size=(trials, predictors, len(values)))
    return draws.sum(axis=-1)


def held_out_scores(
    data: Data | RelationInstances,
    *,
    relations: Iterable[str] = DEFAULT_RELATIONS,
    nlp: Any = None,
    include_self: bool = False,
    min_cases: int = MIN_CASES,
    margin: float = MARGIN,
    trials: int = NULL_TRIALS,
    seed: int = 0,
) -> HeldOutTable:
    """Choose each relation's best head on half of the sentences and measure it on the other half.

    Parameters
    ----------
    data
        ``(result, annotation)`` pairs (e.g. :func:`attnviz.syntax.gsd_results`), or what
        :func:`attnviz.syntax.relation_instances` returned for them.
    relations, nlp, include_self
        As in :func:`attnviz.syntax.relation_instances` (ignored when ``data`` is already scored).
    min_cases
        Fewer cases than this in the scoring half: «pocos casos», not ranked.
    margin
        How far above the baseline counts as beating it (0.10: 10 points).
    trials, seed
        For the null model (:func:`null_model`).

    Returns
    -------
    HeldOutTable
        A relation *beats* its baseline when its held-out margin is above ``margin`` and above the null
        model's 95th percentile, and its Wilson interval lies above the baseline; *unclear* when only the
        interval fails; *below* otherwise.

    Examples
    --------
    >>> table = held_out_scores(gsd_results(model, tokenizer))  # doctest: +SKIP
    >>> print(held_out_text(table))  # doctest: +SKIP
    """
    instances = (
        data
        if isinstance(data, RelationInstances)
        else relation_instances(data, relations=relations, nlp=nlp, include_self=include_self)
    )
    choose = split_halves(instances.n_sentences)
    null = null_model(instances, choose=choose, margin=margin, trials=trials, seed=seed)
    chosen, scored = instances.scores(choose), instances.scores(~choose)
    in_score = instances.rows(~choose)
    rows: list[HeldOutRow] = []
    absent: list[str] = []
    for r, relation in enumerate(instances.relations):
        if chosen.count[r] == 0 or scored.count[r] == 0:
            if chosen.count[r] + scored.count[r] > 0:
                absent.append(relation)
            continue
        # The better direction on the choosing half (dep on a tie), then its best head there.
        candidates = np.stack([chosen.dep_to_gov[r], chosen.gov_to_dep[r]])
        d, layer, head = (int(i) for i in np.unravel_index(int(np.nanargmax(candidates)), candidates.shape))
        direction: Direction = ("dep", "gov")[d]
        accuracy = float((scored.dep_to_gov, scored.gov_to_dep)[d][r, layer, head])
        n = scored.count[r]
        offset = chosen.offset[r]
        baseline = float(np.mean(instances.offset[in_score & (instances.relation == r)] == offset))
        low, high = wilson_interval(accuracy * n, n)
        row = HeldOutRow(
            relation=relation,
            direction=direction,
            layer=layer,
            head=head,
            accuracy=accuracy,
            low=low,
            high=high,
            n=n,
            chosen_accuracy=float(candidates[d, layer, head]),
            n_chosen=chosen.count[r],
            baseline=baseline,
            offset=offset,
            null_rate=float(null.rate[r]),
            null_top=float(null.top[r]),
            verdict="below",
        )
        rows.append(_judged(row, min_cases, margin))
    order = {"beats": 0, "unclear": 0, "below": 0, "few": 1, "saturated": 2}
    rows.sort(key=lambda row: (order[row.verdict], -row.margin if row.ranked else 0.0))
    return HeldOutTable(
        rows=tuple(rows),
        absent=tuple(absent),
        null=null,
        model_name=instances.model_name,
        source=instances.source,
        n_sentences=instances.n_sentences,
        n_choose=int(choose.sum()),
        n_score=int((~choose).sum()),
        n_layers=instances.n_layers,
        n_heads=instances.n_heads,
        include_self=instances.include_self,
        margin=margin,
        min_cases=min_cases,
    )


def _judged(row: HeldOutRow, min_cases: int, margin: float) -> HeldOutRow:
    verdict: Verdict
    if row.n < min_cases:
        verdict = "few"
    elif row.baseline >= SATURATED:
        verdict = "saturated"
    elif row.margin > margin:
        verdict = "beats" if row.margin > row.null_top and row.low > row.baseline else "unclear"
    else:
        verdict = "below"
    return dataclasses.replace(row, verdict=verdict)
