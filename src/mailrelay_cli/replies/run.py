"""One ``process-replies`` run: lock, fetch, classify, commit, delete, then hooks and answers.

The order is what keeps decisions safe:

1. take the run lock (``Store.run_lock``, shared by every host on one store; an
   overlapping run exits 75);
2. read the oldest N messages (``reply_mailbox``);
3. classify each and, in ONE transaction per message, record its audit row and
   any vote, decision, hook and answer owed; the raw message is archived first;
4. only after that commit, delete the messages from the mailbox;
5. run the ``on_decision`` hooks owed and send the answers owed (both are rows
   in the store, so a failure here is retried next run and loses nothing).

A run that dies before 3 commits has decided nothing; one that dies between 3
and 4 finds the same messages next run, recognises them by mailbox +
UIDVALIDITY + UID (or, when they come back under a new UID, by SHA-256; a
Message-ID match alone is never a duplicate) and only deletes them, with the
outcome ``duplicate``. ``dry_run`` does the same work inside a transaction that
is rolled back, reads the folder read-only, and deletes, archives, runs and
sends nothing.

Failing closed: without the signing key, or without a store it can open and
write, a run exits 78 before it touches the mailbox. A reply whose reference
is signed with this key but names an approval this store never issued is left
in the mailbox, and the run ends with 78 naming the store.

One message never stops the others: each is parsed and judged inside its own
savepoint and guard, so any exception its content provokes (RecursionError
included) rolls back only that message's rows and records it ``unreadable``.
A store failure (78/75) is not content: it stops the run with nothing deleted.
"""

from __future__ import annotations

import hashlib
import shutil
import time
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any, Literal, cast, get_args

from mailrelay_cli.approvals import service as approvals
from mailrelay_cli.approvals.service import Approval
from mailrelay_cli.auth.store_access import open_state
from mailrelay_cli.config.records import Settings
from mailrelay_cli.errors import MailrelayError, StateError, TemporaryError, UnknownApprovalError
from mailrelay_cli.paths import write_private
from mailrelay_cli.replies.automatic import authentication_failed, automatic_kind
from mailrelay_cli.replies.body import body_text
from mailrelay_cli.replies.decision import decision
from mailrelay_cli.replies.headers import header_text, raw_headers, sender_address
from mailrelay_cli.replies.hooks import HookResult
from mailrelay_cli.replies.hooks import decision_id as hooks_decision_id
from mailrelay_cli.replies.parse import parse_message, unreadable_reason
from mailrelay_cli.replies.quotes import split_reply
from mailrelay_cli.replies.reference import find_reference
from mailrelay_cli.store import store_location
from mailrelay_cli.store.interface import (
    AuditOutcome,
    AuditRow,
    Decision,
    Store,
    StoreReader,
    Transaction,
)
from mailrelay_cli.store.times import utcnow

# A message's outcome (DESIGN.md, process-replies JSON); vote is an approve that does not decide
# yet (--required N).
ReplyOutcome = Literal[
    "approved",
    "rejected",
    "vote",
    "too-late",
    "expired",
    "not-an-approver",
    "unmatched",
    "no-decision",
    "auto-reply",
    "bounce",
    "unreadable",
    "duplicate",
]
OUTCOMES: tuple[ReplyOutcome, ...] = get_args(ReplyOutcome)
# Answers owed are worth at most this much of one run (an unreachable SMTP server must not
# hold the lock); what is left stays owed. A failed answer waits before its next attempt.
ANSWER_BUDGET_SECONDS = 20.0
ANSWER_BACKOFF_SECONDS = (60.0, 300.0, 900.0, 3600.0, 6 * 3600.0)
ARCHIVE_DIR = "archive"
# A run that finds the watcher (process-replies --watch) in a batch waits this long for it.
WATCHER_WAIT_SECONDS = 30.0


@dataclass(frozen=True)
class MessageResult:
    """What happened to one message (the DESIGN.md per-message JSON line)."""

    uid: str
    message_id: str | None
    sender: str | None
    subject: str | None
    outcome: AuditOutcome
    approval_id: str | None
    reason: str | None = None  # why it is unreadable, for -v (never in JSON: keys are pinned)
    # outcome "vote" (an approve that does not decide yet): approve votes so far, and required
    votes: tuple[int, int] | None = None

    @property
    def duplicate(self) -> bool:
        return self.outcome == "duplicate"

    def to_json(self) -> dict[str, Any]:
        line: dict[str, Any] = {
            "uid": self.uid,
            "message_id": self.message_id,
            "from": self.sender,
            "subject": self.subject,
            "outcome": self.outcome,
            "approval_id": self.approval_id,
        }
        if self.votes is not None:
            line["approvals"], line["required"] = self.votes
        return line

    def describe_outcome(self) -> str:
        """The outcome for people: a vote that does not decide yet reads ``1 of 2 approvals``."""
        if self.outcome == "vote" and self.votes is not None:
            return f"{self.votes[0]} of {self.votes[1]} approvals"
        return self.outcome


@dataclass(frozen=True)
class AnswerResult:
    """One short answer owed (too-late, decision notice): sent, or why not."""

    approval_id: str
    kind: str
    address: str
    ok: bool
    error: str | None


@dataclass(frozen=True)
class RunReport:
    messages: tuple[MessageResult, ...]
    read: int
    deleted: int
    left: int
    dry_run: bool = False
    hooks: tuple[HookResult, ...] = ()
    answers: tuple[AnswerResult, ...] = ()
    decided: tuple[Approval, ...] = field(default_factory=tuple)

    def summary(self) -> dict[str, int]:
        return {"read": self.read, "deleted": self.deleted, "left": self.left}

    def to_json(self) -> dict[str, Any]:
        """The DESIGN.md closing line of ``process-replies --json``."""
        return {"summary": self.summary()}

    def parts(self) -> tuple[MessageResult | RunReport, ...]:
        """The JSON lines of a run: each message, then the summary."""
        return (*self.messages, self)

    @property
    def failures(self) -> list[str]:
        """One line per thing that failed and is owed again next run."""
        lines = [
            f"on_decision hook for {h.approval_id} failed (attempt {h.attempts}): {h.error}"
            for h in self.hooks
            if not h.ok
        ]
        lines += [
            f"{a.kind} answer to {a.address} for {a.approval_id} not sent: {a.error}"
            for a in self.answers
            if not a.ok
        ]
        return lines

    def counts(self) -> dict[str, int]:
        counts = self.summary()
        for outcome in OUTCOMES:
            counts[outcome] = sum(1 for m in self.messages if m.outcome == outcome)
        return counts


# -- classification ------------------------------------------------------------------------


@dataclass(frozen=True)
class _Judged:
    outcome: AuditOutcome | Literal["left"]  # left: this store cannot judge it, keep the message
    approval: Approval | None
    sender: str | None
    decision: str | None = None
    comment: str | None = None
    never_issued: tuple[str, ...] = ()  # validly signed ids this store never issued


_SHOWN_CHARS = 998  # a header kept in the audit row and shown is cut at the RFC 5322 line limit


def _header(msg: EmailMessage | None, name: str) -> str | None:
    """A header for the audit row and the output: raw (Message-ID, Date) or decoded (Subject)."""
    if msg is None:
        return None
    if name == "Subject":
        text = header_text(msg, name)
    else:
        values = raw_headers(msg, name)
        text = values[0] if values else ""
    # Undeclared 8-bit bytes come back as surrogates, which no output or JSON can carry.
    text = text[:_SHOWN_CHARS].encode("utf-8", "replace").decode("utf-8")
    return " ".join(text.split()) or None


def _judge(settings: Settings, db: StoreReader, key: bytes | None, msg: EmailMessage) -> _Judged:
    sender = sender_address(msg)
    kind = automatic_kind(msg)
    body = body_text(msg)
    reference = find_reference(db, key, msg, body)
    if reference.never_issued:  # signed with our key, unknown here: the wrong store, not a forgery
        return _Judged("left", None, sender, never_issued=reference.never_issued)
    approval = reference.approval
    if kind is not None:
        # Reported with the approval it refers to (when the reference is valid); decides
        # nothing and gets no answer, whatever it says.
        return _Judged(kind, approval, sender)
    if approval is None:
        return _Judged("unmatched", None, sender)
    if not approval.is_approver(sender):
        return _Judged("not-an-approver", approval, sender)
    authserv = settings.approval.trusted_authserv_id
    if authserv and authentication_failed(msg, authserv):
        return _Judged("not-an-approver", approval, sender)
    if approval.status == "expired":
        return _Judged("expired", approval, sender)
    if approval.status != "pending":
        return _Judged("too-late", approval, sender)
    fingerprint = approvals.request_fingerprint(db, approval.id)
    new_text, _quoted = split_reply(body, fingerprint)
    decided = decision(new_text)
    if decided.kind is None:
        return _Judged("no-decision", approval, sender)
    return _Judged("vote", approval, sender, decided.kind, decided.comment or None)


def _parse(raw: bytes) -> tuple[EmailMessage, str | None]:
    """The message (perhaps its header only), and why it cannot be read (``unreadable``)."""
    msg = parse_message(raw)
    return msg, unreadable_reason(msg)


# -- the run -------------------------------------------------------------------------------


def _archive(state_dir: Path, raw: bytes, digest: str) -> str:
    day = utcnow().strftime("%Y-%m-%d")
    folder = state_dir / ARCHIVE_DIR / day
    path = folder / f"{digest}.eml"
    try:
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        if not path.exists():
            # No fsync: the archive is a copy for people; the message itself stays on the server
            # until the audit row (with its SHA-256) is committed.
            write_private(path, raw)
    except OSError as e:
        raise StateError(
            f"cannot archive a reply in {folder}: {e.strerror}",
            hint="free disk space in the state directory, or fix its permissions; nothing was deleted",
        ) from e
    return str(path)


def prune_archive(state_dir: Path, days: int) -> int:
    """Remove archived messages older than ``days`` (whole days); returns folders removed."""
    root = state_dir / ARCHIVE_DIR
    if not root.is_dir():
        return 0
    oldest_kept = (utcnow() - timedelta(days=days)).strftime("%Y-%m-%d")
    removed = 0
    for folder in root.iterdir():
        if folder.is_dir() and folder.name < oldest_kept:
            shutil.rmtree(folder, ignore_errors=True)
            removed += 1
    return removed


def _seen(
    tx: Transaction, mailbox: str, uidvalidity: int, uid: str, digest: str
) -> tuple[AuditRow, bool] | None:
    """The earlier audit row of this message, and whether it is the very same UID.

    Only the same UID (same UIDVALIDITY) or the same bytes make a duplicate: a mailing
    list's copy or a re-sent message shares the Message-ID of a reply that still counts.
    """
    row = tx.audit_by_uid(mailbox, uidvalidity, uid)
    if row is not None:
        return row, True
    row = tx.audit_by_sha256(digest)
    return (row, False) if row is not None else None


def _decision_payload(approval: Approval) -> dict[str, Any]:
    payload = approval.to_json()
    payload["decision_id"] = hooks_decision_id(approval)
    payload["approved_by"] = list(approval.approved_by)
    payload["reference"] = approval.reference
    return payload


@dataclass(frozen=True)
class _Recorded:
    """What recording one message did: its result, the approval it decided, or left in place."""

    result: MessageResult | None
    decided: Approval | None = None
    never_issued: tuple[str, ...] = ()  # set when the message is left in the mailbox


def _record_message(
    settings: Settings,
    tx: Transaction,
    key: bytes | None,
    mailbox_name: str,
    uidvalidity: int,
    fetched: Any,
    max_bytes: int,
    dry_run: bool,
) -> _Recorded:
    from mailrelay_cli.replies import hooks

    whole = fetched.raw if fetched.raw is not None else fetched.header
    digest = hashlib.sha256(whole).hexdigest()
    msg, unreadable = _parse(whole)
    message_id = _header(msg, "Message-ID")
    subject = _header(msg, "Subject")
    earlier = _seen(tx, mailbox_name, uidvalidity, fetched.uid, digest)
    if earlier is not None:
        row, same_uid = earlier
        result = MessageResult(
            fetched.uid,
            message_id or row.message_id,
            row.sender,
            subject or row.subject,
            "duplicate",
            row.approval_id,
        )
        if not same_uid:  # the same bytes under a new UID: kept as handled, decides nothing
            tx.add_audit(
                mailbox=mailbox_name,
                uidvalidity=uidvalidity,
                uid=fetched.uid,
                message_id=message_id,
                sender=row.sender,
                subject=subject,
                date=_header(msg, "Date"),
                outcome="duplicate",
                approval_id=row.approval_id,
                sha256=digest,
                size=fetched.size,
                archive_path=None,
                duplicate_of=row.duplicate_of or row.id,
            )
        return _Recorded(result)

    if fetched.raw is None or fetched.size > max_bytes:
        unreadable = f"over approval.max_message_kb ({fetched.size // 1024} KB)"
    if unreadable is not None:
        judged = _Judged("unreadable", None, sender_address(msg))
    else:
        judged = _judge(settings, tx, key, msg)
    if judged.outcome == "left":
        return _Recorded(None, never_issued=judged.never_issued)
    archive_path = None if dry_run else _archive(settings.state_dir, whole, digest)
    audit_id = tx.add_audit(
        mailbox=mailbox_name,
        uidvalidity=uidvalidity,
        uid=fetched.uid,
        message_id=message_id,
        sender=judged.sender,
        subject=subject,
        date=_header(msg, "Date"),
        outcome=judged.outcome,
        approval_id=judged.approval.id if judged.approval else None,
        sha256=digest,
        size=fetched.size,
        archive_path=archive_path,
    )
    outcome = judged.outcome
    decided = None
    votes = None
    if judged.outcome == "vote" and judged.approval is not None and judged.sender:
        vote = approvals.record_vote(
            tx,
            judged.approval,
            judged.sender,
            cast(Decision, judged.decision or ""),
            judged.comment,
            audit_id,
        )
        outcome = vote.outcome
        decided = vote.decided
        votes = (vote.approvals, vote.required) if outcome == "vote" else None
        tx.set_audit_outcome(audit_id, outcome)
        if decided is not None:
            if settings.approval.on_decision:
                hooks.queue_hook(tx, _decision_payload(decided))
            for address in decided.notify:
                tx.owe_answer(decided.id, "decision", address)
    if outcome == "too-late" and judged.approval is not None and judged.sender:
        tx.owe_answer(judged.approval.id, "too-late", judged.sender)
    result = MessageResult(
        fetched.uid,
        message_id,
        judged.sender,
        subject,
        outcome,
        judged.approval.id if judged.approval else None,
        unreadable,
        votes=votes,
    )
    return _Recorded(result, decided)


def _record_unreadable(
    settings: Settings,
    tx: Transaction,
    mailbox_name: str,
    uidvalidity: int,
    fetched: Any,
    dry_run: bool,
    reason: str,
) -> _Recorded:
    """The audit row of a message whose judging raised: nothing read from its content."""
    whole = fetched.raw if fetched.raw is not None else fetched.header
    digest = hashlib.sha256(whole).hexdigest()
    archive_path = None if dry_run else _archive(settings.state_dir, whole, digest)
    tx.add_audit(
        mailbox=mailbox_name,
        uidvalidity=uidvalidity,
        uid=fetched.uid,
        outcome="unreadable",
        sha256=digest,
        size=fetched.size,
        archive_path=archive_path,
    )
    return _Recorded(MessageResult(fetched.uid, None, None, None, "unreadable", None, reason))


def _record_guarded(
    settings: Settings,
    tx: Transaction,
    key: bytes | None,
    mailbox_name: str,
    uidvalidity: int,
    fetched: Any,
    max_bytes: int,
    dry_run: bool,
) -> _Recorded:
    """``_record_message`` in its own savepoint; content that makes it raise is ``unreadable``.

    A MailrelayError is the store or the disk (78/75), never the message: it ends the run.
    """
    try:
        with tx.savepoint():
            return _record_message(settings, tx, key, mailbox_name, uidvalidity, fetched, max_bytes, dry_run)
    except MailrelayError:
        raise
    except Exception as e:  # hostile content (RecursionError too): this message only, never the run
        reason = f"{type(e).__name__} while reading it: {str(e)[:200]}"
    with tx.savepoint():
        return _record_unreadable(settings, tx, mailbox_name, uidvalidity, fetched, dry_run, reason)


def process_replies(
    settings: Settings,
    *,
    count: int | None = None,
    dry_run: bool = False,
    transcript: Any = None,
    progress: Progress | None = None,
) -> RunReport:
    """One run (see the module docstring). Raises LockedError (75) when another run is going,
    ConfigError (78) without the signing key or a usable store, before any mail is read.

    ``progress(step, done, total)`` hears of the work as it goes (``total`` None while
    unknown); the CLI draws a progress bar from it, this never prints."""
    from mailrelay_cli.replies.mailbox import open_reply_mailbox

    approvals.require_enabled(settings)
    limit = settings.approval.count if count is None else count
    max_bytes = settings.approval.max_message_kb * 1024
    with (
        open_state(settings) as db,
        db.run_lock(settings.approval.lock_wait, mode="run", wait_for_watcher=WATCHER_WAIT_SECONDS),
    ):
        # A write before the mailbox is opened: a read-only or full store fails here.
        run_id = None if dry_run else db.record_run_start()
        try:
            key = approvals.require_signing_key(settings.profile)
            report = _run(
                settings,
                db,
                key,
                limit,
                max_bytes,
                dry_run,
                transcript,
                open_reply_mailbox,
                progress or _no_progress,
            )
        except MailrelayError as e:
            if run_id is not None:
                _record_failure(db, run_id, e.message)
            raise
        except BaseException:
            if run_id is not None:
                _record_failure(db, run_id, "interrupted or internal error")
            raise
        if run_id is not None:
            db.record_run_finish(run_id, "ok", report.counts(), "; ".join(report.failures) or None)
        return report


Progress = Callable[[str, int, int | None], None]


def _no_progress(step: str, done: int, total: int | None) -> None:
    return None


def _record_failure(db: Store, run_id: int, error: str) -> None:
    try:
        db.record_run_finish(run_id, "failed", {}, error)
    except MailrelayError:
        pass  # the store is what failed: the error being raised says so


def _run(
    settings: Settings,
    db: Store,
    key: bytes,
    limit: int,
    max_bytes: int,
    dry_run: bool,
    transcript: Any,
    open_reply_mailbox: Any,
    progress: Progress = _no_progress,
) -> RunReport:
    progress("reading the reply folder", 0, None)
    with open_reply_mailbox(settings, readonly=dry_run, transcript=transcript) as mailbox:
        return process_batch(
            settings,
            db,
            mailbox,
            limit=limit,
            max_bytes=max_bytes,
            dry_run=dry_run,
            key=key,
            progress=progress,
        )


def process_batch(
    settings: Settings,
    db: Store,
    mailbox: Any,
    *,
    limit: int,
    max_bytes: int,
    dry_run: bool = False,
    should_stop: Callable[[], bool] | None = None,
    key: bytes | None = None,
    progress: Progress = _no_progress,
) -> RunReport:
    """Steps 2 to 5 on an open mailbox: the one code path of a cron run and of ``--watch``.

    The caller holds the run lock. ``should_stop`` (a stop was asked for, e.g. SIGTERM to the
    watcher) is checked before each message: the messages judged so far are committed and
    deleted, the rest stay in the mailbox untouched, and the hooks and answers owed are left
    for the next run. ``progress(step, done, total)`` hears of the work as it goes.
    """
    from mailrelay_cli.replies import hooks

    results: list[MessageResult] = []
    decided: list[Approval] = []
    processed: list[str] = []
    never_issued: dict[str, None] = {}
    looked = 0  # messages judged (or left in place) before any stop
    if key is None:  # fail closed: without the key nothing can be judged, so nothing is read
        key = approvals.require_signing_key(settings.profile)
    fetched = mailbox.fetch_oldest(limit, max_bytes)
    try:
        # A transaction per message, committed before anything is deleted; a dry run uses one
        # for them all, rolled back at the end, so its outcomes are the same.
        with db.transaction() if dry_run else nullcontext() as dry_tx:
            for number, message in enumerate(fetched):
                progress("judging replies", number, len(fetched))
                if should_stop is not None and looked and should_stop():
                    break
                looked += 1
                with nullcontext(dry_tx) if dry_tx is not None else db.transaction() as tx:
                    recorded = _record_guarded(
                        settings, tx, key, mailbox.name, mailbox.uidvalidity, message, max_bytes, dry_run
                    )
                if recorded.result is None:
                    never_issued.update(dict.fromkeys(recorded.never_issued))
                    continue  # left in the mailbox: this store cannot judge it
                processed.append(message.uid)
                results.append(recorded.result)
                if recorded.decided is not None:
                    decided.append(recorded.decided)
            if dry_run:
                # Same work, same outcomes, nothing kept: leaving by an exception rolls back.
                raise _DryRunDone
    except _DryRunDone:
        pass
    if not dry_run:
        progress("deleting what was processed", len(processed), len(processed))
        mailbox.delete(processed)
    deleted = 0 if dry_run else len(processed)
    left = max(mailbox.total - deleted, 0)
    hook_results: list[HookResult] = []
    answers: list[AnswerResult] = []
    stopping = should_stop is not None and should_stop()
    if not dry_run and not stopping:
        hook_results = hooks.run_owed_hooks(db, settings.approval.on_decision, progress=progress)
        progress("sending answers", 0, None)
        answers = send_owed_answers(settings, db)
        prune_archive(settings.state_dir, settings.approval.archive_days)
    if never_issued:
        raise _never_issued_error(settings, db, list(never_issued), looked - len(processed))
    return RunReport(
        tuple(results), looked, deleted, left, dry_run, tuple(hook_results), tuple(answers), tuple(decided)
    )


def _never_issued_error(settings: Settings, db: Store, ids: list[str], left: int) -> UnknownApprovalError:
    where = db.location or store_location(settings)
    shown = ", ".join(ids[:5]) + (f" and {len(ids) - 5} more" if len(ids) > 5 else "")
    return UnknownApprovalError(
        f"{left} repl{'y' if left == 1 else 'ies'} left in the mailbox: signed with this key for "
        f"approval{'s' if len(ids) > 1 else ''} {shown}, which the state store {where} never "
        "issued",
        hint="point this job at the store that sent the requests (state.path or state.url in "
        "mailrelay config show, the same as `mailrelay send` uses), then run it again",
    )


class _DryRunDone(Exception):
    """Leaves the dry run's transaction so it is rolled back."""


# -- answers -------------------------------------------------------------------------------


def _answer_text(kind: str, approval: Approval) -> tuple[str, str]:
    if kind == "too-late" and approval.status == "pending":  # a second answer to N-of-M
        return (
            f"Re: {approval.subject}",
            f"You have already answered approval {approval.id} ({approval.title}); "
            "your first answer counts.\nThis one was recorded but changed nothing. "
            "The approval is still waiting for other approvers.\n",
        )
    if kind == "too-late":
        subject = f"Re: {approval.subject}"
        when = f" at {approval.decided_at}" if approval.decided_at else ""
        by = f" by {approval.decided_by}" if approval.decided_by else ""
        text = (
            f"Your reply arrived too late: approval {approval.id} ({approval.title}) "
            f"was already {approval.status}{by}{when}.\n"
            "Your answer was recorded but changed nothing.\n"
        )
        return subject, text
    subject = f"[{approval.reference}] {approval.status.capitalize()}: {approval.title}"
    text = f"Approval {approval.id} ({approval.title}) was {approval.status}"
    text += f" by {approval.decided_by}" if approval.decided_by else ""
    text += f" at {approval.decided_at}.\n" if approval.decided_at else ".\n"
    if approval.comment:
        text += f"\nComment:\n{approval.comment}\n"
    return subject, text


def _backoff(attempts: int) -> float:
    return ANSWER_BACKOFF_SECONDS[min(max(attempts - 1, 0), len(ANSWER_BACKOFF_SECONDS) - 1)]


def send_owed_answers(
    settings: Settings, db: Store, *, budget: float = ANSWER_BUDGET_SECONDS, clock: Any = time.monotonic
) -> list[AnswerResult]:
    """Send each answer owed and due, at most once per address, kind and approval.

    Each is claimed (marked ``sending``, committed) before it is sent, so a run killed
    mid-send never sends it again. A failure stays owed and waits (1 min, 5 min, 15 min,
    1 h, then 6 h) before its next attempt. The run stops sending when the server proves
    unreachable (a temporary error) or ``budget`` seconds are spent; the rest stay owed.
    """
    from mailrelay_cli.outbound import delivery
    from mailrelay_cli.outbound.message import build_message, parse_address

    owed = db.owed_answers()
    if not owed:
        return []
    # An answer is not worth holding up a cron run for: one attempt per run, no retry loop.
    quick = settings._replace(smtp=settings.smtp._replace(retry_for=0.0))
    started = clock()
    results = []
    for answer in owed:
        if clock() - started >= budget:
            break
        with db.transaction() as tx:
            if not tx.claim_answer(answer.id):
                continue  # another run has it (or sent it)
        approval = approvals.get_approval(db, answer.approval_id)
        subject, text = _answer_text(answer.kind, approval)
        error = None
        unreachable = False
        try:
            built = build_message(
                sender=parse_address(settings.require("smtp.from"), "smtp.from"),
                to=[parse_address(answer.address, "answer")],
                # build_message marks it Auto-Submitted (RFC 3834): responders will not answer.
                subject=subject,
                text=text,
            )
            delivery.deliver(quick, built)
        except TemporaryError as e:
            error, unreachable = e.message, True
        except MailrelayError as e:
            error = e.message
        retry_in = None if error is None else _backoff(answer.attempts + 1)
        with db.transaction() as tx:
            tx.answer_attempted(answer.id, error, retry_in)
        results.append(AnswerResult(answer.approval_id, answer.kind, answer.address, error is None, error))
        if unreachable:
            break  # the next one would wait out the same timeout
    return results
