"""The SQLite schema of the state store, and moving an older database forward to it.

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
  per approval, kind and address so nobody gets two; ``sending`` while one is
  being sent (never sent again if that run dies), ``next_attempt_at`` after a
  failure (back-off).
- ``runs``: one row per process-replies run, read by ``mailrelay status``.
- ``issued_ids``: every approval id this store ever issued (a tombstone that
  outlives its approval row), so a reply naming an id never issued here is
  left in the mailbox (fail closed) instead of being judged ``unmatched``.
- ``request_fingerprints``: per approval, the fingerprint of the request's text
  (hashed word shingles, ``approvals.fingerprint``) that tells a reply's quote
  of the request from the approver's own words (migration 3).
- ``watchers`` (migration 4): one row per ``process-replies --watch`` process, its
  heartbeat, last event and reconnects today, read by ``mailrelay status``.

Times are UTC ISO-8601 strings (``datetime.isoformat``), which sort as text.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from mailrelay_cli.errors import ConfigError

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
    # 2: every approval id ever issued, kept when its approval row is discarded or pruned, so
    # a reply that names an id this store never issued is told apart from one it forgot.
    """
    CREATE TABLE issued_ids (
        id TEXT PRIMARY KEY,
        issued_at TEXT NOT NULL
    );
    INSERT OR IGNORE INTO issued_ids (id, issued_at) SELECT id, created_at FROM approvals;
    ALTER TABLE outbox ADD COLUMN next_attempt_at TEXT;
    """,
    # 3: the fingerprint of each request's text, which tells a quote of it from new words.
    """
    CREATE TABLE request_fingerprints (
        approval_id TEXT PRIMARY KEY REFERENCES approvals(id),
        fingerprint TEXT NOT NULL
    );
    """,
    # 4: the --watch processes, their heartbeat and events, for `mailrelay status`.
    """
    CREATE TABLE watchers (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        host TEXT NOT NULL,
        pid INTEGER NOT NULL,
        mailbox TEXT NOT NULL,
        mode TEXT,
        started_at TEXT NOT NULL,
        heartbeat_at TEXT NOT NULL,
        last_event TEXT,
        last_event_at TEXT,
        reconnects_on TEXT,
        reconnects INTEGER NOT NULL DEFAULT 0,
        stopped_at TEXT,
        outcome TEXT,
        error TEXT
    );
    CREATE INDEX watchers_heartbeat ON watchers(heartbeat_at);
    """,
    # 5: the time columns `mailrelay status` reads by range, indexed as on PostgreSQL.
    """
    CREATE INDEX audit_processed_at ON audit(processed_at);
    CREATE INDEX runs_started_at ON runs(started_at);
    """,
)
SCHEMA_VERSION = len(MIGRATIONS)


def migrate(conn: sqlite3.Connection, path: Path) -> None:
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    if version > SCHEMA_VERSION:
        raise ConfigError(
            f"{path} has schema version {version}, newer than this mailrelay knows ({SCHEMA_VERSION})",
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
