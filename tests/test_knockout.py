"""Switching heads off, checked against recomputations by hand that use none of attnviz's hooks.

A head reaches the rest of the model only through its slice of the attention output projection's
input.  The BERT checks catch that input (and the residual) in a normal pass, zero the slice, apply
the projection, LayerNorm, the feed-forward block and every later layer by hand, and compare with
the model run inside :func:`switch_off`; the other families replace the projection's output with
one computed by hand from the zeroed input.  Each comparison also checks that the head changed
the numbers by far more than the tolerance, so that a knockout doing nothing would fail.
"""

from __future__ import annotations

import contextlib
import copy
import math

import numpy as np
import pytest
import torch

import attnviz
from attnviz.core.errors import (
    IndexOutOfRangeError,
    InvalidInputTypeError,
    InvalidTextError,
    MeasureUnavailableError,
)
from attnviz.core.importance import head_importance, importance_to_csv
from attnviz.core.knockout import (
    format_heads,
    output_projections,
    parse_heads,
    switch_off,
    switch_off_per_row,
)
from attnviz.core.prediction import (
    mask_word,
    model_inputs,
    predict_masked,
    predict_next,
    sentence_vector,
    vector_change,
)
from attnviz.core.projections import n_heads

from .conftest import SEED

ENGLISH = "The dog that chased the cat crossed the street."
PLURAL = "Los niños cruzaron la calle corriendo."
#: Far above float32 noise, far below what one head of these random models changes.
TOLERANCE = 1e-5


@pytest.fixture(scope="module")
def families(family_dirs):
    """Base models from the family folders, and masked-LM / LM-head models built on their configs."""
    from transformers import DistilBertForMaskedLM, GPT2LMHeadModel, RobertaForMaskedLM

    loaded = {name: attnviz.load_model(str(path)) for name, path in family_dirs.items()}
    heads = {"distilbert": DistilBertForMaskedLM, "roberta": RobertaForMaskedLM, "gpt2": GPT2LMHeadModel}
    with_head = {}
    for name, cls in heads.items():
        torch.manual_seed(1)
        config = copy.deepcopy(loaded[name][0].config)
        config.initializer_range = 0.2
        with_head[name] = (cls(config).eval(), loaded[name][1])
    return loaded, with_head


def _inputs(model, tokenizer, text):
    encoded = tokenizer(text, return_tensors="pt")
    return {k: v for k, v in encoded.items() if k in ("input_ids", "attention_mask", "token_type_ids")}


def _logits(model, inputs):
    with torch.inference_mode():
        return model(**inputs).logits


def _bert_by_hand(model, inputs, layer, heads):
    """Last hidden states with ``heads`` of ``layer`` zeroed, module by module (no attnviz code)."""
    layers = model.base_model.encoder.layer
    block = layers[layer].attention.output  # BertSelfOutput: LayerNorm(dense(context) + residual)
    caught = {}

    def grab(_module, args):
        caught["context"], caught["residual"] = args[0].clone(), args[1].clone()

    handle = block.register_forward_pre_hook(grab)
    try:
        with torch.inference_mode():
            model(**inputs)
    finally:
        handle.remove()
    with torch.inference_mode():
        context = caught["context"].clone()
        d_k = context.shape[-1] // model.config.num_attention_heads
        for head in heads:
            context[..., head * d_k : (head + 1) * d_k] = 0
        projected = context @ block.dense.weight.T + block.dense.bias
        attention = block.LayerNorm(projected + caught["residual"])
        hidden = layers[layer].output(layers[layer].intermediate(attention), attention)
        for later in layers[layer + 1 :]:
            out = later(hidden)
            hidden = out[0] if isinstance(out, tuple) else out
    return hidden


@contextlib.contextmanager
def _projection_by_hand(model, layer, heads):
    """Replace one layer's output projection output by one computed by hand from its zeroed input."""
    module = output_projections(model)[layer]
    heads_per_layer = n_heads(model.config)

    def replace(mod, args, _output):
        x = args[0].clone()
        d_k = x.shape[-1] // heads_per_layer
        for head in heads:
            x[..., head * d_k : (head + 1) * d_k] = 0
        if type(mod).__name__ == "Conv1D":  # GPT-2: x @ W + b, W is [in, out]
            return x @ mod.weight + mod.bias
        return x @ mod.weight.T + mod.bias

    handle = module.register_forward_hook(replace)
    try:
        yield
    finally:
        handle.remove()


def _mean_over_words(hidden, tokenizer, text):
    special = tokenizer(text, return_special_tokens_mask=True)["special_tokens_mask"]
    keep = torch.tensor([0.0 if s else 1.0 for s in special], dtype=torch.float64)
    return ((hidden[0].double() * keep[:, None]).sum(0) / keep.sum()).numpy()


# --- parse_heads ---------------------------------------------------------------------------------


def test_parse_heads_accepts_pairs_lists_and_whole_layers():
    assert parse_heads("3:5", 12, 12) == [(3, 5)]
    assert parse_heads("3:5,4:0", 12, 12) == [(3, 5), (4, 0)]
    assert parse_heads("3:*", 12, 12) == [(3, h) for h in range(12)]
    assert parse_heads(" 3 : 5 , 4:0 , 3:5 ,", 12, 12) == [(3, 5), (4, 0)]
    assert parse_heads("0:0,11:11", 12, 12) == [(0, 0), (11, 11)]


@pytest.mark.parametrize(
    ("text", "error", "message"),
    [
        (
            "3:15",
            IndexOutOfRangeError,
            "La cabeza 15 no existe: hay 12 (cabezas 0 a 11). "
            "Escribe CAPA:CABEZA, por ejemplo 3:5, o 3:* para toda la capa.",
        ),
        ("12:0", IndexOutOfRangeError, "La capa 12 no existe: hay 12 (capas 0 a 11)."),
        ("-1:0", IndexOutOfRangeError, "La capa -1 no existe: hay 12 (capas 0 a 11)."),
        (
            "a:b",
            InvalidInputTypeError,
            "«a:b» no es una cabeza: la capa debe ser un número entero y «a» no lo es.",
        ),
        (
            "3:x",
            InvalidInputTypeError,
            "«3:x» no es una cabeza: la cabeza debe ser un número entero y «x» no",
        ),
        ("", InvalidInputTypeError, "No has escrito ninguna cabeza."),
        ("3", InvalidInputTypeError, "«3» no es una cabeza: falta la forma CAPA:CABEZA."),
        ("3:5:1", InvalidInputTypeError, "«3:5:1» no es una cabeza: falta la forma CAPA:CABEZA."),
        ("3:5,,4:0", InvalidInputTypeError, "Sobra una coma en «3:5,,4:0»."),
        (":5", InvalidInputTypeError, "«:5» no es una cabeza: falta el número de la capa."),
        (35, InvalidInputTypeError, "Las cabezas se escriben como texto, no como int."),
    ],
)
def test_parse_heads_rejects_with_one_spanish_sentence(text, error, message):
    with pytest.raises(error) as caught:
        parse_heads(text, 12, 12)
    assert caught.value.message_es.startswith(message)
    # Every message ends saying what is valid.
    assert caught.value.message_es.endswith("Escribe CAPA:CABEZA, por ejemplo 3:5, o 3:* para toda la capa.")
    assert caught.value.message_en.endswith("Write LAYER:HEAD, e.g. 3:5, or 3:* for the whole layer.")


def test_format_heads_writes_them_back_as_parse_heads_reads_them():
    for text in ("3:5", "3:5, 4:0", "3:*", "0:*, 11:11"):
        assert format_heads(parse_heads(text, 12, 12), n_heads=12) == text
    assert format_heads([(3, h) for h in range(12)]) == ", ".join(f"3:{h}" for h in range(6)).join(
        ["12 cabezas (", ", …)"]
    )
    assert format_heads([]) == ""


def test_the_example_in_the_message_fits_a_small_model():
    with pytest.raises(IndexOutOfRangeError) as caught:
        parse_heads("3:1", 2, 4)
    assert caught.value.message_es == (
        "La capa 3 no existe: hay 2 (capas 0 a 1). "
        "Escribe CAPA:CABEZA, por ejemplo 1:3, o 1:* para toda la capa."
    )


def test_switch_off_checks_pairs_and_takes_text(beto_mlm):
    model, _ = beto_mlm
    with pytest.raises(IndexOutOfRangeError, match="La cabeza 12 no existe"), switch_off(model, [(0, 12)]):
        pass
    with (
        pytest.raises(InvalidInputTypeError, match="debe ser un número entero"),
        switch_off(model, [(True, 0)]),
    ):
        pass
    with pytest.raises(InvalidInputTypeError, match="Cada cabeza es un par"), switch_off(model, [3]):
        pass
    with switch_off(model, "3:5, 3:5, 4:0") as heads:
        assert heads == [(3, 5), (4, 0)]


def test_an_unknown_family_is_a_spanish_error():
    class Mystery(torch.nn.Module):
        config = type("Config", (), {"model_type": "mistral", "num_attention_heads": 4})()

    with pytest.raises(MeasureUnavailableError) as caught, switch_off(Mystery(), [(0, 0)]):
        pass
    assert caught.value.message_es == (
        "No se pueden apagar cabezas en este modelo: attnviz no sabe dónde está la salida de la atención "
        "de «mistral» (sí en BERT, RoBERTa, DistilBERT, GPT-2 y MiniLM)."
    )


# --- BETO-shaped masked LM -----------------------------------------------------------------------


def test_switching_off_nothing_gives_the_original_numbers_exactly(beto_mlm):
    model, tokenizer = beto_mlm
    inputs = _inputs(model, tokenizer, SEED)
    original = _logits(model, inputs)
    with switch_off(model, []):
        assert torch.equal(_logits(model, inputs), original)
    pair = {k: v.expand(2, -1) for k, v in inputs.items()}
    with switch_off_per_row(model, np.ones((2, 12, 12))):
        assert torch.equal(_logits(model, pair), _logits(model, pair))
    assert predict_masked(model, tokenizer, SEED, "gato", heads_off=()) == predict_masked(
        model, tokenizer, SEED, "gato"
    )


@pytest.mark.parametrize(("layer", "head"), [(0, 3), (5, 0), (11, 11)])
def test_one_head_off_equals_the_recomputation_by_hand(beto_mlm, layer, head):
    model, tokenizer = beto_mlm
    inputs = _inputs(model, tokenizer, SEED)
    original = _logits(model, inputs)
    with switch_off(model, [(layer, head)]):
        knocked = _logits(model, inputs)
    with torch.inference_mode():
        by_hand = model.cls(_bert_by_hand(model, inputs, layer, [head]))
    torch.testing.assert_close(knocked, by_hand, atol=TOLERANCE, rtol=0)
    assert (knocked - original).abs().max() > 1000 * TOLERANCE


def test_a_whole_layer_off_leaves_only_the_residual_path(beto_mlm):
    model, tokenizer = beto_mlm
    inputs = _inputs(model, tokenizer, SEED)
    layer = 4
    block = model.bert.encoder.layer[layer].attention.output
    caught = {}

    def grab(_module, args, output):
        caught["context"], caught["residual"], caught["output"] = args[0], args[1], output

    handle = block.register_forward_hook(grab)
    try:
        with switch_off(model, "4:*") as heads:
            knocked = _logits(model, inputs)
    finally:
        handle.remove()
    assert heads == [(layer, h) for h in range(12)]
    # The pre-hook zeroes dense's input, not the context BertSelfOutput receives...
    assert caught["context"].abs().max() > 0
    # ...so that BertSelfOutput = LayerNorm(dense(0) + residual) = LayerNorm(b_O + residual).
    with torch.inference_mode():
        residual_only = block.LayerNorm(block.dense.bias + caught["residual"])
    torch.testing.assert_close(caught["output"], residual_only, atol=1e-6, rtol=0)
    with torch.inference_mode():
        by_hand = model.cls(_bert_by_hand(model, inputs, layer, range(12)))
    torch.testing.assert_close(knocked, by_hand, atol=TOLERANCE, rtol=0)


def test_per_row_knockout_equals_one_by_one(beto_mlm):
    model, tokenizer = beto_mlm
    inputs = _inputs(model, tokenizer, SEED)
    cases = [[(0, 0)], [(3, 5)], [(11, 11)], [(3, 5), (4, 0)], [], [(7, h) for h in range(12)]]
    masks = np.ones((len(cases), 12, 12), dtype=np.float32)
    for row, heads in enumerate(cases):
        for layer, head in heads:
            masks[row, layer, head] = 0
    batch = {k: v.expand(len(cases), -1) for k, v in inputs.items()}
    with switch_off_per_row(model, torch.from_numpy(masks)):
        together = _logits(model, batch)
    for row, heads in enumerate(cases):
        with switch_off(model, heads):
            alone = _logits(model, inputs)[0]
        torch.testing.assert_close(together[row], alone, atol=TOLERANCE, rtol=0)
    assert (together[0] - together[4]).abs().max() > 1000 * TOLERANCE
    with (
        pytest.raises(InvalidInputTypeError, match="deben tener forma"),
        switch_off_per_row(model, masks[:, :2]),
    ):
        pass
    with pytest.raises(InvalidInputTypeError, match="tienen 6 filas"), switch_off_per_row(model, masks):
        _logits(model, inputs)


def test_the_model_is_unchanged_after_a_knockout_and_after_an_exception(beto_mlm):
    model, tokenizer = beto_mlm
    inputs = _inputs(model, tokenizer, SEED)
    hooks = [len(m._forward_pre_hooks) for m in output_projections(model)]
    original = _logits(model, inputs)
    with switch_off(model, "0:*,5:3"):
        assert not torch.equal(_logits(model, inputs), original)
    assert torch.equal(_logits(model, inputs), original)
    with pytest.raises(RuntimeError, match="a student's bug"), switch_off(model, [(2, 2)]):
        raise RuntimeError("a student's bug")
    assert torch.equal(_logits(model, inputs), original)
    masks = np.zeros((1, 12, 12))
    with pytest.raises(KeyError), switch_off_per_row(model, masks):
        _logits(model, inputs)
        raise KeyError("inside")
    assert torch.equal(_logits(model, inputs), original)
    assert [len(m._forward_pre_hooks) for m in output_projections(model)] == hooks


def test_whole_word_masking_and_the_product_of_the_pieces(beto_mlm):
    model, tokenizer = beto_mlm
    assert tokenizer.tokenize("persiguió") == ["persigui", "##ó"]  # several pieces in BETO's vocabulary
    prediction = predict_masked(model, tokenizer, SEED, "persiguió", top_k=5)
    assert prediction.word == "persiguió" and prediction.word_index == 4
    assert prediction.pieces == ("persigui", "##ó")
    # Every piece of the word, and only those, is behind the mask token.
    masked = mask_word(model, tokenizer, SEED, "persiguió")
    encoded = tokenizer(SEED)["input_ids"]
    assert masked.positions == (4, 5)
    assert [i for i, (a, b) in enumerate(zip(masked.ids, encoded, strict=True)) if a != b] == [4, 5]
    assert {masked.ids[4], masked.ids[5]} == {tokenizer.mask_token_id}
    # Recomputed from the masked input: the head on the two masked positions' hidden states (as
    # predict_masked runs it), and the same up to float32 rounding from the logits of every position.
    ids = torch.tensor([masked.ids])
    inputs = {"input_ids": ids, "attention_mask": torch.ones_like(ids)}
    with torch.inference_mode():
        at_masks = model.cls(model.bert(**inputs).last_hidden_state[:, [4, 5]])[0].double()
    logits = _logits(model, inputs)[0].double()
    probs = torch.softmax(logits, dim=-1)
    piece_ids = tokenizer.convert_tokens_to_ids(["persigui", "##ó"])
    by_hand = [float(probs[4, piece_ids[0]]), float(probs[5, piece_ids[1]])]
    at_masks_probs = torch.softmax(at_masks, dim=-1)
    exact = [float(at_masks_probs[0, piece_ids[0]]), float(at_masks_probs[1, piece_ids[1]])]
    assert prediction.piece_probabilities == pytest.approx(exact, rel=1e-12)
    assert prediction.piece_probabilities == pytest.approx(by_hand, rel=1e-5)
    assert prediction.probability == pytest.approx(exact[0] * exact[1], rel=1e-12)
    assert prediction.log_probability == pytest.approx(math.log(exact[0] * exact[1]), rel=1e-12)
    # The top 5 of the first masked position, best first.
    top_ids = probs[4].topk(5).indices.tolist()
    assert [t for t, _ in prediction.top] == tokenizer.convert_ids_to_tokens(top_ids)
    assert [p for _, p in prediction.top] == pytest.approx(probs[4, top_ids].tolist(), rel=1e-5)
    assert sum(p for _, p in prediction.top) <= 1
    assert all(a >= b for (_, a), (_, b) in zip(prediction.top, prediction.top[1:], strict=False))
    # The word by its index gives the same; a head off changes it.
    assert predict_masked(model, tokenizer, SEED, 4) == prediction
    off = predict_masked(model, tokenizer, SEED, "persiguió", heads_off="2:7")
    assert off.heads_off == ((2, 7),)
    assert abs(off.log_probability - prediction.log_probability) > 1e-3


def test_predict_masked_with_heads_off_equals_the_logits_by_hand(beto_mlm):
    model, tokenizer = beto_mlm
    prediction = predict_masked(model, tokenizer, PLURAL, "cruzaron", heads_off=[(6, 1)])
    masked = mask_word(model, tokenizer, PLURAL, "cruzaron")
    ids = torch.tensor([masked.ids])
    inputs = {"input_ids": ids, "attention_mask": torch.ones_like(ids)}
    with torch.inference_mode():
        logits = model.cls(_bert_by_hand(model, inputs, 6, [1]))[0].double()
    log_probs = torch.log_softmax(logits, dim=-1)
    expected = sum(float(log_probs[p, i]) for p, i in zip(masked.positions, masked.piece_ids, strict=True))
    assert prediction.pieces == ("cruzar", "##on")
    assert prediction.log_probability == pytest.approx(expected, abs=TOLERANCE)


@pytest.mark.parametrize(
    ("text", "word", "error", "message"),
    [
        (
            SEED,
            "gatos",
            InvalidTextError,
            "La palabra «gatos» no está en la frase: sus palabras son «El», «perro», «que», «persiguió», "
            "«al», «gato», «cruzó», «la», «calle», «.».",
        ),
        (SEED, "el", InvalidTextError, "La palabra «el» no está en la frase (las mayúsculas cuentan): sus"),
        (
            SEED,
            12,
            IndexOutOfRangeError,
            "La palabra 12 no existe: las de esta frase van de la 1 («El») a la 10 («.»).",
        ),
        (SEED, -1, IndexOutOfRangeError, "La palabra -1 no existe: las de esta frase van de la 1"),
        (
            SEED,
            0,
            IndexOutOfRangeError,
            "La palabra 0 es «[CLS]», un token especial que no se predice: elige una de la 1 («El») a la 10 "
            "(«.»).",
        ),
        (SEED, 2.0, InvalidInputTypeError, 'La palabra se indica con su texto (como "gato") o con su número'),
        (SEED, "  ", InvalidTextError, "Escribe la palabra que el modelo debe adivinar, una de estas: «El»"),
        ("   ", "gato", InvalidTextError, "El texto está vacío: escribe al menos una palabra."),
        ("\u200b", "gato", InvalidTextError, "El texto no tiene nada que el modelo pueda leer"),
    ],
)
def test_bad_input_is_one_spanish_sentence(beto_mlm, text, word, error, message):
    model, tokenizer = beto_mlm
    with pytest.raises(error) as caught:
        predict_masked(model, tokenizer, text, word)
    assert caught.value.message_es.startswith(message)
    assert caught.value.message_es.count(". ") == 0  # one sentence


def test_top_k_must_be_a_positive_whole_number(beto_mlm):
    model, tokenizer = beto_mlm
    assert len(predict_masked(model, tokenizer, SEED, "gato", top_k=3).top) == 3
    for bad in (0, 2.5, True):
        with pytest.raises(InvalidInputTypeError, match="top_k es cuántas predicciones mostrar"):
            predict_masked(model, tokenizer, SEED, "gato", top_k=bad)


@pytest.mark.slow  # 2-3 s: `make test` runs it, the developer loop does not
def test_head_importance_is_the_drop_of_each_knockout(beto_mlm):
    model, tokenizer = beto_mlm
    seen = []
    handle = model.cls.register_forward_hook(lambda _m, args, _out: seen.append(tuple(args[0].shape)))
    try:
        importance = head_importance(model, tokenizer, PLURAL, "cruzaron", progress=False)
    finally:
        handle.remove()
    # 145 rows in passes of 16; the masked-LM head only sees the two masked positions.
    assert seen == [(16, 2, 48)] * 9 + [(1, 2, 48)]
    assert not model.bert._forward_hooks
    assert importance.values.shape == (12, 12) and not importance.values.flags.writeable
    assert importance.kind == "log_probability"
    assert importance.measure == "caída de log-probabilidad de «cruzaron»"
    assert importance.word == "cruzaron" and importance.text == PLURAL
    base = predict_masked(model, tokenizer, PLURAL, "cruzaron")
    assert importance.baseline == pytest.approx(base.log_probability, abs=TOLERANCE)
    for layer, head in [(0, 0), (3, 5), (8, 2), (11, 11)]:
        off = predict_masked(model, tokenizer, PLURAL, "cruzaron", heads_off=[(layer, head)])
        assert importance.values[layer, head] == pytest.approx(
            base.log_probability - off.log_probability, abs=TOLERANCE
        )
    assert np.abs(importance.values).max() > 1000 * TOLERANCE
    one_by_one = head_importance(model, tokenizer, PLURAL, 3, batch_size=1, progress=False)
    np.testing.assert_allclose(one_by_one.values, importance.values, atol=TOLERANCE, rtol=0)


def test_the_importance_grid_as_csv(beto_mlm, tmp_path):
    import csv

    model, tokenizer = beto_mlm
    importance = head_importance(model, tokenizer, PLURAL, "cruzaron", progress=False)
    path = importance_to_csv(importance, tmp_path / "importancia.csv")
    rows = list(csv.reader(path.open(encoding="utf-8")))
    assert rows[0] == ["layer", "head", "log_probability_drop"] and len(rows) == 145
    assert [int(rows[1 + 12 * 3 + 5][0]), int(rows[1 + 12 * 3 + 5][1])] == [3, 5]
    assert float(rows[1 + 12 * 3 + 5][2]) == pytest.approx(importance.values[3, 5], rel=1e-7)
    with pytest.raises(attnviz.OutputPathError, match=r"debería terminar en \.csv"):
        importance_to_csv(importance, tmp_path / "importancia.txt")


def test_head_importance_bad_arguments(beto_mlm):
    model, tokenizer = beto_mlm
    with pytest.raises(InvalidInputTypeError, match="di cuál tapar"):
        head_importance(model, tokenizer, PLURAL, progress=False)
    with pytest.raises(InvalidInputTypeError, match="batch_size es cuántas cabezas"):
        head_importance(model, tokenizer, PLURAL, "cruzaron", batch_size=0, progress=False)
    with pytest.raises(InvalidTextError, match="«cruzó» no está en la frase"):
        head_importance(model, tokenizer, PLURAL, "cruzó", progress=False)


# --- the offline MiniLM: no masked-word head, the sentence vector ------------------------------


def test_minilm_has_no_masked_word_head_and_offers_the_sentence_vector(minilm):
    model, tokenizer = minilm
    with pytest.raises(MeasureUnavailableError) as caught:
        predict_masked(model, tokenizer, ENGLISH, "cat")
    assert caught.value.message_es == (
        "Este modelo no tiene cabeza para adivinar palabras tapadas (es un modelo de frases o se cargó sin "
        "ella): usa sentence_vector para ver cómo cambia el vector de la frase."
    )
    with pytest.raises(MeasureUnavailableError, match="usa predict_masked"):
        predict_next(model, tokenizer, ENGLISH)


def test_minilm_sentence_vector_is_the_mean_pooling(minilm):
    model, tokenizer = minilm
    inputs = _inputs(model, tokenizer, ENGLISH)
    with torch.inference_mode():
        hidden = model(**inputs).last_hidden_state
    vector = sentence_vector(model, tokenizer, ENGLISH)
    np.testing.assert_allclose(vector, _mean_over_words(hidden, tokenizer, ENGLISH), atol=1e-6, rtol=0)
    # The model card's mean_pooling: every token of the attention mask, [CLS] and [SEP] included.
    card = (hidden * inputs["attention_mask"][..., None]).sum(1) / inputs["attention_mask"].sum()
    with_special = sentence_vector(model, tokenizer, ENGLISH, include_special=True)
    np.testing.assert_allclose(with_special, card[0].double().numpy(), atol=1e-6, rtol=0)
    assert vector.shape == (384,) and vector_change(vector, vector) == pytest.approx(0, abs=1e-12)


@pytest.mark.parametrize(("layer", "heads"), [(0, [4]), (3, [0, 11]), (5, list(range(12)))])
def test_minilm_knockout_equals_the_recomputation_by_hand(minilm, layer, heads):
    model, tokenizer = minilm
    inputs = _inputs(model, tokenizer, ENGLISH)
    original = sentence_vector(model, tokenizer, ENGLISH)
    knocked = sentence_vector(model, tokenizer, ENGLISH, heads_off=[(layer, h) for h in heads])
    by_hand = _mean_over_words(_bert_by_hand(model, inputs, layer, heads), tokenizer, ENGLISH)
    np.testing.assert_allclose(knocked, by_hand, atol=TOLERANCE, rtol=0)
    assert np.abs(knocked - original).max() > 100 * TOLERANCE
    assert vector_change(original, knocked) > 0
    assert np.array_equal(sentence_vector(model, tokenizer, ENGLISH), original)


def test_minilm_head_importance_is_the_sentence_vector_change(minilm):
    model, tokenizer = minilm
    importance = head_importance(model, tokenizer, ENGLISH, batch_size=8, progress=False)
    assert importance.values.shape == (6, 12)
    assert importance.kind == "sentence_vector" and importance.word is None
    assert importance.measure == "cambio del vector de la frase (1 − coseno)"
    assert math.isnan(importance.baseline)
    original = sentence_vector(model, tokenizer, ENGLISH)
    for layer, head in [(0, 0), (2, 7), (5, 11)]:
        off = sentence_vector(model, tokenizer, ENGLISH, heads_off=[(layer, head)])
        assert importance.values[layer, head] == pytest.approx(vector_change(original, off), abs=TOLERANCE)
    assert (importance.values > -TOLERANCE).all() and importance.values.max() > 1e-4
    with pytest.raises(InvalidTextError, match="«gato» no está en la frase"):
        head_importance(model, tokenizer, ENGLISH, "gato", progress=False)


def test_minilm_per_row_sentence_vectors_equal_one_by_one(minilm):
    model, tokenizer = minilm
    inputs = _inputs(model, tokenizer, ENGLISH)
    cases = [[(1, 2)], [(4, 9)], [(0, h) for h in range(12)]]
    masks = np.ones((len(cases), 6, 12))
    for row, heads in enumerate(cases):
        for layer, head in heads:
            masks[row, layer, head] = 0
    with switch_off_per_row(model, masks), torch.inference_mode():
        hidden = model(**{k: v.expand(len(cases), -1) for k, v in inputs.items()}).last_hidden_state
    for row, heads in enumerate(cases):
        alone = sentence_vector(model, tokenizer, ENGLISH, heads_off=heads)
        np.testing.assert_allclose(
            _mean_over_words(hidden[row : row + 1], tokenizer, ENGLISH), alone, atol=TOLERANCE
        )


# --- DistilBERT, RoBERTa and GPT-2 -----------------------------------------------------------------


@pytest.mark.parametrize("name", ["distilbert", "roberta", "gpt2"])
def test_other_families_knockout_equals_the_projection_by_hand(families, name):
    loaded, _ = families
    model, tokenizer = loaded[name]
    text = SEED
    original = sentence_vector(model, tokenizer, text)
    inputs = model_inputs(model, tokenizer(text)["input_ids"], None)
    for layer, heads in [(0, [1]), (1, [0, 3])]:
        knocked = sentence_vector(model, tokenizer, text, heads_off=[(layer, h) for h in heads])
        with _projection_by_hand(model, layer, heads), torch.inference_mode():
            hidden = model(**inputs)[0]
        np.testing.assert_allclose(knocked, _mean_over_words(hidden, tokenizer, text), atol=TOLERANCE, rtol=0)
        assert np.abs(knocked - original).max() > 100 * TOLERANCE
    assert np.array_equal(sentence_vector(model, tokenizer, text), original)


@pytest.mark.parametrize("name", ["distilbert", "roberta"])
def test_other_families_predict_masked_words(families, name):
    _, with_head = families
    model, tokenizer = with_head[name]
    text, word = (SEED, "persiguió") if name == "distilbert" else (ENGLISH, "chased")
    prediction = predict_masked(model, tokenizer, text, word)
    masked = mask_word(model, tokenizer, text, word)
    assert prediction.word == word and len(prediction.pieces) == len(masked.positions) >= 1
    assert len(masked.positions) > 1  # whole-word masking of a word of several pieces
    assert [masked.ids[p] for p in masked.positions] == [tokenizer.mask_token_id] * len(masked.positions)
    logits = _logits(model, model_inputs(model, masked.ids, None))[0].double()
    probs = torch.softmax(logits, dim=-1)
    expected = math.prod(float(probs[p, i]) for p, i in zip(masked.positions, masked.piece_ids, strict=True))
    assert prediction.probability == pytest.approx(expected, rel=1e-9)
    off = predict_masked(model, tokenizer, text, word, heads_off="1:*")
    assert abs(off.log_probability - prediction.log_probability) > 1e-3
    importance = head_importance(model, tokenizer, text, word, batch_size=3, progress=False)
    assert importance.values.shape == (2, 4)
    assert importance.values[1, 2] == pytest.approx(
        prediction.log_probability
        - predict_masked(model, tokenizer, text, word, heads_off=[(1, 2)]).log_probability,
        abs=TOLERANCE,
    )


def test_gpt2_predict_next_changes_with_a_head_off(families):
    _, with_head = families
    model, tokenizer = with_head["gpt2"]
    text = "The dog that chased the"
    before = predict_next(model, tokenizer, text, top_k=5)
    after = predict_next(model, tokenizer, text, top_k=5, heads_off=[(1, 2)])
    assert len(before.top) == 5 and after.heads_off == ((1, 2),) and before.heads_off == ()
    assert sum(p for _, p in before.top) <= 1
    ids = tokenizer(text)["input_ids"]
    inputs = model_inputs(model, ids, None)
    original = torch.softmax(_logits(model, inputs)[0, -1].double(), dim=-1)
    with _projection_by_hand(model, 1, [2]):
        by_hand = torch.softmax(_logits(model, inputs)[0, -1].double(), dim=-1)
    top_ids = by_hand.topk(5).indices.tolist()
    assert [p for _, p in after.top] == pytest.approx(by_hand[top_ids].tolist(), abs=TOLERANCE)
    assert [p for _, p in before.top] == pytest.approx(original.topk(5).values.tolist(), abs=TOLERANCE)
    assert (original - by_hand).abs().max() > 100 * TOLERANCE
    assert before.top != after.top
    with pytest.raises(MeasureUnavailableError, match="usa predict_next en vez de predict_masked"):
        predict_masked(model, tokenizer, text, "dog")


def test_a_checkpoint_without_the_head_falls_back_to_the_sentence_vector(beto):
    """The tiny BETO fixture's weights have no masked-word head: load_model gives the bare encoder."""
    model, tokenizer = beto
    with pytest.raises(MeasureUnavailableError, match="usa sentence_vector"):
        predict_masked(model, tokenizer, SEED, "gato")
    importance = head_importance(model, tokenizer, SEED, "gato", progress=False)
    assert importance.kind == "sentence_vector" and importance.values.shape == (12, 12)
    original = sentence_vector(model, tokenizer, SEED)
    off = sentence_vector(model, tokenizer, SEED, heads_off="9:4")
    assert importance.values[9, 4] == pytest.approx(vector_change(original, off), abs=TOLERANCE)


def test_mean_importance_is_the_mean_of_the_grids_and_says_so():
    import attnviz
    from attnviz.core.importance import HeadImportance

    def grid(values: list[list[float]], word: str) -> HeadImportance:
        return HeadImportance(
            values=np.array(values),
            measure=f"caída de log-probabilidad de «{word}»",
            kind="log_probability",
            text=f"Frase con {word}.",
            word=word,
            baseline=-1.0 if word == "a" else -3.0,
        )

    mean = attnviz.mean_importance([grid([[1.0, 0.0]], "a"), grid([[3.0, -2.0]], "b")])
    np.testing.assert_allclose(mean.values, [[2.0, -1.0]])
    assert mean.measure == "caída de log-probabilidad, media de 2"
    assert mean.word == "a | b" and mean.baseline == -2.0
    with pytest.raises(attnviz.InvalidInputTypeError) as err:
        attnviz.mean_importance([grid([[1.0, 0.0]], "a"), grid([[1.0]], "b")])
    assert err.value.message_es == "Solo se pueden promediar rejillas del mismo modelo y de la misma medida."
    with pytest.raises(attnviz.InvalidInputTypeError):
        attnviz.mean_importance([])
