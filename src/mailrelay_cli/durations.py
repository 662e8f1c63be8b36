"""Durations as users write them: ``30s``, ``5m``, ``72h``, ``2d`` (a bare number is seconds)."""

from __future__ import annotations

import re

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_PART = re.compile(r"(\d+(?:\.\d+)?)([smhdw]?)")


def parse_duration(text: str) -> float:
    """Seconds in ``text``; several parts add up (``1h30m``). Raises ValueError when malformed."""
    cleaned = str(text).strip().lower().replace(" ", "")
    if not cleaned:
        raise ValueError("empty duration")
    pos = 0
    total = 0.0
    for match in _PART.finditer(cleaned):
        if match.start() != pos:
            break
        total += float(match.group(1)) * _UNITS[match.group(2) or "s"]
        pos = match.end()
    if pos != len(cleaned):
        raise ValueError(f"{text!r} is not a duration; write it like 30s, 5m, 72h or 2d")
    return total


def format_duration(seconds: float) -> str:
    """The shortest exact spelling of ``seconds`` in the units above (``90`` -> ``1m30s``)."""
    remaining = round(seconds)
    if remaining == 0:
        return "0s"
    sign = "-" if remaining < 0 else ""
    remaining = abs(remaining)
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if remaining >= size:
            count, remaining = divmod(remaining, size)
            parts.append(f"{count}{unit}")
    return sign + "".join(parts)
