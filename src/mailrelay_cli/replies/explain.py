"""``mailrelay replies explain FILE.eml``: how one message would be read, step by step.

It runs the same steps as ``process-replies`` on one saved message (the
archive keeps every message a run read, under ``state.path/archive/``) and
says what each found: whether the message is automatic or unreadable, which
signed reference it carries and which approval that is, which body part was
read, the new text, the decision line, the comment, and where the quote starts
and why (request fingerprint match, header block, attribution, language rule,
signature). It records, deletes and sends nothing; it reads the state store
only if it already exists, and the signing key only if one is kept.
"""

from __future__ import annotations

from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from mailrelay_cli.approvals import service as approvals
from mailrelay_cli.approvals.fingerprint import Fingerprint
from mailrelay_cli.config.records import Settings
from mailrelay_cli.errors import DataError, MailrelayError
from mailrelay_cli.replies.automatic import automatic_kind
from mailrelay_cli.replies.body import body_text, reference_text
from mailrelay_cli.replies.decision import decision
from mailrelay_cli.replies.headers import header_text, sender_address
from mailrelay_cli.replies.parse import parse_message, unreadable_reason
from mailrelay_cli.replies.quotes import ReplySplit, analyse_reply
from mailrelay_cli.replies.reference import find_reference

MAX_FILE_BYTES = 50 * 1024 * 1024


@dataclass(frozen=True)
class Explanation:
    """How one message is read (see the module doc). Line numbers are 1-based body lines."""

    path: str
    sender: str | None
    subject: str | None
    unreadable: str | None
    automatic: str | None
    approval_id: str | None
    reference_note: str
    fingerprint: bool
    split: ReplySplit | None
    decision: str | None
    decision_line: int | None
    comment: str

    @property
    def quote_start(self) -> int | None:
        start = self.split.quote_start if self.split else None
        return None if start is None else start + 1

    def to_json(self) -> dict[str, Any]:
        split = self.split
        return {
            "file": self.path,
            "from": self.sender,
            "subject": self.subject,
            "unreadable": self.unreadable,
            "automatic": self.automatic,
            "approval_id": self.approval_id,
            "reference": self.reference_note,
            "fingerprint": self.fingerprint,
            "new_text": split.new_text if split else "",
            "decision": self.decision,
            "decision_line": self.decision_line,
            "comment": self.comment,
            "quote_start": self.quote_start,
            "quote_reason": split.quote_reason if split else None,
            "steps": [
                {"line": note.line + 1, "rule": note.rule, "detail": note.detail}
                for note in (split.notes if split else ())
            ],
            "lines": len(split.lines) if split else 0,
        }


def _read(path: Path) -> bytes:
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise DataError(
                f"{path} is {size // (1024 * 1024)} MB, larger than a reply can be",
                hint="give one saved message (.eml)",
            )
        return path.read_bytes()
    except OSError as e:
        raise DataError(
            f"cannot read {path}: {e.strerror or e}", hint="give the path of one saved message (.eml)"
        ) from e


def _approval_and_fingerprint(
    settings: Settings | None, msg: EmailMessage, body: str
) -> tuple[str | None, Fingerprint | None, str]:
    """The approval a message refers to, its fingerprint, and a note on how it was found.

    The approval is the one ``process-replies`` would choose (``reference.find_reference``).
    """
    from mailrelay_cli.auth.store_access import open_state
    from mailrelay_cli.store import store_exists

    if settings is None:
        return None, None, "no settings: references not checked, no request fingerprint"
    try:
        key = approvals.signing_key(settings.profile, create=False)
    except MailrelayError as e:
        return None, None, f"signing key not readable ({e.message}): references not checked"
    if key is None:
        return None, None, "no signing key kept: references not checked"
    ids = approvals.verified_ids(key, reference_text(msg, body))
    if not ids:
        return None, None, "no reference signed with this key"
    if not store_exists(settings):
        return ids[0], None, f"reference to {ids[0]}; no state store yet, so no fingerprint"
    with open_state(settings) as db:
        found = find_reference(db, key, msg, body)
        chosen = found.chosen
        fingerprint = approvals.request_fingerprint(db, chosen) if chosen else None
    if found.never_issued:
        unknown = found.never_issued[0]
        return unknown, None, f"reference to {unknown}, an approval this store never held"
    if chosen is None:  # issued here once, its row since removed
        return ids[0], None, f"reference to {ids[0]}, an approval this store no longer holds"
    kept = "its request fingerprint is kept" if fingerprint else "no request fingerprint kept"
    return chosen, fingerprint, f"reference to approval {chosen}; {kept}"


def explain_file(settings: Settings | None, path: Path) -> Explanation:
    """Explain how ``path`` (one message) is read; ``settings`` None skips the store."""
    msg = parse_message(_read(path))
    unreadable = unreadable_reason(msg)
    if unreadable is not None:
        return Explanation(str(path), None, None, unreadable, None, None, "", False, None, None, None, "")
    sender = sender_address(msg)
    subject = " ".join(header_text(msg, "Subject").split()) or None
    body = body_text(msg)
    approval_id, fingerprint, note = _approval_and_fingerprint(settings, msg, body)
    split = analyse_reply(body, fingerprint)
    decided = decision(split.new_text)
    line = None
    if decided.kind is not None:
        first = next(text for text in split.new_text.split("\n") if text.strip())
        line = next((i + 1 for i, text in enumerate(split.lines) if text.rstrip() == first), None)
    return Explanation(
        str(path),
        sender,
        subject,
        None,
        automatic_kind(msg),
        approval_id,
        note,
        fingerprint is not None,
        split,
        decided.kind,
        line,
        decided.comment,
    )
