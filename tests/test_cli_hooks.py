"""``status`` headlines failing hooks; ``hooks retry|drop`` clear them (issue 12, point 15).

Each test runs on both state stores (SQLite, and a shared PostgreSQL through ``state.url``)."""

from __future__ import annotations

import mailbox
from pathlib import Path

import pytest

from mailrelay_cli.approvals import service as approvals
from mailrelay_cli.auth.store_access import open_state
from mailrelay_cli.config.load import load_settings
from tests.reply_builders import reply, request_text


def _settings_text(box: Path, state: Path, hook: str, url: str | None = None) -> str:
    return (
        f'[smtp]\nhost = "127.0.0.1"\nauth = "none"\nfrom = "relay@example.com"\n'
        f'[approval]\nenabled = true\nmailbox = "maildir:{box}"\non_decision = ["{hook}"]\n'
        f'[state]\npath = "{state}"\n' + (f'url = "{url}"\n' if url else "")
    )


@pytest.fixture
def failing_hook(run_cli, write_config, tmp_path: Path, state_url):  # type: ignore[no-untyped-def]
    """A decision recorded whose on_decision hook (/bin/false) failed; its approval id."""
    box = mailbox.Maildir(str(tmp_path / "Maildir"), create=True)
    path = write_config(_settings_text(Path(box._path), tmp_path / "state", "/bin/false", state_url))
    settings = load_settings(path)
    with open_state(settings) as db:
        request = approvals.create_approval(settings, db, title="Deploy 1.4", approvers=["alice@example.com"])
    box.add(reply(request.subject, "alice@example.com", "Approve", quoted=request_text(request.reference)))
    result = run_cli("process-replies")
    assert result.exit_code == 0, result.stderr
    return request.approval.id


def test_status_headlines_the_failing_hook_not_the_run_age(run_cli, failing_hook: str) -> None:  # type: ignore[no-untyped-def]
    result = run_cli("status")
    headline = result.stdout.splitlines()[0]
    assert headline.startswith(f"WARNING: on_decision hook for {failing_hook} failing after 1 attempt(s)")
    assert "mailrelay hooks retry" in headline
    assert "last successful" not in headline


def test_hooks_list_shows_the_failing_hook(run_cli, failing_hook: str) -> None:  # type: ignore[no-untyped-def]
    result = run_cli("hooks", "list")
    assert result.stdout.startswith(f"{failing_hook} failed after 1 attempt(s)")


def test_retry_after_fixing_the_hook_clears_it(
    run_cli,
    write_config,
    tmp_path: Path,  # type: ignore[no-untyped-def]
    failing_hook: str,
    state_url,
) -> None:
    write_config(_settings_text(tmp_path / "Maildir", tmp_path / "state", "/bin/true", state_url))
    result = run_cli("hooks", "retry")
    assert result.exit_code == 0, result.stderr
    assert result.stdout == f"{failing_hook}: ok (attempt 2)\n"
    assert run_cli("status").stdout.startswith("OK: ")


def test_retry_of_a_hook_still_broken_exits_75_naming_drop(run_cli, failing_hook: str) -> None:  # type: ignore[no-untyped-def]
    result = run_cli("hooks", "retry", failing_hook)
    assert result.exit_code == 75
    assert f"mailrelay hooks drop {failing_hook}" in result.stderr


def test_drop_stops_the_hook_for_good(run_cli, failing_hook: str) -> None:  # type: ignore[no-untyped-def]
    result = run_cli("hooks", "drop", failing_hook)
    assert result.exit_code == 0
    assert result.stdout == f"dropped 1 hook(s): {failing_hook}\n"
    assert run_cli("status").stdout.startswith("OK: ")
    assert run_cli("hooks", "list").stdout == "no hooks owed\n"
    assert run_cli("process-replies").exit_code == 0  # a later run does not run it again
    assert run_cli("status").stdout.startswith("OK: ")


def test_drop_of_an_id_with_no_hook_owed_is_65(run_cli, failing_hook: str) -> None:  # type: ignore[no-untyped-def]
    result = run_cli("hooks", "drop", "NOPE42")
    assert result.exit_code == 65
    assert "hint: mailrelay hooks list" in result.stderr


def test_drop_needs_an_id_or_all_failing(run_cli, failing_hook: str) -> None:  # type: ignore[no-untyped-def]
    assert run_cli("hooks", "drop").exit_code == 2
    assert run_cli("hooks", "drop", "--all-failing").stdout == f"dropped 1 hook(s): {failing_hook}\n"


def test_list_json_is_one_object_per_hook(run_cli, failing_hook: str) -> None:  # type: ignore[no-untyped-def]
    import json

    [line] = run_cli("hooks", "list", "--json").stdout.splitlines()
    shown = json.loads(line)
    assert (shown["approval_id"], shown["status"], shown["attempts"]) == (failing_hook, "failed", 1)
    assert set(shown) == {"approval_id", "status", "attempts", "last_error", "last_attempt_at"}
