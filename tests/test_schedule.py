"""The crontab lines and systemd units that run process-replies every approval.interval_minutes."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from mailrelay_cli.config.load import settings_from_table
from mailrelay_cli.config.records import Settings
from mailrelay_cli.reports import schedule

PROGRAM = ("/opt/mailrelay/bin/mailrelay",)


def settings(interval: int = 5, path: Path = Path("/etc/mailrelay/settings.toml")) -> Settings:
    return settings_from_table({"approval": {"interval_minutes": interval}}, path)


def expand(field: str, top: int) -> set[int]:
    """The values a cron field matches (the subset of cron syntax schedule may write)."""
    values: set[int] = set()
    for part in field.split(","):
        spec, _, step_text = part.partition("/")
        step = int(step_text) if step_text else 1
        if spec == "*":
            start, end = 0, top - 1
        elif "-" in spec:
            start, end = (int(x) for x in spec.split("-"))
        else:
            start = end = int(spec)
        values.update(range(start, end + 1, step))
    return values


def minutes_of_day(fields: tuple[str, ...]) -> list[int]:
    """Every minute of a day on which one of the lines runs."""
    runs: set[int] = set()
    for line in fields:
        minute, hour, day, month, weekday = line.split()
        assert (day, month, weekday) == ("*", "*", "*")
        runs.update(h * 60 + m for h in expand(hour, 24) for m in expand(minute, 60))
    return sorted(runs)


def test_interval_that_divides_an_hour_is_one_step_line() -> None:
    assert schedule.cron_fields(5) == (("*/5 * * * *",), None)


def test_every_minute_is_all_stars() -> None:
    assert schedule.cron_fields(1) == (("* * * * *",), None)


def test_hourly_runs_on_the_hour() -> None:
    assert schedule.cron_fields(60) == (("0 * * * *",), None)


def test_whole_hours_use_an_hour_step() -> None:
    assert schedule.cron_fields(120) == (("0 */2 * * *",), None)


def test_daily_runs_at_midnight() -> None:
    assert schedule.cron_fields(1440) == (("0 0 * * *",), None)


def test_intervals_that_divide_a_day_run_exactly_every_interval() -> None:
    for interval in (i for i in range(1, 1441) if 1440 % i == 0):
        fields, note = schedule.cron_fields(interval)
        assert minutes_of_day(fields) == list(range(0, 1440, interval)), interval
        assert note is None, interval


def test_other_intervals_restart_at_midnight_and_say_the_last_gap_is_shorter() -> None:
    for interval in (i for i in range(1, 1440) if 1440 % i != 0):
        fields, note = schedule.cron_fields(interval)
        runs = minutes_of_day(fields)
        assert runs == list(range(0, 1440, interval)), interval
        assert note is not None and f"{1440 - runs[-1]} minutes before" in note, interval


def test_intervals_of_several_days_step_the_day_of_month_with_a_note() -> None:
    fields, note = schedule.cron_fields(2 * 1440)
    assert fields == ("0 0 */2 * *",)
    assert note is not None and "--systemd" in note


def test_cron_line_runs_process_replies_quietly_with_absolute_paths() -> None:
    result = schedule.cron(settings(5), PROGRAM)
    assert result.lines == (
        "*/5 * * * * /opt/mailrelay/bin/mailrelay --config /etc/mailrelay/settings.toml -q process-replies",
    )
    assert (result.exact, result.every) == (True, "every 5 minutes")


def test_cron_line_makes_a_relative_config_path_absolute(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    (line,) = schedule.cron(settings(5, Path("conf/settings.toml")), PROGRAM).lines
    assert f"--config {tmp_path}/conf/settings.toml " in line


def test_cron_line_quotes_spaces_and_escapes_percent() -> None:
    (line,) = schedule.cron(settings(5, Path("/srv/my conf/100%.toml")), PROGRAM).lines
    assert "--config '/srv/my conf/100\\%.toml' -q" in line


def test_systemd_service_runs_process_replies_once_per_start() -> None:
    units = schedule.systemd(settings(5), PROGRAM)
    assert units.service_name == "mailrelay-replies.service"
    assert "Type=oneshot" in units.service
    assert (
        "ExecStart=/opt/mailrelay/bin/mailrelay --config /etc/mailrelay/settings.toml -q process-replies"
    ) in units.service.splitlines()


def test_systemd_timer_keeps_any_interval_exactly() -> None:
    timer = schedule.systemd(settings(7), PROGRAM).timer.splitlines()
    assert "OnUnitActiveSec=7min" in timer
    assert "OnBootSec=1min" in timer
    assert "Unit=mailrelay-replies.service" in timer
    assert "WantedBy=timers.target" in timer


def test_systemd_exec_start_quotes_spaces_and_escapes_specifiers() -> None:
    units = schedule.systemd(settings(5, Path("/srv/my conf/50%.toml")), PROGRAM)
    assert '--config "/srv/my conf/50%%.toml" -q' in units.service


def test_command_is_the_running_mailrelay_script(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    script = tmp_path / "bin" / "mailrelay"
    script.parent.mkdir()
    script.write_text("#!/bin/sh\n")
    monkeypatch.setattr(sys, "argv", [str(script), "schedule"])
    assert schedule.find_command() == (str(script),)


def test_command_is_mailrelay_on_path_otherwise(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    script = tmp_path / "mailrelay"
    script.write_text("#!/bin/sh\n")
    script.chmod(0o755)
    monkeypatch.setattr(sys, "argv", ["pytest"])
    monkeypatch.setenv("PATH", str(tmp_path))
    assert schedule.find_command() == (str(script),)


def test_command_falls_back_to_this_python_as_a_module(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(sys, "argv", ["pytest"])
    monkeypatch.setenv("PATH", str(tmp_path))
    program = schedule.find_command()
    assert program[1:] == ("-m", "mailrelay_cli")
    assert os.path.isabs(program[0])


BACKEND = "keyrings.alt.file.PlaintextKeyring"


def test_cron_line_carries_the_keyring_backend_with_env() -> None:
    result = schedule.cron(settings(5), PROGRAM, keyring_backend=BACKEND)
    assert result.lines == (
        f"*/5 * * * * env PYTHON_KEYRING_BACKEND={BACKEND} "
        "/opt/mailrelay/bin/mailrelay --config /etc/mailrelay/settings.toml "
        "-q process-replies",
    )
    assert any("env" in comment and "NAME=value" in comment for comment in result.comments)


def test_cron_line_quotes_the_keyring_backend_for_the_shell_and_escapes_percent() -> None:
    (line,) = schedule.cron(settings(5), PROGRAM, keyring_backend="my backend;50%").lines
    assert " env 'PYTHON_KEYRING_BACKEND=my backend;50\\%' /opt/" in line


def test_a_keyring_backend_with_a_newline_is_not_carried_and_says_so() -> None:
    result = schedule.cron(settings(5), PROGRAM, keyring_backend="a\n* * * * * evil")
    assert "env" not in result.lines[0] and len(result.lines) == 1
    assert any("control character" in comment for comment in result.comments)


def test_cron_without_a_keyring_backend_has_no_env_and_no_comments() -> None:
    result = schedule.cron(settings(5), PROGRAM)
    assert " env " not in result.lines[0]
    assert result.comments == ()


def test_cron_names_withheld_secret_variables_in_a_comment_only() -> None:
    result = schedule.cron(
        settings(5), PROGRAM, keyring_backend=BACKEND, withheld=("MAILRELAY_SMTP_PASSWORD",)
    )
    assert "MAILRELAY_SMTP_PASSWORD" not in result.lines[0]
    (comment,) = [c for c in result.comments if "MAILRELAY_SMTP_PASSWORD" in c]
    assert "will not have it" in comment
    assert "keyring" in comment and "EnvironmentFile=" in comment and "0600" in comment


def test_systemd_service_carries_the_keyring_backend_as_environment() -> None:
    service = schedule.systemd(settings(5), PROGRAM, keyring_backend=BACKEND).service
    lines = service.splitlines()
    assert f"Environment=PYTHON_KEYRING_BACKEND={BACKEND}" in lines
    assert lines.index(f"Environment=PYTHON_KEYRING_BACKEND={BACKEND}") < next(
        i for i, line in enumerate(lines) if line.startswith("ExecStart=")
    )


def test_systemd_environment_quotes_spaces_and_escapes_specifiers() -> None:
    service = schedule.systemd(settings(5), PROGRAM, keyring_backend='a "b"%c').service
    assert 'Environment="PYTHON_KEYRING_BACKEND=a \\"b\\"%%c"' in service.splitlines()


def test_systemd_names_withheld_secret_variables_in_a_comment_only() -> None:
    units = schedule.systemd(settings(5), PROGRAM, withheld=("MAILRELAY_IMAP_CLIENT_SECRET",))
    assert "MAILRELAY_IMAP_CLIENT_SECRET" not in units.service
    assert "Environment=" not in units.service
    (comment,) = units.comments
    assert "MAILRELAY_IMAP_CLIENT_SECRET" in comment and "EnvironmentFile=" in comment
