"""imap.py against the session's real Dovecot (IMAPS, STARTTLS, plain) with the session CA."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from mailrelay_cli.auth import credentials
from mailrelay_cli.config.load import load_settings
from mailrelay_cli.config.records import Settings
from mailrelay_cli.errors import (
    AuthError,
    ConfigError,
    ExitCode,
    ServerRefusedError,
    StartTLSUnavailableError,
    TemporaryError,
)
from mailrelay_cli.transport import imap, imap_responses
from mailrelay_cli.transport.transcript import Transcript
from tests.fixtures.dovecot import Dovecot, MailUser
from tests.fixtures.oauth_fakes import FakeIdentityService
from tests.sessions import open_imap

SENTINEL_PW = "S3ntinel-pw-xyz"


@pytest.fixture
def settings_for(write_config: Callable[[str], Path], dovecot: Dovecot) -> Callable[..., Settings]:
    """Settings reaching Dovecot as ``user`` (``extra`` overrides [imap] keys)."""

    def make(
        user: MailUser, *, security: str = "tls", password: str | None = None, **extra: object
    ) -> Settings:
        write_config(dovecot.imap_toml(user, security=security, **extra))
        credentials.set_secret("default", "imap.password", user.password if password is None else password)
        return load_settings()

    return make


def test_implicit_tls_logs_in_and_selects_inbox(dovecot, mail_user, settings_for) -> None:
    dovecot.append(mail_user, b"Subject: one\r\n\r\nx\r\n", b"Subject: two\r\n\r\ny\r\n")
    with open_imap(settings_for(mail_user)) as conn:
        assert conn.has_tls
        assert imap.select_folder(conn, "INBOX") == 2


def test_starttls_upgrades_before_logging_in(dovecot, mail_user, settings_for) -> None:
    transcript = Transcript()
    with open_imap(settings_for(mail_user, security="starttls"), transcript=transcript) as conn:
        assert conn.has_tls
    text = transcript.text()
    assert text.index("STARTTLS") < text.index("AUTHENTICATE PLAIN")


def test_password_is_never_sent_without_tls_unless_allowed(dovecot, mail_user, settings_for) -> None:
    transcript = Transcript()
    with (
        pytest.raises(ConfigError) as caught,
        open_imap(settings_for(mail_user, security="plain"), transcript=transcript),
    ):
        pass
    assert caught.value.exit_code == ExitCode.CONFIG
    assert "imap.allow_plaintext_auth" in (caught.value.hint or "")
    sent = [line for line in transcript.lines if line.startswith("C: ")]
    assert not any(" LOGIN" in line or " AUTHENTICATE" in line for line in sent)
    assert f"user=<{mail_user.name}>" not in dovecot.log()


def test_plain_login_when_explicitly_allowed(dovecot, mail_user, settings_for) -> None:
    settings = settings_for(mail_user, security="plain", allow_plaintext_auth=True)
    with open_imap(settings) as conn:
        assert not conn.has_tls
        assert imap.select_folder(conn, "INBOX") == 0


def test_wrong_password_is_auth_error_77(dovecot, mail_user, settings_for) -> None:
    with pytest.raises(AuthError) as caught, open_imap(settings_for(mail_user, password="wrong")):
        pass
    assert caught.value.exit_code == ExitCode.NOPERM
    assert f"127.0.0.1:{dovecot.imaps_port}" in caught.value.message
    assert "mailrelay secret set imap.password" in (caught.value.hint or "")


def test_wrong_password_from_the_environment_names_the_variable_to_fix(
    dovecot, mail_user, settings_for, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = settings_for(mail_user)  # the keyring holds the right one; the env wins
    monkeypatch.setenv("MAILRELAY_IMAP_PASSWORD", "wrong")
    with pytest.raises(AuthError) as caught, open_imap(settings):
        pass
    hint = caught.value.hint or ""
    assert "fix MAILRELAY_IMAP_PASSWORD" in hint
    assert "secret set" not in hint


def test_wrong_password_inherited_from_smtp_names_smtp_password(dovecot, mail_user, write_config) -> None:
    write_config(dovecot.imap_toml(mail_user))
    credentials.set_secret("default", "smtp.password", "wrong")
    with pytest.raises(AuthError) as caught, open_imap(load_settings()):
        pass
    assert "mailrelay secret set smtp.password" in (caught.value.hint or "")


def test_wrong_password_inherited_from_smtps_variable_names_that_variable(
    dovecot, mail_user, write_config, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_config(dovecot.imap_toml(mail_user))
    monkeypatch.setenv("MAILRELAY_SMTP_PASSWORD", "wrong")
    with pytest.raises(AuthError) as caught, open_imap(load_settings()):
        pass
    assert "fix MAILRELAY_SMTP_PASSWORD" in (caught.value.hint or "")


def test_imap_password_falls_back_to_the_smtp_password(dovecot, mail_user, write_config) -> None:
    write_config(dovecot.imap_toml(mail_user))
    credentials.set_secret("default", "smtp.password", mail_user.password)
    with open_imap(load_settings()) as conn:
        assert conn.has_tls


def test_starttls_not_offered_is_69(scripted_server_factory, write_config) -> None:
    server = scripted_server_factory(
        greeting=b"* OK hi\r\n", reply_before_drop=b"* CAPABILITY IMAP4rev1 AUTH=PLAIN\r\n{tag} OK done\r\n"
    )
    write_config(
        f'[imap]\nhost = "127.0.0.1"\nport = {server.port}\nstarttls = true\n'
        f'user = "u@example.test"\ntimeout = 5\n'
    )
    with pytest.raises(StartTLSUnavailableError) as caught, open_imap(load_settings()):
        pass
    assert caught.value.exit_code == ExitCode.UNAVAILABLE


def test_refused_port_is_temporary_75(write_config) -> None:
    from tests.fixtures.smtp_servers import free_port

    write_config(f'[imap]\nhost = "127.0.0.1"\nport = {free_port()}\nuser = "u@x.test"\n')
    with pytest.raises(TemporaryError) as caught, open_imap(load_settings()):
        pass
    assert caught.value.exit_code == ExitCode.TEMPFAIL
    assert "refused" in caught.value.message


def test_server_that_never_answers_times_out_with_75(silent_server, write_config) -> None:
    write_config(
        f'[imap]\nhost = "127.0.0.1"\nport = {silent_server.port}\nuser = "u@x.test"\n'
        "tls = false\nstarttls = true\ntimeout = 0.5\n"
    )
    with pytest.raises(TemporaryError) as caught, open_imap(load_settings()):
        pass
    assert f"127.0.0.1:{silent_server.port}" in caught.value.message
    assert "greeting" in caught.value.message


def test_plain_imap_spoken_to_the_imaps_port_is_a_config_error_hinting_imap_tls(
    dovecot, mail_user, settings_for
) -> None:
    settings = settings_for(mail_user, security="starttls", port=dovecot.imaps_port, timeout=0.5)
    with pytest.raises(ConfigError) as caught, open_imap(settings):
        pass
    assert "implicit-TLS port" in caught.value.message
    assert "imap.tls true" in (caught.value.hint or "")


def test_implicit_tls_spoken_to_the_plain_port_hints_at_starttls(dovecot, mail_user, settings_for) -> None:
    settings = settings_for(mail_user, security="tls", port=dovecot.imap_port)
    with pytest.raises(ConfigError) as caught, open_imap(settings):
        pass
    assert "did not answer in TLS" in caught.value.message
    assert "imap.starttls true" in (caught.value.hint or "")
    assert "993" in (caught.value.hint or "")


def test_connection_dropped_mid_command_is_temporary_75(scripted_server_factory, write_config) -> None:
    server = scripted_server_factory(greeting=b"* OK hi\r\n")
    write_config(
        f'[imap]\nhost = "127.0.0.1"\nport = {server.port}\nuser = "u@x.test"\n'
        "tls = false\nallow_plaintext_auth = true\ntimeout = 5\n"
    )
    with pytest.raises(TemporaryError), open_imap(load_settings()):
        pass


def test_missing_folder_names_the_nearest_existing_ones(dovecot, mail_user, settings_for) -> None:
    dovecot.create_folder(mail_user, "Approvals", "Archive", "Releases")
    with open_imap(settings_for(mail_user)) as conn:
        with pytest.raises(ConfigError) as caught:
            imap.select_folder(conn, "Aprovals")
    assert caught.value.exit_code == ExitCode.CONFIG
    assert "approval.folder" in caught.value.message
    assert "nearest: Approvals" in caught.value.message
    assert caught.value.hint == "mailrelay config set approval.folder Approvals"


def test_list_folders_returns_unicode_names(dovecot, mail_user, settings_for) -> None:
    with open_imap(settings_for(mail_user)) as conn:
        conn.create(imap_responses.encode_folder("Entwürfe & Freigaben"))
        assert "Entwürfe & Freigaben" in imap.list_folders(conn)
        assert imap.select_folder(conn, "Entwürfe & Freigaben") == 0


def test_modified_utf7_round_trips() -> None:
    for name in ("INBOX", "Entwürfe", "a&b", "日本語", 'quote"back\\slash'):
        assert imap_responses.decode_folder(imap_responses.encode_folder(name)) == name


def test_xoauth2_login_with_a_token_from_the_identity_service(
    dovecot, mail_user, write_config, identity_service: FakeIdentityService
) -> None:
    identity_service.client_secret = "client-secret-1"
    credentials.set_secret("default", "imap.client_secret", "client-secret-1")
    identity_service.mint_access_token = lambda scopes, user: dovecot.mint_token(mail_user)
    write_config(
        dovecot.imap_toml(
            mail_user,
            auth="microsoft-oauth",
            client_id="00000000-aaaa-bbbb-cccc-000000000002",
            tenant_id="contoso.example",
            oauth_flow="client-credentials",
        )
    )
    transcript = Transcript()
    with open_imap(load_settings(), transcript=transcript) as conn:
        assert imap.select_folder(conn, "INBOX") == 0
    assert "AUTHENTICATE XOAUTH2" in transcript.text()
    assert identity_service.issued[0] not in transcript.text()


def test_expired_bearer_token_is_auth_error_with_the_login_hint(
    dovecot, mail_user, write_config, identity_service: FakeIdentityService
) -> None:
    identity_service.client_secret = "client-secret-1"
    credentials.set_secret("default", "imap.client_secret", "client-secret-1")
    identity_service.mint_access_token = lambda scopes, user: dovecot.mint_token(mail_user, expired=True)
    write_config(
        dovecot.imap_toml(
            mail_user,
            auth="microsoft-oauth",
            client_id="00000000-aaaa-bbbb-cccc-000000000002",
            tenant_id="contoso.example",
            oauth_flow="client-credentials",
        )
    )
    with pytest.raises(AuthError) as caught, open_imap(load_settings()):
        pass
    assert "mailrelay auth login --imap" in (caught.value.hint or "")


def test_transcript_redacts_the_password_of_a_login(dovecot, mail_user, settings_for) -> None:
    user = dovecot.new_user(password=SENTINEL_PW)
    transcript = Transcript()
    with open_imap(settings_for(user), transcript=transcript) as conn:
        imap.select_folder(conn, "INBOX")
    text = transcript.text()
    assert "AUTHENTICATE PLAIN" in text and "<redacted>" in text
    assert SENTINEL_PW not in text
    import base64

    assert base64.b64encode(f"\0{user.name}\0{SENTINEL_PW}".encode()).decode() not in text


def test_logindisabled_without_auth_plain_is_69_with_the_mechanism_hint(
    scripted_server_factory, write_config
) -> None:
    server = scripted_server_factory(
        greeting=b"* OK [CAPABILITY IMAP4rev1 LOGINDISABLED AUTH=GSSAPI] hi\r\n",
        reply_before_drop=b"* CAPABILITY IMAP4rev1 LOGINDISABLED AUTH=GSSAPI\r\n{tag} OK done\r\n",
    )
    write_config(
        f'[imap]\nhost = "127.0.0.1"\nport = {server.port}\nuser = "u@x.test"\n'
        "tls = false\nallow_plaintext_auth = true\ntimeout = 5\n"
    )
    credentials.set_secret("default", "imap.password", SENTINEL_PW)
    with pytest.raises(ServerRefusedError) as caught, open_imap(load_settings()):
        pass
    assert caught.value.exit_code == ExitCode.UNAVAILABLE == 69
    assert f"127.0.0.1:{server.port} allows neither LOGIN nor AUTHENTICATE PLAIN" in (caught.value.message)
    assert caught.value.hint == ("the server wants another mechanism or TLS: check imap.auth and imap.tls")
    assert not any(SENTINEL_PW.encode() in line for line in server.received)
