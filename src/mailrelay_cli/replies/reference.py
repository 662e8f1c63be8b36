"""Which approval a reply refers to: the step ``process-replies`` and ``replies explain`` share.

Only references signed with this host's key count (``approvals.verified_ids``);
among those the store holds, the reply's threading headers choose, else the
first. A reply whose references are all unknown to the store is told apart:
ids this store never issued mean the wrong store, not a forgery.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from email.message import EmailMessage

from mailrelay_cli.approvals import service as approvals
from mailrelay_cli.approvals.service import Approval
from mailrelay_cli.replies.body import reference_text
from mailrelay_cli.replies.headers import threading_ids
from mailrelay_cli.store.interface import StoreReader


@dataclass(frozen=True)
class Reference:
    """The approvals a message refers to, as far as this store knows them."""

    ids: tuple[str, ...]  # references signed with the key, in order, without repeats
    found: dict[str, Approval] = field(default_factory=dict)  # those the store holds (any status)
    chosen: str | None = None  # the one the message answers (one of ``found``)
    never_issued: tuple[str, ...] = ()  # set only when none is held: ids this store never issued

    @property
    def approval(self) -> Approval | None:
        return self.found[self.chosen] if self.chosen else None


def choose(ids: Iterable[str], found: dict[str, Approval], threading: Iterable[str]) -> str | None:
    """Which referenced approval a reply answers: the one its threading points at, else the first.

    Threading headers only choose among references that were already verified.
    """
    known = [i for i in ids if i in found]
    if not known:
        return None
    wanted = {t.strip("<>").lower() for t in threading}
    for approval_id in known:
        message_id = found[approval_id].message_id
        if message_id and message_id.strip("<>").lower() in wanted:
            return approval_id
    return known[0]


def find_reference(reader: StoreReader, key: bytes | None, msg: EmailMessage, body: str) -> Reference:
    """The approval ``msg`` (whose ``body_text`` is ``body``) refers to, read from ``reader``."""
    ids = approvals.verified_ids(key, reference_text(msg, body))
    found = approvals.pending_by_id(reader, ids)
    if ids and not found:
        never = tuple(i for i in ids if not reader.ever_issued(i))
        if never:  # signed with our key, unknown here: the wrong store, not a forgery
            return Reference(tuple(ids), found, None, never)
    return Reference(tuple(ids), found, choose(ids, found, threading_ids(msg)))
