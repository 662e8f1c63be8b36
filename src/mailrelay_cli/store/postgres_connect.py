"""Reaching a PostgreSQL state store: the ``state.url``, the connection, and what its errors mean.

``state.url`` is a libpq URI, ``postgresql://USER@HOST:PORT/DB``, with any of
libpq's own parameters after ``?`` (``sslmode=verify-full``,
``sslrootcert=/path/ca.pem``, ``connect_timeout=5``). It never holds a
password: the password comes from the caller (keyring ``state.password`` or
``MAILRELAY_STATE_PASSWORD``), else libpq finds one itself (``PGPASSWORD``,
``PGPASSFILE``, ``~/.pgpass``). The password is handed to libpq as a
connection parameter, never put in a message, a log line or a process
argument. Every error names the URL as written in the settings (which has no
password to hide).

Failures and their exit codes: server unreachable, restarting or gone in the
middle of a run: 75 (``TemporaryError``; cron retries). Password or
``pg_hba.conf`` refused: 77 (``AuthError``, as for SMTP and IMAP logins).
Database missing, no schema, certificate not trusted, URL malformed: 78.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from mailrelay_cli.errors import (
    AuthError,
    CertificateError,
    ConfigError,
    InternalError,
    MailrelayError,
    TemporaryError,
)

if TYPE_CHECKING:
    import psycopg

SCHEMES = ("postgresql://", "postgres://")
DEFAULT_CONNECT_TIMEOUT = "10"
# A host that stops talking holds no lock for long; a writer waits for another as SQLite does.
# Sent as libpq ``options`` (no extra round trip); ``LOCK_TIMEOUT`` is restored after a longer wait.
LOCK_TIMEOUT = "30s"
STATEMENT_TIMEOUT = "60s"
SESSION_OPTIONS = (
    f"-c idle_in_transaction_session_timeout=60s -c lock_timeout={LOCK_TIMEOUT}"
    f" -c statement_timeout={STATEMENT_TIMEOUT}"
)
PASSWORD_HINT = (
    "mailrelay secret set state.password (or set MAILRELAY_STATE_PASSWORD, or add a line to the PGPASSFILE)"
)


def is_postgres_url(url: str | None) -> bool:
    return bool(url) and str(url).startswith(SCHEMES)


def parse_url(url: str) -> dict[str, str]:
    """The libpq parameters of ``url``; ConfigError when it is not one, or holds a password."""
    import psycopg
    from psycopg.conninfo import conninfo_to_dict

    if not is_postgres_url(url):
        raise ConfigError(
            f"state.url {url!r} is not a postgresql:// URL",
            hint='mailrelay config set state.url "postgresql://USER@HOST:5432/DB"',
        )
    try:
        params = {key: str(value) for key, value in conninfo_to_dict(url).items() if value is not None}
    except psycopg.ProgrammingError as e:
        raise ConfigError(
            f"state.url is not a valid PostgreSQL URL: {_first_line(e)}",
            hint='mailrelay config set state.url "postgresql://USER@HOST:5432/DB"',
        ) from None
    if "password" in params:
        raise ConfigError(
            "state.url holds a password; passwords never go in the settings file or on a command line",
            hint="remove it from the URL and run: " + PASSWORD_HINT,
        )
    return params


def display_url(url: str) -> str:
    """``url`` for messages: as written, or with any password cut out if one slipped in."""
    from urllib.parse import urlsplit, urlunsplit

    try:
        parts = urlsplit(url)
    except ValueError:
        return "postgresql://(unparseable URL)"
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, _, hostport = netloc.rpartition("@")
        netloc = f"{userinfo.split(':', 1)[0]}@{hostport}"
    query = "&".join(item for item in parts.query.split("&") if not item.startswith("password="))
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def connect(url: str, password: Callable[[], str | None] | None = None) -> psycopg.Connection[Any]:
    """An autocommit connection to ``url`` with dict rows; MailrelayError naming the URL on failure."""
    import psycopg
    from psycopg.rows import dict_row

    params: dict[str, Any] = dict(parse_url(url))
    params.setdefault("connect_timeout", DEFAULT_CONNECT_TIMEOUT)
    params["options"] = f"{params['options']} {SESSION_OPTIONS}" if params.get("options") else SESSION_OPTIONS
    # Says who holds a lock (pg_stat_activity), e.g. when a run is locked out.
    params.setdefault("application_name", f"mailrelay pid {os.getpid()} on {socket.gethostname()}"[:63])
    secret = password() if password is not None else None
    if secret:
        params["password"] = secret
    location = display_url(url)
    try:
        return psycopg.connect(autocommit=True, row_factory=dict_row, **params)
    except psycopg.Error as e:
        raise connect_error(location, e) from None


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    # libpq puts one line per address tried; the last is the most specific reason.
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else type(error).__name__


def connect_error(location: str, error: Exception) -> MailrelayError:
    """What a failed connection attempt means for the user (see the module docstring)."""
    reason = _first_line(error)
    text = str(error).lower()
    state = getattr(error, "sqlstate", None)
    if (
        state in ("28P01", "28000")
        or "password authentication failed" in text
        or "no password supplied" in text
        or "pg_hba.conf" in text
        or "authentication failed" in text
    ):
        return AuthError(f"the state store {location} refused the login: {reason}", hint=PASSWORD_HINT)
    if state == "3D000" or ("database" in text and "does not exist" in text):
        return ConfigError(
            f"the state store {location} has no such database: {reason}",
            hint="create it (createdb -O USER DB, as a PostgreSQL admin), then: mailrelay state migrate",
        )
    if "certificate" in text or "ssl error" in text or "sslrootcert" in text:
        return CertificateError(
            f"the state store {location}: TLS verification failed: {reason}",
            hint="point sslrootcert= in state.url at the CA that signed the "
            "server's certificate (sslmode=verify-full checks the host "
            "name too)",
        )
    if "server does not support ssl" in text:
        return ConfigError(
            f"the state store {location} does not offer TLS, and state.url asks for it: {reason}",
            hint="enable ssl on the server, or drop sslmode from state.url",
        )
    if "invalid" in text and ("option" in text or "parameter" in text or "sslmode" in text):
        return ConfigError(
            f"state.url {location}: {reason}",
            hint="see libpq's connection parameters; e.g. ?sslmode=verify-full",
        )
    return TemporaryError(
        f"cannot reach the state store {location}: {reason}",
        hint="check that PostgreSQL is up and reachable from this host; "
        "nothing was changed, the next run retries",
    )


@contextmanager
def translated(location: str) -> Iterator[None]:
    """Turn a psycopg error raised inside the block into the MailrelayError it means."""
    import psycopg
    from psycopg import errors

    try:
        yield
    except (errors.UndefinedTable, errors.UndefinedColumn) as e:
        raise ConfigError(
            f"the state store {location} lacks part of the mailrelay schema: {_first_line(e)}",
            hint="mailrelay state migrate",
        ) from e
    except errors.LockNotAvailable as e:
        raise TemporaryError(
            f"the state store {location} stayed locked by another host: {_first_line(e)}",
            hint="another mailrelay held it too long; the next run retries",
        ) from e
    except errors.InsufficientPrivilege as e:
        raise ConfigError(
            f"the state store {location} refused: {_first_line(e)}",
            hint="GRANT the mailrelay role rights on the database (see README, Several hosts)",
        ) from e
    except (psycopg.OperationalError, psycopg.InterfaceError) as e:
        # Server stopped, restarted or unreachable mid-run: nothing after this commits.
        raise TemporaryError(
            f"lost the state store {location}: {_first_line(e)}",
            hint="nothing after the last commit was kept; the next run finishes the work",
        ) from e
    except psycopg.Error as e:
        raise InternalError(
            f"state store {location}: {_first_line(e)}", hint="run again with -v and report the traceback"
        ) from e
