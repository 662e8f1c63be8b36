"""The process-replies run lock: one run at a time per state directory."""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from mailrelay_cli.errors import LockedError, StateError
from mailrelay_cli.store.times import iso, utcnow

LOCK_NAME = "process-replies.lock"


@dataclass(frozen=True)
class LockHolder:
    pid: int | None
    host: str | None
    started_at: str | None


@contextmanager
def run_lock(state_dir: Path, wait: float = 0.0) -> Iterator[Path]:
    """Hold the process-replies lock for the duration; LockedError (75) naming the holder if it
    is still taken after ``wait`` seconds.

    ``fcntl.flock`` is released by the kernel when the holder dies, so a crashed
    run never leaves a stale lock behind; the pid/host/start written in the file
    are only there to say who holds it.
    """
    import fcntl

    state_dir = Path(state_dir)
    path = state_dir / LOCK_NAME
    try:
        state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    except OSError as e:
        raise StateError(
            f"cannot open the run lock {path}: {e.strerror}",
            hint="make the state directory writable by this user, or mailrelay config set "
                 "state.path /a/writable/dir",
        ) from e
    try:
        try:
            _flock_within(fd, wait)
        except BlockingIOError:
            holder = read_lock_holder(path)
            who = f"pid {holder.pid} on {holder.host}" if holder.pid else "another process"
            since = f" since {holder.started_at}" if holder.started_at else ""
            raise LockedError(
                f"another process-replies run holds the lock {path} ({who}{since})",
                hint="wait for it to finish; cron will run process-replies again at the next interval",
            ) from None
        info = json.dumps({"pid": os.getpid(), "host": socket.gethostname(), "started_at": iso(utcnow())})
        try:
            os.ftruncate(fd, 0)
            os.pwrite(fd, info.encode(), 0)
        except OSError as e:
            raise StateError(f"cannot write the run lock {path}: {e.strerror}",
                             hint="free disk space in the state directory") from e
        try:
            yield path
        finally:
            os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def _flock_within(fd: int, wait: float) -> None:
    """``flock`` the file, trying again for ``wait`` seconds; BlockingIOError when still taken."""
    import fcntl
    import time

    deadline = time.monotonic() + max(wait, 0.0)
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            if time.monotonic() >= deadline:
                raise
            time.sleep(0.05)


def read_lock_holder(path: Path) -> LockHolder:
    try:
        data = json.loads(Path(path).read_text() or "{}")
    except (OSError, ValueError):
        data = {}
    return LockHolder(data.get("pid"), data.get("host"), data.get("started_at"))
