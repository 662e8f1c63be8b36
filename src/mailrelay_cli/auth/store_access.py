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
from mailrelay_cli.errors import KeyringSettingError, NoKeyringError
from mailrelay_cli.store import Store, open_store, state_url
from mailrelay_cli.store.copy import CopyResult
from mailrelay_cli.store.maintenance import MigrateResult

PASSWORD_NAME = "state.password"


def state_password(profile: str) -> str | None:
    """The state store password from the environment or the keyring, or None (libpq's turn)."""
    try:
        return credentials.get_secret(profile, PASSWORD_NAME, inherit=False)
    except KeyringSettingError:
        raise  # a mistyped PYTHON_KEYRING_BACKEND is a settings fault (78), not "no password"
    except NoKeyringError:
        return None


@contextmanager
def open_state(settings: Settings) -> Iterator[Store]:
    """The state store of ``settings``, open until the block ends (see ``store.open_store``)."""
    with open_store(settings, lambda: state_password(settings.profile)) as db:
        yield db


def migrate_state(settings: Settings) -> MigrateResult:
    """``mailrelay state migrate``: create or upgrade the schema of this host's store."""
    from mailrelay_cli.store import maintenance

    url = state_url(settings)
    if url is None:
        return maintenance.migrate_sqlite(settings.state_dir)
    return maintenance.migrate_postgres(url, lambda: state_password(settings.profile))


def copy_state(settings: Settings, to_url: str) -> CopyResult:
    """``mailrelay state copy --to URL``: the SQLite store in ``state.path`` into PostgreSQL.

    The source is always this host's SQLite file, whether or not ``state.url``
    already points at the target; the target's password is ``state.password``
    (or libpq's own), as for ``state.url``.
    """
    from mailrelay_cli.config.state_url import check_state_url
    from mailrelay_cli.store.copy import copy_to_postgres

    check_state_url(to_url, settings.path)
    return copy_to_postgres(settings.state_dir, to_url, lambda: state_password(settings.profile))
