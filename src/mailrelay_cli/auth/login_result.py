"""What a finished ``auth login`` reports, whichever provider ran it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from mailrelay_cli.config.records import Role


@dataclass(frozen=True)
class LoginResult:
    """A finished ``auth login`` for one cache."""

    role: Role
    provider: str
    flow: str
    account: str | None
    scopes: tuple[str, ...]
    access_token_expires_at: datetime | None
    refresh_token: bool
    stored_in: str
    covers: tuple[str, ...]  # the roles this login serves ("smtp", "imap")
    note: str | None = None  # e.g. the keyring refused and a file was used

    def to_json(self) -> dict[str, Any]:
        expires = self.access_token_expires_at
        return {
            "role": self.role,
            "provider": self.provider,
            "flow": self.flow,
            "account": self.account,
            "scopes": list(self.scopes),
            "access_token_expires_at": expires.isoformat() if expires else None,
            "refresh_token": self.refresh_token,
            "stored_in": self.stored_in,
            "covers": list(self.covers),
            "note": self.note,
        }


def utc_time(epoch: float) -> datetime:
    """An expiry in epoch seconds as shown to people: UTC, whole seconds."""
    return datetime.fromtimestamp(epoch, tz=UTC).replace(microsecond=0)
