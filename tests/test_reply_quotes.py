"""replies.quotes with the request's fingerprint: where a quote starts, in any language."""

from __future__ import annotations

import pytest

from mailrelay_cli.approvals.fingerprint import Fingerprint, make_fingerprint
from mailrelay_cli.replies.decision import decision
from mailrelay_cli.replies.quote_rules import field_label, is_decorated_separator
from mailrelay_cli.replies.quotes import analyse_reply, split_reply

REQUEST = (
    "[MR-K7Q2XD-3f9a1c2b0e] Approval requested: Deploy 1.4.2 to production\n"
    "Approval requested: Deploy 1.4.2 to production\n\n"
    "TO ANSWER, reply to this message with APPROVE or REJECT on the first line.\n"
    "Anything you write below that line is kept as a comment.\n"
    "Keep the reference MR-K7Q2XD-3f9a1c2b0e in the subject or the quoted text.\n"
)
QUOTED = "\n".join(f"> {line}" if line else ">" for line in REQUEST.rstrip().split("\n"))
FP: Fingerprint = make_fingerprint("[MR-K7Q2XD-3f9a1c2b0e] Approval requested", REQUEST)


def new_text(text: str) -> str:
    return split_reply(text, FP)[0]


@pytest.mark.parametrize(
    "block",
    [
        "Kutoka: Mailrelay <relay@example.com>\nImetumwa: Jumatatu\nKwa: Bob\nMada: Approval",
        "*Van:* Mailrelay [mailto:relay@example.com]\n*Verzonden:* maandag\n*Aan:* Bob",
        "发件人：Mailrelay\n发送时间：2025年3月3日\n收件人：王伟",
        "----- Ujumbe wa asili -----\nKutoka: Mailrelay\nKwa: Bob",
    ],
    ids=["swahili", "dutch-bold-mailto", "chinese-full-width", "separator-then-fields"],
)
def test_a_header_block_in_any_language_above_the_request_is_quote(block: str) -> None:
    assert new_text(f"Approve\nfine\n\n{block}\n\n{REQUEST}") == "Approve\nfine"


@pytest.mark.parametrize(
    "attribution",
    [
        "Mnamo Jumatatu, 3 Machi 2025 saa 10:00, Mailrelay <relay@example.com> aliandika:",
        "2016-03-03 17:21 GMT+01:00 Mailrelay <relay@example.com>:",
        "2013/7/20 Mailrelay <relay@example.com>",
        "---- Jumatatu, 03 Machi 2025 Mailrelay aliandika ----",
        "Mailrelay aliandika:",
    ],
    ids=["swahili", "date-first", "date-first-no-colon", "framed", "short-name"],
)
def test_an_attribution_in_any_language_above_the_request_is_quote(attribution: str) -> None:
    assert new_text(f"Reject\nnot today\n\n{attribution}\n{QUOTED}") == "Reject\nnot today"


def test_an_attribution_wrapped_right_under_the_new_text_is_quote() -> None:
    text = f"Ja\nBitte nach 18 Uhr.\nAm 03.03.2025 um 10:00 schrieb Mailrelay\n<relay@example.com>:\n{QUOTED}"
    assert new_text(text) == "Ja\nBitte nach 18 Uhr."


def test_an_unquoted_request_quotes_everything_below_its_header() -> None:
    text = f"Approve\n\nKutoka: Mailrelay\nKwa: Bob\n\n{REQUEST}\nApprove\n"
    assert new_text(text) == "Approve"


def test_a_decision_line_is_never_taken_into_the_header() -> None:
    assert decision(new_text(f"Approve: go\nWhen: today\n\n{REQUEST}")).kind == "approve"


def test_label_lines_of_the_comment_above_a_header_block_stay() -> None:
    text = f"Approve\n\nTicket: CHG-1\nWindow: 18:00\n\nFrom: M\nSent: Mon\nTo: Bob\n\n{REQUEST}"
    assert new_text(text) == "Approve\n\nTicket: CHG-1\nWindow: 18:00"


def test_a_bottom_posted_answer_below_the_quoted_request_is_new_text() -> None:
    text = f"Mailrelay aliandika:\n{QUOTED}\n\nReject\nQA is red\n"
    assert new_text(text) == "Reject\nQA is red"


def test_the_quoted_request_never_decides() -> None:
    assert decision(new_text(f"Mnamo 3 Machi 2025, Mailrelay aliandika:\n{QUOTED}")).kind is None


def test_the_request_pasted_without_quote_marks_never_decides() -> None:
    assert decision(new_text(f"\n\n{REQUEST}")).kind is None


def test_a_phone_footer_in_any_language_set_apart_at_the_end_is_dropped() -> None:
    assert new_text(f"Approve\nsawa\n\nImetumwa kutoka iPhone yangu\n\nX aliandika:\n{QUOTED}") == (
        "Approve\nsawa"
    )


def test_the_approvers_line_breaks_are_kept() -> None:
    assert new_text(f"Approve\none\n\ntwo\nthree\n\nX <x@example.com>:\n{QUOTED}") == (
        "Approve\none\n\ntwo\nthree"
    )


def test_analyse_reply_says_where_the_quote_starts_and_why() -> None:
    split = analyse_reply(f"Approve\n\nKutoka: Mailrelay\nKwa: Bob\n\n{REQUEST}", FP)
    assert split.quote_start == 2
    assert split.quote_reason == "request fingerprint and the header block above it"
    assert [note.rule for note in split.notes] == ["header block", "request fingerprint"]


def test_without_a_fingerprint_the_language_rules_still_apply() -> None:
    text = f"Approve\nok\n\nVan: M\nVerzonden: maandag\nAan: Bob\nOnderwerp: x\n\n{REQUEST}"
    assert split_reply(text)[0] == "Approve\nok"


@pytest.mark.parametrize(
    ("line", "label"),
    [
        ("From: x", "from"),
        ("*Van:* x", "van"),
        ("보낸 사람: x", "보낸 사람"),
        ("主题：x", "主题"),
        ("\u200fمن: x", "من"),
        ("https://example.com", None),
        ("10:00 works", None),
    ],
)
def test_field_label_reads_label_value_lines_in_any_script(line: str, label: str | None) -> None:
    assert field_label(line) == label


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("-----Oprindelig meddelelse-----", True),
        ("*-------- Original Message --------*", True),
        ("---- On Mon, X wrote ----", True),
        ("_" * 32, True),
        ("-- ", False),
        ("- item", False),
    ],
)
def test_decorated_separators_need_no_word_list(line: str, expected: bool) -> None:
    assert is_decorated_separator(line) is expected


@pytest.mark.parametrize(
    "text",
    [
        "Yes, as Bob wrote:\n> Approve?",
        "Approve, deploy at 10:00:\n> Expires: 2025-03-06",
        "No, see 2 notes below:\n\n> Deploy 1.4.2 to production",
    ],
)
def test_a_decision_line_that_looks_like_an_attribution_still_decides(text: str) -> None:
    assert decision(split_reply(text, FP)[0]).kind is not None
    assert decision(split_reply(text)[0]).kind is not None


def test_a_portuguese_attribution_starting_with_no_is_quote_not_a_reject() -> None:
    text = f"No dia seg., 3/03/2025 à(s) 10:00, Mailrelay <relay@example.com> escreveu:\n{QUOTED}"
    assert decision(split_reply(text, FP)[0]).kind is None
    assert decision(split_reply(text)[0]).kind is None
