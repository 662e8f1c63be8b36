"""The settings key table: every key's type, default and documentation, and its checks.

Every key is declared once in ``KEYS``; ``check_value`` converts a value from the
file to the key's type or raises a ``ConfigError`` naming where it came from.
Secrets never live in the file: a password-like key (or a password-like line in
``imap.properties``) is a ``ConfigError`` naming the ``mailrelay secret set``
command to run instead.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, NamedTuple

from mailrelay_cli.durations import parse_duration
from mailrelay_cli.errors import ConfigError

AUTH_TYPES = ("none", "basic", "microsoft-oauth", "google-oauth")
OAUTH_FLOWS = ("device-code", "client-credentials")
ATTACH_LOGS = ("never", "always", "on-failure")
TRANSPORTS = ("smtp", "graph")
SECRET_NAMES = (
    "smtp.password",
    "imap.password",
    "smtp.client_secret",
    "imap.client_secret",
    "state.password",
    "approval.signing_key",
)
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
    KeySpec(
        "smtp.client_certificate",
        "path",
        None,
        "PEM file with the app's certificate and private key (client-credentials)",
    ),
    KeySpec("smtp.scopes", "list", None, "OAuth scopes (default: per provider)"),
    KeySpec("smtp.starttls", "bool", None, "require STARTTLS (default: true unless tls)"),
    KeySpec("smtp.tls", "bool", None, "implicit TLS, SMTPS (default: port == 465)"),
    KeySpec("smtp.tls_ca_file", "path", None, "CA bundle to trust (default: system store)"),
    KeySpec("smtp.allow_plaintext_auth", "bool", False, "allow a password on a connection without TLS"),
    KeySpec("smtp.timeout", "number", 30, "network timeout in seconds"),
    KeySpec("smtp.retry_for", "duration", "2m", "keep retrying temporary failures this long"),
    KeySpec("smtp.transport", "enum", "smtp", "smtp, or graph (Microsoft Graph sendMail)", TRANSPORTS),
    KeySpec(
        "smtp.authority", "str", None, "Microsoft login host (default: https://login.microsoftonline.com)"
    ),
    KeySpec("imap.host", "str", None, "IMAP server host name"),
    KeySpec("imap.port", "int", None, "IMAP port (993, or 143 with starttls = true)"),
    KeySpec("imap.auth", "enum", "basic", "IMAP authentication", AUTH_TYPES),
    KeySpec("imap.user", "str", None, "IMAP user (default: smtp.user)"),
    KeySpec("imap.client_id", "str", None, "OAuth client id (default: smtp.client_id)"),
    KeySpec("imap.tenant_id", "str", None, "Microsoft tenant (default: smtp.tenant_id)"),
    KeySpec("imap.oauth_flow", "enum", None, "OAuth flow (default: smtp.oauth_flow)", OAUTH_FLOWS),
    KeySpec(
        "imap.client_certificate", "path", None, "certificate and key (default: smtp.client_certificate)"
    ),
    KeySpec("imap.scopes", "list", None, "OAuth scopes (default: per provider)"),
    KeySpec("imap.starttls", "bool", False, "use STARTTLS on a plain port"),
    KeySpec("imap.tls", "bool", None, "implicit TLS (default: true unless starttls)"),
    KeySpec("imap.tls_ca_file", "path", None, "CA bundle to trust (default: system store)"),
    KeySpec("imap.allow_plaintext_auth", "bool", False, "allow a password on a connection without TLS"),
    KeySpec("imap.timeout", "number", 30, "network timeout in seconds"),
    KeySpec("imap.properties", "text", None, "JavaMail-style IMAP properties (see man page)"),
    KeySpec("imap.authority", "str", None, "Microsoft login host (default: smtp.authority)"),
    KeySpec("graph.endpoint", "str", None, "Microsoft Graph (default: the Graph of the login host's cloud)"),
    KeySpec("approval.enabled", "bool", False, "enable approvals by email"),
    KeySpec("approval.folder", "str", "INBOX", "the reply folder"),
    KeySpec("approval.mailbox", "str", "imap", "imap, maildir:PATH for a local Maildir, or graph"),
    KeySpec("approval.reply_address", "str", None, "Reply-To of approval requests (default: smtp.from)"),
    KeySpec("approval.interval_minutes", "int", 5, "how often cron runs process-replies"),
    KeySpec("approval.count", "int", 30, "messages read per process-replies run"),
    KeySpec("approval.expires_after", "duration", "72h", "approval lifetime"),
    KeySpec("approval.max_message_kb", "int", 1024, "larger replies are judged on headers only"),
    KeySpec("approval.archive_days", "int", 30, "days raw replies are kept in the state dir"),
    KeySpec(
        "approval.lock_wait",
        "duration",
        "0s",
        "how long process-replies waits for another run's lock before exit 75",
    ),
    KeySpec("approval.on_decision", "command", None, "command run once per decision"),
    KeySpec("approval.trusted_authserv_id", "str", None, "trust Authentication-Results from this server"),
    KeySpec("state.path", "path", None, "state directory (default: user state dir)"),
    KeySpec("state.url", "str", None, "postgresql://USER@HOST:PORT/DB: a store shared by several hosts"),
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


def secret_word(key: str) -> str | None:
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
    if key in SECRET_NAMES:
        return f"mailrelay secret set {key}"
    word = secret_word(key) or ""
    if key.split(".")[0] == "state":
        return "mailrelay secret set state.password"
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
    return key in SECRET_NAMES or secret_word(key) is not None


def suggest(key: str) -> str:
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
        raise ConfigError(f"{where}: unknown key {key}", hint=suggest(key))

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
        # What the hook runner refuses is refused here, so `config check` and `config set`
        # fail where every run would: an empty command, a string no shell could split.
        if isinstance(value, str):
            import shlex

            try:
                argv = shlex.split(value)
            except ValueError as e:  # an unbalanced quote would fail every run later
                raise ConfigError(
                    f"{where}: {key} cannot be split into arguments ({e}): {value!r}",
                    hint=f'write it as a list: {key.split(".")[-1]} = ["/path/to/cmd", "arg"]',
                ) from None
            if not argv:
                raise bad("a command (a string or a list of arguments)")
            return value
        if isinstance(value, list) and value and all(isinstance(v, str) for v in value) and value[0]:
            return tuple(value)
        raise bad("a command (a string or a non-empty list of arguments)")
    raise AssertionError(f"unhandled kind {kind}")


_PROPERTIES_SECRET_HINT = "remove the line and run: mailrelay secret set imap.password"


def refuse_secrets(text: str, where: str = "") -> None:
    """ConfigError naming the first ``imap.properties`` line whose key looks like a secret.

    Never its value. Any key counts, e.g. ``mail.imap.password``, ``mail.${{PROTOCOL}}.pass``
    or ``password``: a password pasted into the settings file is refused, not ignored.
    Settings loading calls this, so every command exits 78 on such a file.
    """
    for number, raw in enumerate(text.splitlines(), start=1):
        stripped = raw.strip()
        if not stripped or stripped[0] in "#!":
            continue
        key = stripped.partition("=")[0].strip()
        if key and is_secret_key(key):
            prefix = f"{where}: " if where else ""
            raise ConfigError(
                f"{prefix}imap.properties line {number}: {key[:60]} is a secret "
                "and secrets never live in the settings file",
                hint=_PROPERTIES_SECRET_HINT,
            )
