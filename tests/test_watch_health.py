"""The watcher's heartbeat in the store, ``mailrelay status`` reading it, and the backoff."""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from pathlib import Path

import pytest
from freezegun import freeze_time

from mailrelay_cli.config.load import settings_from_table
from mailrelay_cli.config.records import Settings
from mailrelay_cli.errors import ExitCode, exit_code_for
from mailrelay_cli.replies.watch import Backoff
from mailrelay_cli.reports import health
from mailrelay_cli.store import open_store

T0 = "2026-03-02 09:00:00"


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return settings_from_table(
        {
            "smtp": {"host": "smtp.example.com", "from": "releases@example.com"},
            "approval": {"interval_minutes": 5},
            "state": {"path": str(tmp_path / "state")},
        },
        tmp_path / "settings.toml",
    )


def start_watcher(settings: Settings, at: str = T0) -> int:
    with freeze_time(at), open_store(settings.state_dir) as db:
        watch_id = db.watch_started("imap:ci@mail.example.com/INBOX", None)
        db.watch_heartbeat(watch_id, mode="IMAP IDLE", event="connected")
        return watch_id


def beat(settings: Settings, watch_id: int, at: str, **kwargs: object) -> None:
    with freeze_time(at), open_store(settings.state_dir) as db:
        db.watch_heartbeat(watch_id, **kwargs)  # type: ignore[arg-type]


# -- the store ---------------------------------------------------------------------------


def test_a_started_watcher_is_running_with_its_mailbox_and_mode(settings) -> None:
    start_watcher(settings)
    with open_store(settings.state_dir) as db:
        row = db.last_watcher()
    assert (row.mailbox, row.mode, row.outcome, row.last_event) == (
        "imap:ci@mail.example.com/INBOX",
        "IMAP IDLE",
        None,
        "connected",
    )
    assert row.started_at == row.heartbeat_at == "2026-03-02T09:00:00+00:00"


def test_reconnects_are_counted_per_utc_day(settings) -> None:
    watch_id = start_watcher(settings)
    beat(settings, watch_id, "2026-03-02 10:00:00", reconnected=True)
    beat(settings, watch_id, "2026-03-02 23:00:00", reconnected=True)
    beat(settings, watch_id, "2026-03-03 00:10:00", reconnected=True)
    with open_store(settings.state_dir) as db:
        row = db.last_watcher()
    assert (row.reconnects_on, row.reconnects) == ("2026-03-03", 1)


def test_an_event_while_disconnected_is_no_heartbeat(settings) -> None:
    watch_id = start_watcher(settings)
    with freeze_time("2026-03-02 09:30:00"), open_store(settings.state_dir) as db:
        db.watch_event(watch_id, "connection lost: refused")
        row = db.last_watcher()
    assert row.heartbeat_at == "2026-03-02T09:00:00+00:00"
    assert (row.last_event, row.last_event_at) == ("connection lost: refused", "2026-03-02T09:30:00+00:00")


def test_a_stopped_watcher_records_how_it_ended(settings) -> None:
    watch_id = start_watcher(settings)
    with freeze_time("2026-03-02 09:05:00"), open_store(settings.state_dir) as db:
        db.watch_stopped(watch_id, "failed", "imap.example.com:993 refused the login")
        row = db.last_watcher()
    assert (row.outcome, row.error, row.stopped_at) == (
        "failed",
        "imap.example.com:993 refused the login",
        "2026-03-02T09:05:00+00:00",
    )


# -- health ------------------------------------------------------------------------------


def test_a_beating_watcher_satisfies_max_age_without_any_cron_run(settings) -> None:
    watch_id = start_watcher(settings)
    beat(settings, watch_id, "2026-03-02 11:59:30")
    with freeze_time("2026-03-02 12:00:00"):
        report = health.check(settings, max_age=15 * 60)
    assert not report.stale and exit_code_for(report.outcome) == ExitCode.OK
    assert report.problems == ()
    assert report.summary.startswith("OK: watching since 2026-03-02T09:00:00+00:00, heartbeat 30s ago")


def test_a_silent_watcher_is_stale_past_max_age(settings) -> None:
    start_watcher(settings)
    with freeze_time("2026-03-02 09:20:00"):
        report = health.check(settings, max_age=15 * 60)
    assert report.stale and exit_code_for(report.outcome) == ExitCode.TEMPFAIL
    assert report.summary.startswith("STALE: watching since")
    assert any("no heartbeat since 20m ago" in p for p in report.problems)


def test_a_watcher_that_failed_is_a_problem_with_its_error(settings) -> None:
    watch_id = start_watcher(settings)
    with freeze_time("2026-03-02 09:01:00"), open_store(settings.state_dir) as db:
        db.watch_stopped(watch_id, "failed", "refused the login")
    with freeze_time("2026-03-02 09:02:00"):
        report = health.check(settings, max_age=15 * 60)
    assert report.stale  # a stopped watcher stands in for nothing
    assert any("stopped with an error 1m ago: refused the login" in p for p in report.problems)


def test_status_shows_watching_since_last_event_and_reconnects_today(
    settings, run_cli, write_config: Callable[[str], Path], tmp_path: Path
) -> None:
    write_config(
        '[smtp]\nhost = "smtp.example.com"\n[approval]\ninterval_minutes = 5\n'
        f'[state]\npath = "{tmp_path / "state"}"\n'
    )
    watch_id = start_watcher(settings)
    beat(settings, watch_id, "2026-03-02 09:10:00", reconnected=True, event="reconnected")
    with freeze_time("2026-03-02 09:10:30"):
        result = run_cli("status", "--max-age", "5m")
        as_json = json.loads(run_cli("status", "--json").stdout)
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "watching since     2026-03-02T09:00:00+00:00 (10m30s ago), pid" in out
    assert "last event         reconnected (30s ago)" in out
    assert "reconnects today   1" in out
    assert as_json["watcher"]["running"] is True
    assert as_json["watcher"]["how"] == "IMAP IDLE"
    assert as_json["watcher"]["reconnects_today"] == 1


# -- backoff -----------------------------------------------------------------------------


def test_backoff_doubles_up_to_the_cap_with_jitter_in_the_upper_half() -> None:
    backoff = Backoff(first=1.0, cap=8.0, rng=random.Random(7))
    delays = [backoff.next_delay() for _ in range(6)]
    ceilings = [1, 2, 4, 8, 8, 8]
    assert all(c / 2 <= d <= c for d, c in zip(delays, ceilings, strict=True))
    assert len(set(delays)) == len(delays)  # jittered, not the same every time


def test_backoff_starts_again_after_a_reset() -> None:
    backoff = Backoff(first=1.0, cap=60.0, rng=random.Random(1))
    for _ in range(10):
        backoff.next_delay()
    backoff.reset()
    assert backoff.next_delay() <= 1.0
