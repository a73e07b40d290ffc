"""The explorer's experiment panel: a hidden word guessed in the pass on screen, heads off, importance."""

from __future__ import annotations

import re

import numpy as np
import pytest

import attnviz
from attnviz.explore.widget import Explorer

AGREEMENT = "Los perros que persiguieron al gato cruzaron la calle."


def banner_text(explorer: Explorer) -> str:
    return re.sub(r"<[^>]+>", "", explorer.banner.value)


@pytest.fixture
def masked(beto_mlm) -> Explorer:
    explorer = Explorer(beto_mlm, text=AGREEMENT)
    explorer.mask_text.value = "cruzaron"
    return explorer


def test_hiding_a_word_runs_the_model_once_and_shows_its_guess_from_that_pass(beto_mlm):
    explorer = Explorer(beto_mlm, text=AGREEMENT)
    passes = explorer.forward_count
    assert explorer.experiment_image.layout.display == "none"
    explorer.mask_text.value = "cruzaron"
    assert explorer.forward_count == passes + 1
    result = explorer.result
    assert result.prediction is not None and result.prediction.word == "cruzaron"
    assert "[MASK]" in result.tokens
    expected = attnviz.extract(*beto_mlm, AGREEMENT, mask="cruzaron")
    np.testing.assert_array_equal(result.attention, expected.attention)
    assert explorer.experiment_note.value == (
        f"P(«cruzaron») = {expected.prediction.probability:.1%}, "
        "con la misma pasada que la atención de arriba."
    )
    assert explorer.experiment_image.layout.display is None
    assert explorer.experiment_image.value[:8] == b"\x89PNG\r\n\x1a\n"
    # Moving a slider does not run the model again.
    explorer.layer_slider.value = 3
    assert explorer.forward_count == passes + 1


def test_switching_heads_off_compares_with_a_recomputation_and_leaves_the_model_as_it_was(beto_mlm, masked):
    before = attnviz.extract(*beto_mlm, AGREEMENT).attention.copy()
    masked.heads_text.value = "1:0,2:*"
    masked._run_experiment("switch")
    after = attnviz.extract(
        *beto_mlm, AGREEMENT, mask="cruzaron", heads_off=[(1, 0), *((2, h) for h in range(12))]
    )
    p0, p1 = masked.result.prediction.probability, after.prediction.probability
    assert (
        masked.experiment_note.value == f"Con 1:0, 2:* apagadas, P(«cruzaron») pasa del {p0:.1%} al {p1:.1%}."
    )
    assert banner_text(masked) == ""
    np.testing.assert_array_equal(attnviz.extract(*beto_mlm, AGREEMENT).attention, before)


@pytest.mark.parametrize(
    ("heads", "message"),
    [
        ("3:15", "La cabeza 15 no existe: hay 12 (cabezas 0 a 11)."),
        ("a:b", "CAPA:CABEZA"),
        ("-1:0", "-1"),
    ],
)
def test_a_bad_head_list_is_one_spanish_sentence_and_keeps_the_picture(masked, heads, message):
    picture = masked.experiment_image.value
    masked.heads_text.value = heads
    masked._run_experiment("switch")
    assert message in banner_text(masked)
    assert "Error" not in banner_text(masked) and "Traceback" not in banner_text(masked)
    assert masked.experiment_image.value == picture


def test_a_word_not_in_the_sentence_says_so(beto_mlm):
    explorer = Explorer(beto_mlm, text=AGREEMENT)
    explorer.mask_text.value = "saltaron"
    assert "«saltaron»" in banner_text(explorer)
    assert explorer.result.prediction is None  # the sentence on screen stays as it was


def test_a_model_without_the_head_says_what_it_offers_instead(minilm):
    explorer = Explorer(minilm, text="The dog that chased the cat crossed the street.")
    passes = explorer.forward_count
    explorer.mask_text.value = "crossed"
    assert banner_text(explorer).startswith(
        "Este modelo no adivina palabras tapadas: deja «Ocultar palabra» vacío"
    )
    assert "[MASK]" not in explorer.result.tokens and explorer.forward_count == passes
    explorer.heads_text.value = "1:0"
    explorer._run_experiment("switch")
    text = explorer.result.text
    change = attnviz.vector_change(
        attnviz.sentence_vector(*minilm, text), attnviz.sentence_vector(*minilm, text, heads_off="1:0")
    )
    assert explorer.experiment_note.value.endswith(
        f"Con 1:0 apagada, el vector de la frase cambia {change:.4f} (1 − coseno; 0 = nada)."
    )
    assert "vector de la frase (1 − coseno)" in explorer.experiment_note.value


def test_the_importance_button_names_the_head_the_grid_ranks_first(beto_mlm, masked):
    masked._run_experiment("importance")
    grid = attnviz.head_importance(*beto_mlm, AGREEMENT, "cruzaron", progress=False)
    layer, head = np.unravel_index(np.argmax(grid.values), grid.values.shape)
    assert masked.experiment_note.value.startswith(
        f"La cabeza que más importa: capa {layer}, cabeza {head} ("
    )
    assert masked.switch_button.description == "Apagar y comparar" and not masked.importance_button.disabled
