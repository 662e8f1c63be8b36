"""Reading headers: the sender, the threading ids, and header text whatever its charset.

The sender is the From header only (never Reply-To or Sender): exactly one
address, returned bare with the domain lower-cased; the local part keeps its
case, so compare it case-insensitively. No From, several From headers or
several addresses give ``None``.

Unknown or lying charsets fall back to UTF-8, then Windows-1252, with
replacement characters: a bad charset never stops a run.
"""

from __future__ import annotations

import email.errors
import email.header
import email.utils
import re
from email.message import Message


def raw_headers(msg: Message, name: str) -> list[str]:
    """Header values as received, unfolded, without the stdlib's structured parsing.

    ``raw_items`` never parses, so a malformed header cannot raise here.
    """
    wanted = name.lower()
    values = []
    for key, value in msg.raw_items():
        if key.lower() == wanted:
            text = re.sub(r"\r?\n[ \t]+", " ", str(value)).strip()
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
    """The single From address, bare, domain lower-cased; None if there is not exactly one."""
    values = raw_headers(msg, "From")
    if len(values) != 1:
        return None
    addresses = [addr for _, addr in email.utils.getaddresses(values) if addr]
    if len(addresses) != 1:
        return None
    local, at, domain = addresses[0].rpartition("@")
    if not at or not local or not domain or any(ch.isspace() for ch in addresses[0]):
        return None
    return f"{local}@{domain.lower()}"


def threading_ids(msg: Message) -> list[str]:
    """Message-IDs (with their angle brackets) from In-Reply-To, then References; no repeats."""
    ids: list[str] = []
    for name in ("In-Reply-To", "References"):
        for value in raw_headers(msg, name):
            for found in re.findall(r"<[^<>\s]+>", value):
                if found not in ids:
                    ids.append(found)
    return ids


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
