"""``mailrelay approvals list|show|wait|cancel``."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import click

from mailrelay_cli.cli import render
from mailrelay_cli.cli.common import DURATION, AppContext, Group, json_option, pass_app
from mailrelay_cli.cli.completion import complete_approval_id
from mailrelay_cli.errors import exit_code_for

if TYPE_CHECKING:
    from mailrelay_cli.approvals.service import Approval

STATUS_CHOICES = ("pending", "approved", "rejected", "expired", "cancelled")


def _status_line(approval: Approval) -> None:
    by = f" by {approval.decided_by}" if approval.decided_by else ""
    render.plain(f"{approval.id}: {approval.status}{by}")


def _show_human(approval: Approval) -> None:
    rows = [
        ("id", approval.id),
        ("status", approval.status),
        ("subject", approval.subject),
        (
            "approvers",
            ", ".join(approval.approvers)
            + (f" ({approval.required} required)" if approval.required > 1 else ""),
        ),
        ("created", approval.created_at),
        ("expires", approval.expires_at),
    ]
    if approval.approved_by and approval.status == "pending":
        rows.append(("approved so far", ", ".join(approval.approved_by)))
    if approval.decided_by:
        rows.append(("decided by", approval.decided_by))
    if approval.decided_at:
        rows.append(("decided at", approval.decided_at))
    if approval.comment:
        rows.append(("comment", approval.comment))
    width = max(len(name) for name, _ in rows)
    for name, value in rows:
        render.plain(f"{name + ':':<{width + 1}} {value}")


@click.group("approvals", cls=Group)
def approvals_group() -> None:
    """The recorded approvals: list, show, wait for, cancel."""


@approvals_group.command("list")
@click.option("--status", type=click.Choice(STATUS_CHOICES), help="Only approvals in this status.")
@json_option
@pass_app
def list_command(app: AppContext, status: str | None, as_json: bool) -> None:
    """Every approval, newest first."""
    from mailrelay_cli.approvals import service as approvals
    from mailrelay_cli.auth.store_access import open_state

    with open_state(app.settings()) as db:
        found = approvals.list_approvals(db, status)

    def human(found: list[Approval]) -> None:
        if not found:
            render.plain("no approvals" + (f" with status {status}" if status else ""))
            return
        _table(found)

    # -q hides only the "no approvals" line: a list asked for is printed
    render.emit(app, found, human, quiet=lambda found: _table(found) if found else None)


def _table(found: list[Approval]) -> None:
    when = _date_format()
    render.table(
        None,
        ["id", "status", "expires", "decided by", "title"],
        [(a.id, a.status, when(a.expires_at), a.decided_by or "", a.title) for a in found],
        keep_whole=("id", "expires", "decided by"),
    )


def _date_format() -> Callable[[str], str]:
    """Dates as stored (ISO 8601) when piped or on a wide terminal; on a narrow one (under
    100 columns) ``12-04 12:56Z``, so that a date is shortened, never cut."""
    console = render.console()
    if not console.is_terminal or console.width >= 100:
        return lambda iso: iso

    def short(iso: str) -> str:
        from mailrelay_cli.store.times import parse_iso

        return parse_iso(iso).strftime("%m-%d %H:%MZ")

    return short


@approvals_group.command("show")
@click.argument("approval_id", metavar="ID", shell_complete=complete_approval_id)
@json_option
@pass_app
def show_command(app: AppContext, approval_id: str, as_json: bool) -> None:
    """One approval: status, approvers, decision and comment."""
    from mailrelay_cli.approvals import service as approvals
    from mailrelay_cli.auth.store_access import open_state

    with open_state(app.settings()) as db:
        approval = approvals.get_approval(db, approval_id)
    render.emit(app, approval, _show_human, quiet=_show_human)


@approvals_group.command("wait")
@click.argument("approval_id", metavar="ID", shell_complete=complete_approval_id)
@click.option("--timeout", type=DURATION, metavar="D", help="Give up after this long (30s, 5m, 2h); exit 3.")
@click.option(
    "--poll",
    type=DURATION,
    metavar="S",
    default="10s",
    show_default=True,
    help="How often to look at the store.",
)
@json_option
@pass_app
def wait_command(
    app: AppContext, approval_id: str, timeout: float | None, poll: float, as_json: bool
) -> None:
    """Block until decided: exit 0 approved, 1 rejected, 3 expired, cancelled or timed out."""
    from mailrelay_cli.approvals import service as approvals
    from mailrelay_cli.auth.store_access import open_state

    timeout_s = timeout
    poll_s = poll or 0.0
    settings = app.settings()
    if not app.quiet and not app.json:  # under --json stderr holds only a JSON error
        from mailrelay_cli.reports.health import replies_warning

        warning = replies_warning(settings)
        if warning:
            render.plain(f"mailrelay: warning: {warning}", err=True)
    with open_state(settings) as db:
        import sys

        if app.quiet or app.json or not sys.stderr.isatty():
            result = approvals.wait_for(db, approval_id, timeout=timeout_s, poll=poll_s)
        else:  # a person is watching: a live status line (rich), redrawn at least every second
            from mailrelay_cli.cli.wait_line import WaitLine

            with WaitLine(render.console(stderr=True), timeout_s) as line:
                result = approvals.wait_for(
                    db, approval_id, timeout=timeout_s, poll=min(poll_s, 1.0), on_poll=line.update
                )
    render.emit(app, result.approval, _status_line)
    if result.timed_out:
        # The approval line says "pending"; the outcome goes to stderr like any failure.
        from mailrelay_cli.durations import format_duration
        from mailrelay_cli.errors import TimedOut

        raise TimedOut(
            f"approval {result.approval.id} still pending after "
            f"{format_duration(timeout_s or 0.0)} (timed out)",
            hint=f"wait again: mailrelay approvals wait {result.approval.id}",
        )
    click.get_current_context().exit(int(exit_code_for(result.outcome)))


@approvals_group.command("cancel")
@click.argument("approval_id", metavar="ID", shell_complete=complete_approval_id)
@json_option
@pass_app
def cancel_command(app: AppContext, approval_id: str, as_json: bool) -> None:
    """Cancel a pending approval: later replies decide nothing; `wait` exits 3."""
    from mailrelay_cli.approvals import service as approvals
    from mailrelay_cli.auth.store_access import open_state

    with open_state(app.settings()) as db:
        approval = approvals.cancel_approval(db, approval_id)
    render.emit(app, approval, lambda approval: render.plain(f"{approval.id}: cancelled"))
