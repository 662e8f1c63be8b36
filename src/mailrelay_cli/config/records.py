"""The settings records: what a loaded settings file holds, defaults and inheritance applied.

The records here are NamedTuples, not dataclasses: every command loads them at
start-up, and creating a dataclass costs ~2 ms against ~0.2 ms for a NamedTuple.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal, NamedTuple

from mailrelay_cli.errors import ConfigError

# The two servers a settings file describes (the TOML tables [smtp] and [imap]).
Role = Literal["smtp", "imap"]


class ServerSettings(NamedTuple):
    """One server's connection settings with defaults and inheritance applied."""

    role: Role
    host: str | None
    port: int
    auth: str
    user: str | None
    client_id: str | None
    tenant_id: str | None
    oauth_flow: str
    scopes: tuple[str, ...] | None
    starttls: bool
    tls: bool
    tls_ca_file: Path | None
    allow_plaintext_auth: bool
    timeout: float
    from_address: str | None = None
    retry_for: float = 120.0
    properties: str | None = None
    # When client_id/tenant came from SMTP, IMAP shares SMTP's OAuth login.
    oauth_inherited: bool = False
    # Microsoft's login host (None: the global cloud's); smtp only: "smtp" or "graph".
    authority: str | None = None
    transport: str = "smtp"
    # PEM file with the app registration's certificate and private key (client credentials).
    client_certificate: Path | None = None


class ApprovalSettings(NamedTuple):
    enabled: bool
    folder: str
    mailbox: str
    reply_address: str | None
    interval_minutes: int
    # approval.count; as a NamedTuple field it hides tuple.count (never called on settings)
    count: int  # type: ignore[assignment]
    expires_after: float
    max_message_kb: int
    archive_days: int
    on_decision: tuple[str, ...] | str | None
    trusted_authserv_id: str | None
    lock_wait: float = 0.0

    @property
    def maildir(self) -> Path | None:
        """The local Maildir when ``mailbox = "maildir:PATH"``, else None (IMAP)."""
        if self.mailbox.startswith("maildir:"):
            return Path(self.mailbox[len("maildir:") :]).expanduser()
        return None

    @property
    def graph(self) -> bool:
        """True when replies are read through Microsoft Graph (``mailbox = "graph"``)."""
        return self.mailbox == "graph"


class NotificationSettings(NamedTuple):
    attach_logs: str
    templates_dir: Path | None
    max_attachment_mb: float


class EventSettings(NamedTuple):
    to: tuple[str, ...] = ()
    cc: tuple[str, ...] = ()


class Settings(NamedTuple):
    """Effective settings. ``sources`` maps each dotted key to file, default or inherited."""

    path: Path
    file_exists: bool
    profile: str
    smtp: ServerSettings
    imap: ServerSettings
    approval: ApprovalSettings
    notifications: NotificationSettings
    state_dir: Path
    test_to: str | None
    events: Mapping[str, EventSettings]
    values: Mapping[str, Any] = {}
    sources: Mapping[str, str] = {}
    graph_endpoint: str = "https://graph.microsoft.com"
    state_url: str | None = None

    def require(self, key: str) -> Any:
        """The value of ``key``, or a ConfigError saying how to set it."""
        value = self.values.get(key)
        if value in (None, "", ()):
            if not self.file_exists:
                # Lead with the missing file: every unset key follows from it.
                from mailrelay_cli.config.missing_file import missing_file_error

                raise missing_file_error(self.path)
            raise ConfigError(
                f"{key} is not set in {self.path}",
                hint=f"mailrelay config set {key} VALUE",
            )
        return value
