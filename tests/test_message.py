"""MIME building: addresses, headers, text + HTML alternatives, attachments, header safety."""

from __future__ import annotations

import email
import email.policy
from datetime import UTC, datetime

import pytest

from mailrelay_cli.errors import DataError
from mailrelay_cli.outbound.attachments import Attachment
from mailrelay_cli.outbound.message import build_message, parse_address, parse_addresses

SENDER = parse_address("Release Bot <relay@Example.COM>", "smtp.from")


def _parsed(built):  # type: ignore[no-untyped-def]
    return email.message_from_bytes(built.as_bytes(), policy=email.policy.default)


def _body(parsed, subtype: str) -> str:  # type: ignore[no-untyped-def]
    # The wire has CRLF line ends; compare text as written.
    return parsed.get_body((subtype,)).get_content().replace("\r\n", "\n")


def _build(**kwargs):  # type: ignore[no-untyped-def]
    values = {
        "sender": SENDER,
        "to": parse_addresses(["ops@example.com"], "--to"),
        "subject": "Hello",
        "text": "text body\n",
        "html": "<p>html body</p>\n",
    }
    values.update(kwargs)
    return build_message(**values)


def test_an_international_display_name_and_idn_domain_parse() -> None:
    address = parse_address("Jürgen Müller <juergen@Bücher.Example>", "--to")
    assert address.display_name == "Jürgen Müller"
    assert address.bare == "juergen@bücher.example"
    assert address.envelope == "juergen@xn--bcher-kva.example"
    assert not address.needs_smtputf8


def test_a_non_ascii_local_part_needs_smtputf8() -> None:
    assert parse_address("jürgen@example.com", "--to").needs_smtputf8


def test_a_quoted_name_with_a_comma_stays_one_address() -> None:
    addresses = parse_addresses(['"Doe, Jane" <jane@example.com>, bob@example.com'], "--to")
    assert [a.bare for a in addresses] == ["jane@example.com", "bob@example.com"]


def test_the_same_address_twice_is_one_recipient() -> None:
    addresses = parse_addresses(["a@example.com", "A <a@EXAMPLE.com>"], "--to")
    assert [a.bare for a in addresses] == ["a@example.com"]


@pytest.mark.parametrize(
    "text",
    [
        "ops",
        "ops@",
        "@example.com",
        "two words@example.com",
        "a@-bad-.com",
        "a@b.com, c@d.com",
        "group: a@b.com;",
    ],
)
def test_something_that_is_not_one_address_is_bad_input_naming_where(text: str) -> None:
    with pytest.raises(DataError, match="--to") as caught:
        parse_address(text, "--to")
    assert caught.value.exit_code == 65


@pytest.mark.parametrize("text", ["ops@example.com\r\nBcc: victim@example.com", "Ops\n <ops@example.com>"])
def test_a_line_break_in_an_address_is_rejected(text: str) -> None:
    with pytest.raises(DataError, match="line break"):
        parse_address(text, "--to")


@pytest.mark.parametrize("subject", ["Hi\r\nBcc: victim@example.com", "Hi\nX-Evil: 1", "a\rb"])
def test_a_line_break_in_the_subject_is_rejected(subject: str) -> None:
    with pytest.raises(DataError, match="subject contains a line break") as caught:
        _build(subject=subject)
    assert caught.value.exit_code == 65


def test_a_line_break_in_an_extra_header_is_rejected() -> None:
    with pytest.raises(DataError, match="X-Mailrelay-Approval"):
        _build(headers={"X-Mailrelay-Approval": "abc\r\nBcc: victim@example.com"})


def test_extra_headers_may_not_replace_the_sender() -> None:
    with pytest.raises(DataError, match="From"):
        _build(headers={"From": "evil@example.com"})


def test_the_message_id_is_on_the_senders_domain() -> None:
    built = _build()
    assert built.message_id.endswith("@example.com>")
    assert _parsed(built)["Message-ID"] == built.message_id


def test_headers_say_auto_generated_and_carry_date_and_from() -> None:
    when = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
    parsed = _parsed(_build(date=when))
    assert parsed["Auto-Submitted"] == "auto-generated"
    assert parsed["From"] == "Release Bot <relay@example.com>"
    assert parsed["Date"].datetime == when


def test_text_and_html_are_multipart_alternative() -> None:
    parsed = _parsed(_build())
    assert parsed.get_content_type() == "multipart/alternative"
    parts = [part.get_content_type() for part in parsed.iter_parts()]
    assert parts == ["text/plain", "text/html"]
    assert _body(parsed, "plain") == "text body\n"
    assert _body(parsed, "html") == "<p>html body</p>\n"


def test_an_attachment_makes_it_mixed_with_the_alternative_first() -> None:
    parsed = _parsed(_build(attachments=[Attachment("R_1_B_e(1).log", "text/plain", b"log\n")]))
    assert parsed.get_content_type() == "multipart/mixed"
    first, attached = list(parsed.iter_parts())
    assert first.get_content_type() == "multipart/alternative"
    assert attached.get_filename() == "R_1_B_e(1).log"
    assert attached.get_content() in (b"log\n", "log\n")


def test_non_ascii_subject_names_bodies_and_file_names_round_trip() -> None:
    built = _build(
        to=parse_addresses(["Zoë Ångström <zoe@bücher.example>"], "--to"),
        subject="Déploiement réussi ✓ 発表",
        text="Grüße aus Köln — 完了\n",
        html="<p>Grüße — 完了</p>\n",
        attachments=[Attachment("Überblick_1_Bäu(1).log", "text/plain", "ü\n".encode())],
    )
    raw = built.as_bytes()
    assert raw.isascii()  # nothing needs SMTPUTF8 or 8BITMIME
    parsed = _parsed(built)
    assert parsed["Subject"] == "Déploiement réussi ✓ 発表"
    assert parsed["To"].addresses[0].display_name == "Zoë Ångström"
    assert parsed["To"].addresses[0].domain == "xn--bcher-kva.example"
    assert _body(parsed, "plain") == "Grüße aus Köln — 完了\n"
    assert _body(parsed, "html") == "<p>Grüße — 完了</p>\n"
    assert [p.get_filename() for p in parsed.iter_attachments()] == ["Überblick_1_Bäu(1).log"]


def test_a_reply_to_and_extra_headers_are_added() -> None:
    parsed = _parsed(
        _build(
            reply_to=parse_address("approvals@example.com", "Reply-To"),
            headers={"X-Mailrelay-Approval": "A-1"},
        )
    )
    assert parsed["Reply-To"] == "approvals@example.com"
    assert parsed["X-Mailrelay-Approval"] == "A-1"


def test_cc_recipients_are_in_the_header_and_the_envelope() -> None:
    built = _build(cc=parse_addresses(["boss@example.com"], "--cc"))
    assert _parsed(built)["Cc"] == "boss@example.com"
    assert [a.envelope for a in built.recipients] == ["ops@example.com", "boss@example.com"]
