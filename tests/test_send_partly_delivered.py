"""A send that gave up after the message reached someone keeps its approval (SMTP and Graph).

The recipients who got an approval request may answer it; forgetting the approval
would leave their decision unmatched. Only a failure before anyone got the message
forgets it.
"""

from __future__ import annotations

import json
import mailbox
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from mailrelay_cli import store
from mailrelay_cli.approvals import service as approvals
from mailrelay_cli.config.load import load_settings
from tests.fixtures.graph_server import USER, FakeGraph
from tests.fixtures.smtp_servers import RecordingHandler, SmtpServer
from tests.reply_builders import reply


class DeferLaterHandler(RecordingHandler):
    """Accepts every recipient but those whose local part starts with ``later`` (450, always)."""

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        if address.startswith("later"):
            return "450 4.2.1 Mailbox busy"
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"


def ask(run_cli, *to: str):  # type: ignore[no-untyped-def]
    args = [arg for address in to for arg in ("--to", address)]
    return run_cli("send", "--event", "approval-requested", *args, "--var", "title=Deploy 1.4")


def pending(config_file: Path) -> list[approvals.Approval]:
    settings = load_settings(config_file)
    with store.open_store(settings.state_dir) as db:
        return [a for a in approvals.list_approvals(db) if a.status == "pending"]


def test_an_approval_request_that_reached_one_approver_stays_pending_and_their_reply_decides_it(
    run_cli, write_config: Callable[[str], Path], smtp_server_factory, tmp_path: Path, config_file: Path
) -> None:
    server: SmtpServer = smtp_server_factory(handler=DeferLaterHandler(), security="plain", auth=False)
    maildir = mailbox.Maildir(str(tmp_path / "Maildir"), create=True)
    write_config(
        server.toml(auth="none", retry_for="1s")
        + f'[approval]\nenabled = true\nmailbox = "maildir:{maildir._path}"\n'
        + f'[state]\npath = "{tmp_path / "state"}"\n'
    )
    result = ask(run_cli, "ops@example.com", "later@example.com")
    assert result.exit_code == 75, result.stderr
    assert "delivered to ops@example.com" in result.stderr
    [received] = server.messages
    assert received.rcpt_tos == ("ops@example.com",)
    [approval] = pending(config_file)
    request = received.message()
    body = request.get_body(("plain",)).get_content()
    assert re.search(r"Reference: \S+", body)
    maildir.add(reply(str(request["Subject"]), "ops@example.com", "APPROVE", quoted=body))
    decided = run_cli("process-replies", "--json")
    assert decided.exit_code == 0, decided.stderr
    [line, _summary] = [json.loads(text) for text in decided.stdout.splitlines()]
    assert line["outcome"] == "approved" and line["approval_id"] == approval.id
    assert pending(config_file) == []


def test_an_approval_request_nobody_got_is_forgotten(
    run_cli, write_config: Callable[[str], Path], smtp_server_factory, tmp_path: Path, config_file: Path
) -> None:
    server: SmtpServer = smtp_server_factory(handler=DeferLaterHandler(), security="plain", auth=False)
    write_config(
        server.toml(auth="none", retry_for="1s")
        + f'[approval]\nenabled = true\n[state]\npath = "{tmp_path / "state"}"\n'
    )
    result = ask(run_cli, "later@example.com")
    assert result.exit_code == 75, result.stderr
    assert server.messages == [] and pending(config_file) == []


def answering(
    graph: FakeGraph, status: int, *, times: int = 1, headers: dict[str, str] | None = None
) -> None:
    """The stand-in answers the next ``times`` sendMail POSTs with ``status`` (sending nothing)."""
    real = graph.answer
    left = [times]

    def answer(
        method: str, target: str, request_headers: dict[str, str], body: bytes, in_batch: bool = False
    ):  # type: ignore[no-untyped-def]
        if method == "POST" and target.endswith("/sendMail") and left[0] > 0:
            left[0] -= 1
            error = {"error": {"code": "GatewayTimeout" if status == 504 else "Busy", "message": "later"}}
            return status, {"Content-Type": "application/json", **(headers or {})}, json.dumps(error).encode()
        return real(method, target, request_headers, body, in_batch)

    graph.answer = answer  # type: ignore[method-assign]


def sendmail_posts(graph: FakeGraph) -> int:
    return graph.requests.count(("POST", f"/v1.0/users/{USER}/sendMail"))


def test_a_graph_504_on_sendmail_is_not_repeated_and_keeps_the_approval(
    run_cli, app_only: FakeGraph, config_file: Path
) -> None:
    answering(app_only, 504)
    result = ask(run_cli, "ops@example.com")
    assert result.exit_code == 75, result.stderr
    assert "may have been sent to ops@example.com" in result.stderr
    assert sendmail_posts(app_only) == 1  # a 504 may mean it was sent: never POSTed twice
    assert len(pending(config_file)) == 1


def test_a_graph_503_without_retry_after_is_a_clean_refusal_that_forgets_the_approval(
    run_cli, app_only: FakeGraph, config_file: Path
) -> None:
    answering(app_only, 503)
    result = ask(run_cli, "ops@example.com")
    assert result.exit_code == 75, result.stderr
    assert sendmail_posts(app_only) == 1 and app_only.sent == []
    assert pending(config_file) == []


def test_a_graph_503_with_retry_after_is_throttling_and_sendmail_is_tried_again(
    run_cli, app_only: FakeGraph, config_file: Path
) -> None:
    answering(app_only, 503, headers={"Retry-After": "0"})
    result = ask(run_cli, "ops@example.com")
    assert result.exit_code == 0, result.stderr
    assert sendmail_posts(app_only) == 2 and len(app_only.sent) == 1
    assert len(pending(config_file)) == 1


def test_mailrelay_test_through_graph_sends_a_non_ascii_address_in_utf_8(
    run_cli, app_only: FakeGraph
) -> None:
    result = run_cli("test", "--smtp-only", "--to", "jörg@bücher.example")
    assert result.exit_code == 0, result.stdout + result.stderr
    [(_user, raw)] = app_only.sent
    assert b"To: j\xc3\xb6rg@b\xc3\xbccher.example\r\n" in raw
