"""Network failures of any mail protocol as ``MailrelayError``s: one translation for SMTP and IMAP.

A name that does not resolve, a refused or timed-out connect, a TLS handshake
that fails, a server that never greets, and a connection that times out or
drops after it was made: each becomes the error a user can act on, naming
``host:port`` and the settings key to check. All but the TLS and no-greeting
cases are temporary (exit 75: cron tries again next run); a host name that does
not exist is an ``UnknownHostError``, still 75 but not worth retrying within a
run (a temporary DNS failure, EAI_AGAIN, stays a plain ``TemporaryError``).

Protocol modules wrap their work in ``translated(...)`` and handle only their
own replies (SMTP codes, IMAP NO/BAD) inside it.
"""

from __future__ import annotations

import errno
import socket
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from mailrelay_cli.config.endpoints import Endpoint
from mailrelay_cli.errors import MailrelayError, TemporaryError, UnknownHostError
from mailrelay_cli.transport.tls_explain import (
    HandshakeFailed,
    Reconnect,
    handshake_error,
    no_greeting_error,
)

if TYPE_CHECKING:
    from mailrelay_cli.transport.transcript import Transcript

RETRY_HINT = "try again later; a cron run retries by itself"

# getaddrinfo answers that mean the name has no address, not that DNS is down.
_NO_SUCH_NAME = {socket.EAI_NONAME} | ({socket.EAI_NODATA} if hasattr(socket, "EAI_NODATA") else set())


class NoGreeting(Exception):
    """Raised by a protocol module inside ``translated`` when the server accepted the connection
    and then said nothing until the timeout (only the protocol knows a greeting was due)."""


def resolve_error(error: socket.gaierror, endpoint: Endpoint) -> TemporaryError:
    """A failed name lookup: ``UnknownHostError`` when the name does not exist."""
    role = endpoint.role
    kind = UnknownHostError if error.errno in _NO_SUCH_NAME else TemporaryError
    return kind(
        f"cannot resolve {endpoint.host} ({role}.host): {error.strerror}",
        hint=f"check the spelling of {role}.host and this host's DNS (getent hosts {endpoint.host})",
    )


def connect_error(error: OSError, endpoint: Endpoint) -> TemporaryError:
    """A failed TCP connect as a one-line error with a hint."""
    role = endpoint.role
    if isinstance(error, socket.gaierror):
        return resolve_error(error, endpoint)
    if isinstance(error, TimeoutError):
        return TemporaryError(
            f"timed out after {endpoint.connect_timeout:g}s connecting to {endpoint.address}",
            hint=f"check {role}.host, {role}.port and any firewall between here and the server",
        )
    if error.errno == errno.ECONNREFUSED:
        usual = "587 (STARTTLS) or 465 (TLS)" if role == "smtp" else "993 (TLS) or 143 (STARTTLS)"
        return TemporaryError(
            f"connection to {endpoint.address} refused: nothing listens there",
            hint=f"check {role}.port (usually {usual}) and that the server is running",
        )
    reason = error.strerror or str(error)
    return TemporaryError(
        f"cannot connect to {endpoint.address}: {reason}",
        hint=f"check {role}.host and {role}.port and the network",
    )


def connection_lost(endpoint: Endpoint, during: str, reason: str) -> TemporaryError:
    """An open connection that dropped, with the reason the socket or the library gave."""
    return TemporaryError(f"connection to {endpoint.address} lost ({during}): {reason}", hint=RETRY_HINT)


def io_error(error: OSError, endpoint: Endpoint, during: str) -> TemporaryError:
    """A connection that timed out or dropped after it was made."""
    if isinstance(error, TimeoutError):
        return TemporaryError(
            f"{endpoint.address} did not answer within {endpoint.timeout:g}s ({during})",
            hint=f"try again later, or raise {endpoint.role}.timeout if the server is slow",
        )
    return connection_lost(endpoint, during, error.strerror or str(error) or type(error).__name__)


def closed(cause: BaseException | None, endpoint: Endpoint, during: str) -> TemporaryError:
    """The server closed the connection; ``cause`` is the socket error behind it, if any."""
    if isinstance(cause, OSError):
        return io_error(cause, endpoint, during)
    return TemporaryError(f"{endpoint.address} closed the connection ({during})", hint=RETRY_HINT)


@contextmanager
def translated(
    endpoint: Endpoint,
    during: str,
    protocol: str,
    reconnect: Callable[[Endpoint], Reconnect],
    transcript: Transcript | None = None,
) -> Iterator[None]:
    """Raise the network failures of ``during`` as ``MailrelayError``s naming ``endpoint``.

    ``protocol`` (``SMTP``, ``IMAP``) names the greeting that did not come; ``reconnect``
    makes the protocol's way to a fresh TLS socket, used only to explain a failed
    handshake (also in ``transcript``, when given).
    """
    try:
        yield
    except MailrelayError:
        raise
    except HandshakeFailed as e:
        note = transcript.note if transcript else None
        raise handshake_error(e.error, endpoint, reconnect(endpoint), note) from e.error
    except NoGreeting as e:
        raise no_greeting_error(endpoint, protocol) from e
    except OSError as e:
        raise io_error(e, endpoint, during) from e
