"""Secrets: the OS keyring first, an environment variable for hosts without one.

Keyring service ``mailrelay``, entry ``PROFILE:NAME``. Lookup order for a
secret, first match wins:
  1. the environment variable ``MAILRELAY_<NAME>`` (``smtp.password`` ->
     ``MAILRELAY_SMTP_PASSWORD``), for cron hosts with no keyring daemon;
  2. the keyring entry ``PROFILE:NAME``;
  3. for IMAP's password and client secret, SMTP's (DESIGN.md inheritance).

``keyring`` is imported only when a secret is actually needed: it costs
~150 ms at start-up.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from typing import Any, NamedTuple

from mailrelay_cli.config.schema import SECRET_NAMES
from mailrelay_cli.errors import ConfigError, KeyringSettingError, NoKeyringError

SERVICE = "mailrelay"
# Internal entries (not settable with `secret set`): the approval signing key and OAuth caches.
INTERNAL_NAMES = ("approval.hmac_key", "oauth.smtp", "oauth.imap")
INHERITED = {"imap.password": "smtp.password", "imap.client_secret": "smtp.client_secret"}

NO_KEYRING_HINT = (
    "no usable keyring on this host (typical for cron without a desktop session): either set "
    "the environment variable {env} for the job, or use a file backend: "
    "pip install keyrings.alt and export PYTHON_KEYRING_BACKEND=keyrings.alt.file.PlaintextKeyring "
    "(or keyrings.alt.file.EncryptedKeyring)"
)


def env_name(name: str) -> str:
    """The environment fallback of secret ``name``: ``smtp.password`` -> ``MAILRELAY_SMTP_PASSWORD``."""
    return "MAILRELAY_" + name.replace(".", "_").upper()


def secret_env_names() -> tuple[str, ...]:
    """Every environment variable that may hold a secret (to keep them from child processes)."""
    return tuple(env_name(name) for name in SECRET_NAMES + INTERNAL_NAMES)


KEYRING_BACKEND_VARIABLE = "PYTHON_KEYRING_BACKEND"
_SECRET_LIKE_VARIABLE = re.compile(r"^MAILRELAY_.*(PASSWORD|SECRET|KEY)", re.IGNORECASE)


def keyring_backend_variable() -> str | None:
    """``PYTHON_KEYRING_BACKEND`` when set: a scheduled job needs the same keyring backend."""
    return os.environ.get(KEYRING_BACKEND_VARIABLE) or None


def secret_variables_set() -> tuple[str, ...]:
    """The names (never the values) of set variables that hold or look like secrets:
    ``MAILRELAY_*PASSWORD*``, ``*SECRET*``, ``*KEY*`` and every secret fallback."""
    known = set(secret_env_names())
    return tuple(
        sorted(
            name
            for name, value in os.environ.items()
            if value and (name in known or _SECRET_LIKE_VARIABLE.match(name))
        )
    )


def entry_name(profile: str, name: str) -> str:
    return f"{profile}:{name}"


def check_name(name: str) -> None:
    """Raise ConfigError unless ``name`` is a secret a user may set."""
    if name not in SECRET_NAMES:
        raise ConfigError(
            f"unknown secret {name!r}",
            hint="secrets are: " + ", ".join(SECRET_NAMES),
        )


def _backend(name: str | None = None) -> Any:
    import keyring
    from keyring.backends import fail

    try:
        backend = keyring.get_keyring()
    except (ImportError, AttributeError, ValueError, TypeError) as e:
        raise _bad_backend_setting(e) from e
    usable = getattr(backend, "backends", None)
    if isinstance(backend, fail.Keyring) or usable == []:
        raise NoKeyringError(
            f"no keyring backend is available ({type(backend).__module__})",
            hint=NO_KEYRING_HINT.format(env=env_name(name) if name else "MAILRELAY_<NAME>"),
        )
    return backend


def available_backends() -> list[str]:
    """The dotted class names of the keyring backends usable here (what the variable takes)."""
    from keyring.backend import get_all_keyring

    names = set()
    for backend in get_all_keyring():
        cls = type(backend)
        if cls.__module__ in ("keyring.backends.chainer", "keyring.backends.fail", "keyring.backends.null"):
            continue
        names.add(f"{cls.__module__}.{cls.__name__}")
    return sorted(names)


def _bad_backend_setting(error: Exception) -> KeyringSettingError:
    """A ``PYTHON_KEYRING_BACKEND`` (or keyringrc.cfg) naming no backend: 78, never a bug."""
    value = os.environ.get("PYTHON_KEYRING_BACKEND")
    known = ", ".join(available_backends()) or "none installed (pip install keyrings.alt)"
    if value is not None:
        what = (
            "PYTHON_KEYRING_BACKEND is empty"
            if not value.strip()
            else f"PYTHON_KEYRING_BACKEND={value[:80]} names no keyring backend ({error})"
        )
        return KeyringSettingError(
            what, hint=f"set it to one of: {known}; or unset it to use the system keyring"
        )
    return KeyringSettingError(
        f"the keyring's configuration names no backend ({error})",
        hint=f"fix keyringrc.cfg (python -m keyring diagnose); backends: {known}",
    )


def _keyring_error(name: str, error: Exception) -> NoKeyringError:
    return NoKeyringError(
        f"the keyring refused to give {name}: {error}",
        hint=NO_KEYRING_HINT.format(env=env_name(name)),
    )


def _read(profile: str, name: str) -> str | None:
    from keyring.errors import KeyringError

    backend = _backend(name)
    try:
        return backend.get_password(SERVICE, entry_name(profile, name))
    except KeyringError as e:
        raise _keyring_error(name, e) from e


def get_secret(profile: str, name: str, *, inherit: bool = True) -> str | None:
    """The secret ``name`` (see the module docstring for the order), or None when unset.

    A missing keyring is an error only when no environment variable gives the value.
    """
    from_env = os.environ.get(env_name(name))
    if from_env:
        return from_env
    fallback = INHERITED.get(name) if inherit else None
    if fallback and os.environ.get(env_name(fallback)):
        # Checking the env first keeps a keyring-less cron host working with SMTP's variable.
        try:
            value = _read(profile, name)
        except NoKeyringError:
            return os.environ[env_name(fallback)]
        return value or os.environ[env_name(fallback)]
    value = _read(profile, name)
    if value is None and fallback:
        return _read(profile, fallback)
    return value


def secret_source(profile: str, name: str) -> str:
    """Where ``get_secret`` finds ``name``, in its order: ``env VAR``, ``keyring NAME``
    (NAME is the inherited secret when that is where it came from), or ``unset``."""
    fallback = INHERITED.get(name)
    if os.environ.get(env_name(name)):
        return f"env {env_name(name)}"
    for candidate in (name, fallback):
        if candidate == fallback and fallback and os.environ.get(env_name(fallback)):
            return f"env {env_name(fallback)}"
        try:
            if candidate and _read(profile, candidate):
                return f"keyring {candidate}"
        except NoKeyringError:
            continue
    return "unset"


def secret_fix(source: str | None, name: str) -> str:
    """How to correct secret ``name`` after a server refused it, given ``secret_source``."""
    if source and source.startswith("env "):
        variable = source.removeprefix("env ")
        return (
            f"fix {variable} (the environment variable holds the value that was used; "
            "it wins over the keyring)"
        )
    inherited = INHERITED.get(name)
    if inherited and source == f"keyring {inherited}":
        return (
            f"store it again: mailrelay secret set {inherited} ({name.split('.')[0].upper()} "
            f"uses {inherited.split('.')[0].upper()}'s), or give it its own: "
            f"mailrelay secret set {name}"
        )
    return f"store it again: mailrelay secret set {name}"


def require_secret(profile: str, name: str) -> str:
    """The secret ``name``, or a ConfigError saying how to set it."""
    value = get_secret(profile, name)
    if not value:
        raise ConfigError(
            f"{name} is not set (keyring entry {SERVICE} {entry_name(profile, name)}, or {env_name(name)})",
            hint=f"mailrelay secret set {name}",
        )
    return value


def set_secret(profile: str, name: str, value: str) -> None:
    from keyring.errors import KeyringError, PasswordSetError

    backend = _backend(name)
    try:
        backend.set_password(SERVICE, entry_name(profile, name), value)
    except (PasswordSetError, KeyringError) as e:
        raise _keyring_error(name, e) from e


def delete_secret(profile: str, name: str) -> bool:
    """Remove ``name`` from the keyring; False when it was not there."""
    from keyring.errors import KeyringError, PasswordDeleteError

    backend = _backend(name)
    try:
        backend.delete_password(SERVICE, entry_name(profile, name))
    except PasswordDeleteError:
        return False
    except KeyringError as e:
        raise _keyring_error(name, e) from e
    return True


class SecretStatus(NamedTuple):
    """One row of ``secret list``: where a secret is set (never its value)."""

    name: str
    where: str  # ``keyring``, ``env MAILRELAY_…``, ``unset`` or ``unset (no keyring)``

    @property
    def is_set(self) -> bool:
        return not self.where.startswith("unset")

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "set": self.is_set, "where": self.where}


def secret_status(profile: str, names: Iterable[str] = SECRET_NAMES) -> list[SecretStatus]:
    """(name, where) for each user secret (all by default): ``keyring``, ``env MAILRELAY_…``,
    or ``unset``."""
    rows = []
    for name in names:
        if os.environ.get(env_name(name)):
            rows.append(SecretStatus(name, f"env {env_name(name)}"))
            continue
        try:
            stored = _read(profile, name)
        except KeyringSettingError:
            raise  # a mistyped backend is the user's to fix, not "no keyring"
        except NoKeyringError:
            rows.append(SecretStatus(name, "unset (no keyring)"))
            continue
        rows.append(SecretStatus(name, "keyring" if stored else "unset"))
    return rows


def get_internal(profile: str, name: str) -> str | None:
    """An internal keyring entry (``INTERNAL_NAMES``); no environment fallback except its own."""
    from_env = os.environ.get(env_name(name))
    if from_env:
        return from_env
    return _read(profile, name)


def set_internal(profile: str, name: str, value: str) -> None:
    set_secret(profile, name, value)


def delete_internal(profile: str, name: str) -> bool:
    return delete_secret(profile, name)
