"""IMAP Properties driving real connections: Dovecot, a TLS-1.2-only server, a silent server."""

from __future__ import annotations

import socket
import ssl
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from mailrelay_cli.auth import credentials
from mailrelay_cli.config import endpoints
from mailrelay_cli.config.endpoints import endpoint_for
from mailrelay_cli.config.load import load_settings
from mailrelay_cli.config.records import Settings
from mailrelay_cli.errors import ConfigError, ExitCode, TemporaryError
from mailrelay_cli.transport import imap
from tests.fixtures import toml_text
from tests.fixtures.certs import CertFiles
from tests.fixtures.dovecot import Dovecot, MailUser
from tests.sessions import open_imap

DEFAULT_BLOCK = """\
PROTOCOL=imap
mail.${{PROTOCOL}}.host=${{IMAP_HOST_NAME}}
mail.${{PROTOCOL}}.port=${{IMAP_HOST_PORT}}
mail.${{PROTOCOL}}.socketFactory.class=javax.net.ssl.SSLSocketFactory
mail.${{PROTOCOL}}.starttls.enable=${{IMAP_ENABLE_STARTTLS}}
mail.${{PROTOCOL}}.socketFactory.port=${{IMAP_HOST_PORT}}
"""

Make = Callable[..., Settings]


@pytest.fixture
def settings_with(write_config: Callable[[str], Path]) -> Make:
    """Settings whose [imap] table is ``fields`` plus ``properties`` (password in the keyring)."""

    def make(properties: str, password: str = "unused", **fields: object) -> Settings:
        write_config(toml_text.table("imap", {"properties": properties, **fields}))
        credentials.set_secret("default", "imap.password", password)
        return load_settings()

    return make


def dovecot_fields(dovecot: Dovecot, user: MailUser, port: int) -> dict[str, object]:
    return {
        "host": dovecot.host,
        "port": port,
        "user": user.name,
        "tls_ca_file": str(dovecot.ca_file),
        "timeout": 5,
    }


def test_default_block_on_the_implicit_tls_port_logs_in_over_tls(
    dovecot: Dovecot, mail_user: MailUser, settings_with: Make
) -> None:
    dovecot.append(mail_user, b"Subject: one\r\n\r\nbody\r\n")
    settings = settings_with(
        DEFAULT_BLOCK, mail_user.password, **dovecot_fields(dovecot, mail_user, dovecot.imaps_port)
    )
    assert endpoint_for(settings.imap).security == "tls"
    with open_imap(settings) as conn:
        assert conn.has_tls
        assert imap.select_folder(conn, "INBOX") == 1


def test_protocol_imap_with_starttls_on_the_plain_port_upgrades_before_login(
    dovecot: Dovecot, mail_user: MailUser, settings_with: Make
) -> None:
    block = (
        "PROTOCOL=imap\nmail.${{PROTOCOL}}.host=${{IMAP_HOST_NAME}}\n"
        "mail.${{PROTOCOL}}.port=${{IMAP_HOST_PORT}}\n"
        "mail.${{PROTOCOL}}.starttls.enable=true\n"
    )
    settings = settings_with(
        block, mail_user.password, **dovecot_fields(dovecot, mail_user, dovecot.imap_port), tls=False
    )
    assert endpoint_for(settings.imap).security == "starttls"
    with open_imap(settings) as conn:
        assert conn.has_tls
        assert imap.select_folder(conn, "INBOX") == 0


def test_port_property_wins_over_the_field_and_reaches_the_server(
    dovecot: Dovecot, mail_user: MailUser, settings_with: Make
) -> None:
    fields = dovecot_fields(dovecot, mail_user, 1)  # the field points nowhere
    settings = settings_with(
        f"mail.imap.port={dovecot.imaps_port}\nmail.imap.ssl.enable=true\n", mail_user.password, **fields
    )
    with open_imap(settings) as conn:
        assert conn.has_tls


def test_ssl_trust_star_connects_to_an_untrusted_certificate_and_warns(
    dovecot: Dovecot, mail_user: MailUser, settings_with: Make
) -> None:
    fields = dovecot_fields(dovecot, mail_user, dovecot.imaps_port)
    del fields["tls_ca_file"]  # the session CA is unknown to the system store
    settings = settings_with(DEFAULT_BLOCK + "mail.imap.ssl.trust=*\n", mail_user.password, **fields)
    with open_imap(settings) as conn:
        assert conn.has_tls
    assert endpoints.warnings(endpoint_for(settings.imap))


def test_without_ssl_trust_the_untrusted_certificate_is_refused(
    dovecot: Dovecot, mail_user: MailUser, settings_with: Make
) -> None:
    fields = dovecot_fields(dovecot, mail_user, dovecot.imaps_port)
    del fields["tls_ca_file"]
    settings = settings_with(DEFAULT_BLOCK, mail_user.password, **fields)
    with pytest.raises(ConfigError) as caught, open_imap(settings):
        pass
    assert caught.value.exit_code == ExitCode.CONFIG


# -- a server that speaks TLS 1.2 at most ---------------------------------------------


@pytest.fixture
def tls12_server(server_certs: CertFiles) -> Iterator[int]:
    """An implicit-TLS IMAP greeter whose TLS stops at 1.2; its port."""
    context = server_certs.server_context()
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.maximum_version = ssl.TLSVersion.TLSv1_2
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.2)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                raw, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            raw.settimeout(5)
            try:
                with context.wrap_socket(raw, server_side=True) as tls:
                    tls.sendall(b"* OK TLS 1.2 only\r\n")
                    for line in tls.makefile("rb"):
                        tag = line.split(b" ", 1)[0]
                        tls.sendall(b"* CAPABILITY IMAP4rev1\r\n" + tag + b" OK done\r\n")
            except (OSError, ssl.SSLError):
                raw.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        stop.set()
        thread.join(timeout=5)
        listener.close()


def test_ssl_protocols_tls13_against_a_tls12_server_fails_saying_both_sides(
    tls12_server: int, server_certs: CertFiles, settings_with: Make
) -> None:
    settings = settings_with(
        DEFAULT_BLOCK + "mail.imap.ssl.protocols=TLSv1.3\n",
        host="127.0.0.1",
        port=tls12_server,
        user="u@example.test",
        tls_ca_file=str(server_certs.ca),
        timeout=5,
    )
    with pytest.raises(ConfigError) as caught, open_imap(settings):
        pass
    message = caught.value.message
    assert f"127.0.0.1:{tls12_server}" in message
    assert "this client allows TLSv1.3" in message and "the server accepts TLSv1.2" in message
    assert "ssl.protocols" in (caught.value.hint or "")


def test_ssl_protocols_allowing_tls12_reaches_the_tls12_server(
    tls12_server: int, server_certs: CertFiles, settings_with: Make
) -> None:
    settings = settings_with(
        DEFAULT_BLOCK + "mail.imap.ssl.protocols=TLSv1.2 TLSv1.3\n",
        host="127.0.0.1",
        port=tls12_server,
        user="u@example.test",
        tls_ca_file=str(server_certs.ca),
        timeout=5,
    )
    conn = imap.connect(endpoint_for(settings.imap))
    try:
        assert conn.sock.version() == "TLSv1.2"
    finally:
        conn.shutdown()


# -- a server that accepts and never answers ----------------------------------------------


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port whose connections the kernel accepts (listen backlog) and nobody ever answers."""
    listener = socket.create_server(("127.0.0.1", 0), backlog=8)
    try:
        yield listener.getsockname()[1]
    finally:
        listener.close()


def test_timeout_property_ends_the_wait_for_a_greeting(silent_port: int, settings_with: Make) -> None:
    block = "PROTOCOL=imap\nmail.imap.starttls.enable=true\nmail.imap.timeout=300\n"
    settings = settings_with(block, host="127.0.0.1", port=silent_port, user="u@example.test", timeout=30)
    with pytest.raises(TemporaryError) as caught, open_imap(settings):
        pass
    assert caught.value.exit_code == ExitCode.TEMPFAIL
    assert f"127.0.0.1:{silent_port}" in caught.value.message
    assert "0.3s" in caught.value.message


def test_timeout_property_ends_a_tls_handshake_that_never_completes(
    silent_port: int, settings_with: Make
) -> None:
    settings = settings_with(
        DEFAULT_BLOCK + "mail.imap.timeout=300\n",
        host="127.0.0.1",
        port=silent_port,
        user="u@example.test",
        timeout=30,
    )
    with pytest.raises(TemporaryError) as caught, open_imap(settings):
        pass
    assert "timed out after 0.3s" in caught.value.message


def test_turned_off_certificate_checks_warn_on_every_run_even_quiet(
    dovecot: Dovecot, mail_user: MailUser, settings_with: Make, run_cli
) -> None:
    fields = dovecot_fields(dovecot, mail_user, dovecot.imaps_port)
    del fields["tls_ca_file"]
    settings_with(DEFAULT_BLOCK + "mail.imap.ssl.trust=*\n", mail_user.password, **fields)
    result = run_cli("-q", "test", "--imap-only")
    assert result.exit_code == 0, result.stderr
    assert "mailrelay: warning: certificate checks are off for imap" in result.stderr
