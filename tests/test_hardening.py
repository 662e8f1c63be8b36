"""Issue 10: one hostile message never stops the run, fail closed, look-alikes, duplicates,
hooks and answers at least / at most once. Each test here failed before the fix."""

from __future__ import annotations

import json
import mailbox
import socket
import subprocess
import sys
import tomllib
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from mailrelay_cli import store
from mailrelay_cli.approvals import service as approvals
from mailrelay_cli.config.load import settings_from_table
from mailrelay_cli.config.records import Settings
from mailrelay_cli.errors import ConfigError, UnknownApprovalError
from mailrelay_cli.replies import run as replies
from tests.reply_builders import reply, request_text

ALICE = "alice@example.com"


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def maildir(tmp_path: Path) -> mailbox.Maildir:
    return mailbox.Maildir(str(tmp_path / "Maildir"), create=True)


@pytest.fixture
def make_settings(tmp_path: Path, maildir: mailbox.Maildir) -> Callable[..., Settings]:
    def make(state: str = "state", **approval: object) -> Settings:
        table = tomllib.loads(
            f'[smtp]\nhost = "127.0.0.1"\nport = {closed_port()}\n'
            'auth = "none"\nstarttls = false\nfrom = "relay@example.com"\n'
            "timeout = 2\n"
        )
        table["approval"] = {
            "enabled": True,
            "mailbox": f"maildir:{maildir._path}",
            "reply_address": "approvals@example.com",
            **approval,
        }
        table["state"] = {"path": str(tmp_path / state)}
        return settings_from_table(table, tmp_path / "settings.toml")

    return make


@pytest.fixture
def settings(make_settings: Callable[..., Settings]) -> Settings:
    return make_settings()


@pytest.fixture
def db(settings: Settings) -> Iterator[store.Store]:
    with store.open_store(settings.state_dir) as opened:
        yield opened


def ask(settings: Settings, db: store.Store, *approvers: str, **kwargs: object) -> approvals.ApprovalRequest:
    return approvals.create_approval(
        settings, db, title="Deploy 1.4", approvers=approvers or (ALICE,), **kwargs
    )


def answer(
    request: approvals.ApprovalRequest, sender: str = ALICE, text: str = "Approve", **kwargs: object
) -> bytes:
    kwargs.setdefault("quoted", request_text(request.reference))
    return reply(request.subject, sender, text, **kwargs)


def outcomes(report: replies.RunReport) -> list[str]:
    return [m.outcome for m in report.messages]


def status(db: store.Store, request: approvals.ApprovalRequest) -> str:
    return approvals.get_approval(db, request.approval.id).status


# -- one message never stops the others -----------------------------------------------------


def test_a_from_of_a_thousand_nested_comments_does_not_stop_the_reply_behind_it(
    settings, db, maildir
) -> None:
    request = ask(settings, db)
    maildir.add(b"From: " + b"(" * 1000 + b"x@example.com\r\nSubject: hi\r\n\r\nApprove\r\n")
    maildir.add(answer(request))
    report = replies.process_replies(settings)
    assert outcomes(report)[1] == "approved"
    assert status(db, request) == "approved"
    assert len(maildir) == 0


def _nested(depth: int) -> bytes:
    head = b"From: x@example.com\r\nSubject: deep\r\n"
    body = b"Content-Type: text/plain\r\n\r\nApprove\r\n"
    for _ in range(depth):
        body = b"Content-Type: message/rfc822\r\n\r\n" + body
    return head + body


def test_a_message_nested_1500_deep_is_unreadable_and_the_run_goes_on(settings, db, maildir) -> None:
    request = ask(settings, db)
    maildir.add(_nested(1500))
    maildir.add(answer(request))
    report = replies.process_replies(settings)
    assert outcomes(report) == ["unreadable", "approved"]
    assert len(maildir) == 0


def test_any_exception_while_judging_makes_only_that_message_unreadable(
    settings, db, maildir, monkeypatch
) -> None:
    request = ask(settings, db)
    maildir.add(reply("boom", "eve@example.com", "hostile"))
    maildir.add(answer(request))
    real_judge = replies._judge

    def judge(settings, tx, key, msg):  # what a stdlib parser bug looks like from here
        if "boom" in str(msg["Subject"]):
            tx.add_audit(
                mailbox="half", uidvalidity=0, uid="written-then-undone", outcome="vote", sha256="0" * 64
            )
            raise RecursionError("maximum recursion depth exceeded")
        return real_judge(settings, tx, key, msg)

    monkeypatch.setattr(replies, "_judge", judge)
    report = replies.process_replies(settings)
    assert outcomes(report) == ["unreadable", "approved"]
    assert "RecursionError" in (report.messages[0].reason or "")
    rows = db.audit_rows()
    assert [r.outcome for r in rows] == ["unreadable", "approved"]  # the savepoint undid the rest
    assert all(r.archive_path and Path(r.archive_path).exists() for r in rows)
    assert len(maildir) == 0


def _cpu_bounded(code: str, seconds: int = 10) -> None:
    """Run ``code`` in a child limited to ``seconds`` of CPU (a bound, not a timing: the
    quadratic versions needed 40 s and more)."""
    limit = f"import resource; resource.setrlimit(resource.RLIMIT_CPU, ({seconds}, {seconds}))\n"
    done = subprocess.run(
        [sys.executable, "-c", limit + code], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr[-500:]


def test_300_kb_of_unterminated_anchors_converts_in_bounded_time() -> None:
    _cpu_bounded("from mailrelay_cli.replies.html_text import html_to_text\nhtml_to_text('<a' * 150_000)\n")


def test_a_megabyte_html_mail_is_judged_in_bounded_time() -> None:
    _cpu_bounded(
        "from mailrelay_cli.replies.body import body_text, reference_text\n"
        "from mailrelay_cli.replies.parse import parse_message\n"
        "html = ('<div><a href=\"x\">' * 20_000 + '<a' * 150_000 + '</span>' * 50_000)\n"
        "raw = ('From: a@example.com\\r\\nContent-Type: multipart/alternative; boundary=b\\r\\n\\r\\n'"
        " + ''.join('--b\\r\\nContent-Type: text/html\\r\\n\\r\\n' + html[:200_000] + '\\r\\n'"
        " for _ in range(5)) + '--b--\\r\\n').encode()\n"
        "msg = parse_message(raw)\n"
        "reference_text(msg, body_text(msg))\n"
    )


def test_a_megabyte_references_header_is_read_in_bounded_time() -> None:
    _cpu_bounded(
        "from mailrelay_cli.replies.headers import threading_ids\n"
        "from mailrelay_cli.replies.parse import parse_message\n"
        "refs = ' '.join(f'<{i}@x>' for i in range(110_000))\n"
        "ids = threading_ids(parse_message(f'From: a@x\\r\\nReferences: {refs}\\r\\n\\r\\nhi'.encode()))\n"
        "assert len(ids) <= 200\n"
    )


# -- fail closed ----------------------------------------------------------------------------


def test_without_the_signing_key_the_run_exits_78_and_leaves_every_reply(
    settings, db, maildir, monkeypatch
) -> None:
    request = ask(settings, db)
    maildir.add(answer(request))
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.null.Keyring")
    from tests.conftest import reset_keyring

    reset_keyring()
    with pytest.raises(ConfigError, match="no approval signing key"):
        replies.process_replies(settings)
    assert len(maildir) == 1
    assert status(db, request) == "pending"


def test_a_reply_for_an_approval_another_store_issued_is_left_and_exits_78(
    settings, db, maildir, make_settings
) -> None:
    request = ask(settings, db)
    maildir.add(answer(request))
    maildir.add(reply("unrelated", "bob@example.com", "hello"))
    other = make_settings(state="another-state-dir")
    with pytest.raises(UnknownApprovalError) as raised:
        replies.process_replies(other)
    assert str(other.state_dir / "mailrelay.db") in raised.value.message
    assert request.approval.id in raised.value.message
    assert len(maildir) == 1  # the unrelated one was judged and deleted, the reply kept
    assert outcomes(replies.process_replies(settings)) == ["approved"]


def test_a_zero_byte_database_never_deletes_a_genuine_reply(settings, db, maildir) -> None:
    request = ask(settings, db)
    maildir.add(answer(request))
    empty = settings.state_dir.parent / "emptied"
    empty.mkdir()
    (empty / "mailrelay.db").write_bytes(b"")
    with pytest.raises(UnknownApprovalError):
        replies.process_replies(settings._replace(state_dir=empty))
    assert len(maildir) == 1


def test_a_discarded_approval_keeps_its_id_as_issued(settings, db, maildir) -> None:
    request = ask(settings, db)
    approvals.discard_approval(db, request.approval.id)
    assert db.ever_issued(request.approval.id)
    maildir.add(answer(request))
    assert outcomes(replies.process_replies(settings)) == ["unmatched"]


# -- look-alike senders ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "forged",
    ["ops@\u212apmg.example", "\u017fam@example.com", "s\u0430m@example.com", "sam@ex\u0430mple.com"],
)
def test_a_look_alike_sender_is_not_an_approver_and_is_shown_as_it_arrived(
    settings, db, maildir, forged
) -> None:
    request = ask(settings, db, "ops@kpmg.example", "sam@example.com")
    # As an SMTPUTF8 server delivers it: the address in UTF-8 in the header.
    maildir.add(
        answer(request, "placeholder@example.com").replace(b"placeholder@example.com", forged.encode())
    )
    report = replies.process_replies(settings)
    assert outcomes(report) == ["not-an-approver"]
    assert report.messages[0].sender == forged
    assert status(db, request) == "pending"


def test_ascii_case_and_the_idna_form_of_the_domain_still_match(settings, db, maildir) -> None:
    request = ask(settings, db, "ops@b\u00fccher.example")
    maildir.add(answer(request, "OPS@XN--BCHER-KVA.EXAMPLE"))
    report = replies.process_replies(settings)
    assert outcomes(report) == ["approved"]
    assert approvals.get_approval(db, request.approval.id).decided_by == "OPS@xn--bcher-kva.example"


# -- duplicates -----------------------------------------------------------------------------


def test_a_list_copy_with_the_same_message_id_does_not_swallow_the_direct_reply(
    settings, db, maildir
) -> None:
    request = ask(settings, db)
    direct = answer(request)
    listed = direct.replace(b"\nTo:", b"\nList-Id: <ops.lists.example.com>\nPrecedence: list\nTo:", 1)
    maildir.add(listed)
    maildir.add(direct)
    assert outcomes(replies.process_replies(settings)) == ["auto-reply", "approved"]
    assert status(db, request) == "approved"


def test_a_replayed_identical_reply_is_a_duplicate_never_a_second_approval(settings, db, maildir) -> None:
    request = ask(settings, db)
    raw = answer(request)
    maildir.add(raw)
    replies.process_replies(settings)
    maildir.add(raw)
    report = replies.process_replies(settings)
    assert outcomes(report) == ["duplicate"]
    assert report.counts()["approved"] == 0 and report.counts()["duplicate"] == 1
    assert [m.to_json()["outcome"] for m in report.messages] == ["duplicate"]
    since = approvals.parse_iso(request.approval.created_at)
    assert db.audit_counts_since(since).decisions == 1


# -- hooks and answers ----------------------------------------------------------------------

HOOK = """\
import json, os, sys
payload = json.load(sys.stdin)
with open(sys.argv[1], "a") as out:
    out.write(json.dumps([os.environ["MAILRELAY_DECISION_ID"], payload["decision_id"]]) + "\\n")
sys.exit(1)
"""


def test_the_hook_gets_a_decision_id_that_is_the_same_on_every_retry(
    make_settings, maildir, tmp_path
) -> None:
    script, out = tmp_path / "hook.py", tmp_path / "calls.jsonl"
    script.write_text(HOOK)
    settings = make_settings(on_decision=[sys.executable, str(script), str(out)])
    with store.open_store(settings.state_dir) as db:
        request = ask(settings, db)
    maildir.add(answer(request))
    replies.process_replies(settings)
    replies.process_replies(settings)  # the hook failed: retried with the same id
    calls = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(calls) == 2
    assert calls[0] == calls[1] == [f"{request.approval.id}-approved"] * 2


def test_an_answer_whose_sending_was_interrupted_is_never_sent_twice(
    settings, db, maildir, monkeypatch
) -> None:
    from mailrelay_cli.outbound import delivery

    request = ask(settings, db, ALICE, notify=["req@example.com"])
    maildir.add(answer(request))
    sent: list[object] = []

    def killed(settings: object, message: object) -> None:
        sent.append(message)
        raise KeyboardInterrupt("killed while the server took the message")

    monkeypatch.setattr(delivery, "deliver", killed)
    with pytest.raises(KeyboardInterrupt):
        replies.process_replies(settings)
    monkeypatch.setattr(delivery, "deliver", lambda settings, message: sent.append(message))
    replies.process_replies(settings)
    assert len(sent) == 1


def test_an_unreachable_smtp_server_costs_one_attempt_per_run_then_backs_off(settings, db, maildir) -> None:
    requests = [ask(settings, db, ALICE, f"b{i}@example.com", required=2) for i in range(6)]
    for request in requests:  # six replies to six approvals, each owing nothing yet...
        approvals.cancel_approval(db, request.approval.id)
        maildir.add(answer(request))  # ...then each too late: six answers owed
    first = replies.process_replies(settings)
    assert [m.outcome for m in first.messages] == ["too-late"] * 6
    assert len(first.answers) == 1 and not first.answers[0].ok
    second = replies.process_replies(settings)
    assert len(second.answers) == 1  # the next one; the failed one waits its back-off
    assert (
        second.answers[0].address == ALICE and second.answers[0].approval_id != first.answers[0].approval_id
    )


def test_twenty_thousand_attributions_split_in_bounded_time() -> None:
    _cpu_bounded(
        "from mailrelay_cli.replies.quotes import split_reply\n"
        "split_reply('\\n'.join(['On Mon, 2 Mar 2026, A <a@b> wrote:', '> x'] * 40_000))\n",
        seconds=5,
    )


def test_no_new_hook_starts_once_the_runs_hook_budget_is_spent(settings, db) -> None:
    from mailrelay_cli.replies import hooks

    first, second = ask(settings, db), ask(settings, db)
    with db.transaction() as tx:
        for request in (first, second):
            tx.queue_hook(request.approval.id, {"id": request.approval.id, "status": "approved"})
    ticks = iter([0.0, 0.0, 61.0])
    results = hooks.run_owed_hooks(db, ["true"], budget=60.0, clock=lambda: next(ticks))
    assert [r.approval_id for r in results] == [first.approval.id]
    assert [h.approval_id for h in db.owed_hooks()] == [second.approval.id]
