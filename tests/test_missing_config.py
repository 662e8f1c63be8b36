"""A mistyped ``--config PATH`` leads every command's error with "PATH does not exist", and no
hint offers to create the mistyped file (issue 12, point 10)."""

from __future__ import annotations

from pathlib import Path

import pytest

COMMANDS = [
    ["send", "--event", "test", "--to", "ops@example.com"],
    ["test", "--to", "ops@example.com"],
    ["config", "check"],
    ["config", "show"],
    ["process-replies"],
    ["status"],
    ["approvals", "list"],
    ["schedule", "--cron"],
]


@pytest.mark.parametrize("args", COMMANDS, ids=lambda a: " ".join(a[:2]))
def test_a_mistyped_config_path_leads_with_does_not_exist(run_cli, tmp_path: Path, args: list[str]) -> None:  # type: ignore[no-untyped-def]
    typo = tmp_path / "setings.toml"
    result = run_cli("--config", str(typo), *args)
    assert result.exit_code == 78, result.stdout + result.stderr
    first = (result.stderr or result.stdout).splitlines()[0]
    assert first == f"mailrelay: error: {typo} does not exist (given by --config)"
    assert "config set" not in result.stderr and "config init" not in result.stderr
    assert not typo.exists()


def test_the_environment_variable_is_named_when_it_gave_the_path(run_cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    typo = tmp_path / "setings.toml"
    result = run_cli("status", env={"MAILRELAY_CONFIG": str(typo)})
    assert result.exit_code == 78
    assert f"{typo} does not exist (given by MAILRELAY_CONFIG)" in result.stderr


def test_test_without_the_default_file_leads_with_it(run_cli, config_file: Path) -> None:  # type: ignore[no-untyped-def]
    config_file.unlink(missing_ok=True)
    result = run_cli("test", "--to", "ops@example.com")
    assert result.exit_code == 78
    assert f"{config_file} does not exist" in result.stdout
    assert "smtp.host is not set" not in result.stdout
    assert "mailrelay config init" in result.stdout


def test_send_without_the_default_file_leads_with_it(run_cli, config_file: Path) -> None:  # type: ignore[no-untyped-def]
    config_file.unlink(missing_ok=True)
    result = run_cli("send", "--event", "test", "--to", "ops@example.com")
    assert result.exit_code == 78
    assert result.stderr.startswith(f"mailrelay: error: {config_file} does not exist\n")


def test_settings_from_the_environment_alone_need_no_file(run_cli, config_file: Path) -> None:  # type: ignore[no-untyped-def]
    config_file.unlink(missing_ok=True)
    env = {
        "MAILRELAY__SMTP__HOST": "mail.example.com",
        "MAILRELAY__SMTP__USER": "bot@example.com",
        "MAILRELAY__SMTP__FROM": "bot@example.com",
    }
    result = run_cli("config", "check", env=env)
    assert result.exit_code == 0, result.stderr


def test_process_replies_without_the_default_file_leads_with_it(run_cli, config_file: Path) -> None:  # type: ignore[no-untyped-def]
    config_file.unlink(missing_ok=True)
    result = run_cli("process-replies")
    assert result.exit_code == 78
    assert result.stderr.startswith(f"mailrelay: error: {config_file} does not exist\n")
