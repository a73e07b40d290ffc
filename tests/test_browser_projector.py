"""Issue 21 §7 in a real browser: every picture readable on a 1280x720 projector at 150 % zoom.

One JupyterLab server, one Chromium page (Playwright; /usr/bin/chromium), one notebook: the explorer in
classroom mode, switched through every view with its «Vista:» selector (arcs, heat map, graph, text,
grid, q·k scores), then the static figures a lesson draws after ``modo_clase()`` (the layer profile, a
plain matplotlib figure with a legend, the layer-by-layer comparison) as PNGs in the notebook's output.

Sizes in CSS px: each text's size in points x the figure's dpi / 72 x the picture's scale on the page (its
rendered width over its natural width; the explorer's picture may be letterboxed by ``object-fit:
contain``).  The texts come from the figure that drew the picture on screen (checked: same pixel size).
"""

from __future__ import annotations

import base64
import inspect
import io
import json
from pathlib import Path

import pytest

from attnviz.plots import style

from .jupyter_browser import SERVER_START_SECONDS, jupyter_server, kernel_print, run_all_cells
from .test_browser import PICTURE_CHANGE_SECONDS, PICTURE_TEXT_PROBE
from .view_checks import box_overlaps, figure_texts, picture_text

SCREEN = (1280, 720)
ZOOM = 1.5
SEED = "El perro que persiguió al gato cruzó la calle."
#: The explorer's views in its «Vista:» selector, by their Spanish names.
EXPLORER_VIEWS = {
    "arcs": "Arcos",
    "heatmap": "Mapa de calor",
    "graph": "Grafo",
    "text": "Texto resaltado",
    "grid": "Todas las cabezas",
    "scores": "Cálculo q·k",
}

SETUP = """
import json

import matplotlib
import matplotlib.pyplot as plt

import attnviz

model, tokenizer = attnviz.load_model("minilm")
resultado = attnviz.extract(model, tokenizer, {seed!r})
"""

# The last figure with pixels that any draw went through: the explorer's blitted heat map draws its
# Axes, the others the whole figure.  The probe then measures the figure that made the picture on screen.
DRAW_HOOK = """
import functools
import matplotlib.axes
import matplotlib.figure
from attnviz.plots.style import root_figure

_LAST = {}

def _remember(draw, root):
    @functools.wraps(draw)
    def wrapped(self, *args, **kwargs):
        figure = root(self)
        if hasattr(figure.canvas, "buffer_rgba"):  # a picture's, not a figure only measuring text
            _LAST["figure"] = figure
        return draw(self, *args, **kwargs)
    return wrapped

matplotlib.figure.Figure.draw = _remember(matplotlib.figure.Figure.draw, lambda figure: figure)
matplotlib.axes.Axes.draw = _remember(matplotlib.axes.Axes.draw, lambda ax: root_figure(ax))
"""

EXPLORER = """
explorer = attnviz.explorer(model=(model, tokenizer), text={seed!r}, modo="clase")
explorer.add_class("projector-explorer")
explorer
"""

#: The static figures, each in a cell of its own, after ``{classroom}`` (``modo_clase()``).
STATIC = {
    "profile": """
from attnviz import head_metrics, layer_profile
perfil = layer_profile(head_metrics(resultado))
_figure = attnviz.plot_profile(perfil, compare=perfil, labels=("esta frase", "corpus")).figure
""",
    "plain": """
_figure, _ax = plt.subplots()
for _k, _name in enumerate(["esta frase", "media del corpus", "línea base"]):
    _ax.plot(range(6), [(_i / 5) ** (_k + 1) for _i in range(6)], label=_name)
_ax.set(title="¿Adónde va la atención?", xlabel="capa", ylabel="proporción de la atención")
_ax.legend()
""",
    "compare-layers": """
_palabras = [attnviz.to_words(attnviz.extract(model, tokenizer, f))
             for f in ["Me senté en el banco del parque.", "Saqué dinero del banco ayer."]]
from attnviz.plots.style import root_figure
_figure = root_figure(attnviz.plot_compare_layers(_palabras, "banco", hide_special=True)[0])
""",
}

FIGURE_PROBE = """
_figure = _LAST["figure"]
_probe = {"dpi": _figure.dpi, "size": list(_figure.canvas.get_width_height()), "texts": figure_texts(_figure)}
"""

STATIC_PROBE = """
_probe = {name: {"dpi": figure.dpi, "texts": figure_texts(figure)} for name, figure in _static.items()}
"""


def probe(page, code: str) -> dict:
    """Run ``code`` in the kernel; it leaves ``_probe``, which comes back as JSON (or the traceback)."""
    wrapped = (
        "try:\n"
        + "".join(f"    {line}\n" for line in code.strip().splitlines())
        + "    print(json.dumps(_probe))\n"
        "except Exception:\n"
        "    import traceback\n"
        "    print(json.dumps({'error': traceback.format_exc()}))\n"
    )
    answer = json.loads(kernel_print(page, wrapped))
    assert "error" not in answer, answer["error"]
    return answer


#: The explorer's picture: its one image shown (another may wait hidden for other uses).
PICTURE = "[...document.querySelectorAll(sel)].find(img => img.offsetParent !== null)"

# Where the explorer's picture is drawn on the page and at what scale (CSS px per picture pixel), with
# ``object-fit: contain`` letterboxing it in its box.
EXPLORER_PICTURE = f"""(sel) => {{
    const img = {PICTURE};
    const box = img.getBoundingClientRect();
    const fit = getComputedStyle(img).objectFit;
    const scale = fit === 'contain'
        ? Math.min(box.width / img.naturalWidth, box.height / img.naturalHeight)
        : box.width / img.naturalWidth;
    return {{width: box.width, height: box.height, natural: [img.naturalWidth, img.naturalHeight],
            fit: fit, scale: scale, viewport: [window.innerWidth, window.innerHeight],
            dpr: window.devicePixelRatio}};
}}"""
SOURCE = f"(sel) => {PICTURE}?.src"
#: The explorer's grey notes above the arcs, in CSS px.
NOTES_SIZE = (
    "() => parseFloat(getComputedStyle("
    "document.querySelector('.projector-explorer .attnviz-notes')).fontSize)"
)
CHANGED = (
    f"([sel, src]) => {{ const img = {PICTURE};"
    " return img && img.src !== src && img.complete && img.naturalWidth > 0; }"
)

# The picture in the output of the code cell whose source holds ``marker``: its scale and its bytes.
STATIC_PICTURE = """async (marker) => {
    const cells = window.jupyterapp.shell.currentWidget.content.widgets;
    const cell = cells.find(c => c.model.sharedModel.getSource().includes(marker));
    cell.node.scrollIntoView({block: 'start'});
    await new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)));
    const img = cell.node.querySelector('.jp-OutputArea-output img');
    const box = img.getBoundingClientRect();
    const blob = await (await fetch(img.src)).blob();
    const buf = new Uint8Array(await blob.arrayBuffer());
    let s = ''; for (const b of buf) s += String.fromCharCode(b);
    return {width: box.width, natural: [img.naturalWidth, img.naturalHeight],
            scale: box.width / img.naturalWidth, png: btoa(s)};
}"""


def _notebook(work: Path, classroom: str) -> str:
    import nbformat
    from nbformat.v4 import new_code_cell, new_notebook

    cells = [
        SETUP.format(seed=SEED),
        DRAW_HOOK + "\n" + inspect.getsource(figure_texts),
        EXPLORER.format(seed=SEED),
        f"_static = {{}}\n{classroom}",
        *(
            f"# projector:{name}\n{code.strip()}\n_static[{name!r}] = _figure\nplt.show()"
            for name, code in STATIC.items()
        ),
    ]
    notebook = new_notebook(cells=[new_code_cell(cell.strip()) for cell in cells])
    notebook.metadata["kernelspec"] = {"display_name": "Python 3", "language": "python", "name": "python3"}
    nbformat.write(notebook, work / "projector_views.ipynb")
    return "projector_views.ipynb"


def _sizes(texts: list[dict], dpi: float, scale: float) -> dict[str, float]:
    """The smallest text of each role on screen, in CSS px."""
    smallest: dict[str, float] = {}
    for text in texts:
        px = text["fontsize"] * dpi / 72.0 * scale
        smallest[text["role"]] = round(min(px, smallest.get(text["role"], px)), 1)
    return smallest


def _upright_labels(texts: list[dict]) -> list[dict]:
    """Labels whose boxes are their outlines (the graph's slanted node labels: by ink, in test_projector)."""
    return [t for t in texts if t["role"] == "label" and round(t.get("rotation", 0.0)) % 90 == 0]


def measure_projector(browser, tmp_path: Path, classroom: str, undo: str = "") -> dict[str, dict]:
    """Run the notebook in JupyterLab on the projector and measure every picture.

    ``classroom`` is the code run before the static figures (``modo_clase()``); ``undo`` is run in the
    kernel once they are measured, so that the explorer's views show what its own «Modo clase» does,
    not the notebook's mode.  Returns, per picture, its sizes on screen and overlapping texts.
    """
    work = tmp_path / "work"
    work.mkdir(parents=True, exist_ok=True)
    name = _notebook(work, classroom)
    found: dict[str, dict] = {}
    viewport = {"width": round(SCREEN[0] / ZOOM), "height": round(SCREEN[1] / ZOOM)}
    with jupyter_server("lab", work, name, tmp_path) as url:
        page = browser.new_page(viewport=viewport, device_scale_factor=ZOOM)
        page.goto(url, timeout=SERVER_START_SECONDS * 1000)
        page.wait_for_function(
            "() => window.jupyterapp?.shell?.currentWidget", timeout=SERVER_START_SECONDS * 1000
        )
        page.evaluate("() => window.jupyterapp.shell.collapseLeft()")
        run_all_cells(page)
        found.update(_static_pictures(page))
        if undo:
            kernel_print(page, undo)
        found.update(_explorer_views(page))
        page.screenshot(path=str(tmp_path / "projector_views.png"))
        page.close()
    return found


def _static_pictures(page) -> dict[str, dict]:
    """The static figures as the notebook shows them: their PNGs' scale, their figures' texts."""
    from PIL import Image

    found = {}
    for view, figure in probe(page, STATIC_PROBE).items():
        shown = page.evaluate(STATIC_PICTURE, f"# projector:{view}")
        png = Image.open(io.BytesIO(base64.b64decode(shown.pop("png"))))
        # The PNG says its own dpi: the figure's.
        assert round(png.info["dpi"][0]) == round(figure["dpi"]), (view, png.info["dpi"], figure["dpi"])
        texts = figure["texts"]
        found[view] = {
            "sizes": _sizes(texts, figure["dpi"], shown["scale"]),
            "number_overlaps": box_overlaps([t for t in texts if t["role"] == "number"]),
            "label_overlaps": box_overlaps(_upright_labels(texts)),
            "shown": shown,
        }
    return found


def _explorer_views(page) -> dict[str, dict]:
    """Each view the explorer's «Vista:» selector offers, as it shows it: its scale, its figure's texts."""
    found = {}
    image = ".projector-explorer img.widget-image"
    page.wait_for_function(CHANGED, arg=[image, ""], timeout=PICTURE_CHANGE_SECONDS * 1000)
    selector = page.locator(".projector-explorer .widget-dropdown:has(label:text-is('Vista:')) select")
    for view, label in EXPLORER_VIEWS.items():
        if view != "arcs":
            before = page.evaluate(SOURCE, image)
            selector.select_option(label=label)
            page.wait_for_function(CHANGED, arg=[image, before], timeout=PICTURE_CHANGE_SECONDS * 1000)
        page.locator(f"{image} >> visible=true").scroll_into_view_if_needed()
        shown = page.evaluate(EXPLORER_PICTURE, image)
        if view == "arcs":
            arcs = picture_text(json.loads(kernel_print(page, PICTURE_TEXT_PROBE))["picture"])
            size = [arcs.width, arcs.height]
            texts = [
                {"text": t.text, "fontsize": t.fontsize, "role": role, "box": t.box}
                for role, boxes in (("label", arcs.labels), ("number", arcs.values))
                for t in boxes
            ]
            dpi = arcs.dpi
        else:
            drawn = probe(page, FIGURE_PROBE)
            size, texts, dpi = drawn["size"], drawn["texts"], drawn["dpi"]
        # The probe read the figure that made the picture on screen.
        assert list(size) == shown["natural"], (view, size, shown["natural"])
        numbers = [t for t in texts if t["role"] == "number"]
        sizes = _sizes(texts, dpi, shown["scale"])
        if view == "arcs":
            # The arcs' grey notes are text above the picture: their size on screen is the browser's.
            sizes["note"] = page.evaluate(NOTES_SIZE)
        found[view] = {
            "sizes": sizes,
            "number_overlaps": box_overlaps(numbers),
            # The arcs' slanted labels are checked by their outlines in tests/test_arcs_classroom.py.
            "label_overlaps": [] if view == "arcs" else box_overlaps(_upright_labels(texts)),
            "shown": shown,
        }
    return found


def report(found: dict[str, dict]) -> str:
    """One line per picture: its smallest label, number and note on screen, in CSS px."""
    lines = [f"{'picture':16} {'labels':>7} {'numbers':>8} {'notes':>6}  shown"]
    for view, m in found.items():
        s, shown = m["sizes"], m["shown"]
        lines.append(
            f"{view:16} {s.get('label', float('nan')):7.1f} {s.get('number', float('nan')):8.1f} "
            f"{s.get('note', float('nan')):6.1f}  {shown['natural'][0]}x{shown['natural'][1]} px at "
            f"{shown['scale']:.3f}"
        )
    return "\n".join(lines)


@pytest.mark.browser
@pytest.mark.slow
def test_every_view_is_readable_on_a_projector(browser, tmp_path: Path) -> None:
    """Labels >= 18 CSS px, numbers and notes >= 14, no two numbers (nor two upright labels) overlapping,
    for each of the explorer's views in classroom mode and each static figure after modo_clase()."""
    found = measure_projector(
        browser,
        tmp_path,
        "from attnviz.plots.style import modo_clase\nmodo_clase()",
        undo="modo_clase(False)",
    )
    print("\n1280x720 at 150 %, CSS px (smallest of each kind):\n" + report(found))
    assert set(found) == {*STATIC, *EXPLORER_VIEWS}
    for view, m in found.items():
        sizes = m["sizes"]
        if view in EXPLORER_VIEWS:
            assert m["shown"]["dpr"] == ZOOM and m["shown"]["viewport"] == [853, 480]
        assert sizes["label"] >= style.MIN_LABEL_PX, f"{view}: labels {sizes}"
        assert sizes.get("number", 99.0) >= style.MIN_NUMBER_PX, f"{view}: numbers {sizes}"
        assert sizes.get("note", 99.0) >= style.MIN_NUMBER_PX, f"{view}: notes {sizes}"
        assert m["number_overlaps"] == [], f"{view}: overlapping numbers {m['number_overlaps']}"
        assert m["label_overlaps"] == [], f"{view}: overlapping labels {m['label_overlaps']}"
