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
