"""``mailrelay schedule --cron|--systemd``."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from mailrelay_cli.cli import render
from mailrelay_cli.cli.common import AppContext, pass_app
from mailrelay_cli.errors import UsageError

if TYPE_CHECKING:
    from mailrelay_cli.reports.schedule import CronSchedule, SystemdUnits, WatchUnit


@click.command("schedule")
@click.option("--cron", "cron", is_flag=True, help="Print the crontab line(s).")
@click.option("--systemd", "systemd", is_flag=True, help="Print a service and timer unit pair (user units).")
@click.option(
    "--watch", is_flag=True, help="With --systemd: one long-running process-replies --watch service instead."
)
@pass_app
def schedule_command(app: AppContext, cron: bool, systemd: bool, watch: bool) -> None:
    """Print how to run process-replies every approval.interval_minutes, or (--systemd
    --watch) as a service that decides each reply as it arrives.

    \b
    Install the cron line with:
      (crontab -l 2>/dev/null; mailrelay schedule --cron) | crontab -
    """
    from mailrelay_cli.reports import schedule

    if cron and systemd:
        raise UsageError(
            "--cron and --systemd are two ways of doing one job; give one",
            hint="mailrelay schedule --cron, or: mailrelay schedule --systemd",
        )
    kind = "cron" if cron else "systemd" if systemd else None
    if kind is None:
        raise UsageError("say which scheduler: --cron or --systemd", hint="mailrelay schedule --cron")
    if watch and kind != "systemd":
        raise UsageError(
            "--watch is a long-running service: cron cannot keep one running",
            hint="mailrelay schedule --systemd --watch",
        )
    settings = app.settings()
    # The job's environment: the keyring backend of this shell goes with it; secret
    # variables never do (only their names, in a comment).
    # What was asked for prints even under -q: it is meant to be piped into crontab.
    if watch:
        unit = schedule.systemd_watch_here(settings)
        render.emit(app, unit, _print_watch_unit, quiet=_print_watch_unit)
    elif kind == "cron":
        render.emit(app, schedule.cron_here(settings), _print_cron, quiet=_print_cron)
    else:
        render.emit(app, schedule.systemd_here(settings), _print_units, quiet=_print_units)


def _print_cron(result: CronSchedule) -> None:
    render.plain(
        f"# mailrelay process-replies {result.every} (approval.interval_minutes = {result.interval_minutes})"
    )
    if result.note:
        render.plain(f"# note: {result.note}")
    for comment in result.comments:
        render.plain(f"# note: {comment}")
    for line in result.lines:
        render.plain(line)


def _print_units(units: SystemdUnits) -> None:
    for comment in units.comments:
        render.plain(f"# note: {comment}")
    render.plain(f"# {units.directory}/{units.service_name}")
    render.plain(units.service)
    render.plain(f"# {units.directory}/{units.timer_name}")
    render.plain(units.timer)
    render.plain(f"# save both files in {units.directory}/, then run:")
    for line in units.install:
        render.plain(f"#   {line}")


def _print_watch_unit(unit: WatchUnit) -> None:
    for comment in unit.comments:
        render.plain(f"# note: {comment}")
    render.plain(f"# {unit.directory}/{unit.service_name}")
    render.plain(unit.service)
    render.plain(f"# save it in {unit.directory}/, then run:")
    for line in unit.install:
        render.plain(f"#   {line}")
