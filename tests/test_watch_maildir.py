"""``process-replies --watch`` on a Maildir: inotify on new/, the poll fallback, stopping."""

from __future__ import annotations

import mailbox
import tomllib
from pathlib import Path

import pytest

from mailrelay_cli import store
from mailrelay_cli.approvals import service as approvals
from mailrelay_cli.config.load import settings_from_table
from mailrelay_cli.config.records import Settings
from mailrelay_cli.replies.maildir_watch import DirectoryWatch
from mailrelay_cli.replies.watch import WatchControl
from tests.fixtures.watcher import wait_until
from tests.reply_builders import reply, request_text


@pytest.fixture(autouse=True)
def _signing_key(signing_key: bytes) -> None:
    """The watcher judges replies, which needs the key (a keyless run exits 78, fail closed)."""


@pytest.fixture
def maildir(tmp_path: Path) -> mailbox.Maildir:
    return mailbox.Maildir(str(tmp_path / "Maildir"), create=True)


@pytest.fixture
def settings(tmp_path: Path, maildir: mailbox.Maildir) -> Settings:
    table = tomllib.loads('[smtp]\nhost = "127.0.0.1"\nfrom = "relay@example.com"\n')
    table["approval"] = {"enabled": True, "mailbox": f"maildir:{maildir._path}"}
    table["state"] = {"path": str(tmp_path / "state")}
    return settings_from_table(table, tmp_path / "settings.toml")


def ask(settings: Settings) -> approvals.ApprovalRequest:
    with store.open_store(settings.state_dir) as db:
        return approvals.create_approval(settings, db, title="Deploy 1.4", approvers=["alice@example.com"])


def add_answer(maildir: mailbox.Maildir, request: approvals.ApprovalRequest) -> None:
    maildir.add(
        reply(request.subject, "alice@example.com", "Approve", quoted=request_text(request.reference))
    )


def status_of(settings: Settings, request: approvals.ApprovalRequest) -> str:
    with store.open_store(settings.state_dir) as db:
        return approvals.get_approval(db, request.approval.id).status


@pytest.mark.parametrize("inotify", [True, False], ids=["inotify", "poll"])
def test_a_reply_delivered_to_new_is_decided_while_watching(
    settings, maildir, start_watcher, inotify: bool
) -> None:
    request = ask(settings)
    watcher = start_watcher(settings, inotify=inotify)
    watcher.wait_for_event("waiting")
    add_answer(maildir, request)
    wait_until(lambda: status_of(settings, request) == "approved", what="the approval")
    assert len(maildir) == 0
    [connected] = [e for e in watcher.events if e.kind == "connected"]
    assert connected.fields["how"] == ("inotify" if inotify else "poll every 1s")


def test_the_watcher_stops_at_once_while_waiting(settings, start_watcher) -> None:
    watcher = start_watcher(settings)
    watcher.wait_for_event("waiting")
    watcher.stop(timeout=2)
    assert watcher.error is None


def test_inotify_reports_a_file_linked_into_new(tmp_path: Path) -> None:
    new = tmp_path / "new"
    new.mkdir()
    watch = DirectoryWatch(new)
    try:
        assert watch.how == "inotify"
        (tmp_path / "msg").write_bytes(b"x")
        (new / "msg").hardlink_to(tmp_path / "msg")
        assert watch.wait(5.0) is True
        assert watch.wait(0.05) is False  # the event was taken
    finally:
        watch.close()


def test_a_wakeup_ends_a_wait_without_mail(tmp_path: Path) -> None:
    control = WatchControl()
    watch = DirectoryWatch(tmp_path, inotify=False, poll_seconds=0.05)
    try:
        control.request_stop()
        assert watch.wait(5.0, control.fileno()) is False
    finally:
        watch.close()
        control.close()


def test_several_replies_at_once_are_each_decided(settings, maildir, start_watcher) -> None:
    requests = [ask(settings) for _ in range(3)]
    watcher = start_watcher(settings)
    watcher.wait_for_event("waiting")
    for request in requests:
        add_answer(maildir, request)
    wait_until(lambda: all(status_of(settings, r) == "approved" for r in requests), what="three approvals")
    wait_until(lambda: watcher.count("decision") == 3, what="three decision events")


def test_reload_requests_reconnect_with_fresh_settings(
    settings, maildir, start_watcher, tmp_path: Path
) -> None:
    loads: list[int] = []

    def load() -> Settings:
        loads.append(1)
        return settings

    watcher = start_watcher(load)
    watcher.wait_for_event("waiting")
    watcher.control.request_reload()
    watcher.wait_for_event("reloaded")
    watcher.wait_for_event("connected", times=2)
    assert len(loads) == 2


def test_messages_beyond_count_are_taken_in_further_batches(settings, maildir, start_watcher) -> None:
    requests = [ask(settings) for _ in range(5)]
    for request in requests:
        add_answer(maildir, request)
    watcher = start_watcher(settings, count=2)
    wait_until(lambda: all(status_of(settings, r) == "approved" for r in requests), what="five approvals")
    wait_until(lambda: watcher.count("batch") == 3, what="three batch events")


def test_a_reload_that_moves_the_store_to_postgresql_moves_the_heartbeat(
    settings, maildir, start_watcher, postgres
) -> None:
    moved = settings._replace(state_url=postgres.url(postgres.migrated_database()))
    loads = [settings, moved]
    watcher = start_watcher(lambda: loads.pop(0) if len(loads) > 1 else loads[0])
    watcher.wait_for_event("waiting")
    watcher.control.request_reload()
    watcher.wait_for_event("connected", times=2)
    with store.open_store(settings.state_dir) as db:
        old = db.last_watcher()
    assert old is not None and (old.outcome, old.error) == ("stopped", "state moved by a reload")
    with store.open_store(moved) as db:
        new = db.last_watcher()
    assert new is not None and new.outcome is None and new.last_event in ("settings reloaded", "connected")


def test_the_heartbeat_after_a_batch_goes_through_the_store_the_batch_opened(
    settings, maildir, start_watcher, monkeypatch
) -> None:
    from mailrelay_cli.replies import watch

    opens: list[int] = []
    real_open_state = watch.open_state

    def counting_open_state(settings: Settings):
        opens.append(1)
        return real_open_state(settings)

    monkeypatch.setattr(watch, "open_state", counting_open_state)
    request = ask(settings)
    watcher = start_watcher(settings, heartbeat_seconds=3600.0)
    watcher.wait_for_event("waiting")
    before = len(opens)
    add_answer(maildir, request)
    watcher.wait_for_event("waiting", times=2)
    assert len(opens) - before == 1  # the batch's own store, heartbeat included
    with store.open_store(settings.state_dir) as db:
        assert db.last_watcher().last_event == f"read 1: {request.approval.id} approved"
