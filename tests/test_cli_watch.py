"""``mailrelay process-replies --watch`` as a real process: signals, logs, exit codes.

The watcher runs as ``python -m mailrelay_cli`` with this test's environment (its
HOME, config and file keyring), so SIGTERM, SIGINT and SIGHUP are real signals.
Every wait is bounded.
"""

from __future__ import annotations

import json
import mailbox
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from mailrelay_cli import store
from mailrelay_cli.approvals import service as approvals
from mailrelay_cli.auth import credentials
from mailrelay_cli.config.load import load_settings
from mailrelay_cli.config.records import Settings
from mailrelay_cli.replies import run as replies
from tests.fixtures.watcher import wait_until
from tests.reply_builders import reply, request_text


@pytest.fixture(autouse=True)
def _signing_key(signing_key: bytes) -> None:
    """The watcher judges replies, which needs the key (a keyless run exits 78, fail closed)."""


class WatchProcess:
    """``mailrelay [--json] process-replies --watch …`` with its stderr lines collected."""

    def __init__(self, *args: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "mailrelay_cli", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=dict(os.environ),
        )
        self.lines: list[str] = []
        self.stdout = b""
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for raw in self.proc.stderr:
            self.lines.append(raw.decode(errors="replace").rstrip("\n"))

    def events(self) -> list[dict]:
        found = []
        for line in list(self.lines):
            try:
                found.append(json.loads(line))
            except ValueError:
                continue
        return found

    def kinds(self) -> list[str]:
        return [e.get("event", "") for e in self.events()]

    def wait_for(self, kind: str, timeout: float = 20.0) -> None:
        wait_until(
            lambda: kind in self.kinds() or self.proc.poll() is not None,
            timeout,
            f"a {kind!r} event; stderr: {self.lines}",
        )
        assert kind in self.kinds(), f"exited {self.proc.returncode} before {kind!r}: {self.lines}"

    def finish(self, timeout: float) -> int:
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)
            raise AssertionError(f"still running after {timeout:g}s: {self.lines}") from None

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.finish(10)


@pytest.fixture
def processes() -> Iterator[Callable[..., WatchProcess]]:
    started: list[WatchProcess] = []

    def start(*args: str) -> WatchProcess:
        started.append(WatchProcess(*args))
        return started[-1]

    yield start
    for process in started:
        process.stop()


@pytest.fixture
def imap_settings(write_config, tmp_path: Path, dovecot, mail_user) -> Settings:
    credentials.set_secret("default", "imap.password", mail_user.password)
    path = write_config(
        dovecot.imap_toml(mail_user)
        + '[smtp]\nhost = "127.0.0.1"\nfrom = "relay@example.com"\n'
        + '[approval]\nenabled = true\nreply_address = "approvals@example.com"\n'
        + f'[state]\npath = "{tmp_path / "state"}"\n'
    )
    return load_settings(path)


def ask_many(settings: Settings, n: int) -> list[approvals.ApprovalRequest]:
    with store.open_store(settings.state_dir) as db:
        return [
            approvals.create_approval(settings, db, title=f"Deploy {i}", approvers=["alice@example.com"])
            for i in range(n)
        ]


def answer(request: approvals.ApprovalRequest) -> bytes:
    return reply(request.subject, "alice@example.com", "Approve", quoted=request_text(request.reference))


def test_sigterm_during_a_batch_leaves_nothing_half_done(
    imap_settings, dovecot, mail_user, processes
) -> None:
    requests = ask_many(imap_settings, 120)
    dovecot.append(mail_user, *(answer(r) for r in requests))
    watcher = processes("process-replies", "--json", "--watch", "--count", "3")
    watcher.wait_for("batch")
    watcher.proc.send_signal(signal.SIGTERM)
    sent = time.monotonic()
    assert watcher.finish(10) == 0
    assert time.monotonic() - sent < 5
    assert watcher.kinds()[-2:] == ["stopping", "stopped"]

    with store.open_store(imap_settings.state_dir) as db:
        rows = db.audit_rows()
        decided = [r for r in requests if approvals.get_approval(db, r.approval.id).status == "approved"]
    left = dovecot.count(mail_user)
    # Every message is either recorded and gone, or untouched and still there; none is
    # flagged \Deleted and left behind, none recorded twice.
    assert 0 < len(rows) < 120
    assert len(rows) == len(decided) == 120 - left
    assert dovecot.count(mail_user, include_deleted=False) == left
    # A cron run afterwards finishes the rest, deciding each approval once.
    report = replies.process_replies(imap_settings, count=200)
    assert report.read == left and len(report.decided) == left
    assert all(not m.duplicate for m in report.messages)


def test_sigint_stops_the_watcher_with_exit_0(imap_settings, processes) -> None:
    watcher = processes("process-replies", "--json", "--watch")
    watcher.wait_for("connected")
    watcher.proc.send_signal(signal.SIGINT)
    assert watcher.finish(10) == 0
    assert "stopped" in watcher.kinds()


def test_human_log_is_one_line_per_event_on_stderr(imap_settings, dovecot, mail_user, processes) -> None:
    [request] = ask_many(imap_settings, 1)
    watcher = processes("process-replies", "--watch")
    wait_until(
        lambda: any("opened imap:" in line for line in watcher.lines),
        what=f"the connected line; stderr: {watcher.lines}",
    )
    dovecot.append(mail_user, answer(request))
    wait_until(
        lambda: any(f"{request.approval.id} approved by alice@example.com" in line for line in watcher.lines),
        what=f"the decision; {watcher.lines}",
    )
    watcher.proc.send_signal(signal.SIGTERM)
    assert watcher.finish(10) == 0
    stdout = watcher.proc.stdout.read() if watcher.proc.stdout else b""
    assert stdout == b""
    assert all(line.startswith("mailrelay: ") for line in watcher.lines), watcher.lines


def test_human_log_shows_mail_text_as_cron_output_does(write_config, two_maildirs, processes) -> None:
    """A title with a no-break space and a zero-width joiner: the watcher's line shows them as a
    cron run's line does (render.inert keeps them; only what a terminal acts on is escaped)."""
    tmp_path, first, _second = two_maildirs
    settings = load_settings(write_config(_maildir_config(tmp_path, first)))
    title = "Deploy\u00a0v2\u200dfinal"
    with store.open_store(settings.state_dir) as db:
        request = approvals.create_approval(settings, db, title=title, approvers=["alice@example.com"])
    watcher = processes("process-replies", "--watch")
    wait_until(lambda: any("opened maildir:" in line for line in watcher.lines), what=f"{watcher.lines}")
    first.add(answer(request))
    wait_until(lambda: any(" approved by " in line for line in watcher.lines), what=f"{watcher.lines}")
    watcher.proc.send_signal(signal.SIGTERM)
    assert watcher.finish(10) == 0
    stored = request.approval.title  # as kept (and as `process-replies` prints it)
    assert "\u200d" in stored
    expected = f"mailrelay: {request.approval.id} approved by alice@example.com: {stored}"
    assert expected in watcher.lines, [ascii(line) for line in watcher.lines]


def test_watch_and_dry_run_together_are_a_usage_error(run_cli, imap_settings) -> None:
    result = run_cli("process-replies", "--watch", "--dry-run")
    assert result.exit_code == 2
    assert "--watch and --dry-run" in result.stderr


def test_a_settings_fault_exits_78_with_one_line(write_config, tmp_path, processes) -> None:
    write_config(
        '[approval]\nenabled = true\nmailbox = "maildir:/nonexistent/Maildir"\n'
        f'[state]\npath = "{tmp_path / "state"}"\n'
        '[smtp]\nhost = "127.0.0.1"\nfrom = "relay@example.com"\n'
    )
    watcher = processes("process-replies", "--watch")
    assert watcher.finish(20) == 78
    errors = [line for line in watcher.lines if line.startswith("mailrelay: error:")]
    assert len(errors) == 1 and "is not a Maildir" in errors[0]
    assert not any("Traceback" in line for line in watcher.lines)


@pytest.fixture
def two_maildirs(write_config, tmp_path: Path) -> tuple[Path, mailbox.Maildir, mailbox.Maildir]:
    first = mailbox.Maildir(str(tmp_path / "first"), create=True)
    second = mailbox.Maildir(str(tmp_path / "second"), create=True)
    return tmp_path, first, second


def _maildir_config(tmp_path: Path, maildir: mailbox.Maildir) -> str:
    return (
        '[smtp]\nhost = "127.0.0.1"\nfrom = "relay@example.com"\n'
        f'[approval]\nenabled = true\nmailbox = "maildir:{maildir._path}"\n'
        f'[state]\npath = "{tmp_path / "state"}"\n'
    )


def test_sighup_rereads_the_settings(write_config, two_maildirs, processes) -> None:
    tmp_path, first, second = two_maildirs
    path = write_config(_maildir_config(tmp_path, first))
    [request] = ask_many(load_settings(path), 1)
    watcher = processes("process-replies", "--json", "--watch")
    watcher.wait_for("connected")
    write_config(_maildir_config(tmp_path, second))
    watcher.proc.send_signal(signal.SIGHUP)
    watcher.wait_for("reloaded")
    second.add(answer(request))
    wait_until(lambda: "decision" in watcher.kinds(), what=f"the decision; {watcher.lines}")
    connected = [e for e in watcher.events() if e["event"] == "connected"]
    assert connected[-1]["mailbox"] == f"maildir:{second._path}"


def test_a_reload_with_broken_settings_keeps_the_old_ones(write_config, two_maildirs, processes) -> None:
    tmp_path, first, _second = two_maildirs
    path = write_config(_maildir_config(tmp_path, first))
    [request] = ask_many(load_settings(path), 1)
    watcher = processes("process-replies", "--json", "--watch")
    watcher.wait_for("connected")
    path.write_text("this is [not toml")
    watcher.proc.send_signal(signal.SIGHUP)
    watcher.wait_for("reload-failed")
    first.add(answer(request))
    wait_until(lambda: "decision" in watcher.kinds(), what=f"the decision; {watcher.lines}")
    assert watcher.proc.poll() is None
