"""Timestamps as the store keeps them: UTC, ISO-8601 text that sorts as time does."""

from __future__ import annotations

from datetime import UTC, datetime


def utcnow() -> datetime:
    """Now, in UTC (``datetime.now`` so freezegun can stop the clock in tests)."""
    return datetime.now(UTC)


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds")


def parse_iso(text: str) -> datetime:
    return datetime.fromisoformat(text)
