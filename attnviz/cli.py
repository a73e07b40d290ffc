"""Command line: draw one head's attention from one token and save it, or print its numbers."""

from __future__ import annotations

import argparse
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from .core.aggregate import AGGREGATES, SEGMENT_BLOCKS, filter_segments
from .core.corpus import SEED_SENTENCE, corpus_profile, load_corpus
from .core.errors import AttnvizError, OfflineFallbackWarning, OutputPathError, TruncationWarning
from .core.export import check_export_path, metrics_to_csv, require_folder, save_npy, weights_to_csv
from .core.extraction import extract
from .core.loading import load_model, offline_hint
from .core.metrics import head_metrics
from .core.words import to_words
from .plots.arcs import from_source
from .plots.style import SCALE_LABELS, SCALES
from .plots.views import VIEWS

if TYPE_CHECKING:
    import numpy as np
    from matplotlib.axes import Axes

    from .core.result import AttentionResult

FORMATS = {".png", ".svg", ".pdf"}
#: The command as installed (``[project.scripts]``); ``python -m attnviz`` passes its own.
PROGRAM = "attnviz"

#: How the CLI names the offline model in a message (loading's messages name the Python call).
OFFLINE_HINT = ("--model minilm", "--model minilm")


class _SpanishHelpFormatter(argparse.HelpFormatter):
    def add_usage(self, usage, actions, groups, prefix=None):  # type: ignore[no-untyped-def]
        super().add_usage(usage, actions, groups, "uso: " if prefix is None else prefix)


class _SpanishParser(argparse.ArgumentParser):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(formatter_class=_SpanishHelpFormatter, **kwargs)
        # argparse's own headings are English unless the system has a translation: every
        # argument goes to one of two groups titled in Spanish, and --help leaves out the
        # default groups, left empty (documented for add_argument_group).
        self._spanish_arguments = self.add_argument_group("argumentos")
        self._spanish_options = self.add_argument_group("opciones")

    def add_argument(self, *args: Any, **kwargs: Any) -> argparse.Action:
        """Add to the Spanish group: a name without a leading ``-`` is a positional argument."""
        positional = bool(args) and not any(str(name)[:1] in self.prefix_chars for name in args)
        group = self._spanish_arguments if positional else self._spanish_options
        return group.add_argument(*args, **kwargs)

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


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"debe ser un número positivo, no {text!r}")
    return value


def _positive_int(text: str) -> int:
    # arcs.plot_arcs raises a bare ValueError for K < 1: refuse it here, in one line.
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"debe ser un número entero positivo, no {text!r}")
    return value


def build_parser(prog: str = PROGRAM) -> argparse.ArgumentParser:
    parser = _SpanishParser(
        prog=prog,
        description=(
            "Dibuja la atención de un Transformer (la vista se elige con --view: arcos desde un "
            "token, la matriz de una cabeza, todas las cabezas, el perfil por capa...) o imprime "
            "sus números. Capas, cabezas y tokens se cuentan desde 0."
        ),
        epilog=(f'Ejemplo: {prog} "{SEED_SENTENCE}" --layer 3 --head 5 --token 2 --out arcas.png'),
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
        "(matriz de la cabeza), grid (todas las capas y cabezas), profile (métricas "
        "por capa)"
        + (", text (el texto coloreado por la atención desde --token)" if "text" in VIEWS else "")
        + (", graph (grafo de la cabeza: los enlaces fuertes entre tokens)" if "graph" in VIEWS else ""),
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
        help="en arcs, text, heatmap y graph, dibuja un resumen en vez de una cabeza: mean (media "
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
        "--scale",
        choices=SCALES,
        default=None,
        help="qué peso es rojo: "
        + "; ".join(f"{name}: {SCALE_LABELS[name]}" for name in SCALES)
        + " (por defecto head)",
    )
    parser.add_argument(
        "--fontsize",
        type=_positive_float,
        default=None,
        metavar="PUNTOS",
        help="tamaño base del texto de la figura, en puntos (p. ej. 16 para un proyector)",
    )
    parser.add_argument(
        "--syntax",
        action="store_true",
        help="con la vista arcs, dibuja bajo los tokens las dependencias sintácticas de spaCy "
        "(necesita el extra «sintaxis»)",
    )
    parser.add_argument(
        "--relations",
        action="store_true",
        help="imprime, para cada relación sintáctica, la cabeza que más atiende de la palabra "
        "dependiente a su gobernante (y al revés), frente a una base de posición fija (Clark et al. "
        "2019); con --corpus, sobre el corpus incluido",
    )
    parser.add_argument(
        "--corpus",
        action="store_true",
        help="con --view profile, compara con el perfil del corpus incluido; con --relations, mide "
        "sobre el corpus incluido en vez de la frase (más lento)",
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


def format_values(
    tokens: Sequence[str], row: Sequence[float], source: int, what: str = "", noun: str = "token"
) -> str:
    """The source token's weights to every token, strongest first, as a text table.

    Parameters
    ----------
    tokens : sequence of str
        Token (or word) texts.
    row : sequence of float
        The source's weights to every token.
    source : int
        The source's index.
    what : str
        Which head or aggregate the weights come from (``"capa 3, cabeza 5"``).
    noun : str
        ``"token"`` or ``"palabra"``.

    Returns
    -------
    str
        A heading, a header line (``índice``, the noun, ``peso``) and one line per token.

    Examples
    --------
    >>> print(format_values(["[CLS]", "Hola", "[SEP]"], [0.2, 0.5, 0.3], 1, "capa 0, cabeza 0"))
    Atención desde «Hola» (token 1) · capa 0, cabeza 0, de mayor a menor:
    índice  token  peso
         1  Hola   0.5000
         2  [SEP]  0.3000
         0  [CLS]  0.2000
    """
    order = sorted(range(len(row)), key=lambda j: -row[j])
    width = max(len(noun), *(len(t) for t in tokens))
    # «índice», not «#»: in the explorer «#» is the rank, and the first column here is the position.
    heading = f"Atención desde «{tokens[source]}» ({noun} {source})" + (f" · {what}" if what else "")
    lines = [f"{heading}, de mayor a menor:", f"{'índice'}  {noun:<{width}}  peso"]
    lines += [f"{j:>6}  {tokens[j]:<{width}}  {row[j]:.4f}" for j in order]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None, prog: str = PROGRAM) -> int:
    """Run the command line with ``argv`` (default ``sys.argv[1:]``); returns the exit code.

    ``prog`` is how the help names the command: ``attnviz`` when installed,
    ``python -m attnviz`` from :mod:`attnviz.__main__`.
    """
    args = build_parser(prog).parse_args(argv)
    try:
        return _run(args)
    except AttnvizError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1


def _run(args: argparse.Namespace) -> int:
    if not (args.out or args.values or args.csv or args.npy or args.metrics or args.relations):
        print(
            "Nada que hacer: indica --out ARCHIVO, --values, --relations, --csv, --npy o --metrics.",
            file=sys.stderr,
        )
        return 2
    if args.syntax and args.view != "arcs":
        print(
            f"error: --syntax dibuja la sintaxis con los arcos: quita --view {args.view} o --syntax. "
            "(usa --help para ver las opciones)",
            file=sys.stderr,
        )
        return 2
    out = check_output_path(args.out) if args.out else None
    csv_path = check_export_path(args.csv, ".csv") if args.csv else None
    npy_path = check_export_path(args.npy, ".npy") if args.npy else None
    metrics_path = check_export_path(args.metrics, ".csv") if args.metrics else None

    import matplotlib

    matplotlib.use("Agg")

    with warnings.catch_warnings(record=True) as caught, offline_hint(*OFFLINE_HINT):
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
        what = f"capa {layer}, cabeza {head}" if label is None else label
        print(format_values(result.tokens, matrix[token].tolist(), token, what, result.unit_noun))
    if args.relations:
        print(_relations(args, result, model, tokenizer))
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


def _relations(args: argparse.Namespace, result: AttentionResult, model: Any, tokenizer: Any) -> str:
    """The best head per syntactic relation, for the sentence or (``--corpus``) the bundled corpus."""
    from .core.corpus import corpus_results
    from .syntax.metrics import relation_scores, relation_table
    from .syntax.parsing import load_parser

    nlp = load_parser()  # first, so that a missing parser fails before the corpus runs
    if not args.corpus:
        return relation_table(relation_scores(result, nlp=nlp))
    sentences = load_corpus()
    print(f"Midiendo {len(sentences)} frases del corpus…", file=sys.stderr)
    return relation_table(relation_scores(corpus_results(model, tokenizer, sentences), nlp=nlp))


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
    compare = None
    if args.view == "profile" and args.corpus:
        # Same level as the sentence, so that the two profiles compare like with like.
        compare = corpus_profile(model, tokenizer, words=result.level == "word")
    if args.segments and args.view in ("arcs", "text", "graph"):
        matrix = filter_segments(result, matrix, args.segments)
    title = label
    if label is not None and args.view in ("arcs", "text"):
        title = f"{label} · {from_source(result, token)}"
    syntax = None
    if args.syntax:
        from .syntax.parsing import parse

        syntax = parse(result)
    heatmap = args.view == "heatmap"
    return VIEWS[args.view].draw(
        result,
        layer,
        head,
        token,
        matrix=matrix,
        title=title,
        scale=args.scale,
        fontsize=args.fontsize,
        syntax=syntax,
        top_k=args.top_k if args.top_k else "auto",
        values=(values_all or result.n_tokens <= 16) if heatmap else ("all" if values_all else "top"),
        segments=args.segments,
        compare=compare,
    )
