"""Approvals: creating them, their signed references, who may decide, and waiting for one.

A reference looks like ``MR-K7Q2XD-3f9a1c2b0e``: ``MR``, the approval id (six
letters and digits that cannot be misread), and the first 10 hex digits of
HMAC-SHA256(key, id). The key is made on first use and kept in the keyring
(``PROFILE:approval.hmac_key``), so nobody who has not seen the request can
make up a reference that passes, and altering one character breaks it.

Status is stored as ``pending``, ``approved``, ``rejected`` or ``cancelled``;
``expired`` is computed when read (a pending approval past ``expires_at``), so
no job is needed to expire anything.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import quote

from mailrelay_cli.approvals import addresses
from mailrelay_cli.approvals.options import ApprovalOptions
from mailrelay_cli.config.records import Settings
from mailrelay_cli.errors import ConfigError, DataError, NotFoundError, Outcome, UsageError
from mailrelay_cli.store.interface import (
    ApprovalRow,
    ApprovalStatus,
    Decision,
    Store,
    StoreReader,
    Transaction,
)
from mailrelay_cli.store.times import iso, parse_iso, utcnow

if TYPE_CHECKING:
    from mailrelay_cli.approvals.fingerprint import Fingerprint

# An approval's status as read: the stored one, or "expired" once expires_at has passed.
Status = ApprovalStatus | Literal["expired"]
STATUSES: tuple[Status, ...] = ("pending", "approved", "rejected", "expired", "cancelled")
# No 0/O, 1/I/L, U: an id read aloud or retyped stays the same id.
ID_ALPHABET = "ABCDEFGHJKMNPQRSTVWXYZ23456789"
ID_LENGTH = 6
SIGNATURE_HEX = 10
HMAC_KEY_NAME = "approval.hmac_key"
REFERENCE_RE = re.compile(
    rf"\bMR-([{ID_ALPHABET}]{{{ID_LENGTH}}})-([0-9a-f]{{{SIGNATURE_HEX}}})\b", re.IGNORECASE
)
EVENT = "approval-requested"


def normalize_address(text: str) -> str | None:
    """The bare address of ``text``, its domain's ASCII letters lower-cased, or None."""
    return addresses.bare_address(text)


def same_address(a: str, b: str) -> bool:
    """One mailbox: IDNA A-label domain and local part, ASCII case only (``approvals.addresses``)."""
    return addresses.same_address(a, b)


@dataclass(frozen=True)
class Approval:
    """One approval as stored, with its effective status as of when it was read."""

    id: str
    reference: str
    title: str
    subject: str
    approvers: tuple[str, ...]
    required: int
    notify: tuple[str, ...]
    requested_by: str | None
    created_at: str
    expires_at: str
    status: Status
    decided_by: str | None
    decided_at: str | None
    comment: str | None
    approved_by: tuple[str, ...] = ()
    message_id: str | None = None  # of the request mail

    def is_approver(self, address: str | None) -> bool:
        return address is not None and any(same_address(address, a) for a in self.approvers)

    def to_json(self) -> dict[str, Any]:
        """The DESIGN.md ``approvals show`` / ``list`` object."""
        return {
            "id": self.id,
            "status": self.status,
            "subject": self.subject,
            "approvers": list(self.approvers),
            "created_at": self.created_at,
            "expires_at": self.expires_at,
            "decided_by": self.decided_by,
            "decided_at": self.decided_at,
            "comment": self.comment,
        }


@dataclass(frozen=True)
class ApprovalRequest:
    """What the approval-requested message needs to carry."""

    approval: Approval
    reference: str
    subject_tag: str  # "[MR-…]"
    subject: str
    reply_address: str
    mailto_approve: str
    mailto_reject: str
    instructions: str


def effective_status(stored: ApprovalStatus, expires_at: str, now: datetime | None = None) -> Status:
    if stored == "pending" and parse_iso(expires_at) <= (now or utcnow()):
        return "expired"
    return stored


def _from_row(row: ApprovalRow, approved_by: tuple[str, ...] = (), now: datetime | None = None) -> Approval:
    return Approval(
        id=row.id,
        reference=row.reference,
        title=row.title,
        subject=row.subject,
        approvers=row.approvers,
        required=row.required,
        notify=row.notify,
        requested_by=row.requested_by,
        created_at=row.created_at,
        expires_at=row.expires_at,
        status=effective_status(row.status, row.expires_at, now),
        decided_by=row.decided_by,
        decided_at=row.decided_at,
        comment=row.comment,
        approved_by=approved_by,
        message_id=row.message_id,
    )


# -- the signing key and references ------------------------------------------------------


def signing_key(profile: str, *, create: bool = True) -> bytes | None:
    """The HMAC key of ``profile`` (``auth.signing_key``: the same on every host), made on first use."""
    from mailrelay_cli.auth import signing_key as keys

    return keys.signing_key(profile, create=create)


def sign(key: bytes, approval_id: str) -> str:
    digest = hmac.new(key, approval_id.upper().encode("ascii"), hashlib.sha256).hexdigest()
    return digest[:SIGNATURE_HEX]


def make_reference(key: bytes, approval_id: str) -> str:
    return f"MR-{approval_id}-{sign(key, approval_id)}"


def verified_ids(key: bytes | None, text: str) -> list[str]:
    """Ids of every reference in ``text`` whose signature is right, in order, without repeats."""
    found: list[str] = []
    if key is None:
        return found
    for match in REFERENCE_RE.finditer(text or ""):
        approval_id, signature = match.group(1).upper(), match.group(2).lower()
        if hmac.compare_digest(sign(key, approval_id), signature) and approval_id not in found:
            found.append(approval_id)
    return found


def new_id() -> str:
    return "".join(secrets.choice(ID_ALPHABET) for _ in range(ID_LENGTH))


# -- creating ------------------------------------------------------------------------------


def _mailto(address: str, subject: str, word: str, reference: str) -> str:
    # The subject carries the reference; the body is just the word, so no comment is made up.
    body = word
    return f"mailto:{quote(address, safe='@')}?subject={quote(subject)}&body={quote(body)}"


def instructions(reference: str) -> str:
    return (
        "Reply to this message with APPROVE or REJECT on the first line.\n"
        "Anything you write below that line is kept as a comment.\n"
        f"Keep the reference {reference} in the subject or the quoted text."
    )


_TITLE_BREAK = re.compile("[\x00-\x08\x0a-\x1f\x7f-\x9f\u2028\u2029]")


def clean_title(title: str | None) -> str:
    """The title as it goes into the subject: runs of spaces and tabs made one space.

    CR, LF or NUL would inject a header, so they are a DataError (65) naming the
    variable, as for every other variable that reaches a header.
    """
    title = title or ""
    if _TITLE_BREAK.search(title):
        raise DataError(
            "variable title contains a line break or control character, which "
            "would break or inject a mail header",
            hint="remove CR/LF, VT, FF, NEL (U+0085), U+2028/U+2029 and control "
            'characters from --var title (or the payload\'s "title")',
        )
    return " ".join(title.split())


def create_approval(
    settings: Settings,
    store: Store,
    *,
    title: str,
    approvers: Iterable[str],
    required: int = 1,
    expires_in: float | None = None,
    notify: Iterable[str] = (),
    requested_by: str | None = None,
    message_id: str | None = None,
) -> ApprovalRequest:
    """Record a pending approval and return what the request message must carry."""
    title = clean_title(title)
    if not title:
        raise DataError(
            "approval-requested needs a title (what is to be approved)",
            hint='mailrelay send --event approval-requested --var title="Deploy 1.4"',
        )
    normalized: list[str] = []
    for raw in approvers:
        address = normalize_address(raw)
        if address is None:
            raise DataError(
                f"approver {raw!r} is not an email address",
                hint="pass each approver with --to alice@example.com",
            )
        if not any(same_address(address, a) for a in normalized):
            normalized.append(address)
    if not normalized:
        raise UsageError(
            "an approval needs at least one approver",
            hint="mailrelay send --event approval-requested --to alice@example.com …",
        )
    if required < 1 or required > len(normalized):
        raise UsageError(
            f"--required {required} needs between 1 and {len(normalized)} approvers "
            f"(there are {len(normalized)})",
            hint="give as many --to approvers as --required asks for",
        )
    notify_list: list[str] = []
    for raw in notify:
        address = normalize_address(raw)
        if address is None:
            raise DataError(
                f"--notify {raw!r} is not an email address",
                hint="mailrelay send … --notify requester@example.com",
            )
        notify_list.append(address)
    reply_address = settings.approval.reply_address or settings.smtp.from_address
    if not reply_address:
        raise settings_error()
    lifetime = settings.approval.expires_after if expires_in is None else expires_in
    if lifetime <= 0:
        raise UsageError("--expires-in must be longer than 0s", hint="--expires-in 72h")

    key = signing_key(settings.profile)
    assert key is not None
    now = utcnow()
    with store.transaction() as tx:
        while True:
            approval_id = new_id()
            if not tx.ever_issued(approval_id):  # ids are never reused
                break
        reference = make_reference(key, approval_id)
        subject = f"[{reference}] Approval requested: {title}"
        tx.insert_approval(
            id=approval_id,
            reference=reference,
            title=title,
            subject=subject,
            approvers=tuple(normalized),
            required=required,
            notify=tuple(notify_list),
            requested_by=requested_by,
            message_id=message_id,
            created_at=iso(now),
            expires_at=iso(now + timedelta(seconds=lifetime)),
        )
    approval = get_approval(store, approval_id)
    reply_subject = f"Re: {subject}"
    return ApprovalRequest(
        approval=approval,
        reference=reference,
        subject_tag=f"[{reference}]",
        subject=subject,
        reply_address=reply_address,
        mailto_approve=_mailto(reply_address, reply_subject, "APPROVE", reference),
        mailto_reject=_mailto(reply_address, reply_subject, "REJECT", reference),
        instructions=instructions(reference),
    )


def require_enabled(settings: Settings) -> None:
    """ConfigError unless ``approval.enabled`` (the page's "Enable Email Approval") is true."""
    from mailrelay_cli.errors import ConfigError

    if not settings.approval.enabled:
        if not settings.file_exists:  # lead with the missing file: the rest follows from it
            from mailrelay_cli.config.missing_file import missing_file_error

            raise missing_file_error(settings.path)
        raise ConfigError(
            f"approvals by email are off (approval.enabled is false in {settings.path})",
            hint="mailrelay config set approval.enabled true",
        )


def settings_error() -> Exception:
    from mailrelay_cli.errors import ConfigError

    return ConfigError(
        "approval.reply_address is not set (nor smtp.from)",
        hint="mailrelay config set approval.reply_address approvals@example.com",
    )


def set_message_id(store: Store, approval_id: str, message_id: str | None) -> None:
    """Remember the Message-ID of the request (replies' In-Reply-To point at it)."""
    with store.transaction() as tx:
        tx.set_approval_message_id(approval_id, message_id)


def keep_request_fingerprint(
    store: Store, approval_id: str, subject: str, text: str, html: str | None = None
) -> None:
    """Keep the fingerprint of the request as sent (``approvals.fingerprint``) with the approval:
    it is how a reply's quote of the request is told from the approver's own words."""
    from mailrelay_cli.approvals.fingerprint import make_fingerprint

    fingerprint = make_fingerprint(subject, text, html).dumps()
    with store.transaction() as tx:
        tx.set_request_fingerprint(approval_id, fingerprint)


def request_fingerprint(reader: StoreReader, approval_id: str) -> Fingerprint | None:
    """The fingerprint kept for the approval's request, or None (an approval asked before
    fingerprints were kept, or by another tool)."""
    from mailrelay_cli.approvals.fingerprint import Fingerprint

    return Fingerprint.loads(reader.request_fingerprint(approval_id))


def discard_approval(store: Store, approval_id: str) -> None:
    """Forget an approval whose request could not be sent (nobody can answer it)."""
    with store.transaction() as tx:
        tx.discard_pending_approval(approval_id)


# -- the approval-requested event (``outbound.sending.send`` calls ``prepare_request``) ------


@dataclass(frozen=True)
class ApprovalDraft:
    """What the approval-requested message carries, and how to take the approval back.

    ``forget`` (None in a dry run) removes the recorded approval: ``send`` calls it when
    the request could not be built or delivered, since nobody could answer it.
    ``remember`` (None in a dry run) keeps the fingerprint of the rendered request
    (subject, text, HTML) with the approval: ``send`` calls it once the message is rendered.
    """

    variables: Mapping[str, Any]
    reply_to: str
    headers: Mapping[str, str] = field(default_factory=dict)
    approval_id: str | None = None
    forget: Callable[[], None] | None = None
    remember: Callable[[str, str, str | None], None] | None = None


def _request_variables(request: ApprovalRequest) -> dict[str, Any]:
    approval = request.approval
    return {
        "title": approval.title,
        "approval_id": approval.id,
        "reference": request.reference,
        "approval_subject": request.subject,
        "reply_address": request.reply_address,
        "mailto_approve": request.mailto_approve,
        "mailto_reject": request.mailto_reject,
        "approvers": list(approval.approvers),
        "required": approval.required,
        "expires_at": approval.expires_at,
    }


def prepare_request(
    settings: Settings,
    variables: Mapping[str, Any],
    approvers: Sequence[str],
    message_id: str,
    options: ApprovalOptions,
    *,
    dry_run: bool,
) -> ApprovalDraft:
    """``approval-requested``: record the approval, and give the message its reference.

    ``approvers`` are the bare ``--to`` addresses; ``message_id`` is the one the request
    mail will carry. A dry run records nothing (its reference is not signed).
    """
    title = str(variables.get("title") or "")
    requested_by = variables.get("requested_by")
    if dry_run:
        # A dry run (also `events show`) records nothing, so it works with approvals off.
        request = _unsaved_request(settings, title, list(approvers), options.required, options.expires_in)
        return ApprovalDraft(variables=_request_variables(request), reply_to=request.reply_address)
    from mailrelay_cli.auth.store_access import open_state

    require_enabled(settings)
    with open_state(settings) as db:
        request = create_approval(
            settings,
            db,
            title=title,
            approvers=approvers,
            required=options.required,
            expires_in=options.expires_in,
            notify=options.notify,
            requested_by=str(requested_by) if requested_by else None,
            message_id=message_id,
        )

    def forget() -> None:
        # Nobody received the request, so nobody can answer it: do not leave it pending.
        with open_state(settings) as db:
            discard_approval(db, request.approval.id)

    def remember(subject: str, text: str, html: str | None) -> None:
        with open_state(settings) as db:
            keep_request_fingerprint(db, request.approval.id, subject, text, html)

    return ApprovalDraft(
        variables=_request_variables(request),
        headers={"X-Mailrelay-Approval": request.approval.id},
        reply_to=request.reply_address,
        approval_id=request.approval.id,
        forget=forget,
        remember=remember,
    )


def _unsaved_request(
    settings: Settings, title: str, approvers: list[str], required: int, expires_in: float | None
) -> ApprovalRequest:
    """What a dry run shows: the same message, an id that is never stored, no signature."""
    now = utcnow()
    lifetime = settings.approval.expires_after if expires_in is None else expires_in
    approval_id = new_id()
    reference = f"MR-{approval_id}-{'0' * SIGNATURE_HEX}"
    title = clean_title(title)
    subject = f"[{reference}] Approval requested: {title}"
    reply_address = settings.approval.reply_address or settings.smtp.from_address
    if not reply_address:
        raise settings_error()
    approval = Approval(
        approval_id,
        reference,
        title,
        subject,
        tuple(approvers),
        required,
        (),
        None,
        iso(now),
        iso(now + timedelta(seconds=lifetime)),
        "pending",
        None,
        None,
        None,
    )
    reply_subject = f"Re: {subject}"
    return ApprovalRequest(
        approval,
        reference,
        f"[{reference}]",
        subject,
        reply_address,
        _mailto(reply_address, reply_subject, "APPROVE", reference),
        _mailto(reply_address, reply_subject, "REJECT", reference),
        instructions(reference),
    )


# -- reading -------------------------------------------------------------------------------


def get_approval(store: Store, approval_id: str) -> Approval:
    """The approval ``approval_id`` (case-insensitive), or NotFoundError."""
    wanted = approval_id.strip().upper()
    if wanted.startswith("MR-"):
        wanted = wanted.split("-")[1]
    row = store.get_approval(wanted)
    if row is None:
        raise NotFoundError(
            f"no approval {approval_id!r} in {store.location}", hint="mailrelay approvals list"
        )
    return _from_row(row, store.approved_by(wanted))


def list_approvals(store: Store, status: str | None = None) -> list[Approval]:
    """Every approval, newest first; only those whose effective status is ``status`` if given."""
    if status is not None and status not in STATUSES:
        raise UsageError(f"unknown status {status!r}", hint="one of " + ", ".join(STATUSES))
    now = utcnow()
    approvals = [_from_row(row, now=now) for row in store.list_approvals()]
    return [a for a in approvals if status is None or a.status == status]


def cancel_approval(store: Store, approval_id: str) -> Approval:
    """Cancel a pending approval; DataError if it is already decided, cancelled or expired."""
    current = get_approval(store, approval_id)
    if current.status != "pending":
        raise DataError(
            f"approval {current.id} is already {current.status}",
            hint=f"mailrelay approvals show {current.id}",
        )
    with store.transaction() as tx:
        tx.cancel_approval(current.id, iso(utcnow()))
    return get_approval(store, current.id)


# -- deciding ------------------------------------------------------------------------------


@dataclass(frozen=True)
class VoteResult:
    """What one valid reply did: its outcome, and the approval when it became final."""

    # vote: counted, not yet deciding (--required N)
    outcome: Literal["approved", "rejected", "vote", "too-late"]
    decided: Approval | None  # set when this vote made the approval final
    approvals: int = 0  # approve votes so far, this one included ("vote": approvals of required)
    required: int = 1


def record_vote(
    tx: Transaction,
    approval: Approval,
    approver: str,
    decision: Decision,
    comment: str | None,
    audit_id: int | None,
) -> VoteResult:
    """Record ``approver``'s decision in ``tx`` (the caller's transaction).

    One reject rejects; ``required`` distinct approves approve. An approver who
    already voted, or a vote after the approval became final, is too late. An approve
    that does not yet reach ``required`` is the outcome ``vote`` (never ``approved``: an
    outcome says ``approved`` once per decision), with the count so far.
    """
    now = iso(utcnow())
    row = tx.get_approval(approval.id)
    if row is None or effective_status(row.status, row.expires_at) != "pending":
        return VoteResult("too-late", None)
    if tx.has_voted(approval.id, approver) or any(
        same_address(approver, earlier) for earlier in tx.approved_by(approval.id)
    ):
        return VoteResult("too-late", None)
    tx.record_vote(
        approval_id=approval.id,
        approver=approver,
        decision=decision,
        comment=comment,
        decided_at=now,
        audit_id=audit_id,
    )
    outcome: Literal["approved", "rejected"] = "approved" if decision == "approve" else "rejected"
    approvals_so_far = len(tx.approved_by(approval.id))
    final: ApprovalStatus | None = None
    if decision == "reject":
        final = "rejected"
    elif approvals_so_far >= approval.required:
        final = "approved"
    if final is None:
        return VoteResult("vote", None, approvals_so_far, approval.required)
    tx.decide_approval(approval.id, status=final, decided_by=approver, decided_at=now, comment=comment)
    decided_row = tx.get_approval(approval.id)
    assert decided_row is not None  # read inside the transaction that just updated it
    return VoteResult(
        outcome, _from_row(decided_row, tx.approved_by(approval.id)), approvals_so_far, approval.required
    )


def require_signing_key(profile: str) -> bytes:
    """The signing key, or ConfigError (78): a run that cannot verify references touches no mail."""
    from mailrelay_cli.auth import credentials

    key = signing_key(profile, create=False)
    if key is None:
        raise ConfigError(
            f"no approval signing key (keyring entry {credentials.SERVICE} "
            f"{credentials.entry_name(profile, 'approval.signing_key')}, or "
            f"{credentials.env_name(HMAC_KEY_NAME)}): replies cannot be verified, so none "
            "was read or deleted",
            hint="give this job the key the sending host uses: mailrelay secret export "
            "approval.signing_key on that host, then mailrelay secret set "
            f"approval.signing_key --stdin here (or export {credentials.env_name(HMAC_KEY_NAME)}"
            "=HEX, or the same PYTHON_KEYRING_BACKEND as `mailrelay send`)",
        )
    return key


def pending_by_id(reader: StoreReader, ids: Iterable[str]) -> dict[str, Approval]:
    """The approvals among ``ids`` that exist (any status)."""
    found: dict[str, Approval] = {}
    for approval_id in ids:
        row = reader.get_approval(approval_id)
        if row is not None:
            found[approval_id] = _from_row(row, reader.approved_by(approval_id))
    return found


# -- waiting -------------------------------------------------------------------------------


@dataclass(frozen=True)
class WaitResult:
    approval: Approval
    timed_out: bool

    @property
    def outcome(self) -> Outcome:
        """How the wait ended (``errors.exit_code_for`` makes it the DESIGN.md exit code)."""
        if self.timed_out:
            return "timed-out"
        status = self.approval.status
        # wait_for returns a pending approval only when it timed out
        return "timed-out" if status == "pending" else status


def wait_for(
    store: Store,
    approval_id: str,
    *,
    timeout: float | None = None,
    poll: float = 10.0,
    sleep: Callable[[float], None] | None = None,
    clock: Callable[[], float] = time.monotonic,
    on_poll: Callable[[Approval], None] | None = None,
) -> WaitResult:
    """Block until the approval is no longer pending (or ``timeout`` seconds pass).

    Between looks it waits in ``store.wait_for_decision``, which returns as soon as
    a decision commits (PostgreSQL NOTIFY; a short poll on SQLite), ``poll`` at most.
    ``on_poll`` sees the approval each time it is read (a live status line, in the CLI).
    """
    pause = sleep if sleep is not None else store.wait_for_decision
    if poll <= 0:
        raise UsageError("--poll must be longer than 0s", hint="--poll 10s")
    deadline = None if timeout is None else clock() + timeout
    while True:
        approval = get_approval(store, approval_id)
        if on_poll is not None:
            on_poll(approval)
        if approval.status != "pending":
            return WaitResult(approval, False)
        remaining = None if deadline is None else deadline - clock()
        if remaining is not None and remaining <= 0:
            return WaitResult(approval, True)
        until_expiry = (parse_iso(approval.expires_at) - utcnow()).total_seconds()
        step = min(poll, max(until_expiry, 0.0) + 0.01)
        if remaining is not None:
            step = min(step, remaining)
        pause(max(step, 0.0))
