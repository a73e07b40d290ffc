"""Extraction: one forward pass, the right tokens, and weights equal to a recomputation."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
import torch

import attnviz
from attnviz.core.errors import InvalidTextError, TruncationWarning

from .conftest import SEED

SEED_PIECES = [
    "[CLS]",
    "El",
    "perro",
    "que",
    "persigui",
    "##ó",
    "al",
    "gato",
    "cruz",
    "##ó",
    "la",
    "calle",
    ".",
    "[SEP]",
]
SEED_WORDS = ["[CLS]", "El", "perro", "que", "persiguió", "al", "gato", "cruzó", "la", "calle", ".", "[SEP]"]


def test_seed_sentence_pieces_and_words_with_beto_vocab(beto_result):
    r = beto_result
    assert list(r.tokens) == SEED_PIECES
    assert list(r.words) == SEED_WORDS
    assert list(r.word_ids) == [0, 1, 2, 3, 4, 4, 5, 6, 7, 7, 8, 9, 10, 11]
    assert r.word_spans[4] == (4, 6)  # persigui + ##ó
    assert r.word_spans[7] == (8, 10)  # cruz + ##ó
    assert r.special == (True,) + (False,) * 12 + (True,)
    assert r.attention.shape == (12, 12, 14, 14)
    assert r.attention.dtype == np.float32
    assert not r.truncated and not r.causal


def test_result_is_immutable(beto_result):
    with pytest.raises(ValueError):
        beto_result.attention[0, 0, 0, 0] = 1.0
    with pytest.raises(dataclasses.FrozenInstanceError):
        beto_result.tokens = ()


def test_rows_sum_to_one(beto_result, minilm_result):
    for r in (beto_result, minilm_result):
        np.testing.assert_allclose(r.attention.sum(-1), 1.0, atol=1e-5)
        assert (r.attention >= 0).all()


def test_one_forward_pass_per_extraction(beto):
    model, tokenizer = beto
    calls = []
    handle = model.register_forward_hook(lambda *args: calls.append(1))
    try:
        result = attnviz.extract(model, tokenizer, SEED)
        # Views and metrics read the result; they never call the model.
        attnviz.plot_arcs(result, 3, 5, 2)
        attnviz.to_words(result)
    finally:
        handle.remove()
    assert calls == [1]


def test_two_calls_give_identical_results(minilm):
    model, tokenizer = minilm
    a = attnviz.extract(model, tokenizer, SEED)
    b = attnviz.extract(model, tokenizer, SEED)
    assert a.tokens == b.tokens
    np.testing.assert_array_equal(a.attention, b.attention)


def _recompute_attention(model, tokenizer, text: str) -> np.ndarray:
    """softmax(Q K^T / sqrt(d_k)) from each layer's own weights, without transformers' attention code."""
    encoding = tokenizer(text, return_tensors="pt")
    with torch.inference_mode():
        hidden = model(**encoding, output_hidden_states=True).hidden_states
    config = model.config
    heads = config.num_attention_heads
    d_k = config.hidden_size // heads
    layers = []
    for index, layer in enumerate(model.encoder.layer):
        x = hidden[index][0].double()  # the input of this layer, [n, hidden]
        self_attention = layer.attention.self
        wq, bq = self_attention.query.weight.double(), self_attention.query.bias.double()
        wk, bk = self_attention.key.weight.double(), self_attention.key.bias.double()
        q = (x @ wq.T + bq).reshape(len(x), heads, d_k).transpose(0, 1)
        k = (x @ wk.T + bk).reshape(len(x), heads, d_k).transpose(0, 1)
        scores = q @ k.transpose(1, 2) / math.sqrt(d_k)
        scores = scores - scores.max(dim=-1, keepdim=True).values
        weights = scores.exp() / scores.exp().sum(dim=-1, keepdim=True)
        layers.append(weights.detach().numpy())
    return np.stack(layers)


def test_minilm_attention_equals_recomputation_from_weights(minilm, minilm_result):
    model, tokenizer = minilm
    expected = _recompute_attention(model, tokenizer, minilm_result.text)
    assert expected.shape == minilm_result.attention.shape == (6, 12, expected.shape[2], expected.shape[2])
    np.testing.assert_allclose(minilm_result.attention, expected, atol=1e-5, rtol=0)
    # A real trained model: heads differ from each other and from uniform.
    assert np.abs(minilm_result.attention[0, 0] - minilm_result.attention[0, 1]).max() > 0.05


def test_text_pair_segments(minilm):
    model, tokenizer = minilm
    r = attnviz.extract(model, tokenizer, "El perro ladra.", "El gato duerme.")
    first_sep = r.tokens.index("[SEP]")
    assert set(r.segments[: first_sep + 1]) == {0}
    assert set(r.segments[first_sep + 1 :]) == {1}
    assert r.text_pair == "El gato duerme."


@pytest.mark.parametrize("text", ["", "   ", "\n\t "])
def test_empty_text_is_a_clear_error(beto, text):
    model, tokenizer = beto
    with pytest.raises(InvalidTextError, match="vacío"):
        attnviz.extract(model, tokenizer, text)


def test_long_text_is_truncated_with_flag_and_warning(beto):
    model, tokenizer = beto
    with pytest.warns(TruncationWarning, match="512"):
        r = attnviz.extract(model, tokenizer, "palabra " * 700)
    assert r.truncated
    assert r.n_tokens == 512
    assert r.tokens[-1] == "[SEP]"
    np.testing.assert_allclose(r.attention.sum(-1), 1.0, atol=1e-5)


def test_model_that_returns_no_attention_is_reported(minilm, monkeypatch):
    model, tokenizer = minilm

    class NoAttention:
        config = model.config
        forward = model.forward

        def parameters(self):
            return model.parameters()

        def __call__(self, **kwargs):
            out = model(**kwargs)
            out.attentions = ()
            return out

    with pytest.raises(attnviz.NoAttentionError, match="eager"):
        attnviz.extract(NoAttention(), tokenizer, SEED)


def test_results_compare_by_identity_and_can_be_keys(beto_result):
    copy = dataclasses.replace(beto_result)
    assert beto_result == beto_result and beto_result != copy  # no ValueError from the arrays
    assert {beto_result: 1, copy: 2}[copy] == 2


def test_a_result_makes_the_array_it_is_given_read_only(beto_result):
    mine = np.array(beto_result.attention)
    assert mine.flags.writeable
    dataclasses.replace(beto_result, attention=mine)
    assert not mine.flags.writeable  # documented: no copy is made (144 MiB at 512 tokens)


LONG_TEXT = "El perro que persiguió al gato cruzó la calle. " * 30


@pytest.mark.slow  # 2-3 s: `make test` runs it, the developer loop does not
def test_a_long_text_equals_the_recomputation(minilm):
    model, tokenizer = minilm
    result = attnviz.extract(model, tokenizer, LONG_TEXT)
    assert result.n_tokens > 300
    assert result.attention.flags.c_contiguous and result.attention.dtype == np.float32
    expected = _recompute_attention(model, tokenizer, LONG_TEXT)
    np.testing.assert_allclose(result.attention, expected, atol=1e-5, rtol=0)


def test_the_attention_is_what_the_model_returns_by_name(minilm):
    """Read from ``outputs.attentions``, not from inside the model: here each row is reversed at
    the end, so the result is the reversed recomputation."""
    model, tokenizer = minilm

    class ReversedAtTheEnd(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.inner, self.config, self.forward = model, model.config, model.forward

        def __call__(self, **kwargs):
            out = model(**kwargs)
            out.attentions = tuple(layer.flip(-1) for layer in out.attentions)
            return out

    result = attnviz.extract(ReversedAtTheEnd(), tokenizer, SEED)
    expected = _recompute_attention(model, tokenizer, SEED)[..., ::-1]
    np.testing.assert_allclose(result.attention, expected, atol=1e-5, rtol=0)


def test_the_stack_is_one_copy_and_each_layer_is_freed_once_copied(minilm):
    import weakref

    from attnviz.core.extraction import _stack_attention

    model, _ = minilm  # 6 layers
    layers = [torch.rand(2, 3, 4, 4) for _ in range(6)]
    expected = torch.stack(layers, dim=1).numpy().copy()
    alive = [weakref.ref(layer) for layer in layers]
    stack = _stack_attention(layers, model, 2, 4)
    np.testing.assert_array_equal(stack, expected)
    assert stack.shape == (2, 6, 3, 4, 4) and stack.dtype == np.float32
    assert layers == [None] * 6 and [ref() for ref in alive] == [None] * 6


def _sdpa_minilm():
    from transformers import AutoModel

    return AutoModel.from_pretrained(attnviz.offline_model_path(), attn_implementation="sdpa").eval()


def test_a_model_loaded_with_sdpa_gives_the_eager_weights(minilm):
    """SDPA returns no weights (an empty tuple on transformers 5): extract switches the model with
    transformers' public set_attn_implementation (4.41 has none; its BERT SDPA falls back itself)."""
    model, tokenizer = minilm
    sdpa = _sdpa_minilm()
    result = attnviz.extract(sdpa, tokenizer, SEED)
    expected = attnviz.extract(model, tokenizer, SEED)
    np.testing.assert_allclose(result.attention, expected.attention, atol=1e-6, rtol=0)
    np.testing.assert_allclose(
        result.attention, _recompute_attention(model, tokenizer, SEED), atol=1e-5, rtol=0
    )


def test_a_model_that_cannot_switch_to_eager_is_a_clear_error(minilm, monkeypatch):
    """When the switch fails, the forward pass's own check says what to do."""
    _, tokenizer = minilm
    sdpa = _sdpa_minilm()
    if not hasattr(sdpa, "set_attn_implementation"):  # transformers 4.41: BERT falls back by itself
        assert attnviz.extract(sdpa, tokenizer, SEED).attention.shape[0] == 6
        return

    def refuse(implementation):
        raise ValueError(f"{implementation} no disponible")

    monkeypatch.setattr(sdpa, "set_attn_implementation", refuse)
    with pytest.raises(attnviz.NoAttentionError, match="eager"):
        attnviz.extract(sdpa, tokenizer, SEED)


def test_one_head_looking_ahead_anywhere_makes_a_model_bidirectional():
    from attnviz.core.extraction import is_causal

    causal = np.tril(np.ones((3, 4, 5, 5), dtype=np.float32))
    assert is_causal(causal)
    ahead = causal.copy()
    ahead[2, 3, 1, 4] = 0.01  # last layer, last head
    assert not is_causal(ahead)
    assert not is_causal(np.ones((3, 4, 5, 5), dtype=np.float32))
    assert not is_causal(np.ones((1, 1, 1, 1), dtype=np.float32))


# -- issue 23: one pass for the attention and the masked word's prediction ---------------------------

PLURAL = "Los perros que persiguieron al gato cruzaron la calle."


@pytest.fixture(scope="module")
def beto_mlm(tmp_path_factory):
    """A random BertForMaskedLM of BETO's shape (hidden 48) with BETO's vocabulary, through load_model."""
    import json

    from transformers import BertConfig, BertForMaskedLM

    from .conftest import BETO_FILES

    folder = tmp_path_factory.mktemp("mlm") / "bert-base-spanish-wwm-cased"
    config = json.loads((BETO_FILES / "config.json").read_text())
    config.update(hidden_size=48, intermediate_size=96, pad_token_id=1, initializer_range=0.2)
    torch.manual_seed(0)
    BertForMaskedLM(BertConfig(**config)).save_pretrained(folder)
    (folder / "vocab.txt").write_bytes((BETO_FILES / "vocab.txt").read_bytes())
    (folder / "tokenizer_config.json").write_text(json.dumps({"do_lower_case": False}))
    model, tokenizer = attnviz.load_model(str(folder))
    assert type(model).__name__ == "BertForMaskedLM"
    return model, tokenizer


class _Calls:
    """Forward calls of the whole model, its encoder and its masked-word head, while inside."""

    def __init__(self, model):
        self.modules = {"model": model, "encoder": model.bert, "head": model.cls}
        self.calls: list[str] = []

    def __enter__(self):
        self.handles = [
            module.register_forward_hook(lambda *_, name=name: self.calls.append(name))
            for name, module in self.modules.items()
        ]
        return self.calls

    def __exit__(self, *exc):
        for handle in self.handles:
            handle.remove()


def _assert_same_prediction(a, b, tolerance=1e-6):
    assert (a.text, a.word, a.word_index, a.pieces, a.heads_off) == (
        b.text,
        b.word,
        b.word_index,
        b.pieces,
        b.heads_off,
    )
    assert [t for t, _ in a.top] == [t for t, _ in b.top]
    np.testing.assert_allclose([p for _, p in a.top], [p for _, p in b.top], atol=tolerance, rtol=0)
    assert a.log_probability == pytest.approx(b.log_probability, abs=tolerance)
    assert a.probability == pytest.approx(b.probability, abs=tolerance)
    np.testing.assert_allclose(a.piece_probabilities, b.piece_probabilities, atol=tolerance, rtol=0)


def test_a_masked_word_is_predicted_in_the_same_single_pass(beto_mlm):
    model, tokenizer = beto_mlm
    with _Calls(model) as calls:
        result = attnviz.extract(model, tokenizer, PLURAL, mask="cruzaron")
    assert sorted(calls) == ["encoder", "head", "model"]  # the model ran exactly once
    _assert_same_prediction(result.prediction, attnviz.predict_masked(model, tokenizer, PLURAL, "cruzaron"))
    # The word's pieces show the mask token, in the tokens and the words.
    assert result.tokens[8:10] == ("[MASK]", "[MASK]") and result.words[7] == "[MASK]"
    assert result.prediction.word == "cruzaron" and result.prediction.pieces == ("cruzar", "##on")
    assert result.word_ids == attnviz.extract(model, tokenizer, PLURAL).word_ids
    # By its index, the same.
    _assert_same_prediction(attnviz.extract(model, tokenizer, PLURAL, mask=7).prediction, result.prediction)


def test_the_masked_attention_is_the_attention_of_the_masked_input(beto_mlm):
    model, tokenizer = beto_mlm
    result = attnviz.extract(model, tokenizer, PLURAL, mask="perros")
    ids = tokenizer(PLURAL, return_tensors="pt")["input_ids"].clone()
    ids[0, 2] = tokenizer.mask_token_id
    with torch.inference_mode():
        out = model(input_ids=ids, attention_mask=torch.ones_like(ids), output_attentions=True)
    expected = torch.stack(out.attentions, dim=1)[0].numpy()
    np.testing.assert_allclose(result.attention, expected, atol=1e-6, rtol=0)
    # And not the unmasked sentence's.
    assert np.abs(result.attention - attnviz.extract(model, tokenizer, PLURAL).attention).max() > 1e-3
    probabilities = torch.softmax(out.logits[0, 2].double(), dim=-1)
    perros = tokenizer.convert_tokens_to_ids("perros")
    assert result.prediction.probability == pytest.approx(float(probabilities[perros]), rel=1e-5)


def test_heads_off_in_the_same_pass_and_the_model_is_unchanged_after(beto_mlm):
    model, tokenizer = beto_mlm
    original = attnviz.extract(model, tokenizer, PLURAL, mask="cruzaron")
    with _Calls(model) as calls:
        knocked = attnviz.extract(model, tokenizer, PLURAL, mask="cruzaron", heads_off="2:*,5:3")
    assert sorted(calls) == ["encoder", "head", "model"]
    assert knocked.heads_off == knocked.prediction.heads_off == (*((2, h) for h in range(12)), (5, 3))
    expected = attnviz.predict_masked(model, tokenizer, PLURAL, "cruzaron", heads_off="2:*,5:3")
    _assert_same_prediction(knocked.prediction, expected)
    assert abs(knocked.prediction.log_probability - original.prediction.log_probability) > 1e-3
    # Layers up to the knocked-out one see the same input; the later ones do not.
    np.testing.assert_array_equal(knocked.attention[:3], original.attention[:3])
    assert np.abs(knocked.attention[3:] - original.attention[3:]).max() > 1e-3
    # A normal pass afterwards gives the original numbers, bit for bit.
    again = attnviz.extract(model, tokenizer, PLURAL, mask="cruzaron")
    np.testing.assert_array_equal(again.attention, original.attention)
    assert again.prediction == original.prediction and again.heads_off == ()
    plain = attnviz.extract(model, tokenizer, PLURAL)
    assert plain.prediction is None and plain.heads_off == ()


def test_without_a_mask_only_the_encoder_runs(beto_mlm):
    model, tokenizer = beto_mlm
    with _Calls(model) as calls:
        result = attnviz.extract(model, tokenizer, PLURAL)
    assert calls == ["encoder"]  # the masked-word head has nothing to predict: it is not run
    with torch.inference_mode():
        out = model.bert(**tokenizer(PLURAL, return_tensors="pt"), output_attentions=True)
    np.testing.assert_allclose(result.attention, torch.stack(out.attentions, 1)[0].numpy(), atol=1e-6)


def test_word_level_and_contribution_keep_the_prediction(beto_mlm):
    model, tokenizer = beto_mlm
    result = attnviz.extract(model, tokenizer, PLURAL, mask="cruzaron")
    words = attnviz.to_words(result)
    assert words.prediction is result.prediction and words.tokens[7] == "[MASK]"
    assert attnviz.with_measure(result, "contribucion").prediction is result.prediction


def test_a_mask_needs_a_masked_word_head(minilm, beto_mlm):
    model, tokenizer = minilm
    with pytest.raises(attnviz.MeasureUnavailableError) as caught:
        attnviz.extract(model, tokenizer, SEED, mask="gato")
    assert caught.value.message_es.startswith("Este modelo no tiene cabeza para adivinar palabras tapadas")
    assert "sentence_vector" in caught.value.message_es
    # Its knockouts work: the sentence-vector model still switches heads off in one pass.
    knocked = attnviz.extract(model, tokenizer, SEED, heads_off="0:1")
    assert knocked.heads_off == ((0, 1),) and knocked.prediction is None
    mlm, mlm_tokenizer = beto_mlm
    with pytest.raises(InvalidTextError, match="«gatos» no está en la frase"):
        attnviz.extract(mlm, mlm_tokenizer, PLURAL, mask="gatos")
    with pytest.raises(attnviz.IndexOutOfRangeError, match="La palabra 12 no existe"):
        attnviz.extract(mlm, mlm_tokenizer, PLURAL, mask=12)
    with pytest.raises(InvalidTextError, match="nada que el modelo pueda leer"):
        attnviz.extract(mlm, mlm_tokenizer, "\u200b", mask=1)


@pytest.mark.parametrize(
    ("name", "text", "word"), [("distilbert", SEED, "persiguió"), ("roberta", SEED, "gato")]
)
def test_other_masked_lm_families_predict_in_the_same_pass(family_dirs, tmp_path, name, text, word):
    import shutil

    from transformers import AutoConfig, AutoModelForMaskedLM

    torch.manual_seed(1)
    folder = tmp_path / name
    AutoModelForMaskedLM.from_config(AutoConfig.from_pretrained(family_dirs[name])).save_pretrained(folder)
    for file in family_dirs[name].iterdir():
        if not (folder / file.name).exists():
            shutil.copy(file, folder / file.name)
    model, tokenizer = attnviz.load_model(str(folder))
    assert type(model).__name__.endswith("ForMaskedLM")
    calls = []
    handle = model.register_forward_hook(lambda *_: calls.append(1))
    try:
        result = attnviz.extract(model, tokenizer, text, mask=word, heads_off="1:2")
    finally:
        handle.remove()
    assert calls == [1]
    expected = attnviz.predict_masked(model, tokenizer, text, word, heads_off="1:2")
    _assert_same_prediction(result.prediction, expected)
    masked = [i for i, w in enumerate(result.word_ids) if w == result.prediction.word_index]
    assert {result.tokens[i] for i in masked} == {tokenizer.mask_token}
