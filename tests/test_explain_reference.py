"""`replies explain` finds the approval a run would: the same reference step, the same store login."""

from __future__ import annotations

import mailbox
from pathlib import Path

import pytest

from mailrelay_cli.approvals import service as approvals
from mailrelay_cli.auth.store_access import open_state
from mailrelay_cli.config.records import Settings
from mailrelay_cli.replies import run as replies
from mailrelay_cli.replies.explain import explain_file
from mailrelay_cli.replies.parse import parse_message
from mailrelay_cli.replies.reference import find_reference
from tests.fixtures.approval_settings import approval_settings
from tests.fixtures.postgres import APP_PASSWORD, APP_USER, Postgres
from tests.reply_builders import reply


def ask(settings: Settings, title: str) -> approvals.ApprovalRequest:
    with open_state(settings) as db:
        return approvals.create_approval(settings, db, title=title, approvers=["alice@example.com"])


@pytest.fixture
def settings(tmp_path: Path, state_url: str | None) -> Settings:
    maildir = mailbox.Maildir(str(tmp_path / "Maildir"), create=True)
    return approval_settings(tmp_path, mailbox=f"maildir:{maildir._path}")._replace(state_url=state_url)


def test_explain_names_the_approval_a_run_decides_when_threading_chooses(settings, tmp_path) -> None:
    first, second = ask(settings, "Deploy 1.4"), ask(settings, "Deploy 1.5")
    with open_state(settings) as db:
        approvals.set_message_id(db, second.approval.id, "<second@relay.example.com>")
    raw = reply(
        f"[{first.reference}] [{second.reference}]",
        "alice@example.com",
        "Approve",
        in_reply_to="<second@relay.example.com>",
    )
    saved = tmp_path / "reply.eml"
    saved.write_bytes(raw)
    found = explain_file(settings, saved)
    assert found.approval_id == second.approval.id
    assert found.reference_note == f"reference to approval {second.approval.id}; no request fingerprint kept"
    mailbox.Maildir(str(tmp_path / "Maildir")).add(raw)
    replies.process_replies(settings)
    with open_state(settings) as db:
        assert approvals.get_approval(db, second.approval.id).status == "approved"
        assert approvals.get_approval(db, first.approval.id).status == "pending"


def test_explain_skips_a_reference_whose_approval_is_gone_as_a_run_does(settings, tmp_path) -> None:
    gone, kept = ask(settings, "Deploy 1.4"), ask(settings, "Deploy 1.5")
    with open_state(settings) as db:
        approvals.discard_approval(db, gone.approval.id)
    saved = tmp_path / "reply.eml"
    saved.write_bytes(reply(f"[{gone.reference}] [{kept.reference}]", "alice@example.com", "Approve"))
    assert explain_file(settings, saved).approval_id == kept.approval.id
    key = approvals.signing_key(settings.profile, create=False)
    msg = parse_message(saved.read_bytes())
    with open_state(settings) as db:
        assert find_reference(db, key, msg, "Approve\n").chosen == kept.approval.id


def test_explain_logs_in_to_postgresql_with_the_state_password(
    postgres: Postgres, tmp_path: Path, monkeypatch
) -> None:
    database = postgres.migrated_database(owner=APP_USER)
    url = postgres.url(database, user=APP_USER, sslmode="verify-full", sslrootcert=str(postgres.ca))
    monkeypatch.setenv("MAILRELAY_STATE_PASSWORD", APP_PASSWORD)
    settings = approval_settings(tmp_path)._replace(state_url=url)
    request = ask(settings, "Deploy 1.4")
    saved = tmp_path / "reply.eml"
    saved.write_bytes(reply(f"[{request.reference}] Deploy 1.4", "alice@example.com", "Approve"))
    found = explain_file(settings, saved)
    assert found.approval_id == request.approval.id
    assert found.reference_note.startswith(f"reference to approval {request.approval.id};")
