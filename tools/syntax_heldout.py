"""Print the held-out syntax-head tables (UD Spanish GSD and the hand-checked file) and the null model.

For the issue's closing note and the teacher's guide: the numbers the lesson's generated answer uses.

Usage:
    python tools/syntax_heldout.py [model]      # default: minilm (offline)
"""

from __future__ import annotations

import sys
import time

import attnviz
from attnviz.syntax import (
    gold_results,
    gsd_results,
    held_out_scores,
    held_out_text,
    relation_instances,
    syntax_answer,
)


def main(argv: list[str]) -> int:
    model, tokenizer = attnviz.load_model(argv[0] if argv else "minilm")
    for title, load in (("UD Spanish GSD", gsd_results), ("frases revisadas a mano", gold_results)):
        start = time.perf_counter()
        instances = relation_instances(load(model, tokenizer))
        scored = time.perf_counter()
        table = held_out_scores(instances)
        done = time.perf_counter()
        times = f"modelo y puntuación {scored - start:.1f} s · mitades y modelo nulo {done - scored:.1f} s"
        print(f"=== {title}: {times}")
        print(held_out_text(table))
        null = table.null
        print(
            f"\nModelo nulo: {null.trials} pruebas, semilla {null.seed}, {null.n_predictors} cabezas al azar"
        )
        for r, relation in enumerate(null.relations):
            print(
                f"  {relation:7s} otra mitad {null.rate[r]:6.1%} · mismas frases "
                f"{null.in_sample_rate[r]:6.1%} · percentil 95 de la diferencia "
                f"{100 * null.top[r]:+.1f} puntos"
            )
        print()
        print(syntax_answer(table))
        print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
