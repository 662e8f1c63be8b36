"""The state store (approvals, votes, audit, owed hooks and answers) and the run lock.

``open_store`` is the one way to get a store: callers hold it as the
``Store`` interface (``store.interface``) and never see which database is
behind it: SQLite in the state directory (``store.sqlite``), or PostgreSQL
when the settings have ``state.url`` (``store.postgres``). The run lock is
``Store.run_lock()``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Protocol

# The interface is what this package offers; re-exported so `store.Store` names it.
from mailrelay_cli.store.interface import Store, Transaction

if TYPE_CHECKING:
    from pathlib import Path

__all__ = ["Store", "Transaction", "open_store", "state_url", "store_exists", "store_location"]


class _HasStateDir(Protocol):
    @property
    def state_dir(self) -> Path: ...


def state_url(source: object) -> str | None:
    """The ``state.url`` of ``source`` (settings), or None: SQLite in the state directory."""
    url = getattr(source, "state_url", None)
    return str(url) if url else None


def _state_dir(source: _HasStateDir | Path | str) -> Path:
    from pathlib import Path

    return Path(source if isinstance(source, Path | str) else source.state_dir)


@contextmanager
def open_store(
    source: _HasStateDir | Path | str, password: Callable[[], str | None] | None = None
) -> Iterator[Store]:
    """Open the store of ``source`` (the settings, or a state directory); closed on exit.

    With ``state.url`` set, the PostgreSQL database it names (``password`` is
    asked only then); otherwise SQLite in the state directory.
    """
    url = state_url(source)
    if url is not None:
        from mailrelay_cli.store.postgres import open_postgres_store

        with open_postgres_store(url, password) as pg:
            yield pg
        return
    # Imported here: sqlite3 stays off the start-up path of commands that never open the store.
    from mailrelay_cli.store.sqlite import open_sqlite_store

    with open_sqlite_store(_state_dir(source)) as store:
        yield store


def store_location(source: _HasStateDir | Path | str) -> str:
    """Where the store of ``source`` is (or would be), for messages."""
    url = state_url(source)
    if url is not None:
        from mailrelay_cli.store.postgres_connect import display_url

        return display_url(url)
    from mailrelay_cli.store.sqlite import db_path

    return str(db_path(_state_dir(source)))


def store_exists(source: _HasStateDir | Path | str) -> bool:
    """Whether the store of ``source`` was ever created (looking does not create it).

    A PostgreSQL store is taken to exist: opening it says what is missing.
    """
    if state_url(source) is not None:
        return True
    from mailrelay_cli.store.sqlite import db_path

    return db_path(_state_dir(source)).is_file()
