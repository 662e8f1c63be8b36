"""The process-replies run lock behind the store interface, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from mailrelay_cli import store
from mailrelay_cli.config.load import settings_from_table
from mailrelay_cli.config.records import Settings
from mailrelay_cli.errors import ExitCode, LockedError


def _settings(tmp_path: Path, state_url: str | None, **approval: object) -> Settings:
    table = {
        "smtp": {"host": "smtp.example.com", "from": "relay@example.com"},
        "approval": {"enabled": True, **approval},
        "state": {"path": str(tmp_path / "state")},
    }
    return settings_from_table(table, tmp_path / "settings.toml")._replace(state_url=state_url)


def test_a_locked_out_run_exits_75_at_once_by_default(tmp_path: Path, state_url) -> None:
    settings = _settings(tmp_path, state_url)
    assert settings.approval.lock_wait == 0
    with store.open_store(settings) as first, store.open_store(settings) as second:
        with first.run_lock():
            with pytest.raises(LockedError) as caught:
                with second.run_lock(settings.approval.lock_wait):
                    pass
    assert caught.value.exit_code == ExitCode.TEMPFAIL


def test_a_run_with_lock_wait_gets_the_lock_when_the_holder_finishes(tmp_path: Path, state_url) -> None:
    settings = _settings(tmp_path, state_url, lock_wait="60s")
    assert settings.approval.lock_wait == 60
    held = threading.Event()
    release = threading.Event()

    def hold() -> None:
        with store.open_store(settings) as first, first.run_lock():
            held.set()
            release.wait(30)

    holder = threading.Thread(target=hold)
    holder.start()
    held.wait(30)
    threading.Timer(0.5, release.set).start()
    with store.open_store(settings) as second:
        with second.run_lock(settings.approval.lock_wait):
            got = True
    holder.join(30)
    assert got


def test_a_run_with_lock_wait_exits_75_when_the_holder_keeps_it(tmp_path: Path, state_url) -> None:
    settings = _settings(tmp_path, state_url, lock_wait="1s")
    with store.open_store(settings) as first, store.open_store(settings) as second:
        with first.run_lock():
            with pytest.raises(LockedError):
                with second.run_lock(settings.approval.lock_wait):
                    pass
        with second.run_lock(settings.approval.lock_wait):
            pass  # released: free again, and the lock timeout is back to normal
