"""``mailrelay hooks list|retry|drop``: the owed on_decision hooks."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from mailrelay_cli.cli import render
from mailrelay_cli.cli.common import AppContext, Group, json_option, pass_app
from mailrelay_cli.cli.completion import complete_approval_id

if TYPE_CHECKING:
    from mailrelay_cli.replies.hook_admin import DropResult, OwedHookView, RetryResult


@click.group("hooks", cls=Group)
def hooks_group() -> None:
    """The on_decision hooks still owed: list them, retry them now, or drop them."""


@hooks_group.command("list")
@json_option
@pass_app
def list_command(app: AppContext, as_json: bool) -> None:
    """Each owed hook: approval id, status, attempts, last error."""
    from mailrelay_cli.replies import hook_admin

    def human(found: list[OwedHookView]) -> None:
        if not found:
            render.plain("no hooks owed")
        for h in found:
            render.plain(
                f"{h.approval_id} {h.status} after {h.attempts} attempt(s)"
                + (f": {h.last_error}" if h.last_error else "")
            )

    render.emit(app, hook_admin.owed(app.settings()), human)


@hooks_group.command("retry")
@click.argument("approval_ids", nargs=-1, metavar="[ID]...", shell_complete=complete_approval_id)
@json_option
@pass_app
def retry_command(app: AppContext, approval_ids: tuple[str, ...], as_json: bool) -> None:
    """Run the owed hooks now (all, or those of ID...), after fixing what made them fail.

    Exit 75 when one fails again (a later process-replies run still retries it).
    """
    from mailrelay_cli.errors import TemporaryError
    from mailrelay_cli.replies import hook_admin

    def human(results: list[RetryResult]) -> None:
        if not results:
            render.plain("no hooks owed")
        for r in results:
            render.plain(f"{r.approval_id}: {'ok' if r.ok else 'failed'} (attempt {r.attempts})")

    results = hook_admin.retry(app.settings(), approval_ids)
    render.emit(app, results, human)
    failed = [r for r in results if not r.ok]
    if failed:
        raise TemporaryError(
            f"{len(failed)} of {len(results)} hook(s) failed again; "
            f"{failed[0].approval_id}: {failed[0].error}",
            hint="fix approval.on_decision, then mailrelay hooks retry; "
            f"or give up on it: mailrelay hooks drop {failed[0].approval_id}",
        )


@hooks_group.command("drop")
@click.argument("approval_ids", nargs=-1, metavar="[ID]...", shell_complete=complete_approval_id)
@click.option("--all-failing", is_flag=True, help="Drop every hook that has failed.")
@json_option
@pass_app
def drop_command(app: AppContext, approval_ids: tuple[str, ...], all_failing: bool, as_json: bool) -> None:
    """Owe the hooks of the approvals given (or --all-failing) no more: they never run again."""
    from mailrelay_cli.errors import UsageError
    from mailrelay_cli.replies import hook_admin

    if not approval_ids and not all_failing:
        raise UsageError("say which hooks to drop: ID... or --all-failing", hint="mailrelay hooks list")

    def human(result: DropResult) -> None:
        render.plain(
            f"dropped {len(result.dropped)} hook(s)"
            + (f": {', '.join(result.dropped)}" if result.dropped else "")
        )

    render.emit(app, hook_admin.drop(app.settings(), approval_ids, all_failing=all_failing), human)
