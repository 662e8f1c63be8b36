"""``process-replies`` draws a progress bar on a terminal once a run takes longer than a second;
never under -q, --json, or without a terminal (issue 12, point 3).

The slow run is a real one: three decisions whose ``on_decision`` hook takes 0.45 s each."""

from __future__ import annotations

import mailbox
from pathlib import Path

import pytest

from mailrelay_cli import store
from mailrelay_cli.approvals import service as approvals
from mailrelay_cli.config.load import load_settings
from tests.reply_builders import reply, request_text
from tests.terminal import run_in_terminal

BAR_TEXT = "running on_decision hooks"


def _slow_run(write_config, tmp_path: Path, hook_seconds: float) -> None:  # type: ignore[no-untyped-def]
    box = mailbox.Maildir(str(tmp_path / "Maildir"), create=True)
    settings = load_settings(
        write_config(
            f'[smtp]\nhost = "127.0.0.1"\nauth = "none"\nfrom = "relay@example.com"\n'
            f'[approval]\nenabled = true\nmailbox = "maildir:{box._path}"\n'
            f'on_decision = ["/bin/sleep", "{hook_seconds}"]\n[state]\npath = "{tmp_path / "state"}"\n'
        )
    )
    for _ in range(3):
        with store.open_store(settings.state_dir) as db:
            request = approvals.create_approval(
                settings, db, title="Deploy 1.4", approvers=["alice@example.com"]
            )
        box.add(
            reply(request.subject, "alice@example.com", "Approve", quoted=request_text(request.reference))
        )


@pytest.mark.parametrize("columns", [80, 120])
def test_a_slow_run_on_a_terminal_shows_a_progress_bar(write_config, tmp_path: Path, columns: int) -> None:  # type: ignore[no-untyped-def]
    _slow_run(write_config, tmp_path, 0.45)
    code, screen = run_in_terminal(["process-replies"], columns=columns)
    assert code == 0, screen
    assert BAR_TEXT in screen
    assert "read 3, deleted 3, left 0 (3 approved)" in screen


@pytest.mark.parametrize("flag", ["-q", "--json"])
def test_quiet_and_json_never_show_a_bar(write_config, tmp_path: Path, flag: str) -> None:  # type: ignore[no-untyped-def]
    _slow_run(write_config, tmp_path, 0.45)
    code, screen = run_in_terminal(["process-replies", flag])
    assert code == 0, screen
    assert BAR_TEXT not in screen


def test_no_terminal_never_shows_a_bar(run_cli, write_config, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _slow_run(write_config, tmp_path, 0.45)
    result = run_cli("process-replies")
    assert result.exit_code == 0
    assert BAR_TEXT not in result.stdout + result.stderr
