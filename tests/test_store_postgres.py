"""The PostgreSQL state store: reaching it, what its failures mean, its schema, locks and NOTIFY.

The behaviour shared with SQLite (approvals, votes, replies) runs over both
stores in test_approvals.py and test_replies.py; this file is what only a
shared server has.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
from pathlib import Path
from types import SimpleNamespace

import pytest

from mailrelay_cli import store
from mailrelay_cli.auth import credentials
from mailrelay_cli.auth.store_access import open_state, state_password
from mailrelay_cli.config.load import settings_from_table
from mailrelay_cli.config.records import Settings
from mailrelay_cli.errors import (
    AuthError,
    CertificateError,
    ConfigError,
    ExitCode,
    LockedError,
    TemporaryError,
)
from mailrelay_cli.store.postgres_schema import SCHEMA_VERSION
from tests.fixtures.postgres import APP_PASSWORD, APP_USER, Postgres
from tests.fixtures.smtp_servers import free_port


def settings_for(tmp_path: Path, url: str, name: str = "host") -> Settings:
    table = {
        "smtp": {"host": "smtp.example.com", "from": "relay@example.com"},
        "approval": {"enabled": True, "reply_address": "approvals@example.com"},
        "state": {"path": str(tmp_path / name / "state"), "url": url},
    }
    return settings_from_table(table, tmp_path / name / "settings.toml")


def _open(url: str, password: str | None = None):
    return store.open_store(
        SimpleNamespace(state_dir="/nonexistent", state_url=url), (lambda: password) if password else None
    )


def _app_url(postgres: Postgres, database: str, ca: Path | None = None) -> str:
    return postgres.url(database, user=APP_USER, sslmode="verify-full", sslrootcert=str(ca or postgres.ca))


@pytest.fixture
def app_database(postgres: Postgres) -> str:
    """A migrated database owned by the password-only role ``app``."""
    return postgres.migrated_database(owner=APP_USER)


# -- reaching it ---------------------------------------------------------------------------


def test_an_unreachable_server_is_exit_75_naming_the_url(tmp_path: Path) -> None:
    url = f"postgresql://mailrelay@127.0.0.1:{free_port()}/mailrelay"
    with pytest.raises(TemporaryError) as caught:
        with _open(url):
            pass
    assert caught.value.exit_code == ExitCode.TEMPFAIL
    assert url in caught.value.message


def test_a_missing_database_is_exit_78_with_the_migrate_hint(postgres: Postgres) -> None:
    with pytest.raises(ConfigError) as caught:
        with _open(postgres.url("no_such_db")):
            pass
    assert caught.value.exit_code == ExitCode.CONFIG
    assert "no_such_db" in caught.value.message
    assert "mailrelay state migrate" in (caught.value.hint or "")


def test_a_database_without_the_schema_is_exit_78_saying_run_migrate(postgres: Postgres) -> None:
    database = postgres.new_database()
    with pytest.raises(ConfigError, match="no mailrelay schema") as caught:
        with _open(postgres.url(database)):
            pass
    assert caught.value.hint.startswith("mailrelay state migrate")


def test_a_schema_newer_than_this_program_is_exit_78(postgres: Postgres) -> None:
    database = postgres.migrated_database()
    postgres.admin(f"INSERT INTO mailrelay_schema (version) VALUES ({SCHEMA_VERSION + 1})", database)
    with pytest.raises(ConfigError, match="newer than this mailrelay") as caught:
        with _open(postgres.url(database)):
            pass
    assert caught.value.exit_code == ExitCode.CONFIG


def test_an_older_schema_is_exit_78_saying_run_migrate(postgres: Postgres) -> None:
    database = postgres.migrated_database()
    postgres.admin("DELETE FROM mailrelay_schema", database)
    postgres.admin("INSERT INTO mailrelay_schema (version) VALUES (0)", database)
    with pytest.raises(ConfigError, match="schema version 0") as caught:
        with _open(postgres.url(database)):
            pass
    assert caught.value.hint.startswith("mailrelay state migrate")


def test_a_password_in_state_url_is_refused_when_the_settings_load(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="holds a password") as caught:
        settings_for(tmp_path, "postgresql://app:hunter2hunter2@db.example.com/mailrelay")
    assert "hunter2" not in caught.value.message
    assert "mailrelay secret set state.password" in caught.value.hint


def test_state_url_must_be_a_postgresql_url(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="postgresql://"):
        settings_for(tmp_path, "mysql://db.example.com/mailrelay")


# -- password and TLS ----------------------------------------------------------------------


def test_scram_login_over_verify_full_with_the_password_from_the_environment(
    postgres: Postgres, app_database: str, tmp_path: Path, monkeypatch
) -> None:
    monkeypatch.setenv("MAILRELAY_STATE_PASSWORD", APP_PASSWORD)
    settings = settings_for(tmp_path, _app_url(postgres, app_database))
    with open_state(settings) as db:
        assert db.list_approvals() == []
        assert APP_PASSWORD not in db.location


def test_the_password_comes_from_the_keyring_entry_state_password(
    postgres: Postgres, app_database: str, tmp_path: Path
) -> None:
    credentials.set_secret("default", "state.password", APP_PASSWORD)
    settings = settings_for(tmp_path, _app_url(postgres, app_database))
    with open_state(settings) as db:
        assert db.pending_approvals() == []


def test_without_a_mailrelay_password_libpq_reads_the_pgpassfile(
    postgres: Postgres, app_database: str, tmp_path: Path, monkeypatch
) -> None:
    passfile = tmp_path / "pgpass"
    passfile.write_text(f"127.0.0.1:{postgres.port}:*:{APP_USER}:{APP_PASSWORD}\n")
    passfile.chmod(0o600)
    monkeypatch.setenv("PGPASSFILE", str(passfile))
    settings = settings_for(tmp_path, _app_url(postgres, app_database))
    assert state_password(settings.profile) is None
    with open_state(settings) as db:
        assert db.pending_approvals() == []


def test_a_wrong_password_is_exit_77_and_never_shows_the_password(
    postgres: Postgres, app_database: str, tmp_path: Path, monkeypatch
) -> None:
    wrong = "Wrong-Sentinel-77x"
    monkeypatch.setenv("MAILRELAY_STATE_PASSWORD", wrong)
    settings = settings_for(tmp_path, _app_url(postgres, app_database))
    with pytest.raises(AuthError) as caught:
        with open_state(settings):
            pass
    assert caught.value.exit_code == ExitCode.NOPERM
    assert wrong not in caught.value.message and wrong not in (caught.value.hint or "")
    assert "state.password" in caught.value.hint


def test_a_certificate_from_an_untrusted_ca_is_exit_78(
    postgres: Postgres, app_database: str, tmp_path: Path, monkeypatch, self_signed_certs
) -> None:
    monkeypatch.setenv("MAILRELAY_STATE_PASSWORD", APP_PASSWORD)
    settings = settings_for(tmp_path, _app_url(postgres, app_database, ca=self_signed_certs.ca))
    with pytest.raises(CertificateError) as caught:
        with open_state(settings):
            pass
    assert caught.value.exit_code == ExitCode.CONFIG
    assert "sslrootcert" in caught.value.hint


def test_the_password_role_cannot_log_in_without_tls(
    postgres: Postgres, app_database: str, tmp_path: Path, monkeypatch
) -> None:
    monkeypatch.setenv("MAILRELAY_STATE_PASSWORD", APP_PASSWORD)
    settings = settings_for(tmp_path, postgres.url(app_database, user=APP_USER, sslmode="disable"))
    with pytest.raises(AuthError):
        with open_state(settings):
            pass


# -- migrate -------------------------------------------------------------------------------


def _migrate(url: str) -> None:
    from mailrelay_cli.store.maintenance import migrate_postgres

    migrate_postgres(url, None)


def test_two_hosts_migrating_at_once_apply_each_step_once(postgres: Postgres) -> None:
    database = postgres.new_database()
    url = postgres.url(database)
    ctx = multiprocessing.get_context("spawn")
    workers = [ctx.Process(target=_migrate, args=(url,)) for _ in range(3)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)
    assert [w.exitcode for w in workers] == [0, 0, 0]
    rows = postgres.query("SELECT version FROM mailrelay_schema ORDER BY version", database)
    assert rows == [(n,) for n in range(1, SCHEMA_VERSION + 1)]


# -- the run lock --------------------------------------------------------------------------


def test_a_second_run_on_any_host_gets_exit_75(postgres: Postgres, pg_database: str) -> None:
    url = postgres.url(pg_database)
    with _open(url) as first, _open(url) as second:
        first.record_run_start()
        with first.run_lock():
            with pytest.raises(LockedError) as caught:
                with second.run_lock():
                    pass
    assert caught.value.exit_code == ExitCode.TEMPFAIL
    assert f"pid {os.getpid()}" in caught.value.message
    assert url in caught.value.message


def _hold_run_lock_then_die(url: str, ready) -> None:
    with _open(url) as db:
        db.run_lock().__enter__()
        ready.set()
        os._exit(9)  # killed while holding it


def test_the_run_lock_of_a_host_that_died_is_free(postgres: Postgres, pg_database: str) -> None:
    url = postgres.url(pg_database)
    ctx = multiprocessing.get_context("fork")
    ready = ctx.Event()
    child = ctx.Process(target=_hold_run_lock_then_die, args=(url, ready))
    child.start()
    child.join(30)
    assert ready.is_set()
    from tests.fixtures.postgres import wait_until

    def free() -> bool:
        with _open(url) as db:
            try:
                with db.run_lock():
                    return True
            except LockedError:
                return False

    assert wait_until(free, timeout=20)


# -- approvals wait wakes on NOTIFY ---------------------------------------------------------


def _decide_later(settings: Settings, approval_id: str, started: threading.Event) -> None:
    from mailrelay_cli.approvals import service as approvals

    started.wait(10)
    with open_state(settings) as db:
        approval = approvals.get_approval(db, approval_id)
        with db.transaction() as tx:
            approvals.record_vote(tx, approval, "alice@example.com", "approve", None, None)


def test_wait_wakes_on_a_decision_made_by_another_host(
    postgres: Postgres, pg_database: str, tmp_path: Path
) -> None:
    from mailrelay_cli.approvals import service as approvals

    host_a = settings_for(tmp_path, postgres.url(pg_database), "a")
    host_b = settings_for(tmp_path, postgres.url(pg_database), "b")
    with open_state(host_a) as db:
        request = approvals.create_approval(host_a, db, title="Deploy", approvers=["alice@example.com"])
    started = threading.Event()
    decider = threading.Thread(target=_decide_later, args=(host_b, request.approval.id, started))
    decider.start()
    with open_state(host_a) as db:
        first = True

        def sleep_then_signal(seconds: float) -> None:
            nonlocal first
            db.wait_for_decision(seconds)
            if first:
                first = False
                started.set()

        # poll 10 minutes, timeout 60 s: only a notification can end this wait decided
        result = approvals.wait_for(db, request.approval.id, timeout=60, poll=600, sleep=sleep_then_signal)
    decider.join(10)
    assert not result.timed_out
    assert result.approval.status == "approved"
