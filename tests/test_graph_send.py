"""Sending through Microsoft Graph (``smtp.transport = "graph"``) against the local Graph stand-in."""

from __future__ import annotations

import email
import email.policy
import json
from pathlib import Path

from tests.fixtures.graph_server import USER, FakeGraph, graph_toml
from tests.fixtures.oauth_fakes import SENTINEL, FakeIdentityService


def send(run_cli, *extra: str):
    return run_cli(
        "send",
        "--event",
        "request-completed",
        "--to",
        "ops@example.com",
        "--var",
        "instance_name=Release 42",
        "--json",
        *extra,
    )


def test_send_posts_the_mime_message_to_sendmail_and_reports_the_recipients(run_cli, app_only) -> None:
    result = send(run_cli)
    assert result.exit_code == 0, result.stderr
    line = json.loads(result.stdout)
    assert line["recipients"] == ["ops@example.com"] and line["refused"] == []
    ((user, raw),) = app_only.sent
    assert user == USER
    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert message["Message-ID"].strip() == line["message_id"]
    assert message["To"] == "ops@example.com"
    assert "Release 42" in message["Subject"]
    assert ("POST", f"/v1.0/users/{USER}/sendMail") in app_only.requests


def test_send_asks_for_the_graph_default_scope_under_client_credentials(
    run_cli, app_only, identity_service: FakeIdentityService
) -> None:
    assert send(run_cli).exit_code == 0
    scopes = [data.get("scope") for data in identity_service.posts("client_credentials")]
    assert scopes == ["https://graph.microsoft.com/.default"]


def test_send_keeps_the_attachment_of_a_message_over_4_mb_through_a_draft_and_upload_session(
    run_cli, app_only, write_config, server_certs, tmp_path: Path
) -> None:
    import os

    write_config(graph_toml(app_only, server_certs.ca, extra='[notifications]\nattach_logs = "always"\n'))
    log = tmp_path / "deploy.log"
    content = os.urandom(5 * 1024 * 1024)  # random: the zip cannot shrink it below 4 MB
    log.write_bytes(content)
    result = run_cli(
        "send",
        "--event",
        "request-failed",
        "--to",
        "ops@example.com",
        "--var",
        "instance_name=Release 42",
        "--log",
        str(log),
        "--json",
    )
    assert result.exit_code == 0, result.stderr
    assert app_only.sent == []  # too large for sendMail
    (draft,) = app_only.sent_drafts
    (attachment,) = draft.attachments
    assert attachment["data"] == content
    message = email.message_from_bytes(draft.mime, policy=email.policy.default)
    assert message["Message-ID"].strip() == json.loads(result.stdout)["message_id"]
    assert app_only.uploads and not app_only.drafts


def test_send_waits_out_throttling_within_retry_for(run_cli, app_only) -> None:
    app_only.throttle_requests = 2
    app_only.retry_after = "0"
    result = send(run_cli)
    assert result.exit_code == 0, result.stderr
    assert len(app_only.sent) == 1


def test_send_exits_75_when_throttling_outlasts_retry_for(run_cli, app_only) -> None:
    app_only.throttle_requests = 100
    app_only.retry_after = "60"
    result = send(run_cli)
    assert result.exit_code == 75
    assert "429" in result.stderr and "TooManyRequests" in result.stderr
    assert app_only.sent == []


def test_send_refused_for_lack_of_permission_exits_77_naming_mail_send(
    run_cli, app_only, identity_service: FakeIdentityService
) -> None:
    def mint(scopes: str, user: str) -> str:
        app_only.grant(f"{SENTINEL}-NOPE", "https://graph.microsoft.com/User.Read")
        return f"{SENTINEL}-NOPE"

    identity_service.mint_access_token = mint
    result = send(run_cli)
    assert result.exit_code == 77
    assert "Mail.Send" in result.stderr and "admin consent" in result.stderr
    assert SENTINEL not in result.stderr


def test_send_gets_a_new_token_when_graph_says_the_cached_one_expired(
    run_cli, app_only, identity_service: FakeIdentityService
) -> None:
    assert send(run_cli).exit_code == 0
    app_only.expired |= set(app_only.tokens)
    result = send(run_cli)
    assert result.exit_code == 0, result.stderr
    assert len(app_only.sent) == 2
    assert len(identity_service.posts("client_credentials")) == 2


def test_send_exits_78_when_graph_transport_has_no_microsoft_oauth(
    run_cli, write_config, graph_server: FakeGraph, server_certs
) -> None:
    write_config(
        graph_toml(graph_server, server_certs.ca).replace('auth = "microsoft-oauth"', 'auth = "basic"')
    )
    result = send(run_cli)
    assert result.exit_code == 78
    assert "microsoft-oauth" in result.stderr and graph_server.requests == []


def test_send_as_a_mailbox_graph_does_not_know_exits_78_naming_smtp_user(run_cli, app_only) -> None:
    app_only.folders.pop(USER)
    result = send(run_cli)
    assert result.exit_code == 78
    assert "ErrorInvalidUser" in result.stderr and "smtp.user" in result.stderr


def test_a_message_over_4_mb_to_a_non_ascii_address_keeps_the_address_in_utf_8(
    run_cli, app_only, write_config, server_certs, tmp_path: Path
) -> None:
    import os

    write_config(graph_toml(app_only, server_certs.ca, extra='[notifications]\nattach_logs = "always"\n'))
    log = tmp_path / "deploy.log"
    log.write_bytes(os.urandom(5 * 1024 * 1024))
    result = run_cli(
        "send",
        "--event",
        "request-failed",
        "--to",
        "jörg@bücher.example",
        "--var",
        "instance_name=Release 42",
        "--log",
        str(log),
    )
    assert result.exit_code == 0, result.stderr
    (draft,) = app_only.sent_drafts
    assert b"To: j\xc3\xb6rg@b\xc3\xbccher.example" in draft.mime  # as SMTPUTF8 sends it
    assert b"=?utf-8?" not in draft.mime.split(b"\r\n\r\n")[0].lower()
    message = email.message_from_string(draft.mime.decode("utf-8"), policy=email.policy.default)
    assert message["To"].addresses[0].addr_spec == "jörg@bücher.example"
