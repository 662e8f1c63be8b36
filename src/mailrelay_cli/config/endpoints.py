"""Where and how to connect: one ``Endpoint`` per server, built from the settings.

The SMTP and IMAP modules connect to an ``Endpoint`` and never read settings
themselves. For IMAP, ``imap.properties`` (JavaMail-style text) may override
the fields; that happens here too, so every command connects the same way.
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

from mailrelay_cli.config.settings import ServerSettings
from mailrelay_cli.errors import ConfigError

SECURITY_MODES = ("tls", "starttls", "plain")

# Records are NamedTuples, not dataclasses: `send` imports this module, and creating a
# dataclass costs ~1-2 ms of start-up against ~0.2 ms for a NamedTuple.


class Endpoint(NamedTuple):
    """A resolved connection plan for one server."""

    role: str  # "smtp" or "imap"
    host: str
    port: int
    security: str  # "tls" (implicit), "starttls" or "plain"
    ca_file: Path | None = None
    # STARTTLS not offered: an error when required (the default), plain otherwise.
    starttls_required: bool = True
    # False only when the user turned certificate checks off (ssl.trust=*).
    verify: bool = True
    # Hosts whose certificate is trusted without a chain check (ssl.trust=HOST …).
    trusted_hosts: tuple[str, ...] = ()
    check_hostname: bool = True
    # Allowed TLS versions, e.g. ("TLSv1.2", "TLSv1.3"); None: TLS 1.2 and newer.
    tls_versions: tuple[str, ...] | None = None
    connect_timeout: float = 30.0
    timeout: float = 30.0
    allow_plaintext_auth: bool = False
    # Human notes on where values came from, e.g. "port 993 from imap.properties line 3".
    notes: tuple[str, ...] = ()

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"


def endpoint_for(server: ServerSettings) -> Endpoint:
    """The endpoint of ``server`` (``settings.smtp`` or ``settings.imap``)."""
    if not server.host and not server.properties:
        raise ConfigError(
            f"{server.role}.host is not set",
            hint=f"mailrelay config set {server.role}.host mail.example.com",
        )
    if server.tls:
        security = "tls"
    elif server.starttls:
        security = "starttls"
    else:
        security = "plain"
    base = Endpoint(
        role=server.role,
        host=server.host or "",
        port=server.port,
        security=security,
        ca_file=server.tls_ca_file,
        connect_timeout=server.timeout,
        timeout=server.timeout,
        allow_plaintext_auth=server.allow_plaintext_auth,
    )
    if server.role == "imap" and server.properties:
        from mailrelay_cli.config import imap_properties

        return imap_properties.apply(server.properties, server, base)
    return base
