"""Extraction: one forward pass, the right tokens, and weights equal to a recomputation."""

from __future__ import annotations

import dataclasses
import math
import subprocess
import sys
import threading

import numpy as np
import pytest
import torch

import attnviz
from attnviz.errors import InvalidTextError, TruncationWarning

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


def _spy_on_copiers(monkeypatch) -> list:
    """Each _LayerCopier made, with what its copied() answered."""
    from attnviz import extraction

    made = []

    class Spy(extraction._LayerCopier):
        def __init__(self, model, stack):
            super().__init__(model, stack)
            self.stack, self.answers = stack, []
            made.append(self)

        def copied(self, layers):
            answer = super().copied(layers)
            self.answers.append(answer)
            return answer

    monkeypatch.setattr(extraction, "_LayerCopier", Spy)
    return made


def _forward_hooks(model) -> list[int]:
    """The forward hooks on each module (transformers 5 adds its own, to record outputs, at the
    first pass that returns attention: the count is read after one)."""
    return [len(module._forward_hooks) for module in model.modules()]


def test_a_long_text_is_copied_layer_by_layer_during_the_pass(minilm, monkeypatch):
    """Above the page-in size, each layer is copied as the model returns it: the result is the
    copier's array, its weights equal the recomputation from the model's own matrices, and no
    hook is left on the model."""
    from attnviz import extraction

    model, tokenizer = minilm
    made = _spy_on_copiers(monkeypatch)
    after_pass = []
    original = extraction._stack_attention

    def stack_attention(layers, *args, **kwargs):
        after_pass.append(kwargs["copied"])
        return original(layers, *args, **kwargs)

    attnviz.extract(model, tokenizer, "Hola.")  # short: copied after the pass
    hooks = _forward_hooks(model)
    monkeypatch.setattr(extraction, "_stack_attention", stack_attention)
    result = attnviz.extract(model, tokenizer, LONG_TEXT)
    [copier] = made
    # 6 x 12 x n x n float32 is above the threshold.
    assert result.attention.nbytes >= extraction._PAGE_IN_BYTES
    assert copier.answers == [True] and after_pass == [True]
    assert np.shares_memory(result.attention, copier.stack)
    assert not copier._thread.is_alive() and _forward_hooks(model) == hooks
    expected = _recompute_attention(model, tokenizer, LONG_TEXT)
    np.testing.assert_allclose(result.attention, expected, atol=1e-5, rtol=0)


def test_attention_the_hooks_did_not_see_is_copied_after_the_pass(minilm, monkeypatch):
    """A model whose returned attention is not what its modules returned (here: each row
    reversed at the end) is copied after the pass: the result is what the model returned."""
    model, tokenizer = minilm
    made = _spy_on_copiers(monkeypatch)

    class ReversedAtTheEnd(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.inner, self.config, self.forward = model, model.config, model.forward

        def __call__(self, **kwargs):
            out = model(**kwargs)
            out.attentions = tuple(layer.flip(-1) for layer in out.attentions)
            return out

    attnviz.extract(model, tokenizer, "Hola.")
    hooks = _forward_hooks(model)
    result = attnviz.extract(ReversedAtTheEnd(), tokenizer, LONG_TEXT)
    assert [copier.answers for copier in made] == [[False]]
    assert np.shares_memory(result.attention, made[0].stack)  # the same array, filled afterwards
    expected = _recompute_attention(model, tokenizer, LONG_TEXT)[..., ::-1]
    np.testing.assert_allclose(result.attention, expected, atol=1e-5, rtol=0)
    assert _forward_hooks(model) == hooks


def test_a_pass_that_fails_leaves_no_hook_and_no_thread(minilm, monkeypatch):
    model, tokenizer = minilm
    made = _spy_on_copiers(monkeypatch)
    attnviz.extract(model, tokenizer, "Hola.")
    hooks = _forward_hooks(model)

    def fail(*args):
        raise RuntimeError("capa rota")

    handle = model.encoder.layer[3].register_forward_hook(fail)
    try:
        with pytest.raises(RuntimeError, match="capa rota"):
            attnviz.extract(model, tokenizer, LONG_TEXT)
    finally:
        handle.remove()
    [copier] = made
    assert _forward_hooks(model) == hooks and not copier._thread.is_alive()
    # The model still works afterwards, and copies during the pass again.
    assert attnviz.extract(model, tokenizer, LONG_TEXT).n_tokens > 200
    assert made[1].answers == [True]


def test_the_tensors_are_freed_after_a_pause_or_when_the_next_pass_ends(monkeypatch):
    import gc
    import weakref

    from attnviz import extraction

    monkeypatch.setattr(extraction, "_RELEASE_AFTER_S", 30.0)
    first, second = _layers(3), _layers(3)
    alive_first, alive_second = [weakref.ref(t) for t in first], [weakref.ref(t) for t in second]
    extraction._release_later(first)
    del first
    gc.collect()
    assert all(ref() is not None for ref in alive_first)  # kept while the first picture is drawn
    extraction._release_later(second)  # a new pass's tensors: the last ones go at once
    del second
    for thread in [t for t in threading.enumerate() if t.name == "attnviz-release"]:
        thread.join(timeout=10 if thread.is_alive() and alive_first[0]() is not None else 0.5)
    gc.collect()
    assert [ref() for ref in alive_first] == [None] * 3
    assert all(ref() is not None for ref in alive_second)
    monkeypatch.setattr(extraction, "_RELEASE_AFTER_S", 0.0)
    extraction._release_later([])  # frees the second at once too
    for thread in [t for t in threading.enumerate() if t.name == "attnviz-release"]:
        thread.join(timeout=10)
    gc.collect()
    assert [ref() for ref in alive_second] == [None] * 3


class _Layer:
    """A stand-in for one layer's attention tensor: what _stack_attention calls on it."""

    def __init__(self, values: np.ndarray, broken: bool = False) -> None:
        self.values, self.broken, self.shape, self.ndim = values, broken, values.shape, values.ndim

    def detach(self):
        return self

    float = cpu = detach

    def numpy(self) -> np.ndarray:
        if self.broken:
            raise RuntimeError("copia imposible")
        return self.values


def _layers(count: int, broken: int | None = None) -> list:
    rng = np.random.default_rng(0)
    return [_Layer(rng.random((1, 2, 3, 3), dtype=np.float32), i == broken) for i in range(count)]


def test_a_paged_in_stack_not_copied_during_the_pass_is_filled_by_two_threads(minilm, monkeypatch):
    import gc
    import weakref

    from attnviz import extraction

    monkeypatch.setattr(extraction, "_PAGE_IN_BYTES", 0)  # a paged-in stack, however small
    model, _ = minilm  # 6 layers
    layers = _layers(6)
    expected = np.stack([layer.values for layer in layers], axis=1)
    alive = [weakref.ref(layer) for layer in layers]
    out = np.zeros((1, 6, 2, 3, 3), dtype=np.float32)
    stack = extraction._stack_attention(layers, model, 1, 3, out=out)
    assert stack is out
    np.testing.assert_array_equal(stack, expected)  # both halves, each layer in its place
    assert layers == []
    # Freed on another thread, which ends once every tensor is gone.
    for thread in [t for t in threading.enumerate() if t.name == "attnviz-release"]:
        thread.join(timeout=10)
    gc.collect()
    assert [ref() for ref in alive] == [None] * 6


@pytest.mark.parametrize("broken", [1, 4], ids=["first half", "second half (helper thread)"])
def test_a_layer_that_cannot_be_copied_fails_the_extraction_on_either_thread(minilm, broken, monkeypatch):
    from attnviz import extraction

    monkeypatch.setattr(extraction, "_PAGE_IN_BYTES", 0)
    model, _ = minilm
    out = np.zeros((1, 6, 2, 3, 3), dtype=np.float32)
    with pytest.raises(RuntimeError, match="copia imposible"):
        extraction._stack_attention(_layers(6, broken), model, 1, 3, out=out)


def test_a_script_that_exits_right_after_a_long_extraction_exits_cleanly():
    # The model's tensors are freed on another thread after a long extraction; a script that
    # ends at once must wait for it (torch aborted the process when freed during shutdown).
    script = (
        "import attnviz\n"
        "from attnviz import extraction\n"
        "extraction._PAGE_IN_BYTES = 0\n"
        "m, t = attnviz.load_model('minilm')\n"
        "r = attnviz.extract(m, t, 'El perro que persiguió al gato cruzó la calle. ' * 20)\n"
        "print(r.n_tokens)\n"
    )
    for _ in range(3):
        done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr[-2000:]
        assert "terminate called" not in done.stderr
        assert int(done.stdout.split()[-1]) > 200


def test_a_config_without_layer_or_head_counts_stacks_after_the_pass(minilm):
    from attnviz import extraction

    model, _ = minilm

    class Unsaid:
        config = type("Config", (), {})()

    assert extraction._stack_shape(Unsaid(), 1, 10) is None
    assert extraction._stack_shape(model, 2, 10) == (2, 6, 12, 10, 10)
    assert extraction._new_stack(None) is None


def test_one_head_looking_ahead_anywhere_makes_a_model_bidirectional():
    from attnviz.extraction import is_causal

    causal = np.tril(np.ones((3, 4, 5, 5), dtype=np.float32))
    assert is_causal(causal)
    ahead = causal.copy()
    ahead[2, 3, 1, 4] = 0.01  # last layer, last head
    assert not is_causal(ahead)
    assert not is_causal(np.ones((3, 4, 5, 5), dtype=np.float32))
    assert not is_causal(np.ones((1, 1, 1, 1), dtype=np.float32))


def test_a_module_that_refuses_hooks_leaves_the_copy_for_after_the_pass(minilm, monkeypatch):
    model, tokenizer = minilm
    made = _spy_on_copiers(monkeypatch)
    attnviz.extract(model, tokenizer, "Hola.")
    hooks = _forward_hooks(model)
    refusing = model.encoder.layer[2].attention

    def refuse(*args, **kwargs):
        raise RuntimeError("este módulo no admite ganchos")

    monkeypatch.setattr(refusing, "register_forward_hook", refuse)
    result = attnviz.extract(model, tokenizer, LONG_TEXT)
    assert made[0].answers == [False] and not made[0]._thread.is_alive()
    assert _forward_hooks(model) == hooks
    np.testing.assert_allclose(result.attention, _recompute_attention(model, tokenizer, LONG_TEXT), atol=1e-5)
