"""The state store (approvals, votes, audit, owed hooks and answers) and the run lock.

``open_store`` is the one way to get a store: callers hold it as the
``Store`` interface (``store.interface``) and never see which database is
behind it. The run lock is ``store.lock.run_lock``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Protocol

# The interface is what this package offers; re-exported so `store.Store` names it.
from mailrelay_cli.store.interface import Store, Transaction

if TYPE_CHECKING:
    from pathlib import Path

__all__ = ["Store", "Transaction", "open_store", "store_exists", "store_location"]


class _HasStateDir(Protocol):
    @property
    def state_dir(self) -> Path: ...


def _state_dir(source: _HasStateDir | Path | str) -> Path:
    from pathlib import Path

    return Path(source if isinstance(source, Path | str) else source.state_dir)


@contextmanager
def open_store(source: _HasStateDir | Path | str) -> Iterator[Store]:
    """Open the store of ``source`` (the settings, or a state directory); closed on exit.

    Only SQLite in the state directory for now; this is where a backend is chosen.
    """
    # Imported here: sqlite3 stays off the start-up path of commands that never open the store.
    from mailrelay_cli.store.sqlite import open_sqlite_store

    with open_sqlite_store(_state_dir(source)) as store:
        yield store


def store_location(source: _HasStateDir | Path | str) -> str:
    """Where the store of ``source`` is (or would be), for messages."""
    from mailrelay_cli.store.sqlite import db_path

    return str(db_path(_state_dir(source)))


def store_exists(source: _HasStateDir | Path | str) -> bool:
    """Whether the store of ``source`` was ever created (looking does not create it)."""
    from mailrelay_cli.store.sqlite import db_path

    return db_path(_state_dir(source)).is_file()
