"""What people see: machine-relevant text never wrapped, no padding when piped, dates that fit
(issue 12, points 13 and 14). Terminal cases run in a pty of a fixed width."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from mailrelay_cli import store
from mailrelay_cli.approvals import service as approvals
from mailrelay_cli.config.load import load_settings
from mailrelay_cli.config.records import Settings
from tests.fixtures.smtp_servers import SmtpServer
from tests.terminal import run_in_terminal

LONG_TITLE = "Deploy the webshop release 2.4.1 with the new checkout flow to production in eu-west-1"


@pytest.fixture
def settings(write_config, tmp_path: Path) -> Settings:  # type: ignore[no-untyped-def]
    return load_settings(
        write_config(
            '[smtp]\nhost = "smtp.example.com"\nfrom = "relay@example.com"\n'
            f'[approval]\nenabled = true\n[state]\npath = "{tmp_path / "state"}"\n'
        )
    )


def _ask(settings: Settings, title: str = LONG_TITLE) -> str:
    with store.open_store(settings.state_dir) as db:
        return approvals.create_approval(
            settings, db, title=title, approvers=["alice.longname@example.com"]
        ).approval.id


def _screen_lines(screen: str) -> list[str]:
    return re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", screen).split("\n")


def test_piped_tables_have_no_trailing_spaces(run_cli, settings: Settings) -> None:  # type: ignore[no-untyped-def]
    _ask(settings, "short")
    _ask(settings)
    for args in (["approvals", "list"], ["secret", "list"]):
        lines = run_cli(*args).stdout.splitlines()
        assert len(lines) >= 3, lines
        assert all(line == line.rstrip() for line in lines), args


def test_piped_approvals_list_keeps_iso_dates_and_whole_titles(run_cli, settings: Settings) -> None:  # type: ignore[no-untyped-def]
    approval_id = _ask(settings)
    [header, row] = run_cli("approvals", "list").stdout.splitlines()
    assert header.split() == ["id", "status", "expires", "decided", "by", "title"]
    assert row.startswith(f"{approval_id}  pending")
    assert re.search(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d", row) and row.endswith(LONG_TITLE)


def test_approvals_list_at_80_columns_shortens_dates_never_cuts_them(settings: Settings) -> None:
    approval_id = _ask(settings)
    code, screen = run_in_terminal(["approvals", "list"], columns=80)
    assert code == 0, screen
    lines = _screen_lines(screen)
    assert all(len(line) <= 80 for line in lines), screen
    [row] = [line for line in lines if line.startswith(approval_id)]
    assert re.search(rf"^{approval_id}\s+pending\s+\d\d-\d\d \d\d:\d\dZ\s", row), row
    assert "…" not in screen


def test_approvals_list_at_120_columns_keeps_the_id_whole(settings: Settings) -> None:
    approval_id = _ask(settings)
    code, screen = run_in_terminal(["approvals", "list"], columns=120)
    assert code == 0, screen
    assert any(line.startswith(approval_id + " ") for line in _screen_lines(screen)), screen


@pytest.mark.parametrize("columns", [80, 120])
def test_the_send_output_never_splits_the_id_or_message_id(  # type: ignore[no-untyped-def]
    write_config, tmp_path: Path, smtp_plain: SmtpServer, columns: int
) -> None:
    write_config(
        smtp_plain.toml(auth="none") + f'[approval]\nenabled = true\n[state]\npath = "{tmp_path / "state"}"\n'
    )
    code, screen = run_in_terminal(
        [
            "send",
            "--event",
            "approval-requested",
            "--to",
            "alice.longname@example.com",
            "--var",
            f"title={LONG_TITLE}",
        ],
        columns=columns,
    )
    assert code == 0, screen
    message_id = smtp_plain.messages[0].message()["Message-ID"]
    assert message_id in screen.replace("\n", "X")  # whole, no line break inside
    last = [line for line in _screen_lines(screen) if line.strip()][-1]
    assert re.fullmatch(r"[A-Z0-9]{6}", last.strip()), screen


def test_checklist_hints_keep_commands_whole_at_60_columns(write_config) -> None:  # type: ignore[no-untyped-def]
    write_config('[smtp]\nhost = "127.0.0.1"\nfrom = "a@example.com"\n')
    code, screen = run_in_terminal(["test", "--to", "ops@example.com"], columns=60)
    assert code == 78, screen
    assert (
        "mailrelay config set smtp.user USER; a relay on this host usually needs no login: "
        "mailrelay config set smtp.auth none" in screen
    ), screen


def test_no_color_turns_colours_off_on_a_terminal(write_config) -> None:  # type: ignore[no-untyped-def]
    import os

    write_config('[smtp]\nhost = "127.0.0.1"\nfrom = "a@example.com"\nauth = "none"\n')
    coloured = run_in_terminal(["test", "--to", "ops@example.com"], columns=100)[1]
    assert "\x1b[3" in coloured  # the ticks and crosses are coloured by default
    plain = run_in_terminal(
        ["test", "--to", "ops@example.com"], columns=100, env={**os.environ, "NO_COLOR": "1"}
    )[1]
    assert "\x1b[3" not in plain and "✗" in plain
