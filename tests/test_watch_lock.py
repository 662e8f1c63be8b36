"""The run lock between cron runs and the watcher: the watcher holds it per batch, and a run
that finds the watcher's batch in progress waits for it instead of failing."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from mailrelay_cli.errors import LockedError
from mailrelay_cli.store.lock import read_lock_holder, run_lock


@pytest.fixture(autouse=True)
def _signing_key(signing_key: bytes) -> None:
    """The watcher judges replies, which needs the key (a keyless run exits 78, fail closed)."""


def hold(state_dir: Path, mode: str, seconds: float, started: threading.Event) -> threading.Thread:
    def holder() -> None:
        with run_lock(state_dir, mode=mode):
            started.set()
            time.sleep(seconds)

    thread = threading.Thread(target=holder, daemon=True)
    thread.start()
    assert started.wait(5)
    return thread


def test_the_holder_says_it_is_the_watcher(tmp_path: Path) -> None:
    with run_lock(tmp_path, mode="watch") as path:
        assert read_lock_holder(path).mode == "watch"


def test_a_run_waits_for_the_watchers_batch_to_end(tmp_path: Path) -> None:
    thread = hold(tmp_path, "watch", 0.3, threading.Event())
    with run_lock(tmp_path, wait_for_watcher=10) as path:
        assert read_lock_holder(path).mode == "run"
    thread.join(5)


def test_a_run_does_not_wait_for_another_run(tmp_path: Path) -> None:
    thread = hold(tmp_path, "run", 0.5, threading.Event())
    with pytest.raises(LockedError, match="another process-replies run holds the lock"):
        with run_lock(tmp_path, wait_for_watcher=10):
            pass
    thread.join(5)


def test_a_watcher_busy_beyond_the_wait_is_named_in_the_error(tmp_path: Path) -> None:
    thread = hold(tmp_path, "watch", 1.0, threading.Event())
    with pytest.raises(LockedError, match="watcher .* busy with a batch") as caught:
        with run_lock(tmp_path, wait_for_watcher=0.1):
            pass
    assert "not needed while it runs" in (caught.value.hint or "")
    thread.join(5)
