"""One ``process-replies`` run: lock, fetch, classify, commit, delete, then hooks and answers.

The order is what keeps decisions safe:

1. take the run lock (``store.run_lock``; an overlapping run exits 75);
2. read the oldest N messages (``reply_mailbox``);
3. classify each and, in ONE transaction, record its audit row and any vote,
   decision, hook and answer owed; the raw message is archived first;
4. only after that commit, delete the messages from the mailbox;
5. run the ``on_decision`` hooks owed and send the answers owed (both are rows
   in the store, so a failure here is retried next run and loses nothing).

A run that dies before 3 commits has decided nothing; one that dies between 3
and 4 finds the same messages next run, recognises them by mailbox +
UIDVALIDITY + UID (or, when they come back under a new UID, by SHA-256 or
Message-ID) and only deletes them. ``dry_run`` does the same work inside a
transaction that is rolled back, reads the folder read-only, and deletes,
archives, runs and sends nothing.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any, cast

from mailrelay_cli.approvals import service as approvals
from mailrelay_cli.approvals.service import Approval
from mailrelay_cli.config.records import Settings
from mailrelay_cli.errors import MailrelayError
from mailrelay_cli.replies.automatic import authentication_failed, automatic_kind
from mailrelay_cli.replies.body import body_text, reference_text
from mailrelay_cli.replies.decision import decision
from mailrelay_cli.replies.headers import sender_address, threading_ids
from mailrelay_cli.replies.hooks import HookResult
from mailrelay_cli.replies.parse import parse_message, unreadable_reason
from mailrelay_cli.replies.quotes import split_reply
from mailrelay_cli.store import open_store
from mailrelay_cli.store.interface import AuditRow, Decision, Store, StoreReader, Transaction
from mailrelay_cli.store.lock import run_lock
from mailrelay_cli.store.times import utcnow

OUTCOMES = ("approved", "rejected", "too-late", "expired", "not-an-approver", "unmatched",
            "no-decision", "auto-reply", "bounce", "unreadable")
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
    outcome: str
    approval_id: str | None
    duplicate: bool = False

    def as_json(self) -> dict[str, Any]:
        return {"uid": self.uid, "message_id": self.message_id, "from": self.sender,
                "subject": self.subject, "outcome": self.outcome,
                "approval_id": self.approval_id}


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

    @property
    def failures(self) -> list[str]:
        """One line per thing that failed and is owed again next run."""
        lines = [f"on_decision hook for {h.approval_id} failed (attempt {h.attempts}): {h.error}"
                 for h in self.hooks if not h.ok]
        lines += [f"{a.kind} answer to {a.address} for {a.approval_id} not sent: {a.error}"
                  for a in self.answers if not a.ok]
        return lines

    def counts(self) -> dict[str, int]:
        counts = self.summary()
        for outcome in OUTCOMES:
            counts[outcome] = sum(1 for m in self.messages if m.outcome == outcome)
        return counts


# -- classification ------------------------------------------------------------------------

@dataclass(frozen=True)
class _Judged:
    outcome: str
    approval: Approval | None
    sender: str | None
    decision: str | None = None
    comment: str | None = None


def _header(msg: EmailMessage | None, name: str) -> str | None:
    if msg is None:
        return None
    try:
        value = msg.get(name)
    except (ValueError, LookupError, TypeError, AttributeError):
        return None
    if value is None:
        return None
    # Undeclared 8-bit bytes come back as surrogates, which no output or JSON can carry.
    text = str(value).encode("utf-8", "replace").decode("utf-8")
    return " ".join(text.split()) or None


def _choose(ids: list[str], found: dict[str, Approval], threading: Iterable[str]) -> str | None:
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


def _judge(settings: Settings, db: StoreReader, key: bytes | None, msg: EmailMessage) -> _Judged:
    sender = sender_address(msg)
    sender = approvals.normalize_address(sender) if sender else None
    kind = automatic_kind(msg)
    ids = approvals.verified_ids(key, reference_text(msg))
    found = approvals.pending_by_id(db, ids)
    chosen = _choose(ids, found, threading_ids(msg))
    if kind is not None:
        # Reported with the approval it refers to (when the reference is valid); decides
        # nothing and gets no answer, whatever it says.
        return _Judged(kind, found[chosen] if chosen else None, sender)
    if chosen is None:
        return _Judged("unmatched", None, sender)
    approval = found[chosen]
    if not approval.is_approver(sender):
        return _Judged("not-an-approver", approval, sender)
    authserv = settings.approval.trusted_authserv_id
    if authserv and authentication_failed(msg, authserv):
        return _Judged("not-an-approver", approval, sender)
    if approval.status == "expired":
        return _Judged("expired", approval, sender)
    if approval.status != "pending":
        return _Judged("too-late", approval, sender)
    new_text, _quoted = split_reply(body_text(msg))
    decided = decision(new_text)
    if decided.kind is None:
        return _Judged("no-decision", approval, sender)
    return _Judged("vote", approval, sender, decided.kind, decided.comment or None)


def _parse(raw: bytes) -> EmailMessage | None:
    """The message, or None when it cannot be read at all (outcome ``unreadable``)."""
    msg = parse_message(raw)
    return None if unreadable_reason(msg) else msg


# -- the run -------------------------------------------------------------------------------

def _archive(state_dir: Path, raw: bytes, digest: str) -> str:
    day = utcnow().strftime("%Y-%m-%d")
    folder = state_dir / ARCHIVE_DIR / day
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = folder / f"{digest}.eml"
    if not path.exists():
        tmp = path.with_suffix(".tmp")
        # No fsync: the archive is a copy for people; the message itself stays on the server
        # until the audit row (with its SHA-256) is committed.
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(raw)
        os.replace(tmp, path)
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


def _seen(tx: Transaction, mailbox: str, uidvalidity: int, uid: str, digest: str,
          message_id: str | None) -> tuple[AuditRow, bool] | None:
    """The earlier audit row of this message, and whether it is the very same UID."""
    row = tx.audit_by_uid(mailbox, uidvalidity, uid)
    if row is not None:
        return row, True
    row = tx.audit_by_sha256(digest)
    if row is None and message_id:
        row = tx.audit_by_message_id(message_id)
    return (row, False) if row is not None else None


def _decision_payload(approval: Approval) -> dict[str, Any]:
    payload = approval.as_json()
    payload["approved_by"] = list(approval.approved_by)
    payload["reference"] = approval.reference
    return payload


def _record_message(settings: Settings, tx: Transaction, key: bytes | None, mailbox_name: str,
                    uidvalidity: int, fetched: Any, max_bytes: int,
                    dry_run: bool) -> tuple[MessageResult, Approval | None]:
    from mailrelay_cli.replies import hooks

    whole = fetched.raw if fetched.raw is not None else fetched.header
    digest = hashlib.sha256(whole).hexdigest()
    msg = _parse(whole)
    message_id = _header(msg, "Message-ID")
    subject = _header(msg, "Subject")
    earlier = _seen(tx, mailbox_name, uidvalidity, fetched.uid, digest, message_id)
    if earlier is not None:
        row, same_uid = earlier
        result = MessageResult(fetched.uid, message_id or row.message_id, row.sender,
                               subject or row.subject, row.outcome, row.approval_id,
                               duplicate=True)
        if not same_uid:
            tx.add_audit(mailbox=mailbox_name, uidvalidity=uidvalidity, uid=fetched.uid,
                         message_id=message_id, sender=row.sender, subject=subject,
                         date=_header(msg, "Date"), outcome=row.outcome,
                         approval_id=row.approval_id, sha256=digest, size=fetched.size,
                         archive_path=None, duplicate_of=row.id)
        return result, None

    if msg is None or fetched.raw is None or fetched.size > max_bytes:
        sender = sender_address(msg) if msg is not None else None
        judged = _Judged("unreadable", None, approvals.normalize_address(sender or ""))
    else:
        judged = _judge(settings, tx, key, msg)
    archive_path = None if dry_run else _archive(settings.state_dir, whole, digest)
    audit_id = tx.add_audit(
        mailbox=mailbox_name, uidvalidity=uidvalidity, uid=fetched.uid, message_id=message_id,
        sender=judged.sender, subject=subject, date=_header(msg, "Date"),
        outcome=judged.outcome, approval_id=judged.approval.id if judged.approval else None,
        sha256=digest, size=fetched.size, archive_path=archive_path,
    )
    outcome = judged.outcome
    decided = None
    if judged.outcome == "vote" and judged.approval is not None and judged.sender:
        vote = approvals.record_vote(tx, judged.approval, judged.sender,
                                     cast(Decision, judged.decision or ""), judged.comment,
                                     audit_id)
        outcome = vote.outcome
        decided = vote.decided
        tx.set_audit_outcome(audit_id, outcome)
        if decided is not None:
            if settings.approval.on_decision:
                hooks.queue_hook(tx, _decision_payload(decided))
            for address in decided.notify:
                tx.owe_answer(decided.id, "decision", address)
    if outcome == "too-late" and judged.approval is not None and judged.sender:
        tx.owe_answer(judged.approval.id, "too-late", judged.sender)
    result = MessageResult(fetched.uid, message_id, judged.sender, subject, outcome,
                           judged.approval.id if judged.approval else None)
    return result, decided


def process_replies(settings: Settings, *, count: int | None = None, dry_run: bool = False,
                    transcript: Any = None) -> RunReport:
    """One run (see the module docstring). Raises LockedError (75) when another run is going."""
    from mailrelay_cli.replies.mailbox import open_reply_mailbox

    approvals.require_enabled(settings)
    limit = settings.approval.count if count is None else count
    max_bytes = settings.approval.max_message_kb * 1024
    state_dir = settings.state_dir
    with run_lock(state_dir, wait_for_watcher=WATCHER_WAIT_SECONDS), open_store(state_dir) as db:
        run_id = None if dry_run else db.record_run_start()
        try:
            report = _run(settings, db, limit, max_bytes, dry_run, transcript,
                          open_reply_mailbox)
        except MailrelayError as e:
            if run_id is not None:
                db.record_run_finish(run_id, "failed", {}, e.message)
            raise
        except BaseException:
            if run_id is not None:
                db.record_run_finish(run_id, "failed", {}, "interrupted or internal error")
            raise
        if run_id is not None:
            db.record_run_finish(run_id, "ok", report.counts(),
                                 "; ".join(report.failures) or None)
        return report


def _run(settings: Settings, db: Store, limit: int, max_bytes: int, dry_run: bool,
         transcript: Any, open_reply_mailbox: Any) -> RunReport:
    with open_reply_mailbox(settings, readonly=dry_run, transcript=transcript) as mailbox:
        return process_batch(settings, db, mailbox, limit=limit, max_bytes=max_bytes,
                             dry_run=dry_run)


def process_batch(settings: Settings, db: Store, mailbox: Any, *, limit: int, max_bytes: int,
                  dry_run: bool = False, should_stop: Callable[[], bool] | None = None
                  ) -> RunReport:
    """Steps 2 to 5 on an open mailbox: the one code path of a cron run and of ``--watch``.

    The caller holds the run lock. ``should_stop`` (a stop was asked for, e.g. SIGTERM to the
    watcher) is checked before each message: the messages judged so far are committed and
    deleted, the rest stay in the mailbox untouched, and the hooks and answers owed are left
    for the next run.
    """
    from mailrelay_cli.replies import hooks

    key = approvals.signing_key(settings.profile, create=False)
    results: list[MessageResult] = []
    decided: list[Approval] = []
    fetched = mailbox.fetch_oldest(limit, max_bytes)
    try:
        with db.transaction() as tx:
            for message in fetched:
                if should_stop is not None and results and should_stop():
                    break
                result, newly = _record_message(settings, tx, key, mailbox.name,
                                                mailbox.uidvalidity, message, max_bytes,
                                                dry_run)
                results.append(result)
                if newly is not None:
                    decided.append(newly)
            if dry_run:
                # Same work, same outcomes, nothing kept: leaving by an exception rolls back.
                raise _DryRunDone
    except _DryRunDone:
        pass
    done = fetched[: len(results)]
    if not dry_run:
        mailbox.delete([m.uid for m in done])
    deleted = 0 if dry_run else len(done)
    left = max(mailbox.total - deleted, 0)
    hook_results: list[HookResult] = []
    answers: list[AnswerResult] = []
    stopping = should_stop is not None and should_stop()
    if not dry_run and not stopping:
        hook_results = hooks.run_owed_hooks(db, settings.approval.on_decision)
        answers = send_owed_answers(settings, db)
        prune_archive(settings.state_dir, settings.approval.archive_days)
    return RunReport(tuple(results), len(done), deleted, left, dry_run, tuple(hook_results),
                     tuple(answers), tuple(decided))


class _DryRunDone(Exception):
    """Leaves the dry run's transaction so it is rolled back."""


# -- answers -------------------------------------------------------------------------------

def _answer_text(kind: str, approval: Approval) -> tuple[str, str]:
    if kind == "too-late" and approval.status == "pending":  # a second answer to N-of-M
        return (f"Re: {approval.subject}",
                f"You have already answered approval {approval.id} ({approval.title}); "
                "your first answer counts.\nThis one was recorded but changed nothing. "
                "The approval is still waiting for other approvers.\n")
    if kind == "too-late":
        subject = f"Re: {approval.subject}"
        when = f" at {approval.decided_at}" if approval.decided_at else ""
        by = f" by {approval.decided_by}" if approval.decided_by else ""
        text = (f"Your reply arrived too late: approval {approval.id} ({approval.title}) "
                f"was already {approval.status}{by}{when}.\n"
                "Your answer was recorded but changed nothing.\n")
        return subject, text
    subject = f"[{approval.reference}] {approval.status.capitalize()}: {approval.title}"
    text = f"Approval {approval.id} ({approval.title}) was {approval.status}"
    text += f" by {approval.decided_by}" if approval.decided_by else ""
    text += f" at {approval.decided_at}.\n" if approval.decided_at else ".\n"
    if approval.comment:
        text += f"\nComment:\n{approval.comment}\n"
    return subject, text


def send_owed_answers(settings: Settings, db: Store) -> list[AnswerResult]:
    """Send each answer still owed; a failure stays owed for the next run."""
    from mailrelay_cli.outbound import delivery
    from mailrelay_cli.outbound.message import build_message, parse_address

    owed = db.owed_answers()
    if not owed:
        return []
    # An answer is not worth holding up a cron run for: one attempt per run, no retry loop.
    quick = settings._replace(smtp=settings.smtp._replace(retry_for=0.0))
    results = []
    for answer in owed:
        approval = approvals.get_approval(db, answer.approval_id)
        subject, text = _answer_text(answer.kind, approval)
        error = None
        try:
            built = build_message(
                sender=parse_address(settings.require("smtp.from"), "smtp.from"),
                to=[parse_address(answer.address, "answer")],
                # build_message marks it Auto-Submitted (RFC 3834): responders will not answer.
                subject=subject, text=text,
            )
            delivery.deliver(quick, built)
        except MailrelayError as e:
            error = e.message
        with db.transaction() as tx:
            tx.answer_attempted(answer.id, error)
        results.append(AnswerResult(answer.approval_id, answer.kind, answer.address,
                                    error is None, error))
    return results
