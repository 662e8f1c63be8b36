"""The body of a reply: which part is the text, decoded, with format=flowed undone.

The body is the first text/plain part that is not an attachment (format=flowed
is unwrapped), else the first text/html part converted to text. Attached
messages (``message/rfc822``) are never the body. Charsets are read as
``headers.decode_bytes`` reads them: a bad charset never stops a run.

Only the part used as the body is converted from HTML; references are also
looked for in the other text parts as they are (a reference holds no markup),
at most ``MAX_PARTS`` of them, each cut at ``MAX_TEXT_CHARS``.
"""

from __future__ import annotations

from collections.abc import Iterator
from email.message import Message
from itertools import islice

from mailrelay_cli.replies.headers import decode_bytes, header_text, raw_headers
from mailrelay_cli.replies.html_text import html_to_text


def iter_parts(part: Message) -> Iterator[Message]:
    """This part and its multipart children, never descending into attached messages."""
    yield part
    if part.get_content_maintype() == "multipart" and part.is_multipart():
        for child in part.get_payload():
            if isinstance(child, Message):
                yield from iter_parts(child)


MAX_PARTS = 100
MAX_TEXT_CHARS = 2_000_000


def _part_text(part: Message) -> str:
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        return ""
    text = decode_bytes(payload[:MAX_TEXT_CHARS], part.get_content_charset()).replace("\r\n", "\n")
    return text.replace("\r", "\n")


def _is_attachment(part: Message) -> bool:
    disposition = raw_headers(part, "Content-Disposition")
    return bool(disposition) and disposition[0].split(";")[0].strip().lower() == "attachment"


def _body_parts(msg: Message) -> tuple[Message | None, Message | None]:
    plain: Message | None = None
    html: Message | None = None
    for index, part in enumerate(islice(iter_parts(msg), MAX_PARTS)):
        if index and _is_attachment(part):
            continue
        if part.get_content_type() == "text/plain" and plain is None:
            plain = part
        elif part.get_content_type() == "text/html" and html is None:
            html = part
    return plain, html


def body_text(msg: Message) -> str:
    """The best text of the message: its text/plain body, else its HTML converted to text."""
    plain, html = _body_parts(msg)
    if plain is not None:
        text = _part_text(plain)
        if str(plain.get_param("format", "") or "").lower() == "flowed":
            delsp = str(plain.get_param("delsp", "") or "").lower() == "yes"
            text = unflow(text, delsp=delsp)
        return text
    if html is not None:
        return html_to_text(_part_text(html))
    if msg.get_content_maintype() in ("text", "multipart") and not msg.is_multipart():
        return _part_text(msg)  # a multipart that could not be split: its raw text is all there is
    return ""


def reference_text(msg: Message, body: str | None = None) -> str:
    """Subject, the body (``body_text``, given when already read) and every other text part
    as it is, quoted text included: where references are looked for. No HTML is converted
    here but the body's own part, so a message with many HTML parts costs no more."""
    texts = [header_text(msg, "Subject"), body_text(msg) if body is None else body]
    for part in islice(msg.walk(), MAX_PARTS):
        if part.get_content_type() in ("text/plain", "text/html"):
            texts.append(_part_text(part))
    return "\n".join(texts)


def unflow(text: str, *, delsp: bool = False) -> str:
    """Undo RFC 3676 format=flowed: join soft-broken lines, drop space-stuffing."""
    out: list[str] = []
    buffer: str | None = None
    buffer_depth = 0

    def emit(depth: int, content: str) -> None:
        out.append(f"{'>' * depth} {content}".rstrip() if depth else content)

    for line in text.split("\n"):
        depth = len(line) - len(line.lstrip(">"))
        content = line[depth:]
        content = content.removeprefix(" ")
        if buffer is not None and depth != buffer_depth:
            emit(buffer_depth, buffer)
            buffer = None
        soft = content.endswith(" ") and content != "-- "
        if soft and delsp:
            content = content[:-1]
        buffer = (buffer or "") + content
        buffer_depth = depth
        if not soft:
            emit(depth, buffer)
            buffer = None
    if buffer is not None:
        emit(buffer_depth, buffer)
    return "\n".join(out)
