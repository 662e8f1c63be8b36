"""``mailrelay process-replies``: what cron runs."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from mailrelay_cli.cli import render
from mailrelay_cli.cli.common import AppContext, json_option, pass_app, warn_unsafe_imap

if TYPE_CHECKING:
    from mailrelay_cli.replies.run import RunReport


@click.command("process-replies")
@click.option("--count", type=click.IntRange(min=1), metavar="N",
              help="Read at most N messages (default: approval.count).")
@click.option("--dry-run", is_flag=True,
              help="Read and classify, print; record, delete, run and send nothing.")
@json_option
@pass_app
def process_replies_command(app: AppContext, count: int | None, dry_run: bool,
                            as_json: bool) -> None:
    """Read the reply folder, record decisions, delete what was processed."""
    import sys

    from mailrelay_cli.replies.run import process_replies

    warn_unsafe_imap(app)
    settings = app.settings()
    if app.quiet or as_json or not sys.stderr.isatty():
        report = process_replies(settings, count=count, dry_run=dry_run)
    else:  # a person watches: a progress bar once the run takes longer than a second
        from mailrelay_cli.cli.run_progress import RunProgress

        with RunProgress(render.console(stderr=True)) as progress:
            report = process_replies(settings, count=count, dry_run=dry_run, progress=progress)
    for failure in report.failures:
        render.plain(f"mailrelay: warning: {failure}", err=True)
    render.emit(app, report.parts(), human=lambda _: _print(report, verbose=app.verbose > 0,
                                                            dry_run=dry_run))


def _print(report: RunReport, *, verbose: bool, dry_run: bool) -> None:
    if verbose or dry_run:
        for m in report.messages:
            about = f" {m.approval_id}" if m.approval_id else ""
            why = f" ({m.reason})" if m.reason and verbose else ""
            render.plain(f"{m.uid}: {m.describe_outcome()}{about}{why} from {m.sender or '?'}: "
                         f"{m.subject or ''}")
    for approval in report.decided:
        # A dry run records nothing: say what the reply would do.
        verb = f"would be {approval.status}" if dry_run else approval.status
        render.plain(f"{approval.id} {verb} by {approval.decided_by}: {approval.title}")
    for m in report.messages:
        if m.outcome == "vote" and not verbose and not dry_run:
            render.plain(f"{m.approval_id}: {m.describe_outcome()} from {m.sender}")
    tally: dict[str, int] = {}
    for m in report.messages:
        tally[m.outcome] = tally.get(m.outcome, 0) + 1
    detail = ", ".join(f"{n} {outcome}" for outcome, n in tally.items())
    prefix = "dry run: " if dry_run else ""
    render.plain(f"{prefix}read {report.read}, deleted {report.deleted}, left {report.left}"
                 + (f" ({detail})" if detail else ""))
