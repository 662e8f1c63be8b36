"""The state store in one SQLite database in the state directory: every SQL statement lives here.

Implements ``store.interface``; the tables are described in ``sqlite_schema``.
Transactions are ``BEGIN IMMEDIATE``: the write lock is taken when one
starts, so two processes never decide on the same approval at once (the
second waits up to 30 s for the first to commit).
"""

from __future__ import annotations

import json
import os
import socket
import sqlite3
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from mailrelay_cli.errors import InternalError, MailrelayError, StateBusyError, StateError
from mailrelay_cli.store import rows as records
from mailrelay_cli.store.interface import (
    AnswerKind,
    ApprovalStatus,
    AuditCounts,
    OwedAnswer,
    RunRecord,
)
from mailrelay_cli.store.shared_sql import SharedReads, SharedStoreQueries, SharedWrites
from mailrelay_cli.store.sqlite_schema import migrate
from mailrelay_cli.store.times import iso, utcnow

DB_NAME = "mailrelay.db"
# How often `approvals wait` looks for another process's commit (SQLite cannot notify).
POLL_SECONDS = 0.05

# SQLite's primary result codes that mean "the database or its disk is the problem", not a bug.
_OPERATIONAL = frozenset(
    {
        "SQLITE_FULL",
        "SQLITE_IOERR",
        "SQLITE_READONLY",
        "SQLITE_CANTOPEN",
        "SQLITE_CORRUPT",
        "SQLITE_NOTADB",
        "SQLITE_PERM",
        "SQLITE_NOLFS",
        "SQLITE_AUTH",
    }
)
_BUSY = frozenset({"SQLITE_BUSY", "SQLITE_LOCKED"})


def translate_error(error: sqlite3.Error, path: Path) -> MailrelayError:
    """The MailrelayError of a SQLite failure on ``path``: 78 for a database or disk that
    cannot be used (corrupt, truncated, read-only, full), 75 when another process holds it
    too long, 70 only for what must be a bug (a constraint or SQL error)."""
    name = str(getattr(error, "sqlite_errorname", "") or "")
    primary = "_".join(name.split("_")[:2])  # SQLITE_IOERR_WRITE -> SQLITE_IOERR
    text = str(error) or type(error).__name__
    if primary in _BUSY:
        return StateBusyError(
            f"state database {path} is locked by another process: {text}",
            hint="wait for the other mailrelay to finish; cron retries next run",
        )
    unnamed = not name and type(error) in (sqlite3.OperationalError, sqlite3.DatabaseError)
    if primary in _OPERATIONAL or unnamed:
        return StateError(
            f"state database {path} cannot be used: {text}",
            hint="free disk space or fix its permissions; if it is corrupt, move it aside and "
            "restore a backup -- and never point a run at an empty one while replies wait",
        )
    return InternalError(f"state database {path}: {text}", hint="run again with -v and report the traceback")


class _Connection:
    """The sqlite3 connection, with every failure translated by ``translate_error``."""

    def __init__(self, conn: sqlite3.Connection, path: Path) -> None:
        self.raw = conn
        self.path = path

    def execute(self, sql: str, params: tuple[Any, ...] = ()) -> sqlite3.Cursor:
        try:
            return self.raw.execute(sql, params)
        except sqlite3.Error as e:
            raise translate_error(e, self.path) from e

    def fetch_all(self, sql: str, params: tuple[Any, ...] = ()) -> list[sqlite3.Row]:
        try:
            return list(self.raw.execute(sql, params))
        except sqlite3.Error as e:
            raise translate_error(e, self.path) from e

    def close(self) -> None:
        self.raw.close()


class _Reader(SharedReads):
    """The reads shared by the store and a transaction (both use the one connection)."""

    def __init__(self, conn: _Connection) -> None:
        self._conn = conn

    def _exec(self, sql: str, params: tuple[Any, ...] = ()) -> sqlite3.Cursor:
        return self._conn.execute(sql, params)

    def _one(self, sql: str, params: tuple[Any, ...] = ()) -> sqlite3.Row | None:
        row: sqlite3.Row | None = self._conn.execute(sql, params).fetchone()
        return row

    def _all(self, sql: str, params: tuple[Any, ...] = ()) -> list[sqlite3.Row]:
        return self._conn.fetch_all(sql, params)


class SqliteTransaction(_Reader, SharedWrites):
    """One ``BEGIN IMMEDIATE`` … ``COMMIT`` on the store's connection."""

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
        self._conn.execute(
            "INSERT INTO approvals (id, reference, title, subject, approvers, required, notify,"
            " requested_by, message_id, created_at, expires_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
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
        self._conn.execute("INSERT OR IGNORE INTO issued_ids (id, issued_at) VALUES (?, ?)", (id, created_at))

    @contextmanager
    def savepoint(self) -> Iterator[None]:
        """A nested unit of work: rolled back alone when its block raises (then re-raised)."""
        self._conn.execute("SAVEPOINT one_message")
        try:
            yield
        except BaseException:
            # SQLite may have rolled back the whole transaction itself (a full disk): then
            # there is no savepoint left, and the error being raised says what happened.
            if self._conn.raw.in_transaction:
                try:
                    self._conn.raw.execute("ROLLBACK TO one_message")
                    self._conn.raw.execute("RELEASE one_message")
                except sqlite3.Error:
                    pass
            raise
        self._conn.execute("RELEASE one_message")

    def set_request_fingerprint(self, approval_id: str, fingerprint: str) -> None:
        self._conn.execute(
            "INSERT OR REPLACE INTO request_fingerprints (approval_id, fingerprint) VALUES (?, ?)",
            (approval_id, fingerprint),
        )

    def discard_pending_approval(self, approval_id: str) -> None:
        self._conn.execute(
            "DELETE FROM request_fingerprints WHERE approval_id = ? AND approval_id IN"
            " (SELECT id FROM approvals WHERE id = ? AND status = 'pending')",
            (approval_id, approval_id),
        )
        self._conn.execute("DELETE FROM approvals WHERE id = ? AND status = 'pending'", (approval_id,))

    def cancel_approval(self, approval_id: str, at: str) -> None:
        self._conn.execute(
            "UPDATE approvals SET status = 'cancelled', decided_at = ? WHERE id = ? AND status = 'pending'",
            (at, approval_id),
        )

    def has_voted(self, approval_id: str, approver: str) -> bool:
        # SQLite's lower() folds ASCII only, as addresses compare (PostgreSQL uses translate).
        return (
            self._one(
                "SELECT 1 FROM votes WHERE approval_id = ? AND lower(approver) = lower(?)",
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
        self._conn.execute(
            "UPDATE approvals SET status = ?, decided_by = ?, decided_at = ?, comment = ?"
            " WHERE id = ? AND status = 'pending'",
            (status, decided_by, decided_at, comment, approval_id),
        )

    # -- the audit of messages read

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
        cursor = self._conn.execute(
            "INSERT INTO audit (mailbox, uidvalidity, uid, message_id, sender, subject, date,"
            " outcome, approval_id, sha256, size, archive_path, duplicate_of, processed_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
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
        return int(cursor.lastrowid or 0)

    # -- hooks and answers owed

    def queue_hook(self, approval_id: str, payload: Mapping[str, Any]) -> None:
        self._conn.execute(
            "INSERT OR IGNORE INTO hooks (approval_id, payload, created_at) VALUES (?, ?, ?)",
            (approval_id, json.dumps(payload), iso(utcnow())),
        )

    def drop_hook(self, approval_id: str) -> bool:
        cursor = self._conn.execute(
            "UPDATE hooks SET status = 'dropped' WHERE approval_id = ? AND status NOT IN ('ok', 'dropped')",
            (approval_id,),
        )
        return cursor.rowcount > 0

    def owe_answer(self, approval_id: str, kind: AnswerKind, address: str) -> None:
        self._conn.execute(
            "INSERT OR IGNORE INTO outbox (approval_id, kind, address, created_at) VALUES (?, ?, ?, ?)",
            (approval_id, kind, address, iso(utcnow())),
        )

    def claim_answer(self, answer_id: int) -> bool:
        cursor = self._conn.execute(
            "UPDATE outbox SET status = 'sending' WHERE id = ? AND status IN ('pending', 'failed')",
            (answer_id,),
        )
        return cursor.rowcount == 1


class SqliteStore(_Reader, SharedStoreQueries):
    """The open database. Use ``open_store`` (a context manager) to get one."""

    def __init__(self, conn: _Connection, path: Path) -> None:
        super().__init__(conn)
        self.path = path

    @property
    def location(self) -> str:
        return str(self.path)

    @contextmanager
    def transaction(self) -> Iterator[SqliteTransaction]:
        """BEGIN IMMEDIATE … COMMIT, or ROLLBACK on any exception."""
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            yield SqliteTransaction(self._conn)
        except BaseException:
            if self._conn.raw.in_transaction:  # SQLite may have rolled back itself (full disk)
                try:
                    self._conn.raw.execute("ROLLBACK")
                except sqlite3.Error:
                    pass  # the error being raised says more than this one
            raise
        self._conn.execute("COMMIT")

    @contextmanager
    def run_lock(
        self, wait: float = 0.0, *, mode: str = "run", wait_for_watcher: float = 0.0
    ) -> Iterator[None]:
        """The process-replies lock of this state directory (``store.lock``); LockedError (75) if taken."""
        from mailrelay_cli.store.lock import run_lock

        with run_lock(self.path.parent, wait, mode=mode, wait_for_watcher=wait_for_watcher):
            yield

    def wait_for_decision(self, seconds: float) -> None:
        """Return when another connection committed a change, or after ``seconds``.

        SQLite cannot notify: this is a short poll of ``PRAGMA data_version``,
        which changes whenever another connection commits.
        """
        import time

        deadline = time.monotonic() + max(seconds, 0.0)
        seen = self._conn.execute("PRAGMA data_version").fetchone()[0]
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return
            time.sleep(min(POLL_SECONDS, left))
            if self._conn.execute("PRAGMA data_version").fetchone()[0] != seen:
                return

    def close(self) -> None:
        self._conn.close()

    # -- approvals

    # -- audit, hooks, answers

    def audit_counts_since(self, since: datetime) -> AuditCounts:
        (row,) = self._all(
            "SELECT COUNT(*) AS messages,"
            " COALESCE(SUM(outcome IN ('approved', 'rejected')), 0) AS decisions"
            " FROM audit WHERE processed_at >= ? AND duplicate_of IS NULL",
            (iso(since),),
        )
        return AuditCounts(int(row["messages"]), int(row["decisions"]))

    def owed_answers(self) -> list[OwedAnswer]:
        rows = self._all(
            "SELECT * FROM outbox WHERE status IN ('pending', 'failed')"
            " AND (next_attempt_at IS NULL OR next_attempt_at <= ?) ORDER BY id",
            (iso(utcnow()),),
        )
        return [
            OwedAnswer(row["id"], row["approval_id"], row["kind"], row["address"], row["attempts"])
            for row in rows
        ]

    # -- runs (read by `mailrelay status`)

    def record_run_start(self) -> int:
        with self.transaction():
            cursor = self._conn.execute(
                "INSERT INTO runs (started_at, pid, host) VALUES (?, ?, ?)",
                (iso(utcnow()), os.getpid(), socket.gethostname()),
            )
        return int(cursor.lastrowid or 0)

    def runs_since(self, since: datetime) -> list[RunRecord]:
        """Runs started at or after ``since``, oldest first."""
        rows = self._all("SELECT * FROM runs WHERE started_at >= ? ORDER BY id", (iso(since),))
        return [records.run(row) for row in rows]

    def last_run(self) -> RunRecord | None:
        rows = self._all("SELECT * FROM runs ORDER BY id DESC LIMIT 1")
        return records.run(rows[0]) if rows else None

    def last_success(self) -> RunRecord | None:
        rows = self._all("SELECT * FROM runs WHERE outcome = 'ok' ORDER BY id DESC LIMIT 1")
        return records.run(rows[0]) if rows else None

    # -- the watcher (process-replies --watch)

    def watch_started(self, mailbox: str, mode: str | None) -> int:
        now = iso(utcnow())
        with self.transaction():
            cursor = self._conn.execute(
                "INSERT INTO watchers (host, pid, mailbox, mode, started_at, heartbeat_at,"
                " last_event, last_event_at) VALUES (?, ?, ?, ?, ?, ?, 'started', ?)",
                (socket.gethostname(), os.getpid(), mailbox, mode, now, now, now),
            )
        return int(cursor.lastrowid or 0)

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
            self._conn.execute(
                "UPDATE watchers SET heartbeat_at = ?, mode = COALESCE(?, mode),"
                " last_event = COALESCE(?, last_event),"
                " last_event_at = CASE WHEN ? IS NULL THEN last_event_at ELSE ? END,"
                " reconnects = CASE WHEN reconnects_on = ? THEN reconnects ELSE 0 END + ?,"
                " reconnects_on = ? WHERE id = ?",
                (now, mode, event, event, now, today, 1 if reconnected else 0, today, watch_id),
            )


def db_path(state_dir: Path) -> Path:
    return Path(state_dir) / DB_NAME


@contextmanager
def open_sqlite_store(state_dir: Path) -> Iterator[SqliteStore]:
    """Open (creating and migrating) the database in ``state_dir``; closes it on exit.

    Every way it can fail that is not a bug is a StateError (78) or StateBusyError (75)
    naming the path: an unwritable directory, a corrupt, truncated or read-only file,
    a full disk.
    """
    state_dir = Path(state_dir)
    try:
        state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    except OSError as e:
        raise StateError(
            f"cannot create the state directory {state_dir}: {e.strerror}",
            hint="mailrelay config set state.path /a/writable/dir",
        ) from e
    path = db_path(state_dir)
    try:
        # isolation_level=None: transactions are explicit (SqliteStore.transaction), never implicit.
        raw = sqlite3.connect(path, isolation_level=None, timeout=30)
    except sqlite3.Error as e:
        raise StateError(
            f"cannot open the state database {path}: {e}",
            hint="mailrelay config set state.path /a/writable/dir",
        ) from e
    raw.row_factory = sqlite3.Row
    conn = _Connection(raw, path)
    try:
        try:
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = FULL")
            conn.execute("PRAGMA foreign_keys = ON")
            migrate(raw, path)
            os.chmod(path, 0o600)
        except sqlite3.Error as e:
            raise translate_error(e, path) from e
        except OSError as e:
            raise StateError(
                f"state database {path}: {e.strerror}",
                hint="check the state directory's permissions and free space",
            ) from e
        yield SqliteStore(conn, path)
    except sqlite3.Error as e:  # a read outside the wrapped calls: still never a bare traceback
        raise translate_error(e, path) from e
    finally:
        conn.close()
