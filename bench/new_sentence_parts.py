"""Where a new sentence's time goes in the explorer, after the model has answered.

The explorer runs the model once per new sentence; the goal is a first
picture at most 50 ms after the forward pass.  `redraw_speed.py` compares the
explorer with a forward pass run alone right after it, which carries the
pass's own variation (±50 ms at n=512).  This measures inside one run instead:
the model's ``forward`` is timed where the explorer calls it, and so are the
copy of the attention into one array after the pass and the first frame
(picture, table and metrics), for ``--sentences`` new sentences of ``--n`` tokens with the
BETO-shaped model (BETO's vocabulary, random weights).

Usage: python bench/new_sentence_parts.py [--n 512] [--sentences 6] [--threads 1]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
import warnings

# A sibling module: run as a script, this file's folder is first on sys.path.
from redraw_speed import beto_shaped_model, limited_length, sentence, time_calls


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=512, help="tokens per sentence (2-512)")
    parser.add_argument("--sentences", type=int, default=6)
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    args = parser.parse_args(argv)

    import torch

    from attnviz.core import extraction
    from attnviz.explore.session import Session
    from attnviz.explore.widget import Explorer

    torch.set_num_threads(args.threads)
    warnings.simplefilter("ignore")
    model, tokenizer = beto_shaped_model()
    forward: list[float] = []
    copy: list[float] = []
    frame: list[float] = []
    time_calls(model, "forward", forward)
    time_calls(extraction, "_stack_attention", copy)
    time_calls(Session, "frame", frame)
    load_before = os.getloadavg()
    rows = []
    with limited_length(tokenizer, args.n):
        explorer = Explorer((model, tokenizer), sentence(args.n))
        for i in range(args.sentences):
            for log in (forward, copy, frame):
                log.clear()
            start = time.perf_counter()
            explorer.text.value = sentence(args.n) + f" Otra {i}."
            total = (time.perf_counter() - start) * 1000.0
            assert len(forward) == 1 and len(frame) == 1, "one pass and one first frame per sentence"
            after = total - forward[0]
            rows.append((total, forward[0], after, sum(copy), frame[0], after - sum(copy) - frame[0]))

    print(f"Frase nueva en el explorador, n = {args.n}, {args.threads} hilo(s) de torch (ms)")
    print()
    print(
        "| frase | total | pasada del modelo | después de la pasada | copia de la atención tras la pasada | "
        "primera imagen + tabla + métricas | resto |"
    )
    print("|---|---|---|---|---|---|---|")
    for i, row in enumerate(rows):
        print(f"| {i} | " + " | ".join(f"{value:.1f}" for value in row) + " |")
    medians = [statistics.median(column) for column in zip(*rows, strict=True)]
    print("| p50 | " + " | ".join(f"{value:.1f}" for value in medians) + " |")
    print()
    print(
        f"Carga media antes: {' '.join(f'{x:.2f}' for x in load_before)}; "
        f"después: {' '.join(f'{x:.2f}' for x in os.getloadavg())}."
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
