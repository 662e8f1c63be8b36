"""`mailrelay approvals list|show|wait|cancel` through the command line."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from mailrelay_cli import store
from mailrelay_cli.approvals import service as approvals
from mailrelay_cli.config.load import load_settings
from mailrelay_cli.config.records import Settings

JSON_KEYS = [
    "id",
    "status",
    "subject",
    "approvers",
    "created_at",
    "expires_at",
    "decided_by",
    "decided_at",
    "comment",
]


@pytest.fixture
def settings(write_config: Callable[[str], Path], tmp_path: Path, state_url: str | None) -> Settings:
    """Every command here runs on SQLite and on PostgreSQL (``state_url``)."""
    path = write_config(
        '[smtp]\nhost = "smtp.example.com"\nfrom = "relay@example.com"\n'
        "[approval]\nenabled = true\n"
        f'[state]\npath = "{tmp_path / "state"}"\n' + (f'url = "{state_url}"\n' if state_url else "")
    )
    return load_settings(path)


def ask(settings: Settings, **kwargs: object) -> approvals.Approval:
    with store.open_store(settings) as db:
        return approvals.create_approval(
            settings, db, title="Deploy 1.4", approvers=["alice@example.com"], **kwargs
        ).approval


def decide(settings: Settings, approval: approvals.Approval, decision: str) -> None:
    with store.open_store(settings) as db, db.transaction() as tx:
        approvals.record_vote(tx, approval, "alice@example.com", decision, "looks fine", None)


def test_show_json_has_exactly_the_design_keys(run_cli, settings) -> None:
    approval = ask(settings)
    result = run_cli("approvals", "show", approval.id, "--json")
    assert result.exit_code == 0
    assert list(json.loads(result.stdout)) == JSON_KEYS


def test_show_prints_the_decision_and_comment(run_cli, settings) -> None:
    approval = ask(settings)
    decide(settings, approval, "approve")
    result = run_cli("approvals", "show", approval.id)
    assert "status:" in result.stdout and "approved" in result.stdout
    assert "alice@example.com" in result.stdout and "looks fine" in result.stdout


def test_show_of_an_unknown_id_exits_65_with_a_hint(run_cli, settings) -> None:
    result = run_cli("approvals", "show", "ZZZZZZ")
    assert result.exit_code == 65
    assert "no approval 'ZZZZZZ'" in result.stderr
    assert "hint: mailrelay approvals list" in result.stderr


def test_list_json_prints_one_line_per_approval(run_cli, settings) -> None:
    first, second = ask(settings), ask(settings)
    result = run_cli("approvals", "list", "--json")
    ids = {json.loads(line)["id"] for line in result.stdout.splitlines()}
    assert ids == {first.id, second.id}


def test_list_with_status_shows_only_that_status(run_cli, settings) -> None:
    pending, decided = ask(settings), ask(settings)
    decide(settings, decided, "reject")
    result = run_cli("approvals", "list", "--status", "rejected")
    assert decided.id in result.stdout and pending.id not in result.stdout


def test_wait_on_an_approved_approval_exits_0(run_cli, settings) -> None:
    approval = ask(settings)
    decide(settings, approval, "approve")
    result = run_cli("approvals", "wait", approval.id)
    assert result.exit_code == 0
    assert f"{approval.id}: approved by alice@example.com" in result.stdout


def test_wait_on_a_rejected_approval_exits_1(run_cli, settings) -> None:
    approval = ask(settings)
    decide(settings, approval, "reject")
    assert run_cli("approvals", "wait", approval.id).exit_code == 1


def test_wait_on_a_cancelled_approval_exits_3(run_cli, settings) -> None:
    approval = ask(settings)
    run_cli("approvals", "cancel", approval.id)
    assert run_cli("approvals", "wait", approval.id).exit_code == 3


def test_wait_on_an_expired_approval_exits_3(run_cli, settings) -> None:
    approval = ask(settings, expires_in=0.001)
    assert run_cli("approvals", "wait", approval.id, "--json").exit_code == 3


def test_wait_that_times_out_exits_3_saying_still_pending(run_cli, settings) -> None:
    approval = ask(settings)
    result = run_cli("approvals", "wait", approval.id, "--timeout", "0s")
    assert result.exit_code == 3
    assert result.stdout == f"{approval.id}: pending\n"
    assert "still pending after 0s (timed out)" in result.stderr


def test_wait_timeout_is_written_as_a_duration(run_cli, settings) -> None:
    approval = ask(settings)
    result = run_cli("approvals", "wait", approval.id, "--timeout", "1", "--poll", "0.2")
    assert result.exit_code == 3
    assert (
        f"mailrelay: error: approval {approval.id} still pending after 1s (timed out)"
        in result.stderr.splitlines()
    )


def test_wait_json_timeout_prints_the_approval_then_the_timeout_on_stderr(run_cli, settings) -> None:
    approval = ask(settings)
    result = run_cli("approvals", "wait", approval.id, "--timeout", "0s", "--json")
    assert result.exit_code == 3
    shown = json.loads(result.stdout)
    assert (shown["id"], shown["status"]) == (approval.id, "pending")
    error = json.loads(result.stderr)
    assert set(error) == {"error", "hint", "exit_code"}
    assert error["exit_code"] == 3
    assert error["error"] == f"approval {approval.id} still pending after 0s (timed out)"


def test_wait_with_a_malformed_timeout_is_a_usage_error(run_cli, settings) -> None:
    approval = ask(settings)
    result = run_cli("approvals", "wait", approval.id, "--timeout", "soon")
    assert result.exit_code == 2


def test_cancel_of_a_decided_approval_exits_65(run_cli, settings) -> None:
    approval = ask(settings)
    decide(settings, approval, "approve")
    result = run_cli("approvals", "cancel", approval.id)
    assert result.exit_code == 65
    assert "already approved" in result.stderr
