"""The small Spanish corpus shipped with attnviz, for layer profiles over many sentences."""

from __future__ import annotations

from importlib import resources

CORPUS_FILE = "corpus_es.txt"


def load_corpus() -> list[str]:
    """The corpus's sentences, in file order (comments and blank lines skipped).

    More than 100 original sentences written for attnviz: relative clauses,
    coordination, questions, ambiguity and negation, from one word to long ones.
    """
    text = resources.files("attnviz").joinpath("data", CORPUS_FILE).read_text(encoding="utf-8")
    return [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")]
