"""The state store: one SQLite database in the state dir, and the process-replies run lock.

Tables (schema version in ``PRAGMA user_version``, migrated forward on open):

- ``approvals``: one row per approval asked; its status is final once decided
  or cancelled. Expiry is not stored: a pending row past ``expires_at`` reads
  as ``expired`` (see ``approvals.effective_status``).
- ``votes``: one row per approver who decided (``--required N`` counts them).
- ``audit``: one row per reply message read, keyed by mailbox, UIDVALIDITY
  and UID, with the SHA-256 of the raw message; the proof that a message was
  handled before it is deleted from the server.
- ``hooks``: the ``approval.on_decision`` runs owed, retried until they succeed.
- ``outbox``: short answers owed (too-late replies, decision notices); unique
  per approval, kind and address so nobody gets two.
- ``runs``: one row per process-replies run, read by ``mailrelay status``.

Times are UTC ISO-8601 strings (``datetime.isoformat``), which sort as text.
"""

from __future__ import annotations

import json
import os
import socket
import sqlite3
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from mailrelay_cli.errors import ConfigError, InternalError, LockedError

DB_NAME = "mailrelay.db"
LOCK_NAME = "process-replies.lock"

# Each entry moves the schema from version i to i + 1; never edit a released one.
MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE approvals (
        id TEXT PRIMARY KEY,
        reference TEXT NOT NULL,
        title TEXT NOT NULL,
        subject TEXT NOT NULL,
        approvers TEXT NOT NULL,
        required INTEGER NOT NULL DEFAULT 1,
        notify TEXT NOT NULL DEFAULT '[]',
        requested_by TEXT,
        message_id TEXT,
        created_at TEXT NOT NULL,
        expires_at TEXT NOT NULL,
        status TEXT NOT NULL DEFAULT 'pending',
        decided_by TEXT,
        decided_at TEXT,
        comment TEXT
    );
    CREATE TABLE votes (
        approval_id TEXT NOT NULL REFERENCES approvals(id),
        approver TEXT NOT NULL,
        decision TEXT NOT NULL,
        comment TEXT,
        decided_at TEXT NOT NULL,
        audit_id INTEGER,
        PRIMARY KEY (approval_id, approver)
    );
    CREATE TABLE audit (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        mailbox TEXT NOT NULL,
        uidvalidity INTEGER NOT NULL,
        uid TEXT NOT NULL,
        message_id TEXT,
        sender TEXT,
        subject TEXT,
        date TEXT,
        outcome TEXT NOT NULL,
        approval_id TEXT,
        sha256 TEXT NOT NULL,
        size INTEGER,
        archive_path TEXT,
        duplicate_of INTEGER,
        processed_at TEXT NOT NULL,
        UNIQUE (mailbox, uidvalidity, uid)
    );
    CREATE INDEX audit_sha256 ON audit(sha256);
    CREATE INDEX audit_message_id ON audit(message_id);
    CREATE TABLE hooks (
        approval_id TEXT PRIMARY KEY REFERENCES approvals(id),
        payload TEXT NOT NULL,
        status TEXT NOT NULL DEFAULT 'pending',
        attempts INTEGER NOT NULL DEFAULT 0,
        last_error TEXT,
        last_attempt_at TEXT,
        created_at TEXT NOT NULL
    );
    CREATE TABLE outbox (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        approval_id TEXT NOT NULL,
        kind TEXT NOT NULL,
        address TEXT NOT NULL,
        status TEXT NOT NULL DEFAULT 'pending',
        attempts INTEGER NOT NULL DEFAULT 0,
        last_error TEXT,
        created_at TEXT NOT NULL,
        sent_at TEXT,
        UNIQUE (approval_id, kind, address)
    );
    CREATE TABLE runs (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        started_at TEXT NOT NULL,
        finished_at TEXT,
        outcome TEXT,
        counts TEXT,
        error TEXT,
        pid INTEGER,
        host TEXT
    );
    """,
)
SCHEMA_VERSION = len(MIGRATIONS)


def utcnow() -> datetime:
    """Now, in UTC (``datetime.now`` so freezegun can stop the clock in tests)."""
    return datetime.now(UTC)


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds")


def parse_iso(text: str) -> datetime:
    return datetime.fromisoformat(text)


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
class HookRecord:
    approval_id: str
    status: str  # "pending", "ok", "failed"
    attempts: int
    last_error: str | None
    last_attempt_at: str | None


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
    outcome: str
    approval_id: str | None
    sha256: str
    archive_path: str | None
    duplicate_of: int | None
    processed_at: str


class Store:
    """The open database. Use ``open_store`` (a context manager) to get one."""

    def __init__(self, conn: sqlite3.Connection, path: Path) -> None:
        self.conn = conn
        self.path = path

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """BEGIN IMMEDIATE … COMMIT, or ROLLBACK on any exception."""
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield self.conn
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")

    def query(self, sql: str, params: tuple[Any, ...] | Mapping[str, Any] = ()) -> list[sqlite3.Row]:
        return list(self.conn.execute(sql, params))

    def close(self) -> None:
        self.conn.close()

    # -- runs (read by `mailrelay status`) -------------------------------------------

    def record_run_start(self) -> int:
        """Record a run starting now; returns its id for ``record_run_finish``."""
        with self.transaction() as conn:
            cursor = conn.execute(
                "INSERT INTO runs (started_at, pid, host) VALUES (?, ?, ?)",
                (iso(utcnow()), os.getpid(), socket.gethostname()),
            )
        return int(cursor.lastrowid or 0)

    def record_run_finish(self, run_id: int, outcome: str, counts: Mapping[str, int],
                          error: str | None = None) -> None:
        """Close run ``run_id``: outcome ``ok`` or ``failed``, the message counts, the error line."""
        with self.transaction() as conn:
            conn.execute(
                "UPDATE runs SET finished_at = ?, outcome = ?, counts = ?, error = ? WHERE id = ?",
                (iso(utcnow()), outcome, json.dumps(dict(counts)), error, run_id),
            )

    def runs_since(self, since: datetime) -> list[RunRecord]:
        """Runs started at or after ``since``, oldest first."""
        rows = self.query("SELECT * FROM runs WHERE started_at >= ? ORDER BY id", (iso(since),))
        return [_run(row) for row in rows]

    def last_run(self) -> RunRecord | None:
        rows = self.query("SELECT * FROM runs ORDER BY id DESC LIMIT 1")
        return _run(rows[0]) if rows else None

    def last_success(self) -> RunRecord | None:
        rows = self.query("SELECT * FROM runs WHERE outcome = 'ok' ORDER BY id DESC LIMIT 1")
        return _run(rows[0]) if rows else None

    def pending_approvals(self) -> list[str]:
        """Ids of approvals still waiting for a decision (pending and not yet expired)."""
        rows = self.query(
            "SELECT id FROM approvals WHERE status = 'pending' AND expires_at > ? ORDER BY created_at",
            (iso(utcnow()),),
        )
        return [row["id"] for row in rows]

    def failing_hooks(self) -> list[HookRecord]:
        """``on_decision`` hooks that ran and failed, and are still owed."""
        rows = self.query(
            "SELECT * FROM hooks WHERE status = 'failed' ORDER BY created_at"
        )
        return [_hook(row) for row in rows]

    def hooks(self) -> list[HookRecord]:
        return [_hook(row) for row in self.query("SELECT * FROM hooks ORDER BY created_at")]

    def audit_rows(self) -> list[AuditRow]:
        return [_audit(row) for row in self.query("SELECT * FROM audit ORDER BY id")]


def _run(row: sqlite3.Row) -> RunRecord:
    return RunRecord(
        id=row["id"], started_at=row["started_at"], finished_at=row["finished_at"],
        outcome=row["outcome"], counts=json.loads(row["counts"] or "{}"), error=row["error"],
    )


def _hook(row: sqlite3.Row) -> HookRecord:
    return HookRecord(
        approval_id=row["approval_id"], status=row["status"], attempts=row["attempts"],
        last_error=row["last_error"], last_attempt_at=row["last_attempt_at"],
    )


def _audit(row: sqlite3.Row) -> AuditRow:
    return AuditRow(**{key: row[key] for key in AuditRow.__dataclass_fields__})


def _migrate(conn: sqlite3.Connection, path: Path) -> None:
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    if version > SCHEMA_VERSION:
        raise ConfigError(
            f"{path} has schema version {version}, newer than this mailrelay knows "
            f"({SCHEMA_VERSION})",
            hint="upgrade mailrelay, or point state.path at another directory",
        )
    for number in range(version, SCHEMA_VERSION):
        conn.execute("BEGIN IMMEDIATE")
        try:
            for statement in MIGRATIONS[number].split(";"):
                if statement.strip():
                    conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {number + 1}")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")


def db_path(state_dir: Path) -> Path:
    return Path(state_dir) / DB_NAME


@contextmanager
def open_store(state_dir: Path) -> Iterator[Store]:
    """Open (creating and migrating) the database in ``state_dir``; closes it on exit."""
    state_dir = Path(state_dir)
    try:
        state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    except OSError as e:
        raise ConfigError(f"cannot create the state directory {state_dir}: {e.strerror}",
                          hint="mailrelay config set state.path /a/writable/dir") from e
    path = db_path(state_dir)
    try:
        # isolation_level=None: transactions are explicit (Store.transaction), never implicit.
        conn = sqlite3.connect(path, isolation_level=None, timeout=30)
    except sqlite3.Error as e:
        raise ConfigError(f"cannot open the state database {path}: {e}",
                          hint="mailrelay config set state.path /a/writable/dir") from e
    conn.row_factory = sqlite3.Row
    try:
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = FULL")
        conn.execute("PRAGMA foreign_keys = ON")
        _migrate(conn, path)
        os.chmod(path, 0o600)
        yield Store(conn, path)
    except sqlite3.DatabaseError as e:
        raise InternalError(f"state database {path}: {e}",
                            hint="run again with -v and report the traceback") from e
    finally:
        conn.close()


@dataclass(frozen=True)
class LockHolder:
    pid: int | None
    host: str | None
    started_at: str | None


@contextmanager
def run_lock(state_dir: Path) -> Iterator[Path]:
    """Hold the process-replies lock for the duration; LockedError (75) naming the holder if taken.

    ``fcntl.flock`` is released by the kernel when the holder dies, so a crashed
    run never leaves a stale lock behind; the pid/host/start written in the file
    are only there to say who holds it.
    """
    import fcntl

    state_dir = Path(state_dir)
    state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = state_dir / LOCK_NAME
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = read_lock_holder(path)
            who = f"pid {holder.pid} on {holder.host}" if holder.pid else "another process"
            since = f" since {holder.started_at}" if holder.started_at else ""
            raise LockedError(
                f"another process-replies run holds the lock {path} ({who}{since})",
                hint="wait for it to finish; cron will run process-replies again at the next "
                     "interval",
            ) from None
        info = json.dumps({"pid": os.getpid(), "host": socket.gethostname(),
                           "started_at": iso(utcnow())})
        os.ftruncate(fd, 0)
        os.pwrite(fd, info.encode(), 0)
        try:
            yield path
        finally:
            os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def read_lock_holder(path: Path) -> LockHolder:
    try:
        data = json.loads(Path(path).read_text() or "{}")
    except (OSError, ValueError):
        data = {}
    return LockHolder(data.get("pid"), data.get("host"), data.get("started_at"))
