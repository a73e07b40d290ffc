"""The held-out syntax measure in words: the appendix table and the lesson's answer, from the numbers.

Every number in these texts comes from a :class:`~attnviz.syntax.HeldOutTable`; the only numbers
from elsewhere are Clark et al.'s (2019), given with the paper and the model they measured.
"""

from __future__ import annotations

import numpy as np

from .heldout import VERDICTS_ES, HeldOutRow, HeldOutTable
from .metrics import DIRECTION_NAMES_ES, text_table
from .parsing import DEPREL_NAMES_ES

#: What Clark et al. (2019) found, with the model and the counting it used.
CLARK_LAYERS = (
    "Clark et al. (2019, «What Does BERT Look At?») midieron BERT-base (inglés, 12 capas): sus mejores "
    "cabezas sintácticas estaban en las capas 7–9 contadas desde 1 (6–8 contadas desde 0)"
)


def _percent(value: float) -> str:
    """``0.736`` -> ``"74%"`` (whole percent, as Python prints it elsewhere in the lesson)."""
    return f"{100 * value:.0f}%"


def _interval(row: HeldOutRow) -> str:
    """The row's 95% Wilson interval, ``"69–80%"``."""
    return f"{100 * row.low:.0f}–{100 * row.high:.0f}%"


def _points(value: float) -> str:
    """A difference of proportions in points, one decimal (a point, as every output): ``0.2134`` -> ``+21.3``.

    One decimal so that a difference just under the margin (``+9.8``) does not read as the margin itself.
    """
    return f"{100 * value:+.1f}"


def _chance(rate: float) -> str:
    """A null-model rate as a percentage that never rounds a non-zero rate down to «0%»."""
    return "< 1%" if 0 < rate < 0.005 else _percent(rate)


def _relation_name(relation: str) -> str:
    """``"case"`` -> ``"case (preposición)"``."""
    name = DEPREL_NAMES_ES.get(relation)
    return f"{relation} ({name})" if name else relation


def held_out_text(table: HeldOutTable) -> str:
    """The held-out table as plain text with Spanish headings, for the appendix.

    Examples
    --------
    >>> print(held_out_text(held_out_scores(gsd_results(model, tokenizer))))  # doctest: +SKIP
    """
    header = (
        "relación",
        "sentido",
        "capa",
        "cabeza",
        "al elegir",
        "otra mitad",
        "IC 95%",
        "n",
        "línea base",
        "diferencia",
        "azar",
        "veredicto",
    )
    rows = [
        (
            row.relation,
            DIRECTION_NAMES_ES[row.direction],
            str(row.layer),
            str(row.head),
            _percent(row.chosen_accuracy),
            _percent(row.accuracy),
            _interval(row),
            str(row.n),
            f"{_percent(row.baseline)} ({row.offset:+d})",
            _points(row.margin),
            _chance(row.null_rate),
            VERDICTS_ES[row.verdict],
        )
        for row in table.rows
    ]
    itself = "contando" if table.include_self else "sin contar"
    notes = [
        f"{table.model_name} · {table.n_sentences} frases de {table.source} · la cabeza se elige con las "
        f"{table.n_choose} frases de posición par (0, 2, 4…) y se mide con las otras {table.n_score} "
        "(«otra mitad», con n casos) · capas y cabezas desde 0",
        f"«dep → núcleo»: la palabra atiende sobre todo a su núcleo · «núcleo → dep»: de todas las palabras, "
        f"su núcleo es la que más la atiende · {itself} la propia palabra · IC 95%: intervalo de Wilson",
        "línea base: acertar siempre con la misma posición relativa (entre paréntesis), elegida en la "
        "primera mitad · diferencia: en puntos, en la otra mitad",
        f"azar: en cuántas de {table.null.trials} pruebas la mejor de {table.null.n_predictors} cabezas al "
        f"azar supera la línea base por más de {100 * table.margin:.0f} puntos en la otra mitad · pocos "
        f"casos: menos de {table.min_cases} en la otra mitad",
    ]
    if table.absent:
        notes.append(f"sin casos en una de las mitades: {', '.join(table.absent)}")
    names = ", ".join(f"{row.relation} = {DEPREL_NAMES_ES[row.relation]}" for row in table.rows)
    return "\n".join([*text_table(header, rows), "", *notes, names])


def relation_answer(table: HeldOutTable, relation: str) -> str:
    """One relation measured with its controls, in a few Spanish sentences: the lesson's main-path example.

    The head chosen on the first half and its accuracy on the other (``n``, Wilson interval), the
    fixed-offset baseline on the same cases, what the null model's random heads reach, and the verdict.

    Examples
    --------
    >>> print(relation_answer(held_out_scores(gsd_results(model, tokenizer)), "case"))  # doctest: +SKIP
    """
    row = table.row(relation)
    r = table.null.relations.index(relation)
    null_rate = float(table.null.rate[r])
    direction = DIRECTION_NAMES_ES[row.direction]
    text = (
        f"{_relation_name(row.relation)} en {table.model_name}: la mejor cabeza en {table.n_choose} frases "
        f"es la {row.head} de la capa {row.layer} (contadas desde 0), en el sentido {direction} "
        f"({_percent(row.chosen_accuracy)} en esas frases). En las otras {table.n_score} acierta el "
        f"{_percent(row.accuracy)} (IC 95%: {_interval(row)}, n = {row.n}), frente al "
        f"{_percent(row.baseline)} de la línea base (siempre la palabra en la posición {row.offset:+d}): "
        f"{_points(row.margin)} puntos. Control: {table.null.n_predictors} cabezas al azar, elegidas y "
        f"medidas igual, {_beat_how_often(null_rate, table.null.trials, table.margin)} (en el 95% se quedan "
        f"en {_points(row.null_top)} puntos o menos)."
    )
    margin = f"{100 * table.margin:.0f}"
    verdicts = {
        "beats": "supera la línea base.",
        "unclear": "no concluyente (el intervalo llega a la línea base, o el azar llega tan lejos).",
        "below": f"no la supera por más de {margin} puntos.",
        "few": f"pocos casos (hacen falta {table.min_cases} en la otra mitad): no se puede ordenar.",
        "saturated": "la línea base ya acierta casi siempre: esta relación no puede mostrar nada.",
    }
    return f"{text} Veredicto: {verdicts[row.verdict]}"


def _beat_how_often(rate: float, trials: int, margin: float) -> str:
    """How often random heads beat the baseline by more than ``margin``, as a Spanish clause."""
    by = f"por más de {100 * margin:.0f} puntos"
    if rate == 0:
        return f"no superan esa línea base {by} en ninguna de las {trials} pruebas"
    return f"la superan {by} en el {_chance(rate)} de {trials} pruebas"


def null_answer(table: HeldOutTable) -> str:
    """What the null model says about «supera la línea base», in one paragraph (Spanish).

    Examples
    --------
    >>> print(null_answer(held_out_scores(gold_results(model, tokenizer))))  # doctest: +SKIP
    """
    null = table.null
    ranked = [row for row in table.rows if row.ranked]
    lead = (
        f"Control con atención al azar: {null.n_predictors} cabezas que miran al azar "
        f"({table.n_layers} capas × {table.n_heads} cabezas × 2 sentidos); en cada una de {null.trials} "
        "pruebas se elige la mejor en una mitad y se mide en la otra, como con el modelo."
    )
    if ranked:
        worst = max(ranked, key=lambda row: row.null_rate)
        top = max(ranked, key=lambda row: row.null_top)
        margin = f"{100 * table.margin:.0f}"
        if worst.null_rate > 0:
            how_often = (
                f"supera la línea base por más de {margin} puntos en como mucho el "
                f"{_chance(worst.null_rate)} de las pruebas ({worst.relation})"
            )
        else:
            how_often = (
                f"no supera la línea base por más de {margin} puntos en ninguna de las {null.trials} pruebas"
            )
        held = (
            f" En las relaciones con casos suficientes, la mejor cabeza al azar {how_often}; en el 95% de "
            f"las pruebas su diferencia con la línea base no pasa de {_points(top.null_top)} puntos "
            f"({top.relation}). Eso es lo que da el azar: «supera la línea base» tiene que quedar por encima "
            "de eso."
        )
    else:
        held = " Ninguna relación tiene casos suficientes para compararla."
    in_sample = np.nan_to_num(null.in_sample_rate, nan=0.0)
    r = int(np.argmax(in_sample))
    same = float(in_sample[r])
    if same > 0:
        held += (
            " Si se eligiera y midiera en las mismas frases, la mejor cabeza al azar superaría la línea "
            f"base por más de {100 * table.margin:.0f} puntos en el {_chance(same)} de las pruebas para "
            f"{null.relations[r]}: por eso se mide en la otra mitad."
        )
    return lead + held


def syntax_answer(table: HeldOutTable, model_name: str | None = None) -> str:
    """The lesson's answer to «¿Hay capas sintácticas?», written from the held-out numbers only (Spanish).

    Which relations beat their baseline on the held-out half (by more than the margin, beyond the null
    model's range, with the Wilson interval above it), in which layers (counted from 0), with ``n`` and
    intervals; what the null model says; what cannot be concluded; and Clark et al.'s layers with the
    model and counting they used.

    Parameters
    ----------
    table
        From :func:`attnviz.syntax.held_out_scores`.
    model_name
        The model's name as the student sees it (default: the table's).

    Returns
    -------
    str

    Examples
    --------
    >>> print(syntax_answer(held_out_scores(gsd_results(model, tokenizer))))  # doctest: +SKIP
    """
    name = model_name or table.model_name
    beats = table.with_verdict("beats")
    lines = [
        f"¿Hay capas sintácticas? Respuesta medida con el modelo {name}: {table.n_layers} capas × "
        f"{table.n_heads} cabezas, capas y cabezas contadas desde 0.",
        f"Datos: {table.n_sentences} frases de {table.source}. La mejor cabeza de cada relación se elige con "
        f"{table.n_choose} frases (las de posición par) y se mide con las otras {table.n_score}.",
        "",
    ]
    if beats:
        lines.append(
            f"Superan su línea base en la otra mitad (por más de {100 * table.margin:.0f} puntos, fuera del "
            "alcance del azar y con el intervalo del 95% por encima de ella):"
        )
        lines += [
            f"  · {_relation_name(row.relation)}: capa {row.layer}, cabeza {row.head}, "
            f"{DIRECTION_NAMES_ES[row.direction]}: {_percent(row.accuracy)} (IC 95%: {_interval(row)}, "
            f"n = {row.n}) frente a {_percent(row.baseline)} de la línea base ({_points(row.margin)} puntos)."
            for row in beats
        ]
        layers = sorted({row.layer for row in beats})
        counts = [sum(row.layer == layer for row in beats) for layer in layers]
        where = _join(
            [
                f"{layer} ({c} {'relación' if c == 1 else 'relaciones'})"
                for layer, c in zip(layers, counts, strict=True)
            ]
        )
        lines += [
            "",
            f"Esas cabezas están en {'la capa' if len(layers) == 1 else 'las capas'} {where}, contadas desde "
            f"0, de las {table.n_layers} del modelo (0–{table.n_layers - 1}). La medida es por cabeza: dice "
            "qué cabezas siguen una relación, no que una capa entera sea sintáctica.",
        ]
    else:
        lines.append(
            "Ninguna relación supera su línea base en la otra mitad con estas condiciones: con estos datos "
            "no se puede afirmar que alguna cabeza siga una relación mejor que la posición."
        )
    lines += ["", null_answer(table), "", "Lo que no se puede concluir:"]
    for row in table.with_verdict("saturated"):
        lines.append(
            f"  · {_relation_name(row.relation)}: la línea base ya acierta el {_percent(row.baseline)} "
            f"(n = {row.n}): no puede mostrar nada."
        )
    few = table.with_verdict("few")
    if few:
        listed = _join([f"{row.relation} (n = {row.n})" for row in few])
        lines.append(
            f"  · {listed}: pocos casos en la otra mitad (hacen falta {table.min_cases}); no se ordenan."
        )
    for row in table.with_verdict("unclear"):
        lines.append(
            f"  · {_relation_name(row.relation)}: {_percent(row.accuracy)} frente a {_percent(row.baseline)} "
            f"({_points(row.margin)} puntos), pero el intervalo ({_interval(row)}) llega a la línea base: "
            "no concluyente."
        )
    below = table.with_verdict("below")
    if below:
        listed = _join([f"{row.relation} ({_points(row.margin)})" for row in below])
        lines.append(
            f"  · {listed} puntos: no superan su línea base por más de {100 * table.margin:.0f} puntos "
            "en la otra mitad."
        )
    lines.append(
        "  · Que una cabeza acierte una relación no demuestra que el modelo use esa información: es una "
        f"correspondencia medida en {table.n_sentences} frases, con sus intervalos."
    )
    compared = (
        f"{name} no tiene capas 7–9: los números de capa no se comparan entre modelos de distinta "
        "profundidad."
        if table.n_layers < 9
        else "Compara esas capas con las de arriba sabiendo que el modelo y el idioma no son los mismos."
    )
    lines += ["", f"{CLARK_LAYERS}. {compared}"]
    return "\n".join(lines)


def _join(items: list[str]) -> str:
    """``["a", "b", "c"]`` -> ``"a, b y c"``."""
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} y {items[-1]}"
