"""oauth.py: Microsoft logins, the token cache in the keyring, and tokens without a person."""

from __future__ import annotations

import json
import stat
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from freezegun import freeze_time
from keyrings.alt.file import PlaintextKeyring

from mailrelay_cli.auth import credentials, microsoft, oauth, token_cache
from mailrelay_cli.auth.login_result import LoginResult
from mailrelay_cli.config.load import load_settings
from mailrelay_cli.config.records import Settings
from mailrelay_cli.errors import AuthError, ConfigError, ExitCode, Interrupted
from tests.fixtures.oauth_fakes import DEVICE_CODE_GRANT, FakeIdentityService

SMTP_SEND = "https://outlook.office.com/SMTP.Send"
IMAP_ALL = "https://outlook.office.com/IMAP.AccessAsUser.All"
DEVICE = """
[smtp]
host = "smtp.office365.com"
auth = "microsoft-oauth"
user = "alice@contoso.example"
client_id = "00000000-aaaa-bbbb-cccc-000000000001"
[imap]
host = "outlook.office365.com"
auth = "microsoft-oauth"
"""
CLIENT_CREDENTIALS = """
[smtp]
host = "smtp.office365.com"
auth = "microsoft-oauth"
user = "builds@contoso.example"
client_id = "00000000-aaaa-bbbb-cccc-000000000002"
tenant_id = "contoso.example"
oauth_flow = "client-credentials"
"""


@pytest.fixture
def settings(write_config: Callable[[str], Path]) -> Callable[[str], Settings]:
    def make(text: str = DEVICE) -> Settings:
        return load_settings(write_config(text))

    return make


def login(
    settings: Settings,
    role: str = "smtp",
    waits: list[float] | None = None,
) -> LoginResult:
    """Log in as a person would, the waits between polls passing on a frozen clock."""
    shown: list[microsoft.DeviceCode] = []
    with freeze_time(datetime.now(UTC)) as clock:

        def wait(seconds: float, expires_at: float) -> None:
            (waits if waits is not None else []).append(seconds)
            clock.tick(seconds)

        result = microsoft.device_login(settings, role, show_code=shown.append, wait=wait)
    assert shown and shown[0].user_code == "FAKE-CODE1"
    return result


def test_device_login_stores_the_msal_cache_in_the_keyring_entry_of_the_role(
    settings, identity_service: FakeIdentityService
) -> None:
    identity_service.device_polls.extend(["success"])
    result = login(settings())
    stored = credentials.get_internal("default", "oauth.smtp")
    assert stored is not None and identity_service.issued[0] in stored
    assert result.account == "alice@contoso.example"
    assert result.refresh_token is True
    assert result.stored_in == "keyring mailrelay default:oauth.smtp"


def test_device_login_asks_for_smtp_and_imap_scopes_when_imap_shares_the_login(
    settings, identity_service: FakeIdentityService
) -> None:
    identity_service.device_polls.extend(["success"])
    result = login(settings())
    asked = identity_service.posts()[0]["scope"].split()
    assert SMTP_SEND in asked and IMAP_ALL in asked
    assert "offline_access" in asked  # msal's own addition, never ours
    assert result.covers == ("smtp", "imap")


def test_device_login_keeps_polling_while_authorization_is_pending(
    settings, identity_service: FakeIdentityService
) -> None:
    identity_service.device_polls.extend(["pending", "pending", "success"])
    waits: list[float] = []
    login(settings(), waits=waits)
    assert waits == [5, 5]
    assert len(identity_service.posts(DEVICE_CODE_GRANT)) == 3


def test_slow_down_lengthens_the_polling_interval_by_five_seconds(
    settings, identity_service: FakeIdentityService
) -> None:
    identity_service.device_polls.extend(["slow_down", "pending", "success"])
    waits: list[float] = []
    login(settings(), waits=waits)
    assert waits == [10, 10]


def test_an_expired_device_code_fails_with_exit_77_and_the_login_hint(
    settings, identity_service: FakeIdentityService
) -> None:
    identity_service.device_polls.extend(["pending", "expired"])
    with pytest.raises(AuthError) as caught:
        login(settings())
    assert caught.value.exit_code == ExitCode.NOPERM
    assert "FAKE-CODE1 expired" in caught.value.message
    assert caught.value.hint == "mailrelay auth login"
    assert credentials.get_internal("default", "oauth.smtp") is None


def test_a_declined_sign_in_fails_with_the_providers_words(
    settings, identity_service: FakeIdentityService
) -> None:
    identity_service.device_polls.extend(["declined"])
    with pytest.raises(AuthError, match="declined.*AADSTS70000"):
        login(settings())


def test_a_refused_device_code_request_names_the_app_and_tenant(
    settings, identity_service: FakeIdentityService
) -> None:
    identity_service.device_code_error = {
        "error": "invalid_client",
        "description": "AADSTS7000218: The request body must contain the following parameter: "
        "'client_assertion' or 'client_secret'.",
    }
    with pytest.raises(AuthError) as caught:
        login(settings())
    assert "00000000-aaaa-bbbb-cccc-000000000001" in caught.value.message
    assert "AADSTS7000218" in caught.value.message


def test_ctrl_c_while_waiting_cancels_the_login_and_saves_nothing(
    settings, identity_service: FakeIdentityService
) -> None:
    identity_service.interrupt_on_poll = True
    with pytest.raises(Interrupted) as caught:
        login(settings())
    assert caught.value.exit_code == ExitCode.INTERRUPTED
    assert credentials.get_internal("default", "oauth.smtp") is None


def test_device_login_uses_a_confidential_client_when_a_client_secret_is_in_the_keyring(
    settings, identity_service: FakeIdentityService
) -> None:
    credentials.set_secret("default", "smtp.client_secret", "SENTINEL-SECRET-1")
    identity_service.device_polls.extend(["success"])
    login(settings())
    assert identity_service.client_secrets_seen
    assert set(identity_service.client_secrets_seen) == {"SENTINEL-SECRET-1"}


def test_access_token_comes_from_the_cache_without_asking_the_identity_service(
    settings, identity_service: FakeIdentityService
) -> None:
    identity_service.device_polls.extend(["success"])
    login(settings())
    posts_before = len(identity_service.posts())
    token = oauth.access_token(settings(), "smtp")
    assert token == identity_service.issued[0]
    assert len(identity_service.posts()) == posts_before


def test_imap_uses_smtps_login_when_it_has_no_client_id_of_its_own(
    settings, identity_service: FakeIdentityService
) -> None:
    identity_service.device_polls.extend(["success"])
    login(settings())
    assert oauth.access_token(settings(), "imap") == identity_service.issued[0]
    assert credentials.get_internal("default", "oauth.imap") is None


def test_imap_with_its_own_client_id_needs_its_own_login(
    settings, identity_service: FakeIdentityService
) -> None:
    own = DEVICE + 'client_id = "00000000-aaaa-bbbb-cccc-00000000000f"\n'
    identity_service.device_polls.extend(["success"])
    login(settings(own))
    with pytest.raises(AuthError) as caught:
        oauth.access_token(settings(own), "imap")
    assert caught.value.hint == "mailrelay auth login --imap"


def test_silent_refresh_after_the_access_token_expires(
    settings, identity_service: FakeIdentityService
) -> None:
    with freeze_time("2026-11-02 10:00:00") as clock:
        identity_service.device_polls.extend(["success"])
        login(settings())
        first = oauth.access_token(settings(), "smtp")
        clock.tick(2 * 3600)
        second = oauth.access_token(settings(), "smtp")
    assert first != second
    refreshes = identity_service.posts("refresh_token")
    assert len(refreshes) == 1
    assert refreshes[0]["refresh_token"] in identity_service.refresh_tokens
    # The refreshed cache was saved, so the next cron run does not refresh again.
    stored = credentials.get_internal("default", "oauth.smtp")
    assert stored is not None and second in stored


def test_a_revoked_refresh_token_fails_with_77_and_the_login_hint(
    settings, identity_service: FakeIdentityService
) -> None:
    with freeze_time("2026-11-02 10:00:00") as clock:
        identity_service.device_polls.extend(["success"])
        login(settings())
        identity_service.revoke_all()
        clock.tick(2 * 3600)
        with pytest.raises(AuthError) as caught:
            oauth.access_token(settings(), "smtp")
    assert caught.value.exit_code == ExitCode.NOPERM
    assert "invalid_grant" in caught.value.message
    assert "AADSTS700082" in caught.value.message
    assert caught.value.hint == "mailrelay auth login"


def test_access_token_without_a_login_says_to_log_in_and_never_starts_a_device_flow(
    settings, identity_service: FakeIdentityService
) -> None:
    with pytest.raises(AuthError) as caught:
        oauth.access_token(settings(), "imap")
    assert caught.value.hint == "mailrelay auth login"
    assert not [url for method, url, _ in identity_service.requests if "devicecode" in url]


def test_client_credentials_get_a_token_with_the_client_secret_and_the_default_scope(
    settings, identity_service: FakeIdentityService
) -> None:
    identity_service.client_secret = "SENTINEL-SECRET-2"
    credentials.set_secret("default", "smtp.client_secret", "SENTINEL-SECRET-2")
    token = oauth.access_token(settings(CLIENT_CREDENTIALS), "smtp")
    assert token == identity_service.issued[0]
    request = identity_service.posts("client_credentials")[0]
    assert request["scope"] == "https://outlook.office365.com/.default"
    assert any("/contoso.example/" in url for _m, url, _d in identity_service.requests)


def test_client_credentials_with_a_wrong_secret_fail_with_77_and_the_providers_words(
    settings, identity_service: FakeIdentityService
) -> None:
    identity_service.client_secret = "SENTINEL-SECRET-2"
    credentials.set_secret("default", "smtp.client_secret", "SENTINEL-wrong")
    with pytest.raises(AuthError) as caught:
        oauth.access_token(settings(CLIENT_CREDENTIALS), "smtp")
    assert "AADSTS7000215" in caught.value.message
    assert "SENTINEL" not in caught.value.message + (caught.value.hint or "")


def test_client_credentials_without_a_secret_name_the_secret_to_set(
    settings, identity_service: FakeIdentityService
) -> None:
    with pytest.raises(ConfigError) as caught:
        oauth.access_token(settings(CLIENT_CREDENTIALS), "smtp")
    assert caught.value.hint == "mailrelay secret set smtp.client_secret"


def test_an_unknown_tenant_is_a_config_error_naming_tenant_id(
    settings, identity_service: FakeIdentityService
) -> None:
    text = DEVICE.replace("[imap]", 'tenant_id = "no-such-tenant.example"\n[imap]')
    with pytest.raises(ConfigError) as caught:
        oauth.access_token(settings(text), "smtp")
    assert "smtp.tenant_id" in caught.value.message


def test_a_missing_client_id_names_the_key_to_set(settings) -> None:
    with pytest.raises(ConfigError) as caught:
        oauth.access_token(settings(DEVICE.replace("client_id", "# client_id")), "smtp")
    assert caught.value.hint == "mailrelay config set smtp.client_id APPLICATION-ID"


class SmallValueKeyring(PlaintextKeyring):
    """A file keyring that refuses large values, as Windows Credential Manager does."""

    def set_password(self, service: str, username: str, password: str) -> None:
        from keyring.errors import PasswordSetError

        if len(password) > 2500:
            raise PasswordSetError("The stub received bad data. (CredWrite 1783)")
        super().set_password(service, username, password)


def test_a_keyring_that_refuses_large_values_gets_a_private_file_instead(
    settings, identity_service: FakeIdentityService, monkeypatch
) -> None:
    import keyring

    keyring.set_keyring(SmallValueKeyring())
    identity_service.device_polls.extend(["success"])
    identity_service.mint_access_token = lambda scopes, user: "SENTINEL-" + "x" * 3000
    result = login(settings())
    path = token_cache.fallback_path(settings(), "smtp")
    assert result.note is not None and str(path) in result.note
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert result.stored_in == str(path)
    assert oauth.access_token(settings(), "smtp") == identity_service.issued[0]


def test_status_shows_account_scopes_expiry_and_refresh_token_without_network(
    settings, identity_service: FakeIdentityService
) -> None:
    with freeze_time("2026-11-02 10:00:00"):
        identity_service.device_polls.extend(["success"])
        login(settings())
    identity_service.requests.clear()
    smtp, imap = oauth.status(settings())
    assert smtp.account == "alice@contoso.example"
    assert smtp.scopes == (SMTP_SEND,)
    assert smtp.access_token_expires_at is not None
    assert smtp.access_token_expires_at.isoformat() == "2026-11-02T11:00:00+00:00"
    assert smtp.refresh_token is True
    assert imap.shares_smtp_login is True and imap.note == "shares SMTP's login"
    assert identity_service.requests == []


def test_status_before_any_login_says_how_to_log_in(settings) -> None:
    smtp, _imap = oauth.status(settings())
    assert smtp.logged_in is False
    assert smtp.note == "not logged in: mailrelay auth login"


def test_logout_removes_the_cache_entries(settings, identity_service) -> None:
    identity_service.device_polls.extend(["success"])
    login(settings())
    results = oauth.logout(settings())
    assert [r.removed for r in results] == [True, False]
    assert credentials.get_internal("default", "oauth.smtp") is None
    with pytest.raises(AuthError):
        oauth.access_token(settings(), "smtp")


def test_the_stored_cache_holds_no_client_secret(settings, identity_service) -> None:
    credentials.set_secret("default", "smtp.client_secret", "SENTINEL-SECRET-3")
    identity_service.device_polls.extend(["success"])
    login(settings())
    stored = credentials.get_internal("default", "oauth.smtp") or ""
    assert "SENTINEL-SECRET-3" not in stored
    json.loads(stored)


def test_status_under_client_credentials_names_the_app_and_holds_no_refresh_token(
    settings, identity_service: FakeIdentityService
) -> None:
    identity_service.client_secret = "SENTINEL-SECRET-4"
    credentials.set_secret("default", "smtp.client_secret", "SENTINEL-SECRET-4")
    oauth.access_token(settings(CLIENT_CREDENTIALS), "smtp")
    smtp = oauth.status(settings(CLIENT_CREDENTIALS))[0]
    assert smtp.flow == "client-credentials"
    assert smtp.account == "app 00000000-aaaa-bbbb-cccc-000000000002"
    assert smtp.refresh_token is False
    assert smtp.access_token_expires_at is not None
