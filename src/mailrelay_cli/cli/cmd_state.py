"""``mailrelay state migrate|copy``: the state store's schema, and moving SQLite state to PostgreSQL."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from mailrelay_cli.cli import render
from mailrelay_cli.cli.common import AppContext, Group, json_option, pass_app

if TYPE_CHECKING:
    from mailrelay_cli.store.copy import CopyResult
    from mailrelay_cli.store.maintenance import MigrateResult


@click.group("state", cls=Group)
def state_group() -> None:
    """The state store: create or upgrade its schema, or copy it to PostgreSQL."""


@state_group.command("migrate")
@json_option
@pass_app
def migrate_command(app: AppContext, as_json: bool) -> None:
    """Create or upgrade the store's schema (SQLite, or PostgreSQL at state.url).

    Safe to run from several hosts at once: they take turns.
    """
    from mailrelay_cli.auth.store_access import migrate_state

    render.emit(app, migrate_state(app.settings()), _migrated)


def _migrated(result: MigrateResult) -> None:
    if result.before is None:
        render.plain(f"{result.location}: schema created (version {result.after})")
    elif result.changed:
        render.plain(f"{result.location}: schema upgraded from version {result.before} to {result.after}")
    else:
        render.plain(f"{result.location}: schema already at version {result.after}")


@state_group.command("copy")
@click.option(
    "--to",
    "to_url",
    required=True,
    metavar="URL",
    help="The PostgreSQL store, postgresql://USER@HOST:PORT/DB (no password: "
    "state.password, MAILRELAY_STATE_PASSWORD or PGPASSFILE).",
)
@json_option
@pass_app
def copy_command(app: AppContext, to_url: str, as_json: bool) -> None:
    """Copy this host's SQLite state (state.path) into a PostgreSQL store; safe to run again."""
    from mailrelay_cli.auth.store_access import copy_state

    render.emit(app, copy_state(app.settings(), to_url), _copied)


def _copied(result: CopyResult) -> None:
    if result.created_schema:
        render.plain(f"{result.target}: schema created")
    render.table(
        f"{result.source} -> {result.target}",
        ["table", "rows here", "added", "already there", "verified"],
        [(t.table, t.source, t.added, t.source - t.added, t.verified) for t in result.tables],
    )
    render.plain(
        "every row is in the target; set state.url on this host to use it: "
        f'mailrelay config set state.url "{result.target}"'
    )
