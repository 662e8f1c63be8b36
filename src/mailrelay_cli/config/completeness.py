"""What a role (SMTP or IMAP) still lacks before a connection and login are worth trying."""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

from mailrelay_cli.config import imap_properties
from mailrelay_cli.config.hosts import is_loopback
from mailrelay_cli.config.missing_file import missing_file_text
from mailrelay_cli.config.records import Role, Settings
from mailrelay_cli.errors import ConfigError

OAUTH_TYPES = ("microsoft-oauth", "google-oauth")


class Problem(NamedTuple):
    """Something every command that needs it would reject: what, and the command that fixes it."""

    message: str
    hint: str


def _imap_host_from_properties(settings: Settings) -> bool:
    if not settings.imap.properties:
        return False
    try:
        return imap_properties.parse(settings.imap.properties, settings.imap).lines.get("host") is not None
    except ConfigError:  # a broken block is reported where it is parsed
        return False


def missing_file(path: Path, given_by: str | None = None) -> Problem:
    """The problem a missing settings file is (see ``missing_file.missing_file_text``)."""
    return Problem(*missing_file_text(path, given_by))


def missing_settings(settings: Settings, role: Role) -> tuple[Problem, ...]:
    """What ``role`` ("smtp" or "imap") lacks before a connection and login are worth trying.

    One list serves ``config check`` and the commands, so a cron job fails with 78
    naming the key rather than with a network error that hides it.
    """
    found: list[Problem] = []

    def unset(key: str, why: str = "") -> None:
        found.append(
            Problem(f"{key} is not set in {settings.path}{why}", f"mailrelay config set {key} VALUE")
        )

    server = settings.smtp if role == "smtp" else settings.imap
    if server.tls_ca_file is not None and not server.tls_ca_file.is_file():
        found.append(
            Problem(
                f"{role}.tls_ca_file: {server.tls_ca_file} is not a file",
                f"mailrelay config set {role}.tls_ca_file /path/to/ca.pem",
            )
        )
    if role == "smtp":
        smtp = settings.smtp
        if smtp.transport == "graph":
            found.extend(_graph_problems(settings, "smtp", "smtp.transport = graph"))
            return tuple(found)
        if not smtp.host:
            unset("smtp.host")
        if smtp.auth != "none" and not smtp.user:
            unset("smtp.user", f" (smtp.auth = {smtp.auth})")
            if is_loopback(smtp.host):  # Postfix on localhost usually takes mail without a login
                found[-1] = found[-1]._replace(
                    hint="mailrelay config set smtp.user USER; a relay on this host usually needs "
                    "no login: mailrelay config set smtp.auth none"
                )
        if smtp.auth in OAUTH_TYPES and not smtp.client_id:
            unset("smtp.client_id", f" (smtp.auth = {smtp.auth})")
        return _file_first(settings, found)
    imap = settings.imap
    if settings.approval.graph:
        found.extend(_graph_problems(settings, "imap", 'approval.mailbox = "graph"'))
        return _file_first(settings, found)
    if not imap.host and not _imap_host_from_properties(settings):
        unset("imap.host")
    if imap.auth != "none" and not imap.user:
        unset("imap.user", f" (imap.auth = {imap.auth})")
    if imap.auth in OAUTH_TYPES and not imap.client_id:
        unset("imap.client_id", f" (imap.auth = {imap.auth})")
    return _file_first(settings, found)


def _file_first(settings: Settings, found: list[Problem]) -> tuple[Problem, ...]:
    """``found``, or only the missing file when there is none (settings from the environment
    alone are complete without one)."""
    if found and not settings.file_exists:
        return (missing_file(settings.path),)
    return tuple(found)


def _graph_problems(settings: Settings, role: Role, why: str) -> list[Problem]:
    """What Microsoft Graph needs of ``role``'s settings: Microsoft OAuth, a mailbox, a client."""
    server = settings.smtp if role == "smtp" else settings.imap
    found = []
    if server.auth != "microsoft-oauth":
        found.append(
            Problem(
                f"{role}.auth is {server.auth!r} in {settings.path}, but {why} needs microsoft-oauth "
                "(Graph takes only Microsoft's OAuth tokens)",
                f"mailrelay config set {role}.auth microsoft-oauth",
            )
        )
    if not server.user:
        found.append(
            Problem(
                f"{role}.user is not set in {settings.path} ({why}: the mailbox Graph uses)",
                f"mailrelay config set {role}.user builds@example.com",
            )
        )
    if server.auth == "microsoft-oauth" and not server.client_id:
        found.append(
            Problem(
                f"{role}.client_id is not set in {settings.path} ({why})",
                f"mailrelay config set {role}.client_id APPLICATION-ID",
            )
        )
    return found


def require_complete(settings: Settings, role: Role) -> None:
    """Raise the first of ``missing_settings`` as a ConfigError (exit 78), if any."""
    problems = missing_settings(settings, role)
    if problems:
        more = f" (and {len(problems) - 1} more: mailrelay config check)" if len(problems) > 1 else ""
        raise ConfigError(problems[0].message + more, hint=problems[0].hint)
