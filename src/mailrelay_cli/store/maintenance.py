"""``mailrelay state migrate``: bring a store's schema to this program's version.

SQLite is also migrated whenever it is opened (one host, nobody else to
disturb); PostgreSQL only here, under an advisory lock (``postgres_schema``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

StoreKind = Literal["sqlite", "postgresql"]


@dataclass(frozen=True)
class MigrateResult:
    """Where the store is, and its schema version before and after."""

    location: str
    kind: StoreKind
    before: int | None  # None: there was no store (or no schema) yet
    after: int

    @property
    def changed(self) -> bool:
        return self.before != self.after

    def to_json(self) -> dict[str, object]:
        return {
            "store": self.location,
            "kind": self.kind,
            "from_version": self.before,
            "to_version": self.after,
        }


def migrate_sqlite(state_dir: Path) -> MigrateResult:
    """Open (creating or upgrading) the SQLite store in ``state_dir``."""
    import sqlite3

    from mailrelay_cli.store.sqlite import db_path, open_sqlite_store
    from mailrelay_cli.store.sqlite_schema import SCHEMA_VERSION

    path = db_path(state_dir)
    before: int | None = None
    if path.is_file():
        try:
            conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
            try:
                before = int(conn.execute("PRAGMA user_version").fetchone()[0])
            finally:
                conn.close()
        except sqlite3.Error:
            before = None  # opening it below says what is wrong
    with open_sqlite_store(state_dir):
        pass
    return MigrateResult(str(path), "sqlite", before, SCHEMA_VERSION)


def migrate_postgres(url: str, password: Callable[[], str | None] | None) -> MigrateResult:
    """Create or upgrade the schema of the PostgreSQL store at ``url`` (safe from several hosts)."""
    from mailrelay_cli.store.postgres_connect import connect, display_url, translated
    from mailrelay_cli.store.postgres_schema import migrate

    location = display_url(url)
    conn = connect(url, password)
    try:
        with translated(location):
            before, after = migrate(conn, location)
    finally:
        conn.close()
    return MigrateResult(location, "postgresql", before, after)
