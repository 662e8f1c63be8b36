"""One message as a mailbox hands it over, whatever the mailbox (IMAP, Maildir, Graph)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FetchedMessage:
    """One message: ``raw`` is None when it is over the size limit (judge the header only)."""

    uid: str
    size: int
    header: bytes
    raw: bytes | None
