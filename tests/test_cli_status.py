"""``mailrelay status`` through the CLI: output, --json, and --max-age exit codes."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result
from freezegun import freeze_time

from mailrelay_cli.config.load import load_settings
from mailrelay_cli.store import open_store

Run = Callable[..., Result]
JSON_KEYS = {
    "ok",
    "summary",
    "now",
    "max_age_seconds",
    "last_run",
    "last_success",
    "runs_last_day",
    "failed_runs_last_day",
    "messages_last_day",
    "decisions_last_day",
    "pending_approvals",
    "oldest_pending",
    "failing_hooks",
    "oauth",
    "interval_minutes",
    "cron",
    "problems",
    "watcher",
}


@pytest.fixture
def configured(write_config: Callable[[str], Path]) -> Path:
    return write_config('[smtp]\nhost = "smtp.example.com"\n[approval]\ninterval_minutes = 5\n')


def successful_run_at(config: Path, moment: str, read: int = 2) -> None:
    """A finished run that read ``read`` messages (audit rows, outcome ``unmatched``)."""
    with freeze_time(moment), open_store(load_settings(config).state_dir) as store:
        run_id = store.record_run_start()
        with store.transaction() as tx:
            for uid in range(1, read + 1):
                tx.add_audit(
                    mailbox="INBOX",
                    uidvalidity=1,
                    uid=f"{moment}/{uid}",
                    outcome="unmatched",
                    sha256=f"{moment}/{uid}",
                )
        store.record_run_finish(run_id, "ok", {"read": read, "deleted": read, "left": 0})


def test_max_age_exits_0_when_the_last_success_is_recent(run_cli: Run, configured: Path) -> None:
    successful_run_at(configured, "2026-03-02 09:00:00")
    with freeze_time("2026-03-02 09:10:00"):
        result = run_cli("status", "--max-age", "15m")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines()[0] == "OK: last successful process-replies run 10m ago"


def test_max_age_exits_75_when_the_last_success_is_older(run_cli: Run, configured: Path) -> None:
    successful_run_at(configured, "2026-03-02 09:00:00")
    with freeze_time("2026-03-02 09:20:00"):
        result = run_cli("status", "--max-age", "15m")
    assert result.exit_code == 75
    assert result.stdout.splitlines()[0] == (
        "STALE: last successful process-replies run 20m ago (max age 15m)"
    )


def test_max_age_exits_75_when_no_run_ever_succeeded(run_cli: Run, configured: Path) -> None:
    result = run_cli("status", "--max-age", "15m")
    assert result.exit_code == 75
    assert "no successful process-replies run recorded" in result.stdout


def test_without_max_age_status_exits_0_even_with_problems(run_cli: Run, configured: Path) -> None:
    result = run_cli("status")
    assert result.exit_code == 0
    assert "problem: no successful process-replies run recorded" in result.stdout


def test_quiet_prints_nothing_when_healthy(run_cli: Run, configured: Path) -> None:
    successful_run_at(configured, "2026-03-02 09:00:00")
    with freeze_time("2026-03-02 09:05:00"):
        result = run_cli("-q", "status", "--max-age", "15m")
    assert (result.exit_code, result.stdout) == (0, "")


def test_quiet_prints_only_the_summary_when_stale(run_cli: Run, configured: Path) -> None:
    result = run_cli("-q", "status", "--max-age", "15m")
    assert result.exit_code == 75
    assert result.stdout == "STALE: no successful process-replies run recorded (max age 15m)\n"


def test_human_output_shows_runs_pending_oauth_and_cron(run_cli: Run, configured: Path) -> None:
    successful_run_at(configured, "2026-03-02 09:00:00", read=3)
    with freeze_time("2026-03-02 09:02:00"):
        result = run_cli("status")
    out = result.stdout
    assert "last success       2026-03-02T09:00:00+00:00 (2m ago), ok: read 3, deleted 3" in out
    assert "last 24 hours      1 run (0 failed), 3 messages, 0 decisions" in out
    assert "pending approvals  none" in out
    assert "oauth              not used" in out
    assert f"--config {configured} -q process-replies" in out


def test_json_is_one_object_with_stable_keys(run_cli: Run, configured: Path) -> None:
    successful_run_at(configured, "2026-03-02 09:00:00", read=3)
    with freeze_time("2026-03-02 09:01:00"):
        result = run_cli("status", "--json", "--max-age", "15m")
    assert result.exit_code == 0
    (line,) = result.stdout.splitlines()
    data = json.loads(line)
    assert set(data) == JSON_KEYS
    assert (data["ok"], data["max_age_seconds"], data["messages_last_day"]) == (True, 900.0, 3)
    assert data["last_success"]["finished_at"] == "2026-03-02T09:00:00+00:00"


def test_json_stale_says_not_ok_and_exits_75(run_cli: Run, configured: Path) -> None:
    result = run_cli("status", "--json", "--max-age", "15m")
    assert result.exit_code == 75
    assert json.loads(result.stdout)["ok"] is False


def test_json_with_problems_is_not_ok_though_it_exits_0(run_cli: Run, configured: Path) -> None:
    result = run_cli("status", "--json")
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert data["summary"].startswith("WARNING: ") and data["problems"]
    assert data["ok"] is False


def test_one_run_message_and_decision_are_singular(run_cli: Run, configured: Path) -> None:
    successful_run_at(configured, "2026-03-02 09:00:00", read=1)
    with open_store(load_settings(configured).state_dir) as store:
        rows = store.audit_rows()
        with store.transaction() as tx:
            for row in rows:
                tx.set_audit_outcome(row.id, "approved")
    with freeze_time("2026-03-02 09:02:00"):
        result = run_cli("status")
    assert "last 24 hours      1 run (0 failed), 1 message, 1 decision\n" in result.stdout


def test_cron_line_is_the_one_schedule_cron_prints(run_cli: Run, configured: Path) -> None:
    cron = [line for line in run_cli("schedule", "--cron").stdout.splitlines() if not line.startswith("#")]
    shown = [
        line.split(None, 1)[1] for line in run_cli("status").stdout.splitlines() if line.startswith("cron ")
    ]
    assert "env PYTHON_KEYRING_BACKEND=" in cron[0]
    assert shown == cron


def test_bad_max_age_is_a_usage_error(run_cli: Run, configured: Path) -> None:
    result = run_cli("status", "--max-age", "fifteen")
    assert result.exit_code == 2
    assert "write it like 30s, 5m, 72h or 2d" in result.stderr
