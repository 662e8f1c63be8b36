"""Issue 10 through the CLI: operational faults exit 78/75 naming the path or variable, text
from mail is printed inert, `secret set` never echoes, only http/https/mailto become links."""

from __future__ import annotations

import mailbox
import sqlite3
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from mailrelay_cli import store
from mailrelay_cli.approvals import service as approvals
from mailrelay_cli.config.load import load_settings
from mailrelay_cli.config.records import Settings
from tests.reply_builders import reply, request_text

SMTP = '[smtp]\nhost = "127.0.0.1"\nauth = "none"\nfrom = "relay@example.com"\n'


@pytest.fixture
def maildir(tmp_path: Path) -> mailbox.Maildir:
    return mailbox.Maildir(str(tmp_path / "Maildir"), create=True)


@pytest.fixture
def configure(write_config: Callable[[str], Path], tmp_path: Path, maildir) -> Callable[..., Settings]:
    def make(state: Path | None = None, extra: str = "", load: bool = True) -> Any:
        path = write_config(
            SMTP
            + f'[approval]\nenabled = true\nmailbox = "maildir:{maildir._path}"\n{extra}'
            + f'[state]\npath = "{state or tmp_path / "state"}"\n'
        )
        return load_settings(path) if load else None

    return make


def ask(settings: Settings, title: str = "Deploy 1.4") -> approvals.ApprovalRequest:
    with store.open_store(settings.state_dir) as db:
        return approvals.create_approval(settings, db, title=title, approvers=["alice@example.com"])


def add_reply(
    maildir: mailbox.Maildir,
    request: approvals.ApprovalRequest,
    text: str = "Approve",
    subject: str | None = None,
) -> None:
    maildir.add(
        reply(subject or request.subject, "alice@example.com", text, quoted=request_text(request.reference))
    )


def exits_78_naming(result, what: str) -> None:
    assert result.exit_code == 78, result.stderr
    assert what in result.stderr
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr


# -- the state store ------------------------------------------------------------------------


def test_a_state_dir_that_cannot_be_created_exits_78(
    run_cli, configure, tmp_path, maildir, signing_key
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    configure(state=blocker / "state")
    exits_78_naming(run_cli("process-replies"), str(blocker / "state"))


def test_a_corrupt_database_exits_78(run_cli, configure, signing_key) -> None:
    settings = configure()
    settings.state_dir.mkdir(parents=True)
    (settings.state_dir / "mailrelay.db").write_bytes(b"this is not a database\n" * 200)
    exits_78_naming(run_cli("process-replies"), "mailrelay.db")


def test_a_truncated_database_exits_78_and_reads_no_mail(run_cli, configure, maildir) -> None:
    settings = configure()
    for index in range(40):
        ask(settings, title=f"Deploy 1.{index} " + "x" * 300)
    add_reply(maildir, ask(settings))
    path = settings.state_dir / "mailrelay.db"
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    exits_78_naming(run_cli("process-replies"), str(path))
    assert len(maildir) == 1


def _read_only_dir(tmp_path: Path) -> tuple[Path, Callable[[], None], Callable[[], None]]:
    """A directory that can be made read-only for this process (a read-only tmpfs as root)."""
    import os

    where = tmp_path / "ro"
    where.mkdir()
    if os.geteuid() != 0:
        return where, lambda: where.chmod(0o500), lambda: where.chmod(0o700)
    if (
        subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(where)], capture_output=True, check=False
        ).returncode
        != 0
    ):
        pytest.skip("root without mount: no way to make a read-only directory here")
    return (
        where,
        lambda: subprocess.run(["mount", "-o", "remount,ro", str(where)], check=True),
        lambda: subprocess.run(["umount", "-l", str(where)], check=False),
    )


def test_a_read_only_database_exits_78_and_deletes_nothing(run_cli, configure, maildir, tmp_path) -> None:
    where, make_read_only, undo = _read_only_dir(tmp_path)
    try:
        settings = configure(state=where / "state")
        add_reply(maildir, ask(settings))
        (where / "state" / "mailrelay.db").chmod(0o400)
        make_read_only()
        exits_78_naming(run_cli("process-replies"), str(where / "state"))
        assert len(maildir) == 1
    finally:
        undo()


def test_a_full_disk_exits_78_and_deletes_nothing(run_cli, configure, maildir, monkeypatch) -> None:
    from mailrelay_cli.store import sqlite as sqlite_store

    settings = configure()
    request = ask(settings)
    for index in range(30):  # more audit rows than the free space in the pages there are
        add_reply(maildir, request, subject=f"Re: {request.subject} {index} " + "x" * 900)
    real_connect = sqlite3.connect

    def full(*args: Any, **kwargs: Any) -> sqlite3.Connection:
        conn = real_connect(*args, **kwargs)
        pages = conn.execute("PRAGMA page_count").fetchone()[0]
        conn.execute(f"PRAGMA max_page_count = {pages}")  # no room for one more page
        return conn

    monkeypatch.setattr(sqlite_store.sqlite3, "connect", full)
    result = run_cli("process-replies")
    exits_78_naming(result, "mailrelay.db")
    assert "full" in result.stderr
    assert len(maildir) == 30


# -- settings and keys ----------------------------------------------------------------------


def test_a_settings_file_that_is_not_utf8_exits_78_naming_it(run_cli, config_file) -> None:
    config_file.write_bytes(b'[smtp]\nhost = "caf\xe9.example"\n')
    exits_78_naming(run_cli("config", "check"), str(config_file))


def test_a_settings_path_that_is_a_directory_exits_78_naming_it(run_cli, tmp_path) -> None:
    exits_78_naming(run_cli("--config", str(tmp_path), "config", "check"), str(tmp_path))


@pytest.mark.parametrize("value", ["not-hex-at-all", "00", "ab" * 31])
def test_a_bad_signing_key_in_the_environment_exits_78_naming_the_variable(
    run_cli, configure, maildir, monkeypatch, value
) -> None:
    settings = configure()
    add_reply(maildir, ask(settings))
    monkeypatch.setenv("MAILRELAY_APPROVAL_HMAC_KEY", value)
    exits_78_naming(run_cli("process-replies"), "MAILRELAY_APPROVAL_HMAC_KEY")
    assert len(maildir) == 1


def test_a_run_without_the_signing_key_exits_78_before_reading_mail(run_cli, configure, maildir) -> None:
    configure()
    maildir.add(reply("[MR-ABCDEF-0123456789] hi", "alice@example.com", "Approve"))
    exits_78_naming(run_cli("process-replies"), "MAILRELAY_APPROVAL_HMAC_KEY")
    assert len(maildir) == 1


@pytest.mark.parametrize("breaker", ["\u2028", "\v", "\x85", "\u2029", "\x1b"])
def test_a_line_separator_in_a_subject_variable_is_refused_naming_it(run_cli, write_config, breaker) -> None:
    write_config(SMTP)
    result = run_cli(
        "send",
        "--event",
        "request-completed",
        "--to",
        "ops@example.com",
        "--var",
        f"instance_name=Deploy{breaker}Bcc: x@evil.example",
        "--dry-run",
    )
    assert result.exit_code == 65, result.stderr
    assert "instance_name" in result.stderr and "internal error" not in result.stderr


def test_config_check_refuses_a_hook_command_a_run_could_not_split(run_cli, configure) -> None:
    configure(extra='on_decision = "/bin/notify \'unbalanced"\n', load=False)
    result = run_cli("config", "check")
    exits_78_naming(result, "approval.on_decision")


# -- inert output ---------------------------------------------------------------------------

HOSTILE = "\x1b[2J\x1b[1;1Hdeploy\x08\x08APPROVED \u202eevil\x9b"


def test_a_dry_run_prints_escape_characters_from_mail_visibly(run_cli, configure, maildir) -> None:
    settings = configure()
    request = ask(settings)
    add_reply(maildir, request, subject=f"Re: {request.subject} {HOSTILE}")
    result = run_cli("process-replies", "--dry-run")
    assert result.exit_code == 0, result.stderr
    for raw in ("\x1b", "\x08", "\u202e", "\x9b"):
        assert raw not in result.stdout
    assert "\\x1b[2J" in result.stdout and "\\u202e" in result.stdout


def test_approvals_show_prints_a_comment_from_mail_inertly(run_cli, configure, maildir) -> None:
    settings = configure()
    request = ask(settings)
    add_reply(maildir, request, text=f"Approve\n{HOSTILE}")
    assert run_cli("process-replies").exit_code == 0
    shown = run_cli("approvals", "show", request.approval.id)
    listed = run_cli("approvals", "list")
    assert "\x1b" not in shown.stdout + listed.stdout
    assert "\\x1b[2J" in shown.stdout


# -- secrets and links ----------------------------------------------------------------------


def test_secret_set_with_a_value_on_the_command_line_never_echoes_it(run_cli, write_config) -> None:
    write_config(SMTP)
    result = run_cli("secret", "set", "smtp.password", "hunter2-sentinel")
    assert result.exit_code == 2
    assert "hunter2-sentinel" not in result.stdout + result.stderr


def links(mime: str) -> list[str]:
    import quopri
    import re

    return re.findall(r'href="([^"]*)"', quopri.decodestring(mime.encode()).decode("utf-8", "replace"))


@pytest.mark.parametrize(
    "url", ["javascript:alert(1)", "JaVa\tScript:alert(1)", "data:text/html,<script>1</script>", "vbscript:x"]
)
def test_only_http_https_and_mailto_urls_become_links(run_cli, write_config, url) -> None:
    write_config(SMTP)
    result = run_cli(
        "send",
        "--event",
        "request-completed",
        "--to",
        "ops@example.com",
        "--var",
        "instance_name=Deploy",
        "--var",
        f"url={url}",
        "--dry-run",
    )
    assert result.exit_code == 0, result.stderr
    assert links(result.stdout) == []


def test_an_https_url_is_still_a_link(run_cli, write_config) -> None:
    write_config(SMTP)
    result = run_cli(
        "send",
        "--event",
        "request-completed",
        "--to",
        "ops@example.com",
        "--var",
        "instance_name=Deploy",
        "--var",
        "url=https://ci.example.com/1",
        "--dry-run",
    )
    assert links(result.stdout) == ["https://ci.example.com/1"]


def test_config_check_refuses_a_signing_key_a_run_would_refuse(run_cli, configure, monkeypatch) -> None:
    configure()
    monkeypatch.setenv("MAILRELAY_APPROVAL_HMAC_KEY", "00")
    exits_78_naming(run_cli("config", "check"), "MAILRELAY_APPROVAL_HMAC_KEY")


def test_config_check_warns_while_there_is_no_signing_key_yet(run_cli, configure) -> None:
    configure()
    result = run_cli("config", "check")
    assert "no approval signing key yet" in result.stderr


def test_json_lines_carry_escape_characters_from_mail_as_json_escapes(run_cli, configure, maildir) -> None:
    import json

    settings = configure()
    request = ask(settings)
    subject = f"Re: {request.subject} {HOSTILE}"
    add_reply(maildir, request, subject=subject)
    result = run_cli("process-replies", "--dry-run", "--json")
    for raw in ("\x1b", "\x08", "\u202e", "\x9b"):
        assert raw not in result.stdout
    assert json.loads(result.stdout.splitlines()[0])["subject"] == " ".join(subject.split())


def test_verbose_output_says_why_a_message_is_unreadable(run_cli, configure, maildir, signing_key) -> None:
    configure()
    maildir.add(
        b"From: x@example.com\r\nSubject: deep\r\n" + b"Content-Type: message/rfc822\r\n\r\n" * 1500 + b"hi"
    )
    result = run_cli("-v", "process-replies")
    assert result.exit_code == 0, result.stderr
    assert "unreadable (more than 200 nested or multipart parts) from x@example.com: deep" in result.stdout
