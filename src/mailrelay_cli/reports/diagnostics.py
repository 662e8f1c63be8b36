"""The steps of ``mailrelay test``: prove an SMTP + IMAP configuration works, one check at a time.

``run`` returns a ``CheckReport`` whose steps are ``CheckStep(name, ok, detail,
hint)``: ``ok`` is True (passed), False (failed: ``hint`` says what to do) or
None (not applicable, e.g. STARTTLS on an implicit-TLS port). A failed step
ends its section (SMTP or IMAP); the other section still runs, so one run
shows everything that is wrong. The report's ``failure`` is the error of the
first failed step; its exit code is the command's (78 certificate or settings,
69 refused or no STARTTLS, 77 login, 75 network).

SMTP: resolve, connect, greeting (and the TLS handshake on an implicit-TLS
port), STARTTLS, TLS, certificate, auth mechanisms, login, send.
IMAP (when ``approval.enabled`` or asked for): resolve, connect, greeting,
STARTTLS, TLS, capabilities, login, folders, select, count.
Microsoft Graph (``smtp.transport = "graph"``, ``approval.mailbox = "graph"``): the
steps of ``graph_checks`` instead.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from email.utils import parseaddr
from typing import Any

from mailrelay_cli.auth.logins import resolve_login
from mailrelay_cli.config.completeness import require_complete
from mailrelay_cli.config.endpoints import Endpoint, endpoint_for
from mailrelay_cli.config.records import Settings
from mailrelay_cli.errors import (
    ConfigError,
    MailrelayError,
    UsageError,
    exit_code_for,
)
from mailrelay_cli.reports.check_steps import CheckStep, Section, build_test_message
from mailrelay_cli.transport import net, tls
from mailrelay_cli.transport.transcript import Transcript


@dataclass(frozen=True)
class TranscriptLines:
    """The redacted dialogue as one JSON line (``--transcript --json``)."""

    text: str

    def to_json(self) -> dict[str, Any]:
        return {"transcript": self.text.splitlines()}


@dataclass(frozen=True)
class CheckReport:
    """Every step that ran, and the redacted dialogue when it was asked for."""

    steps: tuple[CheckStep, ...]
    transcript: str | None = None
    message_id: str | None = None

    @property
    def ok(self) -> bool:
        return all(step.ok is not False for step in self.steps)

    @property
    def failure(self) -> MailrelayError | None:
        """The error of the first failed step (``errors.exit_code_for`` gives the exit code)."""
        return next((step.error for step in self.steps if step.ok is False), None)

    def parts(self) -> tuple[CheckStep | TranscriptLines | CheckReport, ...]:
        """The JSON lines of ``test --json``: each step, the transcript if asked for, the summary."""
        transcript = () if self.transcript is None else (TranscriptLines(self.transcript),)
        return (*self.steps, *transcript, self)

    def to_json(self) -> dict[str, Any]:
        return {
            "summary": {
                "ok": self.ok,
                "exit_code": int(exit_code_for(self.failure)),
                "message_id": self.message_id,
            }
        }


def _bare(address: str) -> str:
    _, bare = parseaddr(address)
    if "@" not in bare:
        raise UsageError(
            f"--to {address!r} is not an email address", hint="mailrelay test --to you@example.com"
        )
    local, domain = bare.rsplit("@", 1)
    return f"{local}@{domain.lower()}"


def _resolve_and_connect(section: Section, endpoint: Endpoint) -> None:
    section.start("resolve")
    addresses = net.resolve(endpoint)
    if addresses == (endpoint.host,):
        section.passed(f"{endpoint.host} (an address)")
    else:
        section.passed(f"{endpoint.host} -> {', '.join(addresses)}")
    section.start("connect")
    sock = net.connect(endpoint)
    sock.close()
    section.passed(f"{endpoint.address} accepts connections")


def _tls_steps(section: Section, info: tls.TlsInfo | None, endpoint: Endpoint) -> None:
    role = endpoint.role
    if info is None:
        section.skipped(f"not used ({role}.tls and {role}.starttls are off)", "TLS")
        return
    section.passed(f"{info.version}, {info.cipher}", "TLS")
    cert = info.certificate
    if cert is None:
        section.skipped("the server sent no readable certificate", "certificate")
        return
    verified = (
        "not verified (certificate checks are off)"
        if (not endpoint.verify or endpoint.host in endpoint.trusted_hosts)
        else "verified"
    )
    days = cert.days_left()
    left = f" (in {days} days)" if days is not None else ""
    section.passed(
        f"{cert.subject}, issued by {cert.issuer}, expires {cert.not_after}{left}; {verified}", "certificate"
    )


def _smtp(settings: Settings, to: str, transcript: Transcript | None) -> tuple[list[CheckStep], str | None]:
    from mailrelay_cli.transport import smtp

    section = Section("SMTP")
    message_id = None
    conn = None
    try:
        section.start("settings")
        require_complete(settings, "smtp")
        endpoint = endpoint_for(settings.smtp)
        message, sender = build_test_message(settings, to)
        _resolve_and_connect(section, endpoint)
        if transcript:
            transcript.note(f"SMTP session with {endpoint.address}")
        section.start("greeting")
        conn = smtp.connect(endpoint, transcript)
        banner = " ".join((conn.ehlo_resp or b"").decode("utf-8", "replace").split()[:1])
        section.passed(
            f"EHLO answered by {banner or endpoint.host}"
            + (" over implicit TLS" if endpoint.security == "tls" else "")
        )
        section.start("STARTTLS")
        if endpoint.security == "starttls":
            offered = smtp.offers_starttls(conn)
            if smtp.start_tls(conn):
                section.passed("offered; TLS started")
            else:
                section.skipped(
                    "not offered; continuing without TLS (STARTTLS not required)"
                    if not offered
                    else "not used"
                )
        else:
            section.skipped(
                "implicit TLS from the first byte"
                if endpoint.security == "tls"
                else "off (smtp.starttls = false)"
            )
        _tls_steps(section, smtp.tls_info(conn), endpoint)
        section.start("auth mechanisms")
        mechanisms = smtp.auth_mechanisms(conn)
        section.passed(" ".join(mechanisms) if mechanisms else "none offered")
        section.start("login")
        used = smtp.login(conn, resolve_login(settings, "smtp"))
        if used == "none":
            section.skipped("not required (smtp.auth = none)")
        else:
            section.passed(f"{used} as {settings.smtp.user}")
        section.start("send")
        refused = smtp.send_message(conn, message, sender=sender, recipients=[to])
        if refused:
            code, text = refused[to]
            raise ConfigError(f"{to} refused: {code} {text}", hint="check --to")
        message_id = str(message["Message-ID"])
        section.passed(f"accepted for {to} ({message_id})")
    except MailrelayError as e:
        section.failed(e)
    finally:
        if conn is not None:
            smtp.close(conn)
    return section.steps, message_id


def _imap(settings: Settings, transcript: Transcript | None) -> list[CheckStep]:
    from mailrelay_cli.transport import imap

    maildir = settings.approval.maildir
    section = Section("IMAP" if maildir is None else "Reply")
    if maildir is not None:
        from mailrelay_cli.replies.mailbox import require_maildir

        section.start("mailbox")
        try:
            require_maildir(maildir)
        except ConfigError as e:
            section.failed(e)
            return section.steps
        count = sum(1 for sub in ("cur", "new") for _ in (maildir / sub).iterdir())
        section.passed(f"local Maildir {maildir} (approval.mailbox): {count} messages")
        return section.steps
    conn = None
    try:
        section.start("settings")
        require_complete(settings, "imap")
        endpoint = endpoint_for(settings.imap)
        _resolve_and_connect(section, endpoint)
        if transcript:
            transcript.note(f"IMAP session with {endpoint.address}")
        section.start("greeting")
        conn = imap.connect(endpoint, transcript)
        greeting = (conn.welcome or b"").decode("utf-8", "replace")
        # "* OK [CAPABILITY …] Dovecot ready.": the words after the response code say who.
        words = re.sub(r"^\*\s+\w+\s+(\[[^\]]*\]\s*)?", "", greeting).strip() or greeting
        section.passed(words + (" (implicit TLS)" if endpoint.security == "tls" else ""))
        section.start("STARTTLS")
        if endpoint.security == "starttls":
            if imap.start_tls(conn):
                section.passed("offered; TLS started")
            else:
                section.skipped("not offered; continuing without TLS (STARTTLS not required)")
        else:
            section.skipped(
                "implicit TLS from the first byte"
                if endpoint.security == "tls"
                else "off (imap.starttls = false)"
            )
        _tls_steps(section, imap.tls_info(conn), endpoint)
        section.start("capabilities")
        section.passed(" ".join(imap.capabilities(conn)))
        section.start("login")
        used = imap.login(conn, resolve_login(settings, "imap"))
        section.passed(f"{used} as {settings.imap.user}")
        section.start("folders")
        folders = imap.list_folders(conn)
        shown = ", ".join(folders[:8]) + (f", … ({len(folders)} in all)" if len(folders) > 8 else "")
        section.passed(shown or "none")
        section.start("select")
        folder = settings.approval.folder
        count = imap.select_folder(conn, folder, readonly=True)
        section.passed(f"{folder} (approval.folder) opened read-only")
        section.start("count")
        section.passed(f"{count} message{'s' if count != 1 else ''} in {folder}")
    except MailrelayError as e:
        section.failed(e)
    finally:
        if conn is not None:
            imap.logout(conn)
    return section.steps


def run(
    settings: Settings,
    *,
    to: str | None = None,
    smtp_only: bool = False,
    imap_only: bool = False,
    with_transcript: bool = False,
) -> CheckReport:
    """Run the checks ``mailrelay test`` asks for and return every step."""
    if smtp_only and imap_only:
        raise UsageError(
            "--smtp-only and --imap-only exclude each other",
            hint="mailrelay test --smtp-only, or mailrelay test --imap-only",
        )
    check_smtp = not imap_only
    check_imap = imap_only or (settings.approval.enabled and not smtp_only)
    recipient = None
    if check_smtp:
        given = to or settings.test_to
        if not given:
            raise UsageError(
                "no recipient for the test message: give --to or set test.to",
                hint="mailrelay test --to you@example.com (or: mailrelay config set test.to you@example.com)",
            )
        recipient = _bare(given)
    transcript = Transcript() if with_transcript else None
    steps: list[CheckStep] = []
    message_id = None
    if check_smtp and recipient is not None:
        if settings.smtp.transport == "graph":
            from mailrelay_cli.reports import graph_checks

            smtp_steps, message_id = graph_checks.send_steps(settings, recipient, transcript)
        else:
            smtp_steps, message_id = _smtp(settings, recipient, transcript)
        steps += smtp_steps
    if check_imap and settings.approval.graph:
        from mailrelay_cli.reports import graph_checks

        steps += graph_checks.mailbox_steps(settings, transcript)
    elif check_imap:
        steps += _imap(settings, transcript)
    return CheckReport(tuple(steps), transcript.text() if transcript else None, message_id)
