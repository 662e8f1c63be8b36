"""A server that greets in another protocol: the port is wrong, not the network (exit 78).

IMAP pointed at an SMTP port reads ``220 mx ESMTP``; SMTP pointed at an IMAP port reads
``* OK [CAPABILITY IMAP4rev1]``. Retrying cannot help, so this is a configuration error
that names the port to fix, with the greeting shown as text (never Python's ``b'…'``).
"""

from __future__ import annotations

from mailrelay_cli.config.endpoints import Endpoint
from mailrelay_cli.errors import ConfigError

# (protocol, what its greeting starts with) in the order they are tried.
_GREETINGS = (
    ("IMAP", (b"* OK", b"* PREAUTH", b"* BYE")),
    ("SMTP", (b"220 ", b"220-", b"554 ")),
    ("POP3", (b"+OK",)),
    ("HTTP", (b"HTTP/",)),
    ("SSH", (b"SSH-",)),
    ("FTP", (b"230", b"120")),
)
_PORTS = {
    "imap": "993 (implicit TLS), or 143 with imap.starttls = true",
    "smtp": "587 (STARTTLS), or 465 with smtp.tls = true",
}


def protocol_of(greeting: bytes) -> str | None:
    """The protocol whose greeting ``greeting`` is, if any is recognised."""
    line = greeting.lstrip()
    for name, starts in _GREETINGS:
        if line.upper().startswith(starts):
            return name
    if b"IMAP" in line.upper():
        return "IMAP"
    if b"SMTP" in line.upper():
        return "SMTP"
    return None


def shown(greeting: bytes, limit: int = 60) -> str:
    """The greeting as printable text: control characters as ``?``, cut at ``limit``."""
    text = greeting.decode("latin-1").strip()
    text = "".join(ch if ch.isprintable() else "?" for ch in text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def wrong_protocol_error(endpoint: Endpoint, expected: str, greeting: bytes) -> ConfigError | None:
    """The error for ``greeting`` read where an ``expected`` server should be; None when the
    greeting is ``expected``'s own or unrecognised (the caller's usual error applies)."""
    found = protocol_of(greeting)
    if found is None or found == expected:
        return None
    role = endpoint.role
    article = "an" if found[0] in "AEFHIOS" else "a"
    return ConfigError(
        f"{endpoint.address} is {article} {found} server, not {expected} (it greeted "
        f'"{shown(greeting)}"): {role}.port {endpoint.port} is the wrong port',
        hint=f"mailrelay config set {role}.port PORT; for {expected} that is usually {_PORTS[role]}",
    )
