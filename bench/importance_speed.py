"""How long head_importance takes for BETO's 12 x 12 heads: 145 knockout rows, batched or one by one.

    python bench/importance_speed.py                       # n = 15 and 64, batch 1 and 16, 1 thread
    python bench/importance_speed.py --n 15 --batch 16 32 --threads 2

Development code, not part of the installed package: it needs the repository's tests/fixtures.

Uses a BETO-shaped random ``BertForMaskedLM`` (BETO's config.json, hidden 768, 12 layers x 12
heads, vocabulary of 31 002 with the masked-word head: the real forward cost) and BETO's real
vocabulary, so no download.  The word hidden is «persiguió» (two pieces), in a text cut to exactly
``n`` tokens.  Each configuration runs in a fresh process, so that its peak memory is its own:
``ru_maxrss`` (the process's peak resident set, which sees torch's allocations where tracemalloc
does not) is read after loading the model and one warm-up pass (with the kernel's peak reset
there, where Linux allows it: see :func:`_reset_peak`) and again after head_importance; "+MiB"
is what head_importance added on top of the loaded model.  Timings are wall clock on whatever
else the machine is doing; the load average is printed with each row.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time
import warnings
from pathlib import Path
from typing import Any

FIXTURE = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "beto-cased"
TEXT = (
    "El perro que persiguió al gato cruzó la calle. La niña que leía un libro en el parque "
    "levantó la vista cuando oyó los ladridos, y su abuelo, que dormía en un banco, se despertó. "
)
WORD = "persiguió"
TARGET = "≤ 15 s a n≈15 (objetivo ambicioso ≤ 5 s)"


def beto_shaped_masked_lm(attn: str) -> tuple[Any, Any]:
    """Random BertForMaskedLM with BETO's config (12x12, hidden 768) and BETO's vocabulary."""
    import torch
    from transformers import BertConfig, BertForMaskedLM, BertTokenizerFast  # type: ignore[attr-defined]

    config = BertConfig(**json.loads((FIXTURE / "config.json").read_text()))
    config._attn_implementation = attn
    torch.manual_seed(0)
    model = BertForMaskedLM(config).eval()
    tokenizer = BertTokenizerFast.from_pretrained(str(FIXTURE), do_lower_case=False)
    return model, tokenizer


def _rss_mib() -> float:
    """The process's peak resident set so far (``ru_maxrss``), in MiB."""
    # ru_maxrss is in KiB on Linux, in bytes on macOS.
    scale = 1 if platform.system() == "Darwin" else 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale / 2**20


def _reset_peak() -> bool:
    """Start ``ru_maxrss`` again from the current RSS (Linux >= 4.0); False where it cannot.

    Building a random 110M-parameter model peaks higher than what follows, so without the reset
    ru_maxrss would not move during head_importance and would say nothing about it.
    """
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def one(n: int, batch: int, threads: int, attn: str) -> dict[str, Any]:
    """Time one head_importance call in this process; its figures as a dict."""
    import torch

    from attnviz.core.importance import head_importance
    from attnviz.core.prediction import predict_masked

    torch.set_num_threads(threads)
    warnings.simplefilter("ignore")
    model, tokenizer = beto_shaped_masked_lm(attn)
    tokenizer.model_max_length = n  # the text is cut to exactly n tokens
    text = TEXT * (1 + n // 40)
    warm = predict_masked(model, tokenizer, text, WORD)  # one pass: oneDNN's first-call setup
    tokens = len(tokenizer(text, truncation=True)["input_ids"])
    reset = _reset_peak()
    before = _rss_mib()
    start = time.perf_counter()
    start_cpu = time.process_time()
    result = head_importance(model, tokenizer, text, WORD, batch_size=batch, progress=False)
    wall = time.perf_counter() - start
    cpu = time.process_time() - start_cpu
    after = _rss_mib()
    return {
        "n": tokens,
        "batch": batch,
        "threads": threads,
        "attn": attn,
        "pieces": len(warm.pieces),
        "wall_s": wall,
        "cpu_s": cpu,
        "rss_before_mib": before,
        "rss_peak_mib": after,
        "top_head": [int(i) for i in divmod(int(result.values.argmax()), result.values.shape[1])],
        "peak_reset": reset,
        "load": os.getloadavg()[0],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, nargs="+", default=[15, 64])
    parser.add_argument("--batch", type=int, nargs="+", default=[1, 16])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--attn", nargs="+", default=["eager"], choices=["eager", "sdpa"])
    parser.add_argument("--one", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.one:
        print(json.dumps(one(args.n[0], args.batch[0], args.threads, args.attn[0])))
        return 0

    import torch
    import transformers

    print(
        f"torch {torch.__version__}, transformers {transformers.__version__}, {os.cpu_count()} CPU, "
        f"{args.threads} hilo(s) de torch. Objetivo: {TARGET}"
    )
    header = ("n", 3), ("lote", 4), ("atención", 8), ("s", 6), ("CPU s", 6), ("RSS antes", 10)
    header += ("pico", 7), ("+MiB", 6), ("carga", 5)
    print(" ".join(f"{name:>{width}}" for name, width in header))
    env = {**os.environ, "OMP_NUM_THREADS": str(args.threads)}
    for attn in args.attn:
        for n in args.n:
            times = {}
            for batch in args.batch:
                command = [sys.executable, __file__, "--one", "--n", str(n), "--batch", str(batch)]
                command += ["--threads", str(args.threads), "--attn", attn]
                run = subprocess.run(command, capture_output=True, text=True, env=env, check=True)
                row = json.loads(run.stdout.strip().splitlines()[-1])
                times[batch] = row["wall_s"]
                grown = row["rss_peak_mib"] - row["rss_before_mib"]
                print(
                    f"{row['n']:>3} {batch:>4} {attn:>8} {row['wall_s']:>6.2f} {row['cpu_s']:>6.2f} "
                    f"{row['rss_before_mib']:>10.0f} {row['rss_peak_mib']:>7.0f} {grown:>+6.0f} "
                    f"{row['load']:>5.2f}" + ("" if row["peak_reset"] else "  (pico sin reiniciar)")
                )
            if len(times) > 1:
                slowest, fastest = max(times, key=times.__getitem__), min(times, key=times.__getitem__)
                ratio = times[slowest] / times[fastest]
                print(f"    n={n}: lote {fastest} es {ratio:.1f}x más rápido que lote {slowest}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
