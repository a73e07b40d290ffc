"""Contribution and q·k, checked against the model's own numbers on every family attnviz reads.

The decomposition test catches, with hooks of its own, each layer's value projection and the
output of its attention output projection (before dropout, residual and LayerNorm), and checks
``Σ_h Σ_j α_ij f_h(x_j) + b_O`` against it: if attnviz read the wrong slice of W_O, the wrong
third of GPT-2's fused c_attn or a transposed weight, the sum would be off by far more than 1e-5.
"""

from __future__ import annotations

import numpy as np
import pytest

import attnviz
from attnviz.core.measures import score_steps, with_measure
from attnviz.core.projections import output_projection

from .conftest import SEED
from .helpers import make_result

ENGLISH = "The dog that chased the cat crossed the street."

#: family -> (value module or fused qkv, output projection), from a layer.
PATHS = {
    "bert": ("attention.self.value", "attention.output.dense"),
    "distilbert": ("attention.v_lin", "attention.out_lin"),
    "gpt2": ("attn.c_attn", "attn.c_proj"),
}


@pytest.fixture(scope="module")
def models(beto, minilm, family_dirs):
    loaded = {name: attnviz.load_model(str(path)) for name, path in family_dirs.items()}
    return {"beto": beto, "minilm": minilm, **loaded}


def _layers(model):
    base = model.base_model
    if model.config.model_type == "gpt2":
        return list(base.h)
    if model.config.model_type == "distilbert":
        return list(base.transformer.layer)
    return list(base.encoder.layer)


def _attr(obj, dotted):
    for name in dotted.split("."):
        obj = getattr(obj, name)
    return obj


def _run_with_own_hooks(model, tokenizer, text):
    """The result, and per layer the value vectors and the attention output the model computed."""
    family = model.config.model_type if model.config.model_type in PATHS else "bert"
    value_path, out_path = PATHS[family]
    values, outputs, hooks = {}, {}, []
    for i, layer in enumerate(_layers(model)):

        def keep_value(_m, _i, out, i=i):
            out = out.detach().double()[0]
            values[i] = out.chunk(3, dim=-1)[2] if family == "gpt2" else out

        def keep_output(_m, _i, out, i=i):
            outputs[i] = out.detach().double()[0].numpy()

        hooks.append(_attr(layer, value_path).register_forward_hook(keep_value))
        hooks.append(_attr(layer, out_path).register_forward_hook(keep_output))
    try:
        result = attnviz.extract(model, tokenizer, text)
    finally:
        for hook in hooks:
            hook.remove()
    return result, values, outputs


@pytest.mark.parametrize("name", ["beto", "minilm", "gpt2", "roberta", "distilbert"])
def test_heads_parts_add_up_to_the_models_attention_output(models, name):
    model, tokenizer = models[name]
    result, values, outputs = _run_with_own_hooks(model, tokenizer, ENGLISH if name == "minilm" else SEED)
    assert result.projections is not None
    for layer in range(result.n_layers):
        w_o, b_o = output_projection(model, layer)
        heads, d_k, _ = w_o.shape
        v = values[layer].numpy().reshape(result.n_tokens, heads, d_k)
        carried = np.einsum("jhd,hde->hje", v, w_o)  # f_h(x_j)
        rebuilt = np.einsum("hij,hje->ie", result.attention[layer].astype(np.float64), carried) + b_o
        np.testing.assert_allclose(rebuilt, outputs[layer], atol=1e-5, rtol=0)
        np.testing.assert_allclose(
            result.projections.value_norms()[layer], np.linalg.norm(carried, axis=-1), atol=1e-5, rtol=1e-5
        )


@pytest.mark.parametrize("name", ["beto", "minilm", "gpt2", "roberta", "distilbert"])
def test_softmax_of_the_rebuilt_scores_is_the_returned_row(models, name):
    model, tokenizer = models[name]
    result = attnviz.extract(model, tokenizer, ENGLISH if name == "minilm" else SEED)
    for layer in range(result.n_layers):
        for head in range(result.n_heads):
            for source in (0, result.n_tokens // 2, result.n_tokens - 1):
                steps = score_steps(result, layer, head, source)
                np.testing.assert_allclose(steps.weights, steps.returned, atol=1e-5, rtol=0)
                np.testing.assert_allclose(steps.scaled, steps.dot * steps.scale)
    assert steps.d_k == model.config.hidden_size // result.n_heads if name != "gpt2" else True


def test_gpt2_scores_leave_the_future_at_zero_and_d_k_comes_from_the_model(models):
    model, tokenizer = models["gpt2"]
    result = attnviz.extract(model, tokenizer, SEED)
    steps = score_steps(result, 1, 2, 3)
    assert (steps.weights[4:] == 0).all() and (steps.unscaled_weights[4:] == 0).all()
    assert steps.d_k == model.config.n_embd // model.config.n_head
    assert steps.scale == pytest.approx(1 / np.sqrt(steps.d_k))


def test_without_the_scale_the_peak_is_sharper(minilm_result):
    steps = score_steps(minilm_result, 0, 0, 2)
    assert steps.scale == pytest.approx(1 / np.sqrt(32))
    assert steps.unscaled_weights.max() > steps.weights.max()
    logits = steps.dot - steps.dot.max()
    np.testing.assert_allclose(steps.unscaled_weights, np.exp(logits) / np.exp(logits).sum())


def test_contribution_is_weight_times_value_norm_rows_normalised(beto_result):
    carried = with_measure(beto_result, "contribucion")
    assert carried.measure == "contribucion" and carried.tokens == beto_result.tokens
    norms = beto_result.projections.value_norms().astype(np.float64)
    expected = beto_result.attention * norms[:, :, None, :]
    expected /= expected.sum(-1, keepdims=True)
    np.testing.assert_allclose(carried.attention, expected, atol=1e-6)
    np.testing.assert_allclose(carried.attention.sum(-1), 1.0, atol=1e-5)
    assert with_measure(carried, "contribución") is carried
    assert with_measure(beto_result, "peso") is beto_result
    assert not carried.attention.flags.writeable


def test_contribution_keeps_the_causal_mask(models):
    model, tokenizer = models["gpt2"]
    carried = with_measure(attnviz.extract(model, tokenizer, SEED), "contribucion")
    upper = np.triu(np.ones((carried.n_tokens,) * 2, dtype=bool), k=1)
    assert (carried.attention[..., upper] == 0).all()


def test_word_level_contribution_merges_the_token_level_one(beto_result):
    words = attnviz.to_words(beto_result)
    merged = attnviz.to_words(with_measure(beto_result, "contribucion"))
    np.testing.assert_allclose(with_measure(words, "contribucion").attention, merged.attention)


def test_contribution_moves_mass_away_from_cls_and_sep_on_the_offline_model(minilm_result):
    def sinks(result):
        profile = attnviz.layer_profile(attnviz.head_metrics(result))
        return profile["cls"] + profile["sep"]

    # What Kobayashi et al. report for BERT, measured here on the real trained MiniLM.
    assert sinks(with_measure(minilm_result, "contribucion")).mean() < sinks(minilm_result).mean()


@pytest.mark.parametrize("bad", ["altura", "", 3])
def test_an_unknown_measure_names_the_two_that_exist(beto_result, bad):
    with pytest.raises(attnviz.InvalidInputTypeError) as caught:
        with_measure(beto_result, bad)
    assert "elige «peso» o «contribucion»" in caught.value.message_es


def test_a_result_without_projections_says_the_measure_is_unavailable():
    hand_made = make_result(np.full((6, 6), 1 / 6))
    for call in (lambda: with_measure(hand_made, "contribucion"), lambda: score_steps(hand_made, 0, 0, 1)):
        with pytest.raises(attnviz.AttnvizError) as caught:
            call()
        assert "no está disponible para este modelo" in caught.value.message_es


def test_an_unknown_family_gets_attention_but_no_projections(beto):
    from attnviz.core.projections import unavailable_reason

    model, tokenizer = beto
    model.config.model_type = "desconocido"
    try:
        assert "no está disponible para este modelo" in unavailable_reason(model)
        result = attnviz.extract(model, tokenizer, SEED)
    finally:
        model.config.model_type = "bert"
    assert result.projections is None and result.attention.shape[:2] == (12, 12)


def test_score_steps_checks_its_indices_in_spanish(beto_result):
    with pytest.raises(attnviz.IndexOutOfRangeError) as caught:
        score_steps(beto_result, 12, 0, 0)
    assert "La capa 12 no existe" in caught.value.message_es


def test_the_lessons_sentence_on_the_two_measures_is_made_of_the_profiles_numbers():
    from attnviz.core.measures import measures_summary

    by_weight = {"cls": np.array([0.5, 0.25]), "sep": np.array([0.1, 0.05]), "punct": np.array([0.02, 0.04])}
    by_contribution = {
        "cls": np.array([0.1, 0.05]),
        "sep": np.array([0.02, 0.03]),
        "punct": np.array([0.1, 0.2]),
    }
    text = measures_summary(by_weight, by_contribution, "BETO", 40)
    assert text == (
        "Con BETO, de media sobre 40 frases y sobre las capas, [CLS] y [SEP] reciben el 45% de la atención "
        "por peso y el 10% por contribución; la puntuación, el 3% y el 15%. Por peso, el token especial más "
        "mirado es [CLS]. Al pesar por lo que cada token entrega, la parte de [CLS] y [SEP] baja; donde más "
        "cambia es en la capa 0 (del 60% al 12%)."
    )


def test_measure_change_is_the_mean_half_l1_distance_between_the_two_measures(beto_result):
    from attnviz.core.measures import measure_change

    change = measure_change(beto_result)
    carried = with_measure(beto_result, "contribucion").attention.astype(np.float64)
    weights = beto_result.attention.astype(np.float64)
    layer, head = 3, 7
    expected = np.mean(
        [
            0.5 * np.abs(carried[layer, head, i] - weights[layer, head, i]).sum()
            for i in range(beto_result.n_tokens)
        ]
    )
    assert change.shape == (12, 12)
    assert change[layer, head] == pytest.approx(expected, rel=1e-5)
    assert ((change >= 0) & (change <= 1)).all()


def test_a_sentence_pairs_contribution_keeps_its_segments_and_rows(beto):
    model, tokenizer = beto
    pair = attnviz.extract(model, tokenizer, "El perro ladra.", "El gato duerme.")
    carried = with_measure(pair, "contribucion")
    assert carried.segments == pair.segments and set(pair.segments) == {0, 1}
    norms = pair.projections.value_norms().astype(np.float64)
    expected = pair.attention * norms[:, :, None, :]
    np.testing.assert_allclose(carried.attention, expected / expected.sum(-1, keepdims=True), atol=1e-6)
