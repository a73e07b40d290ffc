"""The lesson's agreement experiment: its numbers recomputed, and a text that names the model."""

from __future__ import annotations

import numpy as np
import pytest

import attnviz

SENTENCE = "Los perros que persiguieron al gato cruzaron la calle."


def test_with_a_masked_word_head_both_forms_are_guessed_and_the_heads_compared(beto_mlm):
    model, tokenizer = beto_mlm
    exp = attnviz.agreement_experiment(
        model, tokenizer, SENTENCE, "cruzaron", "cruzó", "perros", progress=False
    )
    right = attnviz.predict_masked(model, tokenizer, SENTENCE, "cruzaron").probability
    wrong_text = SENTENCE.replace("cruzaron", "cruzó")
    wrong = attnviz.predict_masked(model, tokenizer, wrong_text, "cruzó").probability
    assert exp.right == pytest.approx(right, rel=1e-6) and exp.wrong == pytest.approx(wrong, rel=1e-6)
    grid = attnviz.head_importance(model, tokenizer, SENTENCE, "cruzaron", progress=False)
    np.testing.assert_allclose(exp.importance.values, grid.values, atol=1e-6)
    masked = attnviz.extract(model, tokenizer, SENTENCE, mask="cruzaron")
    np.testing.assert_allclose(exp.attention.values, attnviz.word_attention(masked, "perros").values)
    assert exp.source is None  # the grid starts from the hidden verb
    text = exp.summary()
    verdict = "prefiere" if right > wrong else "no prefiere"
    assert text.startswith(
        f"Con {exp.model_name}, en «{SENTENCE}» el modelo {verdict} la forma que concuerda"
    )
    most = exp.agreement.most_attending
    assert f"La que más mira de «cruzaron» a «perros» es la cabeza {most[1]} de la capa {most[0]}" in text


def test_without_the_head_it_says_that_this_part_needs_beto_and_measures_the_vector(minilm):
    model, tokenizer = minilm
    exp = attnviz.agreement_experiment(
        model, tokenizer, SENTENCE, "cruzaron", "cruzó", "perros", progress=False
    )
    assert exp.right is None and exp.wrong is None and exp.source == "cruzaron"
    assert exp.importance.kind == "sentence_vector"
    assert exp.summary().startswith(
        "Con all-MiniLM-L6-v2 (sin conexión), esta parte no puede medir la concordancia: "
        "el modelo no adivina palabras tapadas (hace falta BETO)."
    )
    plain = attnviz.extract(model, tokenizer, SENTENCE)
    np.testing.assert_allclose(
        exp.attention.values, attnviz.word_attention(plain, "perros", "cruzaron").values
    )


def test_a_verb_not_in_the_sentence_is_one_spanish_sentence(minilm):
    with pytest.raises(attnviz.InvalidInputTypeError) as err:
        attnviz.agreement_experiment(*minilm, SENTENCE, "saltaron", "saltó", "perros", progress=False)
    assert (
        err.value.message_es
        == "«saltaron» no está en la frase como palabra: escribe el verbo tal como aparece en ella."
    )


def test_knock_out_keeps_both_passes_and_the_picture_shows_the_word_before_and_after(beto_mlm):
    import matplotlib.pyplot as plt

    model, tokenizer = beto_mlm
    outcome = attnviz.knock_out(model, tokenizer, SENTENCE, "5:*", mask="cruzaron")
    after = attnviz.extract(model, tokenizer, SENTENCE, mask="cruzaron", heads_off="5:*")
    assert outcome.after.prediction.probability == pytest.approx(after.prediction.probability, rel=1e-6)
    assert outcome.named == "5:*" and len(outcome.heads) == 12
    p0, p1 = outcome.before.prediction.probability, after.prediction.probability
    assert outcome.summary() == f"Con 5:* apagadas, P(«cruzaron») pasa del {p0:.1%} al {p1:.1%}."
    ax = attnviz.plot_knockout(outcome)
    assert "cruzaron" in ax.get_title()
    plt.close(ax.figure)


def test_knock_out_without_the_head_measures_the_sentence_vector(minilm):
    import matplotlib.pyplot as plt

    outcome = attnviz.knock_out(*minilm, SENTENCE, [(0, 1)], mask="cruzaron")
    expected = attnviz.vector_change(
        attnviz.sentence_vector(*minilm, SENTENCE),
        attnviz.sentence_vector(*minilm, SENTENCE, heads_off=[(0, 1)]),
    )
    assert outcome.before is None and outcome.change == pytest.approx(expected)
    ax = attnviz.plot_knockout(outcome)
    values = [t.get_text() for t in ax.texts if (t.get_gid() or "").startswith("value-")]
    assert len(values) == 1
    plt.close(ax.figure)
    with pytest.raises(attnviz.InvalidInputTypeError):
        attnviz.plot_knockout("3:5")
