"""Write the teacher's guide's answers from the solutions, measured on one model.

    python tools/guide_answers.py                  # the offline model: what the repository's guide states
    python tools/guide_answers.py --modelo beto    # before class, with internet: BETO's answers
    python tools/guide_answers.py --comprobar      # exit 1 if docs/guia-docente.md is out of date

It runs the same computations as ``soluciones-atencion.ipynb`` (``attnviz.lesson.answers``: each
solution cell prints its answer and the guide's line) and rewrites the block of the guide between
:data:`START` and :data:`END`; the rest of the guide is left as it is.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GUIDE = ROOT / "docs" / "guia-docente.md"
START = "<!-- respuestas: las escribe tools/guide_answers.py; no las edites a mano -->"
END = "<!-- fin de las respuestas -->"


def render(model: object, tokenizer: object) -> str:
    """The block between the markers: the answers table and the lesson's facts for ``model``."""
    from attnviz.lesson.answers import EXERCISES, exercise_answer, guide_table, lesson_facts

    answers = [exercise_answer(n, model, tokenizer) for n in EXERCISES]
    return guide_table(answers, lesson_facts(model, tokenizer))


def block_of(guide: str) -> str:
    """The text between the markers (without them), as the guide holds it now."""
    start, end = guide.find(START), guide.find(END)
    if start < 0 or end < start:
        raise SystemExit(
            f"La guía no tiene las marcas {START!r} y {END!r}: añádelas donde van las respuestas."
        )
    return guide[start + len(START) : end].strip("\n")


def replace_block(guide: str, block: str) -> str:
    """``guide`` with the text between the markers replaced by ``block``."""
    block_of(guide)  # the markers are there
    start, end = guide.index(START) + len(START), guide.index(END)
    return f"{guide[:start]}\n{block}\n{guide[end:]}"


class SpanishHelp(argparse.HelpFormatter):
    def add_usage(self, usage, actions, groups, prefix=None):  # type: ignore[no-untyped-def]
        super().add_usage(usage, actions, groups, "uso: " if prefix is None else prefix)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        formatter_class=SpanishHelp,
        prog="python tools/guide_answers.py",
        description="Escribe en la guía docente las respuestas que dan las soluciones con un modelo.",
        add_help=False,  # argparse's own help line is English: a teacher runs this before class
    )
    # Every option in one Spanish group: argparse's default heading is English.
    options = parser.add_argument_group("opciones")
    options.add_argument("-h", "--help", action="help", help="muestra esta ayuda y termina")
    options.add_argument(
        "--modelo",
        default="minilm",
        help="beto, minilm (sin conexión, por defecto), un id del hub o una carpeta",
    )
    options.add_argument("--guia", type=Path, default=GUIDE, help="la guía que se reescribe")
    options.add_argument("--salida", type=Path, help="escribe la guía aquí en vez de sobre --guia")
    options.add_argument(
        "--comprobar", action="store_true", help="no escribe nada: termina con 1 si la guía no coincide"
    )
    args = parser.parse_args(argv)

    import attnviz

    model, tokenizer = attnviz.load_model(args.modelo)
    guide = args.guia.read_text(encoding="utf-8")
    block = render(model, tokenizer)
    if args.comprobar:
        if block_of(guide) == block:
            print(f"{args.guia}: las respuestas coinciden con las soluciones.")
            return 0
        fix = f"python tools/guide_answers.py --modelo {args.modelo}"
        print(f"{args.guia}: las respuestas no coinciden; ejecuta {fix}")
        return 1
    out = args.salida or args.guia
    out.write_text(replace_block(guide, block), encoding="utf-8")
    print(f"Respuestas con {args.modelo} escritas en {out}.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
