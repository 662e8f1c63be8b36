"""Parsing a reply: raw bytes into a message, never raising, and whether it could be read at all.

The reply modules are pure functions on ``email.message.EmailMessage`` and
``str``: no I/O, no click, no rich. ``replies.run`` runs them on every message
of a ``process-replies`` run, in this order::

    msg = parse.parse_message(raw)          # never raises
    parse.unreadable_reason(msg)            # -> outcome "unreadable"
    automatic.automatic_kind(msg)           # -> outcome "bounce" / "auto-reply"
    headers.sender_address(msg)             # the From address, or None
    body.reference_text(msg)                # where to look for the signed reference
    new, quoted = quotes.split_reply(body.body_text(msg))
    decision.decision(new)                  # Decision(kind, comment)

Each module's docstring states its rules; they go into the README.
"""

from __future__ import annotations

import email
import email.errors
import email.parser
import email.policy
import re
from email.message import EmailMessage, Message
from typing import cast

from mailrelay_cli.replies.headers import MAX_HEADER_CHARS, has_surrogates

# Real replies nest a few multiparts and perhaps an attached message; thousands of nested
# containers are only ever an attack on the (recursive) parser and walkers.
MAX_CONTAINERS = 200
_CONTAINER = re.compile(rb"^content-type:[ \t]*(?:multipart|message)/", re.IGNORECASE | re.MULTILINE)


class _Policy(email.policy.EmailPolicy):
    """The default policy, except that Content-Type and Content-Transfer-Encoding read as str.

    The stdlib builds a structured header object on every ``get_content_type`` and
    ``get_param`` call (the parser makes several per part): measured, that was most
    of the time a run spends per message. The str forms are what ``Message`` parses
    its parameters from anyway; every other header keeps the default behaviour.
    """

    def header_fetch_parse(self, name: str, value: str) -> str:
        value = value[:MAX_HEADER_CHARS]  # the structured parsers are not linear in the worst case
        if name.lower() in ("content-type", "content-transfer-encoding"):
            value = re.sub(r"\r?\n[ \t]+", " ", value)
            if has_surrogates(value):  # 8-bit bytes in the header
                value = value.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
            return value.strip()
        parsed: str = super().header_fetch_parse(name, value)  # a header object (a str)
        return parsed


_POLICY = _Policy()


class UnreadableDefect(email.errors.MessageDefect):
    """The bytes are not a mail message at all (empty, or not one header could be read)."""


def parse_message(raw: bytes) -> EmailMessage:
    """Parse raw bytes into a message; never raises for bad input.

    A message that cannot be read at all carries an ``UnreadableDefect`` (see
    ``unreadable_reason``). A multipart whose declared boundary never appears,
    but whose body plainly uses another one, is re-split on the boundary it uses.
    More than ``MAX_CONTAINERS`` multipart or message parts is unreadable unparsed.
    """
    containers = sum(1 for _ in zip(range(MAX_CONTAINERS + 1), _CONTAINER.finditer(raw), strict=False))
    if containers > MAX_CONTAINERS:
        try:  # the header alone, for the audit row and the output
            parser = email.parser.BytesHeaderParser(_class=EmailMessage, policy=_POLICY)
            msg = cast(EmailMessage, parser.parsebytes(raw))
        except (email.errors.MessageError, ValueError, IndexError, TypeError, LookupError, RecursionError):
            msg = EmailMessage(policy=_POLICY)
        msg.defects.append(UnreadableDefect(f"more than {MAX_CONTAINERS} nested or multipart parts"))
        return msg
    try:
        msg = cast(EmailMessage, email.message_from_bytes(raw, _class=EmailMessage, policy=_POLICY))
    except (email.errors.MessageError, ValueError, IndexError, TypeError, LookupError, RecursionError) as e:
        # The feed parser is meant never to raise; if a stdlib bug makes it, the run goes on.
        msg = EmailMessage(policy=_POLICY)
        msg.defects.append(UnreadableDefect(f"the parser failed ({type(e).__name__})"))
        return msg
    if not raw.strip():
        msg.defects.append(UnreadableDefect("the message is empty"))
    elif not list(msg.raw_items()):
        msg.defects.append(UnreadableDefect("no mail header could be read"))
    else:
        _repair_boundary(msg)
    return msg


def unreadable_reason(msg: Message) -> str | None:
    """Why ``parse_message`` could not read this message at all, or None when it could."""
    for defect in msg.defects:
        if isinstance(defect, UnreadableDefect):
            return str(defect)
    return None


_BOUNDARY_LINE = re.compile(r"^--([^\s]{1,70})[ \t]*\r?\n[A-Za-z][A-Za-z0-9-]*:", re.MULTILINE)


def _repair_boundary(msg: EmailMessage) -> None:
    if msg.get_content_maintype() != "multipart" or msg.is_multipart():
        return
    payload = msg.get_payload(decode=True)  # bytes (or None) for a part that is not multipart
    body = payload if isinstance(payload, bytes) else b""
    text = body.decode("ascii", errors="replace")
    found = _BOUNDARY_LINE.search(text)
    if not found:
        return
    boundary = found.group(1)
    head = f'Content-Type: multipart/mixed; boundary="{boundary}"\r\n\r\n'.encode()
    inner = email.message_from_bytes(head + body, _class=EmailMessage, policy=_POLICY)
    if not inner.is_multipart():
        return
    msg.set_payload(inner.get_payload())
    msg.set_param("boundary", boundary)
