"""`mailrelay process-replies` through the command line (Maildir here; IMAP below)."""

from __future__ import annotations

import json
import mailbox
from collections.abc import Callable
from pathlib import Path

import pytest

from mailrelay_cli import store
from mailrelay_cli.approvals import service as approvals
from mailrelay_cli.config.load import load_settings
from mailrelay_cli.config.records import Settings
from mailrelay_cli.store.lock import run_lock
from tests.reply_builders import reply, request_text


@pytest.fixture
def maildir(tmp_path: Path) -> mailbox.Maildir:
    return mailbox.Maildir(str(tmp_path / "Maildir"), create=True)


@pytest.fixture
def settings(write_config: Callable[[str], Path], tmp_path: Path, maildir, smtp_plain) -> Settings:
    path = write_config(
        smtp_plain.toml(auth="none")
        + f'[approval]\nenabled = true\nmailbox = "maildir:{maildir._path}"\n'
        + f'[state]\npath = "{tmp_path / "state"}"\n'
    )
    return load_settings(path)


def ask(settings: Settings) -> approvals.ApprovalRequest:
    with store.open_store(settings.state_dir) as db:
        return approvals.create_approval(settings, db, title="Deploy 1.4", approvers=["alice@example.com"])


def add_reply(maildir: mailbox.Maildir, request: approvals.ApprovalRequest, sender: str, text: str) -> str:
    return maildir.add(reply(request.subject, sender, text, quoted=request_text(request.reference)))


def test_json_prints_one_line_per_message_then_the_summary(run_cli, settings, maildir) -> None:
    request = ask(settings)
    key = add_reply(maildir, request, "alice@example.com", "Approve")
    add_reply(maildir, request, "mallory@example.com", "Approve")
    result = run_cli("process-replies", "--json")
    assert result.exit_code == 0
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line.get("outcome") for line in lines[:2]] == ["approved", "not-an-approver"]
    assert lines[0]["uid"] == key
    assert lines[2] == {"summary": {"read": 2, "deleted": 2, "left": 0}}


def test_the_human_summary_is_one_line_with_the_decision(run_cli, settings, maildir) -> None:
    request = ask(settings)
    add_reply(maildir, request, "alice@example.com", "Approve")
    result = run_cli("process-replies")
    assert result.stdout.splitlines() == [
        f"{request.approval.id} approved by alice@example.com: Deploy 1.4",
        "read 1, deleted 1, left 0 (1 approved)",
    ]


def test_quiet_prints_nothing_when_all_went_well(run_cli, settings, maildir) -> None:
    request = ask(settings)
    add_reply(maildir, request, "mallory@example.com", "Approve")
    result = run_cli("-q", "process-replies")
    assert (result.exit_code, result.stdout, result.stderr) == (0, "", "")


def test_quiet_still_reports_a_failing_hook(run_cli, settings, maildir, config_file) -> None:
    config_file.write_text(
        config_file.read_text().replace("[approval]\n", '[approval]\non_decision = ["false"]\n')
    )
    request = ask(settings)
    add_reply(maildir, request, "alice@example.com", "Approve")
    result = run_cli("-q", "process-replies")
    assert result.exit_code == 0
    assert result.stdout == ""
    assert f"on_decision hook for {request.approval.id} failed" in result.stderr


def test_dry_run_leaves_the_mailbox_and_the_approval_alone(run_cli, settings, maildir) -> None:
    request = ask(settings)
    add_reply(maildir, request, "alice@example.com", "Approve")
    result = run_cli("process-replies", "--dry-run")
    assert "dry run: read 1, deleted 0, left 1" in result.stdout
    assert len(maildir) == 1
    assert run_cli("approvals", "show", request.approval.id, "--json").stdout.count('"pending"')


def test_dry_run_says_the_approval_would_be_decided(run_cli, settings, maildir) -> None:
    request = ask(settings)
    add_reply(maildir, request, "alice@example.com", "Approve")
    result = run_cli("process-replies", "--dry-run")
    assert (
        f"{request.approval.id} would be approved by alice@example.com: Deploy 1.4"
        in result.stdout.splitlines()
    )


def test_an_auto_reply_json_line_carries_the_approval_id(run_cli, settings, maildir) -> None:
    request = ask(settings)
    maildir.add(
        reply(
            request.subject,
            "alice@example.com",
            "Out of office until Monday",
            quoted=request_text(request.reference),
            headers={"Auto-Submitted": "auto-replied"},
        )
    )
    (line, _summary) = (json.loads(x) for x in run_cli("process-replies", "--json").stdout.splitlines())
    assert (line["outcome"], line["approval_id"]) == ("auto-reply", request.approval.id)


def test_an_overlapping_run_exits_75_naming_the_holder(run_cli, settings) -> None:
    with run_lock(settings.state_dir):
        result = run_cli("process-replies")
    assert result.exit_code == 75
    assert "another process-replies run holds the lock" in result.stderr


def test_a_missing_maildir_is_a_config_error(run_cli, settings, maildir, config_file, signing_key) -> None:
    config_file.write_text(config_file.read_text().replace(maildir._path, "/nonexistent/md"))
    result = run_cli("process-replies")
    assert result.exit_code == 78
    assert "/nonexistent/md is not a Maildir" in result.stderr


# -- the whole loop over real servers: send, capture, reply, process, wait -------------------


@pytest.fixture
def loop_config(write_config, tmp_path: Path, smtp_plain, dovecot, mail_user) -> Path:
    from mailrelay_cli.auth import credentials

    credentials.set_secret("default", "imap.password", mail_user.password)
    return write_config(
        smtp_plain.toml(auth="none")
        + dovecot.imap_toml(mail_user)
        + '[approval]\nenabled = true\nreply_address = "approvals@example.com"\n'
        + f'[state]\npath = "{tmp_path / "state"}"\n'
    )


def client_reply(request_mail, sender: str, text: str) -> bytes:
    """Answer the captured request the way a mail client does: quote its text part below."""
    original = request_mail.message()
    body = original.get_body(("plain",)).get_content()
    return reply(original["Subject"], sender, text, quoted=body, in_reply_to=original["Message-ID"])


def test_the_whole_loop_ask_reply_process_wait(run_cli, loop_config, smtp_plain, dovecot, mail_user) -> None:
    sent = run_cli(
        "send",
        "--event",
        "approval-requested",
        "--to",
        "alice@example.com",
        "--to",
        "bob@example.com",
        "--var",
        "title=Deploy 1.4",
        "--notify",
        "requester@example.com",
        "--json",
    )
    assert sent.exit_code == 0, sent.stderr
    approval_id = json.loads(sent.stdout)["approval_id"]
    [request_mail] = smtp_plain.messages
    assert request_mail.message()["Reply-To"] == "approvals@example.com"
    assert f"[MR-{approval_id}-" in request_mail.message()["Subject"]
    smtp_plain.clear()

    dovecot.append(
        mail_user,
        client_reply(request_mail, "mallory@example.com", "Approve"),
        client_reply(request_mail, "Alice <alice@example.com>", "Approve\nGo ahead after 22:00."),
        client_reply(request_mail, "bob@example.com", "Reject"),
    )
    processed = run_cli("process-replies", "--json")
    assert processed.exit_code == 0, processed.stderr
    lines = [json.loads(line) for line in processed.stdout.splitlines()]
    assert [line.get("outcome") for line in lines[:3]] == ["not-an-approver", "approved", "too-late"]
    assert lines[3] == {"summary": {"read": 3, "deleted": 3, "left": 0}}
    assert dovecot.count(mail_user) == 0

    shown = json.loads(run_cli("approvals", "show", approval_id, "--json").stdout)
    assert (shown["status"], shown["decided_by"], shown["comment"]) == (
        "approved",
        "alice@example.com",
        "Go ahead after 22:00.",
    )
    assert run_cli("approvals", "wait", approval_id).exit_code == 0
    assert sorted(m.rcpt_tos for m in smtp_plain.messages) == [
        ("bob@example.com",),
        ("requester@example.com",),
    ]


def test_a_request_that_cannot_be_sent_leaves_no_pending_approval(
    run_cli, write_config, tmp_path: Path
) -> None:
    from tests.fixtures.smtp_servers import free_port

    write_config(
        f'[smtp]\nhost = "127.0.0.1"\nport = {free_port()}\nauth = "none"\n'
        'starttls = false\nfrom = "relay@example.com"\nretry_for = "0s"\n'
        "[approval]\nenabled = true\n"
        f'[state]\npath = "{tmp_path / "state"}"\n'
    )
    sent = run_cli(
        "send", "--event", "approval-requested", "--to", "alice@example.com", "--var", "title=Deploy 1.4"
    )
    assert sent.exit_code == 75
    assert run_cli("approvals", "list", "--json").stdout == ""


def test_process_replies_with_approvals_off_exits_78(run_cli, settings, config_file) -> None:
    config_file.write_text(config_file.read_text().replace("enabled = true", "enabled = false"))
    result = run_cli("process-replies")
    assert result.exit_code == 78
    assert "hint: mailrelay config set approval.enabled true" in result.stderr


def test_asking_with_approvals_off_exits_78_and_sends_nothing(
    run_cli, settings, config_file, smtp_plain
) -> None:
    config_file.write_text(config_file.read_text().replace("enabled = true", "enabled = false"))
    result = run_cli(
        "send", "--event", "approval-requested", "--to", "alice@example.com", "--var", "title=Deploy 1.4"
    )
    assert result.exit_code == 78
    assert smtp_plain.messages == []


def test_asking_prints_the_approval_id_alone_on_stdout(run_cli, settings, smtp_plain) -> None:
    result = run_cli(
        "send", "--event", "approval-requested", "--to", "alice@example.com", "--var", "title=Deploy 1.4"
    )
    assert result.exit_code == 0, result.stderr
    approval_id = result.stdout.strip()
    assert f"[MR-{approval_id}-" in smtp_plain.messages[0].message()["Subject"]
    assert "approval id" in result.stderr


def test_asking_quietly_still_prints_the_approval_id(run_cli, settings, smtp_plain) -> None:
    result = run_cli(
        "-q",
        "send",
        "--event",
        "approval-requested",
        "--to",
        "alice@example.com",
        "--var",
        "title=Deploy 1.4",
    )
    assert result.exit_code == 0, result.stderr
    approval_id = result.stdout.strip()
    assert result.stderr == ""
    assert run_cli("approvals", "show", approval_id).exit_code == 0
