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

from mailrelay_cli import credentials
from tests.fixtures.oauth_fakes import SENTINEL, FakeIdentityService
from tests.test_oauth import CLIENT_CREDENTIALS, DEVICE, SMTP_SEND


def no_secrets(result: Result) -> None:
    assert SENTINEL not in result.stdout
    assert SENTINEL not in result.stderr


@pytest.fixture
def device(write_config: Callable[[str], Path]) -> Path:
    return write_config(DEVICE)


def test_login_shows_the_code_and_url_and_saves_the_login(
        run_cli, device, identity_service: FakeIdentityService) -> None:
    identity_service.device_polls.extend(["success"])
    result = run_cli("auth", "login")
    assert result.exit_code == 0, result.stderr
    assert "FAKE-CODE1" in result.stdout
    assert "https://microsoft.com/devicelogin" in result.stdout
    assert "SMTP and IMAP: microsoft-oauth (device-code) ready for alice@contoso.example" \
        in result.stdout
    assert credentials.get_internal("default", "oauth.smtp") is not None
    no_secrets(result)


def test_login_when_the_code_expires_exits_77_with_the_login_hint(
        run_cli, device, identity_service: FakeIdentityService) -> None:
    identity_service.device_polls.extend(["expired"])
    result = run_cli("auth", "login")
    assert result.exit_code == 77
    assert "FAKE-CODE1 expired" in result.stderr
    assert "hint: mailrelay auth login" in result.stderr
    no_secrets(result)


def test_ctrl_c_during_login_exits_130_and_saves_nothing(
        run_cli, device, identity_service: FakeIdentityService) -> None:
    identity_service.interrupt_on_poll = True
    result = run_cli("auth", "login")
    assert result.exit_code == 130
    assert "login cancelled" in result.stderr
    assert credentials.get_internal("default", "oauth.smtp") is None


def test_login_imap_when_it_shares_smtps_login_points_at_smtp(
        run_cli, device, identity_service: FakeIdentityService) -> None:
    result = run_cli("auth", "login", "--imap")
    assert result.exit_code == 78
    assert "hint: mailrelay auth login --smtp" in result.stderr


def test_login_under_client_credentials_says_no_login_is_needed(
        run_cli, write_config, identity_service: FakeIdentityService) -> None:
    write_config(CLIENT_CREDENTIALS)
    identity_service.client_secret = f"{SENTINEL}-SECRET"
    credentials.set_secret("default", "smtp.client_secret", f"{SENTINEL}-SECRET")
    result = run_cli("auth", "login")
    assert result.exit_code == 0, result.stderr
    assert "client-credentials needs no login" in result.stderr
    assert "ready for app 00000000-aaaa-bbbb-cccc-000000000002" in result.stdout
    no_secrets(result)


def test_status_json_pins_its_keys(
        run_cli, device, identity_service: FakeIdentityService) -> None:
    identity_service.device_polls.extend(["success"])
    run_cli("auth", "login")
    result = run_cli("auth", "status", "--json")
    assert result.exit_code == 0
    smtp, imap = (json.loads(line) for line in result.stdout.splitlines())
    assert list(smtp) == ["role", "provider", "flow", "account", "scopes",
                          "access_token_expires_at", "refresh_token", "logged_in",
                          "shares_smtp_login", "stored_in"]
    assert smtp["account"] == "alice@contoso.example"
    assert smtp["scopes"] == [SMTP_SEND]
    assert smtp["refresh_token"] is True and smtp["logged_in"] is True
    assert imap["shares_smtp_login"] is True
    no_secrets(result)


def test_status_says_imap_shares_smtps_login(
        run_cli, device, identity_service: FakeIdentityService) -> None:
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


def test_logout_removes_the_login_and_status_shows_it_gone(
        run_cli, device, identity_service: FakeIdentityService) -> None:
    identity_service.device_polls.extend(["success"])
    run_cli("auth", "login")
    result = run_cli("auth", "logout")
    assert result.exit_code == 0
    assert "smtp: removed the token cache (keyring mailrelay default:oauth.smtp)" in result.stdout
    assert "not logged in" in run_cli("auth", "status").stdout


def test_auth_on_a_basic_auth_configuration_is_a_config_error(
        run_cli, write_config) -> None:
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
                found = re.search(r"https://accounts\.google\.com/\S+",
                                  buffer.getvalue().decode("utf-8", "replace"))
                if found:
                    urllib.request.urlopen(endpoint.consent(found.group(0)))
                    return
            time.sleep(0.02)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def test_google_login_prints_the_url_and_the_ssh_forwarding_line(
        run_cli, write_config, google_token_endpoint) -> None:
    from tests.test_google_oauth import GOOGLE

    write_config(GOOGLE)
    credentials.set_secret("default", "smtp.client_secret", google_token_endpoint.client_secret)
    watch_terminal_and_consent(google_token_endpoint)
    result = run_cli("auth", "login")
    assert result.exit_code == 0, result.stderr
    port = re.search(r"http://127\.0\.0\.1:(\d+)/", result.stdout).group(1)
    assert f"ssh -L {port}:127.0.0.1:{port} " in result.stdout
    assert "SMTP and IMAP: google-oauth (authorization-code) ready for bob@gmail.example" \
        in result.stdout
    no_secrets(result)
