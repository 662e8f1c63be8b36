"""The state store in a shared PostgreSQL database (``state.url``): every PostgreSQL statement lives here.

Implements ``store.interface`` exactly as ``store.sqlite`` does, so callers
never know which one they hold. What makes several hosts safe:

- every write transaction first takes a transaction-level advisory lock
  (``WRITE_LOCK``), so writers on all hosts queue one behind another as
  SQLite's ``BEGIN IMMEDIATE`` makes them on one host: a decision is read and
  written by one transaction at a time;
- uniqueness in the schema backs it up: one audit row per (mailbox,
  UIDVALIDITY, UID), one vote per approver, one owed hook per approval, one
  answer per approval, kind and address;
- the ``process-replies`` run lock is a session advisory lock (``RUN_LOCK``),
  which PostgreSQL releases when the holder's connection ends, so a host that
  crashed never leaves it taken;
- deciding or cancelling an approval sends ``NOTIFY mailrelay_decision`` with
  its id when the transaction commits, which wakes ``approvals wait`` on any
  host (``wait_for_decision``).
"""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from mailrelay_cli.store import rows as records
from mailrelay_cli.store.interface import (
    AnswerKind,
    ApprovalStatus,
    AuditCounts,
    OwedAnswer,
    RunRecord,
)
from mailrelay_cli.store.postgres_connect import (
    LOCK_TIMEOUT,
    STATEMENT_TIMEOUT,
    connect,
    display_url,
    translated,
)
from mailrelay_cli.store.postgres_schema import RUN_LOCK, WRITE_LOCK, ascii_lower, check_version
from mailrelay_cli.store.shared_sql import SharedReads, SharedStoreQueries, SharedWrites
from mailrelay_cli.store.times import iso, utcnow

CHANNEL = "mailrelay_decision"

Row = dict[str, Any]


def _psycopg(sql: str) -> str:
    """The shared SQL (``?`` placeholders, ``shared_sql``) in psycopg's ``%s`` form; the SQL
    written here uses ``%s`` already and holds no ``?``."""
    return sql.replace("?", "%s")


class _Reader(SharedReads):
    """The reads shared by the store and a transaction (both use the one connection)."""

    def __init__(self, conn: Any, location: str) -> None:
        self._conn = conn
        self._location = location

    def _exec(self, sql: str, params: tuple[Any, ...] = ()) -> Any:
        with translated(self._location):
            return self._conn.execute(_psycopg(sql), params)

    def _one(self, sql: str, params: tuple[Any, ...] = ()) -> Row | None:
        with translated(self._location):
            row: Row | None = self._conn.execute(_psycopg(sql), params).fetchone()
        return row

    def _all(self, sql: str, params: tuple[Any, ...] = ()) -> list[Row]:
        with translated(self._location):
            return list(self._conn.execute(_psycopg(sql), params).fetchall())


class PostgresTransaction(_Reader, SharedWrites):
    """One transaction holding the write lock from its start until it commits."""

    @contextmanager
    def savepoint(self) -> Iterator[None]:
        """A nested unit of work: rolled back alone when its block raises (then re-raised)."""
        with translated(self._location), self._conn.transaction():
            yield

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
        self._exec(
            "INSERT INTO approvals (id, reference, title, subject, approvers, required, notify,"
            " requested_by, message_id, created_at, expires_at)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
            (
                id,
                reference,
                title,
                subject,
                json.dumps(list(approvers)),
                required,
                json.dumps(list(notify)),
                requested_by,
                message_id,
                created_at,
                expires_at,
            ),
        )
        self._exec(
            "INSERT INTO issued_ids (id, issued_at) VALUES (%s, %s) ON CONFLICT (id) DO NOTHING",
            (id, created_at),
        )

    def set_request_fingerprint(self, approval_id: str, fingerprint: str) -> None:
        self._exec(
            "INSERT INTO request_fingerprints (approval_id, fingerprint) VALUES (%s, %s)"
            " ON CONFLICT (approval_id) DO UPDATE SET fingerprint = EXCLUDED.fingerprint",
            (approval_id, fingerprint),
        )

    def discard_pending_approval(self, approval_id: str) -> None:
        self._exec(
            "DELETE FROM request_fingerprints WHERE approval_id IN"
            " (SELECT id FROM approvals WHERE id = %s AND status = 'pending')",
            (approval_id,),
        )
        self._exec("DELETE FROM approvals WHERE id = %s AND status = 'pending'", (approval_id,))

    def cancel_approval(self, approval_id: str, at: str) -> None:
        self._exec(
            "UPDATE approvals SET status = 'cancelled', decided_at = %s WHERE id = %s AND status = 'pending'",
            (at, approval_id),
        )
        self._exec("SELECT pg_notify(%s, %s)", (CHANNEL, approval_id))

    def has_voted(self, approval_id: str, approver: str) -> bool:
        return (
            self._one(
                "SELECT 1 FROM votes WHERE approval_id = %s"
                f" AND {ascii_lower('approver')} = {ascii_lower('%s')}",
                (approval_id, approver),
            )
            is not None
        )

    def decide_approval(
        self,
        approval_id: str,
        *,
        status: ApprovalStatus,
        decided_by: str,
        decided_at: str,
        comment: str | None,
    ) -> None:
        self._exec(
            "UPDATE approvals SET status = %s, decided_by = %s, decided_at = %s, comment = %s"
            " WHERE id = %s AND status = 'pending'",
            (status, decided_by, decided_at, comment, approval_id),
        )
        self._exec("SELECT pg_notify(%s, %s)", (CHANNEL, approval_id))

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
        row = self._one(
            "INSERT INTO audit (mailbox, uidvalidity, uid, message_id, sender, subject, date,"
            " outcome, approval_id, sha256, size, archive_path, duplicate_of, processed_at)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING id",
            (
                mailbox,
                uidvalidity,
                uid,
                message_id,
                sender,
                subject,
                date,
                outcome,
                approval_id,
                sha256,
                size,
                archive_path,
                duplicate_of,
                iso(utcnow()),
            ),
        )
        assert row is not None  # RETURNING always gives the row it inserted
        return int(row["id"])

    def queue_hook(self, approval_id: str, payload: Mapping[str, Any]) -> None:
        self._exec(
            "INSERT INTO hooks (approval_id, payload, created_at) VALUES (%s, %s, %s)"
            " ON CONFLICT (approval_id) DO NOTHING",
            (approval_id, json.dumps(payload), iso(utcnow())),
        )

    def drop_hook(self, approval_id: str) -> bool:
        cursor = self._exec(
            "UPDATE hooks SET status = 'dropped' WHERE approval_id = %s AND status NOT IN ('ok', 'dropped')",
            (approval_id,),
        )
        return bool(cursor.rowcount)

    def owe_answer(self, approval_id: str, kind: AnswerKind, address: str) -> None:
        self._exec(
            "INSERT INTO outbox (approval_id, kind, address, created_at) VALUES (%s, %s, %s, %s)"
            " ON CONFLICT (approval_id, kind, address) DO NOTHING",
            (approval_id, kind, address, iso(utcnow())),
        )

    def claim_answer(self, answer_id: int) -> bool:
        cursor = self._exec(
            "UPDATE outbox SET status = 'sending' WHERE id = %s AND status IN ('pending', 'failed')",
            (answer_id,),
        )
        return bool(cursor.rowcount == 1)


class PostgresStore(_Reader, SharedStoreQueries):
    """The open database. Use ``store.open_store`` (a context manager) to get one."""

    def __init__(self, conn: Any, location: str) -> None:
        super().__init__(conn, location)
        self._listening = False

    @property
    def location(self) -> str:
        return self._location

    @contextmanager
    def transaction(self) -> Iterator[PostgresTransaction]:
        """BEGIN, take the write lock, … COMMIT; ROLLBACK on any exception."""
        with translated(self._location), self._conn.transaction():
            self._conn.execute("SELECT pg_advisory_xact_lock(%s)", (WRITE_LOCK,))
            yield PostgresTransaction(self._conn, self._location)

    @contextmanager
    def run_lock(
        self, wait: float = 0.0, *, mode: str = "run", wait_for_watcher: float = 0.0
    ) -> Iterator[None]:
        """The process-replies lock, shared by every host on this database; LockedError (75) if
        another run still holds it after ``wait`` seconds (queued in the server meanwhile), or
        ``wait_for_watcher`` seconds when the holder is a watcher's batch."""
        if mode == "watch":  # how other hosts tell a watcher's batch from a cron run (_holder)
            self._exec(
                "SELECT set_config('application_name', %s, false)",
                (f"mailrelay watch pid {os.getpid()} on {socket.gethostname()}"[:63],),
            )
        row = self._one("SELECT pg_try_advisory_lock(%s) AS got", (RUN_LOCK,))
        got = bool(row and row["got"])
        if not got and wait_for_watcher > wait and self._holder().startswith("watch "):
            wait = wait_for_watcher
        if not got and wait > 0:
            got = self._lock_within(wait)
        if not got:
            from mailrelay_cli.store.lock import run_holds_lock, watcher_busy

            holder = self._holder()
            if holder.startswith("watch "):
                raise watcher_busy(
                    holder, max(wait, wait_for_watcher), f"of the state store {self._location}"
                )
            raise run_holds_lock(holder, f"the run lock of the state store {self._location}")
        try:
            yield
        finally:
            if not self._conn.closed and not self._conn.broken:
                with translated(self._location):
                    self._conn.execute("SELECT pg_advisory_unlock(%s)", (RUN_LOCK,))

    def _lock_within(self, wait: float) -> bool:
        """Wait in the server's lock queue for the run lock, at most ``wait`` seconds."""
        import psycopg
        from psycopg import errors

        try:
            self._conn.execute(f"SET lock_timeout = '{int(wait * 1000)}ms'")
            self._conn.execute("SET statement_timeout = 0")
            try:
                self._conn.execute("SELECT pg_advisory_lock(%s)", (RUN_LOCK,))
                return True
            finally:
                self._conn.execute(f"SET lock_timeout = '{LOCK_TIMEOUT}'")
                self._conn.execute(f"SET statement_timeout = '{STATEMENT_TIMEOUT}'")
        except errors.LockNotAvailable:
            return False
        except psycopg.Error as e:
            with translated(self._location):
                raise e

    def _holder(self) -> str:
        """Who holds the run lock, as the server knows it (the application_name of its session)."""
        row = self._one(
            "SELECT a.application_name AS name, a.client_addr::text AS addr,"
            " a.backend_start AS since FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid"
            " WHERE l.locktype = 'advisory' AND l.granted"
            " AND ((l.classid::bigint << 32) | l.objid::bigint) = %s LIMIT 1",
            (RUN_LOCK,),
        )
        if row is None:
            return "another host"
        name = str(row["name"] or "").removeprefix("mailrelay ") or "a client"
        since = f" since {iso(row['since'])}" if row["since"] is not None else ""
        return f"{name}, connected from {row['addr'] or 'a local socket'}{since}"

    def wait_for_decision(self, seconds: float) -> None:
        """Return when an approval may have been decided or cancelled, or after ``seconds``.

        The first call only starts listening and returns at once, so the caller
        reads the status again after LISTEN and cannot miss a decision made
        in between.
        """
        with translated(self._location):
            if not self._listening:
                self._conn.execute(f"LISTEN {CHANNEL}")
                self._listening = True
                return
            for _notify in self._conn.notifies(timeout=max(seconds, 0.0), stop_after=1):
                break

    def close(self) -> None:
        self._conn.close()

    def audit_counts_since(self, since: datetime) -> AuditCounts:
        row = self._one(
            "SELECT COUNT(*) AS messages,"
            " COALESCE(SUM(CASE WHEN outcome IN ('approved', 'rejected') THEN 1 ELSE 0 END), 0)"
            " AS decisions FROM audit WHERE processed_at >= %s AND duplicate_of IS NULL",
            (iso(since),),
        )
        assert row is not None  # an aggregate always gives one row
        return AuditCounts(int(row["messages"]), int(row["decisions"]))

    def owed_answers(self) -> list[OwedAnswer]:
        rows = self._all(
            "SELECT * FROM outbox WHERE status IN ('pending', 'failed')"
            " AND (next_attempt_at IS NULL OR next_attempt_at <= %s) ORDER BY id",
            (iso(utcnow()),),
        )
        return [
            OwedAnswer(int(row["id"]), row["approval_id"], row["kind"], row["address"], row["attempts"])
            for row in rows
        ]

    def record_run_start(self) -> int:
        with self.transaction():
            row = self._one(
                "INSERT INTO runs (started_at, pid, host) VALUES (%s, %s, %s) RETURNING id",
                (iso(utcnow()), os.getpid(), socket.gethostname()),
            )
        assert row is not None
        return int(row["id"])

    def runs_since(self, since: datetime) -> list[RunRecord]:
        rows = self._all("SELECT * FROM runs WHERE started_at >= %s ORDER BY id", (iso(since),))
        return [records.run(row) for row in rows]

    def last_run(self) -> RunRecord | None:
        row = self._one("SELECT * FROM runs ORDER BY id DESC LIMIT 1")
        return records.run(row) if row else None

    def last_success(self) -> RunRecord | None:
        row = self._one("SELECT * FROM runs WHERE outcome = 'ok' ORDER BY id DESC LIMIT 1")
        return records.run(row) if row else None

    # -- the watcher (process-replies --watch); each call is its own unit of work

    def watch_started(self, mailbox: str, mode: str | None) -> int:
        now = iso(utcnow())
        with self.transaction():
            row = self._one(
                "INSERT INTO watchers (host, pid, mailbox, mode, started_at, heartbeat_at,"
                " last_event, last_event_at) VALUES (%s, %s, %s, %s, %s, %s, 'started', %s)"
                " RETURNING id",
                (socket.gethostname(), os.getpid(), mailbox, mode, now, now, now),
            )
        return int(row["id"]) if row is not None else 0

    def watch_heartbeat(
        self,
        watch_id: int,
        *,
        mode: str | None = None,
        event: str | None = None,
        reconnected: bool = False,
    ) -> None:
        moment = utcnow()
        now, today = iso(moment), moment.strftime("%Y-%m-%d")
        with self.transaction():
            self._exec(
                "UPDATE watchers SET heartbeat_at = %s, mode = COALESCE(%s, mode),"
                " last_event = COALESCE(%s, last_event),"
                " last_event_at = CASE WHEN CAST(%s AS TEXT) IS NULL THEN last_event_at"
                " ELSE %s END,"
                " reconnects = CASE WHEN reconnects_on = %s THEN reconnects ELSE 0 END + %s,"
                " reconnects_on = %s WHERE id = %s",
                (now, mode, event, event, now, today, 1 if reconnected else 0, today, watch_id),
            )


@contextmanager
def open_postgres_store(
    url: str, password: Callable[[], str | None] | None = None
) -> Iterator[PostgresStore]:
    """Connect to ``url`` and check its schema version (78 when it needs ``state migrate``)."""
    location = display_url(url)
    conn = connect(url, password)
    try:
        with translated(location):
            check_version(conn, location)
        yield PostgresStore(conn, location)
    finally:
        conn.close()
