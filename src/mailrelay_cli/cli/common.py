"""What every command shares: the context object, the ``--json`` option and the duration type."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:  # settings costs ~20 ms to import; `--help` never needs it
    from mailrelay_cli.config.records import Settings


@dataclass
class AppContext:
    """Global options, and the settings loaded once per invocation."""

    config_path: str | None = None
    verbose: int = 0
    quiet: bool = False
    json: bool = False
    _settings: Settings | None = None

    def settings(self) -> Settings:
        if self._settings is None:
            from mailrelay_cli.config.load import load_settings

            self._require_named_file()
            self._settings = load_settings(self.config_path)
        return self._settings

    def _require_named_file(self) -> None:
        """A settings file named with --config or MAILRELAY_CONFIG must exist: a typo there
        leads every command's error, before any "key is not set" that follows from it."""
        import os
        from pathlib import Path

        if not self.config_path:
            return
        path = Path(self.config_path).expanduser()
        if path.exists():
            return
        from mailrelay_cli.config.missing_file import missing_file_error

        given_by = (
            "MAILRELAY_CONFIG" if os.environ.get("MAILRELAY_CONFIG") == self.config_path else "--config"
        )
        raise missing_file_error(path, given_by)


pass_app = click.make_pass_decorator(AppContext, ensure=True)


class Duration(click.ParamType):
    """A duration as DESIGN.md writes them (``30s``, ``5m``, ``72h``, ``2d``), in seconds; anything
    else is a usage error (2) worded alike for every option that takes one. With ``empty_unset``
    an empty value counts as not given (``--expires-in "$EXPIRES"`` with the variable unset)."""

    name = "duration"

    def __init__(self, *, empty_unset: bool = False) -> None:
        self.empty_unset = empty_unset

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if not isinstance(value, str):
            return value
        if value == "" and self.empty_unset:
            return None
        from mailrelay_cli.durations import parse_duration

        try:
            return parse_duration(value)
        except ValueError:
            self.fail(f"{value!r} is not a duration; write it like 30s, 5m, 72h or 2d", param, ctx)


DURATION = Duration()


class Group(click.Group):
    """A command group whose ``--help`` lists each summary whole: click cuts it at the column's
    width mid-sentence; here it wraps instead."""

    def command_summaries(self, ctx: click.Context) -> list[tuple[str, str]]:
        """(name, summary) of each visible command, in --help's order."""
        rows = []
        for name in self.list_commands(ctx):
            command = self.get_command(ctx, name)
            if command is not None and not command.hidden:
                rows.append((name, command.get_short_help_str(limit=1000)))
        return rows

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = self.command_summaries(ctx)
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


def json_option(func: Callable[..., Any]) -> Callable[..., Any]:
    """Add ``--json``; it also switches errors to a JSON object on stderr."""

    @click.option("--json", "as_json", is_flag=True, help="One JSON object per line, for scripts.")
    @functools.wraps(func)
    def wrapper(*args: Any, as_json: bool, **kwargs: Any) -> Any:
        app = click.get_current_context().find_object(AppContext)
        if app is not None:  # `mailrelay --json CMD` and `mailrelay CMD --json` are the same
            app.json = as_json = app.json or as_json
        return func(*args, as_json=as_json, **kwargs)

    return wrapper


def warn_unsafe_imap(app: AppContext) -> None:
    """Print, on every run and even with -q, that IMAP certificate checks are turned off."""
    from mailrelay_cli.cli import render
    from mailrelay_cli.config.endpoints import run_warnings
    from mailrelay_cli.errors import ConfigError

    settings = app.settings()
    if settings.approval.maildir is not None or settings.approval.graph:
        return
    try:
        warnings = run_warnings(settings.imap)
    except ConfigError:  # the command itself reports a broken imap.properties
        return
    for warning in warnings:
        render.aside(app, f"mailrelay: warning: {warning}", warning=warning)
