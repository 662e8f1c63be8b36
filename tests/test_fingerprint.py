"""approvals.fingerprint: the request's words and trigrams, and which reply lines match them."""

from __future__ import annotations

import pytest

from mailrelay_cli.approvals.fingerprint import Fingerprint, make_fingerprint, words

TEXT = (
    "Approval requested: Deploy 1.4.2 to production\n\n"
    "TO ANSWER, reply to this message with APPROVE or REJECT on the first line.\n"
    "Anything you write below that line is kept as a comment.\n"
)
HTML = (
    "<html><body><p>Reply with <b>APPROVE</b> or <b>REJECT</b>.</p><table><tr><td>Project"
    "</td><td>shop</td></tr></table></body></html>"
)


@pytest.fixture(scope="module")
def fingerprint() -> Fingerprint:
    return make_fingerprint("[MR-K7Q2XD-3f9a1c2b0e] Approval requested: Deploy", TEXT, HTML)


def test_words_ignore_case_quote_marks_nbsp_and_punctuation() -> None:
    assert words("> | Approval\xa0REQUESTED:  Deploy\u200b 1.4.2!") == [
        "approval",
        "requested",
        "deploy",
        "1",
        "4",
        "2",
    ]


def test_words_drop_links_that_clients_append() -> None:
    assert words("Approve<mailto:a@example.com?subject=x> now [mailto:b@example.com]") == ["approve", "now"]


@pytest.mark.parametrize(
    "line",
    [
        "Approval requested: Deploy 1.4.2 to production",
        "> Approval requested: Deploy 1.4.2 to production",
        "| approval requested:   deploy 1.4.2 to production",
        "> > TO ANSWER, reply to this message with",
        "APPROVE or REJECT on the first line. Anything you write below",
    ],
    ids=["plain", "quoted", "pipe-and-spacing", "soft-wrapped-start", "across-two-lines"],
)
def test_a_line_of_the_request_however_quoted_or_wrapped_matches_strongly(
    fingerprint: Fingerprint, line: str
) -> None:
    assert fingerprint.line_match(line) == "strong"


def test_a_short_line_of_request_words_matches_weakly(fingerprint: Fingerprint) -> None:
    assert fingerprint.line_match("> production") == "weak"


def test_html_cells_match_as_one_line(fingerprint: Fingerprint) -> None:
    assert fingerprint.line_match("Project shop") == "weak"


@pytest.mark.parametrize(
    "line",
    [
        "Approve, the rollback plan is ready",
        "Deploy 1.4.2 to production is blocked by QA",
        "nothing in common here at all",
        "",
    ],
)
def test_the_approvers_own_words_do_not_match(fingerprint: Fingerprint, line: str) -> None:
    assert fingerprint.line_match(line) is None


def test_the_stored_form_reads_back_the_same(fingerprint: Fingerprint) -> None:
    assert Fingerprint.loads(fingerprint.dumps()) == fingerprint


def test_the_stored_form_keeps_no_words_of_the_request(fingerprint: Fingerprint) -> None:
    assert "deploy" not in fingerprint.dumps().lower()


@pytest.mark.parametrize("stored", [None, "", "2;a;b", "garbage"])
def test_an_unknown_stored_form_is_no_fingerprint(stored: str | None) -> None:
    assert Fingerprint.loads(stored) is None
