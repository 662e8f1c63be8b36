"""process-replies with ``approval.mailbox = "graph"`` against the local Graph stand-in."""

from __future__ import annotations

import tomllib
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from mailrelay_cli import store
from mailrelay_cli.approvals import service as approvals
from mailrelay_cli.auth import credentials
from mailrelay_cli.config.load import settings_from_table
from mailrelay_cli.config.records import Settings
from mailrelay_cli.errors import AuthError, ConfigError
from mailrelay_cli.replies import run as replies
from mailrelay_cli.replies.graph_mailbox import open_graph_mailbox
from tests.fixtures.graph_server import USER, FakeGraph, graph_toml
from tests.fixtures.oauth_fakes import SENTINEL, FakeIdentityService
from tests.reply_builders import reply, request_text


@pytest.fixture(autouse=True)
def _signing_key(signing_key: bytes) -> None:
    """Every run here judges replies, which needs the key (a keyless run exits 78)."""


@pytest.fixture
def make_settings(
    tmp_path: Path, graph_server: FakeGraph, server_certs, identity_service: FakeIdentityService
) -> Callable[..., Settings]:
    identity_service.client_secret = f"{SENTINEL}-SECRET"
    credentials.set_secret("default", "smtp.client_secret", f"{SENTINEL}-SECRET")
    graph_server.mailbox(USER)

    def make(folder: str = "Approvals", **approval: object) -> Settings:
        table = tomllib.loads(graph_toml(graph_server, server_certs.ca, folder=folder))
        table["approval"].update({"reply_address": USER, **approval})
        table["state"] = {"path": str(tmp_path / "state")}
        return settings_from_table(table, tmp_path / "settings.toml")

    return make


@pytest.fixture
def settings(make_settings: Callable[..., Settings]) -> Settings:
    return make_settings()


@pytest.fixture
def db(settings: Settings) -> Iterator[store.Store]:
    with store.open_store(settings.state_dir) as opened:
        yield opened


@pytest.fixture
def request_(settings: Settings, db: store.Store) -> approvals.ApprovalRequest:
    return approvals.create_approval(
        settings, db, title="Deploy 1.4", approvers=["alice@example.com", "bob@example.com"], required=1
    )


def audit_row(db: store.Store, uid: str):
    with db.transaction() as tx:
        return tx.audit_by_uid(f"graph:{USER}@localhost/Approvals", 0, uid)


def answer(request: approvals.ApprovalRequest, sender: str, text: str) -> bytes:
    return reply(request.subject, sender, text, quoted=request_text(request.reference))


def filler(graph: FakeGraph, n: int, folder: str = "Approvals") -> None:
    for i in range(n):
        graph.deliver(USER, reply(f"note {i}", f"someone{i}@example.com", "hello"), folder)


def test_a_reply_in_the_graph_folder_is_decided_and_the_folder_emptied(
    settings, db, request_, graph_server: FakeGraph
) -> None:
    graph_server.deliver(USER, answer(request_, "alice@example.com", "APPROVE\nship it"), "Approvals")
    report = replies.process_replies(settings)
    assert [m.outcome for m in report.messages] == ["approved"]
    assert approvals.get_approval(db, request_.approval.id).status == "approved"
    assert graph_server.count(USER, "Approvals") == 0
    assert report.summary() == {"read": 1, "deleted": 1, "left": 0}


def test_audit_rows_are_keyed_by_the_immutable_graph_id(settings, db, request_, graph_server) -> None:
    message_id = graph_server.deliver(USER, answer(request_, "alice@example.com", "APPROVE"), "Approvals")
    report = replies.process_replies(settings)
    assert report.messages[0].uid == message_id  # not the "mutable-" id a list without Prefer gives
    row = audit_row(db, message_id)
    assert row is not None and row.outcome == "approved"
    assert all('IdType="ImmutableId"' in p for p in graph_server.prefer_headers)


def test_thirty_messages_take_a_handful_of_requests(settings, graph_server: FakeGraph) -> None:
    filler(graph_server, 30)
    report = replies.process_replies(settings)
    assert report.read == 30 and graph_server.count(USER, "Approvals") == 0
    # folder, list, 2 batches of $value, 2 batches of DELETE
    assert len(graph_server.requests) <= 6, graph_server.requests


def test_only_the_oldest_count_messages_are_read(make_settings, graph_server: FakeGraph) -> None:
    filler(graph_server, 5)
    report = replies.process_replies(make_settings(count=3))
    assert report.read == 3 and graph_server.count(USER, "Approvals") == 2
    assert [m.sender for m in report.messages] == [f"someone{i}@example.com" for i in range(3)]


def test_a_folder_given_as_a_path_of_display_names_is_found(make_settings, graph_server) -> None:
    inbox = graph_server.folder(USER, "Inbox")
    graph_server.deliver(USER, reply("x", "someone@example.com", "hi"), "Approvals", parent=inbox.id)
    report = replies.process_replies(make_settings(folder="Inbox/Approvals"))
    assert report.read == 1


def test_a_well_known_folder_name_is_used_in_any_case(make_settings, graph_server) -> None:
    graph_server.deliver(USER, reply("x", "someone@example.com", "hi"), "Inbox")
    assert replies.process_replies(make_settings(folder="INBOX")).read == 1


def test_a_folder_that_does_not_exist_exits_78_naming_approval_folder(make_settings) -> None:
    with pytest.raises(ConfigError) as raised:
        replies.process_replies(make_settings(folder="No Such Folder"))
    assert "approval.folder" in raised.value.message and "No Such Folder" in raised.value.message


def test_a_message_deleted_by_someone_else_between_list_and_fetch_is_skipped(
    settings, db, request_, graph_server: FakeGraph
) -> None:
    gone = graph_server.deliver(USER, reply("x", "someone@example.com", "hi"), "Approvals")
    graph_server.deliver(USER, answer(request_, "alice@example.com", "APPROVE"), "Approvals")
    graph_server.vanish_on_fetch.add(gone)
    report = replies.process_replies(settings)
    assert [m.outcome for m in report.messages] == ["approved"]
    assert audit_row(db, gone) is None


def test_throttled_batch_items_are_fetched_again_after_retry_after(settings, graph_server) -> None:
    filler(graph_server, 4)
    graph_server.throttle_items = 2
    graph_server.retry_after = "0"
    report = replies.process_replies(settings)
    assert report.read == 4 and graph_server.count(USER, "Approvals") == 0


def test_a_token_that_expires_mid_run_is_refreshed_and_the_run_goes_on(
    settings, graph_server: FakeGraph, identity_service: FakeIdentityService
) -> None:
    filler(graph_server, 3)
    with open_graph_mailbox(settings) as mailbox:
        graph_server.expired |= set(graph_server.tokens)  # after the folder was opened
        fetched = mailbox.fetch_oldest(30, 1024 * 1024)
        assert len(fetched) == 3 and all(m.raw for m in fetched)
        mailbox.delete([m.uid for m in fetched])
    assert graph_server.count(USER, "Approvals") == 0
    assert len(identity_service.posts("client_credentials")) == 2


def test_a_message_over_the_size_limit_is_judged_on_its_header_and_never_downloaded(
    make_settings, graph_server: FakeGraph
) -> None:
    big = graph_server.deliver(USER, reply("big", "someone@example.com", "x" * 40_000), "Approvals")
    report = replies.process_replies(make_settings(max_message_kb=8))
    assert [m.outcome for m in report.messages] == ["unreadable"]
    assert not any(url.endswith(f"{big}/$value") for _, url in graph_server.batch_items)
    assert graph_server.count(USER, "Approvals") == 0


def test_a_dry_run_deletes_nothing(settings, db, request_, graph_server: FakeGraph) -> None:
    graph_server.deliver(USER, answer(request_, "alice@example.com", "APPROVE"), "Approvals")
    report = replies.process_replies(settings, dry_run=True)
    assert [m.outcome for m in report.messages] == ["approved"]
    assert graph_server.count(USER, "Approvals") == 1
    assert approvals.get_approval(db, request_.approval.id).status == "pending"


def test_a_fetch_graph_refuses_records_nothing_and_leaves_every_message(
    settings, db, request_, graph_server: FakeGraph, identity_service
) -> None:
    graph_server.deliver(USER, answer(request_, "alice@example.com", "APPROVE"), "Approvals")
    original = graph_server._authorized

    def refuse_batches(headers, permission):  # the list works; the $batch of $value is refused
        if graph_server.requests and graph_server.requests[-1][1].endswith("$batch"):
            return graph_server._json_403()
        return original(headers, permission)

    graph_server._json_403 = lambda: (
        403,
        {"Content-Type": "application/json"},
        b'{"error": {"code": "ErrorAccessDenied", "message": "denied"}}',
    )
    graph_server._authorized = refuse_batches
    with pytest.raises(AuthError) as raised:
        replies.process_replies(settings)
    assert "Mail.ReadWrite" in raised.value.message
    assert graph_server.count(USER, "Approvals") == 1
    assert approvals.get_approval(db, request_.approval.id).status == "pending"


def test_a_run_that_could_not_delete_decides_nothing_twice_when_the_next_one_deletes(
    settings, db, request_, graph_server: FakeGraph
) -> None:
    graph_server.deliver(USER, answer(request_, "alice@example.com", "APPROVE"), "Approvals")
    graph_server.fail_deletes = True
    with pytest.raises(AuthError) as raised:
        replies.process_replies(settings)
    assert "Mail.ReadWrite" in raised.value.message
    assert approvals.get_approval(db, request_.approval.id).status == "approved"  # committed first
    assert graph_server.count(USER, "Approvals") == 1
    graph_server.fail_deletes = False
    second = replies.process_replies(settings)
    assert [(m.outcome, m.duplicate) for m in second.messages] == [("duplicate", True)]
    assert graph_server.count(USER, "Approvals") == 0


def test_wait_for_mail_says_false_when_nothing_arrives_before_the_timeout(settings, graph_server) -> None:
    graph_server.folder(USER, "Approvals")
    with open_graph_mailbox(settings) as mailbox:
        mailbox.poll_interval = 0.01
        assert mailbox.wait_for_mail(0.05) is False


def test_wait_for_mail_says_true_when_a_message_arrives(settings, graph_server: FakeGraph) -> None:
    graph_server.folder(USER, "Approvals")
    with open_graph_mailbox(settings) as mailbox:
        mailbox.poll_interval = 0.01
        assert mailbox.wait_for_mail(0.0) is False  # reads the delta state of an empty folder

        def arrive(seconds: float) -> None:
            graph_server.deliver(USER, reply("x", "someone@example.com", "hi"), "Approvals")

        mailbox.sleep = arrive
        assert mailbox.wait_for_mail(60.0) is True


def test_the_watcher_decides_a_graph_reply_without_another_command(
    settings, db, request_, graph_server: FakeGraph, start_watcher, monkeypatch
) -> None:
    from mailrelay_cli.replies import graph_mailbox
    from tests.fixtures.watcher import wait_until

    monkeypatch.setattr(graph_mailbox, "POLL_INTERVAL", 0.05)
    graph_server.folder(USER, "Approvals")
    watcher = start_watcher(settings)
    graph_server.deliver(USER, answer(request_, "alice@example.com", "APPROVE"), "Approvals")
    wait_until(lambda: approvals.get_approval(db, request_.approval.id).status == "approved")
    watcher.stop()
    assert graph_server.count(USER, "Approvals") == 0


def test_a_graph_wait_ends_when_the_watcher_is_woken(settings, graph_server: FakeGraph) -> None:
    import os

    graph_server.folder(USER, "Approvals")
    read_end, write_end = os.pipe()
    try:
        with open_graph_mailbox(settings) as mailbox:
            mailbox.wakeup_fd = read_end
            assert mailbox.wait_for_mail(0.0) is False  # the delta state of the empty folder
            os.write(write_end, b"x")
            assert mailbox._pause(30.0) is False  # cut short by the wake-up, not slept out
    finally:
        os.close(read_end)
        os.close(write_end)
