"""auth.logins: the login record transport takes, resolved from the settings once."""

from __future__ import annotations

from pathlib import Path

import pytest

from mailrelay_cli.auth import credentials
from mailrelay_cli.auth.logins import resolve_login, resolve_session
from mailrelay_cli.config.load import settings_from_table
from mailrelay_cli.config.records import Settings
from mailrelay_cli.errors import ConfigError

SENTINEL = "S3ntinel-login-pw"


def settings_with(tmp_path: Path, smtp: dict[str, object], imap: dict[str, object] | None = None) -> Settings:
    table: dict[str, object] = {"smtp": {"host": "smtp.example.com", "from": "r@example.com", **smtp}}
    if imap is not None:
        table["imap"] = {"host": "imap.example.com", **imap}
    return settings_from_table(table, tmp_path / "settings.toml")


def test_basic_is_a_password_login_read_from_the_keyring_only_when_asked(tmp_path: Path) -> None:
    login = resolve_login(settings_with(tmp_path, {"user": "relay@example.com"}), "smtp")
    credentials.set_secret("default", "smtp.password", SENTINEL)  # stored after resolving
    assert (login.kind, login.user, login.secret is not None) == ("password", "relay@example.com", True)
    assert login.secret is not None and login.secret() == SENTINEL


def test_a_missing_password_is_a_config_error_naming_the_secret_when_it_is_needed(tmp_path: Path) -> None:
    login = resolve_login(settings_with(tmp_path, {"user": "relay@example.com"}), "smtp")
    assert login.secret is not None
    with pytest.raises(ConfigError, match="smtp.password is not set"):
        login.secret()


def test_the_password_fix_names_the_environment_variable_it_came_from(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MAILRELAY_IMAP_PASSWORD", SENTINEL)
    login = resolve_login(settings_with(tmp_path, {"user": "u@example.com"}, {}), "imap")
    assert login.password_fix().startswith("fix MAILRELAY_IMAP_PASSWORD")


def test_oauth_is_an_xoauth2_login_with_a_token_provider(tmp_path: Path) -> None:
    settings = settings_with(
        tmp_path, {"user": "u@example.com", "auth": "microsoft-oauth", "client_id": "app"}
    )
    login = resolve_login(settings, "smtp")
    assert (login.kind, login.auth, login.secret_source) == ("xoauth2", "microsoft-oauth", None)


def test_smtp_auth_none_is_no_login_and_no_problem(tmp_path: Path) -> None:
    login = resolve_login(settings_with(tmp_path, {"auth": "none"}), "smtp")
    assert (login.kind, login.secret, login.problem) == ("none", None, None)


def test_imap_auth_none_carries_the_error_a_mailbox_login_raises(tmp_path: Path) -> None:
    login = resolve_login(settings_with(tmp_path, {}, {"auth": "none", "user": "u"}), "imap")
    assert login.problem is not None
    assert "an IMAP mailbox always needs a login" in login.problem.message


def test_a_missing_user_is_a_problem_naming_the_key(tmp_path: Path) -> None:
    login = resolve_login(settings_with(tmp_path, {}), "smtp")
    assert login.problem is not None and login.problem.hint == "mailrelay config set smtp.user USER"


def test_the_login_repr_never_holds_the_password(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MAILRELAY_SMTP_PASSWORD", SENTINEL)
    login = resolve_login(settings_with(tmp_path, {"user": "relay@example.com"}), "smtp")
    assert SENTINEL not in repr(login)


def test_a_session_of_incomplete_settings_is_refused_before_any_connection(tmp_path: Path) -> None:
    settings = settings_from_table({"smtp": {"from": "r@example.com"}}, tmp_path / "settings.toml")
    with pytest.raises(ConfigError, match="smtp.host"):
        resolve_session(settings, "smtp")
