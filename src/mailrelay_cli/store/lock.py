"""The process-replies run lock: one run at a time per state directory.

A cron run holds it for the whole run; ``process-replies --watch`` holds it only
around each batch (``mode="watch"``), so a cron run that finds the watcher busy
waits for that batch to end (``wait_for_watcher`` seconds at most) instead of
failing: batches take well under a second.
"""

from __future__ import annotations

import json
import os
import socket
import time
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
    mode: str | None = None  # "run" (cron, by hand) or "watch" (a batch of the watcher)


# How often a run waiting for the watcher's batch tries the lock again.
_RETRY_SECONDS = 0.05


@contextmanager
def run_lock(
    state_dir: Path, wait: float = 0.0, *, mode: str = "run", wait_for_watcher: float = 0.0
) -> Iterator[Path]:
    """Hold the process-replies lock for the duration; LockedError (75) naming the holder if it
    is still taken after ``wait`` seconds (``wait_for_watcher`` when the holder is the watcher).

    ``fcntl.flock`` is released by the kernel when the holder dies, so a crashed
    run never leaves a stale lock behind; the pid/host/start written in the file
    are only there to say who holds it. When the holder is the watcher (``mode``
    "watch") the lock is tried again for up to ``wait_for_watcher`` seconds.
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
        _acquire(fd, path, wait, wait_for_watcher)
        info = json.dumps(
            {"pid": os.getpid(), "host": socket.gethostname(), "started_at": iso(utcnow()), "mode": mode}
        )
        try:
            os.ftruncate(fd, 0)
            os.pwrite(fd, info.encode(), 0)
        except OSError as e:
            raise StateError(
                f"cannot write the run lock {path}: {e.strerror}",
                hint="free disk space in the state directory",
            ) from e
        try:
            yield path
        finally:
            os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def _acquire(fd: int, path: Path, wait: float, wait_for_watcher: float) -> None:
    import fcntl

    started = time.monotonic()
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            holder = read_lock_holder(path)
        # No pid yet: the holder has the lock but has not written who it is; look again.
        watcher = holder.mode == "watch" or holder.pid is None
        limit = max(wait, wait_for_watcher) if watcher else max(wait, 0.0)
        if time.monotonic() - started < limit:
            time.sleep(_RETRY_SECONDS)
            continue
        who = f"pid {holder.pid} on {holder.host}" if holder.pid else "another process"
        since = f" since {holder.started_at}" if holder.started_at else ""
        if holder.mode == "watch":
            raise watcher_busy(who, limit, str(path))
        raise run_holds_lock(f"{who}{since}", f"the lock {path}")


def watcher_busy(who: str, seconds: float, where: str) -> LockedError:
    """A run that found the --watch process's batch holding the lock (on either store)."""
    return LockedError(
        f"the process-replies watcher ({who}) has been busy with a batch for {seconds:g}s and "
        f"holds the lock {where}",
        hint="nothing is lost: the watcher processes the replies; this run is not needed "
        "while it runs (mailrelay status)",
    )


def run_holds_lock(who: str, what: str) -> LockedError:
    """A run that found another run holding the lock (on either store)."""
    return LockedError(
        f"another process-replies run holds {what} ({who})",
        hint="wait for it to finish; cron will run process-replies again at the next interval",
    )


def read_lock_holder(path: Path) -> LockHolder:
    try:
        data = json.loads(Path(path).read_text() or "{}")
    except (OSError, ValueError):
        data = {}
    return LockHolder(data.get("pid"), data.get("host"), data.get("started_at"), data.get("mode"))
