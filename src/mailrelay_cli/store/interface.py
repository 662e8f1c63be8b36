"""What callers may ask of the state store, whatever database is behind it.

Callers never see SQL or a database connection: they read through a ``Store``
and write through the ``Transaction`` that ``Store.transaction()`` yields,
which commits when the ``with`` block ends and rolls back when it raises.
A write method exists only on ``Transaction``, so a decision, its vote and
its audit row can only be written inside one unit of work that commits them
together (DESIGN.md: before the message is deleted from the mailbox).

Times are UTC ISO-8601 strings (``store.times.iso``), which sort as text.
Bookkeeping times (when a row was written or an attempt made) are stamped by
the store; times that mean something to an approval are passed in.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, Protocol

if TYPE_CHECKING:
    from datetime import datetime

# As stored; "expired" is never stored, it is read from expires_at (approvals.effective_status).
ApprovalStatus = Literal["pending", "approved", "rejected", "cancelled"]
Decision = Literal["approve", "reject"]
# "vote" lives only inside the transaction that records the vote and then its outcome.
AuditOutcome = Literal[
    "approved",
    "rejected",
    "too-late",
    "expired",
    "not-an-approver",
    "unmatched",
    "no-decision",
    "auto-reply",
    "bounce",
    "unreadable",
    "duplicate",
    "vote",
]
HookStatus = Literal["pending", "ok", "failed", "dropped"]
AnswerKind = Literal["too-late", "decision"]
AnswerStatus = Literal["pending", "sending", "sent", "failed"]
RunOutcome = Literal["ok", "failed"]


@dataclass(frozen=True)
class ApprovalRow:
    """One approval as stored (its status before expiry is taken into account)."""

    id: str
    reference: str
    title: str
    subject: str
    approvers: tuple[str, ...]
    required: int
    notify: tuple[str, ...]
    requested_by: str | None
    message_id: str | None
    created_at: str
    expires_at: str
    status: ApprovalStatus
    decided_by: str | None
    decided_at: str | None
    comment: str | None


@dataclass(frozen=True)
class VoteRow:
    """One approver's decision on one approval."""

    approval_id: str
    approver: str
    decision: Decision
    comment: str | None
    decided_at: str
    audit_id: int | None


@dataclass(frozen=True)
class RunRecord:
    """One process-replies run as ``mailrelay status`` sees it."""

    id: int
    started_at: str
    finished_at: str | None
    outcome: str | None  # "ok", "failed", or None while running (or when it died)
    counts: Mapping[str, int]
    error: str | None


@dataclass(frozen=True)
class WatcherRecord:
    """One ``process-replies --watch`` process as ``mailrelay status`` sees it."""

    id: int
    host: str
    pid: int
    mailbox: str
    mode: str | None  # how it waits: "IMAP IDLE", "IMAP NOOP every 5m", "inotify", "poll 1s"
    started_at: str
    heartbeat_at: str
    last_event: str | None
    last_event_at: str | None
    reconnects_on: str | None  # the UTC day (YYYY-MM-DD) ``reconnects`` counts
    reconnects: int
    stopped_at: str | None
    outcome: str | None  # None while running; "stopped" (asked to) or "failed"
    error: str | None


@dataclass(frozen=True)
class HookRecord:
    approval_id: str
    status: str  # "pending", "ok", "failed", "dropped" (by `mailrelay hooks drop`: never run again)
    attempts: int
    last_error: str | None
    last_attempt_at: str | None


@dataclass(frozen=True)
class OwedHook:
    """An ``on_decision`` run still owed, with the decision it is to be given."""

    approval_id: str
    payload: Mapping[str, Any]
    attempts: int


@dataclass(frozen=True)
class OwedAnswer:
    """A short answer (too-late reply, decision notice) not yet sent."""

    id: int
    approval_id: str
    kind: AnswerKind
    address: str
    attempts: int


@dataclass(frozen=True)
class AuditRow:
    id: int
    mailbox: str
    uidvalidity: int
    uid: str
    message_id: str | None
    sender: str | None
    subject: str | None
    date: str | None
    outcome: AuditOutcome
    approval_id: str | None
    sha256: str
    archive_path: str | None
    duplicate_of: int | None
    processed_at: str


@dataclass(frozen=True)
class AuditCounts:
    """Messages processed, and how many of them approved or rejected, over a period."""

    messages: int
    decisions: int


class StoreReader(Protocol):
    """The reads a decision needs, from the store or from inside a transaction."""

    def get_approval(self, approval_id: str) -> ApprovalRow | None:
        """The approval with exactly this id, or None."""
        ...

    def approved_by(self, approval_id: str) -> tuple[str, ...]:
        """Who voted approve on it, in the order they did."""
        ...

    def ever_issued(self, approval_id: str) -> bool:
        """Whether this store ever issued the id (kept forever, even when its row is gone)."""

    def request_fingerprint(self, approval_id: str) -> str | None:
        """The fingerprint of the approval's request text, or None if none was kept."""
        ...


class Transaction(StoreReader, Protocol):
    """One unit of work: everything written through it commits together, or nothing does."""

    def savepoint(self) -> AbstractContextManager[None]:
        """A nested unit of work inside this one: when its block raises, only what was
        written in it is rolled back (one message's rows), and the exception goes on."""
        ...

    # -- approvals and votes

    def insert_approval(
        self,
        *,
        id: str,
        reference: str,
        title: str,
        subject: str,
        approvers: tuple[str, ...],
        required: int,
        notify: tuple[str, ...],
        requested_by: str | None,
        message_id: str | None,
        created_at: str,
        expires_at: str,
    ) -> None:
        """A new pending approval."""
        ...

    def set_approval_message_id(self, approval_id: str, message_id: str | None) -> None: ...

    def set_request_fingerprint(self, approval_id: str, fingerprint: str) -> None:
        """Keep (or replace) the fingerprint of the approval's request text."""
        ...

    def discard_pending_approval(self, approval_id: str) -> None:
        """Forget the approval if it is still pending (nobody received its request)."""
        ...

    def cancel_approval(self, approval_id: str, at: str) -> None:
        """Mark it cancelled at ``at`` if it is still pending."""
        ...

    def has_voted(self, approval_id: str, approver: str) -> bool:
        """Whether ``approver`` (compared case-insensitively) already voted on it."""
        ...

    def record_vote(
        self,
        *,
        approval_id: str,
        approver: str,
        decision: Decision,
        comment: str | None,
        decided_at: str,
        audit_id: int | None,
    ) -> None: ...

    def decide_approval(
        self,
        approval_id: str,
        *,
        status: ApprovalStatus,
        decided_by: str,
        decided_at: str,
        comment: str | None,
    ) -> None:
        """Make a pending approval final (no effect on one that is not pending)."""
        ...

    # -- the audit of messages read
    def audit_by_uid(self, mailbox: str, uidvalidity: int, uid: str) -> AuditRow | None: ...

    def audit_by_sha256(self, sha256: str) -> AuditRow | None:
        """The first message recorded with this digest."""
        ...

    def add_audit(
        self,
        *,
        mailbox: str,
        uidvalidity: int,
        uid: str,
        outcome: str,
        sha256: str,
        message_id: str | None = None,
        sender: str | None = None,
        subject: str | None = None,
        date: str | None = None,
        approval_id: str | None = None,
        size: int | None = None,
        archive_path: str | None = None,
        duplicate_of: int | None = None,
    ) -> int:
        """Record one message read, processed now; returns its audit id."""
        ...

    def set_audit_outcome(self, audit_id: int, outcome: str) -> None: ...

    # -- hooks and answers owed
    def queue_hook(self, approval_id: str, payload: Mapping[str, Any]) -> None:
        """Owe one ``on_decision`` run for the approval (once: a second is ignored)."""
        ...

    def hook_attempted(self, approval_id: str, error: str | None) -> None:
        """Count one run of its hook, now: ok when ``error`` is None, else failed."""
        ...

    def drop_hook(self, approval_id: str) -> bool:
        """Owe its hook no more (``mailrelay hooks drop``); False when none is owed."""
        ...

    def owe_answer(self, approval_id: str, kind: AnswerKind, address: str) -> None:
        """Owe one answer (once per approval, kind and address: a second is ignored)."""
        ...

    def claim_answer(self, answer_id: int) -> bool:
        """Mark an owed answer ``sending`` before it is sent; False when it is not owed (any
        more). One left ``sending`` by a run that died is never sent again (at most once)."""
        ...

    def answer_attempted(self, answer_id: int, error: str | None, retry_in: float | None = None) -> None:
        """Count one attempt to send it, now: sent when ``error`` is None, else failed and
        owed again no sooner than ``retry_in`` seconds from now."""
        ...


class Store(StoreReader, Protocol):
    """The open state store; get one from ``mailrelay_cli.store.open_store``."""

    @property
    def location(self) -> str:
        """Where it is, for messages (a file path or the URL; never a password)."""
        ...

    def transaction(self) -> AbstractContextManager[Transaction]:
        """One unit of work, which holds the write lock from its start until it commits."""
        ...

    def run_lock(
        self, wait: float = 0.0, *, mode: str = "run", wait_for_watcher: float = 0.0
    ) -> AbstractContextManager[None]:
        """Hold the process-replies run lock (one run at a time for everyone sharing this store).

        Waits up to ``wait`` seconds for another run to release it (``wait_for_watcher`` when
        the holder is a ``--watch`` batch, ``mode="watch"``), then raises
        ``LockedError`` (75) naming the holder. A holder that dies releases it (a
        file lock on SQLite, a session advisory lock on PostgreSQL).
        """
        ...

    def wait_for_decision(self, seconds: float) -> None:
        """Return when an approval may have been decided or cancelled (by anyone), or after
        ``seconds``; the caller reads the status again either way."""
        ...

    # -- approvals
    def list_approvals(self) -> list[ApprovalRow]:
        """Every approval, newest first."""
        ...

    def pending_approvals(self) -> list[str]:
        """Ids of approvals still waiting for a decision (pending and not yet expired)."""
        ...

    def votes(self, approval_id: str) -> list[VoteRow]: ...

    # -- audit, hooks, answers
    def audit_rows(self) -> list[AuditRow]: ...

    def audit_counts_since(self, since: datetime) -> AuditCounts:
        """Messages processed at or after ``since`` (one seen again under a new UID counts once)."""
        ...

    def hooks(self) -> list[HookRecord]: ...

    def failing_hooks(self) -> list[HookRecord]:
        """``on_decision`` hooks that ran and failed, and are still owed."""
        ...

    def owed_hooks(self) -> list[OwedHook]:
        """Hooks not yet run successfully (and not dropped), oldest first."""
        ...

    def owed_answers(self) -> list[OwedAnswer]:
        """Answers not yet sent (nor being sent) whose retry time has come, oldest first."""
        ...

    # -- runs (read by `mailrelay status`); each call is its own unit of work
    def record_run_start(self) -> int:
        """Record a run starting now; returns its id for ``record_run_finish``."""
        ...

    def record_run_finish(
        self, run_id: int, outcome: str, counts: Mapping[str, int], error: str | None = None
    ) -> None: ...

    def runs_since(self, since: datetime) -> list[RunRecord]: ...

    def last_run(self) -> RunRecord | None: ...

    def last_success(self) -> RunRecord | None: ...

    # -- the watcher (process-replies --watch); each call is its own unit of work
    def watch_started(self, mailbox: str, mode: str | None) -> int:
        """Record a watcher starting now (this pid and host); returns its id."""
        ...

    def watch_heartbeat(
        self,
        watch_id: int,
        *,
        mode: str | None = None,
        event: str | None = None,
        reconnected: bool = False,
    ) -> None:
        """It is alive and connected now; ``event`` (one line) becomes its last event;
        ``reconnected`` counts one reconnect today (the count starts again each UTC day)."""
        ...

    def watch_event(self, watch_id: int, event: str) -> None:
        """Record its last event without a heartbeat (it is not connected: retrying)."""
        ...

    def watch_stopped(self, watch_id: int, outcome: str, error: str | None = None) -> None: ...

    def last_watcher(self) -> WatcherRecord | None:
        """The watcher with the latest heartbeat, running or not."""
        ...
