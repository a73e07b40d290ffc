"""The q·k steps view and the query/key map: what their artists carry, recomputed."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pytest

import attnviz
from attnviz.core.corpus import corpus_results
from attnviz.core.measures import score_steps
from attnviz.core.qk_map import query_key_map
from attnviz.plots.qk_map import plot_query_key_map
from attnviz.plots.scores import plot_scores

from .conftest import SEED

SENTENCES = [SEED, "La niña que leía el libro sonrió a su hermano.", "Mañana lloverá en la sierra."]


def _numbers(ax):
    return [t.get_text() for t in ax.texts if t.get_gid() == "scores-value"]


def _bar_widths(ax, gid):
    return np.array([p.get_width() for p in ax.patches if p.get_gid() == gid])


def test_scores_view_shows_each_step_and_the_models_weight(minilm_result):
    ax = plot_scores(minilm_result, 2, 0, 3)
    steps = score_steps(minilm_result, 2, 0, 3)
    n = minilm_result.n_tokens
    numbers = _numbers(ax)
    assert len(numbers) == 4 * n
    columns = [steps.dot, steps.scaled, steps.weights, steps.returned]
    assert numbers == [f"{value:.2f}" for column in columns for value in column]
    for gid, values in zip(
        ("scores-dot", "scores-scaled", "scores-softmax", "scores-returned"), columns, strict=True
    ):
        widths = _bar_widths(ax, gid)
        # Bars are proportional to their column's values, largest absolute value at full band width.
        np.testing.assert_allclose(widths / np.abs(widths).max(), values / np.abs(values).max(), atol=1e-9)
    headers = {t.get_text() for t in ax.texts if t.get_gid() not in ("scores-value", "notes")}
    assert headers == {"q·k", "q·k / √32", "softmax", "peso del modelo"}
    notes = next(t.get_text() for t in ax.texts if t.get_gid() == "notes")
    assert "d_k = 32" in notes and "«that»" in ax.get_title()
    plt.close(ax.figure)


def test_without_the_scale_the_view_drops_a_column_and_takes_softmax_of_q_dot_k(minilm_result):
    ax = plot_scores(minilm_result, 2, 0, 3, scaled=False, fontsize=16)
    steps = score_steps(minilm_result, 2, 0, 3)
    numbers = _numbers(ax)
    n = minilm_result.n_tokens
    assert numbers[n : 2 * n] == [f"{v:.2f}" for v in steps.unscaled_weights]
    assert "softmax sin escalar" in {t.get_text() for t in ax.texts}
    assert {t.get_fontsize() for t in ax.texts if t.get_gid() == "scores-value"} == {16 * 0.85}
    plt.close(ax.figure)


def test_scores_of_a_causal_model_mark_the_future(models_gpt2):
    model, tokenizer = models_gpt2
    result = attnviz.extract(model, tokenizer, SEED)
    ax = plot_scores(result, 0, 1, 2)
    numbers = _numbers(ax)
    n = result.n_tokens
    for column in range(4):
        assert numbers[column * n + 3 : (column + 1) * n] == ["—"] * (n - 3)
    plt.close(ax.figure)


@pytest.fixture(scope="module")
def models_gpt2(family_dirs):
    return attnviz.load_model(str(family_dirs["gpt2"]))


@pytest.fixture(scope="module")
def corpus_run(minilm):
    model, tokenizer = minilm
    return list(corpus_results(model, tokenizer, SENTENCES))


def test_batched_results_carry_the_same_queries_as_one_by_one(corpus_run, minilm):
    model, tokenizer = minilm
    alone = attnviz.extract(model, tokenizer, SENTENCES[1])
    np.testing.assert_allclose(
        corpus_run[1].projections.query(3, 2), alone.projections.query(3, 2), atol=1e-5
    )
    np.testing.assert_allclose(corpus_run[1].projections.key(3, 2), alone.projections.key(3, 2), atol=1e-5)


def test_query_key_map_is_a_joint_pca_of_scaled_queries_and_shifted_keys(corpus_run):
    qk = query_key_map(corpus_run, layer=3, head=2)
    q = np.concatenate([r.projections.query(3, 2)[1:-1] for r in corpus_run]).astype(np.float64)
    k = np.concatenate([r.projections.key(3, 2)[1:-1] for r in corpus_run]).astype(np.float64)
    ratio = np.sqrt(np.linalg.norm(q, axis=1).mean() / np.linalg.norm(k, axis=1).mean())
    q, k = q / ratio, k * ratio
    # Neither change alters a single score's softmax: a constant per row, and q·k itself.
    k_shifted = k + (q.mean(0) - k.mean(0))
    scores, shifted = q @ k.T, q @ k_shifted.T
    np.testing.assert_allclose(
        shifted - scores, (q @ (q.mean(0) - k.mean(0)))[:, None] * np.ones(len(k)), atol=1e-6
    )
    both = np.concatenate([q, k_shifted])
    centred = both - both.mean(0)
    covariance = np.cov(centred.T)
    values, vectors = np.linalg.eigh(covariance)
    top = vectors[:, ::-1][:, :2]
    expected = centred @ top
    # PCA axes are defined up to their sign.
    for axis in range(2):
        sign = np.sign(expected[:, axis] @ qk.points[:, axis])
        np.testing.assert_allclose(qk.points[:, axis], sign * expected[:, axis], atol=1e-6)
    assert qk.explained[0] == pytest.approx(values[-1] / values.sum(), rel=1e-6)
    assert len(qk.tokens) == len(q) and "[CLS]" not in qk.tokens
    assert qk.position.min() > 0 and qk.position.max() < 1


def test_query_key_map_draws_queries_and_keys_apart(corpus_run):
    qk = query_key_map(corpus_run, layer=0, head=0)
    ax = plot_query_key_map(qk, fontsize=16)
    drawn = {c.get_gid(): c for c in ax.collections}
    np.testing.assert_allclose(drawn["qk-queries"].get_offsets(), qk.queries)
    np.testing.assert_allclose(drawn["qk-keys"].get_offsets(), qk.keys)
    np.testing.assert_allclose(drawn["qk-queries"].get_array(), qk.position)
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["consulta (q)", "clave (k)"]
    plt.close(ax.figure)
    labels = [f"frase {i}" for i in qk.sentence]
    ax = plot_query_key_map(qk, color_by=labels)
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [
        "consulta (q)",
        "clave (k)",
        "frase 0",
        "frase 1",
        "frase 2",
    ]
    plt.close(ax.figure)


def test_a_map_of_nothing_is_a_spanish_error():
    with pytest.raises(attnviz.AttnvizError) as caught:
        query_key_map([], 0, 0)
    assert caught.value.message_es == "No hay tokens que proyectar: da al menos una frase con palabras."


def test_a_long_text_keeps_the_strongest_rows_and_says_so(minilm):
    model, tokenizer = minilm
    result = attnviz.extract(model, tokenizer, " ".join([SENTENCES[1]] * 8))
    steps = score_steps(result, 2, 0, 30)
    ax = plot_scores(result, 2, 0, 30, max_rows=12)
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert len(labels) == 12
    kept = sorted([30, *[int(j) for j in np.argsort(-steps.returned, kind="stable") if j != 30][:11]])
    returned = [float(v) for v in steps.returned[kept]]
    assert labels == [f"{attnviz.plots.labels.label_text(result.tokens[i])} ({i})" for i in kept]
    numbers = _numbers(ax)
    assert numbers[-12:] == [f"{v:.2f}" for v in returned]
    notes = next(t.get_text() for t in ax.texts if t.get_gid() == "notes")
    assert f"se muestran las 12 filas de más peso de {result.n_tokens}" in notes.replace("\n", " ")
    plt.close(ax.figure)


def test_word_level_results_map_through_their_pieces(corpus_run):
    words = [attnviz.to_words(r) for r in corpus_run]
    assert all(w.projections is None for w in words)
    by_words = query_key_map(words, layer=3, head=2)
    by_tokens = query_key_map(corpus_run, layer=3, head=2)
    np.testing.assert_allclose(by_words.points, by_tokens.points)
