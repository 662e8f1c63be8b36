"""Secrets in a real (file) keyring, environment fallbacks, and the no-keyring path."""

from __future__ import annotations

import pytest

from mailrelay_cli.auth import credentials
from mailrelay_cli.errors import ConfigError, ExitCode, NoKeyringError
from tests.conftest import reset_keyring


def test_set_then_get_reads_the_keyring_entry_profile_colon_name() -> None:
    credentials.set_secret("default", "smtp.password", "pw-1")
    import keyring

    assert keyring.get_password("mailrelay", "default:smtp.password") == "pw-1"
    assert credentials.get_secret("default", "smtp.password") == "pw-1"


def test_profiles_do_not_share_secrets() -> None:
    credentials.set_secret("prod", "smtp.password", "pw-prod")
    assert credentials.get_secret("staging", "smtp.password") is None


def test_environment_variable_wins_over_keyring(monkeypatch: pytest.MonkeyPatch) -> None:
    credentials.set_secret("default", "smtp.password", "from-keyring")
    monkeypatch.setenv("MAILRELAY_SMTP_PASSWORD", "from-env")
    assert credentials.get_secret("default", "smtp.password") == "from-env"


def test_imap_password_falls_back_to_smtp_password() -> None:
    credentials.set_secret("default", "smtp.password", "shared")
    assert credentials.get_secret("default", "imap.password") == "shared"


def test_imap_password_of_its_own_wins() -> None:
    credentials.set_secret("default", "smtp.password", "shared")
    credentials.set_secret("default", "imap.password", "own")
    assert credentials.get_secret("default", "imap.password") == "own"


def test_delete_reports_whether_it_was_set() -> None:
    credentials.set_secret("default", "smtp.password", "x")
    assert credentials.delete_secret("default", "smtp.password") is True
    assert credentials.delete_secret("default", "smtp.password") is False


def test_require_secret_names_the_command_when_unset() -> None:
    with pytest.raises(ConfigError) as info:
        credentials.require_secret("default", "smtp.password")
    assert info.value.hint == "mailrelay secret set smtp.password"


def test_unknown_secret_name_lists_the_known_ones() -> None:
    with pytest.raises(ConfigError) as info:
        credentials.check_name("smtp.pasword")
    assert "smtp.password" in info.value.hint


@pytest.fixture
def no_keyring(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")
    reset_keyring()


def test_no_keyring_is_a_config_error_naming_both_fixes(no_keyring: None) -> None:
    with pytest.raises(NoKeyringError) as info:
        credentials.get_secret("default", "smtp.password")
    assert info.value.exit_code == ExitCode.CONFIG
    assert "MAILRELAY_SMTP_PASSWORD" in info.value.hint
    assert "keyrings.alt" in info.value.hint


def test_no_keyring_with_env_variable_works(no_keyring: None, monkeypatch) -> None:
    monkeypatch.setenv("MAILRELAY_SMTP_PASSWORD", "from-env")
    assert credentials.get_secret("default", "smtp.password") == "from-env"


def test_no_keyring_imap_uses_smtp_env_variable(no_keyring: None, monkeypatch) -> None:
    monkeypatch.setenv("MAILRELAY_SMTP_PASSWORD", "from-env")
    assert credentials.get_secret("default", "imap.password") == "from-env"
