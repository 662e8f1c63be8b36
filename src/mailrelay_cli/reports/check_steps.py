"""The pieces every `mailrelay test` section is made of: a checklist step, the section that
collects them, and the test message the send steps deliver (SMTP or Microsoft Graph)."""

from __future__ import annotations

import socket
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr
from typing import Any

from mailrelay_cli.config.records import Settings
from mailrelay_cli.errors import CertificateError, ConfigError, MailrelayError

TEST_SUBJECT = "mailrelay test message"


@dataclass(frozen=True)
class CheckStep:
    """One line of the checklist."""

    name: str
    ok: bool | None
    detail: str = ""
    hint: str | None = None
    error: MailrelayError | None = field(default=None, compare=False)  # what a failed step raised

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "ok": self.ok, "detail": self.detail, "hint": self.hint}


@dataclass
class Section:
    """Collects the steps of one server; ``current`` names the step a failure belongs to."""

    prefix: str
    steps: list[CheckStep] = field(default_factory=list)
    current: str = ""

    def start(self, name: str) -> None:
        self.current = name

    def passed(self, detail: str, name: str | None = None) -> None:
        self.steps.append(CheckStep(f"{self.prefix} {name or self.current}", True, detail))

    def skipped(self, detail: str, name: str | None = None) -> None:
        self.steps.append(CheckStep(f"{self.prefix} {name or self.current}", None, detail))

    def failed(self, error: MailrelayError) -> None:
        name = self.current
        if isinstance(error, CertificateError):
            name = "certificate"
        elif "TLS handshake" in error.message and name in ("greeting", "STARTTLS"):
            name = "TLS"
        self.steps.append(CheckStep(f"{self.prefix} {name}", False, error.message, error.hint, error))


def build_test_message(settings: Settings, to: str) -> tuple[EmailMessage, str]:
    """The test email and its envelope sender (a bare address)."""
    header_from = settings.smtp.from_address or settings.smtp.user
    if not header_from:
        raise ConfigError(
            f"smtp.from is not set in {settings.path}",
            hint='mailrelay config set smtp.from "Release Bot <builds@example.com>"',
        )
    name, address = parseaddr(header_from)
    if "@" not in address:
        raise ConfigError(
            f"smtp.from {header_from!r} holds no email address",
            hint='mailrelay config set smtp.from "Release Bot <builds@example.com>"',
        )
    local, domain = address.rsplit("@", 1)
    address = f"{local}@{domain.lower()}"
    message = EmailMessage()
    message["From"] = f"{name} <{address}>" if name else address
    message["To"] = to
    message["Subject"] = TEST_SUBJECT
    message["Date"] = formatdate(localtime=True)
    message["Message-ID"] = make_msgid("mailrelay-test", domain=domain.lower())
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(
        f"This is a test message sent by `mailrelay test` from {socket.gethostname()}.\n"
        "If you can read it, mailrelay can send mail with these settings.\n"
    )
    return message, address
