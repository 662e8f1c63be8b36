"""``mailrelay schedule --cron|--systemd`` through the CLI."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result

Run = Callable[..., Result]


def test_cron_prints_a_comment_and_the_line_for_the_configured_interval(
    run_cli: Run, write_config: Callable[[str], Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PYTHON_KEYRING_BACKEND")
    path = write_config("[approval]\ninterval_minutes = 10\n")
    result = run_cli("schedule", "--cron")
    assert result.exit_code == 0, result.stderr
    comment, line = result.stdout.splitlines()
    assert comment == ("# mailrelay process-replies every 10 minutes (approval.interval_minutes = 10)")
    assert line.startswith("*/10 * * * * /")
    assert line.endswith(f" --config {path} -q process-replies")


def test_cron_explains_an_interval_cron_cannot_keep(
    run_cli: Run, write_config: Callable[[str], Path]
) -> None:
    write_config("[approval]\ninterval_minutes = 7\n")
    result = run_cli("schedule", "--cron")
    assert result.exit_code == 0, result.stderr
    assert "# note: 7 minutes do not divide a day" in result.stdout
    assert "--systemd" in result.stdout


def test_cron_uses_the_config_option_as_an_absolute_path(run_cli: Run, tmp_path: Path) -> None:
    config = tmp_path / "other.toml"
    config.write_text("[approval]\ninterval_minutes = 15\n")
    result = run_cli("--config", str(config), "schedule", "--cron")
    assert result.exit_code == 0, result.stderr
    assert f"--config {config} -q process-replies" in result.stdout


def test_systemd_prints_the_service_and_timer_with_where_to_save_them(
    run_cli: Run, write_config: Callable[[str], Path]
) -> None:
    write_config("[approval]\ninterval_minutes = 5\n")
    result = run_cli("schedule", "--systemd")
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert "# ~/.config/systemd/user/mailrelay-replies.service" in lines
    assert "# ~/.config/systemd/user/mailrelay-replies.timer" in lines
    assert "OnUnitActiveSec=5min" in lines
    assert "#   systemctl --user enable --now mailrelay-replies.timer" in lines


def test_without_a_scheduler_is_a_usage_error_naming_the_options(run_cli: Run) -> None:
    result = run_cli("schedule")
    assert result.exit_code == 2
    assert "--cron or --systemd" in result.stderr
    assert result.stdout == ""


BACKEND = "keyrings.alt.file.PlaintextKeyring"


def test_cron_job_gets_the_keyring_backend_of_this_shell(
    run_cli: Run, write_config: Callable[[str], Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", BACKEND)
    write_config("[approval]\ninterval_minutes = 10\n")
    result = run_cli("schedule", "--cron")
    assert result.exit_code == 0, result.stderr
    *comments, line = result.stdout.splitlines()
    assert line.startswith(f"*/10 * * * * env PYTHON_KEYRING_BACKEND={BACKEND} /")
    assert all(comment.startswith("# ") for comment in comments)
    assert any("set for the job with env" in comment for comment in comments)


def test_cron_never_carries_a_secret_variable_and_says_the_job_will_not_have_it(
    run_cli: Run, write_config: Callable[[str], Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MAILRELAY_SMTP_PASSWORD", "S3ntinel-pw-xyz")
    monkeypatch.setenv("MAILRELAY_DEPLOY_KEY", "S3ntinel-key-xyz")
    write_config("[approval]\ninterval_minutes = 10\n")
    result = run_cli("schedule", "--cron")
    assert result.exit_code == 0, result.stderr
    assert "S3ntinel" not in result.stdout
    (note,) = [line for line in result.stdout.splitlines() if "will not have" in line]
    assert note.startswith("# note: MAILRELAY_DEPLOY_KEY, MAILRELAY_SMTP_PASSWORD are set here")
    assert "keyring" in note and "EnvironmentFile=" in note and "0600" in note
    job = result.stdout.splitlines()[-1]
    assert "MAILRELAY_" not in job


def test_systemd_service_gets_the_keyring_backend_as_environment(
    run_cli: Run, write_config: Callable[[str], Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", BACKEND)
    write_config("[approval]\ninterval_minutes = 5\n")
    result = run_cli("schedule", "--systemd")
    assert result.exit_code == 0, result.stderr
    assert f"Environment=PYTHON_KEYRING_BACKEND={BACKEND}" in result.stdout.splitlines()


def test_systemd_never_carries_a_secret_variable_and_says_the_job_will_not_have_it(
    run_cli: Run, write_config: Callable[[str], Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MAILRELAY_IMAP_PASSWORD", "S3ntinel-pw-xyz")
    write_config("[approval]\ninterval_minutes = 5\n")
    result = run_cli("schedule", "--systemd")
    assert result.exit_code == 0, result.stderr
    assert "S3ntinel" not in result.stdout
    assert "MAILRELAY_IMAP_PASSWORD" not in "".join(
        line for line in result.stdout.splitlines() if not line.startswith("#")
    )
    assert "# note: MAILRELAY_IMAP_PASSWORD is set here but the job will not have it" in (result.stdout)
