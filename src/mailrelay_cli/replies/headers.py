"""Reading headers: the sender, the threading ids, and header text whatever its charset.

The sender is the From header only (never Reply-To or Sender): exactly one
address, returned bare with the ASCII letters of its domain lower-cased and
everything else as it arrived (compare with ``approvals.addresses``, never
by Unicode folding). No From, several From headers or several addresses, or
a From the address parser cannot read (hostile comment nesting) give ``None``.

Work is bounded whatever a header holds: each value read is cut at
``MAX_HEADER_CHARS``, and at most ``MAX_THREAD_IDS`` threading ids are kept.

Unknown or lying charsets fall back to UTF-8, then Windows-1252, with
replacement characters: a bad charset never stops a run.
"""

from __future__ import annotations

import email.errors
import email.header
import email.utils
import re
from email.message import Message

from mailrelay_cli.approvals.addresses import bare_address

MAX_HEADER_CHARS = 16_384  # far above any real From, Subject or References header
MAX_THREAD_IDS = 200


def raw_headers(msg: Message, name: str) -> list[str]:
    """Header values as received, unfolded, without the stdlib's structured parsing.

    ``raw_items`` never parses, so a malformed header cannot raise here.
    """
    wanted = name.lower()
    values = []
    for key, value in msg.raw_items():
        if key.lower() == wanted:
            text = re.sub(r"\r?\n[ \t]+", " ", str(value)[:MAX_HEADER_CHARS]).strip()
            if has_surrogates(text):  # 8-bit bytes in a header: undeclared charset
                text = decode_bytes(text.encode("utf-8", "surrogateescape"), None)
            values.append(text)
    return values


_SURROGATE = re.compile("[\udc80-\udcff]")


def has_surrogates(text: str) -> bool:
    return _SURROGATE.search(text) is not None


def header_text(msg: Message, name: str) -> str:
    """The first value of a header with RFC 2047 encoded words decoded (best effort)."""
    values = raw_headers(msg, name)
    if not values:
        return ""
    try:
        return str(email.header.make_header(email.header.decode_header(values[0])))
    except (email.errors.MessageError, LookupError, ValueError):  # bad charset or encoding
        return values[0]


def sender_address(msg: Message) -> str | None:
    """The single From address, bare (``approvals.addresses.bare_address``); else None."""
    values = raw_headers(msg, "From")
    if len(values) != 1 or values[0].count("(") > 32:  # nobody nests comments in a From
        return None
    try:
        addresses = [addr for _, addr in email.utils.getaddresses(values) if addr]
    except (RecursionError, ValueError, IndexError):
        return None
    if len(addresses) != 1:
        return None
    return bare_address(addresses[0])


def threading_ids(msg: Message) -> list[str]:
    """Message-IDs (with their angle brackets) from In-Reply-To, then References; no repeats.

    At most ``MAX_THREAD_IDS``: In-Reply-To's, then the newest (last) of References.
    """
    ids: dict[str, None] = {}
    for value in raw_headers(msg, "In-Reply-To"):
        ids.update(dict.fromkeys(re.findall(r"<[^<>\s]{1,998}>", value)[:MAX_THREAD_IDS]))
    for value in raw_headers(msg, "References"):
        ids.update(dict.fromkeys(re.findall(r"<[^<>\s]{1,998}>", value)[-MAX_THREAD_IDS:]))
    return list(ids)[:MAX_THREAD_IDS]


def decode_bytes(payload: bytes, charset: str | None) -> str:
    """Text from bytes whatever the label says: declared charset, else UTF-8, else cp1252."""
    if charset and charset.lower() not in ("us-ascii", "ascii"):
        try:
            return payload.decode(charset, errors="replace")
        except (LookupError, ValueError):
            pass  # unknown, non-text or malformed codec name (UnicodeError is a ValueError)
    try:
        return payload.decode("utf-8")
    except UnicodeDecodeError:
        return payload.decode("windows-1252", errors="replace")
