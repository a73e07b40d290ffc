"""Write attnviz/data/es_gsd-ud-test-short.conllu: the short sentences of UD Spanish GSD's test file.

A sentence is kept when it has at most 25 syntactic words (CoNLL-U lines whose id is a plain
number: multiword-token ranges such as ``6-7 del`` and empty nodes do not count).  Kept sentences
are copied line for line, unchanged and in their original order, each followed by a blank line as
in the original file.  The
attribution and licence are in attnviz/data/es_gsd-ud-test-short.README.md.

Usage:
    python tools/gsd_subset.py [path/to/es_gsd-ud-test.conllu]   # default: ../shared/ud-spanish-gsd/
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT.parent / "shared" / "ud-spanish-gsd" / "es_gsd-ud-test.conllu"
TARGET = ROOT / "attnviz" / "data" / "es_gsd-ud-test-short.conllu"
MAX_WORDS = 25


def short_blocks(text: str, max_words: int = MAX_WORDS) -> list[str]:
    """The sentence blocks of ``text`` (lines unchanged) with at most ``max_words`` syntactic words."""
    blocks = [block for block in text.split("\n\n") if block.strip()]
    return [
        block
        for block in blocks
        if sum(line.split("\t", 1)[0].isdigit() for line in block.splitlines()) <= max_words
    ]


def main(argv: list[str]) -> int:
    source = Path(argv[0]) if argv else SOURCE
    blocks = short_blocks(source.read_text(encoding="utf-8"))
    text = "".join(block.strip("\n") + "\n\n" for block in blocks).encode("utf-8")
    TARGET.write_bytes(text)
    print(f"{len(blocks)} frases -> {TARGET.relative_to(ROOT)} · sha256 {hashlib.sha256(text).hexdigest()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
