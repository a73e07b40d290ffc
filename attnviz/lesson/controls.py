"""The exercises' controls: what a simple rule already gives, beside what the model gives.

* :func:`position_control`: does the head's pick follow from looking at the next (or previous) token?
* :func:`ambiguity_control`: does a word with one meaning, in the same sentences, change the same way?
* :func:`pos_control`: how much would uniform attention give between two parts of speech?
* :func:`relation_example`: a relation's best head on a sentence, saying where the analysis comes from.

Every check on what the student typed runs first, so that a mistake leaves no empty figure.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..core.extraction import extract
from ..core.metrics import head_metrics
from ..core.result import AttentionResult, require_result
from ..core.words import to_words
from ..plots.compare import find_word
from ..syntax import (
    DEFAULT_RELATIONS,
    DEPREL_NAMES_ES,
    POS_NAMES_ES,
    UPOS_TAGS,
    BestHead,
    ParserUnavailableError,
    PosMatrix,
    SyntaxAnnotation,
    annotate,
    gold_results,
    pos_matrix,
    relation_scores,
)
from ..syntax.parsing import word_char_spans
from .checks import ExerciseInputError, check_choice, check_sentences


def _shown(token: str) -> str:
    return f"«{token}»"


def position_control(result: AttentionResult, layer: int, head: int, source: int) -> str:
    """One Spanish paragraph: is the token this head picks from ``source`` simply its neighbour?

    An article looks at its noun in many heads because the noun comes right after it: a head
    that looks at the next token does the same, with no syntax at all.

    Parameters
    ----------
    result : AttentionResult
        The sentence (token or word level).
    layer, head, source : int
        The head and the token it is seen from, as typed in the exercise (checked first).

    Returns
    -------
    str
        Generated from the weights: the most-attended text token, how far it is, and the head's
        mean share to the previous and the next token.

    Examples
    --------
    >>> print(position_control(attnviz.to_words(result), 1, 8, 1))  # doctest: +SKIP
    Control de posición: desde «la», la palabra más mirada es «niña» (96%), justo la siguiente; ...
    """
    result = require_result(result)
    check_choice(result, layer, head, source)
    unit = result.unit_noun
    row = np.asarray(result.attention[layer, head, source], dtype=np.float64)
    special = np.asarray(result.special, dtype=bool)
    text_row = np.where(special, -1.0, row)
    target = int(np.argmax(text_row))
    metrics = head_metrics(result)
    previous, following = float(metrics.previous[layer, head]), float(metrics.following[layer, head])
    start = f"Control de posición: desde {_shown(result.tokens[source])}, "
    if special.all() or text_row[target] < 0:
        return start + f"esta cabeza no tiene otro {unit} que mirar."
    picked = f"{_shown(result.tokens[target])} ({row[target]:.0%})"
    offset = target - source
    article = "la" if unit == "palabra" else "el"
    to_unit = "a la palabra" if unit == "palabra" else "al token"
    if offset in (1, -1):
        side, share = ("siguiente", following) if offset == 1 else ("anterior", previous)
        text = (
            f"{article} {unit} más mirad{'a' if unit == 'palabra' else 'o'} es {picked}, justo {article} "
            f"{side}; esta cabeza da de media el {share:.0%} de su atención {to_unit} {side}, así que "
            f"mirar a {_shown(result.tokens[target])} puede ser solo posición, no sintaxis: pruébalo con una "
            f"frase en la que otra palabra se meta entre las dos."
        )
    elif offset == 0:
        text = f"esta cabeza mira sobre todo a {_shown(result.tokens[source])} mismo ({row[target]:.0%})."
    else:
        where = "antes" if offset < 0 else "después"
        text = (
            f"{article} {unit} más mirad{'a' if unit == 'palabra' else 'o'} es {picked}, {abs(offset)} "
            f"{unit}s {where}: no es su vecino, así que no lo explica mirar al anterior (esta cabeza, "
            f"{previous:.0%} de media) ni al siguiente ({following:.0%})."
        )
    to_special = float(row[special].sum())
    if to_special >= 0.5:
        text += f" Ojo: el {to_special:.0%} de su atención va a los tokens especiales."
    return start + text


def _text_row(result: AttentionResult, layer: int, head: int | None, source: int) -> np.ndarray:
    """The source's row without special tokens and itself, renormalised (zeros where left out)."""
    matrix = result.attention[layer]
    row = np.asarray(matrix.mean(axis=0) if head is None else matrix[head], dtype=np.float64)[source]
    keep = ~np.asarray(result.special, dtype=bool)
    keep[source] = False
    row = np.where(keep, row, 0.0)
    total = row.sum()
    return row / total if total > 0 else row


@dataclass(frozen=True, eq=False)
class AmbiguityControl:
    """Where an ambiguous word and its controls look, layer by layer, in the same sentences.

    ``results[w][s]`` is the word-level result of word ``words[w]`` (``words[0]`` the ambiguous
    one, then the controls) in sentence ``s``; ``sources[w][s]`` its index there.  ``top[w][s][l]``
    is the text word it looks at most in layer ``l`` (special tokens and itself left out) and
    ``weight`` that word's share of the whole row.  ``overlap[c][l]`` (per control) is how much the
    control's row and the ambiguous word's row coincide in layer ``l``, over text words only
    (the sum of the element-wise minimum of the two renormalised rows, 1 = the same), averaged over
    sentences.
    """

    words: tuple[str, ...]
    sentences: tuple[tuple[str, ...], ...]
    head: int | None
    results: tuple[tuple[AttentionResult, ...], ...]
    sources: tuple[tuple[int, ...], ...]
    top: tuple[tuple[tuple[str, ...], ...], ...]
    weight: np.ndarray
    overlap: np.ndarray
    model_name: str

    @property
    def n_layers(self) -> int:
        return int(self.weight.shape[-1])

    def same_as_word(self, control: int, layer: int) -> bool:
        """True when control ``control`` (1 = the first) picks the ambiguous word's word in every sentence."""
        return all(
            self.top[control][s][layer] == self.top[0][s][layer] for s in range(len(self.sentences[0]))
        )

    def flat(self) -> tuple[list[AttentionResult], list[int]]:
        """Every result and its source index, word by word: what :func:`attnviz.plot_compare_layers` takes."""
        results = [r for row in self.results for r in row]
        sources = [i for row in self.sources for i in row]
        return results, sources

    def lines(self) -> list[str]:
        """One line per layer, then the conclusion."""
        n = len(self.sentences[0])
        out = []
        for layer in range(self.n_layers):
            parts = []
            for w, word in enumerate(self.words):
                picks = " | ".join(
                    f"{self.top[w][s][layer]} {self.weight[w, s, layer]:.2f}" for s in range(n)
                )
                same = f" (coincide {self.overlap[w - 1, layer]:.0%})" if w else ""
                parts.append(f"«{word}» → {picks}{same}")
            out.append(f"capa {layer}: " + " · ".join(parts))
        return [*out, self.conclusion()]

    def conclusion(self) -> str:
        """The control's verdict, in Spanish, generated from the last layer and the count of layers."""
        last = self.n_layers - 1
        word = f"«{self.words[0]}»"
        agree: list[str] = []
        differ: list[str] = []
        for c in range(1, len(self.words)):
            layers = sum(self.same_as_word(c, layer) for layer in range(self.n_layers))
            detail = f"«{self.words[c]}» (igual en {layers} de {self.n_layers} capas)"
            (agree if self.same_as_word(c, last) else differ).append(detail)
        picks = " | ".join(self.top[0][s][last] for s in range(len(self.sentences[0])))
        head = "la media de las cabezas" if self.head is None else f"la cabeza {self.head}"
        text = f"Control ({self.model_name}, {head}): en la última capa ({last}) {word} mira a {picks}. "
        if agree:
            text += (
                f"{_join(agree)} {'mira' if len(agree) == 1 else 'miran'} a lo mismo en cada frase, sin "
                f"tener doble sentido: ese cambio entre frases lo explica el contexto, no el significado de "
                f"{word}."
            )
        if differ:
            text += (
                f"{' ' if agree else ''}{_join(differ)} {'mira' if len(differ) == 1 else 'miran'} a otra "
                f"palabra en alguna frase"
                + (
                    ": compara también las demás capas."
                    if agree
                    else ": la diferencia no es solo del contexto."
                )
            )
        return text

    def __str__(self) -> str:
        return "\n".join(self.lines())


def _join(items: Sequence[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " y " + items[-1]


def _replace_word(result: AttentionResult, index: int, new: str) -> str:
    spans = word_char_spans(result)
    span = spans[index]
    if span is None:  # pragma: no cover - find_word only returns placed words
        raise ExerciseInputError(
            f"No encuentro «{result.tokens[index]}» en el texto: escribe la palabra tal como está escrita.",
            f"Cannot place «{result.tokens[index]}» in the text.",
        )
    start, end = span
    return result.text[:start] + new + result.text[end:]


def ambiguity_control(
    model: Any,
    tokenizer: Any,
    sentences: Sequence[str],
    word: str,
    controls: str | Sequence[str],
    *,
    head: int | None = None,
) -> AmbiguityControl:
    """An ambiguous word in several sentences, beside control words that take its place in them.

    If a word with a single meaning («sofá», «cajero»), put where «banco» was, changes from one
    sentence to the other as «banco» does, then what «banco» looks at follows the surrounding words,
    not its two meanings.

    Parameters
    ----------
    model, tokenizer
        The loaded model (:func:`attnviz.load_model`).
    sentences : list of str
        Sentences that contain ``word``.
    word : str
        The ambiguous word («banco»).
    controls : str or list of str
        One or more words without a second meaning, put in ``word``'s place in each sentence.
    head : int, optional
        One head; ``None`` (default) for the mean of each layer's heads.

    Returns
    -------
    AmbiguityControl
        ``str()`` gives one line per layer and a generated conclusion.

    Examples
    --------
    >>> control = ambiguity_control(model, tokenizer, ["Me senté en el banco del parque.",
    ...                             "Saqué dinero del banco ayer."], "banco", ["sofá", "cajero"])
    >>> print(control)  # doctest: +SKIP
    """
    sentences = check_sentences(sentences, "la lista de frases")
    control_words = [controls] if isinstance(controls, str) else list(controls)
    for candidate in [word, *control_words]:
        if not isinstance(candidate, str) or not candidate.strip() or len(candidate.split()) != 1:
            raise ExerciseInputError(
                f'{candidate!r} no vale como palabra: escribe una sola palabra entre comillas, como "sofá".',
                f"{candidate!r} is not one word.",
            )
    words_used = [word.strip(), *(c.strip() for c in control_words)]
    originals = [to_words(extract(model, tokenizer, s)) for s in sentences]
    places = [find_word(r, words_used[0]) for r in originals]  # WordNotFoundError before any figure
    texts = [tuple(sentences)] + [
        tuple(_replace_word(r, i, control) for r, i in zip(originals, places, strict=True))
        for control in words_used[1:]
    ]
    results = [tuple(originals)] + [
        tuple(to_words(extract(model, tokenizer, t)) for t in row) for row in texts[1:]
    ]
    if head is not None:
        check_choice(originals[0], head=head)
    sources = [tuple(places)] + [
        tuple(find_word(r, w) for r in row) for w, row in zip(words_used[1:], results[1:], strict=True)
    ]
    n_layers = originals[0].n_layers
    top: list[tuple[tuple[str, ...], ...]] = []
    weight = np.zeros((len(words_used), len(sentences), n_layers))
    rows = np.empty((len(words_used), len(sentences), n_layers), dtype=object)
    for w, (row_results, row_sources) in enumerate(zip(results, sources, strict=True)):
        per_sentence = []
        for s, (result, source) in enumerate(zip(row_results, row_sources, strict=True)):
            picks = []
            for layer in range(n_layers):
                matrix = result.attention[layer]
                full = np.asarray(matrix.mean(axis=0) if head is None else matrix[head], dtype=np.float64)
                text_row = _text_row(result, layer, head, source)
                j = int(np.argmax(text_row))
                picks.append(result.tokens[j])
                weight[w, s, layer] = full[source, j]
                rows[w, s, layer] = text_row
            per_sentence.append(tuple(picks))
        top.append(tuple(per_sentence))
    overlap = np.zeros((len(words_used) - 1, n_layers))
    for c in range(1, len(words_used)):
        for layer in range(n_layers):
            shared = [
                np.minimum(rows[0, s, layer], rows[c, s, layer]).sum()
                if len(rows[0, s, layer]) == len(rows[c, s, layer])
                else np.nan
                for s in range(len(sentences))
            ]
            overlap[c - 1, layer] = float(np.nanmean(shared)) if not np.isnan(shared).all() else np.nan
    return AmbiguityControl(
        words=tuple(words_used),
        sentences=tuple(texts),
        head=head,
        results=tuple(results),
        sources=tuple(sources),
        top=tuple(top),
        weight=weight,
        overlap=overlap,
        model_name=originals[0].model_name,
    )


def uniform_like(result: AttentionResult) -> AttentionResult:
    """The same sentence with uniform attention: each row spread evenly over every token it may see.

    A causal model's token sees itself and the tokens before it.

    Examples
    --------
    >>> float(uniform_like(result).attention[0, 0, 1].max()) == 1 / result.n_tokens  # doctest: +SKIP
    True
    """
    n = result.n_tokens
    allowed = np.tril(np.ones((n, n))) if result.causal else np.ones((n, n))
    rows = allowed / allowed.sum(axis=-1, keepdims=True)
    attention = np.broadcast_to(rows, result.attention.shape).astype(np.float32)
    return dataclasses.replace(result, attention=attention, projections=None)


def check_tag(tag: object) -> str:
    """A part-of-speech tag in upper case, or an error listing the valid ones.

    Examples
    --------
    >>> check_tag("noun")
    'NOUN'
    """
    valid = ", ".join(f"{t} ({POS_NAMES_ES[t]})" for t in UPOS_TAGS)
    if not isinstance(tag, str) or tag.strip().upper() not in UPOS_TAGS:
        raise ExerciseInputError(
            f"La categoría {tag!r} no existe: escribe una de {valid}.",
            f"Unknown part of speech {tag!r}; use a Universal POS tag.",
        )
    return tag.strip().upper()


@dataclass(frozen=True, eq=False)
class PosControl:
    """Attention between parts of speech, by the model and by uniform attention, per layer.

    ``model[l, k]`` and ``uniform[l, k]`` are the mean share from ``source`` words to ``targets[k]``
    words in layer ``l`` (mean over heads), as :func:`attnviz.syntax.pos_matrix` measures it.
    """

    source: str
    targets: tuple[str, ...]
    model: np.ndarray
    uniform: np.ndarray
    matrix: PosMatrix
    n_sentences: int
    n_source_words: int
    model_name: str
    note: str = ""

    def lines(self) -> list[str]:
        out = [self.note] if self.note else []
        for layer in range(self.model.shape[0]):
            parts = [
                f"{self.source} → {t} {self.model[layer, k]:.2f} (uniforme {self.uniform[layer, k]:.2f})"
                for k, t in enumerate(self.targets)
            ]
            out.append(f"capa {layer}: " + " · ".join(parts))
        return [*out, self.conclusion()]

    def above(self, k: int = 0) -> list[int]:
        """The layers where the model gives ``targets[k]`` more than uniform attention does."""
        return [int(i) for i in np.flatnonzero(self.model[:, k] > self.uniform[:, k])]

    def conclusion(self) -> str:
        """The control's verdict, in Spanish, generated from the numbers."""
        src, first = self.source, self.targets[0]
        uniform = self.uniform.mean(axis=0)
        text = (
            f"Control ({self.model_name}, {self.n_sentences} frases): con atención uniforme ya sale {src} → "
        )
        if len(self.targets) > 1:
            text += (
                f"{first} {uniform[0]:.2f} frente a {src} → {self.targets[1]} {uniform[1]:.2f}, porque hay "
                f"más palabras {first} que {self.targets[1]} o tienen más piezas. "
            )
        else:
            text += f"{first} {uniform[0]:.2f}. "
        above = self.above(0)
        below = [i for i in range(self.model.shape[0]) if i not in above]
        text += "Lo que dice algo del modelo es si supera a la uniforme: "
        if not above:
            text += f"{src} → {first} no la supera en ninguna capa."
        elif not below:
            text += f"{src} → {first} la supera en todas las capas."
        else:
            text += f"{src} → {first} la supera en {layers_text(above)} y no en {layers_text(below)}."
        return text

    def __str__(self) -> str:
        return "\n".join(self.lines())


def layers_text(layers: Sequence[int]) -> str:
    """Some layers as a Spanish phrase: «la capa 5», «las capas 0–4», «las capas 0, 2 y 5».

    Examples
    --------
    >>> layers_text([0, 1, 2]), layers_text([]), layers_text([1, 4])
    ('las capas 0–2', 'ninguna capa', 'las capas 1 y 4')
    """
    if not layers:
        return "ninguna capa"
    if len(layers) == 1:
        return f"la capa {layers[0]}"
    if list(layers) == list(range(layers[0], layers[-1] + 1)):
        return f"las capas {layers[0]}–{layers[-1]}"
    return "las capas " + _join([str(i) for i in layers])


def pos_control(
    model: Any,
    tokenizer: Any,
    sentences: Sequence[str] | None,
    source: str,
    target: str,
    other: str | None = None,
) -> PosControl:
    """How much words of one part of speech look at two others, beside what uniform attention gives.

    Uniform attention is not zero: where nouns are frequent (and cut into several pieces, each
    counted), a verb that looks everywhere already gives nouns a large share.

    Parameters
    ----------
    model, tokenizer
        The loaded model.
    sentences : list of str or None
        Spanish sentences, parsed with spaCy; ``None`` uses the hand-checked sentences (no spaCy needed),
        as does a machine without spaCy (the text says so).
    source, target, other : str
        Universal POS tags (``"VERB"``, ``"NOUN"``, ``"DET"``), in any case.

    Returns
    -------
    PosControl
        ``str()`` gives one line per layer and a generated conclusion.

    Examples
    --------
    >>> print(pos_control(model, tokenizer, ["El niño come una manzana roja."], "VERB", "NOUN", "DET"))
    """
    tags = [check_tag(t) for t in (source, target, *(() if other is None else (other,)))]
    note = ""
    pairs: list[tuple[AttentionResult, SyntaxAnnotation]]
    if sentences is None:
        pairs = gold_results(model, tokenizer)
    else:
        sentences = check_sentences(sentences, "la lista de frases")
        results = [extract(model, tokenizer, s) for s in sentences]
        try:
            pairs = [(r, annotate(r)) for r in results]
        except ParserUnavailableError as error:
            note = f"{error.message_es} Uso las frases del corpus, analizadas por spaCy y corregidas a mano."
            pairs = gold_results(model, tokenizer)
    measured = pos_matrix(pairs)
    missing = [t for t in tags[:2] if t not in measured.tags]
    if missing:
        found = ", ".join(f"{t} ({POS_NAMES_ES[t]})" for t in measured.tags)
        raise ExerciseInputError(
            f"En estas frases el analizador no encuentra ningún {' ni '.join(missing)} y solo ve {found}: "
            f"¿están en español?; escribe frases en español que tengan un {tags[0]} y un {tags[1]}.",
            f"No {' or '.join(missing)} in these sentences (found {', '.join(measured.tags)}).",
        )
    targets = [t for t in tags[1:] if t in measured.tags]
    uniform = pos_matrix([(uniform_like(r), a) for r, a in pairs])
    a = measured.tags.index(tags[0])
    columns = [measured.tags.index(t) for t in targets]
    n_layers = measured.values.shape[0]
    model_values = np.array([[measured.matrix(layer)[a, c] for c in columns] for layer in range(n_layers)])
    uniform_values = np.array([[uniform.matrix(layer)[a, c] for c in columns] for layer in range(n_layers)])
    if other is not None and tags[2] not in measured.tags:
        note = (
            note + " " if note else ""
        ) + f"En estas frases no hay ningún {tags[2]}: solo comparo con {tags[1]}."
    return PosControl(
        source=tags[0],
        targets=tuple(targets),
        model=model_values,
        uniform=uniform_values,
        matrix=measured,
        n_sentences=measured.n_sentences,
        n_source_words=measured.counts[a],
        model_name=pairs[0][0].model_name,
        note=note,
    )


@dataclass(frozen=True, eq=False)
class RelationExample:
    """A relation's best head (measured on the hand-checked sentences) drawn on one sentence.

    ``words`` and ``annotation`` are the sentence at word level and its analysis; ``best`` the
    head; ``source`` the word to draw from (the dependent, or the governor when the head reads
    governor → dependent) and ``target`` the other end of the relation.
    """

    relation: str
    best: BestHead
    n_sentences: int
    words: AttentionResult
    annotation: SyntaxAnnotation
    source: int
    target: int
    #: Why the sentence drawn is not the one asked for (no parser installed), or "".
    note: str = ""

    @property
    def layer(self) -> int:
        return self.best.layer

    @property
    def head(self) -> int:
        return self.best.head

    @property
    def from_parser(self) -> bool:
        """True when the analysis comes from a parser (spaCy), not from the hand-checked file."""
        return self.annotation.parser.startswith("spaCy")

    def lines(self) -> list[str]:
        best, words = self.best, self.words
        direction = "dependiente → núcleo" if best.direction == "dep" else "núcleo → dependiente"
        row = np.where(np.asarray(words.special), -1.0, words.attention[best.layer, best.head, self.source])
        row[self.source] = -1.0
        looked = int(np.argmax(row))
        runner_up = int(np.argsort(row)[-2]) if len(row) > 1 else looked
        source, target = _shown(words.tokens[self.source]), _shown(words.tokens[self.target])
        close = (
            f"; muy cerca, {_shown(words.tokens[runner_up])} con un {row[runner_up]:.0%}"
            if runner_up != looked and row[runner_up] >= 0 and row[looked] - row[runner_up] < 0.05
            else ""
        )
        verdict = (
            f"En tu frase, desde {source} esta cabeza mira sobre todo a {target} "
            f"({row[looked]:.0%}{close}): sigue la relación."
            if looked == self.target
            else f"En tu frase, desde {source} esta cabeza mira sobre todo a {_shown(words.tokens[looked])} "
            f"({row[looked]:.0%}), no a {target} ({row[self.target]:.0%}): aquí no sigue la relación."
        )
        origin = (
            f"El análisis de tu frase es de {self.annotation.parser}, un analizador automático que puede "
            "equivocarse: compruébalo en el dibujo de abajo antes de sacar conclusiones."
            if self.from_parser
            else f"El análisis de tu frase no es de un analizador automático: es de {self.annotation.parser}."
        )
        return [
            *([self.note] if self.note else []),
            f"«{self.relation}» ({DEPREL_NAMES_ES.get(self.relation, self.relation)}): la mejor cabeza en "
            f"las {self.n_sentences} frases del corpus (spaCy corregido a mano) es la capa {best.layer}, "
            f"cabeza {best.head} ({direction}), con un acierto del {best.accuracy:.0%} frente a una línea "
            f"base del {best.baseline:.0%} ({best.count} casos) · {words.model_name}.",
            verdict,
            origin,
        ]

    def __str__(self) -> str:
        return "\n".join(self.lines())


def check_relation(relation: object) -> str:
    """A UD relation in lower case, or an error listing the relations the lesson names.

    Examples
    --------
    >>> check_relation("CASE")
    'case'
    """
    known = [r for r in DEPREL_NAMES_ES if r not in ("root", "punct")]
    if not isinstance(relation, str) or relation.strip().lower() not in known:
        raise ExerciseInputError(
            f"La relación {relation!r} no existe: escribe una de {', '.join(known)}.",
            f"Unknown relation {relation!r}.",
        )
    return relation.strip().lower()


def relation_example(
    model: Any, tokenizer: Any, relation: str, sentence: str, *, gold: Sequence[Any] | None = None
) -> RelationExample:
    """The best head for ``relation`` over the hand-checked sentences, ready to draw on ``sentence``.

    Parameters
    ----------
    model, tokenizer
        The loaded model.
    relation : str
        A UD relation («case», «nsubj»…), in any case.
    sentence : str
        The sentence to draw; it must contain that relation (spaCy parses it unless it is one of
        the hand-checked sentences).
    gold : list, optional
        :func:`attnviz.syntax.gold_results` already computed for this model (saves one pass).

    Returns
    -------
    RelationExample
        ``str()`` says which head, its accuracy against the baseline, whether it follows the relation
        in this sentence, and where the sentence's analysis comes from.

    Examples
    --------
    >>> example = relation_example(model, tokenizer, "case", "Los niños juegan en el parque por la tarde.")
    >>> attnviz.plot_arcs(example.words, example.layer, example.head, source=example.source,
    ...                   syntax=example.annotation)  # doctest: +SKIP
    """
    relation = check_relation(relation)
    if not isinstance(sentence, str) or not sentence.strip():
        raise ExerciseInputError(
            f"La frase tiene que ser un texto entre comillas con una relación «{relation}», no {sentence!r}.",
            "The sentence must be a non-empty str.",
        )
    pairs = gold_results(model, tokenizer) if gold is None else list(gold)
    wanted = tuple(dict.fromkeys([*DEFAULT_RELATIONS, relation]))
    scores = relation_scores(pairs, relations=wanted)
    best = {b.relation: b for b in scores.best()}
    if relation not in best:
        present = ", ".join(b.relation for b in scores.best())
        raise ExerciseInputError(
            f"La relación «{relation}» no aparece en las {scores.n_sentences} frases analizadas del corpus, "
            f"así que no hay una cabeza medida para ella: elige una de {present}.",
            f"Relation {relation!r} does not occur in the hand-checked sentences.",
        )
    words = to_words(extract(model, tokenizer, sentence))
    note = ""
    try:
        annotation = annotate(words)
    except ParserUnavailableError as error:
        # Without spaCy, a corpus sentence with that relation, analysed by hand, so that «Run all» goes on.
        words, annotation = next(
            (to_words(r), a) for r, a in pairs if a.edges({relation}) and to_words(r).words == a.words
        )
        note = (
            f"{error.message_es} Uso una frase del corpus con «{relation}», analizada a mano: «{words.text}»."
        )
    edges = annotation.edges({relation})
    if not edges:
        found = ", ".join(sorted({e.relation for e in annotation.edges()} - {"punct", "root"}))
        origin = "según spaCy" if annotation.parser.startswith("spaCy") else "en su análisis"
        raise ExerciseInputError(
            f"Tu frase no tiene ninguna relación «{relation}» {origin}; sus relaciones son "
            f"{found}: elige una de ellas o cambia la frase.",
            f"The sentence has no {relation!r}; it has {found}.",
        )
    edge = edges[0]
    source, target = (
        (edge.dependent, edge.governor)
        if best[relation].direction == "dep"
        else (edge.governor, edge.dependent)
    )
    return RelationExample(
        relation, best[relation], scores.n_sentences, words, annotation, source, target, note
    )
