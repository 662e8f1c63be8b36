"""``config show`` rows: every effective value and where it came from."""

from __future__ import annotations

from pathlib import Path
from typing import Any, NamedTuple

from mailrelay_cli.config.records import Settings
from mailrelay_cli.config.schema import KEYS


class ConfigRow(NamedTuple):
    """One line of ``config show``: the effective value and where it came from."""

    key: str
    value: Any
    source: str

    def to_json(self) -> dict[str, Any]:
        return {"key": self.key, "value": self.value, "source": self.source}


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
        rows.append(
            ConfigRow(
                spec.key, _display(settings.values.get(spec.key)), settings.sources.get(spec.key, "default")
            )
        )
    for key in sorted(k for k in settings.values if k.startswith("events.")):
        rows.append(ConfigRow(key, _display(settings.values[key]), settings.sources[key]))
    return rows


def toml_value(value: Any) -> str:
    """``value`` as TOML writes it: ``true``, ``587``, ``"72h"``, ``["a", "b"]``; a multi-line
    string as a literal ``'''`` block (how ``config set`` writes one)."""
    import tomlkit

    if isinstance(value, str) and "\n" in value and "'''" not in value:
        return "'''\n" + value + "'''"
    if isinstance(value, tuple):
        value = list(value)
    return str(tomlkit.item(value).as_string())


def _comment(text: str) -> str:
    return " ".join(str(text).split())  # one line, whatever the source text held


def toml_text(rows: list[ConfigRow] | tuple[ConfigRow, ...], secret_names: tuple[str, ...]) -> str:
    """The rows of ``config show`` as a TOML document: each value's source in a trailing comment,
    unset keys as comments, secrets (set or not, never a value) as comments at the end.

    Loading the text gives back every value shown, so it can seed a settings file.
    """
    from mailrelay_cli.config.schema import spec_for

    sections: dict[str, list[str]] = {"": []}
    secrets: list[str] = []
    for row in rows:
        if row.key in secret_names:
            secrets.append(f"#   {row.key}: {row.value} ({_comment(row.source)})")
            continue
        section, _, name = row.key.rpartition(".")
        if spec_for(row.key) is None:  # an imap.properties line with no key of its own
            section, name = "imap", row.key
            line = f"# {name} = {_comment(row.value)}  # {_comment(row.source)}"
        elif row.value is None:
            line = f"# {name}: not set ({_comment(row.source)})"
        else:
            line = f"{name} = {toml_value(row.value)}  # {_comment(row.source)}"
        sections.setdefault(section, []).append(line)
    out: list[str] = list(sections.pop(""))
    for section, lines in sections.items():
        if out:
            out.append("")
        out.append(f"[{section}]")
        out.extend(lines)
    if secrets:
        out += ["", "# secrets (never in the settings file; `mailrelay secret set NAME`):", *secrets]
    return "\n".join(out)
