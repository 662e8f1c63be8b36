"""Where a role's OAuth token cache is kept: its keyring entry, or a private file when refused.

The token cache of a role lives in the keyring entry ``PROFILE:oauth.smtp`` or
``PROFILE:oauth.imap``. A keyring that refuses a value that large (Windows
Credential Manager stops near 2.5 KB) gets a file in the state dir readable only
by the user instead, and the login says so. The text stored is the provider's
business (msal's serialized cache, or Google's tokens as JSON).
"""

from __future__ import annotations

from pathlib import Path

from mailrelay_cli.auth import credentials
from mailrelay_cli.config.records import Role, Settings
from mailrelay_cli.errors import ConfigError, NoKeyringError, StateError
from mailrelay_cli.paths import write_private

# Keyring values larger than this may be refused (Windows Credential Manager).
_FALLBACK_NOTE = (
    "the keyring refused the token cache ({size} bytes); it is kept in {path} (readable only by you)"
)


def _entry(cache_role: Role) -> str:
    return f"oauth.{cache_role}"


def fallback_path(settings: Settings, cache_role: Role) -> Path:
    return settings.state_dir / f"oauth-{cache_role}.json"


def where(settings: Settings, cache_role: Role) -> str:
    """Where the cache of ``cache_role`` is (or would be) kept, for people to read."""
    if fallback_path(settings, cache_role).exists():
        return str(fallback_path(settings, cache_role))
    return f"keyring {credentials.SERVICE} {credentials.entry_name(settings.profile, _entry(cache_role))}"


def load_cache_text(settings: Settings, cache_role: Role) -> str | None:
    """The stored cache of ``cache_role`` (keyring, or the fallback file), or None."""
    path = fallback_path(settings, cache_role)
    if path.exists():
        try:
            return path.read_text(encoding="utf-8")
        except OSError as e:
            raise ConfigError(
                f"cannot read the token cache {path}: {e.strerror}", hint=f"check the permissions of {path}"
            ) from e
    return credentials.get_internal(settings.profile, _entry(cache_role))


def save_cache_text(settings: Settings, cache_role: Role, text: str) -> str | None:
    """Store the cache; returns a note for the user when it had to go to a file."""
    from keyring.errors import PasswordSetError

    path = fallback_path(settings, cache_role)
    try:
        credentials.set_internal(settings.profile, _entry(cache_role), text)
    except NoKeyringError as e:
        if not isinstance(e.__cause__, PasswordSetError):
            raise
        try:
            write_private(path, text)
        except OSError as os_error:  # a full disk or a read-only state dir: the operator's to fix
            raise StateError(
                f"cannot write the token cache {path}: {os_error.strerror}",
                hint="free disk space in the state directory, or fix its permissions",
            ) from os_error
        return _FALLBACK_NOTE.format(size=len(text.encode()), path=path)
    if path.exists():
        path.unlink()  # the keyring holds it now; a stale file would shadow it
    return None


def delete_cache(settings: Settings, cache_role: Role) -> bool:
    removed = credentials.delete_internal(settings.profile, _entry(cache_role))
    path = fallback_path(settings, cache_role)
    if path.exists():
        path.unlink()
        removed = True
    return removed
