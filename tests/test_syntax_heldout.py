"""Syntax heads chosen on one half and measured on the other, the null model, UD Spanish GSD, the answer.

Synthetic attention over the real treebanks (the bundled GSD subset and the hand-checked file);
the offline MiniLM only where a real model is the point.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
import sys
import zipfile
from importlib import resources
from pathlib import Path

import numpy as np
import pytest

import attnviz
from attnviz import syntax
from attnviz.syntax import (
    GSD_FILE,
    GSD_README,
    HeldOutTable,
    from_conllu,
    held_out_scores,
    held_out_text,
    load_gold,
    load_gsd,
    null_model,
    plot_held_out,
    relation_answer,
    relation_instances,
    split_halves,
    syntax_answer,
    wilson_interval,
)

from .test_syntax import make_result

ROOT = Path(__file__).resolve().parents[1]
#: The documented size of the bundled subset (attnviz/data/es_gsd-ud-test-short.README.md).
GSD_SENTENCES = 231


def treebank_pairs(sentences, attention_for=None, layers: int = 2, heads: int = 3):
    """(one-token-per-word result, annotation) per CoNLL-U sentence; uniform attention by default."""
    pairs = []
    for sentence in sentences:
        result = make_result(sentence.text, layers=layers, heads=heads)
        annotation = from_conllu(result, sentence)
        if attention_for is not None:
            result = make_result(sentence.text, attention=attention_for(result, annotation))
            annotation = from_conllu(result, sentence)
        pairs.append((result, annotation))
    return pairs


def random_attention(seed: int, layers: int = 2, heads: int = 3):
    rng = np.random.default_rng(seed)

    def build(result, annotation):
        n = result.n_tokens
        return rng.dirichlet(np.ones(n), size=(layers, heads, n)).astype(np.float32)

    return build


def parse_head(layer: int, head: int, layers: int = 2, heads: int = 3, seed: int = 0):
    """Random attention, except that head (layer, head) puts each word's weight on its governor."""
    noise = random_attention(seed, layers, heads)

    def build(result, annotation):
        att = noise(result, annotation)
        att[layer, head] = 0.0
        for i in range(result.n_tokens):
            att[layer, head, i, annotation.head[i] if annotation.head[i] >= 0 else 0] = 1.0
        return att

    return build


@pytest.fixture(scope="module")
def gsd():
    return load_gsd()


@pytest.fixture(scope="module")
def gsd_random(gsd):
    return relation_instances(treebank_pairs(gsd, random_attention(1)))


@pytest.fixture(scope="module")
def gsd_parse_table(gsd) -> HeldOutTable:
    return held_out_scores(treebank_pairs(gsd, parse_head(1, 2)), trials=200)


# --------------------------------------------------------------------------- Wilson interval


@pytest.mark.parametrize(
    ("successes", "n", "low", "high"),
    [  # Newcombe (1998), "Two-sided confidence intervals for the single proportion", Table I, method 3
        (81, 263, 0.2553, 0.3662),
        (15, 148, 0.0624, 0.1605),
        (0, 20, 0.0, 0.1611),
        (1, 29, 0.0061, 0.1718),
    ],
)
def test_wilson_interval_known_values(successes, n, low, high):
    got = wilson_interval(successes, n)
    assert got == pytest.approx((low, high), abs=5e-5)


def test_wilson_interval_edges():
    assert wilson_interval(10, 10)[1] == pytest.approx(1.0) and wilson_interval(10, 10)[0] < 0.75
    assert all(np.isnan(wilson_interval(0, 0)))
    low, high = wilson_interval(30, 100)
    assert low < 0.3 < high
    # Symmetric: k of n and n - k of n mirror each other.
    assert wilson_interval(70, 100) == pytest.approx((1 - high, 1 - low))


# --------------------------------------------------------------------------- the split


def test_split_is_alternating_and_does_not_depend_on_the_attention(gsd):
    assert split_halves(5).tolist() == [True, False, True, False, True]
    halves = split_halves(GSD_SENTENCES)
    assert halves.sum() == 116 and (~halves).sum() == 115
    a = held_out_scores(treebank_pairs(gsd[:60], random_attention(1)), trials=50)
    b = held_out_scores(treebank_pairs(gsd[:60], random_attention(1)), trials=50)
    c = held_out_scores(treebank_pairs(gsd[:60], random_attention(2)), trials=50)
    assert a.rows == b.rows  # same data, same table: nothing random outside the seeded null model
    np.testing.assert_array_equal(a.null.margins, b.null.margins)
    assert (a.n_choose, a.n_score) == (c.n_choose, c.n_score) == (30, 30)
    # The scoring half is the odd sentences: its counts and baselines do not depend on the attention.
    assert [(r.relation, r.n, r.n_chosen, r.baseline) for r in sorted(a.rows, key=lambda r: r.relation)] == [
        (r.relation, r.n, r.n_chosen, r.baseline) for r in sorted(c.rows, key=lambda r: r.relation)
    ]


def test_held_out_numbers_are_recomputed_from_the_halves(gsd_random):
    table = held_out_scores(gsd_random, trials=50)
    choose = np.arange(gsd_random.n_sentences) % 2 == 0
    for row in table.rows:
        r = gsd_random.relations.index(row.relation)
        hits = gsd_random.dep_hits if row.direction == "dep" else gsd_random.gov_hits
        mine = gsd_random.relation == r
        chosen, scored = mine & choose[gsd_random.sentence], mine & ~choose[gsd_random.sentence]
        # The head is the best of both directions on the choosing half...
        best = max(float(h[chosen].mean(axis=0).max()) for h in (gsd_random.dep_hits, gsd_random.gov_hits))
        assert row.chosen_accuracy == pytest.approx(best)
        assert hits[chosen, row.layer, row.head].mean() == pytest.approx(best)
        # ... and is measured on the other half, with its n and interval.
        assert row.n == scored.sum() and row.n_chosen == chosen.sum()
        assert row.accuracy == pytest.approx(hits[scored, row.layer, row.head].mean())
        assert (row.low, row.high) == pytest.approx(wilson_interval(row.accuracy * row.n, row.n))
        # The baseline's offset is the choosing half's most common one, scored on the other half.
        offsets = gsd_random.offset[chosen]
        counts = np.unique(offsets, return_counts=True)[1]
        assert np.sum(offsets == row.offset) == counts.max()
        assert row.baseline == pytest.approx(np.mean(gsd_random.offset[scored] == row.offset))


# --------------------------------------------------------------------------- a head that is the parse


def test_a_head_that_encodes_the_parse_scores_100_percent_held_out(gsd_parse_table):
    table = gsd_parse_table
    assert table.n_sentences == GSD_SENTENCES and table.source == "CoNLL-U"
    assert table.rows
    for row in table.rows:
        assert (row.layer, row.head, row.direction) == (1, 2, "dep"), row.relation
        assert row.accuracy == 1.0 and row.chosen_accuracy == 1.0
        assert row.low > 0.85 or row.n < 30
        if row.verdict in ("beats", "unclear", "below"):
            assert row.n >= table.min_cases
    beats = {row.relation for row in table.with_verdict("beats")}
    # Every relation with enough cases and room above its baseline is found.
    assert beats == {row.relation for row in table.rows if row.ranked}
    assert {"case", "nsubj", "obj", "nmod", "obl", "amod", "conj"} <= beats
    assert table.row("aux").verdict == "few"  # 45 aux in the whole subset: fewer than 30 in one half


def test_saturated_baseline_and_few_cases_are_not_ranked():
    # In the hand-checked file every article comes right before its noun: det's baseline is 100%.
    table = held_out_scores(treebank_pairs(load_gold(), parse_head(0, 1)), trials=50)
    det = table.row("det")
    assert det.baseline == 1.0 and det.verdict == "saturated" and not det.ranked
    assert all(row.verdict == "few" for row in table.rows if row.n < 30)
    ranked_first = [row.ranked for row in table.rows]
    assert ranked_first == sorted(ranked_first, reverse=True)
    answer = syntax_answer(table)
    assert "det (determinante): la línea base ya acierta el 100%" in answer
    assert "no puede mostrar nada" in answer


# --------------------------------------------------------------------------- the null model


def _poisson_binomial(ps: np.ndarray) -> np.ndarray:
    """Exact distribution of a sum of independent Bernoulli(p) draws."""
    dist = np.array([1.0])
    for p in ps:
        dist = np.convolve(dist, [1.0 - p, p])
    return dist


def test_random_heads_hit_one_in_choices(gsd_random):
    # The null model's premise: with random attention a head's pick is uniform over the words it may pick.
    for hits in (gsd_random.dep_hits, gsd_random.gov_hits):
        assert hits.mean() == pytest.approx(np.mean(1.0 / gsd_random.choices), rel=0.05)


@pytest.fixture(scope="module")
def gold_72_heads():
    """The hand-checked file with a 6 × 12 model's shape: few cases, many heads (attention is not used)."""
    return relation_instances(treebank_pairs(load_gold(), layers=6, heads=12))


@pytest.mark.slow  # 2-3 s: `make test` runs it, the developer loop does not
@pytest.mark.parametrize("which", ["gold_72_heads", "gsd_random"])
def test_null_model_rate_is_the_exact_probability(which, request):
    instances = request.getfixturevalue(which)
    trials = 4000
    null = null_model(instances, trials=trials, seed=7)
    choose = split_halves(instances.n_sentences)[instances.sentence]
    k = 2 * instances.n_layers * instances.n_heads
    assert null.n_predictors == k == (144 if which == "gold_72_heads" else 12)
    checked = 0
    for r, relation in enumerate(instances.relations):
        mine = instances.relation == r
        chosen, scored = mine & choose, mine & ~choose
        if not chosen.any() or not scored.any():
            continue
        offsets, counts = np.unique(instances.offset[chosen], return_counts=True)
        best = offsets[counts == counts.max()]
        offset = best[np.lexsort((-best, np.abs(best)))][0]
        baseline = np.mean(instances.offset[scored] == offset)
        dist = _poisson_binomial(1.0 / instances.choices[scored])
        n = scored.sum()
        beats = np.arange(n + 1) / n - baseline > null.margin
        exact = dist[beats].sum()
        all_dist = _poisson_binomial(1.0 / instances.choices[mine])
        counts_all = np.unique(instances.offset[mine], return_counts=True)[1]
        baseline_all = counts_all.max() / mine.sum()
        cdf_below = all_dist[~(np.arange(mine.sum() + 1) / mine.sum() - baseline_all > null.margin)].sum()
        exact_in_sample = 1.0 - cdf_below**k
        for got, want in ((null.rate[r], exact), (null.in_sample_rate[r], exact_in_sample)):
            want = min(max(float(want), 0.0), 1.0)
            assert abs(got - want) <= 4.5 * np.sqrt(want * (1 - want) / trials) + 2.0 / trials, relation
        checked += want > 0.01
    if which == "gold_72_heads":
        assert checked >= 3  # relations where random heads do beat the baseline, held out or not


def test_null_model_on_the_hand_checked_file_shows_why_we_hold_out(gold_72_heads):
    # Few cases, many heads: chosen and scored on the same sentences, random heads «beat» conj's
    # baseline most of the time; chosen on one half and scored on the other, rarely.
    instances = gold_72_heads
    null = null_model(instances, trials=500, seed=0)
    conj = instances.relations.index("conj")
    assert null.in_sample_rate[conj] > 0.5
    assert null.rate[conj] < 0.2
    assert null.rate[conj] < null.in_sample_rate[conj]


def test_null_model_is_seeded_and_fast_enough_to_vectorise(gsd_random):
    a = null_model(gsd_random, trials=300, seed=3)
    b = null_model(gsd_random, trials=300, seed=3)
    c = null_model(gsd_random, trials=300, seed=4)
    np.testing.assert_array_equal(a.margins, b.margins)
    assert not np.array_equal(np.nan_to_num(a.margins), np.nan_to_num(c.margins))
    assert a.margins.shape == (300, len(gsd_random.relations))
    with pytest.raises(ValueError, match="trials"):
        null_model(gsd_random, trials=0)


# --------------------------------------------------------------------------- UD Spanish GSD


def test_gsd_subset_loads_with_its_documented_count(gsd):
    assert len(gsd) == GSD_SENTENCES
    assert len({s.sent_id for s in gsd}) == GSD_SENTENCES
    assert max(len(s.forms) for s in gsd) == 25
    assert all(s.text == s.comment_text for s in gsd)
    readme = resources.files("attnviz").joinpath("data", GSD_README).read_text(encoding="utf-8")
    assert f"The {GSD_SENTENCES} sentences" in readme
    for needed in ("CC BY-SA 4.0", "UD_Spanish-GSD", "McDonald", "unchanged", "57c0456"):
        assert needed in readme, needed
    # The bundled bytes are the subset the README describes (its size and checksum).
    text = resources.files("attnviz").joinpath("data", GSD_FILE).read_bytes()
    assert f"{len(text):,} bytes, SHA-256 `{hashlib.sha256(text).hexdigest()}`" in readme
    assert syntax.gsd_path().name == GSD_FILE
    lines = text.decode("utf-8").split("\n")
    assert all(len(line.split("\t")) == 10 for line in lines if line and not line.startswith("#"))
    assert text.endswith(b"\n\n") and lines.count("") == GSD_SENTENCES + 1


def test_multiword_tokens_meet_the_models_single_word(gsd):
    # «la familia del escritor»: del = de (case) + el (det); the model sees one word «del».
    sentence = gsd[0]
    assert ("del", 5, 6) in sentence.surface
    assert (sentence.forms[5], sentence.deprels[5], sentence.forms[6], sentence.deprels[6]) == (
        "de",
        "case",
        "el",
        "det",
    )
    annotation = from_conllu(make_result(sentence.text), sentence)
    words = annotation.words
    del_ = words.index("del")
    assert annotation.deprel[del_] == "case" and words[annotation.head[del_]] == "escritor"
    # «el» has no word of its own: its det edge is left out, and nothing else is lost.
    edges = annotation.edges()
    assert [e for e in edges if e.relation == "det" and words[e.governor] == "escritor"] == []
    assert len(edges) == sum(1 for h in sentence.heads if h >= 0) - 1


@pytest.mark.slow  # 2-3 s: `make test` runs it, the developer loop does not
def test_gsd_results_on_the_offline_model(minilm):
    model, tokenizer = minilm
    pairs = syntax.gsd_results(model, tokenizer)
    assert len(pairs) == GSD_SENTENCES
    result, annotation = pairs[0]
    assert annotation.parser == syntax.GSD_SOURCE
    assert result.text == load_gsd()[0].text
    # Every word the model sees is placed in the text (none left without a span but the specials).
    for result, annotation in pairs:
        words = attnviz.to_words(result)
        assert all(a or s for a, s in zip(annotation.aligned, words.special, strict=True))


@pytest.mark.slow
def test_the_wheel_carries_the_treebank_and_its_attribution(tmp_path):
    # Built from a copy of the sources, so the checkout gets no build/ folder.
    source = tmp_path / "src"
    source.mkdir()
    project = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    (source / "pyproject.toml").write_text(
        "".join(line for line in project.splitlines(keepends=True) if not line.startswith("readme")),
        encoding="utf-8",
    )
    shutil.copytree(ROOT / "attnviz", source / "attnviz", ignore=shutil.ignore_patterns("__pycache__"))
    out = tmp_path / "wheel"
    command = [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation"]
    built = subprocess.run(
        [*command, "-w", str(out), str(source)], capture_output=True, text=True, check=False
    )
    assert built.returncode == 0, built.stderr
    (wheel,) = out.glob("attnviz-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert f"attnviz/data/{GSD_FILE}" in names and f"attnviz/data/{GSD_README}" in names


# --------------------------------------------------------------------------- the answer and the table


def _numbers(text: str) -> list[str]:
    return re.findall(r"[-+]?\d+(?:\.\d+)?", text)


def test_the_answer_states_the_tables_numbers(gsd_parse_table):
    table = gsd_parse_table
    answer = syntax_answer(table, "modelo de prueba")
    assert answer.startswith(
        "¿Hay capas sintácticas? Respuesta medida con el modelo modelo de prueba: 2 capas"
    )
    assert "contadas desde 0" in answer
    bullets = [line for line in answer.splitlines() if line.startswith("  · ") and "IC 95%" in line]
    beats = table.with_verdict("beats")
    assert len(bullets) == len(beats)
    for line, row in zip(bullets, beats, strict=True):
        assert line.startswith(f"  · {row.relation} (")
        expected = [
            str(row.layer),
            str(row.head),
            f"{100 * row.accuracy:.0f}",
            "95",
            f"{100 * row.low:.0f}",
            f"{100 * row.high:.0f}",
            str(row.n),
            f"{100 * row.baseline:.0f}",
            f"{100 * row.margin:+.1f}",
        ]
        assert _numbers(line.split(":", 1)[1]) == expected, line
    assert f"{table.n_sentences} frases" in answer and f"otras {table.n_score}" in answer
    layers = sorted({row.layer for row in beats})
    assert f"la capa {layers[0]} ({len(beats)} relaciones), contadas desde 0" in answer
    # Clark et al.'s layers are quoted with their model and counting.
    assert "Clark et al. (2019" in answer and "BERT-base (inglés, 12 capas)" in answer
    assert "7–9 contadas desde 1" in answer and "no tiene capas 7–9" in answer
    few = table.with_verdict("few")
    assert all(f"{row.relation} (n = {row.n})" in answer for row in few)


def test_the_answer_without_any_winner_says_what_cannot_be_concluded(gsd):
    table = held_out_scores(treebank_pairs(gsd[:80], random_attention(5)), trials=100)
    assert not table.with_verdict("beats")
    answer = syntax_answer(table)
    assert "Ninguna relación supera su línea base" in answer
    assert "no se puede afirmar" in answer
    below = table.with_verdict("below")
    for row in below:
        assert f"{row.relation} ({100 * row.margin:+.1f})" in answer


def test_relation_answer_and_text_table_carry_the_rows_numbers(gsd_parse_table):
    table = gsd_parse_table
    row = table.row("case")
    text = relation_answer(table, "case")
    for piece in (
        f"la {row.head} de la capa {row.layer} (contadas desde 0)",
        f"acierta el {100 * row.accuracy:.0f}% (IC 95%: {100 * row.low:.0f}–{100 * row.high:.0f}%, "
        f"n = {row.n})",
        f"frente al {100 * row.baseline:.0f}% de la línea base (siempre la palabra en la posición "
        f"{row.offset:+d})",
        f"{table.null.n_predictors} cabezas al azar",
        "Veredicto: supera la línea base.",
    ):
        assert piece in text, piece
    lines = held_out_text(table).splitlines()
    assert lines[0].split()[:4] == ["relación", "sentido", "capa", "cabeza"]
    body = lines[2 : 2 + len(table.rows)]
    for line, r in zip(body, table.rows, strict=True):
        assert line.startswith(r.relation)
        assert f" {r.n} " in line and f"{100 * r.accuracy:.0f}%" in line
    assert "capas y cabezas desde 0" in "\n".join(lines)


# --------------------------------------------------------------------------- the picture


def test_held_out_picture_draws_the_tables_numbers(gsd_parse_table, tmp_path):
    import matplotlib.pyplot as plt

    table = gsd_parse_table
    ax = plot_held_out(table)
    fig = ax.figure
    fig.savefig(tmp_path / "tabla.png")
    bars = {c.lines[0].get_gid(): c for c in ax.containers}
    for row in table.rows:
        line = bars[f"held-out-{row.relation}"].lines[0]
        assert line.get_xdata()[0] == pytest.approx(100 * row.accuracy)
        (segment,) = bars[f"held-out-{row.relation}"].lines[2][0].get_segments()
        assert segment[:, 0] == pytest.approx([100 * row.low, 100 * row.high])
    (baselines,) = [c for c in ax.collections if c.get_gid() == "held-out-baselines"]
    assert np.asarray(baselines.get_offsets())[:, 0].tolist() == pytest.approx(
        [100 * r.baseline for r in table.rows]
    )
    right = [label for axis in ax.child_axes for label in axis.get_yticklabels()]
    assert [label.get_text() for label in right][::-1] == [
        f"n = {row.n} · {syntax.heldout.VERDICTS_ES[row.verdict].split(':')[0]}" for row in table.rows
    ][::-1]
    # The title stays clear of the grey notes under it.
    renderer = fig.canvas.get_renderer()
    (notes,) = [t for t in ax.texts if t.get_gid() == "notes"]
    assert ax.title.get_window_extent(renderer).y0 >= notes.get_window_extent(renderer).y1
    plt.close(fig)
