"""smtp.py against real aiosmtpd servers on 127.0.0.1 with TLS from the session CA."""

from __future__ import annotations

from collections.abc import Callable
from email.message import EmailMessage
from pathlib import Path

import pytest

from mailrelay_cli.auth import credentials
from mailrelay_cli.config.endpoints import endpoint_for
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
from mailrelay_cli.transport import smtp
from mailrelay_cli.transport.transcript import Transcript
from tests.fixtures.oauth_fakes import FakeIdentityService
from tests.fixtures.smtp_servers import SMTP_PASSWORD, RecordingHandler, SmtpServer
from tests.sessions import open_smtp

SENTINEL_PW = "S3ntinel-pw-xyz"


@pytest.fixture
def settings_for(write_config: Callable[[str], Path]) -> Callable[..., Settings]:
    """Settings reaching ``server`` (``extra`` overrides [smtp] keys); the password is stored."""

    def make(server: SmtpServer, password: str | None = SMTP_PASSWORD, **extra: object) -> Settings:
        write_config(server.toml(**extra))
        if password is not None:
            credentials.set_secret("default", "smtp.password", password)
        return load_settings()

    return make


def message() -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = "relay@example.com"
    msg["To"] = "dev@example.com"
    msg["Subject"] = "hello"
    msg.set_content("body\n")
    return msg


def send_one(settings: Settings, transcript: Transcript | None = None) -> dict:
    with open_smtp(settings, transcript=transcript) as conn:
        return smtp.send_message(conn, message(), sender="relay@example.com", recipients=["dev@example.com"])


def test_starttls_session_logs_in_with_plain_and_delivers(smtp_starttls, settings_for) -> None:
    assert send_one(settings_for(smtp_starttls)) == {}
    assert smtp_starttls.logins == [("PLAIN", smtp_starttls.user, True)]
    [received] = smtp_starttls.messages
    assert received.mail_from == "relay@example.com"
    assert received.rcpt_tos == ("dev@example.com",)
    assert received.message()["Subject"] == "hello"


def test_implicit_tls_session_logs_in_and_delivers(smtp_tls, settings_for) -> None:
    send_one(settings_for(smtp_tls))
    assert len(smtp_tls.messages) == 1
    assert smtp_tls.logins == [("PLAIN", smtp_tls.user, True)]


def test_login_falls_back_to_auth_login_when_plain_is_not_offered(smtp_server_factory, settings_for) -> None:
    server = smtp_server_factory(security="starttls", mechanisms=("LOGIN",))
    send_one(settings_for(server))
    assert server.logins == [("LOGIN", server.user, True)]


def test_auth_none_sends_on_a_plain_server_without_any_auth(smtp_plain, settings_for) -> None:
    send_one(settings_for(smtp_plain, password=None, auth="none"))
    assert len(smtp_plain.messages) == 1
    assert smtp_plain.auth_commands == []


def test_starttls_not_offered_is_exit_69_and_never_downgrades(smtp_plain_auth, settings_for) -> None:
    settings = settings_for(smtp_plain_auth, starttls=True)
    with pytest.raises(StartTLSUnavailableError) as caught:
        send_one(settings)
    assert caught.value.exit_code == ExitCode.UNAVAILABLE
    assert f"127.0.0.1:{smtp_plain_auth.port}" in caught.value.message
    assert smtp_plain_auth.auth_commands == []
    assert smtp_plain_auth.messages == []


def test_password_is_never_sent_without_tls_unless_allowed(smtp_plain_auth, settings_for) -> None:
    settings = settings_for(smtp_plain_auth, starttls=False)
    with pytest.raises(ConfigError) as caught:
        send_one(settings)
    assert caught.value.exit_code == ExitCode.CONFIG
    assert "allow_plaintext_auth" in (caught.value.hint or "")
    assert smtp_plain_auth.auth_commands == []


def test_password_over_plain_text_when_explicitly_allowed(smtp_plain_auth, settings_for) -> None:
    send_one(settings_for(smtp_plain_auth, starttls=False, allow_plaintext_auth=True))
    assert smtp_plain_auth.logins == [("PLAIN", smtp_plain_auth.user, True)]


def test_wrong_password_is_auth_error_77_naming_the_server(smtp_starttls, settings_for) -> None:
    with pytest.raises(AuthError) as caught:
        send_one(settings_for(smtp_starttls, password="wrong"))
    assert caught.value.exit_code == ExitCode.NOPERM
    assert f"127.0.0.1:{smtp_starttls.port}" in caught.value.message
    assert "535" in caught.value.message
    assert "mailrelay secret set smtp.password" in (caught.value.hint or "")


def test_wrong_password_from_the_environment_names_the_variable_to_fix(
    smtp_starttls, settings_for, monkeypatch
) -> None:
    monkeypatch.setenv("MAILRELAY_SMTP_PASSWORD", "wrong")
    with pytest.raises(AuthError) as caught:
        send_one(settings_for(smtp_starttls))  # the keyring holds the right one: env wins
    assert "fix MAILRELAY_SMTP_PASSWORD" in (caught.value.hint or "")
    assert "secret set" not in (caught.value.hint or "")


class BasicAuthDisabled(RecordingHandler):
    async def handle_AUTH(self, server, session, envelope, args):
        return "535 5.7.139 Authentication unsuccessful, basic authentication is disabled. [Office 365]"


def test_provider_that_disabled_basic_auth_gets_the_oauth_hint(smtp_server_factory, settings_for) -> None:
    server = smtp_server_factory(handler=BasicAuthDisabled(), security="starttls")
    with pytest.raises(AuthError) as caught:
        send_one(settings_for(server))
    assert "5.7.139" in caught.value.message
    assert "smtp.auth microsoft-oauth" in (caught.value.hint or "")


def test_server_offering_only_xoauth2_to_basic_auth_lists_what_it_offers(smtp_xoauth2, settings_for) -> None:
    with pytest.raises(ServerRefusedError) as caught:
        send_one(settings_for(smtp_xoauth2))
    assert "XOAUTH2" in caught.value.message
    assert "microsoft-oauth" in (caught.value.hint or "")


def test_microsoft_oauth_authenticates_with_xoauth2_and_the_bearer_token(
    smtp_xoauth2, settings_for, identity_service: FakeIdentityService
) -> None:
    identity_service.client_secret = "client-secret-1"
    credentials.set_secret("default", "smtp.client_secret", "client-secret-1")
    identity_service.mint_access_token = lambda scopes, user: "token-for-builds"
    smtp_xoauth2.add_token("builds@example.com", "token-for-builds")
    settings = settings_for(
        smtp_xoauth2,
        password=None,
        auth="microsoft-oauth",
        user="builds@example.com",
        client_id="00000000-aaaa-bbbb-cccc-000000000002",
        tenant_id="contoso.example",
        oauth_flow="client-credentials",
    )
    send_one(settings)
    assert smtp_xoauth2.logins == [("XOAUTH2", "builds@example.com", True)]
    assert len(smtp_xoauth2.messages) == 1


def test_refused_bearer_token_is_auth_error_with_the_login_hint(
    smtp_xoauth2, settings_for, identity_service: FakeIdentityService
) -> None:
    identity_service.client_secret = "client-secret-1"
    credentials.set_secret("default", "smtp.client_secret", "client-secret-1")
    settings = settings_for(
        smtp_xoauth2,
        password=None,
        auth="microsoft-oauth",
        user="builds@example.com",
        client_id="00000000-aaaa-bbbb-cccc-000000000002",
        tenant_id="contoso.example",
        oauth_flow="client-credentials",
    )
    with pytest.raises(AuthError) as caught:
        send_one(settings)
    assert "auth login" in (caught.value.hint or "")


def test_refused_port_is_temporary_75(settings_for, smtp_starttls) -> None:
    smtp_starttls.port = _closed_port()
    try:
        with pytest.raises(TemporaryError) as caught:
            send_one(settings_for(smtp_starttls))
    finally:
        smtp_starttls.port = smtp_starttls.controller.port
    assert caught.value.exit_code == ExitCode.TEMPFAIL
    assert "refused" in caught.value.message


def _closed_port() -> int:
    from tests.fixtures.smtp_servers import free_port

    return free_port()


def test_server_that_never_answers_times_out_with_75(silent_server, write_config) -> None:
    write_config(f'[smtp]\nhost = "127.0.0.1"\nport = {silent_server.port}\nauth = "none"\ntimeout = 0.5\n')
    with pytest.raises(TemporaryError) as caught:
        send_one(load_settings())
    assert caught.value.exit_code == ExitCode.TEMPFAIL
    assert f"127.0.0.1:{silent_server.port}" in caught.value.message


def test_plain_smtp_spoken_to_an_implicit_tls_port_is_a_config_error_hinting_smtp_tls(
    smtp_tls, settings_for
) -> None:
    settings = settings_for(smtp_tls, tls=False, starttls=True, timeout=0.5)
    with pytest.raises(ConfigError) as caught:
        send_one(settings)
    assert caught.value.exit_code == ExitCode.CONFIG
    assert "implicit-TLS port" in caught.value.message
    assert "smtp.tls true" in (caught.value.hint or "")


def test_implicit_tls_spoken_to_a_plain_port_hints_at_starttls(smtp_starttls, settings_for) -> None:
    settings = settings_for(smtp_starttls, tls=True, starttls=False)
    with pytest.raises(ConfigError) as caught:
        send_one(settings)
    assert "did not answer in TLS" in caught.value.message
    assert "smtp.starttls true" in (caught.value.hint or "")
    assert "465" in (caught.value.hint or "")


def test_connection_dropped_mid_command_is_temporary_75(scripted_server_factory, write_config) -> None:
    server = scripted_server_factory(greeting=b"220 flaky ESMTP\r\n")
    write_config(
        f'[smtp]\nhost = "127.0.0.1"\nport = {server.port}\nauth = "none"\nstarttls = false\ntimeout = 5\n'
    )
    with pytest.raises(TemporaryError) as caught:
        send_one(load_settings())
    assert "closed the connection" in caught.value.message or "lost" in caught.value.message


class TempFailThenAccept(RecordingHandler):
    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.startswith("busy@"):
            return "451 4.3.0 try later"
        if address.startswith("nobody@"):
            return "550 5.1.1 no such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"


def test_partial_refusal_returns_the_refused_recipients(smtp_server_factory, settings_for) -> None:
    server = smtp_server_factory(handler=TempFailThenAccept(), security="starttls")
    with open_smtp(settings_for(server)) as conn:
        refused = smtp.send_message(
            conn, message(), sender="relay@example.com", recipients=["dev@example.com", "nobody@example.com"]
        )
    assert refused == {"nobody@example.com": (550, "5.1.1 no such user")}
    assert server.messages[0].rcpt_tos == ("dev@example.com",)


def test_every_recipient_refused_for_now_is_temporary_75(smtp_server_factory, settings_for) -> None:
    server = smtp_server_factory(handler=TempFailThenAccept(), security="starttls")
    with pytest.raises(TemporaryError), open_smtp(settings_for(server)) as conn:
        smtp.send_message(conn, message(), sender="relay@example.com", recipients=["busy@example.com"])


def test_every_recipient_refused_for_good_is_69(smtp_server_factory, settings_for) -> None:
    server = smtp_server_factory(handler=TempFailThenAccept(), security="starttls")
    with pytest.raises(ServerRefusedError) as caught, open_smtp(settings_for(server)) as conn:
        smtp.send_message(conn, message(), sender="relay@example.com", recipients=["nobody@example.com"])
    assert "nobody@example.com" in caught.value.message


def test_transcript_shows_the_dialogue_and_redacts_the_password(smtp_server_factory, settings_for) -> None:
    server = smtp_server_factory(security="starttls")
    server.password = SENTINEL_PW
    settings = settings_for(server, password=SENTINEL_PW)
    # The server's authenticator knows only SMTP_PASSWORD, so this login fails; what
    # matters is what was written down on the way.
    transcript = Transcript()
    with pytest.raises(AuthError):
        send_one(settings, transcript)
    text = transcript.text()
    assert "C: STARTTLS" in text
    assert "C: AUTH PLAIN <redacted>" in text
    assert SENTINEL_PW not in text
    import base64

    assert base64.b64encode(f"\0{server.user}\0{SENTINEL_PW}".encode()).decode() not in text


def test_transcript_of_auth_login_redacts_both_answers(smtp_server_factory, settings_for) -> None:
    server = smtp_server_factory(security="starttls", mechanisms=("LOGIN",))
    transcript = Transcript()
    send_one(settings_for(server), transcript)
    lines = transcript.lines
    start = lines.index("C: AUTH LOGIN <redacted>")
    assert lines[start + 1].startswith("S: 334 ")
    assert lines[start + 2] == "C: <redacted>"
    assert lines[start + 3].startswith("S: 235")


def test_endpoint_for_settings_reaches_the_server_with_the_ca_file(smtp_starttls, settings_for) -> None:
    endpoint = endpoint_for(settings_for(smtp_starttls).smtp)
    conn = smtp.connect(endpoint)
    try:
        assert smtp.start_tls(conn) is True
        info = smtp.tls_info(conn)
        assert info is not None and info.version.startswith("TLSv1.")
        assert info.certificate is not None and "localhost" in info.certificate.names
        assert smtp.auth_mechanisms(conn) == ("LOGIN", "PLAIN")
    finally:
        smtp.close(conn)


def test_unknown_host_is_temporary_75_naming_smtp_host(write_config) -> None:
    write_config('[smtp]\nhost = "no-such-host.invalid"\nauth = "none"\n')
    with pytest.raises(TemporaryError) as caught:
        send_one(load_settings())
    assert "no-such-host.invalid" in caught.value.message
    assert "smtp.host" in caught.value.message


def test_optional_starttls_not_offered_continues_plain_but_keeps_the_password(
    smtp_plain_auth, settings_for
) -> None:
    settings = settings_for(smtp_plain_auth, starttls=True)
    endpoint = endpoint_for(settings.smtp)._replace(starttls_required=False)
    with pytest.raises(ConfigError), open_smtp(settings, endpoint=endpoint):
        pass
    assert smtp_plain_auth.auth_commands == []


def test_optional_starttls_not_offered_sends_without_auth(smtp_plain, settings_for) -> None:
    settings = settings_for(smtp_plain, password=None, auth="none", starttls=True)
    endpoint = endpoint_for(settings.smtp)._replace(starttls_required=False)
    with open_smtp(settings, endpoint=endpoint) as conn:
        smtp.send_message(conn, message(), sender="relay@example.com", recipients=["dev@example.com"])
    assert len(smtp_plain.messages) == 1
