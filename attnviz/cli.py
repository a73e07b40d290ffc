"""Command line: draw one head's attention from one token and save it."""

from __future__ import annotations

import argparse
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path

from .errors import AttnvizError, OfflineFallbackWarning, OutputPathError, TruncationWarning

FORMATS = {".png", ".svg", ".pdf"}
SEED_SENTENCE = "El perro que persiguió al gato cruzó la calle."


class _SpanishParser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, non-zero, in Spanish
        self.exit(2, f"error: {message}\nUsa --help para ver las opciones.\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _SpanishParser(
        prog="python -m attnviz",
        description=(
            "Dibuja la atención de una cabeza de un Transformer: arcos desde un token hacia "
            "todos los demás. Capas, cabezas y tokens se cuentan desde 0."
        ),
        epilog=(
            f'Ejemplo: python -m attnviz "{SEED_SENTENCE}" --layer 3 --head 5 --token 2 '
            "--out arcas.png"
        ),
        add_help=False,
    )
    parser.add_argument("-h", "--help", action="help", help="muestra esta ayuda y termina")
    parser.add_argument("text", help="la frase a analizar (entre comillas)")
    parser.add_argument("--pair", metavar="TEXTO", help="segunda frase (par de oraciones)")
    parser.add_argument(
        "--model", default=None,
        help="modelo: beto (por defecto), beto-uncased, minilm (sin conexión), un id del hub "
        "o una carpeta local",
    )
    parser.add_argument("--layer", type=int, default=0, help="capa, desde 0 (por defecto 0)")
    parser.add_argument("--head", type=int, default=0, help="cabeza, desde 0 (por defecto 0)")
    parser.add_argument("--token", type=int, default=1,
                        help="token de origen, desde 0 (por defecto 1: el primero tras [CLS])")
    parser.add_argument("--out", metavar="ARCHIVO",
                        help="guarda la figura; el formato sale de la extensión: .png, .svg o .pdf")
    parser.add_argument("--values", action="store_true",
                        help="imprime los pesos del token de origen como tabla")
    parser.add_argument("--top-k", type=int, default=None, metavar="K",
                        help="dibuja solo los K enlaces más fuertes")
    parser.add_argument("--all-values", action="store_true",
                        help="escribe el peso sobre cada arco, no solo los más fuertes")
    return parser


def check_output_path(out: str) -> Path:
    path = Path(out)
    if path.suffix.lower() not in FORMATS:
        raise OutputPathError(
            f"No sé guardar «{path.name}»: usa la extensión .png, .svg o .pdf.",
            f"Cannot save '{path.name}': use a .png, .svg or .pdf extension.",
        )
    if not path.parent.is_dir():
        raise OutputPathError(
            f"La carpeta «{path.parent}» no existe: créala antes o elige otra ruta.",
            f"The folder '{path.parent}' does not exist: create it first or pick another path.",
        )
    return path


def format_values(tokens: Sequence[str], row: Sequence[float], source: int) -> str:
    """The source token's weights to every token, strongest first, as a text table."""
    order = sorted(range(len(row)), key=lambda j: -row[j])
    width = max(len(t) for t in tokens)
    lines = [f"Atención desde «{tokens[source]}» (token {source}):",
             f"{'#':>4}  {'token':<{width}}  peso"]
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
    out = check_output_path(args.out) if args.out else None

    import matplotlib

    matplotlib.use("Agg")
    from . import extract, load_model, plot_arcs

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model, tokenizer = load_model(args.model)
        result = extract(model, tokenizer, args.text, args.pair)
    for warning in caught:
        if issubclass(warning.category, (OfflineFallbackWarning, TruncationWarning)):
            print(f"aviso: {warning.message}", file=sys.stderr)
    layer = result.check_layer(args.layer)
    head = result.check_head(args.head)
    token = result.check_token(args.token)
    if args.values:
        print(format_values(result.tokens, result.attention[layer, head, token].tolist(), token))
    if out is not None:
        ax = plot_arcs(result, layer, head, token, top_k=args.top_k if args.top_k else "auto",
                       values="all" if args.all_values else "top")
        ax.figure.savefig(out, dpi=150)
        print(f"guardado: {out}")
    elif not args.values:
        print("Nada que hacer: indica --out ARCHIVO o --values.", file=sys.stderr)
        return 2
    return 0
