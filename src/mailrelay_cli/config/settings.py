"""The settings file: load, defaults, inheritance, validation, and ``config set``.

The file is TOML. Every key is declared once in ``KEYS`` with its type and
default; loading checks each key the file holds against that table, applies
defaults and the inheritance rules of DESIGN.md (IMAP takes SMTP's user,
password and OAuth client when its own are blank), and returns a frozen
``Settings`` that also records where every value came from.

Secrets never live in the file: a password-like key is a ``ConfigError``
naming the ``mailrelay secret set`` command to run instead.

The records here are NamedTuples, not dataclasses: every command loads them at
start-up, and creating a dataclass costs ~2 ms against ~0.2 ms for a NamedTuple.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, NamedTuple

from mailrelay_cli import paths
from mailrelay_cli.durations import parse_duration
from mailrelay_cli.errors import ConfigError

AUTH_TYPES = ("none", "basic", "microsoft-oauth", "google-oauth")
OAUTH_FLOWS = ("device-code", "client-credentials")
ATTACH_LOGS = ("never", "always", "on-failure")
SECRET_NAMES = ("smtp.password", "imap.password", "smtp.client_secret", "imap.client_secret")
# A secret-like word anywhere in a dotted part of a key, between word boundaries
# (start, end, ``_`` or ``-``; camelCase is split first): ``smtp.pass``,
# ``imap.smtp_pass``, ``smtp.password.x``, ``mail.imap.apiKey``; never
# ``allow_plaintext_auth``, ``oauth_flow`` or ``trusted_authserv_id``.
_SECRET_WORDS = re.compile(
    r"(?:^|[_-])(pass|passwd|password|passphrase|pwd|secret|token|api[_-]?key|credentials?)"
    r"(?=$|[_-])"
)
_TOKEN_WORDS = ("secret", "token", "api")


class KeySpec(NamedTuple):
    """One settings key: its type (for validation and ``config set``) and documentation."""

    key: str
    kind: str  # str, int, bool, duration, enum, list, path, text, command, number
    default: Any = None
    doc: str = ""
    choices: tuple[str, ...] = ()


KEYS: tuple[KeySpec, ...] = (
    KeySpec("name", "str", "default", "profile name; keyring entries are PROFILE:NAME"),
    KeySpec("smtp.host", "str", None, "SMTP server host name"),
    KeySpec("smtp.port", "int", None, "SMTP port (587, or 465 with tls = true)"),
    KeySpec("smtp.auth", "enum", "basic", "SMTP authentication", AUTH_TYPES),
    KeySpec("smtp.user", "str", None, "SMTP user name"),
    KeySpec("smtp.from", "str", None, "From address of every message"),
    KeySpec("smtp.client_id", "str", None, "OAuth application (client) id"),
    KeySpec("smtp.tenant_id", "str", None, "Microsoft tenant (default: organizations)"),
    KeySpec("smtp.oauth_flow", "enum", "device-code", "OAuth flow", OAUTH_FLOWS),
    KeySpec("smtp.scopes", "list", None, "OAuth scopes (default: per provider)"),
    KeySpec("smtp.starttls", "bool", None, "require STARTTLS (default: true unless tls)"),
    KeySpec("smtp.tls", "bool", None, "implicit TLS, SMTPS (default: port == 465)"),
    KeySpec("smtp.tls_ca_file", "path", None, "CA bundle to trust (default: system store)"),
    KeySpec("smtp.allow_plaintext_auth", "bool", False, "allow a password on a connection without TLS"),
    KeySpec("smtp.timeout", "number", 30, "network timeout in seconds"),
    KeySpec("smtp.retry_for", "duration", "2m", "keep retrying temporary failures this long"),
    KeySpec("imap.host", "str", None, "IMAP server host name"),
    KeySpec("imap.port", "int", None, "IMAP port (993, or 143 with starttls = true)"),
    KeySpec("imap.auth", "enum", "basic", "IMAP authentication", AUTH_TYPES),
    KeySpec("imap.user", "str", None, "IMAP user (default: smtp.user)"),
    KeySpec("imap.client_id", "str", None, "OAuth client id (default: smtp.client_id)"),
    KeySpec("imap.tenant_id", "str", None, "Microsoft tenant (default: smtp.tenant_id)"),
    KeySpec("imap.oauth_flow", "enum", None, "OAuth flow (default: smtp.oauth_flow)", OAUTH_FLOWS),
    KeySpec("imap.scopes", "list", None, "OAuth scopes (default: per provider)"),
    KeySpec("imap.starttls", "bool", False, "use STARTTLS on a plain port"),
    KeySpec("imap.tls", "bool", None, "implicit TLS (default: true unless starttls)"),
    KeySpec("imap.tls_ca_file", "path", None, "CA bundle to trust (default: system store)"),
    KeySpec("imap.allow_plaintext_auth", "bool", False, "allow a password on a connection without TLS"),
    KeySpec("imap.timeout", "number", 30, "network timeout in seconds"),
    KeySpec("imap.properties", "text", None, "JavaMail-style IMAP properties (see man page)"),
    KeySpec("approval.enabled", "bool", False, "enable approvals by email"),
    KeySpec("approval.folder", "str", "INBOX", "the reply folder"),
    KeySpec("approval.mailbox", "str", "imap", "imap, or maildir:PATH for a local Maildir"),
    KeySpec("approval.reply_address", "str", None, "Reply-To of approval requests (default: smtp.from)"),
    KeySpec("approval.interval_minutes", "int", 5, "how often cron runs process-replies"),
    KeySpec("approval.count", "int", 30, "messages read per process-replies run"),
    KeySpec("approval.expires_after", "duration", "72h", "approval lifetime"),
    KeySpec("approval.max_message_kb", "int", 1024, "larger replies are judged on headers only"),
    KeySpec("approval.archive_days", "int", 30, "days raw replies are kept in the state dir"),
    KeySpec("approval.on_decision", "command", None, "command run once per decision"),
    KeySpec("approval.trusted_authserv_id", "str", None, "trust Authentication-Results from this server"),
    KeySpec("state.path", "path", None, "state directory (default: user state dir)"),
    KeySpec("notifications.attach_logs", "enum", "never", "attach logs", ATTACH_LOGS),
    KeySpec("notifications.templates_dir", "path", None, "directory of template overrides"),
    KeySpec("notifications.max_attachment_mb", "number", 10, "logs larger than this are cut"),
    KeySpec("test.to", "str", None, "recipient of mailrelay test"),
    KeySpec("events.*.to", "list", None, "default recipients of the event"),
    KeySpec("events.*.cc", "list", None, "default Cc of the event"),
)

SPECS: dict[str, KeySpec] = {spec.key: spec for spec in KEYS}


def spec_for(key: str) -> KeySpec | None:
    """The spec of ``key``; ``events.NAME.to`` matches ``events.*.to``."""
    if key in SPECS:
        return SPECS[key]
    parts = key.split(".")
    if len(parts) == 3 and parts[0] == "events":
        return SPECS.get(f"events.*.{parts[2]}")
    return None


class ServerSettings(NamedTuple):
    """One server's connection settings with defaults and inheritance applied."""

    role: str  # "smtp" or "imap"
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


class ApprovalSettings(NamedTuple):
    enabled: bool
    folder: str
    mailbox: str
    reply_address: str | None
    interval_minutes: int
    count: int
    expires_after: float
    max_message_kb: int
    archive_days: int
    on_decision: tuple[str, ...] | str | None
    trusted_authserv_id: str | None

    @property
    def maildir(self) -> Path | None:
        """The local Maildir when ``mailbox = "maildir:PATH"``, else None (IMAP)."""
        if self.mailbox.startswith("maildir:"):
            return Path(self.mailbox[len("maildir:"):]).expanduser()
        return None


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

    def require(self, key: str) -> Any:
        """The value of ``key``, or a ConfigError saying how to set it."""
        value = self.values.get(key)
        if value in (None, "", ()):
            where = str(self.path) if self.file_exists else f"{self.path} (which does not exist)"
            raise ConfigError(
                f"{key} is not set in {where}",
                hint=f"mailrelay config set {key} VALUE",
            )
        return value


def _flatten(table: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in table.items():
        dotted = f"{prefix}{key}"
        if isinstance(value, Mapping) and not value and _secret_word(dotted):
            flat[dotted] = value  # an empty [smtp.password] table is still refused
        elif isinstance(value, Mapping):
            flat.update(_flatten(value, dotted + "."))
        else:
            flat[dotted] = value
    return flat


def _secret_word(key: str) -> str | None:
    """The first secret-like word in any dotted part of ``key`` (lower case), or None."""
    for part in key.split("."):
        words = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", part).lower()
        match = _SECRET_WORDS.search(words)
        if match:
            return match.group(1)
    return None


def secret_command(key: str) -> str:
    """``mailrelay secret set SECTION.NAME`` for a secret-like ``key``.

    The client secret for secret- or token-like words, the password otherwise; the
    section is the key's first part when it is smtp or imap, else smtp.
    """
    word = _secret_word(key) or ""
    name = "client_secret" if word.startswith(_TOKEN_WORDS) else "password"
    section = key.split(".")[0]
    if section not in ("smtp", "imap"):
        section = "smtp"
    return f"mailrelay secret set {section}.{name}"


def secret_hint(key: str) -> str:
    """The command that stores the secret ``key`` (from the file) in the keyring."""
    return f"remove it from the file and run: {secret_command(key)}"


def is_secret_key(key: str) -> bool:
    """Whether ``key`` names a secret (see ``_SECRET_WORDS``); such keys never live in a file."""
    return key in SECRET_NAMES or _secret_word(key) is not None


def _suggest(key: str) -> str:
    import difflib

    known = [spec.key for spec in KEYS if "*" not in spec.key]
    close = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
    return f"did you mean {close[0]}?" if close else "see `mailrelay config show` for every key"


# An empty folder name, or an approval that expires as it is made, is never what was meant.
_NOT_EMPTY = ("approval.folder", "smtp.host", "imap.host")
_POSITIVE = ("approval.expires_after",)


def check_value(key: str, value: Any, where: str) -> Any:
    """``value`` converted to the type of ``key``; ConfigError naming ``where`` when it is wrong."""
    spec = spec_for(key)
    if spec is None:
        raise ConfigError(f"{where}: unknown key {key}", hint=_suggest(key))

    def bad(expected: str) -> ConfigError:
        return ConfigError(
            f"{where}: {key} must be {expected}, not {value!r}",
            hint=f"mailrelay config set {key} VALUE",
        )

    kind = spec.kind
    if kind in ("str", "path", "text"):
        if not isinstance(value, str):
            raise bad("a string")
        if key in _NOT_EMPTY and not value.strip():
            raise bad("a name, not empty")
        return Path(value).expanduser() if kind == "path" else value
    if kind == "int":
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise bad("a whole number")
        if key.endswith(".port") and not 1 <= value <= 65535:
            raise bad("a port number (1-65535)")
        return value
    if kind == "number":
        if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
            raise bad("a positive number")
        return float(value)
    if kind == "bool":
        if not isinstance(value, bool):
            raise bad("true or false")
        return value
    if kind == "enum":
        if value not in spec.choices:
            raise bad("one of " + ", ".join(spec.choices))
        return value
    if kind == "duration":
        try:
            seconds = parse_duration(str(value))
        except ValueError:
            raise bad("a duration like 30s, 5m, 72h or 2d") from None
        if key in _POSITIVE and seconds <= 0:
            raise bad("longer than 0s")
        return seconds
    if kind == "list":
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise bad("a list of strings")
        return tuple(value)
    if kind == "command":
        if isinstance(value, str):
            return value
        if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
            return tuple(value)
        raise bad("a command (a string or a list of arguments)")
    raise AssertionError(f"unhandled kind {kind}")


def read_file_table(path: Path) -> dict[str, Any]:
    """The raw TOML table of ``path`` ({} when the file does not exist)."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except OSError as e:
        raise ConfigError(f"cannot read {path}: {e.strerror}",
                          hint="check the path and its permissions") from e
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{path}: not valid TOML: {e}", hint="fix the line it names") from e


def load_settings(path: str | os.PathLike[str] | None = None) -> Settings:
    """Load and validate the settings file (see ``paths.config_file`` for where it is looked up)."""
    file_path = paths.config_file(path)
    exists = file_path.is_file()
    table = read_file_table(file_path) if exists else {}
    return settings_from_table(table, file_path, exists)


def settings_from_table(table: Mapping[str, Any], file_path: Path, exists: bool = True) -> Settings:
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
    if values.get("imap.properties"):
        from mailrelay_cli.config import imap_properties

        imap_properties.refuse_secrets(values["imap.properties"], str(file_path))

    def get(key: str, default: Any = None, inherit: str | None = None,
            compute: Callable[[], Any] | None = None) -> Any:
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
    )

    imap_starttls = get("imap.starttls")
    imap_tls = get("imap.tls", compute=lambda: not imap_starttls)
    if imap_tls and imap_starttls:
        raise ConfigError(
            f"{file_path}: imap.tls and imap.starttls are both true; pick one",
            hint="implicit TLS (port 993): imap.tls = true; STARTTLS (port 143): imap.starttls = true",
        )
    oauth_inherited = "imap.client_id" not in values
    imap = ServerSettings(
        role="imap",
        host=get("imap.host"),
        port=get("imap.port", compute=lambda: 993 if imap_tls else 143),
        auth=get("imap.auth"),
        user=get("imap.user", inherit="smtp.user"),
        client_id=get("imap.client_id", inherit="smtp.client_id"),
        tenant_id=get("imap.tenant_id", inherit="smtp.tenant_id"),
        oauth_flow=get("imap.oauth_flow", inherit="smtp.oauth_flow",
                       compute=lambda: smtp.oauth_flow),
        scopes=get("imap.scopes"),
        starttls=imap_starttls,
        tls=imap_tls,
        tls_ca_file=get("imap.tls_ca_file"),
        allow_plaintext_auth=get("imap.allow_plaintext_auth"),
        timeout=get("imap.timeout"),
        properties=get("imap.properties"),
        oauth_inherited=oauth_inherited and smtp.client_id is not None,
    )

    mailbox = get("approval.mailbox")
    if mailbox != "imap" and not (mailbox.startswith("maildir:") and len(mailbox) > len("maildir:")):
        raise ConfigError(
            f"{file_path}: approval.mailbox must be \"imap\" or \"maildir:PATH\", not {mailbox!r}",
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
    )
    if approval.interval_minutes < 1:
        raise ConfigError(f"{file_path}: approval.interval_minutes must be at least 1",
                          hint="mailrelay config set approval.interval_minutes 5")
    if approval.count < 1:
        raise ConfigError(f"{file_path}: approval.count must be at least 1",
                          hint="mailrelay config set approval.count 30")
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
    )


def parse_cli_value(key: str, text: str) -> Any:
    """The TOML value for ``config set KEY TEXT``, converted by the key's type."""
    if is_secret_key(key):
        raise ConfigError(f"{key} is a secret and secrets never live in the settings file",
                          hint=secret_hint(key))
    spec = spec_for(key)
    if spec is None:
        raise ConfigError(f"unknown key {key}", hint=_suggest(key))
    kind = spec.kind
    if kind == "bool":
        lowered = text.strip().lower()
        if lowered in ("true", "yes", "on", "1"):
            return True
        if lowered in ("false", "no", "off", "0"):
            return False
        raise ConfigError(f"{key} must be true or false, not {text!r}",
                          hint=f"mailrelay config set {key} true")
    if kind == "int":
        try:
            return int(text)
        except ValueError:
            raise ConfigError(f"{key} must be a whole number, not {text!r}",
                              hint=f"mailrelay config set {key} NUMBER") from None
    if kind == "number":
        try:
            number = float(text)
        except ValueError:
            raise ConfigError(f"{key} must be a number, not {text!r}",
                              hint=f"mailrelay config set {key} NUMBER") from None
        return int(number) if number.is_integer() else number
    if kind == "list":
        stripped = text.strip()
        if stripped.startswith("["):
            try:
                parsed = tomllib.loads(f"v = {stripped}")["v"]
            except tomllib.TOMLDecodeError as e:
                raise ConfigError(f"{key}: not a TOML list: {e}",
                                  hint=f'mailrelay config set {key} "a@example.com,b@example.com"') from e
            return parsed
        return [item.strip() for item in stripped.split(",") if item.strip()]
    return text


def set_value(path: Path, key: str, text: str) -> Any:
    """Write ``key = TEXT`` into the file at ``path``, keeping its comments and layout.

    The new value is type-checked and the whole resulting file validated before
    anything is written; the file is replaced atomically.
    """
    import tomlkit

    value = parse_cli_value(key, text)
    try:
        original = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        original = ""
    try:
        document = tomlkit.parse(original)
    except Exception as e:  # tomlkit raises its own ParseError family
        raise ConfigError(f"{path}: not valid TOML: {e}", hint="fix the file by hand first") from e
    parts = key.split(".")
    table: Any = document
    for part in parts[:-1]:
        if part not in table:
            table[part] = tomlkit.table()
        table = table[part]
        if not isinstance(table, Mapping):
            raise ConfigError(f"{path}: {part} is not a table", hint="fix the file by hand first")
    if isinstance(value, str) and "\n" in value and "\'\'\'" not in value:
        # A properties block stays a readable block: a literal multi-line string, which
        # needs no escapes; the newline after the opening quotes is not part of the value.
        from tomlkit.items import String, StringType, Trivia

        table[parts[-1]] = String(StringType.MLL, value, "\n" + value, Trivia())
    else:
        table[parts[-1]] = value
    new_text = tomlkit.dumps(document)
    settings = settings_from_table(tomllib.loads(new_text), path)
    if key == "imap.properties":  # its lines are checked where they are parsed
        from mailrelay_cli.config import imap_properties

        imap_properties.check_warnings(settings.imap)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(new_text, encoding="utf-8")
    os.replace(tmp, path)
    return value


class ConfigRow(NamedTuple):
    """One line of ``config show``: the effective value and where it came from."""

    key: str
    value: Any
    source: str


def _display(value: Any) -> Any:
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, tuple):
        return list(value)
    return value


def describe(settings: Settings) -> list[ConfigRow]:
    """Every effective setting in declaration order, then per-event keys."""
    rows = []
    for spec in KEYS:
        if "*" in spec.key:
            continue
        rows.append(ConfigRow(spec.key, _display(settings.values.get(spec.key)),
                              settings.sources.get(spec.key, "default")))
    for key in sorted(k for k in settings.values if k.startswith("events.")):
        rows.append(ConfigRow(key, _display(settings.values[key]), settings.sources[key]))
    return rows


OAUTH_TYPES = ("microsoft-oauth", "google-oauth")


class Problem(NamedTuple):
    """Something every command that needs it would reject: what, and the command that fixes it."""

    message: str
    hint: str


def _imap_host_from_properties(settings: Settings) -> bool:
    if not settings.imap.properties:
        return False
    from mailrelay_cli.config import imap_properties

    try:
        return imap_properties.parse(settings.imap.properties, settings.imap).lines.get(
            "host") is not None
    except ConfigError:  # a broken block is reported where it is parsed
        return False


def missing_settings(settings: Settings, role: str) -> tuple[Problem, ...]:
    """What ``role`` ("smtp" or "imap") lacks before a connection and login are worth trying.

    One list serves ``config check`` and the commands, so a cron job fails with 78
    naming the key rather than with a network error that hides it.
    """
    found: list[Problem] = []

    def unset(key: str, why: str = "") -> None:
        found.append(Problem(f"{key} is not set in {settings.path}{why}",
                             f"mailrelay config set {key} VALUE"))

    server = settings.smtp if role == "smtp" else settings.imap
    if server.tls_ca_file is not None and not server.tls_ca_file.is_file():
        found.append(Problem(f"{role}.tls_ca_file: {server.tls_ca_file} is not a file",
                             f"mailrelay config set {role}.tls_ca_file /path/to/ca.pem"))
    if role == "smtp":
        smtp = settings.smtp
        if not smtp.host:
            unset("smtp.host")
        if smtp.auth != "none" and not smtp.user:
            unset("smtp.user", f" (smtp.auth = {smtp.auth})")
        if smtp.auth in OAUTH_TYPES and not smtp.client_id:
            unset("smtp.client_id", f" (smtp.auth = {smtp.auth})")
        return tuple(found)
    imap = settings.imap
    if not imap.host and not _imap_host_from_properties(settings):
        unset("imap.host")
    if imap.auth != "none" and not imap.user:
        unset("imap.user", f" (imap.auth = {imap.auth})")
    if imap.auth in OAUTH_TYPES and not imap.client_id:
        unset("imap.client_id", f" (imap.auth = {imap.auth})")
    return tuple(found)


def require_complete(settings: Settings, role: str) -> None:
    """Raise the first of ``missing_settings`` as a ConfigError (exit 78), if any."""
    problems = missing_settings(settings, role)
    if problems:
        more = f" (and {len(problems) - 1} more: mailrelay config check)" if len(problems) > 1 else ""
        raise ConfigError(problems[0].message + more, hint=problems[0].hint)
