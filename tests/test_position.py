"""Word order: the position-embedding switch, the shuffled sentence and the experiment's numbers."""

from __future__ import annotations

import numpy as np
import pytest

import attnviz
from attnviz.core.position import position_experiment, shuffled_words, without_word_order

SENTENCE = "El perro que persiguió al gato cruzó la calle."


def test_shuffled_words_are_the_same_words_in_another_order():
    shuffled = shuffled_words(SENTENCE, seed=3)
    assert shuffled != SENTENCE
    assert sorted(shuffled.split()) == sorted(SENTENCE.split())
    assert shuffled_words(SENTENCE, seed=3) == shuffled


def test_a_sentence_that_cannot_be_shuffled_says_so_in_spanish():
    with pytest.raises(attnviz.InvalidTextError) as err:
        shuffled_words("perro perro")
    assert err.value.message_es.startswith("Para desordenar una frase hacen falta al menos dos palabras")


def test_without_word_order_attention_only_follows_the_tokens(minilm):
    """With every token at the same position, permuting the words permutes the attention, exactly."""
    model, tokenizer = minilm
    with without_word_order(model):
        ab = attnviz.extract(model, tokenizer, "dog cat")
        ba = attnviz.extract(model, tokenizer, "cat dog")
    assert ab.tokens == ("[CLS]", "dog", "cat", "[SEP]")
    order = [0, 2, 1, 3]  # ba's tokens in ab's order
    np.testing.assert_allclose(ba.attention[:, :, order][:, :, :, order], ab.attention, atol=1e-5)


def test_the_switch_is_gone_after_the_block_even_on_error(minilm):
    model, tokenizer = minilm
    before = attnviz.extract(model, tokenizer, SENTENCE).attention
    with pytest.raises(RuntimeError), without_word_order(model):
        raise RuntimeError("boom")
    after = attnviz.extract(model, tokenizer, SENTENCE).attention
    np.testing.assert_array_equal(before, after)


def test_experiment_numbers_are_the_heads_shares_in_three_passes(minilm):
    model, tokenizer = minilm
    exp = position_experiment(model, tokenizer, SENTENCE, seed=0)
    written = attnviz.extract(model, tokenizer, SENTENCE)
    following = attnviz.head_metrics(written).following
    assert (exp.layer, exp.head) == np.unravel_index(np.argmax(following), following.shape)
    assert exp.as_written == pytest.approx(following[exp.layer, exp.head])
    shuffled = attnviz.extract(model, tokenizer, exp.shuffled_text)
    assert exp.shuffled == pytest.approx(attnviz.head_metrics(shuffled).following[exp.layer, exp.head])
    assert exp.uniform == pytest.approx(1 / written.n_tokens)
    # What the lesson says, measured on the offline model: the head follows the position...
    assert exp.shuffled > 0.5 * exp.as_written
    # ...and without position embeddings it is no better than an even spread.
    assert exp.without_order < 2 * exp.uniform
    text = exp.summary()
    assert f"manda el {exp.as_written:.0%}" in text
    assert f"baja al {exp.without_order:.0%}" in text
    assert "sigue mirando a la posición siguiente" in text


def test_a_causal_model_follows_the_previous_token(family_dirs):
    model, tokenizer = attnviz.load_model(str(family_dirs["gpt2"]))
    exp = position_experiment(model, tokenizer, SENTENCE)
    assert exp.towards == "prev"
    written = attnviz.extract(model, tokenizer, SENTENCE)
    assert exp.as_written == pytest.approx(attnviz.head_metrics(written).previous[exp.layer, exp.head])


def test_a_wrong_direction_is_one_spanish_sentence(minilm):
    model, tokenizer = minilm
    with pytest.raises(attnviz.InvalidInputTypeError) as err:
        position_experiment(model, tokenizer, SENTENCE, towards="left")
    assert 'usa towards="next"' in err.value.message_es
