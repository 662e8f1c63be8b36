"""What the sender of an approval request chooses: how many must approve, for how long, who hears.

Kept apart from ``service`` (which pulls in the store) so that the command line
can build it without importing SQLite.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ApprovalOptions:
    """``--required``, ``--expires-in`` (seconds; None: ``approval.expires_after``) and ``--notify``."""

    required: int = 1
    expires_in: float | None = None
    notify: tuple[str, ...] = ()
