"""The whole loop with Microsoft Graph only (no SMTP, no IMAP): test, ask, reply, process, wait."""

from __future__ import annotations

import json
import re

from tests.fixtures.graph_server import USER, FakeGraph
from tests.fixtures.oauth_fakes import SENTINEL
from tests.reply_builders import reply


def steps(result) -> dict[str, dict]:
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    return {line["name"]: line for line in lines if "name" in line}


def test_mailrelay_test_checks_token_send_mailbox_folder_and_delete(run_cli, app_only: FakeGraph) -> None:
    app_only.folder(USER, "Approvals")
    app_only.deliver(USER, reply("keep me", "someone@example.com", "hello"), "Approvals")
    result = run_cli("test", "--to", "ops@example.com", "--json")
    assert result.exit_code == 0, result.stdout + result.stderr
    found = steps(result)
    for name in (
        "Graph token",
        "Graph send",
        "Graph mailbox token",
        "Graph mailbox mailbox",
        "Graph mailbox folder",
        "Graph mailbox delete",
    ):
        assert found[name]["ok"] is True, (name, found)
    assert "1 message" in found["Graph mailbox folder"]["detail"]
    assert len(app_only.sent) == 1
    assert app_only.count(USER, "Approvals") == 1  # the user's mail is never touched
    assert app_only.drafts == {}  # the draft made to prove deleting is gone again
    assert SENTINEL not in result.stdout


def test_mailrelay_test_names_the_permission_when_sending_is_denied(
    run_cli, app_only: FakeGraph, identity_service
) -> None:
    def mint(scopes: str, user: str) -> str:
        app_only.grant(f"{SENTINEL}-READ", "https://graph.microsoft.com/Mail.ReadWrite")
        return f"{SENTINEL}-READ"

    identity_service.mint_access_token = mint
    app_only.folder(USER, "Approvals")
    result = run_cli("test", "--to", "ops@example.com", "--json")
    assert result.exit_code == 77
    send = steps(result)["Graph send"]
    assert send["ok"] is False
    assert "Mail.Send" in send["detail"] and "admin consent" in send["hint"]
    assert steps(result)["Graph mailbox delete"]["ok"] is True


def test_mailrelay_test_reports_a_missing_folder_with_its_key(run_cli, app_only: FakeGraph) -> None:
    result = run_cli("test", "--imap-only", "--json")
    assert result.exit_code == 78
    folder = steps(result)["Graph mailbox folder"]
    assert folder["ok"] is False and "approval.folder" in folder["detail"]


def test_the_whole_loop_runs_on_graph_alone(run_cli, app_only: FakeGraph) -> None:
    asked = run_cli(
        "send",
        "--event",
        "approval-requested",
        "--to",
        "alice@example.com",
        "--var",
        "title=Deploy 2.0",
        "--json",
    )
    assert asked.exit_code == 0, asked.stderr
    approval_id = json.loads(asked.stdout)["approval_id"]
    ((_, request_raw),) = app_only.sent
    reference = re.search(rb"MR-[A-Z0-9]+-[0-9a-f]+", request_raw).group().decode()
    app_only.deliver(
        USER,
        reply(f"[{reference}] Approval requested: Deploy 2.0", "alice@example.com", "APPROVE\nlooks good"),
        "Approvals",
    )
    processed = run_cli("process-replies", "--json")
    assert processed.exit_code == 0, processed.stderr
    first, summary = (json.loads(line) for line in processed.stdout.splitlines())
    assert first["outcome"] == "approved" and first["approval_id"] == approval_id
    assert summary == {"summary": {"read": 1, "deleted": 1, "left": 0}}
    waited = run_cli("approvals", "wait", approval_id, "--timeout", "1s")
    assert waited.exit_code == 0
    assert app_only.count(USER, "Approvals") == 0


def test_mailrelay_test_transcript_shows_the_graph_requests_without_any_token(
    run_cli, app_only: FakeGraph
) -> None:
    app_only.folder(USER, "Approvals")
    result = run_cli("test", "--to", "ops@example.com", "--transcript")
    assert result.exit_code == 0, result.stdout + result.stderr
    assert f"C: POST /v1.0/users/{USER}/sendMail" in result.stdout
    assert "C: Authorization: Bearer <redacted>" in result.stdout
    assert "S: 202" in result.stdout
    assert SENTINEL not in result.stdout + result.stderr
