"""`approvals wait` wakes when another process decides, on either store, long before its --poll."""

from __future__ import annotations

import threading
from pathlib import Path

from mailrelay_cli import store
from mailrelay_cli.approvals import service as approvals
from mailrelay_cli.config.load import settings_from_table
from mailrelay_cli.config.records import Settings


def _settings(tmp_path: Path, state_url: str | None) -> Settings:
    table = {
        "smtp": {"host": "smtp.example.com", "from": "relay@example.com"},
        "approval": {"enabled": True},
        "state": {"path": str(tmp_path / "state")},
    }
    return settings_from_table(table, tmp_path / "settings.toml")._replace(state_url=state_url)


def _decide_when_waiting(
    settings: Settings, approval: approvals.Approval, waiting: threading.Event, decision: str
) -> None:
    waiting.wait(30)
    with store.open_store(settings) as db, db.transaction() as tx:
        approvals.record_vote(tx, approval, "alice@example.com", decision, None, None)


def _wait_while_another_connection_decides(settings: Settings, decision: str) -> approvals.WaitResult:
    with store.open_store(settings) as db:
        approval = approvals.create_approval(
            settings, db, title="Deploy", approvers=["alice@example.com"]
        ).approval
    waiting = threading.Event()
    decider = threading.Thread(target=_decide_when_waiting, args=(settings, approval, waiting, decision))
    decider.start()
    with store.open_store(settings) as db:
        calls = 0

        def pause(seconds: float) -> None:
            nonlocal calls
            calls += 1
            if calls == 2:  # the second pause is a real wait (the first only starts LISTEN)
                waiting.set()
            db.wait_for_decision(seconds)

        waiting_set_early = threading.Timer(1.0, waiting.set)  # SQLite has no LISTEN step
        waiting_set_early.start()
        # --poll of 10 minutes and a 60 s timeout: only the wake-up can end it decided.
        result = approvals.wait_for(db, approval.id, timeout=60, poll=600, sleep=pause)
        waiting_set_early.cancel()
    decider.join(30)
    return result


def test_wait_wakes_when_another_connection_approves(tmp_path: Path, state_url) -> None:
    result = _wait_while_another_connection_decides(_settings(tmp_path, state_url), "approve")
    assert (result.timed_out, result.approval.status) == (False, "approved")


def test_wait_wakes_when_another_connection_rejects(tmp_path: Path, state_url) -> None:
    result = _wait_while_another_connection_decides(_settings(tmp_path, state_url), "reject")
    assert (result.timed_out, result.approval.status) == (False, "rejected")
