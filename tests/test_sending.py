"""The send use case, and the approval an approval-requested message records on the way."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from mailrelay_cli.approvals import service as approvals
from mailrelay_cli.approvals.options import ApprovalOptions
from mailrelay_cli.config.load import settings_from_table
from mailrelay_cli.config.records import Settings
from mailrelay_cli.errors import DataError
from mailrelay_cli.outbound.sending import SendRequest, send
from mailrelay_cli.store import open_store
from tests.fixtures.approval_settings import approval_settings as shared_approval_settings
from tests.fixtures.smtp_servers import SmtpServer


def settings_for(server: SmtpServer) -> Settings:
    return settings_from_table(tomllib.loads(server.toml(auth="none")), Path("settings.toml"))


def approval_settings(server: SmtpServer, tmp_path: Path) -> Settings:
    return shared_approval_settings(
        tmp_path, server.toml(auth="none"), reply_address="Approvals <approvals@example.com>"
    )


def recorded(settings: Settings) -> list[approvals.Approval]:
    with open_store(settings.state_dir) as db:
        return approvals.list_approvals(db)


def asking(**kwargs: object) -> SendRequest:
    kwargs.setdefault("to", ("ops@example.com",))
    return SendRequest("approval-requested", variables={"title": "Deploy 1.4"}, **kwargs)  # type: ignore[arg-type]


def test_an_approval_request_carries_its_header_reply_to_variables_and_id(
    smtp_plain: SmtpServer, tmp_path: Path
) -> None:
    settings = approval_settings(smtp_plain, tmp_path)
    result = send(settings, asking())
    message = smtp_plain.messages[0].message()
    [approval] = recorded(settings)
    assert result.approval_id == approval.id
    assert message["X-Mailrelay-Approval"] == approval.id
    assert message["Reply-To"] == "Approvals <approvals@example.com>"
    assert message["Message-ID"] == approval.message_id == result.message_id
    assert approval.reference in message.get_body(("plain",)).get_content()
    assert approval.status == "pending" and approval.approvers == ("ops@example.com",)


def test_approval_options_reach_the_approval_and_a_dry_run_records_nothing(
    smtp_plain: SmtpServer, tmp_path: Path
) -> None:
    settings = approval_settings(smtp_plain, tmp_path)
    result = send(
        settings,
        asking(to=("ops@example.com", "dev@example.com"), dry_run=True, approval=ApprovalOptions(required=2)),
    )
    assert result.dry_run and result.approval_id is None and result.mime is not None
    assert "ops@example.com, dev@example.com (2 must approve)" in result.mime
    assert recorded(settings) == [] and smtp_plain.messages == []


def test_a_failure_after_the_approval_was_recorded_forgets_it(smtp_plain: SmtpServer, tmp_path: Path) -> None:
    settings = approval_settings(smtp_plain, tmp_path)
    with pytest.raises(DataError):
        send(settings, asking(subject="a\r\nBcc: x@example.com"))
    assert recorded(settings) == [] and smtp_plain.messages == []


def test_missing_required_variables_fail_before_an_approval_is_recorded(
    smtp_plain: SmtpServer, tmp_path: Path
) -> None:
    settings = approval_settings(smtp_plain, tmp_path)
    with pytest.raises(DataError, match="title"):
        send(settings, SendRequest("approval-requested", to=("ops@example.com",)))
    assert recorded(settings) == []


def test_a_dry_run_returns_the_mime_text_and_no_attempts(smtp_plain: SmtpServer) -> None:
    result = send(settings_for(smtp_plain), SendRequest("test", to=("ops@example.com",), dry_run=True))
    assert result.dry_run and result.attempts == 0
    assert result.mime is not None and f"Message-ID: {result.message_id}" in result.mime
