"""``mailrelay schedule --systemd --watch``: the long-running service unit for the watcher."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from mailrelay_cli.config.load import settings_from_table
from mailrelay_cli.config.records import Settings
from mailrelay_cli.reports import schedule

PROGRAM = ("/opt/mailrelay/bin/mailrelay",)


def settings(**approval: object) -> Settings:
    return settings_from_table(
        {"approval": {"interval_minutes": 5, **approval}, "state": {"path": "/var/lib/mailrelay"}},
        Path("/etc/mailrelay/settings.toml"),
    )


def lines(unit: schedule.WatchUnit) -> list[str]:
    return unit.service.splitlines()


def test_the_service_is_simple_restarts_on_failure_and_runs_watch() -> None:
    unit = schedule.systemd_watch(settings(), PROGRAM)
    assert unit.service_name == "mailrelay-watch.service"
    assert "Type=simple" in lines(unit)
    assert "Restart=on-failure" in lines(unit)
    assert "RestartSec=30s" in lines(unit)
    assert (
        "ExecStart=/opt/mailrelay/bin/mailrelay --config /etc/mailrelay/settings.toml process-replies --watch"
    ) in lines(unit)


def test_settings_and_auth_faults_are_not_restarted() -> None:
    assert "RestartPreventExitStatus=77 78" in lines(schedule.systemd_watch(settings(), PROGRAM))


def test_sighup_reloads_through_systemctl_reload() -> None:
    assert "ExecReload=/bin/kill -HUP $MAINPID" in lines(schedule.systemd_watch(settings(), PROGRAM))


def test_hardening_allows_writes_only_to_the_state_dir() -> None:
    unit = lines(schedule.systemd_watch(settings(), PROGRAM))
    for option in (
        "NoNewPrivileges=yes",
        "ProtectSystem=strict",
        "PrivateTmp=yes",
        "ReadWritePaths=/var/lib/mailrelay",
    ):
        assert option in unit


def test_a_maildir_and_a_file_keyring_are_writable_too() -> None:
    unit = schedule.systemd_watch(
        settings(mailbox="maildir:/srv/mail/replies"),
        PROGRAM,
        keyring_dir=Path("/home/ci/.local/share/python_keyring"),
    )
    assert (
        "ReadWritePaths=/var/lib/mailrelay /srv/mail/replies -/home/ci/.local/share/python_keyring"
    ) in lines(unit)


def test_the_keyring_backend_is_carried_and_secrets_are_not() -> None:
    unit = schedule.systemd_watch(
        settings(),
        PROGRAM,
        keyring_backend="keyrings.alt.file.PlaintextKeyring",
        withheld=("MAILRELAY_IMAP_PASSWORD",),
    )
    assert "Environment=PYTHON_KEYRING_BACKEND=keyrings.alt.file.PlaintextKeyring" in lines(unit)
    assert "MAILRELAY_IMAP_PASSWORD" not in unit.service
    assert any("MAILRELAY_IMAP_PASSWORD is set here but the job will not have it" in c for c in unit.comments)


def test_install_makes_the_state_dir_and_enables_the_service() -> None:
    unit = schedule.systemd_watch(settings(), PROGRAM)
    assert unit.install[0].startswith("mkdir -p -m 700 /var/lib/mailrelay")
    assert "systemctl --user enable --now mailrelay-watch.service" in unit.install


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="no systemd-analyze here")
def test_systemd_accepts_the_unit(tmp_path: Path) -> None:
    unit = schedule.systemd_watch(
        settings(mailbox="maildir:/srv/mail/replies"),
        PROGRAM,
        keyring_backend="keyrings.alt.file.PlaintextKeyring",
    )
    path = tmp_path / unit.service_name
    path.write_text(unit.service)
    checked = subprocess.run(
        ["systemd-analyze", "verify", "--man=no", str(path)], capture_output=True, text=True, timeout=60
    )
    # verify complains about the missing program only; any option it cannot parse is named.
    complaints = [line for line in checked.stderr.splitlines() if "/opt/mailrelay/bin/mailrelay" not in line]
    assert complaints == [], checked.stderr


def test_cli_prints_the_unit_and_the_install_steps(run_cli, write_config) -> None:
    write_config("[approval]\ninterval_minutes = 5\n")
    result = run_cli("schedule", "--systemd", "--watch")
    assert result.exit_code == 0, result.output
    assert "# ~/.config/systemd/user/mailrelay-watch.service" in result.stdout
    assert "Type=simple" in result.stdout
    assert "#   systemctl --user enable --now mailrelay-watch.service" in result.stdout
    assert "OnUnitActiveSec" not in result.stdout


def test_cli_json_is_one_object_with_the_unit_and_quiet_still_prints_it(run_cli, write_config) -> None:
    write_config("[approval]\ninterval_minutes = 5\n")
    result = run_cli("schedule", "--systemd", "--watch", "--json")
    assert result.exit_code == 0, result.output
    [line] = result.stdout.splitlines()
    unit = json.loads(line)
    assert sorted(unit) == ["comments", "directory", "install", "service", "service_name"]
    assert unit["service_name"] == "mailrelay-watch.service"
    assert unit["directory"] == "~/.config/systemd/user"
    assert "Type=simple" in unit["service"]
    assert "systemctl --user enable --now mailrelay-watch.service" in unit["install"]
    # -q prints what was asked for, as --cron and --systemd do: it is meant to be saved.
    quiet = run_cli("schedule", "--systemd", "--watch", "-q")
    assert quiet.exit_code == 0
    assert quiet.stdout == run_cli("schedule", "--systemd", "--watch").stdout


def test_cron_with_watch_is_a_usage_error(run_cli, write_config) -> None:
    write_config("[approval]\ninterval_minutes = 5\n")
    result = run_cli("schedule", "--cron", "--watch")
    assert result.exit_code == 2
    assert "mailrelay schedule --systemd --watch" in result.stderr
