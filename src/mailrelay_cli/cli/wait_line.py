"""The live status line of ``approvals wait`` on a terminal (rich): pending since, expires at,
votes so far, time left. Nothing of it is printed when standard error is not a terminal.
The CLI waits with a poll of at most a second on a terminal, so the line is redrawn (time
left) each time the approval is read; a decision still wakes the wait at once.
"""

from __future__ import annotations

import time
from typing import Any

from mailrelay_cli.durations import format_duration


def _short(iso: str) -> str:
    """``2026-12-04T12:56:10+00:00`` as ``12:56Z`` today, else ``12-04 12:56Z``."""
    from mailrelay_cli.store.times import parse_iso, utcnow

    moment = parse_iso(iso)
    return moment.strftime("%H:%MZ" if moment.date() == utcnow().date() else "%m-%d %H:%MZ")


class WaitLine:
    """One transient line on stderr, redrawn each time ``approvals wait`` reads the approval."""

    def __init__(self, console: Any, timeout: float | None) -> None:
        from rich.live import Live

        self.console = console
        self.deadline = None if timeout is None else time.monotonic() + timeout
        self.approval: Any = None
        self.live = Live("", console=console, transient=True, auto_refresh=False)

    def __enter__(self) -> WaitLine:
        self.live.__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.live.__exit__(*exc)

    def text(self) -> str:
        from mailrelay_cli.store.times import parse_iso, utcnow

        a = self.approval
        if a is None:
            return "waiting…"
        left = (parse_iso(a.expires_at) - utcnow()).total_seconds()
        if self.deadline is not None:
            left = min(left, self.deadline - time.monotonic())
        # Short enough for 80 columns: "K3T9QX pending since 12-01 14:37Z, expires 12-04 14:37Z,
        # 0/1 votes, 2m left"; a narrower terminal cuts the end (never an id or a command).
        return (
            f"{a.id} {a.status} since {_short(a.created_at)}, expires {_short(a.expires_at)},"
            f" {len(a.approved_by)}/{a.required} votes, {format_duration(max(left, 0.0))} left"
        )

    def refresh(self) -> None:
        from rich.text import Text

        self.live.update(Text(self.text(), overflow="ellipsis", no_wrap=True), refresh=True)

    def update(self, approval: Any) -> None:
        self.approval = approval
        self.refresh()
