"""Loading the settings file: TOML in, a validated ``Settings`` out.

Each key the file holds is checked against the key table, then the defaults and
the inheritance rules of DESIGN.md are applied (IMAP takes SMTP's user, password
and OAuth client when its own are blank); ``Settings.sources`` records where
every value came from.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from mailrelay_cli import paths
from mailrelay_cli.config import clouds
from mailrelay_cli.config.records import (
    ApprovalSettings,
    EventSettings,
    NotificationSettings,
    ServerSettings,
    Settings,
)
from mailrelay_cli.config.schema import (
    SPECS,
    check_value,
    is_secret_key,
    refuse_secrets,
    secret_hint,
    secret_word,
)
from mailrelay_cli.config.state_url import check_state_url
from mailrelay_cli.durations import parse_duration
from mailrelay_cli.errors import ConfigError


def _flatten(table: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in table.items():
        dotted = f"{prefix}{key}"
        if isinstance(value, Mapping) and not value and secret_word(dotted):
            flat[dotted] = value  # an empty [smtp.password] table is still refused
        elif isinstance(value, Mapping):
            flat.update(_flatten(value, dotted + "."))
        else:
            flat[dotted] = value
    return flat


def read_file_table(path: Path) -> dict[str, Any]:
    """The raw TOML table of ``path`` ({} when the file does not exist)."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return {}
    except OSError as e:
        raise ConfigError(
            f"cannot read the settings file {path}: {e.strerror}",
            hint="check the path and its permissions (--config or MAILRELAY_CONFIG names a file)",
        ) from e
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data[: e.start].count(b"\n") + 1
        raise ConfigError(
            f"{path}: not UTF-8 text (byte 0x{data[e.start]:02x} on line {line})",
            hint="save the settings file as UTF-8 (iconv -f latin1 -t utf-8, or your editor)",
        ) from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{path}: not valid TOML: {e}", hint="fix the line it names") from e


def load_settings(path: str | os.PathLike[str] | None = None) -> Settings:
    """Load and validate the settings file (see ``paths.config_file`` for where it is looked up)."""
    file_path = paths.config_file(path)
    try:
        exists = file_path.stat() is not None  # a directory or unreadable file is refused below
    except FileNotFoundError:
        exists = False
    except OSError as e:
        raise ConfigError(
            f"cannot read the settings file {file_path}: {e.strerror}",
            hint="check the path and the permissions of its directories",
        ) from e
    table = read_file_table(file_path) if exists else {}
    from mailrelay_cli.config.env_overrides import overrides

    return settings_from_table(table, file_path, exists, overrides())


def settings_from_table(
    table: Mapping[str, Any],
    file_path: Path,
    exists: bool = True,
    env: Mapping[str, tuple[Any, str]] | None = None,
) -> Settings:
    """The validated ``Settings`` of a parsed TOML ``table`` read from (or bound for) ``file_path``.

    ``env`` holds ``MAILRELAY__SECTION__KEY`` overrides (``config.env_overrides``): they win
    over the file, and ``sources`` names the variable.
    """
    raw = _flatten(table)
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    for key, value in raw.items():
        if is_secret_key(key):
            raise ConfigError(
                f"{file_path}: {key} is a secret and secrets never live in the settings file",
                hint=secret_hint(key),
            )
        values[key] = check_value(key, value, str(file_path))
        sources[key] = "file"
    for key, (value, source) in (env or {}).items():
        values[key] = check_value(key, value, source)
        sources[key] = source
    if values.get("imap.properties"):
        refuse_secrets(values["imap.properties"], str(file_path))

    def get(
        key: str, default: Any = None, inherit: str | None = None, compute: Callable[[], Any] | None = None
    ) -> Any:
        if key in values:
            return values[key]
        if inherit is not None and values.get(inherit) not in (None, ()):
            values[key] = values[inherit]
            sources[key] = f"inherited from {inherit}"
            return values[key]
        if compute is not None:
            result = compute()
        else:
            spec = SPECS[key]
            result = default if default is not None else spec.default
            if spec.kind == "duration" and isinstance(result, str):
                result = parse_duration(result)
            elif spec.kind == "number" and result is not None:
                result = float(result)
        values[key] = result
        sources[key] = "default"
        return result

    profile = get("name")
    smtp_tls = get("smtp.tls", compute=lambda: values.get("smtp.port") == 465)
    smtp_starttls = get("smtp.starttls", compute=lambda: not smtp_tls)
    if smtp_tls and smtp_starttls:
        raise ConfigError(
            f"{file_path}: smtp.tls and smtp.starttls are both true; pick one",
            hint="implicit TLS (port 465): smtp.tls = true; STARTTLS (port 587): smtp.starttls = true",
        )
    smtp_port = get("smtp.port", compute=lambda: 465 if smtp_tls else 587)
    smtp_user = get("smtp.user")
    smtp_authority = get("smtp.authority")
    if smtp_authority:
        smtp_authority = clouds.check_https(smtp_authority, "smtp.authority", str(file_path))
    smtp = ServerSettings(
        role="smtp",
        host=get("smtp.host"),
        port=smtp_port,
        auth=get("smtp.auth"),
        user=smtp_user,
        client_id=get("smtp.client_id"),
        tenant_id=get("smtp.tenant_id"),
        oauth_flow=get("smtp.oauth_flow"),
        scopes=get("smtp.scopes"),
        starttls=smtp_starttls,
        tls=smtp_tls,
        tls_ca_file=get("smtp.tls_ca_file"),
        allow_plaintext_auth=get("smtp.allow_plaintext_auth"),
        timeout=get("smtp.timeout"),
        from_address=get("smtp.from"),
        retry_for=get("smtp.retry_for"),
        authority=smtp_authority,
        transport=get("smtp.transport"),
        client_certificate=get("smtp.client_certificate"),
    )

    imap_starttls = get("imap.starttls")
    imap_tls = get("imap.tls", compute=lambda: not imap_starttls)
    if imap_tls and imap_starttls:
        raise ConfigError(
            f"{file_path}: imap.tls and imap.starttls are both true; pick one",
            hint="implicit TLS (port 993): imap.tls = true; STARTTLS (port 143): imap.starttls = true",
        )
    oauth_inherited = "imap.client_id" not in values
    imap_authority = get("imap.authority", inherit="smtp.authority")
    if imap_authority:
        imap_authority = clouds.check_https(imap_authority, "imap.authority", str(file_path))
    imap = ServerSettings(
        role="imap",
        host=get("imap.host"),
        port=get("imap.port", compute=lambda: 993 if imap_tls else 143),
        # The Graph mailbox takes Microsoft's tokens only: unset, imap.auth follows smtp.auth.
        auth=get("imap.auth", inherit="smtp.auth" if values.get("approval.mailbox") == "graph" else None),
        user=get("imap.user", inherit="smtp.user"),
        client_id=get("imap.client_id", inherit="smtp.client_id"),
        tenant_id=get("imap.tenant_id", inherit="smtp.tenant_id"),
        oauth_flow=get("imap.oauth_flow", inherit="smtp.oauth_flow", compute=lambda: smtp.oauth_flow),
        scopes=get("imap.scopes"),
        starttls=imap_starttls,
        tls=imap_tls,
        tls_ca_file=get("imap.tls_ca_file"),
        allow_plaintext_auth=get("imap.allow_plaintext_auth"),
        timeout=get("imap.timeout"),
        properties=get("imap.properties"),
        oauth_inherited=oauth_inherited and smtp.client_id is not None,
        authority=imap_authority,
        client_certificate=get("imap.client_certificate", inherit="smtp.client_certificate"),
    )
    graph_endpoint = get("graph.endpoint")
    if graph_endpoint:
        graph_endpoint = clouds.check_https(graph_endpoint, "graph.endpoint", str(file_path))
    else:
        graph_endpoint = clouds.default_graph_endpoint(smtp_authority or imap_authority)
        values["graph.endpoint"] = graph_endpoint  # `config show` prints the one in use
    clouds.check_same_cloud(
        {
            "smtp.authority": smtp_authority or clouds.GLOBAL.login,
            "imap.authority": imap_authority or clouds.GLOBAL.login,
            "graph.endpoint": graph_endpoint,
        },
        str(file_path),
    )

    mailbox = get("approval.mailbox")
    if mailbox not in ("imap", "graph") and not (
        mailbox.startswith("maildir:") and len(mailbox) > len("maildir:")
    ):
        raise ConfigError(
            f'{file_path}: approval.mailbox must be "imap", "maildir:PATH" or "graph", not {mailbox!r}',
            hint='mailrelay config set approval.mailbox "maildir:/var/mail/approvals"',
        )
    approval = ApprovalSettings(
        enabled=get("approval.enabled"),
        folder=get("approval.folder"),
        mailbox=mailbox,
        reply_address=get("approval.reply_address", inherit="smtp.from"),
        interval_minutes=get("approval.interval_minutes"),
        count=get("approval.count"),
        expires_after=get("approval.expires_after"),
        max_message_kb=get("approval.max_message_kb"),
        archive_days=get("approval.archive_days"),
        on_decision=get("approval.on_decision"),
        trusted_authserv_id=get("approval.trusted_authserv_id"),
        lock_wait=get("approval.lock_wait"),
    )
    if approval.interval_minutes < 1:
        raise ConfigError(
            f"{file_path}: approval.interval_minutes must be at least 1",
            hint="mailrelay config set approval.interval_minutes 5",
        )
    if approval.count < 1:
        raise ConfigError(
            f"{file_path}: approval.count must be at least 1", hint="mailrelay config set approval.count 30"
        )
    notifications = NotificationSettings(
        attach_logs=get("notifications.attach_logs"),
        templates_dir=get("notifications.templates_dir"),
        max_attachment_mb=get("notifications.max_attachment_mb"),
    )
    state_dir = get("state.path", compute=paths.default_state_dir)
    events: dict[str, EventSettings] = {}
    for key, value in values.items():
        parts = key.split(".")
        if parts[0] == "events" and len(parts) == 3:
            current = events.get(parts[1], EventSettings())
            events[parts[1]] = EventSettings(
                to=value if parts[2] == "to" else current.to,
                cc=value if parts[2] == "cc" else current.cc,
            )
    return Settings(
        path=file_path,
        file_exists=exists,
        profile=profile,
        smtp=smtp,
        imap=imap,
        approval=approval,
        notifications=notifications,
        state_dir=Path(state_dir),
        test_to=get("test.to"),
        events=events,
        values=values,
        sources=sources,
        graph_endpoint=graph_endpoint,
        state_url=check_state_url(get("state.url"), file_path),
    )
