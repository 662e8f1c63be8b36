"""`mailrelay secret set|delete|list`: values go in, never come out."""

from __future__ import annotations

import json
import os
import pty
import select
import signal
import subprocess
import sys
import time

from tests.conftest import reset_keyring
from tests.terminal import run_in_terminal

SENTINEL = "S3ntinel-pw-xyz"


def test_secret_set_from_stdin_stores_in_keyring(run_cli) -> None:
    result = run_cli("secret", "set", "smtp.password", "--stdin", input=SENTINEL + "\n")
    assert result.exit_code == 0, result.stderr
    import keyring

    assert keyring.get_password("mailrelay", "default:smtp.password") == SENTINEL
    assert SENTINEL not in result.stdout + result.stderr


def _spawn_in_terminal(*args: str) -> tuple[int, int]:
    """Start ``mailrelay ARGS`` with a new pseudo-terminal as its controlling terminal."""
    pid, master = pty.fork()
    if pid == 0:  # the child: replace it at once (no pytest code runs here)
        os.execve(sys.executable, [sys.executable, "-m", "mailrelay_cli", *args], dict(os.environ))
    return pid, master


def _read_until(master: int, wanted: str, seen: list[str], start: int = 0, timeout: float = 15.0) -> int:
    """Read terminal output until ``wanted`` appears at or after offset ``start`` (bounded by
    ``timeout``); the offset just after it. Output that arrived after it in the same read stays
    in ``seen`` for the next call, which starts from this offset."""
    deadline = time.monotonic() + timeout
    while (found := "".join(seen).find(wanted, start)) < 0:
        remaining = deadline - time.monotonic()
        assert remaining > 0, f"no {wanted!r} within {timeout}s; got {''.join(seen)!r}"
        ready, _, _ = select.select([master], [], [], remaining)
        if not ready:
            continue
        try:
            chunk = os.read(master, 4096)
        except OSError:  # EIO: the child closed the terminal
            chunk = b""
        assert chunk, f"terminal closed before {wanted!r}; got {''.join(seen)!r}"
        seen.append(chunk.decode("utf-8", "replace"))
    return found + len(wanted)


def _finish(pid: int, master: int, seen: list[str], timeout: float = 15.0) -> int:
    """Read the rest of the output and reap the child; its exit status."""
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.2)
            if ready:
                try:
                    chunk = os.read(master, 4096)
                except OSError:
                    chunk = b""
                if chunk:
                    seen.append(chunk.decode("utf-8", "replace"))
                    continue
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                return os.waitstatus_to_exitcode(status)
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        raise AssertionError(f"mailrelay did not exit within {timeout}s; got {''.join(seen)!r}")
    finally:
        os.close(master)


def test_secret_set_prompts_hidden_twice_in_a_terminal() -> None:
    pid, master = _spawn_in_terminal("secret", "set", "imap.password")
    seen: list[str] = []
    at = _read_until(master, "imap.password:", seen)
    os.write(master, (SENTINEL + "\n").encode())
    _read_until(master, "imap.password (again):", seen, start=at)
    os.write(master, (SENTINEL + "\n").encode())
    code = _finish(pid, master, seen)
    output = "".join(seen)
    assert code == 0, output
    assert SENTINEL not in output
    assert "imap.password stored in the keyring" in output
    import keyring

    reset_keyring()
    assert keyring.get_password("mailrelay", "default:imap.password") == SENTINEL


def test_secret_set_asks_again_when_the_two_entries_differ() -> None:
    pid, master = _spawn_in_terminal("secret", "set", "imap.password")
    seen: list[str] = []
    at = _read_until(master, "imap.password:", seen)
    os.write(master, b"first-try\n")
    at = _read_until(master, "imap.password (again):", seen, start=at)
    os.write(master, b"second-try\n")
    at = _read_until(master, "differ; type it again", seen, start=at)
    # the second prompt may arrive in the same read as the error: search on from the error
    at = _read_until(master, "imap.password:", seen, start=at)
    os.write(master, (SENTINEL + "\n").encode())
    _read_until(master, "imap.password (again):", seen, start=at)
    os.write(master, (SENTINEL + "\n").encode())
    code = _finish(pid, master, seen)
    output = "".join(seen)
    assert code == 0, output
    assert "first-try" not in output and "second-try" not in output and SENTINEL not in output
    import keyring

    reset_keyring()
    assert keyring.get_password("mailrelay", "default:imap.password") == SENTINEL


def test_secret_set_without_a_terminal_or_stdin_is_a_usage_error(run_cli) -> None:
    result = run_cli("secret", "set", "smtp.password", input="")
    assert result.exit_code == 2
    assert result.stderr.startswith(
        "mailrelay: error: standard input is not a terminal; pipe the value with --stdin"
    )
    assert "--stdin" in result.stderr
    assert "Warning" not in result.stderr and "echoed" not in result.stderr
    import keyring

    assert keyring.get_password("mailrelay", "default:smtp.password") is None


def test_secret_set_uses_the_profile_name(run_cli, write_config) -> None:
    write_config('name = "prod"\n')
    run_cli("secret", "set", "smtp.password", "--stdin", input="x\n")
    import keyring

    assert keyring.get_password("mailrelay", "prod:smtp.password") == "x"


def test_secret_set_empty_value_exits_65(run_cli) -> None:
    result = run_cli("secret", "set", "smtp.password", "--stdin", input="\n")
    assert result.exit_code == 65


def test_secret_set_unknown_name_exits_78(run_cli) -> None:
    result = run_cli("secret", "set", "smtp.pass", "--stdin", input="x\n")
    assert result.exit_code == 78
    assert "smtp.password" in result.stderr


def test_secret_list_shows_names_not_values(run_cli) -> None:
    run_cli("secret", "set", "smtp.password", "--stdin", input=SENTINEL + "\n")
    result = run_cli("secret", "list", "--json")
    rows = {row["name"]: row for row in map(json.loads, result.stdout.splitlines())}
    assert rows["smtp.password"]["set"] is True
    assert rows["imap.client_secret"]["set"] is False
    assert SENTINEL not in result.stdout


def test_secret_delete_removes_it(run_cli) -> None:
    run_cli("secret", "set", "smtp.password", "--stdin", input="x\n")
    result = run_cli("secret", "delete", "smtp.password")
    assert result.exit_code == 0
    import keyring

    assert keyring.get_password("mailrelay", "default:smtp.password") is None


def test_secret_set_without_keyring_exits_78_with_both_fixes(run_cli, monkeypatch) -> None:
    from tests.conftest import reset_keyring

    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")
    reset_keyring()
    result = run_cli("secret", "set", "smtp.password", "--stdin", input="x\n")
    assert result.exit_code == 78
    assert "MAILRELAY_SMTP_PASSWORD" in result.stderr
    assert "PYTHON_KEYRING_BACKEND=keyrings.alt.file.PlaintextKeyring" in result.stderr


KEY = "cd" * 32


def test_export_refuses_a_terminal_and_shows_the_pipe_form(run_cli) -> None:
    assert run_cli("secret", "set", "approval.signing_key", "--stdin", input=KEY + "\n").exit_code == 0
    code, output = run_in_terminal(["secret", "export", "approval.signing_key"])
    assert code == 2, output
    assert KEY not in output.lower()
    assert output == (
        "mailrelay: error: secret export prints approval.signing_key only into a pipe or a file, "
        "never on a terminal\n"
        "hint: mailrelay secret export approval.signing_key | ssh HOST mailrelay secret set "
        "approval.signing_key --stdin\n"
    )


def test_export_on_a_terminal_makes_no_key_either() -> None:
    code, _output = run_in_terminal(["secret", "export", "approval.signing_key"])
    assert code == 2
    from mailrelay_cli.auth import signing_key

    reset_keyring()
    assert signing_key.signing_key("default", create=False) is None


def test_export_prints_the_key_into_a_pipe(run_cli) -> None:
    assert run_cli("secret", "set", "approval.signing_key", "--stdin", input=KEY + "\n").exit_code == 0
    done = subprocess.run(
        [sys.executable, "-m", "mailrelay_cli", "secret", "export", "approval.signing_key"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert (done.returncode, done.stdout, done.stderr) == (0, KEY + "\n", "")
