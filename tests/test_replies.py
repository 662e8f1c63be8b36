"""One process-replies run: the deciding rules, the audit, safety, answers.

The attacks that must decide nothing run twice, over a local Maildir and over the real
Dovecot (``folder`` parametrized with ``over_both``), and leave the folder empty either way;
the other tests run over a Maildir only (see the ``maildir`` fixture). The IMAP side of the
same run is in test_reply_mailbox.py and test_cli_process_replies.py.
"""

from __future__ import annotations

import mailbox
import tomllib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from freezegun import freeze_time

from mailrelay_cli import store
from mailrelay_cli.approvals import service as approvals
from mailrelay_cli.auth import credentials
from mailrelay_cli.config.records import Settings
from mailrelay_cli.errors import LockedError
from mailrelay_cli.replies import run as replies
from tests.fixtures.approval_settings import approval_settings
from tests.fixtures.dovecot import Dovecot, MailUser
from tests.reply_builders import reply, request_text

ALICE = "Alice <alice@example.com>"
BOB = "bob@example.com"


@dataclass
class MaildirFolder:
    """The reply folder as a local Maildir (``approval.mailbox = "maildir:…"``)."""

    maildir: mailbox.Maildir

    def add(self, raw: bytes) -> str:
        return self.maildir.add(raw)

    def count(self) -> int:
        return len(self.maildir)

    def configure(self, table: dict[str, Any]) -> None:
        table["approval"]["mailbox"] = f"maildir:{self.maildir._path}"


@dataclass
class DovecotFolder:
    """The reply folder as the INBOX of a fresh user on the session's real Dovecot (IMAPS,
    password in the keyring, the session CA as ``tls_ca_file``)."""

    dovecot: Dovecot
    user: MailUser

    def add(self, raw: bytes) -> None:
        self.dovecot.append(self.user, raw)

    def count(self) -> int:
        """Messages in the INBOX, flagged \\Deleted but not expunged ones included."""
        return self.dovecot.count(self.user)

    def configure(self, table: dict[str, Any]) -> None:
        """An ``[imap]`` table for the user (``approval.mailbox`` stays the default, imap)."""
        credentials.set_secret("default", "imap.password", self.user.password)
        table.update(tomllib.loads(self.dovecot.imap_toml(self.user)))


ReplyFolder = MaildirFolder | DovecotFolder

# The attacks run over both mailboxes; Dovecot starts only when a test asks for it.
over_both = pytest.mark.parametrize("folder", ["maildir", "dovecot"], indirect=True)


@pytest.fixture
def folder(request: pytest.FixtureRequest, tmp_path: Path) -> ReplyFolder:
    """The reply folder: a Maildir unless parametrized (``over_both``) with "dovecot"."""
    kind = getattr(request, "param", "maildir")
    if kind == "maildir":
        return MaildirFolder(mailbox.Maildir(str(tmp_path / "Maildir"), create=True))
    assert kind == "dovecot", kind
    dovecot: Dovecot = request.getfixturevalue("dovecot")
    return DovecotFolder(dovecot, dovecot.new_user())


@pytest.fixture
def maildir(folder: ReplyFolder) -> mailbox.Maildir:
    """The Maildir of the tests that run over a Maildir only. Some are Maildir-specific (they
    use Maildir keys as uids or patch MaildirMailbox); the IMAP side of the others (deciding,
    required N, faults, dry run) is in test_reply_mailbox.py and test_cli_process_replies.py."""
    assert isinstance(folder, MaildirFolder), "a Maildir-only test was given another folder"
    return folder.maildir


@pytest.fixture
def make_settings(
    tmp_path: Path, folder: ReplyFolder, smtp_plain, signing_key, state_url: str | None
) -> Callable[..., Settings]:
    """Settings for one run; every test here runs on SQLite and on PostgreSQL (``state_url``)."""

    def make(**approval: object) -> Settings:
        table = tomllib.loads(smtp_plain.toml(auth="none"))
        table["approval"] = {}
        folder.configure(table)  # the mailbox (a Maildir, or Dovecot's [imap] table)
        return approval_settings(tmp_path, table, **approval)._replace(state_url=state_url)

    return make


@pytest.fixture
def settings(make_settings: Callable[..., Settings]) -> Settings:
    return make_settings()


@pytest.fixture
def db(settings: Settings) -> Iterator[store.Store]:
    with store.open_store(settings) as opened:
        yield opened


def ask(settings: Settings, db: store.Store, *approvers: str, **kwargs: object) -> approvals.ApprovalRequest:
    return approvals.create_approval(
        settings,
        db,
        title="Deploy 1.4 to production",
        approvers=approvers or ("alice@example.com", BOB),
        **kwargs,
    )


def answer(request: approvals.ApprovalRequest, sender: str, new_text: str, **kwargs: object) -> bytes:
    kwargs.setdefault("quoted", request_text(request.reference))
    return reply(request.subject, sender, new_text, **kwargs)


def run(settings: Settings, **kwargs: object) -> replies.RunReport:
    return replies.process_replies(settings, **kwargs)


def status(db: store.Store, request: approvals.ApprovalRequest) -> str:
    return approvals.get_approval(db, request.approval.id).status


def outcomes(report: replies.RunReport) -> list[str]:
    return [m.outcome for m in report.messages]


# -- deciding -------------------------------------------------------------------------------


def test_an_approvers_approve_decides_and_empties_the_mailbox(settings, db, maildir) -> None:
    request = ask(settings, db)
    maildir.add(answer(request, ALICE, "Approve\nLooks good, ship it."))
    report = run(settings)
    assert outcomes(report) == ["approved"]
    decided = approvals.get_approval(db, request.approval.id)
    assert (decided.status, decided.decided_by, decided.comment) == (
        "approved",
        "alice@example.com",
        "Looks good, ship it.",
    )
    assert len(maildir) == 0
    assert report.summary() == {"read": 1, "deleted": 1, "left": 0}


def test_a_reject_decides_rejected(settings, db, maildir) -> None:
    request = ask(settings, db)
    maildir.add(answer(request, BOB, "Reject: the changelog is missing"))
    assert outcomes(run(settings)) == ["rejected"]
    assert status(db, request) == "rejected"


def test_the_reference_in_the_subject_alone_is_enough(settings, db, maildir) -> None:
    request = ask(settings, db)
    maildir.add(answer(request, ALICE, "yes", quoted=""))
    assert outcomes(run(settings)) == ["approved"]


def test_the_reference_in_the_quoted_body_alone_is_enough(settings, db, maildir) -> None:
    request = ask(settings, db)
    maildir.add(reply("Re: your deployment", ALICE, "Approved", quoted=request_text(request.reference)))
    assert outcomes(run(settings)) == ["approved"]


def test_an_html_only_reply_decides(settings, db, maildir) -> None:
    request = ask(settings, db)
    maildir.add(answer(request, ALICE, "Approve", html=True))
    assert outcomes(run(settings)) == ["approved"]


def test_the_message_json_line_has_the_design_keys(settings, db, maildir) -> None:
    request = ask(settings, db)
    maildir.add(answer(request, ALICE, "Approve"))
    line = run(settings).messages[0].to_json()
    assert list(line) == ["uid", "message_id", "from", "subject", "outcome", "approval_id"]
    assert (line["from"], line["approval_id"]) == ("alice@example.com", request.approval.id)


# -- attacks that decide nothing ------------------------------------------------------------


@over_both
def test_a_sender_who_is_not_an_approver_decides_nothing(settings, db, folder) -> None:
    request = ask(settings, db)
    folder.add(answer(request, "mallory@example.com", "Approve"))
    assert outcomes(run(settings)) == ["not-an-approver"]
    assert status(db, request) == "pending"
    assert folder.count() == 0


@over_both
def test_a_reply_to_of_an_approver_does_not_make_the_sender_one(settings, db, folder) -> None:
    request = ask(settings, db)
    folder.add(
        answer(
            request,
            "mallory@example.com",
            "Approve",
            headers={"Reply-To": "alice@example.com", "Sender": "alice@example.com"},
        )
    )
    assert outcomes(run(settings)) == ["not-an-approver"]
    assert status(db, request) == "pending"
    assert folder.count() == 0


@over_both
def test_a_forwarded_request_answered_by_someone_else_decides_nothing(settings, db, folder) -> None:
    request = ask(settings, db)
    forwarded = (
        "---------- Forwarded message ---------\nFrom: Release Bot\n"
        f"Subject: {request.subject}\n\n{request_text(request.reference)}"
    )
    folder.add(reply(f"Fwd: {request.subject}", "carol@example.com", "Approve", quoted=forwarded))
    assert outcomes(run(settings)) == ["not-an-approver"]
    assert status(db, request) == "pending"
    assert folder.count() == 0


@over_both
def test_a_guessed_reference_matches_nothing(settings, db, folder) -> None:
    request = ask(settings, db)
    guessed = f"MR-{request.approval.id}-0123456789"
    folder.add(reply(f"Re: [{guessed}] Approval requested", ALICE, "Approve", quoted=request_text(guessed)))
    assert outcomes(run(settings)) == ["unmatched"]
    assert status(db, request) == "pending"
    assert folder.count() == 0


@over_both
def test_an_altered_reference_matches_nothing(settings, db, folder) -> None:
    request = ask(settings, db)
    other_id = "ZZZZZZ" if request.approval.id != "ZZZZZZ" else "YYYYYY"
    altered = request.reference.replace(request.approval.id, other_id)
    folder.add(reply(f"Re: [{altered}]", ALICE, "Approve", quoted=request_text(altered)))
    assert outcomes(run(settings)) == ["unmatched"]
    assert status(db, request) == "pending"
    assert folder.count() == 0


@over_both
def test_threading_headers_alone_are_no_proof(settings, db, folder) -> None:
    request = ask(settings, db)
    approvals.set_message_id(db, request.approval.id, "<request-1@example.com>")
    folder.add(reply("Re: deployment", ALICE, "Approve", in_reply_to="<request-1@example.com>"))
    assert outcomes(run(settings)) == ["unmatched"]
    assert status(db, request) == "pending"
    assert folder.count() == 0


@over_both
def test_a_reference_to_another_approval_decides_only_that_one(settings, db, folder) -> None:
    mine = ask(settings, db, "alice@example.com")
    theirs = ask(settings, db, "mallory@example.com")
    # Mallory may decide her own approval; quoting it does not let her decide Alice's.
    folder.add(reply(theirs.subject, "mallory@example.com", "Approve", quoted=request_text(theirs.reference)))
    run(settings)
    assert status(db, mine) == "pending"
    assert status(db, theirs) == "approved"
    assert folder.count() == 0


@over_both
def test_a_replay_after_the_decision_is_too_late(settings, db, folder) -> None:
    request = ask(settings, db)
    raw = answer(request, ALICE, "Reject")
    folder.add(answer(request, BOB, "Approve"))
    run(settings)
    folder.add(raw)
    assert outcomes(run(settings)) == ["too-late"]
    assert status(db, request) == "approved"
    assert folder.count() == 0


@over_both
def test_approve_only_in_the_quoted_part_decides_nothing(settings, db, folder) -> None:
    request = ask(settings, db)
    folder.add(
        answer(
            request,
            ALICE,
            "Let me check with the team first.",
            quoted="Approve\n" + request_text(request.reference),
        )
    )
    assert outcomes(run(settings)) == ["no-decision"]
    assert status(db, request) == "pending"
    assert folder.count() == 0


@over_both
def test_an_out_of_office_reply_quoting_the_request_decides_nothing(settings, db, folder) -> None:
    request = ask(settings, db)
    folder.add(
        answer(
            request,
            ALICE,
            "Approve\nI am out of the office until Monday.",
            headers={"Auto-Submitted": "auto-replied"},
        )
    )
    assert outcomes(run(settings)) == ["auto-reply"]
    assert status(db, request) == "pending"
    assert folder.count() == 0


@over_both
def test_a_bounce_quoting_the_request_decides_nothing(settings, db, folder) -> None:
    request = ask(settings, db)
    folder.add(
        answer(
            request,
            "MAILER-DAEMON@example.com",
            "Approve\nDelivery to the following recipient failed permanently",
        )
    )
    assert outcomes(run(settings)) == ["bounce"]
    assert status(db, request) == "pending"
    assert folder.count() == 0


@over_both
def test_an_auto_reply_with_a_valid_reference_reports_its_approval(settings, db, folder) -> None:
    request = ask(settings, db)
    folder.add(
        answer(
            request,
            ALICE,
            "Approve\nI am out of the office until Monday.",
            headers={"Auto-Submitted": "auto-replied"},
        )
    )
    (message,) = run(settings).messages
    assert (message.outcome, message.approval_id) == ("auto-reply", request.approval.id)
    assert status(db, request) == "pending"
    assert folder.count() == 0


@over_both
def test_a_bounce_with_a_valid_reference_reports_its_approval(settings, db, folder) -> None:
    request = ask(settings, db)
    folder.add(
        answer(
            request,
            "MAILER-DAEMON@example.com",
            "Approve\nDelivery to the following recipient failed permanently",
        )
    )
    (message,) = run(settings).messages
    assert (message.outcome, message.approval_id) == ("bounce", request.approval.id)
    assert status(db, request) == "pending"
    assert folder.count() == 0


@over_both
def test_a_reply_to_an_expired_approval_decides_nothing(settings, db, folder) -> None:
    with freeze_time("2026-03-01 12:00:00") as frozen:
        request = ask(settings, db, expires_in=3600)
        frozen.tick(timedelta(hours=2))
        folder.add(answer(request, ALICE, "Approve"))
        assert outcomes(run(settings)) == ["expired"]
        assert status(db, request) == "expired"
        assert folder.count() == 0


@over_both
def test_a_reply_to_a_cancelled_approval_is_too_late(settings, db, folder) -> None:
    request = ask(settings, db)
    approvals.cancel_approval(db, request.approval.id)
    folder.add(answer(request, ALICE, "Approve"))
    assert outcomes(run(settings)) == ["too-late"]
    assert status(db, request) == "cancelled"
    assert folder.count() == 0


@over_both
def test_a_reply_without_a_decision_word_is_no_decision(settings, db, folder) -> None:
    request = ask(settings, db)
    folder.add(answer(request, ALICE, "What does this deploy change?"))
    assert outcomes(run(settings)) == ["no-decision"]
    assert folder.count() == 0


@over_both
def test_a_dmarc_failure_from_the_trusted_server_decides_nothing(make_settings, folder) -> None:
    settings = make_settings(trusted_authserv_id="mx.example.com")
    with store.open_store(settings) as db:
        request = ask(settings, db)
        folder.add(
            answer(
                request,
                ALICE,
                "Approve",
                headers={"Authentication-Results": "mx.example.com; dmarc=fail header.from=example.com"},
            )
        )
        assert outcomes(run(settings)) == ["not-an-approver"]
        assert status(db, request) == "pending"
        assert folder.count() == 0


# -- required N and first-wins --------------------------------------------------------------


def test_required_two_is_decided_by_the_second_distinct_approve(settings, db, maildir) -> None:
    request = ask(settings, db, "alice@example.com", BOB, "carol@example.com", required=2)
    maildir.add(answer(request, ALICE, "Approve"))
    run(settings)
    assert status(db, request) == "pending"
    maildir.add(answer(request, BOB, "Approve"))
    run(settings)
    assert approvals.get_approval(db, request.approval.id).approved_by == ("alice@example.com", BOB)
    assert status(db, request) == "approved"


def test_a_second_answer_from_the_same_approver_changes_nothing_and_says_so(
    settings, db, maildir, smtp_plain
) -> None:
    request = ask(settings, db, "alice@example.com", BOB, "carol@example.com", required=2)
    maildir.add(answer(request, ALICE, "Approve"))
    run(settings)
    smtp_plain.clear()
    maildir.add(answer(request, ALICE, "Reject\nchanged my mind"))
    assert outcomes(run(settings)) == ["too-late"]
    assert status(db, request) == "pending"
    [notice] = smtp_plain.messages
    text = notice.message().get_body(("plain",)).get_content()
    assert "your first answer counts" in text and "still waiting" in text


def test_the_first_valid_decision_wins_within_one_run(settings, db, maildir) -> None:
    request = ask(settings, db)
    maildir.add(answer(request, ALICE, "Approve"))
    maildir.add(answer(request, BOB, "Reject"))
    assert sorted(outcomes(run(settings))) == ["approved", "too-late"]
    assert status(db, request) == "approved"


def test_a_too_late_sender_gets_one_short_answer(settings, db, maildir, smtp_plain) -> None:
    request = ask(settings, db)
    maildir.add(answer(request, ALICE, "Approve"))
    run(settings)
    maildir.add(answer(request, BOB, "Reject"))
    maildir.add(answer(request, BOB, "Reject!!"))
    report = run(settings)
    assert outcomes(report) == ["too-late", "too-late"]
    sent = smtp_plain.messages
    assert [m.rcpt_tos for m in sent] == [(BOB,)]
    assert sent[0].message()["Auto-Submitted"] == "auto-generated"
    assert "too late" in sent[0].message().get_content()


def test_unauthorised_senders_auto_replies_and_bounces_get_no_answer(
    settings, db, maildir, smtp_plain
) -> None:
    request = ask(settings, db)
    maildir.add(answer(request, "mallory@example.com", "Approve"))
    maildir.add(answer(request, ALICE, "Out of office", headers={"Auto-Submitted": "auto-replied"}))
    maildir.add(answer(request, "MAILER-DAEMON@example.com", "Undeliverable"))
    run(settings)
    assert smtp_plain.messages == []


def test_the_requester_is_notified_of_the_decision(settings, db, maildir, smtp_plain) -> None:
    request = ask(settings, db, notify=["requester@example.com"])
    maildir.add(answer(request, ALICE, "Reject\nNot on a Friday."))
    run(settings)
    [notice] = smtp_plain.messages
    assert notice.rcpt_tos == ("requester@example.com",)
    assert "rejected by alice@example.com" in notice.message().get_content()
    assert "Not on a Friday." in notice.message().get_content()


# -- audit and safety -----------------------------------------------------------------------


def test_every_message_gets_an_audit_row_with_its_sha256(settings, db, maildir) -> None:
    import hashlib

    request = ask(settings, db)
    raw = answer(request, ALICE, "Approve")
    key = maildir.add(raw)
    run(settings)
    [row] = db.audit_rows()
    assert (row.uid, row.outcome, row.approval_id, row.sender) == (
        key,
        "approved",
        request.approval.id,
        "alice@example.com",
    )
    assert row.sha256 == hashlib.sha256(Path(row.archive_path).read_bytes()).hexdigest()
    assert Path(row.archive_path).stat().st_mode & 0o077 == 0


def test_a_dry_run_records_and_deletes_nothing(settings, db, maildir) -> None:
    request = ask(settings, db)
    maildir.add(answer(request, ALICE, "Approve"))
    report = run(settings, dry_run=True)
    assert outcomes(report) == ["approved"]
    assert status(db, request) == "pending"
    assert db.audit_rows() == [] and db.last_run() is None
    assert len(maildir) == 1
    assert report.summary() == {"read": 1, "deleted": 0, "left": 1}


def test_count_limits_the_run_to_the_oldest_messages(settings, db, maildir) -> None:
    request = ask(settings, db)
    first = maildir.add(answer(request, ALICE, "Approve"))
    maildir.add(answer(request, BOB, "Reject"))
    report = run(settings, count=1)
    assert [m.uid for m in report.messages] == [first]
    assert report.summary() == {"read": 1, "deleted": 1, "left": 1}


def test_an_empty_mailbox_is_a_successful_run(settings, db) -> None:
    report = run(settings)
    assert report.summary() == {"read": 0, "deleted": 0, "left": 0}
    assert db.last_success() is not None


def test_a_crash_between_commit_and_delete_repeats_nothing(settings, db, maildir, monkeypatch) -> None:
    from mailrelay_cli.replies import mailbox as reply_mailbox

    request = ask(settings, db)
    maildir.add(answer(request, ALICE, "Approve"))

    def crash(self: object, uids: object) -> None:
        raise KeyboardInterrupt("killed between commit and delete")

    with monkeypatch.context() as patch:
        patch.setattr(reply_mailbox.MaildirMailbox, "delete", crash)
        with pytest.raises(KeyboardInterrupt):
            run(settings)
    assert status(db, request) == "approved"
    report = run(settings)
    assert [m.duplicate for m in report.messages] == [True]
    assert len(maildir) == 0
    assert len(db.audit_rows()) == 1
    assert len(db.votes(request.approval.id)) == 1


def test_a_crash_before_the_commit_decides_nothing_and_loses_nothing(
    settings, db, maildir, monkeypatch
) -> None:
    request = ask(settings, db)
    maildir.add(answer(request, ALICE, "Approve"))

    def crash(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt("killed while recording")

    with monkeypatch.context() as patch:
        patch.setattr(approvals, "record_vote", crash)
        with pytest.raises(KeyboardInterrupt):
            run(settings)
    assert status(db, request) == "pending" and db.audit_rows() == []
    assert outcomes(run(settings)) == ["approved"]


def test_a_message_that_comes_back_under_a_new_key_is_not_decided_twice(settings, db, maildir) -> None:
    request = ask(settings, db, "alice@example.com", BOB, required=2)
    raw = answer(request, ALICE, "Approve")
    maildir.add(raw)
    run(settings)
    maildir.add(raw)
    report = run(settings)
    assert [m.duplicate for m in report.messages] == [True]
    assert len(db.votes(request.approval.id)) == 1


def test_a_second_run_while_one_holds_the_lock_exits_75(settings) -> None:
    with store.open_store(settings) as other, other.run_lock():
        with pytest.raises(LockedError):
            run(settings)


def test_malformed_mime_is_recorded_not_fatal(settings, db, maildir) -> None:
    maildir.add(b"\x00\x01 not a mail message at all")
    request = ask(settings, db)
    maildir.add(answer(request, ALICE, "Approve"))
    report = run(settings)
    assert outcomes(report) == ["unreadable", "approved"]
    assert len(maildir) == 0


def test_an_undecodable_charset_still_decides(settings, db, maildir) -> None:
    request = ask(settings, db)
    raw = answer(request, ALICE, "Approve").replace(b'charset="utf-8"', b"charset=x-klingon")
    raw = raw.replace(b"charset=utf-8", b"charset=x-klingon")
    maildir.add(raw)
    assert outcomes(run(settings)) == ["approved"]


def test_a_message_over_the_size_limit_is_unreadable(make_settings, maildir) -> None:
    settings = make_settings(max_message_kb=1)
    with store.open_store(settings) as db:
        request = ask(settings, db)
        maildir.add(answer(request, ALICE, "Approve\n" + "x" * 4000))
        assert outcomes(run(settings)) == ["unreadable"]
        assert status(db, request) == "pending"
        assert len(maildir) == 0


def test_archived_messages_older_than_archive_days_are_pruned(make_settings, maildir) -> None:
    settings = make_settings(archive_days=2)
    with freeze_time("2026-03-01 12:00:00") as frozen:
        maildir.add(reply("hello", ALICE, "hi"))
        run(settings)
        with store.open_store(settings) as db:
            [row] = db.audit_rows()
        assert Path(row.archive_path).exists()
        frozen.tick(timedelta(days=3))
        run(settings)
        assert not Path(row.archive_path).exists()
