"""What ``config show`` and ``config check`` report about a loaded Settings."""

from __future__ import annotations

from pathlib import Path
from typing import Any, NamedTuple

from mailrelay_cli import credentials
from mailrelay_cli.durations import format_duration
from mailrelay_cli.errors import ConfigError
from mailrelay_cli.settings import ConfigRow, Settings, describe, spec_for

OAUTH_TYPES = ("microsoft-oauth", "google-oauth")


class ShowReport(NamedTuple):
    path: Path
    file_exists: bool
    rows: tuple[ConfigRow, ...]


class Problem(NamedTuple):
    """Something every command that needs it would reject: what, and the command that fixes it."""

    message: str
    hint: str


class CheckReport(NamedTuple):
    path: Path
    warnings: tuple[str, ...]
    problems: tuple[Problem, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.problems


def _shown(key: str, value: Any) -> Any:
    """A value as the settings file spells it: durations as 72h, whole numbers without .0."""
    spec = spec_for(key)
    if spec is not None and spec.kind == "duration" and isinstance(value, int | float):
        return format_duration(value)
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def show(settings: Settings) -> ShowReport:
    """Effective values plus one row per secret saying only where it is set."""
    rows = list(describe(settings))
    if settings.imap.properties:
        from mailrelay_cli import imap_properties

        rows = imap_properties.config_rows(rows, settings.imap)
    rows = [row._replace(value=_shown(row.key, row.value)) for row in rows]
    for name, where in credentials.secret_status(settings.profile):
        rows.append(ConfigRow(name, "set" if not where.startswith("unset") else "unset",
                              where if not where.startswith("unset") else "keyring"))
    return ShowReport(settings.path, settings.file_exists, tuple(rows))


def _imap_host_from_properties(settings: Settings) -> bool:
    if not settings.imap.properties:
        return False
    from mailrelay_cli import imap_properties

    try:
        return imap_properties.parse(settings.imap.properties, settings.imap).lines.get(
            "host") is not None
    except ConfigError:  # a broken block is reported by check_warnings and the commands
        return False


def problems(settings: Settings) -> tuple[Problem, ...]:
    """What is missing for the commands to work, each with the command that sets it.

    A missing file is one problem (every other one follows from it).
    """
    if not settings.file_exists:
        return (Problem(f"{settings.path} does not exist",
                        "mailrelay config set smtp.host HOST, or copy examples/settings.toml "
                        "to the file `mailrelay config path` prints"),)
    found: list[Problem] = []

    def unset(key: str, why: str = "") -> None:
        found.append(Problem(f"{key} is not set in {settings.path}{why}",
                             f"mailrelay config set {key} VALUE"))

    smtp, imap = settings.smtp, settings.imap
    if not smtp.host:
        unset("smtp.host")
    if not smtp.from_address:
        unset("smtp.from")
    if smtp.auth != "none" and not smtp.user:
        unset("smtp.user", f" (smtp.auth = {smtp.auth})")
    if smtp.auth in OAUTH_TYPES and not smtp.client_id:
        unset("smtp.client_id", f" (smtp.auth = {smtp.auth})")
    approval = settings.approval
    if approval.enabled and approval.maildir is None:
        why = " (approval.enabled = true with approval.mailbox = \"imap\")"
        if not imap.host and not _imap_host_from_properties(settings):
            unset("imap.host", why)
        if imap.auth != "none" and not imap.user:
            unset("imap.user", why)
        if imap.auth in OAUTH_TYPES and not imap.client_id:
            unset("imap.client_id", f" (imap.auth = {imap.auth})")
    return tuple(found)


def check(settings: Settings) -> CheckReport:
    """Warnings about a file that loaded, and the problems that keep commands from working.

    Loading already raised for every malformed value; ``problems`` lists what is
    missing (the CLI exits 78 when there is any).
    """
    warnings: list[str] = []
    for role in (settings.smtp, settings.imap):
        if role.allow_plaintext_auth:
            warnings.append(f"{role.role}.allow_plaintext_auth = true: a password may cross "
                            "the network unencrypted")
    if settings.imap.properties:
        from mailrelay_cli import imap_properties

        warnings.extend(imap_properties.check_warnings(settings.imap))
    return CheckReport(settings.path, tuple(warnings), problems(settings))
