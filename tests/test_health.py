"""The health of the process-replies job, from what the state store recorded."""

from __future__ import annotations

from pathlib import Path

import pytest
from freezegun import freeze_time

from mailrelay_cli.approvals import service as approvals
from mailrelay_cli.config.load import settings_from_table
from mailrelay_cli.config.records import Settings
from mailrelay_cli.errors import ExitCode, exit_code_for
from mailrelay_cli.replies import hooks
from mailrelay_cli.reports import health, schedule
from mailrelay_cli.store import open_store
from mailrelay_cli.store.sqlite import db_path

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


def record_run(
    settings: Settings,
    at: str,
    outcome: str = "ok",
    read: int = 0,
    error: str | None = None,
    finish: bool = True,
) -> None:
    with freeze_time(at), open_store(settings.state_dir) as store:
        run_id = store.record_run_start()
        if finish:
            store.record_run_finish(
                run_id,
                outcome,
                {"read": read, "deleted": read, "left": 0, "approved": 1 if read else 0},
                error,
            )


def record_audit(settings: Settings, at: str, *outcomes: str, duplicate: bool = False) -> None:
    """Audit rows as process-replies commits them, one per outcome, processed at ``at``."""
    with freeze_time(at), open_store(settings.state_dir) as store:
        first = len(store.audit_rows()) + 1
        with store.transaction() as tx:
            for uid, outcome in enumerate(outcomes, start=first):
                tx.add_audit(
                    mailbox="INBOX",
                    uidvalidity=1,
                    uid=str(uid),
                    outcome=outcome,
                    sha256=f"{uid:064x}",
                    duplicate_of=1 if duplicate else None,
                )


def test_no_database_means_no_runs_and_no_database_is_created(settings: Settings) -> None:
    report = health.check(settings)
    assert (report.last_run, report.last_success) == (None, None)
    assert not db_path(settings.state_dir).exists()


def test_no_successful_run_is_a_problem_pointing_at_the_schedule(settings: Settings) -> None:
    (problem,) = health.check(settings).problems
    assert "no successful process-replies run" in problem and "mailrelay schedule --cron" in problem


def test_without_max_age_a_missing_success_does_not_fail(settings: Settings) -> None:
    assert exit_code_for(health.check(settings).outcome) == ExitCode.OK


def test_with_max_age_no_success_at_all_is_stale(settings: Settings) -> None:
    report = health.check(settings, max_age=900)
    assert report.stale and exit_code_for(report.outcome) == ExitCode.TEMPFAIL
    assert report.summary.startswith("STALE: no successful process-replies run recorded")


def test_last_success_within_max_age_is_ok(settings: Settings) -> None:
    record_run(settings, T0)
    with freeze_time("2026-03-02 09:14:00"):
        report = health.check(settings, max_age=900)
    assert exit_code_for(report.outcome) == ExitCode.OK
    assert report.summary == "OK: last successful process-replies run 14m ago"


def test_last_success_older_than_max_age_is_stale(settings: Settings) -> None:
    record_run(settings, T0)
    with freeze_time("2026-03-02 09:16:00"):
        report = health.check(settings, max_age=900)
    assert exit_code_for(report.outcome) == ExitCode.TEMPFAIL
    assert report.summary == ("STALE: last successful process-replies run 16m ago (max age 15m)")


def test_failed_runs_do_not_count_as_success(settings: Settings) -> None:
    record_run(settings, T0)
    record_run(
        settings, "2026-03-02 09:30:00", outcome="failed", error="imap.example.com:993: connection refused"
    )
    with freeze_time("2026-03-02 09:31:00"):
        report = health.check(settings, max_age=900)
    assert report.stale
    assert report.last_run is not None and report.last_run.outcome == "failed"
    assert any(
        "the last run failed 1m ago: imap.example.com:993: connection refused" in p for p in report.problems
    )


def test_a_success_many_intervals_old_is_reported_even_without_max_age(settings: Settings) -> None:
    record_run(settings, T0)
    with freeze_time("2026-03-02 10:00:00"):
        report = health.check(settings)
    assert exit_code_for(report.outcome) == ExitCode.OK
    assert report.summary.startswith("WARNING: ")
    assert any("1h ago but cron should run every 5m" in p for p in report.problems)


def test_a_run_without_an_end_is_reported_as_running_or_dead(settings: Settings) -> None:
    record_run(settings, T0)
    record_run(settings, "2026-03-02 09:05:00", finish=False)
    with freeze_time("2026-03-02 09:07:00"):
        report = health.check(settings)
    assert any("started 2m ago and recorded no end" in p for p in report.problems)


def test_messages_and_runs_count_only_the_last_day(settings: Settings) -> None:
    record_run(settings, "2026-03-01 08:00:00", read=100)
    record_audit(settings, "2026-03-01 08:00:00", *["unmatched"] * 99, "approved")
    record_run(settings, "2026-03-02 08:00:00", read=3)
    record_audit(settings, "2026-03-02 08:00:00", "approved", "unmatched", "auto-reply")
    record_run(settings, "2026-03-02 08:55:00", outcome="failed", error="timeout")
    record_run(settings, T0, read=4)
    record_audit(settings, T0, "rejected", "too-late", "no-decision", "bounce")
    with freeze_time("2026-03-02 09:01:00"):
        report = health.check(settings)
    assert (report.runs_last_day, report.failed_runs_last_day) == (3, 1)
    assert (report.messages_last_day, report.decisions_last_day) == (7, 2)


def test_messages_and_decisions_of_a_run_that_died_after_committing_are_counted(settings: Settings) -> None:
    record_run(settings, T0, finish=False)
    record_audit(settings, T0, "approved", "unmatched")
    with freeze_time("2026-03-02 09:01:00"):
        report = health.check(settings)
    assert (report.runs_last_day, report.messages_last_day, report.decisions_last_day) == (1, 2, 1)


def test_a_message_seen_again_under_a_new_uid_is_counted_once(settings: Settings) -> None:
    record_audit(settings, T0, "approved")
    record_audit(settings, T0, "approved", duplicate=True)
    with freeze_time("2026-03-02 09:01:00"):
        report = health.check(settings)
    assert (report.messages_last_day, report.decisions_last_day) == (1, 1)


def test_pending_approvals_are_counted_with_the_oldest(settings: Settings) -> None:
    with open_store(settings.state_dir) as store:
        with freeze_time("2026-03-01 10:00:00"):
            first = approvals.create_approval(
                settings, store, title="Deploy 1.4", approvers=["alice@example.com"]
            )
        with freeze_time("2026-03-02 08:00:00"):
            approvals.create_approval(settings, store, title="Deploy 1.5", approvers=["alice@example.com"])
    with freeze_time(T0):
        pending = health.check(settings).pending
    assert (pending.count, pending.oldest_id) == (2, first.approval.id)
    assert pending.oldest_created_at is not None
    assert pending.oldest_created_at.isoformat() == "2026-03-01T10:00:00+00:00"


def test_failing_decision_hooks_are_listed_with_their_error(settings: Settings) -> None:
    with open_store(settings.state_dir) as store:
        request = approvals.create_approval(settings, store, title="Deploy", approvers=["alice@example.com"])
        with store.transaction() as tx:
            hooks.queue_hook(tx, {"id": request.approval.id, "status": "approved"})
        hooks.run_owed_hooks(store, ["sh", "-c", "echo ticket system down >&2; exit 3"])
    report = health.check(settings)
    (hook,) = report.failing_hooks
    assert (hook.approval_id, hook.attempts) == (request.approval.id, 1)
    assert any("ticket system down" in p and request.approval.id in p for p in report.problems)


def test_basic_auth_has_no_oauth_rows(settings: Settings) -> None:
    assert health.check(settings).oauth == ()


def test_oauth_without_a_stored_login_cannot_refresh(tmp_path: Path) -> None:
    oauth_settings = settings_from_table(
        {
            "smtp": {
                "host": "smtp.office365.com",
                "auth": "microsoft-oauth",
                "client_id": "00000000-0000-0000-0000-000000000001",
            },
            "state": {"path": str(tmp_path / "state")},
        },
        tmp_path / "settings.toml",
    )
    report = health.check(oauth_settings)
    (row,) = report.oauth
    assert (row.role, row.ok) == ("smtp", False)
    assert any(p.startswith("smtp OAuth cannot refresh without a person") for p in report.problems)


def test_oauth_without_a_client_id_cannot_refresh_and_says_which_key(tmp_path: Path) -> None:
    oauth_settings = settings_from_table(
        {
            "smtp": {"host": "smtp.office365.com", "auth": "microsoft-oauth"},
            "state": {"path": str(tmp_path / "state")},
        },
        tmp_path / "settings.toml",
    )
    (row,) = health.check(oauth_settings).oauth
    assert (row.role, row.ok) == ("smtp", False)
    assert row.detail.startswith("smtp.client_id is not set")


def test_the_cron_line_the_settings_imply_is_included(settings: Settings) -> None:
    (line,) = health.check(settings).cron_lines
    assert line.startswith("*/5 * * * * env PYTHON_KEYRING_BACKEND=")
    assert line.endswith(" -q process-replies")


def test_the_cron_line_is_the_one_schedule_cron_prints(settings: Settings) -> None:
    assert health.check(settings).cron_lines == schedule.cron_here(settings).lines


def test_stale_within_the_cron_interval_blames_max_age_not_cron(settings: Settings) -> None:
    record_run(settings, T0)
    with freeze_time("2026-03-02 09:01:30"):
        report = health.check(settings, max_age=1)
    assert report.stale
    assert report.problems == ("the last successful run was 1m30s ago, more than --max-age 1s ago",)
