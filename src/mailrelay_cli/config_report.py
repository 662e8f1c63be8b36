"""What ``config show`` and ``config check`` report about a loaded Settings."""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

from mailrelay_cli import credentials
from mailrelay_cli.settings import ConfigRow, Settings, describe


class ShowReport(NamedTuple):
    path: Path
    file_exists: bool
    rows: tuple[ConfigRow, ...]


class CheckReport(NamedTuple):
    path: Path
    warnings: tuple[str, ...]


def show(settings: Settings) -> ShowReport:
    """Effective values plus one row per secret saying only where it is set."""
    rows = list(describe(settings))
    if settings.imap.properties:
        from mailrelay_cli import imap_properties

        rows = imap_properties.config_rows(rows, settings.imap)
    for name, where in credentials.secret_status(settings.profile):
        rows.append(ConfigRow(name, "set" if not where.startswith("unset") else "unset",
                              where if not where.startswith("unset") else "keyring"))
    return ShowReport(settings.path, settings.file_exists, tuple(rows))


def check(settings: Settings) -> CheckReport:
    """Warnings about a file that loaded (loading already raised for every hard error)."""
    warnings: list[str] = []
    if not settings.file_exists:
        warnings.append(f"{settings.path} does not exist; every value is a default")
    for role in (settings.smtp, settings.imap):
        if role.allow_plaintext_auth:
            warnings.append(f"{role.role}.allow_plaintext_auth = true: a password may cross "
                            "the network unencrypted")
    if settings.imap.properties:
        from mailrelay_cli import imap_properties

        warnings.extend(imap_properties.check_warnings(settings.imap))
    return CheckReport(settings.path, tuple(warnings))
