"""``send`` says which logs it left out and why (issue 12, point 4)."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

from mailrelay_cli.config.schema import SPECS
from tests.fixtures.smtp_servers import SmtpServer

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "settings.toml"


def _configure(write_config, server: SmtpServer, policy: str | None) -> None:  # type: ignore[no-untyped-def]
    extra = f'\n[notifications]\nattach_logs = "{policy}"\n' if policy else ""
    write_config(server.toml(auth="none") + extra)


def test_a_log_left_out_by_the_default_policy_is_named_on_stderr(  # type: ignore[no-untyped-def]
    run_cli, write_config, smtp_plain: SmtpServer, tmp_path: Path
) -> None:
    _configure(write_config, smtp_plain, None)
    log = tmp_path / "deploy.log"
    log.write_text("failed\n")
    result = run_cli(
        "send",
        "--event",
        "request-failed",
        "--to",
        "ops@example.com",
        "--var",
        "instance_name=R1",
        "--log",
        str(log),
    )
    assert result.exit_code == 0, result.stderr
    assert f"note: {log} not attached: notifications.attach_logs is never" in result.stderr
    assert not list(smtp_plain.messages[0].message().iter_attachments())


def test_under_json_the_note_is_a_json_object_on_stderr(  # type: ignore[no-untyped-def]
    run_cli, write_config, smtp_plain: SmtpServer, tmp_path: Path
) -> None:
    _configure(write_config, smtp_plain, None)
    log = tmp_path / "deploy.log"
    log.write_text("failed\n")
    result = run_cli(
        "send",
        "--event",
        "request-failed",
        "--to",
        "ops@example.com",
        "--var",
        "instance_name=R1",
        "--log",
        str(log),
        "--json",
    )
    assert result.exit_code == 0, result.stderr
    lines = [json.loads(line) for line in result.stderr.splitlines()]
    assert lines == [{"note": f"{log} not attached: notifications.attach_logs is never"}]
    assert json.loads(result.stdout)["event"] == "request-failed"


def test_on_failure_names_the_log_that_was_not_marked_failed(  # type: ignore[no-untyped-def]
    run_cli, write_config, smtp_plain: SmtpServer, tmp_path: Path
) -> None:
    _configure(write_config, smtp_plain, "on-failure")
    log = tmp_path / "build.log"
    log.write_text("ok\n")
    result = run_cli(
        "send",
        "--event",
        "request-failed",
        "--to",
        "ops@example.com",
        "--var",
        "instance_name=R1",
        "--log",
        str(log),
    )
    assert result.exit_code == 0, result.stderr
    assert "not attached: notifications.attach_logs is on-failure" in result.stderr


def test_quiet_keeps_the_note_out(  # type: ignore[no-untyped-def]
    run_cli, write_config, smtp_plain: SmtpServer, tmp_path: Path
) -> None:
    _configure(write_config, smtp_plain, None)
    log = tmp_path / "deploy.log"
    log.write_text("failed\n")
    result = run_cli(
        "-q",
        "send",
        "--event",
        "request-failed",
        "--to",
        "ops@example.com",
        "--var",
        "instance_name=R1",
        "--log",
        str(log),
    )
    assert result.exit_code == 0 and result.stderr == ""


def test_the_example_file_and_the_default_agree_on_attach_logs() -> None:
    example = tomllib.loads(EXAMPLE.read_text())
    assert example["notifications"]["attach_logs"] == SPECS["notifications.attach_logs"].default
