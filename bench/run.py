"""`make bench`: every benchmark, each printed side by side with its baseline."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

BENCHMARKS = [
    "bench_startup",
    "bench_send",
    "bench_replies",
    "bench_hostile",
    "bench_reply_text",
    "bench_stores",
    "bench_watch",
]


def main() -> None:
    for name in BENCHMARKS:
        if not (Path(__file__).parent / f"{name}.py").exists():
            print(f"\n{name}: not present")
            continue
        importlib.import_module(name).main()


if __name__ == "__main__":
    main()
