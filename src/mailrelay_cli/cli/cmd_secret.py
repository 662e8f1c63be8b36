"""``mailrelay secret set|delete|list|export``: secrets in the OS keyring, never echoed."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import click

from mailrelay_cli.cli import render
from mailrelay_cli.cli.common import AppContext, Group, json_option, pass_app
from mailrelay_cli.cli.completion import complete_secret
from mailrelay_cli.errors import DataError, UsageError

if TYPE_CHECKING:
    from mailrelay_cli.auth.credentials import SecretStatus


@click.group("secret", cls=Group)
def secret_group() -> None:
    """Store passwords and client secrets in the OS keyring."""


@secret_group.command("set")
@click.argument("name", shell_complete=complete_secret)
# Anything after NAME would be the value typed on the command line (in the shell history and
# `ps`): taken only to refuse it without echoing it, as click's own error would.
@click.argument("extra", nargs=-1, metavar="")
@click.option(
    "--stdin",
    "from_stdin",
    is_flag=True,
    help="Read the value from standard input (one line) instead of a prompt; "
    "required when standard input is not a terminal.",
)
@pass_app
def set_(app: AppContext, name: str, extra: tuple[str, ...], from_stdin: bool) -> None:
    """Store secret NAME (smtp.password, imap.password, smtp.client_secret, imap.client_secret,
    state.password, approval.signing_key)."""
    from mailrelay_cli.auth import credentials

    if extra:
        raise UsageError(
            f"secret set takes only NAME; a value on the command line is refused and not shown "
            f"({len(extra)} more argument{'s' if len(extra) > 1 else ''} given)",
            hint=f"mailrelay secret set {name} (hidden prompt), or --stdin; the value you typed "
            "is in your shell history: remove it there and consider it exposed",
        )
    credentials.check_name(name)
    profile = app.settings().profile
    if from_stdin:
        value = sys.stdin.readline().rstrip("\r\n")
    else:
        if not sys.stdin.isatty():  # getpass would warn, echo the value, then abort
            raise UsageError(
                "standard input is not a terminal; pipe the value with --stdin",
                hint=f"run it in a terminal, or: mailrelay secret set {name} --stdin "
                "< FILE-HOLDING-THE-VALUE",
            )
        value = _prompt_twice(name)
    if not value:
        raise DataError(f"empty value for {name}; nothing stored", hint=f"mailrelay secret set {name}")
    if name == "approval.signing_key":
        from mailrelay_cli.auth import signing_key

        value = signing_key.check_new(value)
    credentials.set_secret(profile, name, value)
    if not app.quiet:
        render.plain(f"{name} stored in the keyring (service mailrelay, entry {profile}:{name})")


def _prompt_twice(name: str, tries: int = 3) -> str:
    """The value typed twice the same (hidden); asked again on a mismatch, in the house style
    (click's confirmation prompt prints its own "Error:")."""
    for attempt in range(1, tries + 1):
        value = click.prompt(name, hide_input=True, default="", show_default=False)
        if not value:
            return value
        if click.prompt(f"{name} (again)", hide_input=True, default="", show_default=False) == value:
            return value
        if attempt < tries:
            render.plain(f"mailrelay: the two entries for {name} differ; type it again", err=True)
    raise DataError(
        f"the two entries for {name} differed {tries} times; nothing stored",
        hint=f"mailrelay secret set {name}, or: mailrelay secret set {name} --stdin",
    )


@secret_group.command("delete")
@click.argument("name", shell_complete=complete_secret)
@pass_app
def delete(app: AppContext, name: str) -> None:
    """Remove secret NAME from the keyring."""
    from mailrelay_cli.auth import credentials

    credentials.check_name(name)
    removed = credentials.delete_secret(app.settings().profile, name)
    if not app.quiet:
        render.plain(f"{name} removed" if removed else f"{name} was not set")


@secret_group.command("list")
@json_option
@pass_app
def list_(app: AppContext, as_json: bool) -> None:
    """Each secret's name and whether it is set; never the value."""
    from mailrelay_cli.auth import credentials

    rows = credentials.secret_status(app.settings().profile)
    render.emit(app, rows, _print_rows, quiet=_print_rows)


def _print_rows(rows: list[SecretStatus]) -> None:
    render.table(None, ["secret", "where"], rows)


@secret_group.command("export")
@click.argument("name", type=click.Choice(["approval.signing_key"]))
@pass_app
def export(app: AppContext, name: str) -> None:
    """Print the approval signing key (hex) into a pipe, to give the same key to another host.

    Made now if this host has none yet. Refused when standard output is a terminal (a secret
    is never shown on a screen): pipe it, e.g.
    mailrelay secret export approval.signing_key | ssh HOST2 mailrelay secret set
    approval.signing_key --stdin
    """
    from mailrelay_cli.auth import signing_key

    if sys.stdout.isatty():
        raise UsageError(
            f"secret export prints {name} only into a pipe or a file, never on a terminal",
            hint=f"mailrelay secret export {name} | ssh HOST mailrelay secret set {name} --stdin",
        )
    key = signing_key.signing_key(app.settings().profile, create=True)
    assert key is not None  # create=True always gives one
    click.echo(key.hex())
