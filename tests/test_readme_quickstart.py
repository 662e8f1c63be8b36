"""The README's quick start, run exactly as written on a fresh account (issue 12).

Its commands run in bash, in a pseudo-terminal (``secret set`` prompts), with a new HOME
and ``mailrelay`` on PATH. The example servers are mapped to local ones the documented way,
through ``MAILRELAY__SECTION__KEY`` variables (they win over the file the commands write):
``smtp.example.com`` is an aiosmtpd server with STARTTLS and AUTH for the quick start's
user, trusted through ``SSL_CERT_FILE``; the reply mailbox is a local Maildir. ``crontab``
is a stand-in that keeps what it is given.
"""

from __future__ import annotations

import os
import pty
import re
import select
import sys
import time
from pathlib import Path

from tests.fixtures.quickstart_smtp import QUICK_START_PASSWORD
from tests.fixtures.smtp_servers import SmtpServer

README = Path(__file__).resolve().parent.parent / "README.md"
PASSWORD = QUICK_START_PASSWORD


def quick_start_commands() -> str:
    section = README.read_text().split("## Quick start", 1)[1]
    return section.split("```sh\n", 1)[1].split("```", 1)[0]


def _run_in_terminal(
    script: str, env: dict[str, str], answers: list[tuple[str, str]], timeout: float = 120.0
) -> tuple[int, str]:
    pid, master = pty.fork()
    if pid == 0:
        # As typed at a prompt: no `set -e` (it would also stop the `crontab -l` subshell of the
        # last line on a fresh account); a command that fails still fails the run.
        os.execve("/bin/bash", ["bash", "-c", "trap 'exit 1' ERR\n" + script], env)
    seen = ""
    pending = list(answers)
    deadline = time.monotonic() + timeout
    status = None
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.2)
            if ready:
                try:
                    chunk = os.read(master, 4096).decode("utf-8", "replace")
                except OSError:
                    chunk = ""
                seen += chunk
                while pending and pending[0][0] in seen:
                    prompt, answer = pending.pop(0)
                    seen = seen.replace(prompt, prompt.upper(), 1)  # each prompt answered once
                    os.write(master, (answer + "\n").encode())
                if chunk:
                    continue
            done, raw = os.waitpid(pid, os.WNOHANG)
            if done:
                status = os.waitstatus_to_exitcode(raw)
                break
        else:
            os.kill(pid, 9)
            os.waitpid(pid, 0)
            raise AssertionError(f"the quick start did not finish in {timeout}s:\n{seen}")
    finally:
        os.close(master)
    return status if status is not None else -1, seen


def test_the_quick_start_works_as_written(tmp_path: Path, quick_start_server: SmtpServer) -> None:
    home = tmp_path / "fresh"
    home.mkdir()
    maildir = home / "Maildir"
    for sub in ("cur", "new", "tmp"):
        (maildir / sub).mkdir(parents=True)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "mailrelay").write_text(f'#!/bin/sh\nexec "{sys.executable}" -m mailrelay_cli "$@"\n')
    crontab_file = tmp_path / "crontab.txt"
    (bin_dir / "crontab").write_text(
        f'#!/bin/sh\nif [ "$1" = "-l" ]; then cat "{crontab_file}" 2>/dev/null || exit 1;'
        f' else cat > "{crontab_file}"; fi\n'
    )
    for tool in ("mailrelay", "crontab"):
        (bin_dir / tool).chmod(0o755)
    env = {
        "PATH": f"{bin_dir}:/usr/bin:/bin",
        "HOME": str(home),
        "TERM": "xterm",
        "LANG": "C.UTF-8",
        # a fresh account with a file keyring (no desktop keyring daemon here)
        "PYTHON_KEYRING_BACKEND": "keyrings.alt.file.PlaintextKeyring",
        "PYTHONPATH": os.pathsep.join(p for p in sys.path if p),
        # the example servers, mapped to the local ones
        "MAILRELAY__SMTP__HOST": "localhost",
        "MAILRELAY__SMTP__PORT": str(quick_start_server.port),
        "SSL_CERT_FILE": str(quick_start_server.ca_file),
        "MAILRELAY__APPROVAL__MAILBOX": f"maildir:{maildir}",
    }
    script = quick_start_commands()
    code, output = _run_in_terminal(
        script, env, [("smtp.password:", PASSWORD), ("smtp.password (again):", PASSWORD)]
    )
    assert code == 0, output
    assert PASSWORD not in output
    assert "✗" not in output, output
    [received] = quick_start_server.messages
    assert received.message()["To"] == "you@example.com"
    assert ("PLAIN", "releases@example.com", True) in quick_start_server.logins or any(
        login == "releases@example.com" and ok for _, login, ok in quick_start_server.logins
    )
    cron = crontab_file.read_text()
    assert re.search(r"^\*/5 \* \* \* \* .*process-replies", cron, re.MULTILINE), (cron, output)
    assert "warning" not in output.lower(), output
