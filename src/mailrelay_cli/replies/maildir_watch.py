"""Waiting for a file to arrive in a Maildir's ``new/``: inotify on Linux, a short poll elsewhere.

inotify is reached through libc with ``ctypes`` (three calls: ``inotify_init1``,
``inotify_add_watch`` and ``read``), so no package is needed. It reports
``IN_CREATE`` and ``IN_MOVED_TO`` in ``new/``: Maildir writers put a finished
file there by ``rename`` (or ``link``, as Python's ``mailbox`` does), so an
event means a whole message. Where inotify is not available (not Linux, or the
per-user watch limit reached) the directory's modification time is checked
every ``POLL_SECONDS`` instead: a ``stat`` a second costs nothing measurable.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import select
import time
from pathlib import Path

POLL_SECONDS = 1.0

_IN_MOVED_TO = 0x00000080
_IN_CREATE = 0x00000100
_IN_NONBLOCK = os.O_NONBLOCK
_IN_CLOEXEC = getattr(os, "O_CLOEXEC", 0)


def _inotify_fd(directory: Path) -> int | None:
    """An inotify descriptor watching ``directory``, or None where inotify cannot be had."""
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name or "libc.so.6", use_errno=True)
        init = libc.inotify_init1
        add_watch = libc.inotify_add_watch
    except (OSError, AttributeError):
        return None
    fd = int(init(_IN_NONBLOCK | _IN_CLOEXEC))
    if fd < 0:
        return None
    if int(add_watch(fd, os.fsencode(directory), _IN_CREATE | _IN_MOVED_TO)) < 0:
        os.close(fd)
        return None
    return fd


class DirectoryWatch:
    """Tells when something may have arrived in ``directory`` (see the module docstring)."""

    def __init__(self, directory: Path, *, inotify: bool = True, poll_seconds: float = POLL_SECONDS) -> None:
        self.directory = directory
        self.poll_seconds = poll_seconds
        self._fd = _inotify_fd(directory) if inotify else None
        self._stamp = self._modified()

    @property
    def how(self) -> str:
        return "inotify" if self._fd is not None else f"poll every {self.poll_seconds:g}s"

    def _modified(self) -> int:
        try:
            return os.stat(self.directory).st_mtime_ns
        except OSError:
            return -1

    def _drain(self) -> None:
        assert self._fd is not None
        while True:
            try:
                if not os.read(self._fd, 65536):
                    return
            except BlockingIOError:
                return

    def wait(self, timeout: float, wakeup_fd: int | None = None) -> bool:
        """True when an entry may have arrived; False at the timeout or when ``wakeup_fd``
        became readable (not read here)."""
        deadline = time.monotonic() + timeout
        watched = [] if wakeup_fd is None else [wakeup_fd]
        if self._fd is not None:
            ready, _, _ = select.select([self._fd, *watched], [], [], max(timeout, 0.0))
            if self._fd in ready:
                self._drain()
                return True
            return False
        while True:
            stamp = self._modified()
            if stamp != self._stamp:
                self._stamp = stamp
                return True
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            ready, _, _ = select.select(watched, [], [], min(left, self.poll_seconds))
            if ready:
                return False

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
