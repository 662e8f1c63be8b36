"""``mailrelay config show|get|check|path|set|unset|init``."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from mailrelay_cli.cli import render
from mailrelay_cli.cli.common import AppContext, Group, json_option, pass_app
from mailrelay_cli.cli.completion import complete_key
from mailrelay_cli.errors import ConfigError

if TYPE_CHECKING:
    from mailrelay_cli.config.display import ConfigRow
    from mailrelay_cli.reports.config_report import CheckReport, ShowReport


@click.group("config", cls=Group)
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
    render.emit(
        app, result, lambda r: _print_check(r, ok_line=True), quiet=lambda r: _print_check(r, ok_line=False)
    )
    if result.problems:
        first, *others = result.problems
        more = f" (and {len(others)} more)" if others else ""
        raise ConfigError(first.message + more, hint=first.hint)


def _print_show(report: ShowReport) -> None:
    """The effective settings as TOML, each value's source in its trailing comment."""
    from mailrelay_cli.config.display import toml_text
    from mailrelay_cli.config.schema import SECRET_NAMES

    render.plain(
        f"# {report.path}"
        + ("" if report.file_exists else " (does not exist)")
        + ": effective settings, each value's source in its comment"
    )
    render.plain(toml_text(report.rows, SECRET_NAMES))


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
@click.argument("key", shell_complete=complete_key)
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
    _note_env_override(key)


def _note_env_override(key: str) -> None:
    """Say so when an environment variable overrides what was just written."""
    import os

    from mailrelay_cli.config.env_overrides import env_name

    name = env_name(key)
    if os.environ.get(name):
        render.plain(f"note: {name} is set and overrides the file's {key}", err=True)


@config_group.command("get")
@click.argument("key", shell_complete=complete_key)
@json_option
@pass_app
def get(app: AppContext, key: str, as_json: bool) -> None:
    """Print KEY's effective value (as TOML) and where it came from.

    The source is the file, an environment variable (MAILRELAY__SECTION__KEY), a
    default, or the key it is inherited from. Secrets show only set or unset.
    """
    from mailrelay_cli.config.display import toml_value
    from mailrelay_cli.reports import config_report

    def human(row: ConfigRow) -> None:
        if row.value is None:
            render.plain(f"# {row.key}: not set ({row.source})")
        else:
            render.plain(f"{row.key} = {toml_value(row.value)}  # {row.source}")

    # get prints even under -q: the value is what was asked for
    render.emit(app, config_report.get(app.settings(), key), human, quiet=human)


@config_group.command("unset")
@click.argument("key", shell_complete=complete_key)
@pass_app
def unset(app: AppContext, key: str) -> None:
    """Remove KEY from the settings file so its default applies again; comments are kept."""
    from mailrelay_cli import paths
    from mailrelay_cli.config.edit import unset_value

    target = paths.config_file(app.config_path)
    removed = unset_value(target, key)
    if not app.quiet:
        render.plain(f"{key} removed from {target}" if removed else f"{key} was not set in {target}")
    _note_env_override(key)


@config_group.command("init")
@click.option("--force", is_flag=True, help="Overwrite an existing settings file.")
@pass_app
def init(app: AppContext, force: bool) -> None:
    """Write a new settings file with every key commented out, from the shipped example."""
    from mailrelay_cli import paths
    from mailrelay_cli.config.starter import write_starter

    target = paths.config_file(app.config_path)
    write_starter(target, force=force)
    if not app.quiet:
        render.plain(f"wrote {target}; next: mailrelay config set smtp.host HOST")
