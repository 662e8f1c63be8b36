"""``mailrelay hooks list|retry|drop``: the owed on_decision hooks."""

from __future__ import annotations

import click

from mailrelay_cli.cli import render
from mailrelay_cli.cli.common import AppContext, Group, json_option, pass_app
from mailrelay_cli.cli.completion import complete_approval_id


@click.group("hooks", cls=Group)
def hooks_group() -> None:
    """The on_decision hooks still owed: list them, retry them now, or drop them."""


@hooks_group.command("list")
@json_option
@pass_app
def list_command(app: AppContext, as_json: bool) -> None:
    """Each owed hook: approval id, status, attempts, last error."""
    from mailrelay_cli.replies import hook_admin

    found = hook_admin.owed(app.settings())
    if as_json:
        render.json_lines({"approval_id": h.approval_id, "status": h.status, "attempts": h.attempts,
                           "last_error": h.last_error, "last_attempt_at": h.last_attempt_at}
                          for h in found)
        return
    if not found:
        if not app.quiet:
            render.plain("no hooks owed")
        return
    for h in found:
        render.plain(f"{h.approval_id} {h.status} after {h.attempts} attempt(s)"
                     + (f": {h.last_error}" if h.last_error else ""))


@hooks_group.command("retry")
@click.argument("approval_ids", nargs=-1, metavar="[ID]...", shell_complete=complete_approval_id)
@pass_app
def retry_command(app: AppContext, approval_ids: tuple[str, ...]) -> None:
    """Run the owed hooks now (all, or those of ID...), after fixing what made them fail.

    Exit 75 when one fails again (a later process-replies run still retries it).
    """
    from mailrelay_cli.errors import TemporaryError
    from mailrelay_cli.replies import hook_admin

    results = hook_admin.retry(app.settings(), approval_ids)
    failed = [r for r in results if not r.ok]
    if not app.quiet:
        if not results:
            render.plain("no hooks owed")
        for r in results:
            render.plain(f"{r.approval_id}: {'ok' if r.ok else 'failed'} (attempt {r.attempts})")
    if failed:
        raise TemporaryError(f"{len(failed)} of {len(results)} hook(s) failed again; "
                             f"{failed[0].approval_id}: {failed[0].error}",
                             hint="fix approval.on_decision, then mailrelay hooks retry; "
                                  f"or give up on it: mailrelay hooks drop {failed[0].approval_id}")


@hooks_group.command("drop")
@click.argument("approval_ids", nargs=-1, metavar="[ID]...", shell_complete=complete_approval_id)
@click.option("--all-failing", is_flag=True, help="Drop every hook that has failed.")
@pass_app
def drop_command(app: AppContext, approval_ids: tuple[str, ...], all_failing: bool) -> None:
    """Owe the hooks of the approvals given (or --all-failing) no more: they never run again."""
    from mailrelay_cli.errors import UsageError
    from mailrelay_cli.replies import hook_admin

    if not approval_ids and not all_failing:
        raise UsageError("say which hooks to drop: ID... or --all-failing",
                         hint="mailrelay hooks list")
    dropped = hook_admin.drop(app.settings(), approval_ids, all_failing=all_failing)
    if not app.quiet:
        render.plain(f"dropped {len(dropped)} hook(s)" + (f": {', '.join(dropped)}" if dropped else ""))
