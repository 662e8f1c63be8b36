"""``send`` says each retry as it happens, on a terminal or with -v; -q stays quiet until the end
(issue 12, point 1)."""

from __future__ import annotations

import re
from pathlib import Path

from tests.fixtures.smtp_servers import free_port
from tests.terminal import run_in_terminal

RETRY = re.compile(
    r"^mailrelay: retrying in [0-9.]+s: .*refused.* "
    r"\(attempt (\d+), giving up at \d\d:\d\d:\d\d\)$",
    re.MULTILINE | re.IGNORECASE,
)


def _closed_port_settings(write_config) -> Path:  # type: ignore[no-untyped-def]
    return write_config(
        f'[smtp]\nhost = "127.0.0.1"\nport = {free_port()}\nauth = "none"\n'
        'starttls = false\nfrom = "ci@example.com"\nretry_for = "1s"\n'
    )


def test_verbose_prints_each_retry_with_attempt_and_deadline(run_cli, write_config) -> None:  # type: ignore[no-untyped-def]
    _closed_port_settings(write_config)
    result = run_cli("send", "--event", "test", "--to", "ops@example.com", "-v")
    assert result.exit_code == 75
    attempts = [int(n) for n in RETRY.findall(result.stderr)]
    assert attempts and attempts == list(range(2, 2 + len(attempts))), result.stderr
    assert result.stderr.rstrip().splitlines()[-2].startswith("mailrelay: error:")


def test_quiet_prints_only_the_final_error(run_cli, write_config) -> None:  # type: ignore[no-untyped-def]
    _closed_port_settings(write_config)
    result = run_cli("-q", "send", "--event", "test", "--to", "ops@example.com", "-v")
    assert result.exit_code == 75
    assert not RETRY.search(result.stderr)
    assert "gave up after" in result.stderr


def test_no_terminal_and_no_verbose_prints_no_retries(run_cli, write_config) -> None:  # type: ignore[no-untyped-def]
    _closed_port_settings(write_config)
    result = run_cli("send", "--event", "test", "--to", "ops@example.com")
    assert result.exit_code == 75
    assert not RETRY.search(result.stderr)


def test_a_terminal_sees_the_retries(write_config) -> None:  # type: ignore[no-untyped-def]
    _closed_port_settings(write_config)
    code, text = run_in_terminal(["send", "--event", "test", "--to", "ops@example.com"])
    assert code == 75, text
    assert RETRY.search(text), text
