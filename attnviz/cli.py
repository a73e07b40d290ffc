"""Command line: draw one head's attention from one token and save it."""

from __future__ import annotations

import argparse
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from .aggregate import AGGREGATES, SEGMENT_BLOCKS, filter_segments
from .arcs import from_source, plot_arcs
from .corpus import corpus_profile
from .errors import AttnvizError, OfflineFallbackWarning, OutputPathError, TruncationWarning
from .export import check_export_path, metrics_to_csv, require_folder, save_npy, weights_to_csv
from .extraction import extract
from .grid import plot_grid
from .heatmap import plot_heatmap
from .loading import load_model
from .metrics import head_metrics, layer_profile
from .profile import plot_profile
from .session import SEED_SENTENCE, VIEWS
from .words import to_words

if TYPE_CHECKING:
    import numpy as np
    from matplotlib.axes import Axes

    from .result import AttentionResult

FORMATS = {".png", ".svg", ".pdf"}


class _SpanishHelpFormatter(argparse.HelpFormatter):
    def add_usage(self, usage, actions, groups, prefix=None):  # type: ignore[no-untyped-def]
        super().add_usage(usage, actions, groups, "uso: " if prefix is None else prefix)


class _SpanishParser(argparse.ArgumentParser):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(formatter_class=_SpanishHelpFormatter, **kwargs)
        # argparse's own headings are English unless the system has a translation.
        self._positionals.title = "argumentos"
        self._optionals.title = "opciones"

    def error(self, message: str) -> NoReturn:  # one line, non-zero, in Spanish
        for english, spanish in _ARGPARSE_ES:
            message = message.replace(english, spanish)
        self.exit(2, f"error: {message} (usa --help para ver las opciones)\n")


#: argparse's error phrases, for systems without its Spanish translation.
_ARGPARSE_ES = (
    ("the following arguments are required", "faltan argumentos"),
    ("unrecognized arguments", "argumentos desconocidos"),
    ("invalid int value", "no es un número entero"),
    ("invalid choice", "opción no válida"),
    ("choose from", "elige entre"),
    ("expected one argument", "falta su valor"),
    ("expected at least one argument", "falta al menos un valor"),
    ("argument ", "argumento "),
)


def _positive_int(text: str) -> int:
    # arcs.plot_arcs raises a bare ValueError for K < 1: refuse it here, in one line.
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"debe ser un número entero positivo, no {text!r}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = _SpanishParser(
        prog="python -m attnviz",
        description=(
            "Dibuja la atención de un Transformer: arcos desde un token (arcs), la matriz de "
            "una cabeza (heatmap), todas las cabezas (grid) o el perfil por capa (profile). "
            "Capas, cabezas y tokens se cuentan desde 0."
        ),
        epilog=(f'Ejemplo: python -m attnviz "{SEED_SENTENCE}" --layer 3 --head 5 --token 2 --out arcas.png'),
        add_help=False,
    )
    parser.add_argument("-h", "--help", action="help", help="muestra esta ayuda y termina")
    parser.add_argument("text", metavar="texto", help="la frase a analizar (entre comillas)")
    parser.add_argument("--pair", metavar="TEXTO", help="segunda frase (par de oraciones)")
    parser.add_argument(
        "--model",
        default=None,
        metavar="MODELO",
        help="modelo: beto (por defecto), beto-uncased, minilm (sin conexión), un id del hub "
        "o una carpeta local",
    )
    parser.add_argument("--layer", type=int, default=0, metavar="CAPA", help="capa, desde 0 (por defecto 0)")
    parser.add_argument(
        "--head", type=int, default=0, metavar="CABEZA", help="cabeza, desde 0 (por defecto 0)"
    )
    parser.add_argument(
        "--token", type=int, default=1, help="token de origen, desde 0 (por defecto 1: el primero tras [CLS])"
    )
    parser.add_argument(
        "--out",
        metavar="ARCHIVO",
        help="guarda la figura; el formato sale de la extensión: .png, .svg o .pdf",
    )
    parser.add_argument(
        "--values", action="store_true", help="imprime los pesos del token de origen como tabla"
    )
    parser.add_argument(
        "--top-k", type=_positive_int, default=None, metavar="K", help="dibuja solo los K enlaces más fuertes"
    )
    parser.add_argument(
        "--all-values",
        action="store_true",
        help="escribe el peso sobre cada arco (o en cada celda del heatmap)",
    )
    parser.add_argument(
        "--view",
        choices=tuple(VIEWS),
        default="arcs",
        help="qué dibujar con --out: arcs (arcos desde --token, por defecto), heatmap "
        "(matriz de la cabeza), grid (todas las capas y cabezas) o profile (métricas "
        "por capa)",
    )
    parser.add_argument(
        "--words",
        action="store_true",
        help="atención entre palabras en vez de tokens: junta las piezas ## "
        "(hacia una palabra = suma, desde una palabra = media)",
    )
    parser.add_argument(
        "--aggregate",
        choices=tuple(AGGREGATES),
        default=None,
        help="en arcs y heatmap, dibuja un resumen en vez de una cabeza: mean (media "
        "de las cabezas de --layer), max (máximo de esas cabezas), layers (media de "
        "todas las capas y cabezas) o rollout (Abnar y Zuidema 2020, hasta --layer)",
    )
    parser.add_argument(
        "--segments",
        choices=SEGMENT_BLOCKS,
        nargs="+",
        default=None,
        metavar="BLOQUE",
        help="con --pair, muestra solo estos bloques: A->A, A->B, B->A, B->B",
    )
    parser.add_argument(
        "--corpus",
        action="store_true",
        help="con --view profile, compara con el perfil del corpus incluido (más lento)",
    )
    parser.add_argument(
        "--csv",
        metavar="ARCHIVO.csv",
        help="guarda todos los pesos (capa, cabeza, desde, hacia, peso) en CSV",
    )
    parser.add_argument(
        "--npy",
        metavar="ARCHIVO.npy",
        help="guarda el tensor de atención [capas, cabezas, n, n] en formato .npy",
    )
    parser.add_argument(
        "--metrics",
        metavar="ARCHIVO.csv",
        help="guarda las métricas de cada cabeza (entropía, [CLS], [SEP]...) en CSV",
    )
    return parser


def check_output_path(out: str) -> Path:
    path = Path(out)
    if path.suffix.lower() not in FORMATS:
        raise OutputPathError(
            f"No sé guardar «{path.name}»: usa la extensión .png, .svg o .pdf.",
            f"Cannot save '{path.name}': use a .png, .svg or .pdf extension.",
        )
    return require_folder(path)


def format_values(tokens: Sequence[str], row: Sequence[float], source: int) -> str:
    """The source token's weights to every token, strongest first, as a text table."""
    order = sorted(range(len(row)), key=lambda j: -row[j])
    width = max(len(t) for t in tokens)
    lines = [f"Atención desde «{tokens[source]}» (token {source}):", f"{'#':>4}  {'token':<{width}}  peso"]
    lines += [f"{j:>4}  {tokens[j]:<{width}}  {row[j]:.4f}" for j in order]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return _run(args)
    except AttnvizError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1


def _run(args: argparse.Namespace) -> int:
    if not (args.out or args.values or args.csv or args.npy or args.metrics):
        print("Nada que hacer: indica --out ARCHIVO, --values, --csv, --npy o --metrics.", file=sys.stderr)
        return 2
    out = check_output_path(args.out) if args.out else None
    csv_path = check_export_path(args.csv, ".csv") if args.csv else None
    npy_path = check_export_path(args.npy, ".npy") if args.npy else None
    metrics_path = check_export_path(args.metrics, ".csv") if args.metrics else None

    import matplotlib

    matplotlib.use("Agg")

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model, tokenizer = load_model(args.model)
        result = extract(model, tokenizer, args.text, args.pair)
    for warning in caught:
        if issubclass(warning.category, (OfflineFallbackWarning, TruncationWarning)):
            print(f"aviso: {warning.message}", file=sys.stderr)
    if args.words:
        result = to_words(result)
    layer = result.check_layer(args.layer)
    head = result.check_head(args.head)
    token = result.check_token(args.token)
    matrix, label = _matrix(result, layer, head, args.aggregate)
    if args.values:
        print(format_values(result.tokens, matrix[token].tolist(), token))
    if csv_path is not None:
        print(f"guardado: {weights_to_csv(result, csv_path)}")
    if npy_path is not None:
        print(f"guardado: {save_npy(result, npy_path)}")
    if metrics_path is not None:
        print(f"guardado: {metrics_to_csv(head_metrics(result), metrics_path)}")
    if out is not None:
        ax = _draw(args, result, layer, head, token, matrix, label, model, tokenizer)
        ax.figure.savefig(out, dpi=150)  # type: ignore[union-attr]
        print(f"guardado: {out}")
    return 0


def _matrix(
    result: AttentionResult, layer: int, head: int, aggregate: str | None
) -> tuple[np.ndarray, str | None]:
    """The ``[n, n]`` matrix to show and its title (None: the head itself)."""
    if aggregate is None:
        return result.attention[layer, head], None
    chosen = AGGREGATES[aggregate]
    return chosen.matrix(result, layer), chosen.title(result, layer)


def _draw(
    args: argparse.Namespace,
    result: AttentionResult,
    layer: int,
    head: int,
    token: int,
    matrix: np.ndarray,
    label: str | None,
    model: Any,
    tokenizer: Any,
) -> Axes:
    values_all = args.all_values
    if args.view == "heatmap":
        return plot_heatmap(
            result,
            layer,
            head,
            matrix=matrix,
            values=values_all or result.n_tokens <= 16,
            segments=args.segments,
            title=label,
        )
    if args.view == "grid":
        return plot_grid(result, selected=(layer, head))
    if args.view == "profile":
        compare = None
        if args.corpus:
            # Same level as the sentence, so that the two profiles compare like with like.
            compare = corpus_profile(model, tokenizer, words=result.level == "word")
        return plot_profile(layer_profile(head_metrics(result)), compare=compare)
    if args.segments:
        matrix = filter_segments(result, matrix, args.segments)
    title = None if label is None else f"{label} · {from_source(result, token)}"
    return plot_arcs(
        result,
        layer,
        head,
        token,
        top_k=args.top_k if args.top_k else "auto",
        values="all" if values_all else "top",
        matrix=matrix,
        title=title,
    )
