"""What ``config show`` and ``config check`` report about a loaded Settings."""

from __future__ import annotations

from pathlib import Path
from typing import Any, NamedTuple

from mailrelay_cli.auth import credentials
from mailrelay_cli.config.completeness import Problem, missing_settings
from mailrelay_cli.config.display import ConfigRow, describe
from mailrelay_cli.config.records import Settings
from mailrelay_cli.config.schema import SECRET_NAMES, spec_for
from mailrelay_cli.durations import format_duration
from mailrelay_cli.errors import ConfigError


class ShowReport(NamedTuple):
    path: Path
    file_exists: bool
    rows: tuple[ConfigRow, ...]


class CheckReport(NamedTuple):
    path: Path
    warnings: tuple[str, ...]
    problems: tuple[Problem, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_json(self) -> dict[str, Any]:
        """The ``config check --json`` line."""
        return {
            "path": str(self.path),
            "ok": self.ok,
            "warnings": list(self.warnings),
            "problems": [{"problem": p.message, "hint": p.hint} for p in self.problems],
        }


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
    rows = [*_setting_rows(settings), *_secret_rows(settings.profile, SECRET_NAMES)]
    return ShowReport(settings.path, settings.file_exists, tuple(rows))


def _setting_rows(settings: Settings) -> list[ConfigRow]:
    rows = list(describe(settings))
    if settings.imap.properties:
        from mailrelay_cli.config import imap_properties

        rows = imap_properties.config_rows(rows, settings.imap)
    return [row._replace(value=_shown(row.key, row.value)) for row in rows]


def _secret_rows(profile: str, names: tuple[str, ...]) -> list[ConfigRow]:
    """Where each secret is set, never its value (reads the keyring once per name)."""
    return [
        ConfigRow(
            name,
            "set" if not where.startswith("unset") else "unset",
            where if not where.startswith("unset") else "keyring",
        )
        for name, where in credentials.secret_status(profile, names)
    ]


def get(settings: Settings, key: str) -> ConfigRow:
    """``config get KEY``: the row of ``show`` for ``key``; ConfigError for a key that is not one."""
    from mailrelay_cli.config.schema import is_secret_key, suggest

    if spec_for(key) is None and not is_secret_key(key):
        raise ConfigError(f"unknown key {key}", hint=suggest(key))
    # Only a secret's own row touches the keyring: `config get smtp.host` works without one.
    secret = key in SECRET_NAMES
    rows = _secret_rows(settings.profile, (key,)) if secret else _setting_rows(settings)
    for row in rows:
        if row.key == key:
            return row
    return ConfigRow(key, None, "default")  # an events.NAME.to that nothing sets


def problems(settings: Settings) -> tuple[Problem, ...]:
    """What is missing for the commands to work, each with the command that sets it.

    A missing file is one problem (every other one follows from it).
    """
    found = list(missing_settings(settings, "smtp"))
    if not settings.smtp.from_address:  # every message needs it; the connection does not
        found.append(
            Problem(f"smtp.from is not set in {settings.path}", "mailrelay config set smtp.from VALUE")
        )
    approval = settings.approval
    if approval.enabled and approval.maildir is None:
        kind = "graph" if approval.graph else "imap"
        found.extend(
            p._replace(message=p.message + f" (approval.enabled, approval.mailbox = {kind})")
            for p in missing_settings(settings, "imap")
        )
    elif approval.enabled and approval.maildir is not None:
        from mailrelay_cli.replies.mailbox import require_maildir

        try:
            require_maildir(approval.maildir)
        except ConfigError as e:
            found.append(Problem(e.message, e.hint or ""))
    if found and not settings.file_exists:  # every other problem follows from it
        from mailrelay_cli.config.completeness import missing_file

        return (missing_file(settings.path),)
    return tuple(found)


def check(settings: Settings) -> CheckReport:
    """Warnings about a file that loaded, and the problems that keep commands from working.

    Loading already raised for every malformed value; ``problems`` lists what is
    missing (the CLI exits 78 when there is any).
    """
    warnings: list[str] = []
    for role in (settings.smtp, settings.imap):
        if role.allow_plaintext_auth:
            warnings.append(
                f"{role.role}.allow_plaintext_auth = true: a password may cross the network unencrypted"
            )
    if settings.imap.properties:
        from mailrelay_cli.config.endpoints import check_warnings

        warnings.extend(check_warnings(settings.imap))
    found = list(problems(settings))
    if settings.approval.enabled and settings.file_exists:
        key_warning, key_problem = _signing_key_state(settings)
        warnings.extend([key_warning] if key_warning else [])
        found.extend([key_problem] if key_problem else [])
    return CheckReport(settings.path, tuple(warnings), tuple(found))


def _signing_key_state(settings: Settings) -> tuple[str | None, Problem | None]:
    """What process-replies would say of the signing key: a problem when it would refuse a key
    that is there (not hex, too short, keyring unusable), a warning when there is none yet
    (the first approval request makes it)."""
    from mailrelay_cli.approvals import service as approvals

    try:
        key = approvals.signing_key(settings.profile, create=False)
    except ConfigError as e:
        return None, Problem(e.message, e.hint or "")
    if key is None:
        return (
            "no approval signing key yet: process-replies exits 78 until the first "
            "approval request makes one, or MAILRELAY_APPROVAL_HMAC_KEY gives the sending "
            "host's"
        ), None
    return None, None
