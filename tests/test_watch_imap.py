"""``process-replies --watch`` against the real Dovecot: IDLE, reconnects, NOOP polling, bursts.

The watcher runs in a thread (``start_watcher``); its sweep interval is
``approval.interval_minutes`` (5 minutes), far beyond every wait here, so a reply
decided within the bounded wait was decided because the server said EXISTS.
"""

from __future__ import annotations

import subprocess
import threading
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
from tests.fixtures.imap_proxy import CapabilityProxy
from tests.fixtures.watcher import wait_until
from tests.reply_builders import reply, request_text


@pytest.fixture(autouse=True)
def _signing_key(signing_key: bytes) -> None:
    """The watcher judges replies, which needs the key (a keyless run exits 78, fail closed)."""


@pytest.fixture
def make_settings(tmp_path: Path, dovecot, mail_user) -> Callable[..., Settings]:
    credentials.set_secret("default", "imap.password", mail_user.password)

    def make(imap_text: str | None = None, **approval: object) -> Settings:
        table = tomllib.loads(imap_text or dovecot.imap_toml(mail_user))
        table["smtp"] = {"host": "127.0.0.1", "from": "relay@example.com"}
        table["approval"] = {"enabled": True, "reply_address": "approvals@example.com", **approval}
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


def ask(settings: Settings, db: store.Store, title: str = "Deploy 1.4") -> approvals.ApprovalRequest:
    return approvals.create_approval(settings, db, title=title, approvers=["alice@example.com"])


def answer(
    request: approvals.ApprovalRequest, text: str = "Approve", sender: str = "alice@example.com"
) -> bytes:
    return reply(request.subject, sender, text, quoted=request_text(request.reference))


def status_of(settings: Settings, request: approvals.ApprovalRequest) -> str:
    with store.open_store(settings.state_dir) as db:
        return approvals.get_approval(db, request.approval.id).status


def test_a_reply_appended_while_idling_is_decided_without_another_command(
    settings, db, dovecot, mail_user, start_watcher
) -> None:
    request = ask(settings, db)
    watcher = start_watcher(settings)
    watcher.wait_for_event("waiting")
    dovecot.append(mail_user, answer(request))
    wait_until(lambda: status_of(settings, request) == "approved", what="the approval")
    wait_until(lambda: dovecot.count(mail_user) == 0, what="the reply to be expunged")
    assert "decision" in watcher.kinds()
    [connected] = [e for e in watcher.events if e.kind == "connected"]
    assert connected.fields["how"] == "IMAP IDLE"


def test_replies_already_in_the_folder_are_processed_at_start(
    settings, db, dovecot, mail_user, start_watcher
) -> None:
    request = ask(settings, db)
    dovecot.append(mail_user, answer(request))
    start_watcher(settings)
    wait_until(lambda: status_of(settings, request) == "approved", what="the approval")


def test_a_kicked_connection_reconnects_and_still_decides(
    settings, db, dovecot, mail_user, start_watcher
) -> None:
    request = ask(settings, db)
    watcher = start_watcher(settings)
    watcher.wait_for_event("waiting")
    kicked = subprocess.run(
        ["doveadm", "-c", str(dovecot.config), "kick", mail_user.name],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert kicked.returncode == 0, kicked.stderr
    watcher.wait_for_event("reconnecting")
    watcher.wait_for_event("connected", times=2)
    dovecot.append(mail_user, answer(request))
    wait_until(lambda: status_of(settings, request) == "approved", what="the approval")
    reconnect = next(e for e in watcher.events if e.kind == "reconnecting")
    assert "127.0.0.1" in reconnect.fields["error"]
    with store.open_store(settings.state_dir) as opened:
        assert opened.last_watcher().reconnects == 1


def test_a_server_that_is_down_at_start_is_retried_until_it_answers(
    make_settings, db, dovecot, mail_user, start_watcher
) -> None:
    from tests.fixtures.smtp_servers import free_port

    port = free_port()  # nothing listens here yet
    settings = make_settings(dovecot.imap_toml(mail_user, port=port))
    watcher = start_watcher(settings)
    watcher.wait_for_event("reconnecting", times=3)
    assert watcher.alive
    assert all("refused" in e.text for e in watcher.events if e.kind == "reconnecting")
    watcher.stop()
    assert watcher.error is None


def test_a_wrong_password_ends_the_watcher_with_the_auth_error(settings, dovecot, start_watcher) -> None:
    credentials.set_secret("default", "imap.password", "wrong")
    watcher = start_watcher(settings)
    wait_until(lambda: not watcher.alive, what="the watcher to give up")
    assert isinstance(watcher.error, AuthError)
    assert "reconnecting" not in watcher.kinds()
    with store.open_store(settings.state_dir) as opened:
        assert opened.last_watcher().outcome == "failed"


def test_a_missing_folder_ends_the_watcher_with_the_settings_error(make_settings, start_watcher) -> None:
    watcher = start_watcher(make_settings(folder="Nope"))
    wait_until(lambda: not watcher.alive, what="the watcher to give up")
    assert isinstance(watcher.error, ConfigError)


@pytest.fixture
def no_idle(make_settings, dovecot, mail_user) -> Iterator[tuple[Settings, CapabilityProxy]]:
    proxy = CapabilityProxy(dovecot.imap_port, b"IDLE")
    text = dovecot.imap_toml(
        mail_user, security="plain", port=proxy.port, tls=False, starttls=False, allow_plaintext_auth=True
    )
    yield make_settings(text), proxy
    proxy.close()


def test_without_idle_the_watcher_polls_with_noop(no_idle, db, dovecot, mail_user, start_watcher) -> None:
    proxied, proxy = no_idle
    request = ask(proxied, db)
    watcher = start_watcher(proxied, noop_seconds=0.2)
    watcher.wait_for_event("waiting")
    dovecot.append(mail_user, answer(request))
    wait_until(lambda: status_of(proxied, request) == "approved", what="the approval")
    assert proxy.sent(b"NOOP"), [x.decode() for x in proxy.client_lines[4:]]
    assert not proxy.sent(b"IDLE")
    [connected] = [e for e in watcher.events if e.kind == "connected"]
    assert connected.fields["how"] == "IMAP NOOP every 0.2s"


def test_stop_while_idling_logs_out_and_records_the_stop(settings, start_watcher) -> None:
    watcher = start_watcher(settings)
    watcher.wait_for_event("waiting")
    watcher.stop(timeout=5)
    assert watcher.error is None
    assert watcher.kinds()[-2:] == ["stopping", "stopped"]
    with store.open_store(settings.state_dir) as opened:
        assert opened.last_watcher().outcome == "stopped"


def test_a_burst_of_200_replies_is_decided_once_each_with_a_cron_run_in_the_middle(
    settings, db, dovecot, mail_user, start_watcher
) -> None:
    requests = [ask(settings, db, title=f"Deploy {n}") for n in range(200)]
    watcher = start_watcher(settings)
    watcher.wait_for_event("waiting")
    appending = threading.Thread(target=dovecot.append, args=(mail_user, *(answer(r) for r in requests)))
    appending.start()
    wait_until(lambda: watcher.count("batch") >= 1, what="the watcher's first batch")
    cron = replies.process_replies(settings)  # waits for the watcher's batch to end, then runs
    appending.join(30)

    def all_decided() -> bool:
        with store.open_store(settings.state_dir) as opened:
            return not opened.pending_approvals()

    wait_until(all_decided, timeout=30, what="all 200 approvals")
    wait_until(lambda: dovecot.count(mail_user) == 0, what="an empty folder")
    rows = db.audit_rows()
    originals = [r for r in rows if r.duplicate_of is None]
    assert len(originals) == 200
    assert {r.approval_id for r in originals} == {r.approval.id for r in requests}
    assert all(r.outcome == "approved" for r in originals)
    # The watcher reports a batch's decisions after deleting its messages: wait for the last.
    wait_until(
        lambda: watcher.count("decision") + len(cron.decided) >= 200, what="the watcher's decision events"
    )
    assert watcher.count("decision") + len(cron.decided) == 200
    assert all(len(db.votes(r.approval.id)) == 1 for r in requests)


def test_an_idle_watcher_sends_nothing_while_it_waits(
    make_settings, dovecot, mail_user, start_watcher
) -> None:
    proxy = CapabilityProxy(dovecot.imap_port, b"XNOTHING")
    try:
        text = dovecot.imap_toml(
            mail_user, security="plain", port=proxy.port, tls=False, starttls=False, allow_plaintext_auth=True
        )
        watcher = start_watcher(make_settings(text))
        watcher.wait_for_event("waiting")
        wait_until(lambda: proxy.sent(b"IDLE"), what="IDLE")
        before = len(proxy.client_lines)
        watcher.control.sleep(0.5)  # a bounded look: a busy loop would send SELECTs here
        assert len(proxy.client_lines) == before
        assert proxy.client_lines[-1].upper().endswith(b" IDLE")
    finally:
        proxy.close()


def test_a_tls_handshake_cut_short_is_retried(make_settings, dovecot, mail_user, start_watcher) -> None:
    import socket

    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]

    def cut() -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            client.recv(100)  # the ClientHello, then hang up mid-handshake
            client.close()

    threading.Thread(target=cut, daemon=True).start()
    try:
        watcher = start_watcher(make_settings(dovecot.imap_toml(mail_user, port=port)))
        watcher.wait_for_event("reconnecting", times=2)
        assert watcher.alive
        assert "TLS handshake" in next(e for e in watcher.events if e.kind == "reconnecting").text
    finally:
        listener.close()


def test_a_server_that_stops_answering_does_not_hold_up_a_stop(
    make_settings, dovecot, mail_user, start_watcher
) -> None:
    proxy = CapabilityProxy(dovecot.imap_port, b"XNOTHING")
    try:
        text = dovecot.imap_toml(
            mail_user,
            security="plain",
            port=proxy.port,
            tls=False,
            starttls=False,
            allow_plaintext_auth=True,
            timeout=30,
        )
        watcher = start_watcher(make_settings(text))
        watcher.wait_for_event("waiting")
        wait_until(lambda: proxy.sent(b"IDLE"), what="IDLE")
        proxy.frozen.set()
        watcher.stop(timeout=5)  # DONE and LOGOUT get 1.5 s each, not imap.timeout's 30
    finally:
        proxy.close()
