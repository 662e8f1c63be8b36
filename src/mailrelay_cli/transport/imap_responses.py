"""IMAP on the wire, parsed and built: responses read and arguments written, with no socket and no settings.

The one place for both IMAP users: ``transport.imap`` (capabilities, SELECT,
LIST, folder names) and ``replies.mailbox`` (FETCH answers, UID sets,
UIDVALIDITY). Input is what imaplib hands back: lists of ``bytes`` lines and
``(head, literal)`` tuples. Folder names are Unicode here and modified UTF-7
(RFC 3501 5.1.3), quoted, on the wire.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

_LIST_LINE = re.compile(rb'^\((?P<flags>[^)]*)\) (?P<delim>"(?:[^"\\]|\\.)*"|NIL) (?P<name>.*)$')
_UID = re.compile(rb"\bUID (\d+)")
_SIZE = re.compile(rb"\bRFC822\.SIZE (\d+)")


@dataclass(frozen=True)
class FetchItem:
    """One message of a FETCH answer: its UID and RFC822.SIZE when sent, and its literal."""

    uid: str | None
    size: int | None
    literal: bytes | None


def response_text(value: Any) -> str:
    """The words of a server answer or imaplib error, on one line, for an error message."""
    if isinstance(value, list | tuple):
        value = b" ".join(v if isinstance(v, bytes) else str(v).encode() for v in value)
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    text = str(value)
    # imaplib formats some errors as "command X => b'...'" or str(list): keep only the words.
    for prefix in ("b'", 'b"'):
        if text.startswith(prefix) and text.endswith(prefix[-1]):
            text = text[2:-1]
    return " ".join(text.split())


# -- capabilities and SELECT ---------------------------------------------------------------


def capability_names(items: Iterable[Any]) -> tuple[str, ...]:
    """Capability names (upper case, sorted) from imaplib's ``capabilities`` or a CAPABILITY answer."""
    words: list[str] = []
    for item in items:
        if item is None:
            continue
        text = item.decode("utf-8", "replace") if isinstance(item, bytes) else str(item)
        words.extend(word.upper() for word in text.split())
    return tuple(sorted(words))


def select_count(data: Sequence[Any]) -> int:
    """The message count of a successful SELECT/EXAMINE answer (0 when the server sent none)."""
    try:
        return int(data[0] or 0)
    except (TypeError, ValueError):
        return 0


def uidvalidity(untagged: Mapping[str, Sequence[Any]]) -> int:
    """The folder's UIDVALIDITY from imaplib's untagged responses after SELECT (0 if none)."""
    validity = untagged.get("UIDVALIDITY") or [b"0"]
    return int(validity[-1])


# -- folder names --------------------------------------------------------------------------


def quote_mailbox(name: str) -> str:
    """An IMAP quoted string (imaplib sends mailbox names as they are)."""
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def encode_folder(name: str) -> str:
    """``name`` in IMAP modified UTF-7, quoted for a command line."""
    out: list[str] = []
    pending: list[str] = []

    def flush() -> None:
        if pending:
            raw = "".join(pending).encode("utf-16-be")
            out.append("&" + base64.b64encode(raw).decode().rstrip("=").replace("/", ",") + "-")
            pending.clear()

    for char in name:
        if 0x20 <= ord(char) <= 0x7E:
            flush()
            out.append("&-" if char == "&" else char)
        else:
            pending.append(char)
    flush()
    return quote_mailbox("".join(out))


def decode_folder(raw: bytes | str) -> str:
    """A folder name from the server (maybe quoted, modified UTF-7) as Unicode."""
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
    if len(text) >= 2 and text.startswith('"') and text.endswith('"'):
        text = re.sub(r"\\(.)", r"\1", text[1:-1])

    def shift(match: re.Match[str]) -> str:
        body = match.group(1)
        if not body:
            return "&"
        padded = body.replace(",", "/") + "=" * (-len(body) % 4)
        try:
            return base64.b64decode(padded).decode("utf-16-be")
        except (ValueError, UnicodeDecodeError):
            return match.group(0)

    return re.sub(r"&([^-]*)-", shift, text)


def selectable_folders(data: Iterable[Any]) -> list[str]:
    """Every selectable folder of a LIST answer, as Unicode names, in the server's order."""
    names: list[str] = []
    for item in data:
        if item is None:
            continue
        if isinstance(item, tuple):  # the name came as a literal
            head, literal = item[0], item[1]
            match = _LIST_LINE.match(head.rsplit(b" {", 1)[0] + b" x")
            flags = match.group("flags") if match else b""
            name = literal.decode("utf-8", "replace")
        else:
            match = _LIST_LINE.match(item)
            if match is None:
                continue
            flags = match.group("flags")
            name = decode_folder(match.group("name"))
        if b"\\NOSELECT" in flags.upper() or b"\\NONEXISTENT" in flags.upper():
            continue
        names.append(name)
    return names


# -- FETCH ---------------------------------------------------------------------------------


def fetch_items(data: list[Any]) -> Iterator[FetchItem]:
    """Each message of a FETCH answer, with the UID and size found wherever the server put them.

    imaplib gives ``(b'1 (UID 5 … {123}', literal)`` followed by ``b' …)'`` for what
    came after the literal; both halves are read together.
    """
    index = 0
    while index < len(data):
        item = data[index]
        text: bytes | None = None
        literal: bytes | None = None
        if isinstance(item, tuple):
            text, literal = item[0], item[1]
            if index + 1 < len(data) and isinstance(data[index + 1], bytes):
                text += b" " + data[index + 1]
                index += 1
        elif isinstance(item, bytes) and item.strip() not in (b"", b")"):
            text = item
        index += 1
        if text is None:
            continue
        uid, size = _UID.search(text), _SIZE.search(text)
        yield FetchItem(
            uid.group(1).decode() if uid else None,
            int(size.group(1)) if size else None,
            literal,
        )


def uid_set(uids: Sequence[str]) -> str:
    """``1:3,7`` for 1, 2, 3, 7: keeps the command short whatever the count."""
    numbers = sorted({int(uid) for uid in uids})
    parts: list[str] = []
    start = prev = numbers[0]
    for number in numbers[1:]:
        if number == prev + 1:
            prev = number
            continue
        parts.append(f"{start}:{prev}" if prev != start else str(start))
        start = prev = number
    parts.append(f"{start}:{prev}" if prev != start else str(start))
    return ",".join(parts)
