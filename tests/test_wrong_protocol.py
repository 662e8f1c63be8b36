"""A server of another protocol on the configured port is a wrong port (78), not "try again"
(issue 12, point 8)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from mailrelay_cli.config.endpoints import Endpoint
from mailrelay_cli.errors import ConfigError


def test_imap_pointed_at_an_smtp_port_names_the_port(  # type: ignore[no-untyped-def]
    run_cli, write_config, scripted_server_factory: Callable[..., Any]
) -> None:
    server = scripted_server_factory(greeting=b"220 mx.example.com ESMTP Postfix\r\n")
    write_config(
        f'[smtp]\nhost = "127.0.0.1"\nuser = "u"\nfrom = "u@example.com"\n'
        f'[imap]\nhost = "127.0.0.1"\nport = {server.port}\nstarttls = true\n'
        f"allow_plaintext_auth = true\n"
    )
    result = run_cli("test", "--imap-only")
    assert result.exit_code == 78, result.stdout + result.stderr
    out = result.stdout + result.stderr
    assert f"127.0.0.1:{server.port} is an SMTP server, not IMAP" in out
    assert f"imap.port {server.port} is the wrong port" in out
    assert "mailrelay config set imap.port" in out
    assert "b'" not in out and "try again later" not in out


def test_smtp_pointed_at_an_imap_port_names_the_port(scripted_server_factory) -> None:  # type: ignore[no-untyped-def]
    from mailrelay_cli.transport import smtp

    server = scripted_server_factory(greeting=b"* OK [CAPABILITY IMAP4rev1 STARTTLS] Dovecot ready.\r\n")
    endpoint = Endpoint(
        "smtp", "127.0.0.1", server.port, "plain", starttls_required=False, timeout=5, connect_timeout=5
    )
    with pytest.raises(ConfigError) as caught:
        smtp.connect(endpoint)
    assert caught.value.message.startswith(
        f"127.0.0.1:{server.port} is an IMAP server, not SMTP "
        '(it greeted "* OK [CAPABILITY IMAP4rev1 STARTTLS]'
    )
    assert "mailrelay config set smtp.port PORT" in (caught.value.hint or "")


def test_an_unrecognised_garbled_greeting_keeps_the_usual_error(scripted_server_factory) -> None:  # type: ignore[no-untyped-def]
    from mailrelay_cli.errors import MailrelayError
    from mailrelay_cli.transport import imap

    server = scripted_server_factory(greeting=b"garbage\r\n")
    endpoint = Endpoint(
        "imap", "127.0.0.1", server.port, "plain", starttls_required=False, timeout=5, connect_timeout=5
    )
    with pytest.raises(MailrelayError) as caught:
        imap.connect(endpoint)
    assert not isinstance(caught.value, ConfigError)


def test_the_greeting_is_shown_as_text_without_control_characters() -> None:
    from mailrelay_cli.transport.wrong_protocol import shown

    assert shown(b"220 mx\x1b[31m ESMTP\r\n") == "220 mx?[31m ESMTP"
