"""process-replies against a real Dovecot: batched fetches, one STORE and EXPUNGE, faults.

Connection faults go through a small TCP proxy (plain IMAP, so it can read the
commands) that cuts both sides when the client sends a chosen command; a server
without UIDPLUS is Dovecot behind a proxy that strips it from the capabilities.
"""

from __future__ import annotations

import socket
import threading
import tomllib
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from mailrelay_cli import store
from mailrelay_cli.approvals import service as approvals
from mailrelay_cli.auth import credentials
from mailrelay_cli.config.records import Settings
from mailrelay_cli.errors import TemporaryError
from mailrelay_cli.replies import run as replies
from mailrelay_cli.store.lock import run_lock
from mailrelay_cli.transport.transcript import Transcript
from tests.fixtures.approval_settings import approval_settings
from tests.fixtures.imap_proxy import CapabilityProxy, Proxy
from tests.reply_builders import reply, request_text


class CuttingProxy(Proxy):
    """Cuts the connection when the client sends ``cut_at``."""

    def __init__(self, target_port: int, cut_at: bytes) -> None:
        self.cut_at = cut_at
        self.cut = threading.Event()
        super().__init__(target_port)

    def _pump(self, source: socket.socket, sink: socket.socket, from_client: bool) -> None:
        while data := source.recv(65536):
            if from_client and self.cut_at in data.upper():
                self.cut.set()
                return
            sink.sendall(data)


@pytest.fixture
def make_settings(tmp_path: Path, dovecot, mail_user, signing_key) -> Callable[..., Settings]:
    credentials.set_secret("default", "imap.password", mail_user.password)

    def make(imap_text: str | None = None, **approval: object) -> Settings:
        table = tomllib.loads(imap_text or dovecot.imap_toml(mail_user))
        table["smtp"] = {"host": "127.0.0.1", "from": "relay@example.com"}
        return approval_settings(tmp_path, table, **approval)

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
        settings, db, title="Deploy 1.4", approvers=["alice@example.com", "bob@example.com"], required=2
    )


def answer(request: approvals.ApprovalRequest, sender: str, text: str) -> bytes:
    return reply(request.subject, sender, text, quoted=request_text(request.reference))


def commands(transcript: Transcript) -> list[str]:
    """The IMAP command names the client sent (tag dropped), in order."""
    names = []
    for line in transcript.lines:
        if line.startswith("C: ") and not line.startswith("C: <"):
            words = line[3:].split(" ")
            if len(words) > 1:
                names.append(" ".join(words[1:3]) if words[1] == "UID" else words[1])
    return names


def filler(n: int) -> list[bytes]:
    return [reply(f"note {i}", f"someone{i}@example.com", "hello") for i in range(n)]


def test_replies_in_dovecot_are_decided_and_the_folder_emptied(
    settings, db, request_, dovecot, mail_user
) -> None:
    dovecot.append(
        mail_user,
        answer(request_, "alice@example.com", "Approve"),
        answer(request_, "Bob <BOB@example.com>", "yes, go"),
    )
    report = replies.process_replies(settings)
    # required 2: the first approve is a vote, only the second says approved (once per decision)
    assert [m.outcome for m in report.messages] == ["vote", "approved"]
    assert approvals.get_approval(db, request_.approval.id).status == "approved"
    assert dovecot.count(mail_user) == 0
    assert report.summary() == {"read": 2, "deleted": 2, "left": 0}


def test_audit_rows_carry_the_uidvalidity_and_uid(settings, db, request_, dovecot, mail_user) -> None:
    dovecot.append(mail_user, answer(request_, "alice@example.com", "Approve"))
    conn = dovecot.connect(mail_user)
    conn.select("INBOX")
    uidvalidity = int(conn.untagged_responses["UIDVALIDITY"][-1])
    conn.logout()
    replies.process_replies(settings)
    [row] = db.audit_rows()
    assert (row.uidvalidity, row.uid) == (uidvalidity, "1")


@pytest.mark.parametrize("n", [3, 30])
def test_the_number_of_imap_commands_does_not_grow_with_the_messages(
    settings, dovecot, mail_user, n: int
) -> None:
    dovecot.append(mail_user, *filler(n))
    transcript = Transcript()
    replies.process_replies(settings, count=50, transcript=transcript)
    sent = commands(transcript)
    assert sent[sent.index("SELECT") :] == [
        "SELECT",
        "FETCH",
        "UID FETCH",
        "UID STORE",
        "CAPABILITY",
        "UID EXPUNGE",
        "LOGOUT",
    ]
    assert dovecot.count(mail_user) == 0


def test_only_the_oldest_count_messages_are_read(settings, dovecot, mail_user) -> None:
    dovecot.append(mail_user, *filler(5))
    report = replies.process_replies(settings, count=2)
    assert [m.uid for m in report.messages] == ["1", "2"]
    assert report.summary() == {"read": 2, "deleted": 2, "left": 3}


def test_an_empty_folder_is_a_successful_run(settings, db) -> None:
    report = replies.process_replies(settings)
    assert report.summary() == {"read": 0, "deleted": 0, "left": 0}
    assert db.last_success() is not None


def test_a_dry_run_examines_the_folder_and_deletes_nothing(
    settings, db, request_, dovecot, mail_user
) -> None:
    dovecot.append(mail_user, answer(request_, "alice@example.com", "Approve"))
    transcript = Transcript()
    replies.process_replies(settings, dry_run=True, transcript=transcript)
    assert "EXAMINE" in commands(transcript)
    assert "UID STORE" not in commands(transcript)
    assert dovecot.count(mail_user) == 1
    assert db.audit_rows() == []


def test_a_20_mb_message_is_judged_on_its_header_and_never_downloaded(
    settings, request_, dovecot, mail_user
) -> None:
    big = answer(request_, "alice@example.com", "Approve\n" + ("x" * 999 + "\n") * 20_000)
    dovecot.append(mail_user, big)
    transcript = Transcript()
    report = replies.process_replies(settings, transcript=transcript)
    assert [m.outcome for m in report.messages] == ["unreadable"]
    assert report.messages[0].subject.startswith("Re: [MR-")
    assert "UID FETCH" not in commands(transcript)
    assert dovecot.count(mail_user) == 0


@pytest.fixture
def proxied(make_settings, dovecot, mail_user) -> Callable[[bytes], tuple[Settings, CuttingProxy]]:
    proxies: list[CuttingProxy] = []

    def make(cut_at: bytes) -> tuple[Settings, CuttingProxy]:
        proxy = CuttingProxy(dovecot.imap_port, cut_at)
        proxies.append(proxy)
        text = dovecot.imap_toml(
            mail_user, security="plain", port=proxy.port, tls=False, starttls=False, allow_plaintext_auth=True
        )
        return make_settings(text), proxy

    yield make
    for proxy in proxies:
        proxy.close()


@pytest.fixture
def no_uidplus(make_settings, dovecot, mail_user) -> Iterator[tuple[Settings, CapabilityProxy]]:
    proxy = CapabilityProxy(dovecot.imap_port, b"UIDPLUS")
    text = dovecot.imap_toml(
        mail_user, security="plain", port=proxy.port, tls=False, starttls=False, allow_plaintext_auth=True
    )
    yield make_settings(text), proxy
    proxy.close()


def test_without_uidplus_processed_messages_are_expunged_with_plain_expunge(
    no_uidplus, dovecot, mail_user
) -> None:
    proxied_settings, proxy = no_uidplus
    dovecot.append(mail_user, *filler(5))
    transcript = Transcript()
    report = replies.process_replies(proxied_settings, count=2, transcript=transcript)
    assert report.summary() == {"read": 2, "deleted": 2, "left": 3}
    assert "UIDPLUS" not in " ".join(line for line in transcript.lines if line.startswith("S: "))
    assert proxy.sent(b"EXPUNGE")
    assert not proxy.sent(b"UID EXPUNGE")
    assert "EXPUNGE" in commands(transcript) and "UID EXPUNGE" not in commands(transcript)
    conn = dovecot.connect(mail_user)
    conn.select("INBOX", readonly=True)
    _, data = conn.uid("SEARCH", "ALL")
    conn.logout()
    assert data[0].split() == [b"3", b"4", b"5"]


def test_without_uidplus_a_message_another_client_flagged_deleted_is_expunged_too(
    no_uidplus, dovecot, mail_user
) -> None:
    # Plain EXPUNGE removes every \Deleted message in the folder: kept on purpose (see
    # ImapMailbox.delete); with UIDPLUS the same message would stay.
    proxied_settings, _ = no_uidplus
    dovecot.append(mail_user, *filler(3))
    conn = dovecot.connect(mail_user)
    conn.select("INBOX")
    conn.uid("STORE", "3", "+FLAGS.SILENT", r"(\Deleted)")
    conn.logout()
    replies.process_replies(proxied_settings, count=1)
    assert dovecot.count(mail_user) == 1


def test_with_uidplus_a_message_another_client_flagged_deleted_stays(settings, dovecot, mail_user) -> None:
    dovecot.append(mail_user, *filler(3))
    conn = dovecot.connect(mail_user)
    conn.select("INBOX")
    conn.uid("STORE", "3", "+FLAGS.SILENT", r"(\Deleted)")
    conn.logout()
    replies.process_replies(settings, count=1)
    assert dovecot.count(mail_user) == 2


@pytest.mark.parametrize(
    "cut_at", [b"UID STORE", b"UID EXPUNGE"], ids=["dropped-after-fetch", "dropped-after-store"]
)
def test_a_dropped_connection_loses_nothing_and_decides_nothing_twice(
    proxied, settings, db, request_, dovecot, mail_user, cut_at: bytes
) -> None:
    dovecot.append(
        mail_user,
        answer(request_, "alice@example.com", "Approve"),
        answer(request_, "bob@example.com", "Approve"),
    )
    cut_settings, proxy = proxied(cut_at)
    with pytest.raises(TemporaryError) as caught:
        replies.process_replies(cut_settings)
    assert proxy.cut.is_set()
    assert caught.value.exit_code == 75
    assert approvals.get_approval(db, request_.approval.id).status == "approved"
    assert db.last_run().outcome == "failed"

    again = replies.process_replies(settings)
    assert [m.duplicate for m in again.messages] == [True, True]
    assert dovecot.count(mail_user) == 0
    assert len(db.votes(request_.approval.id)) == 2
    assert len(db.audit_rows()) == 2


def test_a_second_run_at_once_exits_75(settings) -> None:
    from mailrelay_cli.errors import LockedError

    with run_lock(settings.state_dir):
        with pytest.raises(LockedError):
            replies.process_replies(settings)


# -- every client in the reply corpus, through Dovecot ---------------------------------------


def _corpus_expectations() -> dict[str, tuple[str, str | None]]:
    """corpus file -> (outcome a run records, the From address), from reply_text's own table."""
    from tests.test_reply_text import AUTOMATIC, DECIDES, UNREADABLE

    outcome = {"approve": "approved", "reject": "rejected", None: "no-decision"}
    expected = {name: (outcome[kind], sender) for name, (sender, kind, _) in DECIDES.items()}
    expected.update({name: (kind, None) for name, kind in AUTOMATIC.items()})
    expected.update(dict.fromkeys(UNREADABLE, ("unreadable", None)))
    return expected


CORPUS = _corpus_expectations()


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_a_corpus_reply_records_its_outcome_through_dovecot(
    settings, db, dovecot, mail_user, name: str
) -> None:
    from tests.fixtures.replies import REFERENCE, load_reply

    expected, sender = CORPUS[name]
    approvers = [sender or "bob@example.com", "bob@example.com"]
    request = approvals.create_approval(settings, db, title="Deploy 1.4.2 to production", approvers=approvers)
    dovecot.append(mail_user, load_reply(name, {REFERENCE.encode(): request.reference.encode()}))
    report = replies.process_replies(settings)
    assert [m.outcome for m in report.messages] == [expected]
    decided = approvals.get_approval(db, request.approval.id).status
    assert decided == {"approved": "approved", "rejected": "rejected"}.get(expected, "pending")
    assert dovecot.count(mail_user) == 0
