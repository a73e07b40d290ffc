"""What reading q, k and the value norms costs a new sentence: attnviz.extract with and without it.

Both variants run in the same process, alternating, on the BETO-shaped model (BETO's config
and vocabulary, random weights): "sin" replaces the projection hooks with nothing, so the
difference is exactly the hooks plus the per-head ``‖f_h(x_j)‖`` computation.  Also reports
how long :func:`attnviz.with_measure` takes to build the contribution result.

Usage: python bench/contribution_cost.py [--n 14 128 512] [--repeat 9] [--threads 1]
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import time
import warnings
from collections.abc import Iterator
from typing import Any

from redraw_speed import beto_shaped_model, limited_length, sentence


@contextlib.contextmanager
def _no_capture(model: Any) -> Iterator[list[Any]]:
    yield []


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, nargs="+", default=[14, 128, 512])
    parser.add_argument("--repeat", type=int, default=9)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)

    import torch

    import attnviz
    from attnviz.core import extraction
    from attnviz.core.measures import with_measure

    torch.set_num_threads(args.threads)
    warnings.simplefilter("ignore")
    model, tokenizer = beto_shaped_model()
    real_capture = extraction.capture
    print(f"{'n':>4} {'sin (ms)':>9} {'con (ms)':>9} {'coste':>7} {'with_measure (ms)':>18}")
    for n in args.n:
        text = sentence(n)
        times: dict[str, list[float]] = {"sin": [], "con": [], "measure": []}
        with limited_length(tokenizer, n):
            attnviz.extract(model, tokenizer, text)  # warm-up
            for _ in range(args.repeat):
                for variant in ("sin", "con"):
                    extraction.capture = _no_capture if variant == "sin" else real_capture  # type: ignore[assignment]
                    start = time.perf_counter()
                    result = attnviz.extract(model, tokenizer, text)
                    times[variant].append((time.perf_counter() - start) * 1000)
                extraction.capture = real_capture
                start = time.perf_counter()
                with_measure(result, "contribucion")
                times["measure"].append((time.perf_counter() - start) * 1000)
        without, with_ = statistics.median(times["sin"]), statistics.median(times["con"])
        print(
            f"{result.n_tokens:>4} {without:>9.1f} {with_:>9.1f} {100 * (with_ / without - 1):>+6.1f}% "
            f"{statistics.median(times['measure']):>18.1f}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
