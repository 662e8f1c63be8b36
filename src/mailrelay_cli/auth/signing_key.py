"""The key that signs approval references, shared by every host that asks or reads replies.

A reference made on one host verifies on another only when both hold the same
key, so a team sets it once on each host (``mailrelay secret set
approval.signing_key --stdin``, the value read from the first host with
``mailrelay secret export approval.signing_key``). It is hex, at least 32
bytes (64 hex digits); anything shorter is refused. It is never stored in the
state database: whoever can read the database cannot forge a reference.

Lookup, first match wins: ``MAILRELAY_APPROVAL_HMAC_KEY``,
``MAILRELAY_APPROVAL_SIGNING_KEY``, keyring ``approval.signing_key``, keyring
``approval.hmac_key`` (where mailrelay keeps the key it makes on first use).
"""

from __future__ import annotations

import os
import secrets

from mailrelay_cli.auth import credentials
from mailrelay_cli.errors import ConfigError, DataError

NAME = "approval.signing_key"
MADE_NAME = "approval.hmac_key"  # the key made on first use (INTERNAL_NAMES)
MIN_BYTES = 32


def parse(text: str) -> bytes | None:
    """The key in ``text`` (hex), or None when it is not hex of at least ``MIN_BYTES`` bytes."""
    try:
        key = bytes.fromhex(text.strip())
    except ValueError:
        return None
    return key if len(key) >= MIN_BYTES else None


def check_new(text: str) -> str:
    """``text`` as it will be stored (lower-case hex); DataError (65) for a short or non-hex key."""
    key = parse(text)
    if key is None:
        raise DataError(
            f"{NAME} must be hex, at least {MIN_BYTES} bytes ({2 * MIN_BYTES} hex digits); nothing stored",
            hint="copy it from the first host: mailrelay secret export "
            f"{NAME} | ssh HOST mailrelay secret set {NAME} --stdin "
            "(or make one: openssl rand -hex 32)",
        )
    return key.hex()


def _found(profile: str) -> tuple[str, str] | None:
    """(value, where) of the first key in the lookup order, or None."""
    for variable in (credentials.env_name(MADE_NAME), credentials.env_name(NAME)):
        if os.environ.get(variable):
            return os.environ[variable], f"environment variable {variable}"
    for name in (NAME, MADE_NAME):
        value = (
            credentials.get_internal(profile, name)
            if name == MADE_NAME
            else credentials.get_secret(profile, name, inherit=False)
        )
        if value:
            return value, f"keyring entry {credentials.entry_name(profile, name)}"
    return None


def signing_key(profile: str, *, create: bool = True) -> bytes | None:
    """The key (see the module docstring); made and kept in the keyring on first use when ``create``.

    ConfigError (78) when the key found is not hex of at least 32 bytes.
    """
    found = _found(profile)
    if found is not None:
        value, where = found
        key = parse(value)
        if key is None:
            raise ConfigError(
                f"the approval signing key in the {where} is not hex of at least {MIN_BYTES} bytes",
                hint=f"mailrelay secret set {NAME} --stdin (the same key on every host)",
            )
        return key
    if not create:
        return None
    key = secrets.token_bytes(MIN_BYTES)
    credentials.set_internal(profile, MADE_NAME, key.hex())
    return key
