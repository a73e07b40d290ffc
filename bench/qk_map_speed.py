"""How long the query/key map takes for the 117 corpus sentences: the corpus pass, then the map alone.

The map (joint PCA and scatter, drawn to PNG) must take at most 2 s once the corpus has run; the pass
is reported apart, as the lesson runs it once.  Models: the offline MiniLM and the BETO-shaped model
(BETO's config and vocabulary, random weights).

Usage: python bench/qk_map_speed.py [--repeat 5] [--threads 1]
"""

from __future__ import annotations

import argparse
import io
import statistics
import time
import warnings

from redraw_speed import beto_shaped_model


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import torch

    import attnviz

    torch.set_num_threads(args.threads)
    warnings.simplefilter("ignore")
    sentences = attnviz.load_corpus()
    for name, (model, tokenizer) in (
        ("MiniLM", attnviz.load_model("minilm")),
        ("BETO-shaped", beto_shaped_model()),
    ):
        start = time.perf_counter()
        results = list(attnviz.corpus_results(model, tokenizer, sentences))
        corpus_s = time.perf_counter() - start
        times = []
        for _ in range(args.repeat):
            start = time.perf_counter()
            ax = attnviz.plot_query_key_map(attnviz.query_key_map(results, layer=3, head=0))
            ax.figure.savefig(io.BytesIO(), format="png")
            plt.close(ax.figure)
            times.append(time.perf_counter() - start)
        points = sum(r.n_tokens - sum(r.special) for r in results)
        print(
            f"{name}: {len(sentences)} frases, {points} tokens · pasada del corpus {corpus_s:.2f} s · "
            f"mapa (PCA + dibujo + PNG) p50 {statistics.median(times):.2f} s, máx. {max(times):.2f} s"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
