"""Name resolution and TCP connections to an ``Endpoint``, with its timeouts applied.

A failure is raised as ``network_errors`` words it (temporary, exit 75, naming
``host:port`` and the settings key to check).
"""

from __future__ import annotations

import socket

from mailrelay_cli.config.endpoints import Endpoint
from mailrelay_cli.transport.network_errors import connect_error, resolve_error


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
