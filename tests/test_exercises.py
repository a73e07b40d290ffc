"""The exercises: the own-metric checker, the controls, and a clear Spanish answer to every bad edit.

The bad-edit tests run the exercise cells of demo-atencion.ipynb themselves (their code as saved,
with one value changed, as a student would) on the offline model, in this process.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from types import SimpleNamespace

import matplotlib.pyplot as plt
import numpy as np
import pytest

import attnviz
from attnviz.core.errors import AttnvizError
from attnviz.lesson import answers, checks, control_plots, controls
from attnviz.lesson.exercises import (
    check_distance_metric,
    reference_distance,
    synthetic_result,
    text_attention,
    uniform_distance,
)
from attnviz.syntax import UPOS_TAGS, annotate

from .helpers import make_result, previous_token_matrix

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "demo-atencion.ipynb"

#: What the exercise cells call at the top level of attnviz (exported by attnviz/__init__.py).
LESSON_NAMES = {
    "check_choice": checks.check_choice,
    "check_threshold": checks.check_threshold,
    "position_control": controls.position_control,
    "ambiguity_control": controls.ambiguity_control,
    "pos_control": controls.pos_control,
    "relation_example": controls.relation_example,
    "plot_ambiguity_control": control_plots.plot_ambiguity_control,
    "plot_pos_control": control_plots.plot_pos_control,
    "exercise_answer": answers.exercise_answer,
}


# --- Exercise 6: the checker -------------------------------------------------------------------


def text_rows(r):
    keep = ~np.array(r.special)
    a = np.asarray(r.attention, dtype=np.float64)[:, :, keep][:, :, :, keep]
    return a / a.sum(axis=-1, keepdims=True)


def positions(n):
    return np.abs(np.arange(n)[:, None] - np.arange(n)[None, :])


def correct(r):
    a = text_rows(r)
    n = a.shape[-1]
    return (a * positions(n)).sum(axis=-1).mean(axis=(1, 2)) / uniform_distance(n)


def with_special_tokens(r):
    a = np.asarray(r.attention, dtype=np.float64)
    n = a.shape[-1]
    return (a * positions(n)).sum(axis=-1).mean(axis=(1, 2)) / uniform_distance(n)


def only_head_0(r):
    a = text_rows(r)
    n = a.shape[-1]
    return (a[:, 0] * positions(n)).sum(axis=-1).mean(axis=-1) / uniform_distance(n)


def max_over_heads(r):
    a = text_rows(r)
    n = a.shape[-1]
    return (a * positions(n)).sum(axis=-1).mean(axis=-1).max(axis=1) / uniform_distance(n)


def max_attention_over_heads(r):
    a = text_rows(r).max(axis=1)
    n = a.shape[-1]
    return (a * positions(n)).sum(axis=-1).mean(axis=-1) / uniform_distance(n)


def not_normalised(r):
    a = text_rows(r)
    return (a * positions(a.shape[-1])).sum(axis=-1).mean(axis=(1, 2))


def rows_not_renormalised(r):
    keep = ~np.array(r.special)
    a = np.asarray(r.attention, dtype=np.float64)[:, :, keep][:, :, :, keep]
    n = a.shape[-1]
    return (a * positions(n)).sum(axis=-1).mean(axis=(1, 2)) / uniform_distance(n)


def one_number(r):
    return float(correct(r).mean())


def test_uniform_distance_known_values() -> None:
    # (n² - 1) / (3n): the mean |i - j| over all pairs of n positions.
    for n in (2, 8, 19, 37):
        assert uniform_distance(n) == pytest.approx((n * n - 1) / (3 * n))


def test_reference_distance_known_values() -> None:
    # [CLS] w1 w2 w3 [SEP]: every word looks at the previous one (w1 at itself) and half at [CLS].
    n_text = 3
    text = previous_token_matrix(n_text)
    m = np.full((5, 5), 0.2)
    m[1:-1] = 0.0
    m[1:-1, 1:-1] = 0.5 * text
    m[1:-1, 0] = 0.5
    result = synthetic_result(m[None, None], special=[True, False, False, False, True])
    # Without the special tokens: distances 0, 1, 1 -> mean 2/3, over the uniform 8/9.
    assert reference_distance(result) == pytest.approx([(2 / 3) / (8 / 9)])
    assert np.allclose(text_attention(result)[0, 0], text)
    # With them, over 5 positions: the text rows reach [CLS] (1, 2, 3 away); the special rows are
    # uniform, at a mean distance of (0 + 1 + 2 + 3 + 4) / 5 from each end.
    rows = [2.0, 0.5 * 1 + 0.5 * 0, 0.5 * 2 + 0.5 * 1, 0.5 * 3 + 0.5 * 1, 2.0]
    assert reference_distance(result, special=True) == pytest.approx([np.mean(rows) / uniform_distance(5)])


def test_checker_accepts_a_correct_metric(capsys: pytest.CaptureFixture[str]) -> None:
    assert check_distance_metric(correct) is True
    assert capsys.readouterr().out.strip().endswith("¡Correcto!")


@pytest.mark.parametrize(
    ("wrong", "hint"),
    [
        (with_special_tokens, "cuentas [CLS] y [SEP]"),
        (only_head_0, "usas una sola cabeza"),
        (max_over_heads, "tomas el máximo sobre las cabezas"),
        (max_attention_over_heads, None),
        (not_normalised, "no divides por uniform_distance(n)"),
        (rows_not_renormalised, "al quitar [CLS] y [SEP], las filas ya no suman 1"),
        (one_number, None),
        (lambda r: np.zeros(r.n_layers), None),
        (lambda r: 1 / 0, None),
    ],
    ids=[
        "with-special",
        "only-head-0",
        "max-over-heads",
        "max-attention-over-heads",
        "not-normalised",
        "rows-not-renormalised",
        "one-number",
        "zeros",
        "error",
    ],
)
def test_checker_rejects_wrong_metrics(wrong, hint, capsys: pytest.CaptureFixture[str]) -> None:
    assert check_distance_metric(wrong) is False
    out = capsys.readouterr().out
    assert "✗" in out and out.strip().endswith("Todavía no: revisa los casos marcados con ✗.")
    if hint:
        assert f"Pista: {hint}" in out


def test_the_known_cases_have_heads_that_differ_and_special_tokens() -> None:
    """What makes «only head 0» and «max over heads» fail: no layer has two equal heads."""
    from attnviz.lesson.exercises import _cases

    for _, result in _cases():
        assert result.special[0] and result.special[-1]
        for layer in result.attention:
            assert not np.allclose(layer[0], layer[1])


# --- The controls -------------------------------------------------------------------------------


def test_position_control_names_the_neighbour_and_the_head_s_share() -> None:
    # Every token looks at the previous one: from «gato», «El» is the most attended, one step back.
    result = make_result(previous_token_matrix(6))
    text = controls.position_control(result, 0, 0, 2)
    assert text == (
        "Control de posición: desde «gato», el token más mirado es «El» (100%), justo el anterior; esta "
        "cabeza da de media el 100% de su atención al token anterior, así que mirar a «El» puede ser solo "
        "posición, no sintaxis: pruébalo con una frase en la que otra palabra se meta entre las dos."
    )
    # head_metrics' share is a mean over the rows that have a previous token: all of them look at it.
    assert attnviz.head_metrics(result).previous[0, 0] == pytest.approx(1.0)


def test_position_control_says_when_the_pick_is_not_a_neighbour() -> None:
    m = np.zeros((6, 6))
    m[:, 4] = 1.0  # every token looks at «.»
    text = controls.position_control(make_result(m), 0, 0, 1)
    assert "el token más mirado es «.» (100%), 3 tokens después: no es su vecino" in text


@pytest.fixture(scope="module")
def lesson(minilm):
    model, tokenizer = minilm
    return model, tokenizer


def test_ambiguity_control_recomputes(lesson) -> None:
    model, tokenizer = lesson
    sentences = ["Me senté en el banco del parque.", "Saqué dinero del banco ayer."]
    control = controls.ambiguity_control(model, tokenizer, sentences, "banco", ["sofá"])
    assert control.sentences[1] == ("Me senté en el sofá del parque.", "Saqué dinero del sofá ayer.")
    for w, word in enumerate(("banco", "sofá")):
        for s, sentence in enumerate(control.sentences[w]):
            words = attnviz.to_words(attnviz.extract(model, tokenizer, sentence))
            source = words.words.index(word)
            assert control.sources[w][s] == source
            for layer in range(words.n_layers):
                row = words.attention[layer].mean(axis=0)[source].astype(np.float64)
                row[[*np.flatnonzero(words.special), source]] = -1
                assert control.top[w][s][layer] == words.tokens[int(np.argmax(row))]
    # The overlap of two identical rows is 1: the ambiguous word as its own control.
    same = controls.ambiguity_control(model, tokenizer, sentences, "banco", "banco")
    assert np.allclose(same.overlap, 1.0)
    assert same.same_as_word(1, same.n_layers - 1)
    assert str(control).splitlines()[-1] == control.conclusion()


def test_uniform_control_is_what_counting_pieces_gives(lesson) -> None:
    model, tokenizer = lesson
    sentences = ["El niño come una manzana roja.", "Los perros ladran a los gatos del vecino."]
    control = controls.pos_control(model, tokenizer, sentences, "VERB", "NOUN", "DET")
    # Uniform attention from a verb: each word gets its share of the tagged pieces.
    shares = {"NOUN": [], "DET": []}
    for sentence in sentences:
        result = attnviz.extract(model, tokenizer, sentence)
        annotation = annotate(result)
        tagged = [w for w, tag in enumerate(annotation.upos) if annotation.aligned[w] and tag in UPOS_TAGS]
        pieces = {w: result.word_ids.count(w) for w in tagged}
        total = sum(pieces.values())
        for w in tagged:
            if annotation.upos[w] == "VERB":
                for tag in shares:
                    shares[tag].append(sum(pieces[v] for v in tagged if annotation.upos[v] == tag) / total)
    for k, tag in enumerate(("NOUN", "DET")):
        assert np.allclose(control.uniform[:, k], np.mean(shares[tag]), atol=1e-6)
    assert control.conclusion().startswith(
        f"Control ({control.model_name}, 2 frases): con atención uniforme ya sale VERB → NOUN "
        f"{np.mean(shares['NOUN']):.2f} frente a VERB → DET {np.mean(shares['DET']):.2f}"
    )


def test_relation_example_draws_from_the_relation_s_end(lesson) -> None:
    model, tokenizer = lesson
    example = controls.relation_example(
        model, tokenizer, "CASE", "Los niños juegan en el parque por la tarde."
    )
    edge = example.annotation.edges({"case"})[0]
    assert {example.source, example.target} == {edge.dependent, edge.governor}
    assert example.from_parser and "spaCy" in str(example) and "puede equivocarse" in str(example)
    assert example.relation == "case"


def test_the_pictures_of_the_controls(lesson) -> None:
    model, tokenizer = lesson
    control = controls.pos_control(model, tokenizer, None, "VERB", "NOUN", "DET")
    ax = control_plots.plot_pos_control(control)
    lines = {line.get_gid(): line.get_ydata() for line in ax.get_lines()}
    assert np.allclose(lines["modelo-NOUN"], control.model[:, 0])
    assert np.allclose(lines["uniforme-DET"], control.uniform[:, 1])
    plt.close("all")
    ambiguity = controls.ambiguity_control(
        model,
        tokenizer,
        ["Me senté en el banco del parque.", "Saqué dinero del banco ayer."],
        "banco",
        "sofá",
    )
    axes = control_plots.plot_ambiguity_control(ambiguity)
    assert len(axes) == 4 and len(plt.get_fignums()) == 1
    assert "sofá" in axes[2].get_title() and "banco" in axes[0].get_title()
    plt.close("all")


# --- Every bad edit of an exercise cell: one Spanish sentence, no figure -----------------------


@pytest.fixture(scope="module")
def namespace(minilm):
    model, tokenizer = minilm
    frase = "El perro que persiguió al gato cruzó la calle."
    return {
        "plt": plt,
        "np": np,
        "attnviz": attnviz,
        "head_metrics": attnviz.head_metrics,
        "model": model,
        "tokenizer": tokenizer,
        "FRASE": frase,
        "resultado": attnviz.extract(model, tokenizer, frase),
        "mi_frase": "La niña que leía el libro sonrió a su hermano.",
    }


@pytest.fixture
def exported(monkeypatch: pytest.MonkeyPatch) -> None:
    # Until attnviz/__init__.py exports them, the cells find the lesson's names where they will be.
    for name, value in LESSON_NAMES.items():
        if not hasattr(attnviz, name):
            monkeypatch.setattr(attnviz, name, value, raising=False)


def cells_of(path: Path) -> list[SimpleNamespace]:
    """A notebook's cells, read as plain JSON: the Colab and Kaggle replicas run these tests without it."""
    cells = json.loads(Path(path).read_text(encoding="utf-8"))["cells"]
    return [
        SimpleNamespace(
            cell_type=c["cell_type"],
            metadata=c.get("metadata", {}),
            source="".join(c["source"]) if isinstance(c["source"], list) else c["source"],
        )
        for c in cells
    ]


def exercise_cell(snippet: str) -> str:
    found = [
        c.source
        for c in cells_of(NOTEBOOK)
        if c.cell_type == "code" and "ejercicio" in c.metadata.get("tags", []) and snippet in c.source
    ]
    assert len(found) == 1, snippet
    return found[0]


def run_cell(namespace: dict, snippet: str, edits: dict[str, str]) -> dict:
    source = exercise_cell(snippet)
    for old, new in edits.items():
        assert old in source, old
        source = source.replace(old, new)
    scope = dict(namespace)
    plt.close("all")
    exec(compile(source, f"<ejercicio {snippet}>", "exec"), scope)
    return scope


def tokens_of(namespace: dict, sentence: str) -> int:
    return attnviz.extract(namespace["model"], namespace["tokenizer"], sentence).n_tokens


#: (cell, edit, expected Spanish message or a function of the namespace giving it).
BAD_EDITS = {
    "ex1-layer-out-of-range": (
        "mi_frase =",
        {"CAPA_1, CABEZA_1 = 0, 0": "CAPA_1, CABEZA_1 = 7, 0"},
        "La capa 7 no existe: hay 6 capas, numeradas del 0 al 5; escribe un número entre 0 y 5.",
    ),
    "ex1-negative-layer": (
        "mi_frase =",
        {"CAPA_1, CABEZA_1 = 0, 0": "CAPA_1, CABEZA_1 = -1, 0"},
        "La capa -1 no vale: aquí se cuenta desde 0 y sin números negativos; escribe un número entre 0 y 5.",
    ),
    "ex1-head-out-of-range": (
        "mi_frase =",
        {"CAPA_1, CABEZA_1 = 0, 0": "CAPA_1, CABEZA_1 = 0, 12"},
        "La cabeza 12 no existe: hay 12 cabezas, numeradas del 0 al 11; escribe un número entre 0 y 11.",
    ),
    "ex1-token-out-of-range": (
        "mi_frase =",
        {"ORIGEN_1 = min(1, mi_resultado.n_tokens - 1)": "ORIGEN_1 = 40"},
        lambda ns: (
            f"El token 40 no existe: hay {(n := tokens_of(ns, ns['mi_frase']))} tokens, numerados del 0 al "
            f"{n - 1}; escribe un número entre 0 y {n - 1}."
        ),
    ),
    "ex1-layer-as-text": (
        "mi_frase =",
        {"CAPA_1, CABEZA_1 = 0, 0": 'CAPA_1, CABEZA_1 = "1", 0'},
        "La capa tiene que ser un número entero entre 0 y 5, sin comillas ni decimales, no '1'.",
    ),
    "ex2-layer-out-of-range": (
        "CAPA_2, CABEZA_2 =",
        {"CAPA_2, CABEZA_2 = 0, 0": "CAPA_2, CABEZA_2 = 6, 0"},
        "La capa 6 no existe: hay 6 capas, numeradas del 0 al 5; escribe un número entre 0 y 5.",
    ),
    "ex2-negative-head": (
        "CAPA_2, CABEZA_2 =",
        {"CAPA_2, CABEZA_2 = 0, 0": "CAPA_2, CABEZA_2 = 0, -1"},
        "La cabeza -1 no vale: aquí se cuenta desde 0 y sin números negativos; escribe un número entre 0 "
        "y 11.",
    ),
    "ex3-head-out-of-range": (
        "frases_3 = [",
        {"CABEZA_3 = None": "CABEZA_3 = 12"},
        "La cabeza 12 no existe: hay 12 cabezas, numeradas del 0 al 11; escribe un número entre 0 y 11.",
    ),
    "ex3-control-of-two-words": (
        "frases_3 = [",
        {'control_3 = "sofá"': 'control_3 = "sofá cama"'},
        "'sofá cama' no vale como palabra: escribe una sola palabra entre comillas, como \"sofá\".",
    ),
    "ex3-one-string": (
        "frases_3 = [",
        {'["Me senté en el banco del parque.", "Saqué dinero del banco ayer."]': '"Me senté en el banco."'},
        'La lista de frases tiene que ser una lista, con corchetes: ["Me senté en el banco."], no una sola '
        "frase entre comillas.",
    ),
    "ex4-one-string": (
        "frases_4 = [",
        {
            '["El niño come una manzana roja.", "Los perros ladran a los gatos del vecino."]': (
                '"El niño come una manzana roja."'
            )
        },
        'La lista de frases tiene que ser una lista, con corchetes: ["El niño come una manzana roja."], no '
        "una sola frase entre comillas.",
    ),
    "ex4-unknown-tag": (
        "frases_4 = [",
        {'"VERB", "NOUN", "DET"': '"VERBO", "NOUN", "DET"'},
        "La categoría 'VERBO' no existe: escribe una de "
        + ", ".join(f"{t} ({attnviz.syntax.POS_NAMES_ES[t]})" for t in UPOS_TAGS)
        + ".",
    ),
    "ex7-relation-the-sentence-lacks": (
        "relacion_7 =",
        {'relacion_7 = "case"': 'relacion_7 = "iobj"'},
        "Tu frase no tiene ninguna relación «iobj» según spaCy; sus relaciones son case, det, nsubj, obl: "
        "elige una de ellas o cambia la frase.",
    ),
    "ex7-unknown-relation": (
        "relacion_7 =",
        {'relacion_7 = "case"': 'relacion_7 = "sujeto"'},
        "La relación 'sujeto' no existe: escribe una de det, nsubj, obj, iobj, amod, case, nmod, obl, "
        "advmod, aux, cop, mark, cc, conj, acl, advcl, ccomp, xcomp, csubj, nummod, appos, expl.",
    ),
    "ex8-threshold-out-of-range": (
        "CAPA_8, CABEZA_8 =",
        {"UMBRAL_8 = 0.3": "UMBRAL_8 = 250"},
        "El umbral 250 no vale: escribe una fracción entre 0 y 1 (como 0.3) o un porcentaje entre 0 y 100 "
        "(como 30).",
    ),
    "ex8-threshold-with-a-comma": (
        "CAPA_8, CABEZA_8 =",
        {"UMBRAL_8 = 0.3": 'UMBRAL_8 = "0,3"'},
        "El umbral tiene que ser un número, una fracción entre 0 y 1 (como 0.3) o un porcentaje entre 0 y "
        "100 (como 30), no '0,3'.",
    ),
    "ex8-layer-out-of-range": (
        "CAPA_8, CABEZA_8 =",
        {"CAPA_8, CABEZA_8 = 1, 0": "CAPA_8, CABEZA_8 = 6, 0"},
        "La capa 6 no existe: hay 6 capas, numeradas del 0 al 5; escribe un número entre 0 y 5.",
    ),
    "ex9-negative-layer": (
        "resultado_9 = ",
        {"CAPA_9, CABEZA_9 = 0, 0": "CAPA_9, CABEZA_9 = -1, 0"},
        "La capa -1 no vale: aquí se cuenta desde 0 y sin números negativos; escribe un número entre 0 y 5.",
    ),
    "ex9-token-out-of-range": (
        "resultado_9 = ",
        {"ORIGEN_9 = min(2, resultado_9.n_tokens - 1)": "ORIGEN_9 = 99"},
        lambda ns: (
            f"El token 99 no existe: hay {(n := tokens_of(ns, ns['mi_frase']))} tokens, numerados del 0 al "
            f"{n - 1}; escribe un número entre 0 y {n - 1}."
        ),
    ),
}


@pytest.mark.parametrize("case", list(BAD_EDITS), ids=list(BAD_EDITS))
def test_every_bad_edit_gets_one_spanish_sentence_and_no_figure(case, namespace, exported) -> None:
    snippet, edits, expected = BAD_EDITS[case]
    with pytest.raises(AttnvizError) as raised:
        run_cell(namespace, snippet, edits)
    message = expected(namespace) if callable(expected) else expected
    assert raised.value.message_es == message
    # What a student sees in Jupyter: that one red sentence, no traceback.
    assert raised.value._render_traceback_() == [f"\x1b[31m{message}\x1b[0m"]
    assert plt.get_fignums() == [], "an empty figure was left under the error"


BOTH_SENTENCES_4 = '"El niño come una manzana roja.", "Los perros ladran a los gatos del vecino."'


def test_an_english_sentence_in_exercise_4_says_what_the_parser_found(namespace, exported) -> None:
    sentence = "The dog eats an apple."
    with pytest.raises(AttnvizError) as raised:
        run_cell(
            namespace,
            "frases_4 = [",
            {BOTH_SENTENCES_4: f'"{sentence}"'},
        )
    result = attnviz.extract(namespace["model"], namespace["tokenizer"], sentence)
    annotation = annotate(result)
    found = [
        t
        for t in UPOS_TAGS
        if any(a and u == t for a, u in zip(annotation.aligned, annotation.upos, strict=True))
    ]
    assert "NOUN" not in found  # what the Spanish parser makes of English
    missing = " ni ".join(t for t in ("VERB", "NOUN") if t not in found)
    names = ", ".join(f"{t} ({attnviz.syntax.POS_NAMES_ES[t]})" for t in found)
    assert raised.value.message_es == (
        f"En estas frases el analizador no encuentra ningún {missing} y solo ve {names}: ¿están en español?; "
        "escribe frases en español que tengan un VERB y un NOUN."
    )
    assert plt.get_fignums() == []


def test_a_relation_in_capitals_and_a_percentage_threshold_are_accepted(namespace, exported) -> None:
    scope = run_cell(namespace, "relacion_7 =", {'relacion_7 = "case"': 'relacion_7 = "CASE"'})
    assert scope["ejemplo_7"].relation == "case"
    assert len(plt.get_fignums()) == 1
    scope = run_cell(namespace, "CAPA_8, CABEZA_8 =", {"UMBRAL_8 = 0.3": "UMBRAL_8 = 30"})
    assert scope["umbral_8"] == pytest.approx(0.3)
    assert len(plt.get_fignums()) == 1
    plt.close("all")


def test_the_cells_as_saved_run_and_give_their_control(namespace, exported, capsys) -> None:
    run_cell(namespace, "mi_frase =", {})
    assert "Control de posición: desde" in capsys.readouterr().out
    run_cell(namespace, "frases_3 = [", {})
    out = capsys.readouterr().out
    assert re.search(r"^capa 5: «banco» → .+ · «sofá» → ", out, re.MULTILINE)
    assert "Control (" in out
    run_cell(namespace, "frases_4 = [", {})
    assert "(uniforme " in capsys.readouterr().out
    run_cell(namespace, "relacion_7 =", {})
    assert "El análisis de tu frase es de spaCy" in capsys.readouterr().out
    plt.close("all")


def test_check_threshold_reads_fractions_and_percentages() -> None:
    assert checks.check_threshold(0) == 0.0
    assert checks.check_threshold(1) == 1.0
    assert checks.check_threshold(0.25) == 0.25
    assert checks.check_threshold(30) == pytest.approx(0.3)
    assert checks.check_threshold(100) == 1.0
    for bad in (-0.1, 100.5, True, None, "30"):
        with pytest.raises(checks.ExerciseInputError):
            checks.check_threshold(bad)


def test_check_choice_accepts_numpy_integers_and_refuses_booleans() -> None:
    result = make_result(previous_token_matrix(6))
    checks.check_choice(result, layer=np.int64(0), head=np.int32(0), source=np.int64(5))
    with pytest.raises(attnviz.IndexOutOfRangeError):
        checks.check_choice(result, layer=True)
    with pytest.raises(attnviz.IndexOutOfRangeError):
        checks.check_choice(result, source=2.0)


def test_without_spacy_exercise_7_draws_a_corpus_sentence_and_says_so(lesson, monkeypatch) -> None:
    """«Run all» on a machine without the parser goes on past exercise 7, with a Spanish note."""
    model, tokenizer = lesson

    def no_parser(*args, **kwargs):
        raise attnviz.ParserUnavailableError("Falta spaCy: instálalo.", "spaCy is missing.")

    monkeypatch.setattr(controls, "annotate", no_parser)
    example = controls.relation_example(
        model, tokenizer, "obl", "Los niños juegan en el parque por la tarde."
    )
    assert example.note.startswith(
        "Falta spaCy: instálalo. Uso una frase del corpus con «obl», analizada a mano"
    )
    assert example.words.text in example.note and example.annotation.edges({"obl"})
    assert not example.from_parser and str(example).startswith(example.note)


def test_the_notebooks_call_only_what_attnviz_exports() -> None:
    """Every ``attnviz.name`` in the exercise cells and the solutions is a top-level name of the package."""
    cells = [c for c in cells_of(NOTEBOOK) if "ejercicio" in c.metadata.get("tags", [])]
    cells += [
        c
        for c in cells_of(ROOT / "soluciones-atencion.ipynb")
        if c.cell_type == "code" and "attnviz-install" not in c.metadata.get("tags", [])
    ]
    called = {name for c in cells for name in re.findall(r"\battnviz\.([a-zA-Z_]\w*)\b", c.source)}
    assert set(LESSON_NAMES) - {"exercise_answer"} <= called
    missing = sorted(name for name in called if name != "syntax" and not hasattr(attnviz, name))
    assert missing == [], f"attnviz/__init__.py does not export {missing}"
