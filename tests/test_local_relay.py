"""A relay on this host without TLS (Postfix on localhost): one hint with every line that works
(issue 12, point 11), and the README recipe works as written."""

from __future__ import annotations

import re
from pathlib import Path

from tests.fixtures.smtp_servers import SmtpServer

README = Path(__file__).resolve().parent.parent / "README.md"


def test_a_local_relay_without_starttls_gets_one_hint_that_works(  # type: ignore[no-untyped-def]
    run_cli, write_config, smtp_plain: SmtpServer
) -> None:
    write_config(
        f'[smtp]\nhost = "127.0.0.1"\nport = {smtp_plain.port}\nuser = "ci"\nfrom = "ci@example.com"\n'
    )
    first = run_cli("send", "--event", "test", "--to", "ops@example.com")
    assert first.exit_code == 69
    [hint] = [line for line in first.stderr.splitlines() if line.startswith("hint: ")]
    assert "smtp.tls true" not in hint
    commands = re.findall(r"mailrelay config set [\w.]+ \w+", hint)
    assert commands == ["mailrelay config set smtp.starttls false", "mailrelay config set smtp.auth none"]
    for command in commands:
        assert run_cli(*command.split()[1:]).exit_code == 0
    second = run_cli("send", "--event", "test", "--to", "ops@example.com")
    assert second.exit_code == 0, second.stderr
    assert len(smtp_plain.messages) == 1


def test_a_remote_server_without_starttls_keeps_the_tls_port_hint(  # type: ignore[no-untyped-def]
    run_cli, write_config, smtp_plain: SmtpServer
) -> None:
    from mailrelay_cli.config.endpoints import Endpoint
    from mailrelay_cli.transport.tls_explain import starttls_not_offered

    error = starttls_not_offered(Endpoint("smtp", "mail.example.com", 587, "starttls"))
    assert "smtp.tls true" in (error.hint or "")


def test_an_unset_user_on_a_local_relay_suggests_auth_none(run_cli, write_config) -> None:  # type: ignore[no-untyped-def]
    write_config('[smtp]\nhost = "localhost"\nfrom = "ci@example.com"\n')
    result = run_cli("config", "check")
    assert result.exit_code == 78
    assert "mailrelay config set smtp.auth none" in result.stderr


def test_the_readme_recipe_for_a_local_relay_works(  # type: ignore[no-untyped-def]
    run_cli, config_file: Path, smtp_plain: SmtpServer
) -> None:
    text = README.read_text()
    section = text.split("### Local relay (Postfix on localhost)", 1)[1].split("\n#", 1)[0]
    block = section.split("```sh\n", 1)[1].split("```", 1)[0]
    lines = [line.split("#", 1)[0].strip() for line in block.splitlines()]
    commands = [line for line in lines if line.startswith("mailrelay ")]
    assert commands
    for command in commands:
        args = command.split()[1:]
        args = [str(smtp_plain.port) if a == "25" else a for a in args]
        args = ["127.0.0.1" if a == "localhost" else a for a in args]
        args = [a.strip('"') for a in args]
        if args[0] == "send":
            args += ["--to", "ops@example.com"] if "--to" not in args else []
        result = run_cli(*args)
        assert result.exit_code == 0, (command, result.stderr)
    assert smtp_plain.messages
