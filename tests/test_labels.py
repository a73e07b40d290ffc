"""Label text and the shared visual vocabulary: known answers."""

from __future__ import annotations

import matplotlib.pyplot as plt
import pytest

from attnviz.core.errors import AttnvizError
from attnviz.plots import style
from attnviz.plots.labels import (
    BLANK,
    ELLIPSIS,
    PLACEHOLDER,
    drawable,
    join_lines,
    label_text,
    shorten,
    text_width,
)

from .view_checks import glyph_warnings


def test_label_text_known_answers():
    assert label_text("perro") == "perro"
    assert label_text("  ") == BLANK
    assert label_text(" gato\n") == "gato"  # byte-level BPE's leading space, a newline
    assert label_text("$5") == r"\$5" and label_text("$5", mathtext=False) == "$5"
    long = label_text("x" * 10_000)
    assert len(long) == 20 and long == "x" * 19 + ELLIPSIS
    assert shorten("perro", 5) == "perro" and shorten("perros", 5) == "perr" + ELLIPSIS
    with pytest.raises(ValueError):
        shorten("perro", 0)


def test_missing_glyphs_become_one_placeholder_per_run():
    # A family emoji is one sequence (joined by zero-width joiners): one placeholder, not five.
    assert drawable("a 👨\u200d👩\u200d👧 b") == f"a {PLACEHOLDER} b"
    assert drawable("🦄🤖") == PLACEHOLDER
    assert drawable("漢字 y ñandú") == f"{PLACEHOLDER} y ñandú"
    assert drawable("«perro» · –") == "«perro» · –"  # what attnviz's own labels use is in the font


def test_placeholders_draw_without_glyph_warnings():
    figure, ax = plt.subplots()
    ax.set_title(label_text("🦄 漢字 नमस्ते 🇪🇸"))
    assert not glyph_warnings(figure)
    ax.set_title("🦄")  # the raw emoji does warn: the check is real
    assert glyph_warnings(figure)


def test_join_lines_breaks_between_parts_at_the_width():
    parts = ["Índices desde 0", "all-MiniLM-L6-v2 (sin conexión)", "fila marcada ▶: «perro» (token 2)"]
    one_line = join_lines(parts, 10_000, 10)
    assert one_line == " · ".join(parts)
    narrow = join_lines(parts, text_width(parts[1], 10) + 1, 10)
    assert narrow.split("\n") == parts
    assert all(text_width(line, 10) <= text_width(parts[1], 10) + 1 for line in narrow.split("\n")[:2])


@pytest.mark.parametrize("bold", [False, True])
@pytest.mark.parametrize("size", [10.0, style.CLASSROOM_FONTSIZE])
def test_text_width_is_what_matplotlib_draws(size, bold):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(dpi=72)  # one pixel per point
    renderer = FigureCanvasAgg(figure).get_renderer()
    texts = ["perro", "electroencefalografista", "Índices desde 0 · all-MiniLM-L6-v2", "«banco»", "WAVE Tíñ"]
    for text in [*texts, label_text("$5 cada uno")]:
        drawn = figure.text(0, 0.5, text, fontsize=size, fontweight="bold" if bold else "normal")
        drawn_width = drawn.get_window_extent(renderer).width
        assert text_width(text, size, bold) == pytest.approx(drawn_width, rel=0.06)
    # The bold face is measured, not the regular one (it is 10 % or more wider).
    assert text_width(texts[1], size, True) > 1.1 * text_width(texts[1], size, False)
    # A mathtext-escaped dollar draws one character.
    assert text_width(label_text("$5"), size, bold) == text_width("$5", size, bold)


def test_text_colour_reads_on_every_coolwarm_colour():
    cmap = plt.get_cmap(style.CMAP)
    assert style.text_color_on(cmap(0.0)) == "white" and style.text_color_on(cmap(1.0)) == "white"
    assert style.text_color_on(cmap(0.5)) == "black"
    assert style.text_color_on((1.0, 1.0, 1.0)) == "black" and style.text_color_on((0.0, 0.0, 0.0)) == "white"


def test_colorbar_labels_name_the_scale():
    for scale in style.SCALES:
        assert style.colorbar_label(scale).endswith(style.SCALE_LABELS[scale])
    assert style.colorbar_label(None) == style.colorbar_label(style.DEFAULT_SCALE)
    assert style.colorbar_label("head", vmax=0.25) == "peso de atención · escala 0 – 0.25"
    assert style.check_scale(None) == style.DEFAULT_SCALE
    with pytest.raises(AttnvizError) as info:
        style.check_scale("row", ("head", "absolute"))
    assert info.value.message_es.startswith("La escala 'row' no existe: elige «head»")


def test_the_font_coverage_fallback_finds_the_same_code_points(monkeypatch):
    """font_coverage reads matplotlib's private list of fallback fonts (FontManager._find_fonts_by_props);
    without it, as a later matplotlib might be, the public findfont gives the same coverage for the
    default fonts, and a label is the same."""
    from matplotlib import font_manager

    from attnviz.plots import labels

    private = labels.font_coverage()
    emoji_label = labels.label_text("hola 🦄 señor")
    monkeypatch.delattr(font_manager.FontManager, "_find_fonts_by_props")
    assert getattr(font_manager.fontManager, "_find_fonts_by_props", None) is None
    public = labels.font_coverage()
    assert public == private
    assert {ord("ñ"), ord("á"), ord("·")} <= public and ord("🦄") not in public
    assert labels.label_text("hola 🦄 señor") == emoji_label == "hola □ señor"
