"""The solutions of the lesson's exercises, measured on the model at hand, and the guide's table from them.

``soluciones-atencion.ipynb`` prints :func:`exercise_answer` for each exercise, and
``tools/guide_answers.py`` writes :func:`guide_table` into ``docs/guia-docente.md``: the guide
says what the solutions measure, for whichever model runs them.

Numbers inside :attr:`Answer.text` are written as code output is (``0.36``, ``96%``); the
guide's :attr:`Answer.summary` as text is (``0.36``, ``96%``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np

from ..core.agreement import agreement_experiment
from ..core.corpus import SEED_SENTENCE, corpus_metrics, load_corpus
from ..core.extraction import extract
from ..core.measures import measure_change, with_measure
from ..core.metrics import head_metrics, layer_profile
from ..core.result import AttentionResult
from ..core.words import to_words
from ..syntax import ParserUnavailableError, annotate
from ..syntax.answer import held_out_text
from ..syntax.heldout import VERDICTS_ES, held_out_scores
from ..syntax.parsing import gsd_results
from .checks import ExerciseInputError
from .controls import ambiguity_control, layers_text, pos_control
from .exercises import reference_distance

#: The inputs the solutions use.
ARTICLE_SENTENCE = "La niña que leía el libro sonrió a su hermano."
#: The same sentence with an adjective between each article and its noun: the position control.
ARTICLE_CONTROL = "La pequeña niña que leía el viejo libro sonrió a su querido hermano."
AMBIGUOUS_SENTENCES = ("Me senté en el banco del parque.", "Saqué dinero del banco ayer.")
AMBIGUOUS_WORD = "banco"
CONTROL_WORDS = ("sofá", "cajero")
DISTANCE_SENTENCES = (
    "El perro ladra.",
    SEED_SENTENCE,
    "La niña que leía el libro que le regaló su abuela sonrió a su hermano.",
)
#: The sentences of the lesson's «Peso frente a contribución» section.
CORPUS_SIZE = 40
EXERCISES = tuple(range(1, 11))


class HeadChoice(NamedTuple):
    """A head an answer points at, and the token to draw it from."""

    label: str
    layer: int
    head: int
    source: int | None = None


@dataclass(frozen=True, eq=False)
class Answer:
    """One exercise's answer on one model.

    ``text`` is what the solutions notebook prints, ``summary`` the guide's one-line answer;
    ``result`` and ``heads`` say what to draw, ``detail`` holds the control behind it: exercise 1,
    ``(control sentence, its first article)``; 3, an :class:`AmbiguityControl`; 4, a :class:`PosControl`.
    """

    exercise: int
    title: str
    model_name: str
    text: str
    summary: str
    result: AttentionResult | None = None
    heads: tuple[HeadChoice, ...] = ()
    detail: Any = None

    def __str__(self) -> str:
        return f"{self.text}\n\nEn la guía docente: {self.summary}"


def pct(value: float) -> str:
    """A share as the guide writes it: ``"96%"``.

    Examples
    --------
    >>> pct(0.956)
    '96%'
    """
    return f"{value:.0%}"


def dec(value: float, digits: int = 2) -> str:
    """A decimal as the guide writes it, with a point as Python prints it: ``"0.36"``.

    Examples
    --------
    >>> dec(0.357)
    '0.36'
    """
    return f"{value:.{digits}f}"


def _best_text_token(result: AttentionResult, layer: int, head: int, source: int) -> int:
    row = np.where(np.asarray(result.special), -1.0, result.attention[layer, head, source])
    row[source] = -1.0
    return int(np.argmax(row))


def _answer_articles(model: Any, tokenizer: Any) -> Answer:
    words = to_words(extract(model, tokenizer, ARTICLE_SENTENCE))
    control = to_words(extract(model, tokenizer, ARTICLE_CONTROL))
    title = "Tu frase (los artículos)"
    try:
        edges, control_edges = (annotate(r).edges({"det"}) for r in (words, control))
    except ParserUnavailableError as error:
        return Answer(1, title, words.model_name, error.message_es, "Necesita spaCy: " + error.message_es)
    following = head_metrics(words).following
    lines, heads, positional = [], [], 0
    first_summary = ""
    for k, edge in enumerate(edges):
        weights = words.attention[:, :, edge.dependent, edge.governor]
        layer, head = (int(i) for i in np.unravel_index(int(np.argmax(weights)), weights.shape))
        det, noun = words.tokens[edge.dependent], words.tokens[edge.governor]
        adjacent = edge.governor == edge.dependent + 1
        line = (
            f"«{det}» → «{noun}»: máximo {weights[layer, head]:.0%} en la capa {layer}, cabeza {head}; esa "
            f"cabeza da de media el {following[layer, head]:.0%} de su atención a la palabra siguiente"
            + (f", y «{noun}» va justo después de «{det}»." if adjacent else ".")
        )
        control_note = ""
        if k < len(control_edges):
            c = control_edges[k]
            looked = _best_text_token(control, layer, head, c.dependent)
            weight = control.attention[layer, head, c.dependent]
            c_det, c_noun, c_seen = (control.tokens[i] for i in (c.dependent, c.governor, looked))
            if looked == c.governor:
                control_note = (
                    f"Control: en «{ARTICLE_CONTROL}» la misma cabeza lleva «{c_det}» a «{c_noun}» "
                    f"({weight[looked]:.0%}) aunque haya palabras en medio: aquí hay algo más que posición."
                )
            else:
                positional += looked == c.dependent + 1
                control_note = (
                    f"Control: en «{ARTICLE_CONTROL}» la misma cabeza lleva «{c_det}» a «{c_seen}» "
                    f"({weight[looked]:.0%}), no a «{c_noun}» ({weight[c.governor]:.0%})."
                )
            if not first_summary:
                between = control.tokens[c.dependent + 1]
                first_summary = (
                    f"«{det}» → «{noun}»: {pct(weights[layer, head])} en la capa {layer}, cabeza {head}, "
                    f"que da de media el {pct(following[layer, head])} de su atención a la palabra "
                    f"siguiente; con un adjetivo en medio («{c_det} {between} {c_noun}») la misma "
                    f"cabeza lleva «{c_det}» a «{c_seen}» ({pct(weight[looked])})"
                )
        lines += [line, control_note] if control_note else [line]
        heads.append(HeadChoice(f"«{det}» → «{noun}»", layer, head, edge.dependent))
    verdict = (
        f"En {positional} de {len(edges)} artículos la cabeza sigue a la palabra siguiente y no al "
        "sustantivo cuando hay otra en medio: muestra posición, no sintaxis (el artículo siempre va "
        "delante de su nombre)."
    )
    lines.append(f"{verdict} ({words.model_name})")
    summary = f"{first_summary}: en {positional} de {len(edges)} artículos, posición y no sintaxis"
    # The control sentence and its first article, to draw the same head from it.
    detail = (control, control_edges[0].dependent) if control_edges else None
    return Answer(1, title, words.model_name, "\n".join(lines), summary, words, tuple(heads), detail)


def _answer_previous(model: Any, tokenizer: Any) -> Answer:
    result = extract(model, tokenizer, SEED_SENTENCE)
    previous = head_metrics(result).previous
    layer, head = (int(i) for i in np.unravel_index(int(np.argmax(previous)), previous.shape))
    share = float(previous[layer, head])
    text = f"Capa {layer}, cabeza {head}: {share:.0%} al token anterior ({result.model_name})."
    summary = f"capa {layer}, cabeza {head}: el {pct(share)} de su atención va al token anterior"
    choice = HeadChoice("anterior", layer, head, result.n_tokens // 2)
    return Answer(2, "La cabeza del token anterior", result.model_name, text, summary, result, (choice,))


def _answer_ambiguity(model: Any, tokenizer: Any) -> Answer:
    control = ambiguity_control(model, tokenizer, AMBIGUOUS_SENTENCES, AMBIGUOUS_WORD, CONTROL_WORDS)
    last = control.n_layers - 1
    word = f"«{AMBIGUOUS_WORD}»"
    picks = [control.top[0][s][last] for s in range(len(AMBIGUOUS_SENTENCES))]
    controls = "; ".join(
        f"«{w}» mira a «{'» y «'.join(control.top[c][s][last] for s in range(len(picks)))}» "
        f"({'igual' if control.same_as_word(c, last) else 'distinto'}; filas coincidentes al "
        f"{pct(control.overlap[c - 1, last])})"
        for c, w in enumerate(control.words[1:], start=1)
    )
    alike = [w for c, w in enumerate(control.words[1:], start=1) if control.same_as_word(c, last)]
    verdict = (
        f"«{'» y «'.join(alike)}» no {'es ambigua' if len(alike) == 1 else 'son ambiguas'} y cambia"
        f"{'' if len(alike) == 1 else 'n'} igual: lo explica el contexto, no el doble sentido"
        if alike
        else "ningún control cambia igual: la diferencia no se explica solo por el contexto"
    )
    summary = (
        f"capa {last}: {word} mira a «{picks[0]}» en la 1.ª frase y a «{picks[1]}» en la 2.ª; en las mismas "
        f"frases, {controls}: {verdict}"
    )
    return Answer(3, "Ambigüedad", control.model_name, str(control), summary, detail=control)


def _answer_parts_of_speech(model: Any, tokenizer: Any) -> Answer:
    control = pos_control(model, tokenizer, None, "VERB", "NOUN", "DET")
    uniform = control.uniform.mean(axis=0)
    above = control.above(0)
    summary = (
        f"con atención uniforme ya sale VERB → NOUN {dec(uniform[0])} frente a VERB → DET {dec(uniform[1])}; "
        f"el modelo, VERB → NOUN por capa: {' · '.join(dec(v) for v in control.model[:, 0])}: supera a la "
        f"uniforme solo en {layers_text(above)} ({control.n_sentences} frases)"
        if above
        else f"con atención uniforme ya sale VERB → NOUN {dec(uniform[0])} frente a VERB → DET "
        f"{dec(uniform[1])}, y el modelo no la supera en ninguna capa ({control.n_sentences} frases)"
    )
    return Answer(4, "Sustantivos y verbos", control.model_name, str(control), summary, detail=control)


def _answer_other_models(model: Any, tokenizer: Any) -> Answer:
    text = (
        "Necesita internet. Qué observar: en GPT-2 (causal) la matriz es triangular, nadie mira hacia "
        "delante, y el primer token recibe mucha atención; las etiquetas con un espacio delante vienen "
        "de «Ġ»."
    )
    summary = (
        "necesita internet; en GPT-2 (causal) la matriz es triangular (nadie mira hacia delante) y el primer "
        "token recibe mucha atención; las etiquetas con un espacio delante vienen de `Ġ`"
    )
    return Answer(5, "Otros modelos", str(getattr(model, "name_or_path", "")), text, summary)


def _answer_distance(
    model: Any, tokenizer: Any, metric: Callable[[AttentionResult], object] | None = None
) -> Answer:
    measure = reference_distance if metric is None else metric
    lines, seed = [], None
    for sentence in DISTANCE_SENTENCES:
        result = extract(model, tokenizer, sentence)
        without = np.asarray(measure(result), dtype=float).reshape(-1)
        with_special = reference_distance(result, special=True)
        lines.append(
            f"{sentence!r}: sin [CLS] ni [SEP] {', '.join(f'{v:.2f}' for v in without)} · con ellos "
            f"{', '.join(f'{v:.2f}' for v in with_special)}"
        )
        if sentence == SEED_SENTENCE:
            seed = (without, with_special, result.model_name)
    assert seed is not None
    without, with_special, name = seed
    near = [int(i) for i in np.flatnonzero(np.round(without, 2) < 1)]
    near_special = [int(i) for i in np.flatnonzero(np.round(with_special, 2) < 1)]
    n = len(without)
    with_edges = f"solo en {layers_text(near_special)}" if near_special else "en ninguna capa"
    verdict = (
        f"En la frase semilla, sin [CLS] ni [SEP] mira más cerca que la atención uniforme en "
        f"{layers_text(near) if len(near) < n else 'todas las capas'}; con ellos, {with_edges}: "
        "[CLS] y [SEP] están en los bordes de la frase y cambian la media."
    )
    lines.append(f"{verdict} ({name})")
    summary = (
        f"frase semilla sin [CLS] ni [SEP]: {' · '.join(dec(v) for v in without)} (capas 0–{n - 1}), más "
        f"cerca que la uniforme (menos de 1) en {len(near)} de {n} capas; con ellos, "
        f"{' · '.join(dec(v) for v in with_special)}: menos de 1 {with_edges}, un efecto de los bordes"
    )
    return Answer(6, "Tu propia métrica", name, "\n".join(lines), summary)


def _answer_relations(model: Any, tokenizer: Any) -> Answer:
    # The same held-out table as section 6: chosen on one half of UD Spanish GSD, scored on the other.
    pairs = gsd_results(model, tokenizer)
    table = held_out_scores(pairs)
    groups: dict[str, list[str]] = {verdict: [] for verdict in VERDICTS_ES}
    for row in table.rows:
        if row.verdict in ("beats", "unclear", "below"):
            groups[row.verdict].append(
                f"`{row.relation}` (capa {row.layer}, cabeza {row.head}: {pct(row.accuracy)} frente a "
                f"{pct(row.baseline)}, n = {row.n})"
            )
        else:
            groups[row.verdict].append(f"`{row.relation}`")
    summary = "; ".join(
        f"{VERDICTS_ES[verdict]}: {', '.join(items)}" for verdict, items in groups.items() if items
    )
    summary += " (elegidas en una mitad de UD Spanish GSD y medidas en la otra)"
    return Answer(7, "¿Qué cabeza sigue qué relación?", pairs[0][0].model_name, held_out_text(table), summary)


def _answer_graph(model: Any, tokenizer: Any) -> Answer:
    words = to_words(extract(model, tokenizer, SEED_SENTENCE))
    previous = head_metrics(words).previous
    chain = tuple(int(i) for i in np.unravel_index(int(np.argmax(previous)), previous.shape))
    received = np.asarray(words.attention, dtype=np.float64).mean(axis=2)  # [layer, head, to]
    layer, head, target = (int(i) for i in np.unravel_index(int(np.argmax(received)), received.shape))
    star_share = float(received[layer, head, target])
    token = words.tokens[target]
    text = (
        f"Cadena: capa {chain[0]}, cabeza {chain[1]}, la que más mira a la palabra anterior "
        f"({previous[chain]:.0%} de media).\n"
        f"Estrella: capa {layer}, cabeza {head}, la que más junta la atención en un mismo token: todas "
        f"miran a «{token}» ({star_share:.0%} de media) · {words.model_name}"
    )
    summary = (
        f"cadena: capa {chain[0]}, cabeza {chain[1]} (el {pct(previous[chain])} a la palabra anterior); "
        f"estrella: capa {layer}, cabeza {head}, todas hacia `{token}` ({pct(star_share)} de media)"
    )
    heads = (HeadChoice("cadena", *chain), HeadChoice("estrella", layer, head, target))
    return Answer(8, "La atención como grafo", words.model_name, text, summary, words, heads)


def _answer_contribution(model: Any, tokenizer: Any) -> Answer:
    result = extract(model, tokenizer, ARTICLE_SENTENCE)
    change = measure_change(result)
    layer, head = (int(x) for x in np.unravel_index(int(change.argmax()), change.shape))
    weights = result.attention[layer, head]
    carried = with_measure(result, "contribucion").attention[layer, head]
    source = int(np.abs(carried - weights).sum(axis=1).argmax())
    lost = int((weights[source] - carried[source]).argmax())
    assert result.projections is not None
    norms = result.projections.value_norms()[layer, head]
    median = float(np.median(norms))
    token, target = result.tokens[source], result.tokens[lost]
    text = (
        f"{result.model_name}: capa {layer}, cabeza {head}; sus filas cambian un "
        f"{change[layer, head]:.0%} de media.\nDesde «{token}», «{target}» pasa de "
        f"{weights[source, lost]:.0%} por peso a {carried[source, lost]:.0%} por contribución: su ‖f(x)‖ "
        f"es {norms[lost]:.2f}, frente a una "
        f"mediana de {median:.2f} en la frase."
    )
    summary = (
        f"capa {layer}, cabeza {head}: sus filas cambian un {pct(change[layer, head])} de media; desde "
        f"«{token}», `{target}` pasa del {pct(weights[source, lost])} por peso al "
        f"{pct(carried[source, lost])} por contribución, porque su ‖f(x)‖ es {dec(norms[lost])} frente a una "
        f"mediana de {dec(median)} en la frase"
    )
    choice = HeadChoice("cambio", layer, head, source)
    return Answer(9, "Peso frente a contribución", result.model_name, text, summary, result, (choice,))


#: Exercise 10: a sentence whose verb must agree with a plural subject that is not the nearest noun.
AGREEMENT_SENTENCE = "Los perros que persiguieron al gato cruzaron la calle."
AGREEMENT_WORDS = ("cruzaron", "cruzó", "perros")


def _answer_agreement(model: Any, tokenizer: Any) -> Answer:
    verb, other, subject = AGREEMENT_WORDS
    exp = agreement_experiment(model, tokenizer, AGREEMENT_SENTENCE, verb, other, subject, progress=False)
    a = exp.agreement
    looks, matters = a.most_attending, a.most_important
    same = "sí: es la misma cabeza" if a.same_head else "no: son cabezas distintas"
    text = (
        f"{exp.summary()}\n¿La cabeza que más mira al sujeto es la que más importa? {same} "
        f"(correlación de rangos entre las dos rejillas: {a.spearman:.2f})."
    )
    summary = (
        f"la que más mira de «{verb}» a «{subject}» es la capa {looks[0]}, cabeza {looks[1]}; la que más "
        f"importa ({exp.importance.measure}) es la capa {matters[0]}, cabeza {matters[1]}: {same}; "
        f"correlación de rangos {dec(a.spearman)}"
    )
    if exp.right is not None and exp.wrong is not None:
        summary += f"; P(«{verb}») {pct(exp.right)} frente a P(«{other}») {pct(exp.wrong)}"
    choices = (HeadChoice("mira", *looks), HeadChoice("importa", *matters))
    return Answer(10, "¿Mirar es importar?", exp.model_name, text, summary, exp.result, choices, exp)


_ANSWERS: dict[int, Callable[[Any, Any], Answer]] = {
    1: _answer_articles,
    2: _answer_previous,
    3: _answer_ambiguity,
    4: _answer_parts_of_speech,
    5: _answer_other_models,
    7: _answer_relations,
    8: _answer_graph,
    9: _answer_contribution,
    10: _answer_agreement,
}


def exercise_answer(
    exercise: int,
    model: Any,
    tokenizer: Any,
    *,
    metric: Callable[[AttentionResult], object] | None = None,
) -> Answer:
    """The solution of one exercise of the lesson, measured on ``model``.

    Parameters
    ----------
    exercise : int
        1 to 10, as numbered in ``demo-atencion.ipynb``.
    model, tokenizer
        The loaded model (:func:`attnviz.load_model`).
    metric : callable, optional
        Exercise 6 only: the distance function to report (default: the checker's reference).

    Returns
    -------
    Answer
        ``print(answer)`` shows the measured text and the guide's one-line summary.

    Examples
    --------
    >>> print(exercise_answer(2, model, tokenizer))  # doctest: +SKIP
    Capa 0, cabeza 2: 100% al token anterior (all-MiniLM-L6-v2 (sin conexión)).
    """
    if exercise == 6:
        return _answer_distance(model, tokenizer, metric)
    if isinstance(exercise, bool) or exercise not in _ANSWERS:
        raise ExerciseInputError(
            f"El ejercicio {exercise!r} no existe: escribe un número del 1 al 10.",
            f"Exercise {exercise!r} does not exist: use 1 to 10.",
        )
    return _ANSWERS[exercise](model, tokenizer)


class LessonFacts(NamedTuple):
    """What the guide states about the lesson's sections on this model (rows of its second table)."""

    model_name: str
    rows: tuple[tuple[str, str], ...]


def lesson_facts(model: Any, tokenizer: Any) -> LessonFacts:
    """Tokens, d_k and the attention sink of ``model``, as the guide states them.

    Examples
    --------
    >>> lesson_facts(model, tokenizer).rows[0][0]  # doctest: +SKIP
    'Tokens de la frase semilla'
    """
    result = extract(model, tokenizer, SEED_SENTENCE)
    pieces = [result.tokens[i] for i, w in enumerate(result.word_ids) if result.words[w] == "persiguió"]
    # d_k as the pass measured it: the width of one head's queries.
    d_k = result.projections.query(0, 0).shape[-1] if result.projections is not None else 0
    heads = result.n_heads
    profile = layer_profile(corpus_metrics(model, tokenizer, load_corpus()[:CORPUS_SIZE], progress=False))
    cls, sep = profile["cls"], profile["sep"]
    sink = "[CLS]" if cls.mean() >= sep.mean() else "[SEP]"
    rows = (
        (
            "Tokens de la frase semilla (sección 1)",
            f"{result.n_tokens} tokens con `[CLS]` y `[SEP]`; «persiguió» es `{' '.join(pieces)}`",
        ),
        ("$d_k$ (sección 3b)", f"{d_k} ({d_k * heads} / {heads} cabezas)"),
        (
            f"El sumidero de la atención ({CORPUS_SIZE} frases del corpus)",
            f"`{sink}`, no `{'[SEP]' if sink == '[CLS]' else '[CLS]'}`: `[CLS]` recibe entre el "
            f"{pct(cls.min())} y el {pct(cls.max())} según la capa, "
            f"`[SEP]` entre el {pct(sep.min())} y el {pct(sep.max())}",
        ),
    )
    return LessonFacts(result.model_name, rows)


def guide_table(answers: Sequence[Answer], facts: LessonFacts) -> str:
    """The guide's answers, as Markdown: what the solutions measured and the lesson's facts, for one model.

    Examples
    --------
    >>> print(guide_table([exercise_answer(n, model, tokenizer) for n in EXERCISES],
    ...                   lesson_facts(model, tokenizer)))  # doctest: +SKIP
    """
    name = facts.model_name
    lines = [
        f"Medido con **{name}**.",
        "",
        f"| ejercicio | respuesta con {name} |",
        "|---|---|",
        *(f"| {a.exercise}. {a.title} | {_cell(a.summary)} |" for a in answers),
        "",
        f"| en la lección | con {name} |",
        "|---|---|",
        *(f"| {what} | {_cell(value)} |" for what, value in facts.rows),
    ]
    return "\n".join(lines)


def _cell(text: str) -> str:
    return text.replace("|", "\\|")
