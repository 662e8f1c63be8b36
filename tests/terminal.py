"""Run mailrelay in a pseudo-terminal of a fixed size, for tests of what a person sees."""

from __future__ import annotations

import fcntl
import os
import pty
import select
import struct
import sys
import termios
import time


def run_in_terminal(
    args: list[str],
    *,
    columns: int = 80,
    rows: int = 24,
    env: dict[str, str] | None = None,
    timeout: float = 60.0,
) -> tuple[int, str]:
    """(exit status, everything written to the terminal) of ``mailrelay ARGS`` run in a pty
    ``columns`` wide; stdout and stderr are both the terminal."""
    pid, master = pty.fork()
    if pid == 0:
        environment = dict(os.environ if env is None else env)
        environment["COLUMNS"], environment["LINES"] = str(columns), str(rows)
        environment.setdefault("TERM", "xterm-256color")
        os.execve(sys.executable, [sys.executable, "-m", "mailrelay_cli", *args], environment)
    fcntl.ioctl(master, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))
    seen = b""
    status = None
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.1)
            if ready:
                try:
                    chunk = os.read(master, 65536)
                except OSError:
                    chunk = b""
                seen += chunk
                if chunk:
                    continue
            done, raw = os.waitpid(pid, os.WNOHANG)
            if done:
                status = os.waitstatus_to_exitcode(raw)
                break
        else:
            os.kill(pid, 9)
            os.waitpid(pid, 0)
            raise AssertionError(f"mailrelay {' '.join(args)} did not end in {timeout}s: {seen!r}")
    finally:
        os.close(master)
    return (status if status is not None else -1), seen.decode("utf-8", "replace").replace("\r\n", "\n")
