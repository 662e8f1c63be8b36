"""Write every corpus reply as DIR/NAME.eml with DIR/expected.json, to look at one with
``mailrelay replies explain --no-store DIR/NAME.eml``: ``python -m tests.reply_corpus.dump DIR``."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from tests.reply_corpus.cases import all_cases


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m tests.reply_corpus.dump DIR", file=sys.stderr)
        return 2
    target = Path(argv[0])
    target.mkdir(parents=True, exist_ok=True)
    expected = {}
    for case in all_cases():
        (target / f"{case.name}.eml").write_bytes(case.raw)
        expected[case.name] = {
            "decision": case.kind,
            "comment": case.comment,
            "minimal_request": case.minimal,
        }
    (target / "expected.json").write_text(json.dumps(expected, ensure_ascii=False, indent=1))
    print(f"{len(expected)} replies in {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
