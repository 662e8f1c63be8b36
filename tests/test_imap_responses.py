"""imap_responses: IMAP answers as imaplib hands them back, parsed without a server."""

from __future__ import annotations

from mailrelay_cli.transport.imap_responses import (
    FetchItem,
    capability_names,
    encode_folder,
    fetch_items,
    quote_mailbox,
    response_text,
    select_count,
    selectable_folders,
    uid_set,
    uidvalidity,
)


def test_fetch_items_find_uid_and_size_on_either_side_of_the_literal() -> None:
    data = [
        (b"1 (RFC822.SIZE 120 BODY[HEADER] {5}", b"head1"),
        b" UID 7)",
        (b"2 (UID 9 RFC822.SIZE 30 BODY[HEADER] {5}", b"head2"),
        b")",
        b"3 (UID 11 RFC822.SIZE 4)",
    ]
    assert list(fetch_items(data)) == [
        FetchItem("7", 120, b"head1"),
        FetchItem("9", 30, b"head2"),
        FetchItem("11", 4, None),
    ]


def test_fetch_items_without_uid_or_size() -> None:
    assert list(fetch_items([(b"1 (BODY[] {1}", b"x"), b")"])) == [FetchItem(None, None, b"x")]


def test_uid_set_collapses_runs() -> None:
    assert uid_set(["7", "1", "3", "2", "3"]) == "1:3,7"
    assert uid_set(["5"]) == "5"


def test_selectable_folders_skip_noselect_and_read_literals() -> None:
    data = [
        b'(\\HasNoChildren) "/" INBOX',
        b'(\\Noselect \\HasChildren) "/" Archive',
        (b'(\\HasNoChildren) "/" {6}', b"Caf\xc3\xa9s"),
        b'(\\HasNoChildren) "/" "Entw&APw-rfe"',
        None,
        b"garbage",
    ]
    assert selectable_folders(data) == ["INBOX", "Cafés", "Entwürfe"]


def test_capability_names_from_imaplib_and_from_a_capability_answer() -> None:
    assert capability_names(("IMAP4rev1", "idle")) == ("IDLE", "IMAP4REV1")
    assert "UIDPLUS" in capability_names([b"IMAP4rev1 uidplus MOVE"])


def test_select_count_and_uidvalidity() -> None:
    assert select_count([b"12"]) == 12
    assert select_count([None]) == 0
    assert select_count([b"junk"]) == 0
    assert uidvalidity({"UIDVALIDITY": [b"1", b"42"]}) == 42
    assert uidvalidity({}) == 0


def test_response_text_keeps_only_the_words() -> None:
    assert response_text([b"[TRYCREATE]  no   such\tmailbox"]) == "[TRYCREATE] no such mailbox"
    assert response_text("b'command SELECT illegal'") == "command SELECT illegal"


def test_quoting() -> None:
    assert quote_mailbox('a"b\\c') == '"a\\"b\\\\c"'
    assert encode_folder("Entwürfe & Co") == '"Entw&APw-rfe &- Co"'
