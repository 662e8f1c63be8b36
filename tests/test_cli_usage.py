"""Usage that says what it means (issue 12, points 12, 16, 17): help, did-you-mean, refused
pairs, global options anywhere, and shell completion."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from click.shell_completion import ShellComplete

from mailrelay_cli.cli import cli


def test_bare_mailrelay_prints_help_and_exits_0(run_cli) -> None:  # type: ignore[no-untyped-def]
    result = run_cli()
    assert result.exit_code == 0
    assert result.stdout.startswith("Usage: mailrelay")
    assert "error" not in result.stderr


def test_an_unknown_event_is_a_usage_error_with_a_suggestion(run_cli, write_config) -> None:  # type: ignore[no-untyped-def]
    write_config('[smtp]\nhost = "h"\nfrom = "bot@example.com"\nauth = "none"\n')
    result = run_cli("send", "--event", "request-faild", "--to", "a@example.com")
    assert result.exit_code == 2
    assert "did you mean request-failed?" in result.stderr
    assert "hint: mailrelay events show request-failed" in result.stderr


def test_schedule_refuses_cron_and_systemd_together(run_cli, write_config) -> None:  # type: ignore[no-untyped-def]
    write_config('[smtp]\nhost = "h"\n')
    result = run_cli("schedule", "--cron", "--systemd")
    assert result.exit_code == 2
    assert result.stderr.startswith("mailrelay: error: --cron and --systemd")
    assert result.stdout == ""


@pytest.mark.parametrize(
    "args",
    [
        ["config", "path", "--config", "{path}"],
        ["--config", "{path}", "config", "path"],
    ],
)
def test_config_works_before_and_after_the_command(run_cli, tmp_path, args) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "s.toml"
    result = run_cli(*[a.format(path=path) for a in args])
    assert result.stdout.strip() == str(path)


def test_quiet_after_the_command_quiets_it(run_cli, write_config) -> None:  # type: ignore[no-untyped-def]
    write_config('[smtp]\nhost = "h"\n')
    assert run_cli("config", "set", "smtp.port", "2525").stdout != ""
    assert run_cli("config", "set", "smtp.port", "2526", "-q").stdout == ""


def test_verbose_after_the_command_counts(run_cli, write_config) -> None:  # type: ignore[no-untyped-def]
    from mailrelay_cli.cli.common import AppContext

    seen = []
    original = AppContext.settings

    def spy(self):  # type: ignore[no-untyped-def]
        seen.append(self.verbose)
        return original(self)

    write_config('[smtp]\nhost = "h"\n')
    AppContext.settings = spy  # type: ignore[method-assign]
    try:
        run_cli("-v", "config", "show", "-vv")
    finally:
        AppContext.settings = original  # type: ignore[method-assign]
    assert seen == [3]


def test_json_before_the_command_means_the_same_as_after(run_cli, write_config) -> None:  # type: ignore[no-untyped-def]
    write_config('[smtp]\nhost = "h"\n')
    before = run_cli("--json", "config", "get", "smtp.host").stdout
    after = run_cli("config", "get", "smtp.host", "--json").stdout
    assert before == after and json.loads(before)["value"] == "h"


def test_json_after_a_command_without_its_own_json_makes_errors_json(run_cli, write_config) -> None:  # type: ignore[no-untyped-def]
    write_config('[smtp]\nhost = "h"\n')
    result = run_cli("config", "set", "smtp.port", "x", "--json")
    assert result.exit_code == 78
    assert json.loads(result.stderr)["exit_code"] == 78


def test_help_summaries_are_whole_sentences(run_cli) -> None:  # type: ignore[no-untyped-def]
    result = run_cli("--help", env={"COLUMNS": "80"})
    commands = result.stdout.split("Commands:")[1]
    assert "..." not in commands
    assert "failing hooks, OAuth refresh" in " ".join(result.stdout.split())


@pytest.mark.parametrize(
    "group", ["config", "secret", "auth", "approvals", "events", "hooks", "state", "replies"]
)
def test_group_help_summaries_are_whole(run_cli, group: str) -> None:  # type: ignore[no-untyped-def]
    result = run_cli(group, "--help", env={"COLUMNS": "80"})
    assert result.exit_code == 0
    import re

    assert not re.search(r"\.\.\.$", result.stdout.split("Commands:")[1], re.MULTILINE)


# -- completion ---------------------------------------------------------------------------


def _complete(args: list[str], incomplete: str) -> list[str]:
    completer = ShellComplete(cli, {}, "mailrelay", "_MAILRELAY_COMPLETE")
    return [item.value for item in completer.get_completions(args, incomplete)]


def test_completes_commands_and_options() -> None:
    assert "process-replies" in _complete([], "pro")
    assert "--event" in _complete(["send"], "--ev")


def test_completes_event_names() -> None:
    assert _complete(["send", "--event"], "request-") == ["request-completed", "request-failed"]
    assert "approval-requested" in _complete(["events", "show"], "")


def test_completes_settings_keys() -> None:
    assert _complete(["config", "get"], "smtp.ho") == ["smtp.host"]
    assert "approval.on_decision" in _complete(["config", "set"], "approval.")


def test_completes_secret_names() -> None:
    assert _complete(["secret", "set"], "smtp.") == ["smtp.password", "smtp.client_secret"]


def test_completes_approval_ids(write_config) -> None:  # type: ignore[no-untyped-def]
    from mailrelay_cli.approvals import service as approvals
    from mailrelay_cli.config.load import load_settings
    from mailrelay_cli.store import open_store

    settings = load_settings(write_config('[smtp]\nfrom = "bot@example.com"\n'))
    with open_store(settings.state_dir) as store:
        made = approvals.create_approval(settings, store, title="Deploy", approvers=["a@example.com"])
    assert _complete(["approvals", "wait"], "") == [made.approval.id]


def test_completing_approval_ids_never_creates_a_store(write_config) -> None:  # type: ignore[no-untyped-def]
    from mailrelay_cli.config.load import load_settings
    from mailrelay_cli.store import store_exists

    settings = load_settings(write_config('[smtp]\nfrom = "bot@example.com"\n'))
    assert _complete(["approvals", "show"], "") == []
    assert not store_exists(settings)


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_completion_prints_the_script_for_each_shell(run_cli, shell: str) -> None:  # type: ignore[no-untyped-def]
    result = run_cli("completion", shell)
    assert result.exit_code == 0
    assert "_MAILRELAY_COMPLETE" in result.stdout


def test_the_bash_script_completes_through_the_installed_command(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import shutil

    if shutil.which("bash") is None:
        pytest.skip("no bash")
    script = subprocess.run(
        [sys.executable, "-m", "mailrelay_cli", "completion", "bash"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    mailrelay = tmp_path / "mailrelay"
    mailrelay.write_text(f'#!/bin/sh\nexec {sys.executable} -m mailrelay_cli "$@"\n')
    mailrelay.chmod(0o755)
    probe = (
        script + "\nCOMP_WORDS=(mailrelay send --event request-f); COMP_CWORD=3;"
        " _mailrelay_completion mailrelay; printf '%s\\n' \"${COMPREPLY[@]}\"\n"
    )
    out = subprocess.run(
        ["bash", "-c", probe],
        capture_output=True,
        text=True,
        env={"PATH": f"{tmp_path}:/usr/bin:/bin", "HOME": str(tmp_path)},
    )
    assert out.stdout.split() == ["request-failed"], out.stderr


def test_send_takes_quiet_after_the_command(run_cli, write_config, smtp_plain) -> None:  # type: ignore[no-untyped-def]
    write_config(smtp_plain.toml(auth="none"))
    loud = run_cli("send", "--event", "test", "--to", "ops@example.com")
    quiet = run_cli("send", "-q", "--event", "test", "--to", "ops@example.com")
    assert loud.exit_code == quiet.exit_code == 0, quiet.stderr
    assert loud.stdout.startswith("sent test") and quiet.stdout == ""
