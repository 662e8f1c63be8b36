"""`mailrelay state migrate|copy`, the shared signing key, and two hosts on one PostgreSQL store."""

from __future__ import annotations

import json
import mailbox
import os
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from mailrelay_cli import store
from mailrelay_cli.approvals import service as approvals
from mailrelay_cli.config.load import load_settings
from mailrelay_cli.config.records import Settings
from mailrelay_cli.errors import TemporaryError
from mailrelay_cli.replies import run as replies
from mailrelay_cli.store.postgres_schema import SCHEMA_VERSION
from tests.conftest import FILE_KEYRING
from tests.fixtures.postgres import Postgres
from tests.reply_builders import reply, request_text

KEY = "ab" * 32


def _config(tmp_path: Path, maildir: Path, url: str | None, smtp_toml: str) -> str:
    state = f'[state]\npath = "{tmp_path / "state"}"\n' + (f'url = "{url}"\n' if url else "")
    return (
        smtp_toml + f'[approval]\nenabled = true\nmailbox = "maildir:{maildir}"\n'
        'on_decision = ["/bin/true"]\nreply_address = "approvals@example.com"\n' + state
    )


@pytest.fixture
def maildir(tmp_path: Path) -> mailbox.Maildir:
    return mailbox.Maildir(str(tmp_path / "Maildir"), create=True)


@pytest.fixture
def sqlite_settings(write_config: Callable[[str], Path], tmp_path: Path, maildir, smtp_plain) -> Settings:
    return load_settings(
        write_config(_config(tmp_path, Path(maildir._path), None, smtp_plain.toml(auth="none")))
    )


def _answer(request: approvals.ApprovalRequest, sender: str, text: str) -> bytes:
    return reply(request.subject, sender, text, quoted=request_text(request.reference))


# -- migrate -------------------------------------------------------------------------------


def test_migrate_creates_the_schema_of_an_empty_database_then_has_nothing_to_do(
    run_cli, write_config, tmp_path, maildir, smtp_plain, postgres: Postgres
) -> None:
    url = postgres.url(postgres.new_database())
    write_config(_config(tmp_path, Path(maildir._path), url, smtp_plain.toml(auth="none")))
    first = run_cli("state", "migrate", "--json")
    assert first.exit_code == 0, first.stderr
    assert json.loads(first.stdout) == {
        "store": url,
        "kind": "postgresql",
        "from_version": None,
        "to_version": SCHEMA_VERSION,
    }
    again = run_cli("state", "migrate")
    assert again.exit_code == 0
    assert f"schema already at version {SCHEMA_VERSION}" in again.stdout


def test_every_command_on_an_unmigrated_database_exits_78_saying_migrate(
    run_cli, write_config, tmp_path, maildir, smtp_plain, postgres: Postgres
) -> None:
    url = postgres.url(postgres.new_database())
    write_config(_config(tmp_path, Path(maildir._path), url, smtp_plain.toml(auth="none")))
    result = run_cli("approvals", "list")
    assert result.exit_code == 78
    assert "hint: mailrelay state migrate" in result.stderr


def test_migrate_on_sqlite_creates_the_database(run_cli, sqlite_settings) -> None:
    result = run_cli("state", "migrate")
    assert result.exit_code == 0
    assert "schema created" in result.stdout
    assert (sqlite_settings.state_dir / "mailrelay.db").is_file()


# -- copy ----------------------------------------------------------------------------------


def _history(settings: Settings, maildir: mailbox.Maildir) -> dict[str, str]:
    """An SQLite store with a decided approval, a too-late answer, a pending one and two runs."""
    with store.open_store(settings) as db:
        decided = approvals.create_approval(
            settings,
            db,
            title="Deploy 1.4",
            notify=("ops@example.com",),
            approvers=["alice@example.com", "bob@example.com"],
        )
        pending = approvals.create_approval(settings, db, title="Deploy 1.5", approvers=["alice@example.com"])
    maildir.add(_answer(decided, "alice@example.com", "Approve\nfine by me"))
    maildir.add(_answer(decided, "bob@example.com", "Reject"))
    replies.process_replies(settings)
    maildir.add(reply("hello", "someone@example.com", "hi"))
    replies.process_replies(settings)
    return {"decided": decided.approval.id, "pending": pending.approval.id}


def test_copy_moves_every_row_and_a_second_copy_adds_nothing(
    run_cli, sqlite_settings, maildir, postgres: Postgres
) -> None:
    ids = _history(sqlite_settings, maildir)
    url = postgres.url(postgres.new_database())
    first = run_cli("state", "copy", "--to", url, "--json")
    assert first.exit_code == 0, first.stderr
    result = json.loads(first.stdout)
    assert result["created_schema"] is True
    tables = {t["table"]: t for t in result["tables"]}
    assert {name: t["source"] for name, t in tables.items()} == {
        "approvals": 2,
        "issued_ids": 2,
        "request_fingerprints": 0,
        "votes": 1,
        "audit": 3,
        "hooks": 1,
        "outbox": 2,
        "runs": 2,
    }
    assert all(t["added"] == t["source"] == t["verified"] for t in tables.values()), list(tables.values())

    again = json.loads(run_cli("state", "copy", "--to", url, "--json").stdout)
    assert all(t["added"] == 0 and t["verified"] == t["source"] for t in again["tables"])

    shared = sqlite_settings._replace(state_url=url)
    with store.open_store(shared) as db:
        decided = approvals.get_approval(db, ids["decided"])
        assert (decided.status, decided.decided_by, decided.comment) == (
            "approved",
            "alice@example.com",
            "fine by me",
        )
        assert approvals.get_approval(db, ids["pending"]).status == "pending"
        votes = db.votes(ids["decided"])
        audit = {row.id: row for row in db.audit_rows()}
        assert audit[votes[0].audit_id].outcome == "approved"
        assert [h.status for h in db.hooks()] == ["ok"]
        assert db.last_success() is not None


def test_a_reply_already_processed_before_the_copy_is_a_duplicate_after_it(
    sqlite_settings, maildir, postgres: Postgres, run_cli
) -> None:
    """A run on SQLite died after its commit, before deleting: PostgreSQL knows the message."""
    with store.open_store(sqlite_settings) as db:
        request = approvals.create_approval(
            sqlite_settings, db, title="Deploy", approvers=["alice@example.com"]
        )
    key = maildir.add(_answer(request, "alice@example.com", "Approve"))
    raw = maildir.get_bytes(key)
    replies.process_replies(sqlite_settings)
    maildir.add(raw)  # back, as if the delete never happened
    url = postgres.url(postgres.new_database())
    assert run_cli("state", "copy", "--to", url).exit_code == 0
    report = replies.process_replies(sqlite_settings._replace(state_url=url))
    assert [m.duplicate for m in report.messages] == [True]


def test_copy_refuses_a_password_in_the_url(run_cli, sqlite_settings) -> None:
    result = run_cli("state", "copy", "--to", "postgresql://u:Sentinel-pw-1@127.0.0.1/db")
    assert result.exit_code == 78
    assert "Sentinel-pw-1" not in result.stderr + result.stdout


def test_copy_without_a_sqlite_store_exits_78(run_cli, sqlite_settings, postgres) -> None:
    result = run_cli("state", "copy", "--to", postgres.url(postgres.new_database()))
    assert result.exit_code == 78
    assert "nothing to copy" in result.stderr


# -- the signing key -----------------------------------------------------------------------


def test_a_signing_key_under_32_bytes_is_refused(run_cli, sqlite_settings) -> None:
    result = run_cli("secret", "set", "approval.signing_key", "--stdin", input="ab" * 31 + "\n")
    assert result.exit_code == 65
    assert "at least 32 bytes" in result.stderr


def test_a_signing_key_that_is_not_hex_is_refused(run_cli, sqlite_settings) -> None:
    result = run_cli("secret", "set", "approval.signing_key", "--stdin", input="z" * 64 + "\n")
    assert result.exit_code == 65


def _host(root: Path) -> dict[str, str]:
    """The environment of one "host": its own settings file, HOME, XDG dirs and file keyring."""
    home = root / "home"
    config = home / ".config" / "mailrelay" / "settings.toml"
    config.parent.mkdir(parents=True)
    config.write_text(f'[state]\npath = "{root / "state"}"\n', encoding="utf-8")
    env = {name: value for name, value in os.environ.items() if not name.startswith("MAILRELAY_")}
    env.update(
        HOME=str(home),
        XDG_CONFIG_HOME=str(home / ".config"),
        XDG_STATE_HOME=str(home / ".local" / "state"),
        XDG_DATA_HOME=str(home / ".local" / "share"),
        XDG_CACHE_HOME=str(home / ".cache"),
        PYTHON_KEYRING_BACKEND=FILE_KEYRING,
        MAILRELAY_CONFIG=str(config),
    )
    return env


_VERIFY = (
    "import sys; from mailrelay_cli.approvals import service as s; "
    "print(','.join(s.verified_ids(s.signing_key('default', create=False), sys.argv[1])))"
)


def _python(env: dict[str, str], code: str, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", code, *args], env=env, capture_output=True, text=True, timeout=60, check=True
    )
    return done.stdout.strip()


def test_export_piped_into_set_on_another_host_makes_references_verify_there(tmp_path: Path) -> None:
    """Two hosts (own settings, HOME and keyring file): A's key, exported into a pipe and set with
    --stdin on B, makes a reference A signs verify on B."""
    host_a, host_b = _host(tmp_path / "a"), _host(tmp_path / "b")
    mailrelay = [sys.executable, "-m", "mailrelay_cli"]
    reference = _python(
        host_a,
        "from mailrelay_cli.approvals import service as s; "
        "print(s.make_reference(s.signing_key('default'), 'K7Q2XD'))",
    )
    assert reference.startswith("MR-K7Q2XD-")
    assert _python(host_b, _VERIFY, reference) == ""  # B has no key yet
    export = subprocess.Popen(
        [*mailrelay, "secret", "export", "approval.signing_key"],
        env=host_a,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert export.stdout is not None
    stored = subprocess.run(
        [*mailrelay, "secret", "set", "approval.signing_key", "--stdin"],
        env=host_b,
        stdin=export.stdout,
        capture_output=True,
        text=True,
        timeout=60,
    )
    export.stdout.close()
    assert export.wait(60) == 0, export.stderr.read() if export.stderr else ""
    assert stored.returncode == 0, stored.stderr
    assert "stored in the keyring" in stored.stdout
    assert _python(host_b, _VERIFY, reference) == "K7Q2XD"
    again = subprocess.run(
        [*mailrelay, "secret", "export", "approval.signing_key"],
        env=host_a,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert approvals.make_reference(bytes.fromhex(again.stdout.strip()), "K7Q2XD") == reference  # kept
    for host in (host_a, host_b):  # each host kept its key in its own keyring file
        assert (Path(host["XDG_DATA_HOME"]) / "python_keyring" / "keyring_pass.cfg").is_file()


def test_a_short_key_in_the_environment_is_exit_78(run_cli, sqlite_settings, monkeypatch) -> None:
    monkeypatch.setenv("MAILRELAY_APPROVAL_HMAC_KEY", "ab" * 16)
    from mailrelay_cli.errors import ConfigError

    with pytest.raises(ConfigError, match="at least 32 bytes"):
        approvals.signing_key("default")


# -- two hosts, one store -------------------------------------------------------------------


def test_two_hosts_ask_wait_and_process_replies_together(
    tmp_path: Path, smtp_plain, postgres: Postgres, monkeypatch
) -> None:
    """Host A asks and waits; host B reads the reply; A's wait sees B's decision."""
    monkeypatch.setenv("MAILRELAY_APPROVAL_HMAC_KEY", KEY)  # the same key on both hosts
    url = postgres.url(postgres.migrated_database())
    maildir = mailbox.Maildir(str(tmp_path / "Maildir"), create=True)
    hosts = []
    for name in ("a", "b"):
        home = tmp_path / name
        home.mkdir()
        path = home / "settings.toml"
        path.write_text(_config(home, Path(maildir._path), url, smtp_plain.toml(auth="none")))
        hosts.append(load_settings(path))
    host_a, host_b = hosts
    with store.open_store(host_a) as db:
        request = approvals.create_approval(host_a, db, title="Deploy", approvers=["alice@example.com"])
    maildir.add(_answer(request, "alice@example.com", "Approve"))
    processed: list[replies.RunReport] = []
    worker = threading.Thread(target=lambda: processed.append(replies.process_replies(host_b)))
    with store.open_store(host_a) as db:
        worker.start()
        result = approvals.wait_for(db, request.approval.id, timeout=60, poll=600)
    worker.join(30)
    assert (result.timed_out, result.approval.status) == (False, "approved")
    assert [m.outcome for m in processed[0].messages] == ["approved"]
    assert len(maildir) == 0


# -- the store goes away in the middle of a run ---------------------------------------------


def test_postgres_stopped_mid_run_is_75_deletes_nothing_and_the_next_run_finishes(
    write_config, tmp_path, maildir, smtp_plain, private_postgres: Postgres, monkeypatch
) -> None:
    monkeypatch.setenv("MAILRELAY_APPROVAL_HMAC_KEY", KEY)
    url = private_postgres.url(private_postgres.migrated_database())
    settings = load_settings(
        write_config(_config(tmp_path, Path(maildir._path), url, smtp_plain.toml(auth="none")))
    )
    with store.open_store(settings) as db:
        requests = [
            approvals.create_approval(settings, db, title=f"Deploy {n}", approvers=["alice@example.com"])
            for n in range(3)
        ]
    for request in requests:
        maildir.add(_answer(request, "alice@example.com", "Approve"))
    real = replies._record_message
    calls = []

    def stop_after_the_first(*args, **kwargs):
        if len(calls) == 1:
            private_postgres.stop()
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(replies, "_record_message", stop_after_the_first)
    with pytest.raises(TemporaryError) as caught:
        replies.process_replies(settings)
    assert caught.value.exit_code == 75
    assert len(maildir) == 3  # nothing deleted
    monkeypatch.setattr(replies, "_record_message", real)
    private_postgres.start()
    report = replies.process_replies(settings)
    # the one committed before the stop is a duplicate now; the other two are decided
    assert sorted(m.outcome for m in report.messages) == ["approved", "approved", "duplicate"]
    assert len(maildir) == 0
    with store.open_store(settings) as db:
        assert [approvals.get_approval(db, r.approval.id).status for r in requests] == ["approved"] * 3
        assert len(db.hooks()) == 3


def test_status_reads_runs_and_pending_approvals_from_postgres(
    run_cli, write_config, tmp_path, maildir, smtp_plain, postgres: Postgres, monkeypatch
) -> None:
    monkeypatch.setenv("MAILRELAY_APPROVAL_HMAC_KEY", KEY)
    url = postgres.url(postgres.migrated_database())
    settings = load_settings(
        write_config(_config(tmp_path, Path(maildir._path), url, smtp_plain.toml(auth="none")))
    )
    with store.open_store(settings) as db:
        approvals.create_approval(settings, db, title="Deploy", approvers=["alice@example.com"])
    assert run_cli("process-replies").exit_code == 0
    result = run_cli("status", "--json")
    assert result.exit_code == 0, result.stderr
    health = json.loads(result.stdout)
    assert health["last_success"] is not None
    assert health["pending_approvals"] == 1
