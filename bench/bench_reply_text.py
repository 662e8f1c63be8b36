"""Reply text: splitting the issue-11 reply corpus, and the worst bodies a reply may have.

Times, in this process, reading every corpus reply's body and splitting it into new text and
quote: with the request's fingerprint (what process-replies does) against the language rules
alone (the baseline: what an approval without a fingerprint gets). Then 1 MB bodies of the
shapes that cost the most per line, which must stay linear (approval.max_message_kb is 1024
by default). No target: this is to see the cost, not to gate it.
"""

from __future__ import annotations

import sys
import time

from common import ROOT, interleaved_medians, print_rows

ROUNDS = 5


def main() -> None:
    sys.path.insert(0, str(ROOT))
    from tests.reply_corpus.cases import all_cases, fingerprint

    from mailrelay_cli.replies.body import body_text
    from mailrelay_cli.replies.parse import parse_message
    from mailrelay_cli.replies.quotes import split_reply

    cases = all_cases()
    bodies = [(body_text(parse_message(case.raw)), case.minimal) for case in cases]
    prints = {False: fingerprint(False), True: fingerprint(True)}

    def corpus(with_fingerprint: bool) -> float:
        start = time.perf_counter()
        for text, minimal in bodies:
            split_reply(text, prints[minimal] if with_fingerprint else None)
        return time.perf_counter() - start

    medians = interleaved_medians(
        {
            "language rules only": lambda: corpus(False),
            "with the request fingerprint": lambda: corpus(True),
        },
        ROUNDS,
    )
    print_rows(
        f"Reply text: splitting {len(bodies)} corpus replies (whole corpus)", medians, "language rules only"
    )

    worst = {
        "1 MB of short plain lines": "hello there\n" * 85_000,
        "1 MB of attribution + quote": "On Mon, 3 Mar 2025, X <x@example.com> wrote:\n> a\n" * 21_000,
        "1 MB of request lines": "Approval requested: Deploy 1.4.2 to production\n" * 21_000,
    }

    def one(text: str) -> float:
        start = time.perf_counter()
        split_reply(text, prints[False])
        return time.perf_counter() - start

    medians = interleaved_medians({name: (lambda t=text: one(t)) for name, text in worst.items()}, 3)
    print_rows("Reply text: one 1 MB body, with the fingerprint", medians, "1 MB of short plain lines")


if __name__ == "__main__":
    main()
