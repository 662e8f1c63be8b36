"""``config set``: one key written into the settings file, its comments and layout kept."""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping, MutableMapping
from pathlib import Path
from typing import Any

from mailrelay_cli.config.endpoints import check_warnings
from mailrelay_cli.config.load import settings_from_table
from mailrelay_cli.config.text_values import parse_cli_value
from mailrelay_cli.errors import ConfigError


def set_value(path: Path, key: str, text: str) -> Any:
    """Write ``key = TEXT`` into the file at ``path``, keeping its comments and layout.

    The new value is type-checked and the whole resulting file validated before
    anything is written; the file is replaced atomically.
    """
    import tomlkit

    value = parse_cli_value(key, text)
    if key.endswith(".tls_ca_file") and not Path(str(value)).expanduser().is_file():
        # what every connection (and `config check`) would refuse, refused before writing
        raise ConfigError(f"{key}: {value} is not a file", hint=f"mailrelay config set {key} /path/to/ca.pem")
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


def unset_value(path: Path, key: str) -> bool:
    """Remove ``key`` from the file at ``path`` so its default applies again; comments stay.

    False when the file did not set it. The resulting file is validated before it replaces
    the old one, as ``set_value`` does.
    """
    import tomlkit

    from mailrelay_cli.config.schema import spec_for, suggest

    if spec_for(key) is None:
        raise ConfigError(f"unknown key {key}", hint=suggest(key))
    try:
        original = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return False
    try:
        document = tomlkit.parse(original)
    except Exception as e:  # tomlkit raises its own ParseError family
        raise ConfigError(f"{path}: not valid TOML: {e}", hint="fix the file by hand first") from e
    *parents, name = key.split(".")
    table: Any = document
    for part in parents:
        table = table.get(part) if isinstance(table, Mapping) else None
        if table is None:
            return False
    if not isinstance(table, MutableMapping) or name not in table:
        return False
    del table[name]
    new_text = tomlkit.dumps(document)
    settings_from_table(tomllib.loads(new_text), path)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(new_text, encoding="utf-8")
    os.replace(tmp, path)
    return True
