"""``-q``, ``-v``, ``--config`` and ``--json`` after the command too (``mailrelay send -q …``).

Each command (and each subcommand of a group) gets hidden copies of the global options
that write into the same ``AppContext`` the group's own options fill, so a flag means
the same wherever it stands. A command's own ``--json`` is left as it is.
"""

from __future__ import annotations

from typing import Any

import click

from mailrelay_cli.cli.common import AppContext

_MARK = "_mailrelay_global_options"


def _app(ctx: click.Context) -> AppContext | None:
    if ctx.resilient_parsing:  # completion parses without running anything
        return None
    return ctx.find_object(AppContext)


def _set_config(ctx: click.Context, param: click.Parameter, value: Any) -> None:
    app = _app(ctx)
    if app is not None and value is not None:
        app.config_path = value
        app._settings = None


def _add_verbose(ctx: click.Context, param: click.Parameter, value: Any) -> None:
    app = _app(ctx)
    if app is not None and value:
        app.verbose += value


def _set_quiet(ctx: click.Context, param: click.Parameter, value: Any) -> None:
    app = _app(ctx)
    if app is not None and value:
        app.quiet = True


def _set_json(ctx: click.Context, param: click.Parameter, value: Any) -> None:
    app = _app(ctx)
    if app is not None and value:
        app.json = True


def _options(existing: set[str]) -> list[click.Option]:
    options = [
        click.Option(
            ["--config", "config_path"],
            type=click.Path(dir_okay=False),
            hidden=True,
            expose_value=False,
            is_eager=True,
            callback=_set_config,
        ),
        click.Option(["-v", "--verbose"], count=True, hidden=True, expose_value=False, callback=_add_verbose),
        click.Option(["-q", "--quiet"], is_flag=True, hidden=True, expose_value=False, callback=_set_quiet),
    ]
    if "--json" not in existing:
        options.append(
            click.Option(
                ["--json", "global_json"], is_flag=True, hidden=True, expose_value=False, callback=_set_json
            )
        )
    return [option for option in options if not set(option.opts) & existing]


def accept_global_options(command: click.Command) -> None:
    """Give ``command`` and its subcommands the global options (once; idempotent)."""
    if getattr(command, _MARK, False):
        return
    setattr(command, _MARK, True)
    existing = {opt for param in command.params for opt in getattr(param, "opts", [])}
    command.params.extend(_options(existing))
    if isinstance(command, click.Group):
        for sub in command.commands.values():
            accept_global_options(sub)
