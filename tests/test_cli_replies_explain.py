"""The request fingerprint end to end (send keeps it, process-replies uses it) and
`mailrelay replies explain`."""

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
from mailrelay_cli.outbound.sending import SendRequest, send
from mailrelay_cli.replies import run as replies
from tests.reply_builders import reply

COMMENT = "Sawa, endelea.\nBaada ya saa kumi na mbili."


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


def ask(settings: Settings, smtp_plain, *approvers: str, required: int = 1) -> tuple[str, str, str]:
    """Send a real approval request; (approval id, subject, text part as sent)."""
    from mailrelay_cli.approvals.options import ApprovalOptions

    smtp_plain.clear()
    result = send(
        settings,
        SendRequest(
            "approval-requested",
            to=approvers or ("bob@example.com",),
            variables={"title": "Deploy 1.4"},
            approval=ApprovalOptions(required=required),
        ),
    )
    sent = smtp_plain.messages[0].message()
    assert result.approval_id is not None
    return result.approval_id, str(sent["Subject"]), sent.get_body(("plain",)).get_content()


def swahili_outlook_reply(
    subject: str, text: str, decision: str = "Approve", sender: str = "bob@example.com"
) -> bytes:
    """An Outlook-style top-posted reply whose header block is in a language no rule knows."""
    body = (
        f"{decision}\n{COMMENT}\n\nKutoka: Mailrelay <relay@example.com>\n"
        f"Imetumwa: Jumatatu, 3 Machi 2025 10:00\nKwa: Bob <bob@example.com>\n"
        f"Mada: {subject}\n\n{text}"
    )
    return reply(subject, sender, body)


def comment(settings: Settings, approval_id: str) -> str | None:
    with store.open_store(settings.state_dir) as db:
        return approvals.get_approval(db, approval_id).comment


def test_send_keeps_the_fingerprint_of_the_request_as_sent(settings, smtp_plain) -> None:
    approval_id, _subject, text = ask(settings, smtp_plain)
    with store.open_store(settings.state_dir) as db:
        fingerprint = approvals.request_fingerprint(db, approval_id)
    assert fingerprint is not None
    assert fingerprint.line_match("> " + text.split("\n")[2]) is not None


def test_the_comment_leaves_out_a_header_block_in_any_language(settings, smtp_plain, maildir) -> None:
    approval_id, subject, text = ask(settings, smtp_plain)
    maildir.add(swahili_outlook_reply(subject, text))
    replies.process_replies(settings)
    assert comment(settings, approval_id) == COMMENT


def test_an_approval_without_a_fingerprint_still_decides_by_the_language_rules(settings, maildir) -> None:
    with store.open_store(settings.state_dir) as db:
        request = approvals.create_approval(settings, db, title="Deploy 1.4", approvers=["bob@example.com"])
    maildir.add(swahili_outlook_reply(request.subject, "Approval requested: Deploy 1.4\n"))
    [result] = replies.process_replies(settings).messages
    assert result.outcome == "approved"


def test_a_vote_that_does_not_decide_yet_says_so_in_json(run_cli, settings, smtp_plain, maildir) -> None:
    _approval_id, subject, text = ask(
        settings, smtp_plain, "bob@example.com", "alice@example.com", required=2
    )
    maildir.add(swahili_outlook_reply(subject, text))
    result = run_cli("process-replies", "--json")
    line = json.loads(result.stdout.splitlines()[0])
    assert (line["outcome"], line["approvals"], line["required"]) == ("vote", 1, 2)


def test_a_vote_that_does_not_decide_yet_reads_1_of_2_approvals(
    run_cli, settings, smtp_plain, maildir
) -> None:
    approval_id, subject, text = ask(settings, smtp_plain, "bob@example.com", "alice@example.com", required=2)
    maildir.add(swahili_outlook_reply(subject, text))
    result = run_cli("process-replies")
    assert result.stdout.splitlines() == [
        f"{approval_id}: 1 of 2 approvals from bob@example.com",
        "read 1, deleted 1, left 0 (1 vote)",
    ]
    assert "approved" not in result.stdout


def test_the_deciding_vote_of_two_says_approved_once(run_cli, settings, smtp_plain, maildir) -> None:
    _approval_id, subject, text = ask(
        settings, smtp_plain, "bob@example.com", "alice@example.com", required=2
    )
    maildir.add(swahili_outlook_reply(subject, text))
    maildir.add(swahili_outlook_reply(subject, text, sender="alice@example.com"))
    result = run_cli("process-replies", "--json")
    outcomes = [json.loads(line).get("outcome") for line in result.stdout.splitlines()[:2]]
    assert sorted(outcomes) == ["approved", "vote"]


# -- replies explain ---------------------------------------------------------------------------


def test_explain_shows_the_split_and_the_fingerprint_rule(run_cli, settings, smtp_plain, tmp_path) -> None:
    approval_id, subject, text = ask(settings, smtp_plain)
    saved = tmp_path / "reply.eml"
    saved.write_bytes(swahili_outlook_reply(subject, text))
    result = run_cli("replies", "explain", str(saved))
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert f"reference to approval {approval_id}; its request fingerprint is kept" in out
    assert "decision:  approve (line 1, the first line of the new text)" in out
    assert "  | Sawa, endelea.\n  | Baada ya saa kumi na mbili.\n" in out
    assert "quote:     starts at line 5 (request fingerprint and the header block above it)" in out


def test_explain_json_has_the_decision_comment_and_quote_start(
    run_cli, settings, smtp_plain, tmp_path
) -> None:
    approval_id, subject, text = ask(settings, smtp_plain)
    saved = tmp_path / "reply.eml"
    saved.write_bytes(swahili_outlook_reply(subject, text, decision="Reject"))
    found = json.loads(run_cli("replies", "explain", str(saved), "--json").stdout)
    assert (found["approval_id"], found["decision"], found["comment"]) == (approval_id, "reject", COMMENT)
    assert (found["quote_start"], found["fingerprint"]) == (5, True)
    assert [step["rule"] for step in found["steps"]] == ["header block", "request fingerprint"]


def test_explain_records_and_deletes_nothing(run_cli, settings, smtp_plain, tmp_path) -> None:
    approval_id, subject, text = ask(settings, smtp_plain)
    saved = tmp_path / "reply.eml"
    saved.write_bytes(swahili_outlook_reply(subject, text))
    run_cli("replies", "explain", str(saved))
    with store.open_store(settings.state_dir) as db:
        assert approvals.get_approval(db, approval_id).status == "pending"
        assert db.audit_rows() == []
    assert saved.exists()


def test_explain_without_the_store_uses_the_language_rules(run_cli, tmp_path) -> None:
    saved = tmp_path / "reply.eml"
    saved.write_bytes(
        reply(
            "Re: x",
            "bob@example.com",
            "Reject\nnot today\n\n"
            "Den 3. mar. 2025 kl. 10.00 skrev Mailrelay <relay@example.com>:\n"
            "> Approve?\n",
        )
    )
    found = json.loads(run_cli("replies", "explain", "--no-store", str(saved), "--json").stdout)
    assert (found["decision"], found["comment"], found["fingerprint"]) == ("reject", "not today", False)
    assert found["quote_reason"] == "attribution above a > quote"


def test_explain_shows_control_characters_from_mail_as_escapes(run_cli, tmp_path) -> None:
    saved = tmp_path / "reply.eml"
    saved.write_bytes(reply("Re: x", "bob@example.com", "Approve\nred \x1b[31m text\n"))
    result = run_cli("replies", "explain", "--no-store", str(saved))
    assert "\x1b" not in result.stdout and "\\x1b[31m" in result.stdout


def test_explain_of_a_missing_file_is_a_usage_error(run_cli, tmp_path) -> None:
    result = run_cli("replies", "explain", "--no-store", str(tmp_path / "nope.eml"))
    assert result.exit_code == 65 and "nope.eml" in result.stderr


def test_explain_of_something_that_is_not_a_message_says_unreadable(run_cli, tmp_path) -> None:
    saved = tmp_path / "empty.eml"
    saved.write_bytes(b"")
    result = run_cli("replies", "explain", "--no-store", str(saved))
    assert result.exit_code == 0 and "unreadable: the message is empty" in result.stdout
