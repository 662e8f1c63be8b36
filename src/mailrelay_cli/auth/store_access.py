"""Opening the state store with its credentials: the one place the store's password is looked up.

``store.open_store`` chooses SQLite or PostgreSQL from the settings; a
PostgreSQL store may need a password, which lives with the other secrets
(``state.password``: ``MAILRELAY_STATE_PASSWORD`` first, then the keyring).
When neither has one, libpq looks for its own (``PGPASSWORD``,
``PGPASSFILE``, ``~/.pgpass``), so a host without a keyring can use a
password file of mode 0600 as it would for psql. The secret is read only when
a PostgreSQL connection is actually made.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from mailrelay_cli.auth import credentials
from mailrelay_cli.config.records import Settings
from mailrelay_cli.errors import NoKeyringError
from mailrelay_cli.store import Store, open_store

PASSWORD_NAME = "state.password"


def state_password(profile: str) -> str | None:
    """The state store password from the environment or the keyring, or None (libpq's turn)."""
    try:
        return credentials.get_secret(profile, PASSWORD_NAME, inherit=False)
    except NoKeyringError:
        return None


@contextmanager
def open_state(settings: Settings) -> Iterator[Store]:
    """The state store of ``settings``, open until the block ends (see ``store.open_store``)."""
    with open_store(settings, lambda: state_password(settings.profile)) as db:
        yield db
