"""Shell completion: the values click completes dynamically, and ``mailrelay completion SHELL``.

click completes commands and options itself; the callbacks here add event names,
settings keys, secret names and approval ids. A callback never fails: a settings
file or state store that cannot be read completes nothing.
"""

from __future__ import annotations

import os
from typing import Any

import click
from click.shell_completion import CompletionItem

SHELLS = ("bash", "zsh", "fish")


def _settings(ctx: click.Context) -> Any:
    """The settings the command line names (``--config`` anywhere), or None."""
    from mailrelay_cli.config.load import load_settings
    from mailrelay_cli.errors import MailrelayError

    path = None
    current: click.Context | None = ctx
    while current is not None and path is None:
        path = current.params.get("config_path")
        current = current.parent
    try:
        return load_settings(path)
    except MailrelayError:
        return None


def complete_key(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[CompletionItem]:
    """Settings keys (``smtp.host``…), with their documentation as the description."""
    from mailrelay_cli.config.schema import KEYS

    return [
        CompletionItem(spec.key, help=spec.doc)
        for spec in KEYS
        if "*" not in spec.key and spec.key.startswith(incomplete)
    ]


def complete_event(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[CompletionItem]:
    """Event names, the built-in ones and those of ``notifications.templates_dir``."""
    from mailrelay_cli.errors import MailrelayError
    from mailrelay_cli.outbound.events import catalogue

    settings = _settings(ctx)
    templates = settings.notifications.templates_dir if settings is not None else None
    try:
        events = catalogue(templates)
    except MailrelayError:
        events = catalogue(None)
    return [
        CompletionItem(name, help=event.description)
        for name, event in events.items()
        if name.startswith(incomplete)
    ]


def complete_secret(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[CompletionItem]:
    from mailrelay_cli.auth.credentials import SECRET_NAMES

    return [CompletionItem(name) for name in SECRET_NAMES if name.startswith(incomplete)]


def complete_approval_id(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[CompletionItem]:
    """Approval ids in the state store, newest first, the title as the description."""
    from mailrelay_cli.errors import MailrelayError

    settings = _settings(ctx)
    if settings is None:
        return []
    from mailrelay_cli.store import state_url, store_exists

    if not store_exists(settings) or state_url(settings) is not None:
        return []  # completing never creates a database, nor waits on a network one
    from mailrelay_cli.approvals import service as approvals
    from mailrelay_cli.auth.store_access import open_state

    try:
        with open_state(settings) as db:
            found = approvals.list_approvals(db)
    except MailrelayError:
        return []
    return [CompletionItem(a.id, help=f"{a.status}: {a.title}") for a in found if a.id.startswith(incomplete)]


def script(shell: str, prog_name: str = "mailrelay") -> str:
    """The completion script click writes for ``shell`` (what ``eval`` or ``source`` loads)."""
    from click.shell_completion import get_completion_class

    from mailrelay_cli.cli import cli

    cls = get_completion_class(shell)
    if cls is None:  # click.Choice has already refused anything else
        raise click.BadParameter(shell)
    complete_var = "_" + prog_name.replace("-", "_").upper() + "_COMPLETE"
    return str(cls(cli, {}, prog_name, complete_var).source())


@click.command("completion")
@click.argument("shell", type=click.Choice(SHELLS))
def completion_command(shell: str) -> None:
    """Print the shell completion script for SHELL (bash, zsh or fish).

    \b
    bash: eval "$(mailrelay completion bash)"     in ~/.bashrc
    zsh:  eval "$(mailrelay completion zsh)"      in ~/.zshrc
    fish: mailrelay completion fish > ~/.config/fish/completions/mailrelay.fish
    """
    from mailrelay_cli.cli import render

    render.plain(script(shell, os.path.basename("mailrelay")).rstrip("\n"))
