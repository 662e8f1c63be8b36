"""Delivery against real aiosmtpd servers: one session, retries, refusals, SMTPUTF8."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest

from mailrelay_cli.auth import credentials
from mailrelay_cli.config.load import settings_from_table
from mailrelay_cli.config.records import Settings
from mailrelay_cli.errors import AuthError, ServerRefusedError, TemporaryError
from mailrelay_cli.outbound.delivery import deliver
from mailrelay_cli.outbound.message import build_message, parse_address, parse_addresses
from tests.fixtures.smtp_servers import SMTP_PASSWORD, RecordingHandler, SmtpServer


def settings_for(server: SmtpServer, **smtp: Any) -> Settings:
    if server.security == "plain" and "auth" not in smtp:
        smtp["auth"] = "none"
    return settings_from_table(tomllib.loads(server.toml(**smtp)), Path("settings.toml"))


def message(*to: str, subject: str = "Hello"):  # type: ignore[no-untyped-def]
    return build_message(
        sender=parse_address("Release Bot <relay@example.com>", "smtp.from"),
        to=parse_addresses(list(to) or ["ops@example.com"], "--to"),
        subject=subject,
        text="body\n",
        html="<p>body</p>\n",
    )


class DeferOnceHandler(RecordingHandler):
    """Answers the first DATA with 421 (closing), then accepts."""

    def __init__(self) -> None:
        super().__init__()
        self.deferred = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.deferred == 0:
            self.deferred += 1
            return "421 4.3.2 Service busy, come back later"
        return await super().handle_DATA(server, session, envelope)


class AlwaysDeferHandler(RecordingHandler):
    async def handle_MAIL(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        return "451 4.7.1 Greylisted, try again"


class RejectDataHandler(RecordingHandler):
    def __init__(self) -> None:
        super().__init__()
        self.sessions = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.sessions += 1
        return "550 5.7.1 Message rejected as spam"


class RefuseSomeHandler(RecordingHandler):
    """Refuses recipients whose local part starts with ``nobody`` (550) or ``later`` (450)."""

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        if address.startswith("nobody"):
            return f"550 5.1.1 <{address}>: Recipient address rejected: User unknown"
        if address.startswith("later"):
            return "450 4.2.1 Mailbox busy"
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"


def test_every_recipient_gets_the_message_in_one_session(smtp_plain: SmtpServer) -> None:
    built = message("a@example.com", "b@example.com")
    outcome = deliver(settings_for(smtp_plain), built)
    assert outcome.accepted == ("a@example.com", "b@example.com")
    assert outcome.refused == () and outcome.attempts == 1
    [received] = smtp_plain.messages
    assert received.rcpt_tos == ("a@example.com", "b@example.com")
    assert received.mail_from == "relay@example.com"
    assert received.message()["Message-ID"] == built.message_id


def test_it_logs_in_with_the_keyring_password_over_starttls(smtp_starttls: SmtpServer) -> None:
    credentials.set_secret("default", "smtp.password", SMTP_PASSWORD)
    outcome = deliver(settings_for(smtp_starttls), message())
    assert outcome.accepted == ("ops@example.com",)
    assert smtp_starttls.logins == [("PLAIN", "relay@example.com", True)]
    assert len(smtp_starttls.messages) == 1


def test_it_delivers_over_implicit_tls(smtp_tls: SmtpServer) -> None:
    credentials.set_secret("default", "smtp.password", SMTP_PASSWORD)
    deliver(settings_for(smtp_tls), message())
    assert len(smtp_tls.messages) == 1


def test_a_wrong_password_is_an_auth_error_and_not_retried(smtp_starttls: SmtpServer) -> None:
    credentials.set_secret("default", "smtp.password", "wrong")
    with pytest.raises(AuthError):
        deliver(settings_for(smtp_starttls, retry_for="30s"), message())
    assert len(smtp_starttls.logins) == 1


def test_a_421_is_retried_in_a_new_session_and_then_succeeds(smtp_server_factory) -> None:  # type: ignore[no-untyped-def]
    server = smtp_server_factory(handler=DeferOnceHandler(), security="plain", auth=False)
    outcome = deliver(settings_for(server, retry_for="10s"), message(), sleep=lambda s: None)
    assert outcome.attempts == 2
    assert len(server.messages) == 1


def test_temporary_failures_past_retry_for_end_in_a_temporary_error(smtp_server_factory) -> None:  # type: ignore[no-untyped-def]
    server = smtp_server_factory(handler=AlwaysDeferHandler(), security="plain", auth=False)
    clock = iter(range(0, 1000, 10))  # each reading 10 s later: retry_for 30s allows 3 waits
    waits: list[float] = []
    with pytest.raises(TemporaryError, match="451 4.7.1 Greylisted") as caught:
        deliver(
            settings_for(server, retry_for="30s"), message(), sleep=waits.append, clock=lambda: next(clock)
        )
    assert caught.value.exit_code == 75
    assert "gave up after 3 attempts" in caught.value.message
    assert waits == [3.75, 7.5]  # retry_for/8, doubling, never past the deadline


def test_a_connection_refused_is_temporary(smtp_server_factory) -> None:  # type: ignore[no-untyped-def]
    server = smtp_server_factory(security="plain", auth=False)
    settings = settings_for(server, retry_for="0s")
    server.controller.stop()  # nothing listens on the port any more
    server.controller = None
    with pytest.raises(TemporaryError):
        deliver(settings, message(), sleep=lambda s: None)


def test_a_host_that_does_not_exist_is_not_retried() -> None:
    import socket

    from mailrelay_cli.errors import UnknownHostError
    from tests.sessions import open_smtp

    try:
        socket.getaddrinfo("no-such-host.invalid", 25)
    except socket.gaierror as e:
        if e.errno == socket.EAI_AGAIN:
            pytest.skip("no DNS resolver answers here")
    settings = settings_from_table(
        tomllib.loads(
            '[smtp]\nhost = "no-such-host.invalid"\nfrom = "relay@example.com"\nauth = "none"\n'
            'starttls = false\nretry_for = "2m"\n'
        ),
        Path("settings.toml"),
    )
    connections: list[Settings] = []

    def counting(settings: Settings):  # type: ignore[no-untyped-def]
        connections.append(settings)
        return open_smtp(settings)

    clock = iter(range(0, 10_000, 10))  # each reading 10 s later: 2m would allow ~12 attempts
    with pytest.raises(UnknownHostError, match="no-such-host.invalid") as caught:
        deliver(settings, message(), connect=counting, sleep=lambda s: None, clock=lambda: next(clock))
    assert caught.value.exit_code == 75
    assert len(connections) == 1
    assert "gave up after 1 attempt" in caught.value.message


def test_a_550_is_refused_at_once_without_retrying(smtp_server_factory) -> None:  # type: ignore[no-untyped-def]
    handler = RejectDataHandler()
    server = smtp_server_factory(handler=handler, security="plain", auth=False)
    with pytest.raises(ServerRefusedError, match="550 5.7.1 Message rejected as spam") as caught:
        deliver(settings_for(server, retry_for="1h"), message(), sleep=lambda s: None)
    assert caught.value.exit_code == 69
    assert handler.sessions == 1


def test_refused_recipients_are_listed_and_the_others_get_the_message(smtp_server_factory) -> None:  # type: ignore[no-untyped-def]
    server = smtp_server_factory(handler=RefuseSomeHandler(), security="plain", auth=False)
    outcome = deliver(settings_for(server), message("ops@example.com", "nobody@example.com"))
    assert outcome.accepted == ("ops@example.com",)
    [refusal] = outcome.refused
    assert refusal.address == "nobody@example.com" and refusal.code == 550
    assert "User unknown" in refusal.reply
    assert server.messages[0].rcpt_tos == ("ops@example.com",)


def test_every_recipient_refused_is_a_permanent_refusal(smtp_server_factory) -> None:  # type: ignore[no-untyped-def]
    server = smtp_server_factory(handler=RefuseSomeHandler(), security="plain", auth=False)
    with pytest.raises(ServerRefusedError, match="refused every recipient"):
        deliver(settings_for(server), message("nobody@example.com"))
    assert server.messages == []


def test_a_deferred_recipient_is_retried_alone(smtp_server_factory) -> None:  # type: ignore[no-untyped-def]
    server = smtp_server_factory(handler=RefuseSomeHandler(), security="plain", auth=False)
    clock = iter(range(0, 1000, 10))
    with pytest.raises(TemporaryError, match="delivered to ops@example.com"):
        deliver(
            settings_for(server, retry_for="15s"),
            message("ops@example.com", "later@example.com"),
            sleep=lambda s: None,
            clock=lambda: next(clock),
        )
    # The accepted recipient got exactly one copy; the later attempts asked only for "later".
    assert [m.rcpt_tos for m in server.messages] == [("ops@example.com",)]


def test_a_non_ascii_mailbox_is_sent_with_smtputf8_when_offered(smtp_plain: SmtpServer) -> None:
    outcome = deliver(settings_for(smtp_plain), message("Jürgen <jürgen@bücher.example>"))
    assert outcome.accepted == ("jürgen@bücher.example",)
    [received] = smtp_plain.messages
    assert received.rcpt_tos == ("jürgen@bücher.example",)
    headers = received.data.decode("utf-8").split("\r\n\r\n", 1)[0]
    assert "To: Jürgen <jürgen@bücher.example>" in headers


@pytest.fixture
def no_smtputf8_server() -> Any:
    from aiosmtpd.controller import Controller

    from tests.fixtures.smtp_servers import free_port

    handler = RecordingHandler()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port(), enable_SMTPUTF8=False)
    controller.start()
    yield SmtpServer("127.0.0.1", controller.port, "plain", handler, None)
    controller.stop()


def test_a_non_ascii_mailbox_is_refused_before_sending_when_smtputf8_is_not_offered(
    no_smtputf8_server: SmtpServer,
) -> None:
    with pytest.raises(ServerRefusedError, match="does not offer SMTPUTF8, which jürgen@"):
        deliver(settings_for(no_smtputf8_server), message("jürgen@example.com"))
    assert no_smtputf8_server.messages == []
