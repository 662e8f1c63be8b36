"""``config set``: one key written into the settings file, its comments and layout kept."""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from mailrelay_cli.config.endpoints import check_warnings
from mailrelay_cli.config.load import settings_from_table
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
    if kind == "list":
        stripped = text.strip()
        if stripped.startswith("["):
            try:
                parsed = tomllib.loads(f"v = {stripped}")["v"]
            except tomllib.TOMLDecodeError as e:
                raise ConfigError(
                    f"{key}: not a TOML list: {e}",
                    hint=f'mailrelay config set {key} "a@example.com,b@example.com"',
                ) from e
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
    if isinstance(value, str) and "\n" in value and "'''" not in value:
        # A properties block stays a readable block: a literal multi-line string, which
        # needs no escapes; the newline after the opening quotes is not part of the value.
        from tomlkit.items import String, StringType, Trivia

        table[parts[-1]] = String(StringType.MLL, value, "\n" + value, Trivia())
    else:
        table[parts[-1]] = value
    new_text = tomlkit.dumps(document)
    settings = settings_from_table(tomllib.loads(new_text), path)
    if key == "imap.properties":  # its lines are checked where they are parsed
        check_warnings(settings.imap)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(new_text, encoding="utf-8")
    os.replace(tmp, path)
    return value
