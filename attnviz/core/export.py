"""Write attention weights and metrics to files other tools read (CSV, ``.npy``).

Figures need nothing here: every view returns an Axes, and
``ax.figure.savefig("x.png")`` (or .svg, .pdf) saves it.
"""

from __future__ import annotations

import csv
import itertools
import os
from pathlib import Path

import numpy as np

from .errors import OutputPathError
from .metrics import METRIC_NAMES, HeadMetrics, metrics_table
from .result import AttentionResult

WEIGHT_COLUMNS: tuple[str, ...] = ("layer", "head", "from", "to", "from_token", "to_token", "weight")


def check_export_path(path: str | os.PathLike[str], suffix: str) -> Path:
    """``path`` as a Path, if it ends in ``suffix`` and its folder exists; else OutputPathError."""
    target = Path(path)
    if target.suffix.lower() != suffix:
        raise OutputPathError(
            f"«{target.name}» debería terminar en {suffix}.",
            f"'{target.name}' should end in {suffix}.",
        )
    return require_folder(target)


def require_folder(path: Path) -> Path:
    """``path`` if its folder exists; an OutputPathError naming the folder otherwise."""
    if not path.parent.is_dir():
        raise OutputPathError(
            f"La carpeta «{path.parent}» no existe: créala antes o elige otra ruta.",
            f"The folder '{path.parent}' does not exist: create it first or pick another path.",
        )
    return path


def weights_to_csv(
    result: AttentionResult, path: str | os.PathLike[str], layer: int | None = None, head: int | None = None
) -> Path:
    """Write one row per weight: layer, head, from, to, from_token, to_token, weight.

    ``layer`` and/or ``head`` restrict the rows; None means all.  Indices
    start at 0 as everywhere in attnviz.  Returns the path written.
    """
    target = check_export_path(path, ".csv")
    layers = range(result.n_layers) if layer is None else [result.check_layer(layer)]
    heads = range(result.n_heads) if head is None else [result.check_head(head)]
    tokens = result.tokens
    cells = itertools.product(layers, heads, range(len(tokens)), range(len(tokens)))
    with target.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(WEIGHT_COLUMNS)
        writer.writerows(
            (lay, hd, i, j, tokens[i], tokens[j], f"{result.attention[lay, hd, i, j]:.8g}")
            for lay, hd, i, j in cells
        )
    return target


def save_npy(result: AttentionResult, path: str | os.PathLike[str]) -> Path:
    """Save the ``[layers, heads, n, n]`` float32 attention array with ``numpy.save``."""
    target = check_export_path(path, ".npy")
    np.save(target, np.asarray(result.attention))
    return target


def metrics_to_csv(metrics: HeadMetrics, path: str | os.PathLike[str]) -> Path:
    """Write one row per head: layer, head and every metric."""
    target = check_export_path(path, ".csv")
    with target.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=["layer", "head", *METRIC_NAMES])
        writer.writeheader()
        for row in metrics_table(metrics):
            writer.writerow({k: (f"{v:.8g}" if isinstance(v, float) else v) for k, v in row.items()})
    return target
