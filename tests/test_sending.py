"""The send use case and its seam for events that do extra work (``prepare`` hooks)."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest

from mailrelay_cli.config.load import settings_from_table
from mailrelay_cli.config.records import Settings
from mailrelay_cli.errors import DataError
from mailrelay_cli.outbound.events import Draft, Preparation
from mailrelay_cli.outbound.sending import SendRequest, send
from tests.fixtures.smtp_servers import SmtpServer


def settings_for(server: SmtpServer) -> Settings:
    return settings_from_table(tomllib.loads(server.toml(auth="none")), Path("settings.toml"))


class Hook:
    """A prepare hook like the approvals one: adds variables, headers and a Reply-To."""

    def __init__(self) -> None:
        self.drafts: list[Draft] = []
        self.sent: list[Any] = []
        self.failed: list[Exception] = []

    def __call__(self, draft: Draft) -> Preparation:
        self.drafts.append(draft)
        return Preparation(
            variables={"project": "approved-" + draft.message_id[1:6]},
            headers={"X-Mailrelay-Approval": "A-42"},
            reply_to="Approvals <approvals@example.com>",
            approval_id="A-42",
            on_sent=self.sent.append,
            on_failed=self.failed.append,
        )


def test_a_hook_adds_headers_reply_to_variables_and_the_approval_id(smtp_plain: SmtpServer) -> None:
    hook = Hook()
    result = send(settings_for(smtp_plain), SendRequest("test", to=("ops@example.com",)),
                  prepare=hook)
    message = smtp_plain.messages[0].message()
    assert message["X-Mailrelay-Approval"] == "A-42"
    assert message["Reply-To"] == "Approvals <approvals@example.com>"
    assert message["Message-ID"] == hook.drafts[0].message_id == result.message_id
    assert "approved-" in message.get_body(("plain",)).get_content()
    assert result.approval_id == "A-42"
    assert [d.accepted for d in hook.sent] == [("ops@example.com",)]


def test_a_hook_sees_the_recipients_options_and_dry_run(smtp_plain: SmtpServer) -> None:
    hook = Hook()
    send(settings_for(smtp_plain),
         SendRequest("test", to=("ops@example.com",), dry_run=True, options={"notify": ()}),
         prepare=hook)
    [draft] = hook.drafts
    assert draft.dry_run and [a.bare for a in draft.to] == ["ops@example.com"]
    assert draft.event.name == "test"
    assert hook.sent == [] and smtp_plain.messages == []


def test_a_failure_after_the_hook_ran_is_reported_to_it(smtp_plain: SmtpServer) -> None:
    hook = Hook()
    with pytest.raises(DataError):
        send(settings_for(smtp_plain),
             SendRequest("test", to=("ops@example.com",), subject="a\r\nBcc: x@example.com"),
             prepare=hook)
    assert [type(e) for e in hook.failed] == [DataError]


def test_missing_required_variables_fail_before_the_hook_runs(smtp_plain: SmtpServer) -> None:
    hook = Hook()
    with pytest.raises(DataError, match="instance_name"):
        send(settings_for(smtp_plain), SendRequest("request-failed", to=("ops@example.com",)),
             prepare=hook)
    assert hook.drafts == []


def test_a_dry_run_returns_the_mime_text_and_no_attempts(smtp_plain: SmtpServer) -> None:
    result = send(settings_for(smtp_plain),
                  SendRequest("test", to=("ops@example.com",), dry_run=True))
    assert result.dry_run and result.attempts == 0
    assert result.mime is not None and f"Message-ID: {result.message_id}" in result.mime
