"""Values written as text (``config set KEY VALUE``, ``MAILRELAY__SECTION__KEY``) to TOML values.

One parser for both, so a list-typed key reads the same wherever it is written:
``["a", "b"]`` (a TOML array) or, for address lists, ``a@example.com,b@example.com``.
"""

from __future__ import annotations

import tomllib
from typing import Any

from mailrelay_cli.config.schema import is_secret_key, secret_hint, spec_for, suggest
from mailrelay_cli.errors import ConfigError


def parse_cli_value(key: str, text: str) -> Any:
    """The TOML value for ``config set KEY TEXT``, converted by the key's type."""
    if is_secret_key(key):
        raise ConfigError(
            f"{key} is a secret and secrets never live in the settings file", hint=secret_hint(key)
        )
    spec = spec_for(key)
    if spec is None:
        raise ConfigError(f"unknown key {key}", hint=suggest(key))
    kind = spec.kind
    if kind == "bool":
        lowered = text.strip().lower()
        if lowered in ("true", "yes", "on", "1"):
            return True
        if lowered in ("false", "no", "off", "0"):
            return False
        raise ConfigError(
            f"{key} must be true or false, not {text!r}", hint=f"mailrelay config set {key} true"
        )
    if kind == "int":
        try:
            return int(text)
        except ValueError:
            raise ConfigError(
                f"{key} must be a whole number, not {text!r}", hint=f"mailrelay config set {key} NUMBER"
            ) from None
    if kind == "number":
        try:
            number = float(text)
        except ValueError:
            raise ConfigError(
                f"{key} must be a number, not {text!r}", hint=f"mailrelay config set {key} NUMBER"
            ) from None
        return int(number) if number.is_integer() else number
    if kind in ("list", "command"):
        stripped = text.strip()
        if stripped.startswith("["):
            try:
                parsed = tomllib.loads(f"v = {stripped}")["v"]
            except tomllib.TOMLDecodeError as e:
                example = (
                    '\'["/path/to/cmd", "arg"]\'' if kind == "command" else '"a@example.com,b@example.com"'
                )
                raise ConfigError(
                    f"{key}: not a TOML list: {e}", hint=f"mailrelay config set {key} {example}"
                ) from e
            return parsed
        if kind == "command":  # a string is split like a shell when the hook runs
            return text
        return [item.strip() for item in stripped.split(",") if item.strip()]
    return text
