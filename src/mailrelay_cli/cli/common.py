"""What every command shares: the context object and the ``--json`` option."""

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

            self._settings = load_settings(self.config_path)
        return self._settings


pass_app = click.make_pass_decorator(AppContext, ensure=True)


def json_option(func: Callable[..., Any]) -> Callable[..., Any]:
    """Add ``--json``; it also switches errors to a JSON object on stderr."""

    @click.option("--json", "as_json", is_flag=True, help="One JSON object per line, for scripts.")
    @functools.wraps(func)
    def wrapper(*args: Any, as_json: bool, **kwargs: Any) -> Any:
        app = click.get_current_context().find_object(AppContext)
        if app is not None:
            app.json = as_json
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
        render.plain(f"mailrelay: warning: {warning}", err=True)
