"""The one error handler: every failure is `mailrelay: error:` + `hint:`, or JSON, with its code."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from mailrelay_cli.approvals import service as approvals
from mailrelay_cli.auth import credentials
from mailrelay_cli.config.load import load_settings
from mailrelay_cli.store import open_store
from mailrelay_cli.store.sqlite import db_path
from tests.fixtures.watcher import wait_until


def test_unknown_command_is_a_usage_error_in_the_house_format(run_cli) -> None:
    result = run_cli("bogus")
    assert result.exit_code == 2
    assert result.stderr == "mailrelay: error: No such command 'bogus'.\nhint: mailrelay --help\n"


def test_unknown_option_names_the_command_help(run_cli) -> None:
    result = run_cli("send", "--event", "test", "--bogus")
    assert result.exit_code == 2
    assert result.stderr.startswith("mailrelay: error: No such option '--bogus'")
    assert result.stderr.endswith("hint: mailrelay send --help\n")
    assert "Usage:" not in result.stderr


def test_usage_error_under_json_is_one_json_object(run_cli) -> None:
    result = run_cli("approvals", "list", "--status", "bogus", "--json")
    assert result.exit_code == 2
    error = json.loads(result.stderr)
    assert error["exit_code"] == 2 and error["hint"] == "mailrelay approvals list --help"
    assert "--status" in error["error"]


def test_help_and_version_exit_0(run_cli) -> None:
    assert run_cli("--help").exit_code == 0
    assert run_cli("--version").exit_code == 0


def _env(home: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def test_a_reader_that_closes_the_pipe_early_is_exit_0_with_and_without_json(
    write_config, isolated_env
) -> None:
    """`mailrelay approvals list | head -1`: the reader has what it wanted; neither 1 ("rejected")
    nor 70, and no traceback, whether the output is JSON lines or a table."""
    settings = load_settings(write_config('[smtp]\nfrom = "bot@example.com"\n'))
    with open_store(settings.state_dir) as store:
        for n in range(600):  # well over a pipe's 64 KiB buffer in either form
            title = f"Deploy {n} " + "of the release train " * 5
            approvals.create_approval(settings, store, title=title, approvers=["alice@example.com"])
    for json_flag in (["--json"], []):
        proc = subprocess.Popen(
            [sys.executable, "-m", "mailrelay_cli", "approvals", "list", *json_flag],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env={**_env(isolated_env), "COLUMNS": "200"},
        )
        assert proc.stdout is not None and proc.stderr is not None
        assert proc.stdout.readline()
        proc.stdout.close()  # like `| head -1`
        stderr = proc.stderr.read().decode()
        assert proc.wait(timeout=20) == 0, (json_flag, stderr)
        assert stderr == "", (json_flag, stderr)


def _has_open(pid: int, path: Path) -> bool:
    """Whether process ``pid`` holds ``path`` open (Linux /proc)."""
    fds = Path(f"/proc/{pid}/fd")
    try:
        return any(os.path.realpath(fd) == str(path.resolve()) for fd in fds.iterdir())
    except OSError:  # the process ended, or closed an fd while we looked
        return False


def test_ctrl_c_under_json_is_a_json_error_with_exit_130(write_config, isolated_env) -> None:
    settings = load_settings(write_config('[smtp]\nfrom = "bot@example.com"\n'))
    with open_store(settings.state_dir) as store:
        request = approvals.create_approval(settings, store, title="Deploy", approvers=["alice@example.com"])
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "mailrelay_cli",
            "approvals",
            "wait",
            request.approval.id,
            "--timeout",
            "1m",
            "--poll",
            "1s",
            "--json",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=_env(isolated_env),
    )
    # Ready when it waits with the store open (not a fixed sleep).
    wait_until(
        lambda: _has_open(proc.pid, db_path(settings.state_dir)) or proc.poll() is not None,
        what="approvals wait to open the store",
    )
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=20)
    assert proc.returncode == 130
    error = json.loads(stderr.decode().strip().splitlines()[-1])
    assert error["exit_code"] == 130 and error["error"] == "interrupted"


@pytest.mark.parametrize("as_json", [True, False])
def test_ctrl_c_while_the_command_line_is_read_answers_in_the_asked_form(
    monkeypatch, capsys, as_json: bool
) -> None:
    """Ctrl-C before a command runs reaches MailrelayGroup.main as click's Abort (no signal can
    be aimed at that moment, so the interrupt is raised where click reads the command line)."""
    from mailrelay_cli.cli import MailrelayGroup, cli

    def interrupted(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(MailrelayGroup, "make_context", interrupted)
    with pytest.raises(SystemExit) as exited:
        cli.main(["events", "list", *(["--json"] if as_json else [])], prog_name="mailrelay")
    assert exited.value.code == 130
    last = capsys.readouterr().err.strip().splitlines()[-1]
    if as_json:
        assert json.loads(last) == {
            "error": "interrupted",
            "hint": "run the command again to finish its work",
            "exit_code": 130,
        }
    else:
        assert last == "hint: run the command again to finish its work"


def test_imap_logindisabled_without_auth_plain_exits_69_with_the_mechanism_hint(
    run_cli, write_config, scripted_server_factory
) -> None:
    server = scripted_server_factory(
        greeting=b"* OK [CAPABILITY IMAP4rev1 LOGINDISABLED] hi\r\n",
        reply_before_drop=b"* CAPABILITY IMAP4rev1 LOGINDISABLED\r\n{tag} OK done\r\n",
    )
    write_config(
        f'[imap]\nhost = "127.0.0.1"\nport = {server.port}\nuser = "u@x.test"\n'
        "tls = false\nallow_plaintext_auth = true\ntimeout = 5\n"
    )
    credentials.set_secret("default", "imap.password", "S3ntinel-pw-xyz")
    result = run_cli("test", "--imap-only")
    assert result.exit_code == 69
    assert "allows neither LOGIN nor AUTHENTICATE PLAIN" in result.stdout + result.stderr
    assert (
        "the server wants another mechanism or TLS: check imap.auth and imap.tls"
        in result.stdout + result.stderr
    )
