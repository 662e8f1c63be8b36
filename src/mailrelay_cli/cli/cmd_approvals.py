"""``mailrelay approvals list|show|wait|cancel``."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from mailrelay_cli.cli import render
from mailrelay_cli.cli.common import AppContext, json_option, pass_app
from mailrelay_cli.errors import exit_code_for

if TYPE_CHECKING:
    from mailrelay_cli.approvals.service import Approval

STATUS_CHOICES = ("pending", "approved", "rejected", "expired", "cancelled")


def _duration(value: str | None, option: str) -> float | None:
    from mailrelay_cli.durations import parse_duration
    from mailrelay_cli.errors import UsageError

    if value is None:
        return None
    try:
        return parse_duration(value)
    except ValueError:
        raise UsageError(f"{option} {value!r} is not a duration",
                         hint=f"write it like {option} 30s, 5m, 72h or 2d") from None


def _status_line(approval: Approval) -> None:
    by = f" by {approval.decided_by}" if approval.decided_by else ""
    render.plain(f"{approval.id}: {approval.status}{by}")


def _show_human(approval: Approval) -> None:
    rows = [
        ("id", approval.id),
        ("status", approval.status),
        ("subject", approval.subject),
        ("approvers", ", ".join(approval.approvers)
         + (f" ({approval.required} required)" if approval.required > 1 else "")),
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


@click.group("approvals")
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
    render.table(None, ["id", "status", "expires", "decided by", "title"],
                 [(a.id, a.status, a.expires_at, a.decided_by or "", a.title) for a in found])


@approvals_group.command("show")
@click.argument("approval_id", metavar="ID")
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
@click.argument("approval_id", metavar="ID")
@click.option("--timeout", metavar="D", help="Give up after this long (30s, 5m, 2h); exit 3.")
@click.option("--poll", metavar="S", default="10s", show_default=True,
              help="How often to look at the store.")
@json_option
@pass_app
def wait_command(app: AppContext, approval_id: str, timeout: str | None, poll: str,
                 as_json: bool) -> None:
    """Block until decided: exit 0 approved, 1 rejected, 3 expired, cancelled or timed out."""
    from mailrelay_cli.approvals import service as approvals
    from mailrelay_cli.auth.store_access import open_state

    timeout_s = _duration(timeout, "--timeout")
    poll_s = _duration(poll, "--poll") or 0.0
    with open_state(app.settings()) as db:
        result = approvals.wait_for(db, approval_id, timeout=timeout_s, poll=poll_s)
    render.emit(app, result.approval, _status_line)
    if result.timed_out:
        # The approval line says "pending"; the outcome goes to stderr like any failure.
        from mailrelay_cli.durations import format_duration
        from mailrelay_cli.errors import TimedOut

        raise TimedOut(f"approval {result.approval.id} still pending after "
                       f"{format_duration(timeout_s or 0.0)} (timed out)",
                       hint=f"wait again: mailrelay approvals wait {result.approval.id}")
    click.get_current_context().exit(int(exit_code_for(result.outcome)))


@approvals_group.command("cancel")
@click.argument("approval_id", metavar="ID")
@json_option
@pass_app
def cancel_command(app: AppContext, approval_id: str, as_json: bool) -> None:
    """Cancel a pending approval: later replies decide nothing; `wait` exits 3."""
    from mailrelay_cli.approvals import service as approvals
    from mailrelay_cli.auth.store_access import open_state

    with open_state(app.settings()) as db:
        approval = approvals.cancel_approval(db, approval_id)
    render.emit(app, approval, lambda approval: render.plain(f"{approval.id}: cancelled"))
