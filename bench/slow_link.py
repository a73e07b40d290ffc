"""The slow-link proxy as a command: ``python bench/slow_link.py --target 8888 --rtt 150 --mbit 10``.

The proxy itself lives in ``tests/slow_link.py`` (the browser tests check it; the benchmark uses it);
``python bench/slow_link.py --self-test`` checks its delay and throughput cap.
"""

from __future__ import annotations

import sys
from pathlib import Path

# Run as a script, this file's folder is first on sys.path, not the repository's.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.slow_link import main

if __name__ == "__main__":
    sys.exit(main())
