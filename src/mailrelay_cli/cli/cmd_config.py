"""``mailrelay config show|check|path|set``."""

from __future__ import annotations

import click

from mailrelay_cli import render
from mailrelay_cli.cli.common import AppContext, json_option, pass_app


@click.group("config")
def config_group() -> None:
    """Show, check, locate and edit the settings file."""


@config_group.command("show")
@json_option
@pass_app
def show(app: AppContext, as_json: bool) -> None:
    """Effective settings with defaults and inheritance applied; secrets only as set/unset."""
    from mailrelay_cli import config_report

    report = config_report.show(app.settings())
    if as_json:
        for row in report.rows:
            render.json_line({"key": row.key, "value": row.value, "source": row.source})
        return
    render.plain(f"# {report.path}" + ("" if report.file_exists else " (does not exist)"))
    render.table(None, ["key", "value", "source"],
                 [(row.key, "" if row.value is None else row.value, row.source)
                  for row in report.rows])


@config_group.command("check")
@json_option
@pass_app
def check(app: AppContext, as_json: bool) -> None:
    """Validate the settings file; exit 78 with the key to fix when it is wrong."""
    from mailrelay_cli import config_report

    result = config_report.check(app.settings())
    if as_json:
        render.json_line({"path": str(result.path), "ok": True, "warnings": list(result.warnings)})
        return
    for warning in result.warnings:
        render.plain(f"warning: {warning}", err=True)
    if not app.quiet:
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
    from mailrelay_cli import paths, settings

    target = paths.config_file(app.config_path)
    written = settings.set_value(target, key, value)
    if not app.quiet:
        render.plain(f"{key} = {written!r} written to {target}")
