"""What a student waits for in the explorer, measured in the kernel through the session (no browser).

    python bench/explorer_speed.py --out /tmp/after.json --pictures /tmp/after-png
    PYTHONPATH=/path/to/older/checkout python bench/explorer_speed.py --out /tmp/before.json

Run it on two checkouts one after the other (alternating, several rounds) to compare them on the
same machine: it only uses the explorer's session, found where either layout keeps it.

Figures (milliseconds, p50 over the moves):
- ``layer_move_n16``: an uncached layer move (arcs) at n≈16 with the offline MiniLM;
- ``layer_move_n512``: the same at n=512 with a BETO-shaped random model (tests/fixtures/beto-cased);
- ``first_picture_minus_forward_n{64,128}``: new sentence → first picture, minus a bare forward pass
  of the same text right after it (p50 over 5 sentences);
- ``redraw_n16`` / ``redraw_n512``: the arc renderer's redraw alone (what the layer move adds to it is
  the weights table and the metrics line), of views the layer moves drew before (only their PNGs are
  forgotten); ``redraw_new_n512``: views never drawn (other heads);
- ``*_cpu``: the same figures in CPU time of the measuring thread (torch runs on it, one thread), which
  another process on the machine slows far less than the wall clock;
- ``bytes_per_move_n16`` / ``bytes_per_move_n512``: the PNG's size.
With ``--pictures DIR`` it also writes the seed sentence's pictures (normal and classroom mode) to compare.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SEED = "El perro que persiguió al gato cruzó la calle."


def _session_module() -> Any:
    try:
        from attnviz.explore import session
    except ImportError:  # the flat layout before the house issue
        from attnviz import session  # type: ignore[no-redef]
    return session


def _beto_shaped() -> tuple[Any, Any]:
    import torch
    from transformers import BertConfig, BertModel, BertTokenizerFast

    folder = ROOT / "tests" / "fixtures" / "beto-cased"
    torch.manual_seed(0)
    config = BertConfig(**json.loads((folder / "config.json").read_text()), attn_implementation="eager")
    model = BertModel(config).eval()
    model.name_or_path = "BETO-shaped (aleatorio, 12x12, 768)"
    return model, BertTokenizerFast.from_pretrained(str(folder), do_lower_case=False)


def _text(n_words: int, offset: int = 0) -> str:
    words = [
        "el",
        "perro",
        "que",
        "persiguió",
        "al",
        "gato",
        "cruzó",
        "la",
        "calle",
        "y",
        "después",
        "durmió",
        "en",
        "casa",
    ]
    return " ".join(words[(i + offset) % len(words)] for i in range(n_words)) + "."


def _clocks(since: tuple[float, float] = (0.0, 0.0)) -> tuple[float, float]:
    """Wall and thread-CPU milliseconds (since an earlier reading)."""
    return time.perf_counter() * 1000 - since[0], time.thread_time() * 1000 - since[1]


def _p50s(times: list[tuple[float, float]]) -> tuple[float, float]:
    """p50 of the wall and of the thread-CPU milliseconds, the first three (warm-up) left out."""
    return statistics.median(t[0] for t in times[3:]), statistics.median(t[1] for t in times[3:])


def _layer_moves(session_module: Any, session: Any, moves: int) -> tuple[float, float, int]:
    result = session.result
    times, sizes = [], []
    for k in range(moves):
        controls = session_module.Controls(layer=k % result.n_layers, head=3 % result.n_heads, source=2)
        session.clear_pictures()
        start = _clocks()
        frame = session.frame(controls)
        times.append(_clocks(start))
        sizes.append(len(frame.picture))
    return (*_p50s(times), int(statistics.median(sizes)))


def _redraw(session: Any, moves: int, heads: range | None = None) -> tuple[float, float]:
    """p50 of the arc renderer's own redraw (no table, no metrics line), layer by layer."""
    renderer = next(r for r in session._renderers.values() if type(r).__name__ == "ArcRenderer")
    result = session.result
    times = []
    for k in range(moves):
        head = 3 % result.n_heads if heads is None else heads[k // result.n_layers % len(heads)]
        start = _clocks()
        renderer.render(k % result.n_layers, head, 2)
        times.append(_clocks(start))
    return _p50s(times)


def _first_picture(
    session_module: Any, session: Any, model: Any, tokenizer: Any, n_words: int
) -> tuple[float, float]:
    """New sentence -> first picture minus a forward pass: alone right after (wall), or its own (CPU)."""
    import torch

    own: list[float] = []
    hooks = [
        model.register_forward_pre_hook(lambda *_: own.append(-time.thread_time() * 1000)),
        model.register_forward_hook(lambda *_: own.append(own.pop() + time.thread_time() * 1000)),
    ]
    differences, cpu_differences = [], []
    for k in range(5):
        text = _text(n_words, offset=k)
        own.clear()
        start = _clocks()
        session.analyze(text)
        session.frame(session_module.Controls(layer=1, head=1, source=2))
        whole, whole_cpu = _clocks(start)
        cpu_differences.append(whole_cpu - sum(own))
        inputs = tokenizer(text, return_tensors="pt")
        start = time.perf_counter()
        with torch.no_grad():
            model(**inputs, output_attentions=True)
        differences.append(whole - (time.perf_counter() - start) * 1000)
    for hook in hooks:
        hook.remove()
    return statistics.median(differences), statistics.median(cpu_differences)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", required=True)
    parser.add_argument("--pictures", help="folder for the seed sentence's pictures")
    parser.add_argument("--moves", type=int, default=30)
    args = parser.parse_args(argv)

    import matplotlib

    matplotlib.use("Agg")
    import torch

    torch.set_num_threads(1)
    import attnviz

    module = _session_module()
    figures: dict[str, Any] = {"attnviz": str(Path(attnviz.__file__).parent)}
    minilm = attnviz.load_model("minilm")
    session = module.Session()
    session.load(minilm)
    session.analyze("The dog that chased the cat crossed the busy street near the old house.")
    figures["n_small"] = session.result.n_tokens
    moved = _layer_moves(module, session, args.moves)
    figures["layer_move_n16"], figures["layer_move_n16_cpu"], figures["bytes_per_move_n16"] = moved
    figures["redraw_n16"], figures["redraw_n16_cpu"] = _redraw(session, args.moves)
    if args.pictures:
        folder = Path(args.pictures)
        folder.mkdir(parents=True, exist_ok=True)
        session.analyze(SEED)
        for classroom in (False, True):
            frame = session.frame(module.Controls(layer=2, head=9, source=5, classroom=classroom))
            (folder / f"seed-{'clase' if classroom else 'normal'}.png").write_bytes(frame.picture)

    beto = _beto_shaped()
    session = module.Session()
    session.load(beto)
    session.analyze(_text(700))
    figures["n_large"] = session.result.n_tokens
    moved = _layer_moves(module, session, 15)
    figures["layer_move_n512"], figures["layer_move_n512_cpu"], figures["bytes_per_move_n512"] = moved
    figures["redraw_n512"], figures["redraw_n512_cpu"] = _redraw(session, 15)
    new_views = _redraw(session, 39, heads=range(4, 12))
    figures["redraw_new_n512"], figures["redraw_new_n512_cpu"] = new_views
    for n_words in (64, 128):
        session = module.Session()
        session.load(beto)
        session.analyze(_text(10))
        session.frame(module.Controls(layer=0, head=0, source=1))
        first = _first_picture(module, session, *beto, n_words - 3)
        figures[f"first_picture_minus_forward_n{n_words}"] = first[0]
        figures[f"first_picture_minus_forward_n{n_words}_cpu"] = first[1]
    Path(args.out).write_text(json.dumps(figures, indent=1))
    json.dump(figures, sys.stdout, indent=1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
