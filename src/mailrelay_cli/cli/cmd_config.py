"""``mailrelay config show|check|path|set``."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from mailrelay_cli.cli import render
from mailrelay_cli.cli.common import AppContext, json_option, pass_app
from mailrelay_cli.errors import ConfigError

if TYPE_CHECKING:
    from mailrelay_cli.reports.config_report import CheckReport, ShowReport


@click.group("config")
def config_group() -> None:
    """Show, check, locate and edit the settings file."""


@config_group.command("show")
@json_option
@pass_app
def show(app: AppContext, as_json: bool) -> None:
    """Effective settings with defaults and inheritance applied; secrets only as set/unset."""
    from mailrelay_cli.reports import config_report

    report = config_report.show(app.settings())
    # show prints even under -q: the table is what was asked for
    render.emit(app, report.rows, lambda _: _print_show(report), quiet=lambda _: _print_show(report))


@config_group.command("check")
@json_option
@pass_app
def check(app: AppContext, as_json: bool) -> None:
    """Validate the settings file and what the commands need; exit 78 naming each key to fix.

    Checks that the file exists, that smtp.host and smtp.from are set, smtp.user
    for basic or OAuth login, smtp.client_id for OAuth and, with approvals on an
    IMAP mailbox, imap.host and imap.user.
    """
    from mailrelay_cli.reports import config_report

    result = config_report.check(app.settings())
    # Warnings and every problem but the first (the error line) show even under -q.
    render.emit(app, result, lambda r: _print_check(r, ok_line=True),
                quiet=lambda r: _print_check(r, ok_line=False))
    if result.problems:
        first, *others = result.problems
        more = f" (and {len(others)} more)" if others else ""
        raise ConfigError(first.message + more, hint=first.hint)


def _print_show(report: ShowReport) -> None:
    render.plain(f"# {report.path}" + ("" if report.file_exists else " (does not exist)"))
    render.table(None, ["key", "value", "source"],
                 [(row.key, "" if row.value is None else row.value, row.source)
                  for row in report.rows])


def _print_check(result: CheckReport, *, ok_line: bool) -> None:
    for warning in result.warnings:
        render.plain(f"warning: {warning}", err=True)
    for problem in result.problems[1:]:
        render.plain(f"problem: {problem.message} (fix: {problem.hint})", err=True)
    if ok_line and result.ok:
        render.plain(f"{result.path}: ok")


@config_group.command("path")
@pass_app
def path(app: AppContext) -> None:
    """Print the settings file in use (whether or not it exists yet)."""
    from mailrelay_cli import paths

    render.plain(str(paths.config_file(app.config_path)))


@config_group.command("set")
@click.argument("key")
@click.argument("value")
@pass_app
def set_(app: AppContext, key: str, value: str) -> None:
    """Set KEY to VALUE in the settings file, keeping its comments and layout."""
    from mailrelay_cli import paths
    from mailrelay_cli.config.edit import set_value

    target = paths.config_file(app.config_path)
    written = set_value(target, key, value)
    if not app.quiet:
        import tomlkit

        render.plain(f"{key} = {tomlkit.item(written).as_string()} written to {target}")
