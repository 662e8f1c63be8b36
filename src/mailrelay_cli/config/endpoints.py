"""Where and how to connect: one ``Endpoint`` per server, built from the settings.

The SMTP and IMAP modules connect to an ``Endpoint`` and never read settings
themselves. For IMAP, ``imap.properties`` (JavaMail-style text, parsed by
``imap_properties``) may override the fields; that happens here too, so every
command connects the same way, and so do the warnings when it turns checks off.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal, NamedTuple

from mailrelay_cli.config import imap_properties
from mailrelay_cli.config.records import Role as Role  # re-exported: transport may not read records
from mailrelay_cli.config.records import ServerSettings
from mailrelay_cli.errors import ConfigError

# tls: TLS from the first byte (implicit); starttls: upgraded after the greeting; plain: none.
Security = Literal["tls", "starttls", "plain"]
SECURITY_MODES: tuple[Security, ...] = ("tls", "starttls", "plain")

# Records are NamedTuples, not dataclasses: `send` imports this module, and creating a
# dataclass costs ~1-2 ms of start-up against ~0.2 ms for a NamedTuple.


class Endpoint(NamedTuple):
    """A resolved connection plan for one server."""

    role: Role
    host: str
    port: int
    security: Security
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
    security: Security
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
        return apply_properties(server.properties, server, base)
    return base


def apply_properties(text: str, server: ServerSettings, base: Endpoint) -> Endpoint:
    """``base`` (built from the fields) with every property applied; notes say what won."""
    resolution = imap_properties.resolve(text, server)
    changes: dict[str, Any] = {o.name: o.value for o in resolution.overrides}
    changes["notes"] = base.notes + resolution.notes
    return base._replace(**changes)


def warnings(endpoint: Endpoint) -> tuple[str, ...]:
    """What a command prints on every run (stderr, even with -q) when checks are turned off."""
    where = f"{endpoint.role} {endpoint.address}"
    found = []
    if endpoint.security != "plain" and not endpoint.verify:
        found.append(
            f"certificate checks are off for {where} (ssl.trust=*): anyone on the "
            "network path can read the password; use imap.tls_ca_file instead"
        )
    elif endpoint.security != "plain" and endpoint.host in endpoint.trusted_hosts:
        found.append(
            f"certificate checks are off for {where} (ssl.trust={endpoint.host}); "
            "use imap.tls_ca_file instead"
        )
    if endpoint.security != "plain" and endpoint.verify and not endpoint.check_hostname:
        found.append(
            f"the certificate's host name is not checked for {where} (ssl.checkserveridentity=false)"
        )
    if endpoint.security == "starttls" and not endpoint.starttls_required:
        found.append(
            f"STARTTLS is optional for {where} (starttls.required=false): without it "
            "the connection stays unencrypted"
        )
    return tuple(found)


def check_warnings(server: ServerSettings) -> list[str]:
    """What ``config check`` says about the properties: ignored lines, checks turned off."""
    if not server.properties:
        return []
    resolution = imap_properties.resolve(server.properties, server)
    found = [f"imap.properties line {i.number}: {i.key} ignored: {i.reason}" for i in resolution.ignored]
    found += list(warnings(endpoint_for(server)))
    found += [f"imap.properties: {note}" for note in resolution.notes]
    return found


def run_warnings(server: ServerSettings) -> tuple[str, ...]:
    """The warnings every command that connects to IMAP prints on stderr (even with -q),
    e.g. ``mailrelay: warning: certificate checks are off …``; () without properties."""
    if not server.properties:
        return ()
    return warnings(endpoint_for(server))
