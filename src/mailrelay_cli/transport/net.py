"""Name resolution and TCP connections to an ``Endpoint``, and their failures as errors.

Every failure here is temporary (exit 75: cron tries again next run) and its
message names ``host:port`` and the settings key to check. A host name that does
not exist is an ``UnknownHostError``: still 75, but not worth retrying within a
run (a temporary DNS failure, EAI_AGAIN, stays a plain ``TemporaryError``).
"""

from __future__ import annotations

import errno
import socket

from mailrelay_cli.config.endpoints import Endpoint
from mailrelay_cli.errors import TemporaryError, UnknownHostError

# getaddrinfo answers that mean the name has no address, not that DNS is down.
_NO_SUCH_NAME = {socket.EAI_NONAME} | (
    {socket.EAI_NODATA} if hasattr(socket, "EAI_NODATA") else set())


def resolve_error(error: socket.gaierror, endpoint: Endpoint) -> TemporaryError:
    """A failed name lookup: ``UnknownHostError`` when the name does not exist."""
    role = endpoint.role
    kind = UnknownHostError if error.errno in _NO_SUCH_NAME else TemporaryError
    return kind(
        f"cannot resolve {endpoint.host} ({role}.host): {error.strerror}",
        hint=f"check the spelling of {role}.host and this host's DNS "
             f"(getent hosts {endpoint.host})",
    )


def resolve(endpoint: Endpoint) -> tuple[str, ...]:
    """The addresses ``endpoint.host`` resolves to, in the order a connection tries them."""
    try:
        infos = socket.getaddrinfo(endpoint.host, endpoint.port, type=socket.SOCK_STREAM)
    except socket.gaierror as e:
        raise resolve_error(e, endpoint) from e
    addresses: list[str] = []
    for info in infos:
        address = str(info[4][0])
        if address not in addresses:
            addresses.append(address)
    return tuple(addresses)


def connect(endpoint: Endpoint) -> socket.socket:
    """A TCP connection to ``endpoint`` with its timeouts applied (connect, then I/O)."""
    try:
        sock = socket.create_connection((endpoint.host, endpoint.port), endpoint.connect_timeout)
    except OSError as e:
        raise connect_error(e, endpoint) from e
    sock.settimeout(endpoint.timeout)
    return sock


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


def io_error(error: OSError, endpoint: Endpoint, during: str) -> TemporaryError:
    """A connection that timed out or dropped after it was made."""
    if isinstance(error, TimeoutError):
        return TemporaryError(
            f"{endpoint.address} did not answer within {endpoint.timeout:g}s ({during})",
            hint=f"try again later, or raise {endpoint.role}.timeout if the server is slow",
        )
    reason = error.strerror or str(error) or type(error).__name__
    return TemporaryError(
        f"connection to {endpoint.address} lost ({during}): {reason}",
        hint="try again later; a cron run retries by itself",
    )
