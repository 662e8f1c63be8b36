"""``state.url``: checked when the settings load, before anything connects.

Only the shape is checked here (a ``postgresql://`` URL, no password in it);
libpq parses the rest when ``store.postgres_connect`` connects.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from mailrelay_cli.errors import ConfigError

SCHEMES = ("postgresql", "postgres")
EXAMPLE = 'mailrelay config set state.url "postgresql://mailrelay@db.example.com:5432/mailrelay"'


def check_state_url(url: object, file_path: Path) -> str | None:
    """``url`` when it is a usable ``state.url`` (None when unset); ConfigError (78) otherwise."""
    if url in (None, ""):
        return None
    text = str(url)
    try:
        parts = urlsplit(text)
    except ValueError:
        raise ConfigError(f"{file_path}: state.url is not a URL", hint=EXAMPLE) from None
    if parts.scheme not in SCHEMES or not text.startswith(tuple(s + "://" for s in SCHEMES)):
        raise ConfigError(
            f"{file_path}: state.url must be a postgresql:// URL (leave it unset for SQLite in state.path)",
            hint=EXAMPLE,
        )
    userinfo = parts.netloc.rpartition("@")[0] if "@" in parts.netloc else ""
    if ":" in userinfo or "password" in parse_qs(parts.query):
        raise ConfigError(
            f"{file_path}: state.url holds a password; secrets never live in the settings file",
            hint="remove it from the URL and run: mailrelay secret set state.password",
        )
    return text
