"""``mailrelay schedule --cron|--systemd`` through the CLI."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from click.testing import Result

Run = Callable[..., Result]


def test_cron_prints_a_comment_and_the_line_for_the_configured_interval(
        run_cli: Run, write_config: Callable[[str], Path]) -> None:
    path = write_config("[approval]\ninterval_minutes = 10\n")
    result = run_cli("schedule", "--cron")
    assert result.exit_code == 0, result.stderr
    comment, line = result.stdout.splitlines()
    assert comment == ("# mailrelay process-replies every 10 minutes "
                       "(approval.interval_minutes = 10)")
    assert line.startswith("*/10 * * * * /")
    assert line.endswith(f" --config {path} -q process-replies")


def test_cron_explains_an_interval_cron_cannot_keep(run_cli: Run,
                                                    write_config: Callable[[str], Path]) -> None:
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
        run_cli: Run, write_config: Callable[[str], Path]) -> None:
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
