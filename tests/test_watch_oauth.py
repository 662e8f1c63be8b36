"""``process-replies --watch`` with XOAUTH2 on Dovecot: an expired token is refreshed silently
when the watcher reconnects (the fake identity service issues JWTs Dovecot accepts)."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from mailrelay_cli import store
from mailrelay_cli.approvals import service as approvals
from mailrelay_cli.config.load import load_settings
from tests.fixtures.watcher import wait_until
from tests.reply_builders import reply, request_text
from tests.test_cli_auth import accept_tokens_everywhere, oauth_config


@pytest.fixture(autouse=True)
def _signing_key(signing_key: bytes) -> None:
    """The watcher judges replies, which needs the key (a keyless run exits 78, fail closed)."""


def test_an_expired_oauth_token_is_refreshed_silently_on_reconnect(
    run_cli,
    write_config: Callable[[str], Path],
    tmp_path: Path,
    identity_service,
    smtp_xoauth2,
    dovecot,
    mail_user,
    start_watcher,
) -> None:
    path = write_config(
        oauth_config(smtp_xoauth2, dovecot, mail_user)
        + '[approval]\nenabled = true\nreply_address = "approvals@example.com"\n'
        + f'[state]\npath = "{tmp_path / "state"}"\n'
    )
    accept_tokens_everywhere(identity_service, smtp_xoauth2, dovecot, mail_user)
    identity_service.expires_in = 1  # every access token is stale by the next login
    identity_service.device_polls.extend(["success"])
    assert run_cli("auth", "login").exit_code == 0
    settings = load_settings(path)
    with store.open_store(settings.state_dir) as db:
        request = approvals.create_approval(settings, db, title="Deploy 1.4", approvers=["alice@example.com"])

    watcher = start_watcher(settings)
    watcher.wait_for_event("waiting")
    refreshes = len(identity_service.posts("refresh_token"))
    kicked = subprocess.run(
        ["doveadm", "-c", str(dovecot.config), "kick", mail_user.name],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert kicked.returncode == 0, kicked.stderr
    watcher.wait_for_event("connected", times=2)
    dovecot.append(
        mail_user,
        reply(request.subject, "alice@example.com", "Approve", quoted=request_text(request.reference)),
    )

    def decided() -> bool:
        with store.open_store(settings.state_dir) as db:
            return approvals.get_approval(db, request.approval.id).status == "approved"

    wait_until(decided, what="the approval after the reconnect")
    assert len(identity_service.posts("refresh_token")) > refreshes
    assert identity_service.device_polls == type(identity_service.device_polls)()  # no person
    assert watcher.error is None
