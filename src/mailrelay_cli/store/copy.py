"""``mailrelay state copy --to URL``: this host's SQLite state into a shared PostgreSQL store.

Every approval, vote, audit row, owed (or done) hook and answer, and the run
history move across, so a team that adds a second host keeps its history and
nothing owed is lost. The copy is one transaction on the target (all or
nothing) holding the store's write lock, so processors already using the
target wait for it rather than interleave.

Safe to run again: rows are matched on what identifies them, not on their
local numbers (an approval by id, a vote by approval and approver, an audit
row by mailbox + UIDVALIDITY + UID, an answer by approval, kind and address,
a run by this host, file and run number, kept in ``runs.origin``), so a second copy adds only what is new,
and a target that other hosts already write to is merged into, not
overwritten. Audit numbers are given anew by the target and the votes and
duplicates that point at them are renumbered with them. After the commit the
copy counts, table by table, that every source row is in the target.

The raw archive stays on this host (``archive_path`` keeps naming it).
"""

from __future__ import annotations

import socket
import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mailrelay_cli.errors import ConfigError, InternalError

TABLES = ("approvals", "issued_ids", "request_fingerprints", "votes", "audit", "hooks", "outbox", "runs")


@dataclass(frozen=True)
class TableCopy:
    """One table: rows in the source, rows added to the target, and rows found there after."""

    table: str
    source: int
    added: int
    verified: int

    def to_json(self) -> dict[str, object]:
        return {
            "table": self.table,
            "source": self.source,
            "added": self.added,
            "already": self.source - self.added,
            "verified": self.verified,
        }


@dataclass(frozen=True)
class CopyResult:
    source: str
    target: str
    created_schema: bool
    tables: tuple[TableCopy, ...]

    def to_json(self) -> dict[str, object]:
        return {
            "from": self.source,
            "to": self.target,
            "created_schema": self.created_schema,
            "tables": [t.to_json() for t in self.tables],
        }


def _read_source(state_dir: Path) -> tuple[str, dict[str, list[sqlite3.Row]]]:
    from mailrelay_cli.store.sqlite import db_path, open_sqlite_store

    path = db_path(state_dir)
    if not path.is_file():
        raise ConfigError(
            f"nothing to copy: there is no state database {path}",
            hint="run state copy on the host that has been asking and processing replies (its state.path)",
        )
    rows: dict[str, list[sqlite3.Row]] = {}
    with open_sqlite_store(state_dir) as source:  # migrates an older file first
        conn = source._conn  # the store package may use its own connection
        for table in TABLES:
            rows[table] = list(conn.execute(f"SELECT * FROM {table} ORDER BY rowid"))
    return str(path), rows


def _insert(conn: Any, sql: str, params: Sequence[Any]) -> bool:
    cursor = conn.execute(sql, params)
    return bool(cursor.rowcount)


def _copy_rows(conn: Any, rows: dict[str, list[sqlite3.Row]], origin: str) -> dict[str, int]:
    added = dict.fromkeys(TABLES, 0)
    for row in rows["approvals"]:
        added["approvals"] += _insert(
            conn,
            (
                "INSERT INTO approvals (id, reference, title, subject, approvers, required, notify,"
                " requested_by, message_id, created_at, expires_at, status, decided_by, decided_at,"
                " comment) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
                # decided here after an earlier copy: the final state wins over a pending one
                " ON CONFLICT (id) DO UPDATE SET status = EXCLUDED.status,"
                " decided_by = EXCLUDED.decided_by, decided_at = EXCLUDED.decided_at,"
                " comment = EXCLUDED.comment"
                " WHERE approvals.status = 'pending' AND EXCLUDED.status <> 'pending'"
            ),
            [
                row[key]
                for key in (
                    "id",
                    "reference",
                    "title",
                    "subject",
                    "approvers",
                    "required",
                    "notify",
                    "requested_by",
                    "message_id",
                    "created_at",
                    "expires_at",
                    "status",
                    "decided_by",
                    "decided_at",
                    "comment",
                )
            ],
        )
    for row in rows["issued_ids"]:
        added["issued_ids"] += _insert(
            conn,
            ("INSERT INTO issued_ids (id, issued_at) VALUES (%s, %s) ON CONFLICT (id) DO NOTHING"),
            (row["id"], row["issued_at"]),
        )
    for row in rows["request_fingerprints"]:
        added["request_fingerprints"] += _insert(
            conn,
            (
                "INSERT INTO request_fingerprints (approval_id, fingerprint) VALUES (%s, %s)"
                " ON CONFLICT (approval_id) DO NOTHING"
            ),
            (row["approval_id"], row["fingerprint"]),
        )
    audit_ids: dict[int, int] = {}
    for row in rows["audit"]:
        duplicate_of = audit_ids.get(row["duplicate_of"]) if row["duplicate_of"] else None
        got = conn.execute(
            "INSERT INTO audit (mailbox, uidvalidity, uid, message_id, sender, subject, date,"
            " outcome, approval_id, sha256, size, archive_path, duplicate_of, processed_at)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
            " ON CONFLICT (mailbox, uidvalidity, uid) DO NOTHING RETURNING id",
            (
                row["mailbox"],
                row["uidvalidity"],
                row["uid"],
                row["message_id"],
                row["sender"],
                row["subject"],
                row["date"],
                row["outcome"],
                row["approval_id"],
                row["sha256"],
                row["size"],
                row["archive_path"],
                duplicate_of,
                row["processed_at"],
            ),
        ).fetchone()
        if got is None:
            got = conn.execute(
                "SELECT id FROM audit WHERE mailbox = %s AND uidvalidity = %s AND uid = %s",
                (row["mailbox"], row["uidvalidity"], row["uid"]),
            ).fetchone()
        else:
            added["audit"] += 1
        audit_ids[row["id"]] = int(got["id"])
    for row in rows["votes"]:
        added["votes"] += _insert(
            conn,
            (
                "INSERT INTO votes (approval_id, approver, decision, comment, decided_at, audit_id)"
                " VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING"
            ),
            (
                row["approval_id"],
                row["approver"],
                row["decision"],
                row["comment"],
                row["decided_at"],
                audit_ids.get(row["audit_id"]) if row["audit_id"] else None,
            ),
        )
    for row in rows["hooks"]:
        added["hooks"] += _insert(
            conn,
            (
                "INSERT INTO hooks (approval_id, payload, status, attempts, last_error,"
                " last_attempt_at, created_at) VALUES (%s, %s, %s, %s, %s, %s, %s)"
                # run (or dropped) here after an earlier copy: never owed again there
                " ON CONFLICT (approval_id) DO UPDATE SET status = EXCLUDED.status,"
                " attempts = EXCLUDED.attempts, last_error = EXCLUDED.last_error,"
                " last_attempt_at = EXCLUDED.last_attempt_at"
                " WHERE hooks.status NOT IN ('ok', 'dropped') AND EXCLUDED.status IN ('ok', 'dropped')"
            ),
            [
                row[key]
                for key in (
                    "approval_id",
                    "payload",
                    "status",
                    "attempts",
                    "last_error",
                    "last_attempt_at",
                    "created_at",
                )
            ],
        )
    for row in rows["outbox"]:
        added["outbox"] += _insert(
            conn,
            (
                "INSERT INTO outbox (approval_id, kind, address, status, attempts, last_error,"
                " created_at, sent_at, next_attempt_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)"
                # sent (or being sent) here after an earlier copy: at most once, so never again there
                " ON CONFLICT (approval_id, kind, address) DO UPDATE SET status = EXCLUDED.status,"
                " attempts = EXCLUDED.attempts, last_error = EXCLUDED.last_error,"
                " sent_at = EXCLUDED.sent_at, next_attempt_at = EXCLUDED.next_attempt_at"
                " WHERE outbox.status IN ('pending', 'failed') AND EXCLUDED.status IN ('sent', 'sending')"
            ),
            [
                row[key]
                for key in (
                    "approval_id",
                    "kind",
                    "address",
                    "status",
                    "attempts",
                    "last_error",
                    "created_at",
                    "sent_at",
                    "next_attempt_at",
                )
            ],
        )
    for row in rows["runs"]:
        added["runs"] += _insert(
            conn,
            (
                "INSERT INTO runs (started_at, finished_at, outcome, counts, error, pid, host, origin)"
                " VALUES (%s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT (origin) DO NOTHING"
            ),
            (
                row["started_at"],
                row["finished_at"],
                row["outcome"],
                row["counts"],
                row["error"],
                row["pid"],
                row["host"],
                f"{origin}#{row['id']}",
            ),
        )
    return added


# How each table's rows are found in the target: key columns and their PostgreSQL types.
_KEYS: dict[str, tuple[tuple[str, str], ...]] = {
    "approvals": (("id", "text"),),
    "issued_ids": (("id", "text"),),
    "request_fingerprints": (("approval_id", "text"),),
    "votes": (("approval_id", "text"), ("approver", "text")),
    "audit": (("mailbox", "text"), ("uidvalidity", "bigint"), ("uid", "text")),
    "hooks": (("approval_id", "text"),),
    "outbox": (("approval_id", "text"), ("kind", "text"), ("address", "text")),
    "runs": (("origin", "text"),),
}


def _key(table: str, row: sqlite3.Row, origin: str) -> tuple[Any, ...]:
    if table == "runs":
        return (f"{origin}#{row['id']}",)
    return tuple(row[column] for column, _ in _KEYS[table])


def _verified(conn: Any, table: str, rows: list[sqlite3.Row], origin: str) -> int:
    """How many distinct source keys of ``table`` the target holds."""
    keys = _KEYS[table]
    distinct = {_key(table, row, origin) for row in rows}
    if not distinct:
        return 0
    columns = list(zip(*distinct, strict=True))
    unnest = ", ".join(f"%s::{kind}[]" for _, kind in keys)
    names = ", ".join(f"k{i}" for i in range(len(keys)))
    match = " AND ".join(f"t.{column} IS NOT DISTINCT FROM k.k{i}" for i, (column, _) in enumerate(keys))
    row = conn.execute(
        f"SELECT count(*) AS n FROM (SELECT DISTINCT {names} FROM unnest({unnest}) AS k({names})) k"
        f" WHERE EXISTS (SELECT 1 FROM {table} t WHERE {match})",
        [list(values) for values in columns],
    ).fetchone()
    return int(row["n"])


def copy_to_postgres(state_dir: Path, url: str, password: Callable[[], str | None] | None) -> CopyResult:
    """Copy the SQLite store in ``state_dir`` into the PostgreSQL store at ``url`` (see above)."""
    from mailrelay_cli.store.postgres_connect import connect, display_url, translated
    from mailrelay_cli.store.postgres_schema import WRITE_LOCK, check_version, current_version, migrate

    source, rows = _read_source(state_dir)
    origin = f"{socket.gethostname()}:{source}"
    location = display_url(url)
    conn = connect(url, password)
    try:
        with translated(location):
            version = current_version(conn)
            created = version is None
            if created:
                migrate(conn, location)
            check_version(conn, location)
            with conn.transaction():
                conn.execute("SELECT pg_advisory_xact_lock(%s)", (WRITE_LOCK,))
                added = _copy_rows(conn, rows, origin)
            tables = []
            for table in TABLES:
                keys = {_key(table, row, origin) for row in rows[table]}
                verified = _verified(conn, table, rows[table], origin)
                if verified != len(keys):
                    raise InternalError(
                        f"state copy to {location}: {table} has {verified} of the "
                        f"{len(keys)} rows of {source} after the copy",
                        hint="run mailrelay state copy again; if it repeats, report it with -v",
                    )
                tables.append(TableCopy(table, len(rows[table]), added[table], verified))
    finally:
        conn.close()
    return CopyResult(source, location, created, tuple(tables))
