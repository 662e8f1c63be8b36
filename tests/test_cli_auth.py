"""``mailrelay auth login|status|logout`` through the command line."""

from __future__ import annotations

import io
import json
import re
import sys
import threading
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result

from mailrelay_cli.auth import credentials
from tests.fixtures.oauth_fakes import SENTINEL, FakeIdentityService
from tests.sessions import open_imap
from tests.test_oauth import CLIENT_CREDENTIALS, DEVICE, SMTP_SEND


def no_secrets(result: Result) -> None:
    assert SENTINEL not in result.stdout
    assert SENTINEL not in result.stderr


@pytest.fixture
def device(write_config: Callable[[str], Path]) -> Path:
    return write_config(DEVICE)


def test_login_shows_the_code_and_url_and_saves_the_login(
    run_cli, device, identity_service: FakeIdentityService
) -> None:
    identity_service.device_polls.extend(["success"])
    result = run_cli("auth", "login")
    assert result.exit_code == 0, result.stderr
    assert "FAKE-CODE1" in result.stdout
    assert "https://microsoft.com/devicelogin" in result.stdout
    assert "SMTP and IMAP: microsoft-oauth (device-code) ready for alice@contoso.example" in result.stdout
    assert credentials.get_internal("default", "oauth.smtp") is not None
    no_secrets(result)


def test_login_when_the_code_expires_exits_77_with_the_login_hint(
    run_cli, device, identity_service: FakeIdentityService
) -> None:
    identity_service.device_polls.extend(["expired"])
    result = run_cli("auth", "login")
    assert result.exit_code == 77
    assert "FAKE-CODE1 expired" in result.stderr
    assert "hint: mailrelay auth login" in result.stderr
    no_secrets(result)


def test_ctrl_c_during_login_exits_130_and_saves_nothing(
    run_cli, device, identity_service: FakeIdentityService
) -> None:
    identity_service.interrupt_on_poll = True
    result = run_cli("auth", "login")
    assert result.exit_code == 130
    assert "login cancelled" in result.stderr
    assert credentials.get_internal("default", "oauth.smtp") is None


def test_login_imap_when_it_shares_smtps_login_points_at_smtp(
    run_cli, device, identity_service: FakeIdentityService
) -> None:
    result = run_cli("auth", "login", "--imap")
    assert result.exit_code == 78
    assert "hint: mailrelay auth login --smtp" in result.stderr


def test_login_under_client_credentials_says_no_login_is_needed(
    run_cli, write_config, identity_service: FakeIdentityService
) -> None:
    write_config(CLIENT_CREDENTIALS)
    identity_service.client_secret = f"{SENTINEL}-SECRET"
    credentials.set_secret("default", "smtp.client_secret", f"{SENTINEL}-SECRET")
    result = run_cli("auth", "login")
    assert result.exit_code == 0, result.stderr
    assert "client-credentials needs no login" in result.stderr
    assert "ready for app 00000000-aaaa-bbbb-cccc-000000000002" in result.stdout
    no_secrets(result)


def test_login_signs_in_twice_when_imap_has_its_own_client_id(
    run_cli, write_config, identity_service: FakeIdentityService
) -> None:
    write_config(DEVICE + 'client_id = "00000000-aaaa-bbbb-cccc-00000000000f"\n')
    identity_service.device_polls.extend(["success", "success"])
    result = run_cli("auth", "login")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.count("FAKE-CODE1") == 2
    assert "SMTP: microsoft-oauth" in result.stdout and "IMAP: microsoft-oauth" in result.stdout
    assert credentials.get_internal("default", "oauth.imap") is not None


def test_status_json_pins_its_keys(run_cli, device, identity_service: FakeIdentityService) -> None:
    identity_service.device_polls.extend(["success"])
    run_cli("auth", "login")
    result = run_cli("auth", "status", "--json")
    assert result.exit_code == 0
    smtp, imap = (json.loads(line) for line in result.stdout.splitlines())
    assert list(smtp) == [
        "role",
        "provider",
        "flow",
        "account",
        "scopes",
        "access_token_expires_at",
        "refresh_token",
        "logged_in",
        "shares_smtp_login",
        "stored_in",
        "note",
        "apis",
    ]
    assert smtp["account"] == "alice@contoso.example"
    assert smtp["scopes"] == [SMTP_SEND]
    assert smtp["refresh_token"] is True and smtp["logged_in"] is True
    assert imap["shares_smtp_login"] is True
    no_secrets(result)


def test_status_says_imap_shares_smtps_login(run_cli, device, identity_service: FakeIdentityService) -> None:
    identity_service.device_polls.extend(["success"])
    run_cli("auth", "login")
    result = run_cli("auth", "status")
    assert "imap: microsoft-oauth (device-code) - shares SMTP's login" in result.stdout
    assert "refresh token: held" in result.stdout
    assert "account:       alice@contoso.example" in result.stdout
    no_secrets(result)


def test_status_before_login_tells_the_command_to_run(run_cli, device) -> None:
    result = run_cli("auth", "status")
    assert result.exit_code == 0
    assert "not logged in: mailrelay auth login" in result.stdout


NO_CLIENT_ID = DEVICE.replace('client_id = "00000000-aaaa-bbbb-cccc-000000000001"\n', "")


def test_status_without_a_client_id_says_not_configured_and_exits_0(run_cli, write_config) -> None:
    write_config(NO_CLIENT_ID)
    result = run_cli("auth", "status")
    assert result.exit_code == 0, result.stderr
    assert "smtp: microsoft-oauth (device-code) - not configured" in result.stdout
    assert "smtp.client_id is not set" in result.stdout
    assert "mailrelay config set smtp.client_id" in result.stdout


def test_status_json_without_a_client_id_is_a_row_not_logged_in_with_a_note(run_cli, write_config) -> None:
    write_config(NO_CLIENT_ID)
    result = run_cli("auth", "status", "--json")
    assert result.exit_code == 0, result.stderr
    smtp, imap = (json.loads(line) for line in result.stdout.splitlines())
    assert (smtp["logged_in"], imap["logged_in"]) == (False, False)
    assert smtp["note"].startswith("smtp.client_id is not set")
    assert "mailrelay config set smtp.client_id" in smtp["note"]


def test_logout_removes_the_login_and_status_shows_it_gone(
    run_cli, device, identity_service: FakeIdentityService
) -> None:
    identity_service.device_polls.extend(["success"])
    run_cli("auth", "login")
    result = run_cli("auth", "logout")
    assert result.exit_code == 0
    assert "smtp: removed the token cache (keyring mailrelay default:oauth.smtp)" in result.stdout
    assert "not logged in" in run_cli("auth", "status").stdout


def test_client_credentials_without_a_tenant_name_the_key_to_set(run_cli, write_config) -> None:
    write_config(CLIENT_CREDENTIALS.replace('tenant_id = "contoso.example"', ""))
    result = run_cli("auth", "login")
    assert result.exit_code == 78
    assert "hint: mailrelay config set smtp.tenant_id" in result.stderr


def test_auth_on_a_basic_auth_configuration_is_a_config_error(run_cli, write_config) -> None:
    write_config('[smtp]\nhost = "smtp.example.com"\n')
    result = run_cli("auth", "login")
    assert result.exit_code == 78
    assert "hint: mailrelay config set smtp.auth microsoft-oauth" in result.stderr


def watch_terminal_and_consent(endpoint) -> threading.Thread:
    """The person at the terminal: reads the printed URL, consents in a browser."""
    stdout = sys.stdout  # CliRunner's capture, swapped in before the command runs

    def run() -> None:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            buffer = getattr(sys.stdout, "buffer", None)
            if sys.stdout is not stdout and isinstance(buffer, io.BytesIO):
                found = re.search(
                    r"https://accounts\.google\.com/\S+", buffer.getvalue().decode("utf-8", "replace")
                )
                if found:
                    urllib.request.urlopen(endpoint.consent(found.group(0)))
                    return
            time.sleep(0.02)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def test_google_login_prints_the_url_and_the_ssh_forwarding_line(
    run_cli, write_config, google_token_endpoint
) -> None:
    from tests.test_google_oauth import GOOGLE

    write_config(GOOGLE)
    credentials.set_secret("default", "smtp.client_secret", google_token_endpoint.client_secret)
    watch_terminal_and_consent(google_token_endpoint)
    result = run_cli("auth", "login")
    assert result.exit_code == 0, result.stderr
    port = re.search(r"http://127\.0\.0\.1:(\d+)/", result.stdout).group(1)
    assert f"ssh -L {port}:127.0.0.1:{port} " in result.stdout
    assert "SMTP and IMAP: google-oauth (authorization-code) ready for bob@gmail.example" in result.stdout
    no_secrets(result)


# --- end to end: the tokens a login leaves behind work against real servers, with no person


def oauth_config(smtp_server, dovecot=None, user=None, **smtp_extra: str) -> str:
    text = smtp_server.toml(
        auth="microsoft-oauth", client_id="00000000-aaaa-bbbb-cccc-000000000001", **smtp_extra
    )
    if dovecot is not None:
        text += dovecot.imap_toml(user, auth="microsoft-oauth")
    return text


def accept_tokens_everywhere(identity_service, smtp_server, dovecot=None, user=None) -> None:
    """The fake issues tokens the servers accept: Dovecot's JWT, registered with aiosmtpd."""

    def mint(scopes: str, _account: str) -> str:
        token = dovecot.mint_token(user) if dovecot is not None else f"{SENTINEL}-AT-{time.time_ns()}"
        smtp_server.add_token(smtp_server.user, token)
        return token

    identity_service.mint_access_token = mint


def send(run_cli) -> Result:
    return run_cli(
        "send", "--event", "request-completed", "--to", "ops@example.com", "--var", "instance_name=Release 42"
    )


def test_after_a_device_login_send_authenticates_with_xoauth2_without_a_person(
    run_cli, write_config, identity_service, smtp_xoauth2
) -> None:
    write_config(oauth_config(smtp_xoauth2))
    accept_tokens_everywhere(identity_service, smtp_xoauth2)
    identity_service.device_polls.extend(["success"])
    assert run_cli("auth", "login").exit_code == 0
    result = send(run_cli)
    assert result.exit_code == 0, result.stderr
    assert len(smtp_xoauth2.messages) == 1
    assert smtp_xoauth2.auth_commands and all(
        command.startswith("XOAUTH2") for command in smtp_xoauth2.auth_commands
    )
    no_secrets(result)


def test_after_a_device_login_imap_logs_in_to_dovecot_with_the_shared_token(
    run_cli, write_config, identity_service, smtp_xoauth2, dovecot, mail_user
) -> None:
    from mailrelay_cli.config.load import load_settings
    from mailrelay_cli.transport import imap

    path = write_config(oauth_config(smtp_xoauth2, dovecot, mail_user))
    accept_tokens_everywhere(identity_service, smtp_xoauth2, dovecot, mail_user)
    identity_service.device_polls.extend(["success"])
    assert run_cli("auth", "login").exit_code == 0
    with open_imap(load_settings(path)) as conn:
        assert "INBOX" in imap.list_folders(conn)
    assert f"Login: user=<{mail_user.name}>, method=XOAUTH2" in dovecot.log()


def test_process_replies_runs_from_cron_on_the_login_alone(
    run_cli, write_config, identity_service, smtp_xoauth2, dovecot, mail_user, signing_key
) -> None:
    write_config(oauth_config(smtp_xoauth2, dovecot, mail_user) + "[approval]\nenabled = true\n")
    accept_tokens_everywhere(identity_service, smtp_xoauth2, dovecot, mail_user)
    identity_service.device_polls.extend(["success"])
    assert run_cli("auth", "login").exit_code == 0
    dovecot.append(mail_user, b"From: a@example.com\r\nSubject: hello\r\n\r\nnot a reply\r\n")
    result = run_cli("process-replies", "--json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout.splitlines()[-1])["summary"]["read"] == 1
    no_secrets(result)


def test_a_revoked_refresh_token_under_cron_exits_77_with_the_login_hint(
    run_cli, write_config, identity_service, smtp_xoauth2
) -> None:
    write_config(oauth_config(smtp_xoauth2))
    accept_tokens_everywhere(identity_service, smtp_xoauth2)
    identity_service.expires_in = 0  # the access token is stale at once: the refresh decides
    identity_service.device_polls.extend(["success"])
    assert run_cli("auth", "login").exit_code == 0
    identity_service.revoke_all()
    result = send(run_cli)
    assert result.exit_code == 77
    assert "invalid_grant" in result.stderr
    assert "hint: mailrelay auth login" in result.stderr
    assert smtp_xoauth2.messages == []
    no_secrets(result)


def test_client_credentials_send_without_any_login(
    run_cli, write_config, identity_service, smtp_xoauth2
) -> None:
    write_config(oauth_config(smtp_xoauth2, oauth_flow="client-credentials", tenant_id="contoso.example"))
    accept_tokens_everywhere(identity_service, smtp_xoauth2)
    identity_service.client_secret = f"{SENTINEL}-APP-SECRET"
    credentials.set_secret("default", "smtp.client_secret", f"{SENTINEL}-APP-SECRET")
    result = send(run_cli)
    assert result.exit_code == 0, result.stderr
    assert len(smtp_xoauth2.messages) == 1
    assert identity_service.posts("client_credentials")
    no_secrets(result)
