"""The state store: schema migration, run records, and the process-replies run lock."""

from __future__ import annotations

import multiprocessing
import os
import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from freezegun import freeze_time

from mailrelay_cli import store
from mailrelay_cli.errors import ConfigError, ExitCode, LockedError
from mailrelay_cli.store.lock import LOCK_NAME, read_lock_holder, run_lock
from mailrelay_cli.store.sqlite import DB_NAME
from mailrelay_cli.store.sqlite_schema import SCHEMA_VERSION


def test_a_new_store_is_created_at_the_current_schema_version(tmp_path: Path) -> None:
    with store.open_store(tmp_path / "state"):
        pass
    conn = sqlite3.connect(tmp_path / "state" / DB_NAME)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION


def test_the_time_columns_status_reads_by_range_are_indexed(tmp_path: Path) -> None:
    with store.open_store(tmp_path):
        pass
    conn = sqlite3.connect(tmp_path / DB_NAME)
    indexes = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
    conn.close()
    assert {"audit_processed_at", "runs_started_at"} <= indexes


def test_the_database_file_is_readable_only_by_its_owner(tmp_path: Path) -> None:
    with store.open_store(tmp_path):
        pass
    assert (tmp_path / DB_NAME).stat().st_mode & 0o077 == 0


def test_opening_a_store_twice_keeps_its_data(tmp_path: Path) -> None:
    with store.open_store(tmp_path) as db:
        run_id = db.record_run_start()
    with store.open_store(tmp_path) as db:
        assert db.last_run() is not None and db.last_run().id == run_id


def test_a_database_from_a_newer_mailrelay_is_a_config_error(tmp_path: Path) -> None:
    conn = sqlite3.connect(tmp_path / DB_NAME)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    with pytest.raises(ConfigError, match="newer"):
        with store.open_store(tmp_path):
            pass


def test_a_transaction_that_raises_leaves_nothing_behind(tmp_path: Path) -> None:
    with store.open_store(tmp_path) as db:
        with pytest.raises(RuntimeError):
            with db.transaction() as tx:
                tx.add_audit(mailbox="INBOX", uidvalidity=1, uid="1", outcome="unmatched", sha256="0" * 64)
                raise RuntimeError("crash between insert and commit")
        assert db.audit_rows() == []


def test_run_records_give_last_run_and_last_success(tmp_path: Path) -> None:
    with store.open_store(tmp_path) as db:
        with freeze_time("2026-03-01 10:00:00"):
            good = db.record_run_start()
            db.record_run_finish(good, "ok", {"read": 3, "deleted": 3, "left": 0})
        with freeze_time("2026-03-01 10:05:00"):
            bad = db.record_run_start()
            db.record_run_finish(bad, "failed", {}, "imap.example.com:993: connection refused")
        assert db.last_run().id == bad
        assert db.last_run().error == "imap.example.com:993: connection refused"
        assert db.last_success().id == good
        assert db.last_success().counts == {"read": 3, "deleted": 3, "left": 0}


def test_runs_since_lists_only_later_runs(tmp_path: Path) -> None:
    with store.open_store(tmp_path) as db:
        with freeze_time("2026-03-01 10:00:00"):
            db.record_run_start()
        with freeze_time("2026-03-01 11:00:00"):
            later = db.record_run_start()
        since = datetime(2026, 3, 1, 10, 30, tzinfo=UTC)
        assert [run.id for run in db.runs_since(since)] == [later]


def test_a_run_that_died_has_no_outcome(tmp_path: Path) -> None:
    with store.open_store(tmp_path) as db:
        db.record_run_start()
        assert db.last_run().outcome is None
        assert db.last_success() is None


def test_the_run_lock_can_be_taken_again_after_release(tmp_path: Path) -> None:
    with run_lock(tmp_path) as first:
        pass
    with run_lock(tmp_path) as again:
        assert again == first
        assert read_lock_holder(again).pid == os.getpid()


def test_a_second_holder_of_the_run_lock_gets_exit_75_naming_the_holder(tmp_path: Path) -> None:
    with run_lock(tmp_path):
        with pytest.raises(LockedError) as caught:
            with run_lock(tmp_path):
                pass
    assert caught.value.exit_code == ExitCode.TEMPFAIL
    assert f"pid {os.getpid()}" in caught.value.message
    assert str(tmp_path / LOCK_NAME) in caught.value.message


def _hold_lock_then_die(state_dir: str, ready: Any) -> None:
    lock = run_lock(Path(state_dir))
    lock.__enter__()
    ready.set()
    os._exit(9)  # dies holding the lock, as a killed cron run would


def test_a_lock_held_by_a_process_that_died_is_free(tmp_path: Path) -> None:
    ctx = multiprocessing.get_context("fork")
    ready = ctx.Event()
    child = ctx.Process(target=_hold_lock_then_die, args=(str(tmp_path), ready))
    child.start()
    child.join(10)
    assert ready.is_set()
    with run_lock(tmp_path):
        pass


# -- request fingerprints (migration 2) ---------------------------------------------------------


def _approval(tx: Any, approval_id: str = "K7Q2XD") -> None:
    tx.insert_approval(
        id=approval_id,
        reference=f"MR-{approval_id}-0",
        title="t",
        subject="s",
        approvers=("bob@example.com",),
        required=1,
        notify=(),
        requested_by=None,
        message_id=None,
        created_at="2025-03-03T10:00:00+00:00",
        expires_at="2099-03-03T10:00:00+00:00",
    )


def test_a_version_1_database_gains_the_fingerprint_table_and_keeps_its_approvals(tmp_path: Path) -> None:
    from mailrelay_cli.store.sqlite_schema import MIGRATIONS

    conn = sqlite3.connect(tmp_path / DB_NAME)
    conn.executescript(MIGRATIONS[0])
    conn.execute("PRAGMA user_version = 1")
    conn.execute(
        "INSERT INTO approvals (id, reference, title, subject, approvers, created_at,"
        " expires_at) VALUES ('K7Q2XD', 'MR-K7Q2XD-0', 't', 's', '[]', 'a', 'b')"
    )
    conn.commit()
    conn.close()
    with store.open_store(tmp_path) as db:
        assert db.get_approval("K7Q2XD") is not None
        assert db.request_fingerprint("K7Q2XD") is None
        with db.transaction() as tx:
            tx.set_request_fingerprint("K7Q2XD", "1;a;b")
        assert db.request_fingerprint("K7Q2XD") == "1;a;b"


def test_a_fingerprint_is_replaced_not_added_twice(tmp_path: Path) -> None:
    with store.open_store(tmp_path) as db:
        with db.transaction() as tx:
            _approval(tx)
            tx.set_request_fingerprint("K7Q2XD", "1;a;b")
            tx.set_request_fingerprint("K7Q2XD", "1;c;d")
        assert db.request_fingerprint("K7Q2XD") == "1;c;d"


def test_discarding_a_pending_approval_discards_its_fingerprint(tmp_path: Path) -> None:
    with store.open_store(tmp_path) as db:
        with db.transaction() as tx:
            _approval(tx)
            tx.set_request_fingerprint("K7Q2XD", "1;a;b")
        with db.transaction() as tx:
            tx.discard_pending_approval("K7Q2XD")
        assert db.get_approval("K7Q2XD") is None
        assert db.request_fingerprint("K7Q2XD") is None
