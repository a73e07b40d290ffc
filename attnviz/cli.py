"""Command line: draw one head's attention from one token and save it, or print its numbers."""

from __future__ import annotations

import argparse
import math
import re
import sys
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import numpy as np

from .core.aggregate import AGGREGATES, SEGMENT_BLOCKS, filter_segments
from .core.corpus import SEED_SENTENCE, corpus_profile, corpus_results, load_corpus
from .core.errors import (
    AttnvizError,
    MeasureUnavailableError,
    OfflineFallbackWarning,
    OutputPathError,
    TruncationWarning,
)
from .core.export import check_export_path, metrics_to_csv, require_folder, save_npy, weights_to_csv
from .core.extraction import extract
from .core.importance import HeadImportance, head_importance, importance_to_csv
from .core.knockout import format_heads, model_shape, parse_heads
from .core.loading import display_name, load_model, offline_hint
from .core.measures import MEASURES, with_measure
from .core.metrics import head_metrics
from .core.prediction import Prediction, has_masked_lm_head, sentence_vector, vector_change
from .core.words import to_words
from .plots import style
from .plots.arcs import from_source
from .plots.importance import plot_importance
from .plots.prediction import (
    VECTOR_CHANGE_LABEL,
    format_probability,
    heads_phrase,
    plot_prediction,
    plot_vector_change,
)
from .plots.style import SCALE_LABELS, SCALES
from .plots.views import VIEWS
from .syntax.parsing import parse

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from .core.result import AttentionResult

FORMATS = {".png", ".svg", ".pdf"}
#: What --out draws without --view (and without --predecir, --apagar or --importancia).
DEFAULT_VIEW = "arcs"
#: --predecir 3 is the word at index 3; any other text is the word itself.
_INDEX = re.compile(r"[+-]?\d+")
#: How many heads --importancia lists, most important first.
_LISTED_HEADS = 5
#: The command as installed (``[project.scripts]``); ``python -m attnviz`` passes its own.
PROGRAM = "attnviz"

#: How the CLI names the offline model in a message (loading's messages name the Python call).
OFFLINE_HINT = ("--model minilm", "--model minilm")


class _SpanishHelpFormatter(argparse.HelpFormatter):
    def add_usage(self, usage, actions, groups, prefix=None):  # type: ignore[no-untyped-def]
        super().add_usage(usage, actions, groups, "uso: " if prefix is None else prefix)


class _SpanishParser(argparse.ArgumentParser):
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


#: --csv, --npy, --metrics: the file's suffix, what the help says it keeps, and how to write it.
_EXPORTS: dict[str, tuple[str, str, Callable[[AttentionResult, Path], Path]]] = {
    "csv": (".csv", "todos los pesos (capa, cabeza, desde, hacia, peso) en CSV", weights_to_csv),
    "npy": (".npy", "el tensor de atención [capas, cabezas, n, n] en formato .npy", save_npy),
    "metrics": (
        ".csv",
        "las métricas de cada cabeza (entropía, [CLS], [SEP]...) en CSV",
        lambda result, path: metrics_to_csv(head_metrics(result), path),
    ),
}


def _positive(convert: Callable[[str], float], what: str) -> Callable[[str], float]:
    """An argparse type: ``convert(text)`` if positive and finite, else one Spanish line."""

    def parse(text: str) -> float:
        try:
            value = convert(text)
        except ValueError:
            value = 0
        if not 0 < value < math.inf:
            raise argparse.ArgumentTypeError(f"debe ser {what}, no {text!r}")
        return value

    return parse


def build_parser(prog: str = PROGRAM) -> argparse.ArgumentParser:
    parser = _SpanishParser(
        prog=prog,
        description=(
            "Dibuja la atención de un Transformer (la vista se elige con --view: arcos desde un "
            "token, la matriz de una cabeza, todas las cabezas, el perfil por capa...) o imprime "
            "sus números. Capas, cabezas y tokens se cuentan desde 0."
        ),
        epilog=(f'Ejemplo: {prog} "{SEED_SENTENCE}" --layer 3 --head 5 --token 2 --out arcas.png'),
        formatter_class=_SpanishHelpFormatter,
        add_help=False,
    )
    # argparse's own headings are English unless the system has a translation; --help leaves
    # out the default groups when empty, so every argument goes to one of these two.
    arguments = parser.add_argument_group("argumentos")
    options = parser.add_argument_group("opciones")
    options.add_argument("-h", "--help", action="help", help="muestra esta ayuda y termina")
    arguments.add_argument("text", metavar="texto", help="la frase a analizar (entre comillas)")
    options.add_argument("--pair", metavar="TEXTO", help="segunda frase (par de oraciones)")
    options.add_argument(
        "--model",
        metavar="MODELO",
        help="modelo: beto (por defecto), beto-uncased, minilm (sin conexión), un id del hub "
        "o una carpeta local",
    )
    options.add_argument("--layer", type=int, default=0, metavar="CAPA", help="capa, desde 0 (por defecto 0)")
    options.add_argument(
        "--head", type=int, default=0, metavar="CABEZA", help="cabeza, desde 0 (por defecto 0)"
    )
    options.add_argument(
        "--token", type=int, default=1, help="token de origen, desde 0 (por defecto 1: el primero tras [CLS])"
    )
    options.add_argument(
        "--out",
        metavar="ARCHIVO",
        help="guarda la figura; el formato sale de la extensión: .png, .svg o .pdf",
    )
    options.add_argument(
        "--values", action="store_true", help="imprime los pesos del token de origen como tabla"
    )
    options.add_argument(
        "--top-k",
        type=_positive(int, "un número entero positivo"),
        metavar="K",
        help="dibuja solo los K enlaces más fuertes",
    )
    options.add_argument(
        "--all-values",
        action="store_true",
        help="escribe el peso sobre cada arco (o en cada celda del heatmap)",
    )
    options.add_argument(
        "--view",
        choices=tuple(VIEWS),
        help="qué dibujar con --out: arcs (arcos desde --token, por defecto), heatmap (matriz de la cabeza), "
        "grid (todas las capas y cabezas), profile (métricas por capa), text (el texto coloreado por la "
        "atención desde --token), graph (grafo de la cabeza: los enlaces fuertes entre tokens), to_word "
        "(cuánto atiende --token a la palabra que más mira, en cada cabeza)",
    )
    options.add_argument(
        "--words",
        action="store_true",
        help="atención entre palabras en vez de tokens: junta las piezas ## "
        "(hacia una palabra = suma, desde una palabra = media)",
    )
    options.add_argument(
        "--aggregate",
        choices=tuple(AGGREGATES),
        help="en arcs, text, heatmap y graph, dibuja un resumen en vez de una cabeza: mean (media "
        "de las cabezas de --layer), max (máximo de esas cabezas), layers (media de "
        "todas las capas y cabezas) o rollout (Abnar y Zuidema 2020, hasta --layer)",
    )
    options.add_argument(
        "--segments",
        choices=SEGMENT_BLOCKS,
        nargs="+",
        metavar="BLOQUE",
        help="con --pair, muestra solo estos bloques: A->A, A->B, B->A, B->B",
    )
    options.add_argument(
        "--scale",
        choices=SCALES,
        help="qué peso es rojo: "
        + "; ".join(f"{name}: {SCALE_LABELS[name]}" for name in SCALES)
        + " (por defecto head)",
    )
    options.add_argument(
        "--medida",
        choices=tuple(MEASURES),
        default="peso",
        help="qué muestran las vistas y --values: peso (el peso de atención) o contribucion (el peso "
        "por la norma de lo que entrega cada token, Kobayashi et al. 2020); por defecto peso",
    )
    options.add_argument(
        "--fontsize",
        type=_positive(float, "un número positivo"),
        metavar="PUNTOS",
        help="tamaño base del texto de la figura, en puntos (p. ej. 16 para un proyector)",
    )
    options.add_argument(
        "--syntax",
        action="store_true",
        help="con la vista arcs, dibuja bajo los tokens las dependencias sintácticas de spaCy "
        "(necesita el extra «sintaxis»)",
    )
    options.add_argument(
        "--relations",
        action="store_true",
        help="imprime, para cada relación sintáctica, la cabeza que más atiende de la palabra "
        "dependiente a su gobernante (y al revés), frente a una base de posición fija (Clark et al. "
        "2019); con --corpus, sobre el corpus incluido",
    )
    options.add_argument(
        "--corpus",
        action="store_true",
        help="con --view profile, compara con el perfil del corpus incluido; con --relations, mide "
        "sobre el corpus incluido en vez de la frase (más lento)",
    )
    options.add_argument(
        "--predecir",
        metavar="PALABRA",
        help="tapa esa palabra (todas sus piezas) e imprime las 5 palabras que el modelo ve más probables "
        "y la probabilidad de la tapada; un número es el índice de la palabra, contando [CLS] como 0 "
        "(como con --words). Con --out, sin --view, dibuja la predicción; las vistas muestran la "
        "atención de esa misma pasada",
    )
    options.add_argument(
        "--apagar",
        metavar="CAPA:CABEZA[,…]",
        help="apaga esas cabezas (p. ej. 3:5,4:0, o 3:* para toda la capa) e imprime la predicción de "
        "--predecir antes y después; sin --predecir, cuánto cambia el vector de la frase (1 − coseno). "
        "Las vistas muestran la pasada con esas cabezas apagadas",
    )
    options.add_argument(
        "--importancia",
        action="store_true",
        help="apaga cada cabeza sola y mide cuánto cae la log-probabilidad de la palabra de --predecir "
        "(en un modelo sin cabeza de predicción, cuánto cambia el vector de la frase); imprime las "
        f"{_LISTED_HEADS} cabezas que más importan y, con --out, dibuja la rejilla (o la guarda en CSV "
        "si el archivo acaba en .csv)",
    )
    for name, (suffix, what, _) in _EXPORTS.items():
        options.add_argument(f"--{name}", metavar=f"ARCHIVO{suffix}", help=f"guarda {what}")
    return parser


def check_output_path(out: str, csv: bool = False) -> Path:
    """``out`` as a Path if the CLI can save there: a figure's extension (or ``.csv`` when ``csv``)."""
    path = Path(out)
    suffixes = FORMATS | ({".csv"} if csv else set())
    if path.suffix.lower() not in suffixes:
        also = " (o .csv, con --importancia)" if csv else ""
        raise OutputPathError(
            f"No sé guardar «{path.name}»: usa la extensión .png, .svg o .pdf{also}.",
            f"Cannot save '{path.name}': use a .png, .svg or .pdf extension{' (or .csv)' if csv else ''}.",
        )
    return require_folder(path)


def format_values(
    tokens: Sequence[str],
    row: Sequence[float],
    source: int,
    what: str = "",
    noun: str = "token",
    column: str = "peso",
) -> str:
    """The source token's weights to every token, strongest first, as a text table.

    Parameters
    ----------
    tokens, row : sequence
        Token (or word) texts, and the weights of ``tokens[source]`` to each.
    source : int
        The source's index.
    what, noun : str
        Which head or aggregate the weights come from (``"capa 3, cabeza 5"``); ``"token"`` or ``"palabra"``.
    column : str
        The values' column: ``"peso"``, or ``"contribución"`` for :func:`attnviz.with_measure`'s.

    Returns
    -------
    str
        A heading, a header line (``índice``, the noun, ``column``) and one line per token.

    Examples
    --------
    >>> print(format_values(["[CLS]", "Hola", "[SEP]"], [0.2, 0.5, 0.3], 1, "capa 0, cabeza 0"))
    """
    order = sorted(range(len(row)), key=lambda j: -row[j])
    width = max(len(noun), *(len(t) for t in tokens))
    # «índice», not «#»: in the explorer «#» is the rank, and the first column here is the position.
    heading = f"Atención desde «{tokens[source]}» ({noun} {source})" + (f" · {what}" if what else "")
    lines = [f"{heading}, de mayor a menor:", f"{'índice'}  {noun:<{width}}  {column}"]
    lines += [f"{j:>6}  {tokens[j]:<{width}}  {row[j]:.4f}" for j in order]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None, prog: str = PROGRAM) -> int:
    """Run the command line with ``argv`` (default ``sys.argv[1:]``); returns the exit code.

    ``prog`` is how the help names the command (``python -m attnviz`` from :mod:`attnviz.__main__`).
    """
    args = build_parser(prog).parse_args(_attach_head_lists(sys.argv[1:] if argv is None else argv))
    try:
        return _run(args)
    except AttnvizError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1


def _attach_head_lists(argv: Sequence[str]) -> list[str]:
    """``--apagar -1:0`` as ``--apagar=-1:0``: argparse would take ``-1:0`` for an option.

    The head list then reaches :func:`~attnviz.core.knockout.parse_heads`, whose message names
    the layer that does not exist.
    """
    argv = list(argv)
    joined: list[str] = []
    i = 0
    while i < len(argv):
        if argv[i] == "--apagar" and i + 1 < len(argv) and argv[i + 1].startswith("-") and ":" in argv[i + 1]:
            joined.append(f"--apagar={argv[i + 1]}")
            i += 2
            continue
        joined.append(argv[i])
        i += 1
    return joined


def _usage_error(message: str) -> int:
    """A mistake in the options themselves: one line, code 2, as argparse's own."""
    print(f"error: {message} (usa --help para ver las opciones)", file=sys.stderr)
    return 2


def _run(args: argparse.Namespace) -> int:
    experiment = args.predecir is not None or args.apagar is not None or args.importancia
    if not (args.out or args.values or args.csv or args.npy or args.metrics or args.relations or experiment):
        print(
            "Nada que hacer: indica --out ARCHIVO, --values, --predecir, --apagar, --importancia, "
            "--relations, --csv, --npy o --metrics.",
            file=sys.stderr,
        )
        return 2
    # Without --view, --out draws the experiment's own picture (prediction, vector, importance).
    explicit_view = args.view is not None
    args.view = args.view or DEFAULT_VIEW
    if args.syntax and args.view != "arcs":
        return _usage_error(
            f"--syntax dibuja la sintaxis con los arcos: quita --view {args.view} o --syntax."
        )
    if experiment and args.pair is not None:
        return _usage_error("--predecir, --apagar e --importancia trabajan con una sola frase: quita --pair.")
    out = check_output_path(args.out, csv=args.importancia) if args.out else None
    exports = [
        (save, check_export_path(getattr(args, name), suffix))
        for name, (suffix, _, save) in _EXPORTS.items()
        if getattr(args, name)
    ]

    import matplotlib

    matplotlib.use("Agg")

    with warnings.catch_warnings(record=True) as caught, offline_hint(*OFFLINE_HINT):
        warnings.simplefilter("always")
        model, tokenizer = load_model(args.model)
        word = _word(args.predecir)
        if word is not None and not has_masked_lm_head(model, tokenizer):
            raise _without_head(model)
        heads = parse_heads(args.apagar, *model_shape(model)) if args.apagar is not None else []
        result = extract(model, tokenizer, args.text, args.pair, mask=word, heads_off=heads)
        before = extract(model, tokenizer, args.text, mask=word) if word is not None and heads else result
    for message in dict.fromkeys(str(w.message) for w in caught if _shown_warning(w.category)):
        print(f"aviso: {message}", file=sys.stderr)
    n_heads = result.n_heads
    if before.prediction is not None:
        print(prediction_text(before.prediction, result.prediction if heads else None, n_heads))
    change = None
    if heads and word is None:
        change = vector_change(
            sentence_vector(model, tokenizer, args.text),
            sentence_vector(model, tokenizer, args.text, heads_off=heads),
        )
        print(f"{VECTOR_CHANGE_LABEL.capitalize()} al apagar {format_heads(heads, n_heads)}: {change:.3g}")
    importance = None
    if args.importancia:
        if word is None and has_masked_lm_head(model, tokenizer):
            return _usage_error(
                "con este modelo --importancia mide cuánto cae la probabilidad de una palabra: di cuál "
                "con --predecir PALABRA."
            )
        importance = head_importance(model, tokenizer, args.text, word)
        print(importance_text(importance))
    if args.words:
        result = to_words(result)
    # Exports keep the weights, and the q·k view rebuilds them.
    weights = result
    if args.view != "scores":
        result = with_measure(result, args.medida)
    layer = result.check_layer(args.layer)
    head = result.check_head(args.head)
    token = result.check_token(args.token)
    matrix, label = _matrix(result, layer, head, args.aggregate)
    if args.values:
        what = f"capa {layer}, cabeza {head}" if label is None else label
        what += style.measure_suffix(result)
        column = "peso" if result.measure == "peso" else "contribución"
        print(format_values(result.tokens, matrix[token].tolist(), token, what, result.unit_noun, column))
    if args.relations:
        print(_relations(args, result, model, tokenizer))
    for save, path in exports:
        print(f"guardado: {save(weights, path)}")
    if out is None:
        return 0
    if importance is not None and out.suffix.lower() == ".csv":
        print(f"guardado: {importance_to_csv(importance, out)}")
        return 0
    if importance is not None:
        ax = plot_importance(importance, fontsize=args.fontsize)
    elif word is not None and not explicit_view:
        ax = plot_prediction(before, result if heads else None, fontsize=args.fontsize)
    elif change is not None and not explicit_view:
        ax = plot_vector_change({format_heads(heads, n_heads): change}, fontsize=args.fontsize)
    else:
        ax = _draw(args, result, layer, head, token, matrix, label, model, tokenizer)
    ax.figure.savefig(out, dpi=150)  # type: ignore[union-attr]
    print(f"guardado: {out}")
    return 0


def _shown_warning(category: type[Warning]) -> bool:
    return issubclass(category, (OfflineFallbackWarning, TruncationWarning))


def _word(text: str | None) -> str | int | None:
    """What --predecir names: a word's index (a whole number) or the word itself."""
    if text is None:
        return None
    return int(text) if _INDEX.fullmatch(text.strip()) else text


def _without_head(model: Any) -> MeasureUnavailableError:
    """The CLI's own message: what this model cannot do, and which options it can do instead."""
    name = display_name(getattr(model, "name_or_path", "") or type(model).__name__)
    return MeasureUnavailableError(
        f"El modelo «{name}» no tiene cabeza para adivinar palabras tapadas, así que no puede --predecir: "
        "sí puede medir cuánto cambia el vector de la frase, con --apagar CAPA:CABEZA o --importancia.",
        f"The model «{name}» has no head to guess masked words, so it cannot --predecir: it can measure "
        "how much the sentence vector changes, with --apagar LAYER:HEAD or --importancia.",
    )


def prediction_text(before: Prediction, after: Prediction | None = None, n_heads: int | None = None) -> str:
    """The top guesses for the masked word as a text table, before and (with heads off) after.

    Parameters
    ----------
    before : Prediction
        With every head on (:func:`attnviz.predict_masked` or ``extract(..., mask=...).prediction``).
    after : Prediction, optional
        The same word with heads switched off.
    n_heads : int, optional
        Heads per layer, so that a whole layer reads ``3:*``.

    Returns
    -------
    str
        One block per prediction (numbered guesses and the hidden word's probability), and with
        ``after`` a last line with the probability before → after.

    Examples
    --------
    >>> print(prediction_text(attnviz.predict_masked(model, tokenizer, "El perro ladra.", "perro")))
    """
    pieces = len(before.pieces)
    detail = f"palabra {before.word_index}" + (
        f"; {pieces} piezas: {' + '.join(before.pieces)}" if pieces > 1 else ""
    )
    lines = [f"Palabra tapada: «{before.word}» ({detail})."]
    for prediction in (before, after):
        if prediction is None:
            continue
        lines.append(
            f"{heads_phrase(prediction, n_heads).capitalize()}, las {len(prediction.top)} más probables:"
        )
        width = max(len(text) for text, _ in prediction.top)
        lines += [
            f"  {rank:>2}. {text:<{width}}  {format_probability(p)}"
            for rank, (text, p) in enumerate(prediction.top, 1)
        ]
        lines.append(f"  P(«{prediction.word}») = {format_probability(prediction.probability)}")
    if pieces > 1:
        lines.append("(Las opciones son para la primera pieza; P de la palabra = producto de sus piezas.)")
    if after is not None:
        lines.append(
            f"P(«{before.word}»): {format_probability(before.probability)} → "
            f"{format_probability(after.probability)} {heads_phrase(after, n_heads)}."
        )
    return "\n".join(lines)


def importance_text(importance: HeadImportance, count: int = _LISTED_HEADS) -> str:
    """The ``count`` heads that matter most, as lines «capa L, cabeza H: valor».

    Examples
    --------
    >>> print(importance_text(attnviz.head_importance(model, tokenizer, text, "cruzaron")))
    """
    values = importance.values
    order = sorted(np.ndindex(values.shape), key=lambda cell: -float(values[cell]))[:count]
    lines = [f"Las {len(order)} cabezas que más importan ({importance.measure}, cada una apagada sola):"]
    lines += [f"  capa {layer}, cabeza {head}: {values[layer, head]:.4f}" for layer, head in order]
    return "\n".join(lines)


def _relations(args: argparse.Namespace, result: AttentionResult, model: Any, tokenizer: Any) -> str:
    """The best head per syntactic relation, for the sentence or (``--corpus``) the bundled corpus."""
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
    view = args.view or DEFAULT_VIEW
    compare = None
    if view == "profile" and args.corpus:
        # Same level as the sentence, so that the two profiles compare like with like.
        compare = corpus_profile(model, tokenizer, words=result.level == "word", measure=result.measure)
    if args.segments and view in ("arcs", "text", "graph"):
        matrix = filter_segments(result, matrix, args.segments)
    title = label
    if label is not None and view in ("arcs", "text"):
        title = f"{label} · {from_source(result, token)}"
    heatmap_values = args.all_values or result.n_tokens <= 16
    return VIEWS[view].draw(
        result,
        layer,
        head,
        token,
        matrix=matrix,
        title=title,
        scale=args.scale,
        fontsize=args.fontsize,
        syntax=parse(result) if args.syntax else None,
        top_k=args.top_k or "auto",
        values=heatmap_values if view == "heatmap" else ("all" if args.all_values else "top"),
        segments=args.segments,
        compare=compare,
    )
