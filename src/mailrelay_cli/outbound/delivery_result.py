"""What a delivery did: who got the message and who refused it (the same for SMTP and Graph)."""

from __future__ import annotations

from typing import NamedTuple

# Records are NamedTuples, not dataclasses: `send` imports this module, and creating a
# dataclass costs ~1-2 ms of start-up against ~0.2 ms for a NamedTuple.


class Refusal(NamedTuple):
    """A recipient the server would not take, and what it said."""

    address: str
    code: int
    reply: str

    def __str__(self) -> str:
        return f"{self.address}: {self.code} {self.reply}"


class RetryNotice(NamedTuple):
    """What ``deliver`` is about to do after a temporary failure: wait ``wait`` seconds, then
    make attempt ``attempt``; it gives up at ``gives_up_at`` (wall clock, seconds since the
    epoch). ``reason`` is the failure's one-line message."""

    wait: float
    reason: str
    attempt: int
    gives_up_at: float


class Delivery(NamedTuple):
    """The outcome: who got the message, who was refused (permanently), how many sessions."""

    message_id: str
    accepted: tuple[str, ...]
    refused: tuple[Refusal, ...]
    attempts: int
