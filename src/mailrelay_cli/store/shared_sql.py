"""The SQL both stores run the same way, written once (``?`` placeholders; the PostgreSQL
store turns them into psycopg's ``%s``). What differs between the dialects (inserts that
return ids, conflict handling, NOTIFY, locks) stays in ``sqlite.py`` and ``postgres.py``.

The backends provide ``_one``, ``_all`` and ``_exec`` (and a store its ``transaction``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from contextlib import AbstractContextManager
from datetime import timedelta
from typing import Any

from mailrelay_cli.store import rows as records
from mailrelay_cli.store.interface import (
    ApprovalRow,
    AuditRow,
    Decision,
    HookRecord,
    OwedHook,
    VoteRow,
    WatcherRecord,
)
from mailrelay_cli.store.times import iso, utcnow


class SharedReads:
    """Reads of a store and of a transaction (both use the one connection)."""

    def _one(self, sql: str, params: tuple[Any, ...] = ()) -> Any:
        raise NotImplementedError

    def _all(self, sql: str, params: tuple[Any, ...] = ()) -> list[Any]:
        raise NotImplementedError

    def _exec(self, sql: str, params: tuple[Any, ...] = ()) -> Any:
        raise NotImplementedError

    def get_approval(self, approval_id: str) -> ApprovalRow | None:
        row = self._one("SELECT * FROM approvals WHERE id = ?", (approval_id,))
        return records.approval(row) if row is not None else None

    def ever_issued(self, approval_id: str) -> bool:
        """Whether this store ever issued ``approval_id`` (kept after the approval is gone)."""
        return self._one("SELECT 1 FROM issued_ids WHERE id = ?", (approval_id,)) is not None

    def approved_by(self, approval_id: str) -> tuple[str, ...]:
        rows = self._all(
            "SELECT approver FROM votes WHERE approval_id = ? AND decision = 'approve'"
            " ORDER BY decided_at, approver",
            (approval_id,),
        )
        return tuple(row["approver"] for row in rows)

    def request_fingerprint(self, approval_id: str) -> str | None:
        row = self._one("SELECT fingerprint FROM request_fingerprints WHERE approval_id = ?", (approval_id,))
        return str(row["fingerprint"]) if row is not None else None


class SharedWrites(SharedReads):
    """The writes of one unit of work that read the same in both dialects."""

    def set_approval_message_id(self, approval_id: str, message_id: str | None) -> None:
        self._exec("UPDATE approvals SET message_id = ? WHERE id = ?", (message_id, approval_id))

    def record_vote(
        self,
        *,
        approval_id: str,
        approver: str,
        decision: Decision,
        comment: str | None,
        decided_at: str,
        audit_id: int | None,
    ) -> None:
        self._exec(
            "INSERT INTO votes (approval_id, approver, decision, comment, decided_at, audit_id)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (approval_id, approver, decision, comment, decided_at, audit_id),
        )

    def audit_by_uid(self, mailbox: str, uidvalidity: int, uid: str) -> AuditRow | None:
        row = self._one(
            "SELECT * FROM audit WHERE mailbox = ? AND uidvalidity = ? AND uid = ?",
            (mailbox, uidvalidity, uid),
        )
        return records.audit(row) if row is not None else None

    def audit_by_sha256(self, sha256: str) -> AuditRow | None:
        row = self._one("SELECT * FROM audit WHERE sha256 = ? ORDER BY id LIMIT 1", (sha256,))
        return records.audit(row) if row is not None else None

    def set_audit_outcome(self, audit_id: int, outcome: str) -> None:
        self._exec("UPDATE audit SET outcome = ? WHERE id = ?", (outcome, audit_id))

    def hook_attempted(self, approval_id: str, error: str | None) -> None:
        self._exec(
            "UPDATE hooks SET status = ?, attempts = attempts + 1, last_error = ?,"
            " last_attempt_at = ? WHERE approval_id = ?",
            ("ok" if error is None else "failed", error, iso(utcnow()), approval_id),
        )

    def answer_attempted(self, answer_id: int, error: str | None, retry_in: float | None = None) -> None:
        now = utcnow()
        retry_at = iso(now + timedelta(seconds=retry_in)) if error is not None and retry_in else None
        self._exec(
            "UPDATE outbox SET status = ?, attempts = attempts + 1, last_error = ?, sent_at = ?,"
            " next_attempt_at = ? WHERE id = ?",
            (
                "sent" if error is None else "failed",
                error,
                iso(now) if error is None else None,
                retry_at,
                answer_id,
            ),
        )


class SharedStoreQueries(SharedReads):
    """The store's reads and its own small units of work that read the same in both dialects."""

    def transaction(self) -> AbstractContextManager[Any]:
        raise NotImplementedError

    def list_approvals(self) -> list[ApprovalRow]:
        return [
            records.approval(row) for row in self._all("SELECT * FROM approvals ORDER BY created_at DESC, id")
        ]

    def pending_approvals(self) -> list[str]:
        rows = self._all(
            "SELECT id FROM approvals WHERE status = 'pending' AND expires_at > ? ORDER BY created_at",
            (iso(utcnow()),),
        )
        return [row["id"] for row in rows]

    def votes(self, approval_id: str) -> list[VoteRow]:
        rows = self._all(
            "SELECT * FROM votes WHERE approval_id = ? ORDER BY decided_at, approver", (approval_id,)
        )
        return [VoteRow(**{key: row[key] for key in VoteRow.__dataclass_fields__}) for row in rows]

    def audit_rows(self) -> list[AuditRow]:
        return [records.audit(row) for row in self._all("SELECT * FROM audit ORDER BY id")]

    def hooks(self) -> list[HookRecord]:
        return [records.hook(row) for row in self._all("SELECT * FROM hooks ORDER BY created_at")]

    def failing_hooks(self) -> list[HookRecord]:
        rows = self._all("SELECT * FROM hooks WHERE status = 'failed' ORDER BY created_at")
        return [records.hook(row) for row in rows]

    def owed_hooks(self) -> list[OwedHook]:
        rows = self._all("SELECT * FROM hooks WHERE status NOT IN ('ok', 'dropped') ORDER BY created_at")
        return [OwedHook(row["approval_id"], json.loads(row["payload"]), row["attempts"]) for row in rows]

    def record_run_finish(
        self, run_id: int, outcome: str, counts: Mapping[str, int], error: str | None = None
    ) -> None:
        with self.transaction():
            self._exec(
                "UPDATE runs SET finished_at = ?, outcome = ?, counts = ?, error = ? WHERE id = ?",
                (iso(utcnow()), outcome, json.dumps(dict(counts)), error, run_id),
            )

    def watch_event(self, watch_id: int, event: str) -> None:
        with self.transaction():
            self._exec(
                "UPDATE watchers SET last_event = ?, last_event_at = ? WHERE id = ?",
                (event, iso(utcnow()), watch_id),
            )

    def watch_stopped(self, watch_id: int, outcome: str, error: str | None = None) -> None:
        now = iso(utcnow())
        with self.transaction():
            self._exec(
                "UPDATE watchers SET heartbeat_at = ?, stopped_at = ?, outcome = ?, error = ?,"
                " last_event = ?, last_event_at = ? WHERE id = ?",
                (now, now, outcome, error, outcome, now, watch_id),
            )

    def last_watcher(self) -> WatcherRecord | None:
        row = self._one("SELECT * FROM watchers ORDER BY heartbeat_at DESC, id DESC LIMIT 1")
        if row is None:
            return None
        return records.watcher(row)
