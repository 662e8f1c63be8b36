"""google-oauth: authorization code + PKCE on a loopback redirect, and silent refresh."""

from __future__ import annotations

import threading
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from pathlib import Path

import pytest
from freezegun import freeze_time

from mailrelay_cli.auth import credentials, oauth
from mailrelay_cli.auth import google as google_oauth
from mailrelay_cli.auth.login_result import LoginResult
from mailrelay_cli.config.load import load_settings
from mailrelay_cli.config.records import Settings
from mailrelay_cli.errors import AuthError, ExitCode
from tests.fixtures.oauth_fakes import GoogleTokenEndpoint

GOOGLE = """
[smtp]
host = "smtp.gmail.com"
auth = "google-oauth"
user = "bob@gmail.example"
client_id = "1234-abc.apps.googleusercontent.example"
[imap]
host = "imap.gmail.com"
auth = "google-oauth"
"""


@pytest.fixture
def settings(write_config: Callable[[str], Path], google_token_endpoint: GoogleTokenEndpoint) -> Settings:
    credentials.set_secret("default", "smtp.client_secret", google_token_endpoint.client_secret)
    return load_settings(write_config(GOOGLE))


def browser(
    endpoint: GoogleTokenEndpoint,
    *,
    deny: bool = False,
    seen: list[google_oauth.LoopbackPrompt] | None = None,
) -> Callable[[google_oauth.LoopbackPrompt], None]:
    """The person: opens the printed URL, consents, and the browser follows the redirect."""

    def open_url(prompt: google_oauth.LoopbackPrompt) -> None:
        if seen is not None:
            seen.append(prompt)
        redirect = endpoint.consent(prompt.url, deny=deny)
        threading.Thread(target=urllib.request.urlopen, args=(redirect,), daemon=True).start()

    return open_url


def google_login(settings: Settings, endpoint: GoogleTokenEndpoint, **kwargs) -> LoginResult:
    return google_oauth.login(settings, "smtp", show_url=browser(endpoint, **kwargs), timeout=30)


def test_pkce_challenge_is_the_s256_of_the_verifier() -> None:
    import base64
    import hashlib

    verifier, challenge = google_oauth.pkce_pair()
    digest = hashlib.sha256(verifier.encode()).digest()
    assert challenge == base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
    assert 43 <= len(verifier) <= 128


def test_the_consent_url_asks_for_the_mail_scope_offline_with_pkce_s256(
    settings, google_token_endpoint
) -> None:
    seen: list[google_oauth.LoopbackPrompt] = []
    google_login(settings, google_token_endpoint, seen=seen)
    query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(seen[0].url).query))
    assert query["scope"] == "https://mail.google.com/"
    assert query["code_challenge_method"] == "S256"
    assert query["access_type"] == "offline"
    assert query["redirect_uri"] == f"http://127.0.0.1:{seen[0].port}/"
    assert query["login_hint"] == "bob@gmail.example"


def test_the_prompt_tells_how_to_forward_the_port_over_ssh(settings, google_token_endpoint) -> None:
    seen: list[google_oauth.LoopbackPrompt] = []
    google_login(settings, google_token_endpoint, seen=seen)
    port = seen[0].port
    assert seen[0].ssh_hint.startswith(f"ssh -L {port}:127.0.0.1:{port} ")


def test_login_exchanges_the_code_with_the_verifier_and_keeps_the_refresh_token(
    settings, google_token_endpoint
) -> None:
    result = google_login(settings, google_token_endpoint)
    exchange = google_token_endpoint.requests[0]
    assert exchange["grant_type"] == "authorization_code" and exchange["code_verifier"]
    assert result.refresh_token is True
    stored = credentials.get_internal("default", "oauth.smtp") or ""
    assert next(iter(google_token_endpoint.refresh_tokens)) in stored
    assert result.covers == ("smtp", "imap")


def test_access_token_after_login_comes_from_the_keyring(settings, google_token_endpoint) -> None:
    google_login(settings, google_token_endpoint)
    assert oauth.access_token(settings, "imap") == google_token_endpoint.issued[0]
    assert len(google_token_endpoint.requests) == 1


def test_silent_refresh_after_the_access_token_expires(settings, google_token_endpoint) -> None:
    with freeze_time("2026-11-02 10:00:00") as clock:
        google_login(settings, google_token_endpoint)
        clock.tick(3600)
        token = oauth.access_token(settings, "smtp")
    assert token == google_token_endpoint.issued[1]
    assert google_token_endpoint.requests[-1]["grant_type"] == "refresh_token"
    assert token in (credentials.get_internal("default", "oauth.smtp") or "")


def test_a_revoked_refresh_token_fails_with_77_and_the_login_hint(settings, google_token_endpoint) -> None:
    with freeze_time("2026-11-02 10:00:00") as clock:
        google_login(settings, google_token_endpoint)
        google_token_endpoint.revoked |= google_token_endpoint.refresh_tokens
        clock.tick(3600)
        with pytest.raises(AuthError) as caught:
            oauth.access_token(settings, "smtp")
    assert caught.value.exit_code == ExitCode.NOPERM
    assert "invalid_grant: Token has been expired or revoked." in caught.value.message
    assert caught.value.hint == "mailrelay auth login"


def test_a_denied_consent_fails_with_77_and_saves_nothing(settings, google_token_endpoint) -> None:
    with pytest.raises(AuthError, match="access_denied"):
        google_login(settings, google_token_endpoint, deny=True)
    assert credentials.get_internal("default", "oauth.smtp") is None


def test_a_redirect_with_the_wrong_state_is_ignored(settings, google_token_endpoint) -> None:
    answers: list[int] = []

    def forged_then_real(prompt: google_oauth.LoopbackPrompt) -> None:
        def run() -> None:
            try:
                urllib.request.urlopen(prompt.redirect_uri + "?code=stolen&state=forged")
            except urllib.error.HTTPError as e:
                answers.append(e.code)
            urllib.request.urlopen(google_token_endpoint.consent(prompt.url))

        threading.Thread(target=run, daemon=True).start()

    google_oauth.login(settings, "smtp", show_url=forged_then_real, timeout=30)
    assert answers == [400]
    assert google_token_endpoint.requests[0]["code"] != "stolen"


def test_no_login_yet_says_to_log_in(settings) -> None:
    with pytest.raises(AuthError) as caught:
        oauth.access_token(settings, "smtp")
    assert caught.value.hint == "mailrelay auth login"


def test_status_after_a_google_login_shows_the_refresh_token_and_shared_imap(
    settings, google_token_endpoint
) -> None:
    google_login(settings, google_token_endpoint)
    smtp, imap = oauth.status(settings)
    assert (smtp.provider, smtp.flow) == ("google-oauth", "authorization-code")
    assert smtp.account == "bob@gmail.example"
    assert smtp.refresh_token is True and smtp.scopes == ("https://mail.google.com/",)
    assert imap.shares_smtp_login is True
