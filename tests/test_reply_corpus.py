"""The reply corpus of issue 11 (tests/reply_corpus): every reply's decision and exact comment.

With the request's fingerprint (as process-replies reads them) at least 99.5 % of the
comments must be exactly right and no decision may be wrong; without it (an approval asked
before fingerprints were kept, or a quote the client cut) the language rules alone must
still never decide wrongly, and keep at least 97 % of the comments exact.
"""

from __future__ import annotations

from collections import Counter

import pytest

from mailrelay_cli.approvals.fingerprint import Fingerprint
from mailrelay_cli.replies.body import body_text
from mailrelay_cli.replies.decision import decision
from mailrelay_cli.replies.parse import parse_message
from mailrelay_cli.replies.quotes import split_reply
from tests.reply_corpus.cases import Case, all_cases, fingerprint

COMMENT_RATE = 0.995
LANGUAGE_RULES_RATE = 0.97  # the second line of defence alone (measured: 99.6 %)


def _read(case: Case, with_fingerprint: bool) -> tuple[str | None, str]:
    fp: Fingerprint | None = fingerprint(case.minimal) if with_fingerprint else None
    new_text, _quoted = split_reply(body_text(parse_message(case.raw)), fp)
    found = decision(new_text)
    return found.kind, found.comment


def _score(with_fingerprint: bool) -> tuple[float, list[str], list[str]]:
    cases = all_cases()
    wrong_decisions: list[str] = []
    wrong_comments: list[str] = []
    for case in cases:
        kind, comment = _read(case, with_fingerprint)
        if kind != case.kind:
            wrong_decisions.append(f"{case.name}: {kind!r}, expected {case.kind!r}")
        elif comment != case.comment:
            wrong_comments.append(f"{case.name}: {comment!r}, expected {case.comment!r}")
    right = len(cases) - len(wrong_decisions) - len(wrong_comments)
    return right / len(cases), wrong_decisions, wrong_comments


def test_corpus_has_300_cases_in_15_languages_text_and_html_top_and_bottom_posted() -> None:
    cases = all_cases()
    assert len(cases) >= 300
    assert len({case.language for case in cases}) >= 15
    assert Counter(case.body_kind for case in cases)["html"] >= 50
    assert sum(case.bottom_posted for case in cases) >= 50
    assert len({case.name for case in cases}) == len(cases)


def test_corpus_comments_with_the_request_fingerprint(capsys: pytest.CaptureFixture[str]) -> None:
    rate, wrong_decisions, wrong_comments = _score(True)
    with capsys.disabled():
        print(
            f"\nreply corpus, with fingerprint: {rate:.2%} of {len(all_cases())} exactly right, "
            f"{len(wrong_decisions)} wrong decisions"
        )
    assert wrong_decisions == []
    assert rate >= COMMENT_RATE, "\n".join(wrong_comments)
    if wrong_comments:
        print("\n".join(wrong_comments))


def test_corpus_decisions_without_a_fingerprint(capsys: pytest.CaptureFixture[str]) -> None:
    rate, wrong_decisions, _wrong_comments = _score(False)
    with capsys.disabled():
        print(
            f"\nreply corpus, language rules only: {rate:.2%} of {len(all_cases())} exactly "
            f"right, {len(wrong_decisions)} wrong decisions"
        )
    assert wrong_decisions == []
    assert rate >= LANGUAGE_RULES_RATE
