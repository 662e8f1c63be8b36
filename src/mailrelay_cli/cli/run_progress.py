"""The progress bar of ``process-replies`` on a terminal: drawn only once a run has taken longer
than a second (a quick run prints just its summary), on stderr, gone when the run ends.
The CLI uses it only on a terminal and never under ``-q`` or ``--json``.
"""

from __future__ import annotations

import threading
import time
from typing import Any

DELAY = 1.0  # seconds a run goes unannounced


class RunProgress:
    """A ``progress(step, done, total)`` callback for ``replies.run.process_replies``."""

    def __init__(self, console: Any, delay: float = DELAY) -> None:
        self.console = console
        self.delay = delay
        self.started = time.monotonic()
        self.lock = threading.Lock()
        self.state: tuple[str, int, int | None] = ("starting", 0, None)
        self.bar: Any = None
        self.task: Any = None
        self.closed = False
        self.timer = threading.Timer(delay, self._show)
        self.timer.daemon = True

    def __enter__(self) -> RunProgress:
        self.timer.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.timer.cancel()
        with self.lock:
            self.closed = True
            if self.bar is not None:
                self.bar.stop()

    def __call__(self, step: str, done: int, total: int | None) -> None:
        with self.lock:
            self.state = (step, done, total)
            if self.bar is None and time.monotonic() - self.started >= self.delay:
                self._start()
            self._draw()

    def _show(self) -> None:  # the timer: a slow step with no callback still gets its bar
        with self.lock:
            if self.bar is None and not self.closed:
                self._start()
                self._draw()

    def _start(self) -> None:
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            SpinnerColumn,
            TextColumn,
            TimeElapsedColumn,
        )

        self.bar = Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=self.console,
            transient=True,
        )
        self.bar.start()
        self.task = self.bar.add_task("", total=None)

    def _draw(self) -> None:
        if self.bar is None:
            return
        step, done, total = self.state
        self.bar.update(self.task, description=step, completed=done, total=total)
        self.bar.refresh()
