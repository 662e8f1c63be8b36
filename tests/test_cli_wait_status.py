"""``approvals wait`` shows a live status line on a terminal, none otherwise, and warns when
nothing reads replies (issue 12, point 2)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from mailrelay_cli import store
from mailrelay_cli.approvals import service as approvals
from mailrelay_cli.config.load import load_settings
from mailrelay_cli.config.records import Settings
from tests.terminal import run_in_terminal

WARNING = "nothing reads replies"


@pytest.fixture
def settings(write_config, tmp_path: Path) -> Settings:  # type: ignore[no-untyped-def]
    return load_settings(
        write_config(
            '[smtp]\nhost = "smtp.example.com"\nfrom = "relay@example.com"\n'
            f'[approval]\nenabled = true\n[state]\npath = "{tmp_path / "state"}"\n'
        )
    )


def _ask(settings: Settings) -> str:
    with store.open_store(settings.state_dir) as db:
        return approvals.create_approval(
            settings, db, title="Deploy 1.4", approvers=["alice@example.com"]
        ).approval.id


def _record_success(settings: Settings) -> None:
    with store.open_store(settings.state_dir) as db:
        run = db.record_run_start()
        db.record_run_finish(run, "ok", {"read": 0, "deleted": 0, "left": 0})


def test_a_terminal_shows_the_live_status_line(settings: Settings) -> None:
    approval_id = _ask(settings)
    code, screen = run_in_terminal(
        ["approvals", "wait", approval_id, "--timeout", "2s", "--poll", "1s"], columns=120
    )
    assert code == 3, screen
    assert re.search(
        rf"{approval_id} pending since (\d\d-\d\d )?\d\d:\d\dZ, expires \d\d-\d\d "
        r"\d\d:\d\dZ, 0/1 votes, \d+s left",
        screen,
    ), screen


def test_the_status_line_fits_80_columns(settings: Settings) -> None:
    approval_id = _ask(settings)
    _code, screen = run_in_terminal(
        ["approvals", "wait", approval_id, "--timeout", "1s", "--poll", "1s"], columns=80
    )
    plain = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "\n", screen).replace("\r", "\n")
    status_lines = [line for line in plain.split("\n") if "pending since" in line]
    assert status_lines and all(len(line) <= 80 and line.endswith(" left") for line in status_lines), screen


def test_no_terminal_no_status_line(run_cli, settings: Settings) -> None:  # type: ignore[no-untyped-def]
    approval_id = _ask(settings)
    result = run_cli("approvals", "wait", approval_id, "--timeout", "1s", "--poll", "1s")
    assert result.exit_code == 3
    assert "pending since" not in result.stdout + result.stderr


def test_warns_when_process_replies_never_ran(run_cli, settings: Settings) -> None:  # type: ignore[no-untyped-def]
    approval_id = _ask(settings)
    result = run_cli("approvals", "wait", approval_id, "--timeout", "0s")
    assert f"mailrelay: warning: {WARNING}: process-replies has never run successfully" in result.stderr
    assert "mailrelay schedule --cron" in result.stderr


def test_no_warning_after_a_recent_successful_run(run_cli, settings: Settings) -> None:  # type: ignore[no-untyped-def]
    approval_id = _ask(settings)
    _record_success(settings)
    result = run_cli("approvals", "wait", approval_id, "--timeout", "0s")
    assert WARNING not in result.stderr


def test_warns_when_the_last_success_is_older_than_two_intervals(  # type: ignore[no-untyped-def]
    run_cli, settings: Settings
) -> None:
    from freezegun import freeze_time

    approval_id = _ask(settings)
    with freeze_time("2026-01-01 12:00:00"):
        _record_success(settings)
    result = run_cli("approvals", "wait", approval_id, "--timeout", "0s")
    assert f"{WARNING}: the last successful process-replies run was" in result.stderr


def test_quiet_never_warns(run_cli, settings: Settings) -> None:  # type: ignore[no-untyped-def]
    approval_id = _ask(settings)
    result = run_cli("-q", "approvals", "wait", approval_id, "--timeout", "0s")
    assert WARNING not in result.stderr


def test_a_beating_watcher_counts_as_a_reader(run_cli, settings: Settings) -> None:  # type: ignore[no-untyped-def]
    approval_id = _ask(settings)
    with store.open_store(settings.state_dir) as db:
        watch_id = db.watch_started("INBOX", "idle")
        db.watch_heartbeat(watch_id)
    result = run_cli("approvals", "wait", approval_id, "--timeout", "0s")
    assert WARNING not in result.stderr
