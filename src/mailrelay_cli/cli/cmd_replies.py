"""``mailrelay process-replies``: what cron runs (or, with ``--watch``, the service)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from mailrelay_cli.cli import render
from mailrelay_cli.cli.common import AppContext, json_option, pass_app, warn_unsafe_imap
from mailrelay_cli.errors import UsageError

if TYPE_CHECKING:
    from mailrelay_cli.replies.run import RunReport


@click.command("process-replies")
@click.option(
    "--count",
    type=click.IntRange(min=1),
    metavar="N",
    help="Read at most N messages (default: approval.count).",
)
@click.option(
    "--dry-run", is_flag=True, help="Read and classify, print; record, delete, run and send nothing."
)
@click.option(
    "--watch",
    is_flag=True,
    help="Stay connected and decide each reply as it arrives (IMAP IDLE, Maildir "
    "new/); for a service instead of cron. Logs one line per event on stderr.",
)
@json_option
@pass_app
def process_replies_command(
    app: AppContext, count: int | None, dry_run: bool, watch: bool, as_json: bool
) -> None:
    """Read the reply folder, record decisions, delete what was processed."""
    import sys

    from mailrelay_cli.replies.run import process_replies

    if watch:
        if dry_run:
            raise UsageError(
                "--watch and --dry-run do not go together",
                hint="mailrelay process-replies --dry-run (one look, nothing kept)",
            )
        _watch(app, count, as_json)
        return
    warn_unsafe_imap(app)
    settings = app.settings()
    if app.quiet or as_json or not sys.stderr.isatty():
        report = process_replies(settings, count=count, dry_run=dry_run)
    else:  # a person watches: a progress bar once the run takes longer than a second
        from mailrelay_cli.cli.run_progress import RunProgress

        with RunProgress(render.console(stderr=True)) as progress:
            report = process_replies(settings, count=count, dry_run=dry_run, progress=progress)
    for failure in report.failures:
        render.aside(app, f"mailrelay: warning: {failure}", warning=failure)
    render.emit(app, report.parts(), human=lambda _: _print(report, verbose=app.verbose > 0, dry_run=dry_run))


def _print(report: RunReport, *, verbose: bool, dry_run: bool) -> None:
    if verbose or dry_run:
        for m in report.messages:
            about = f" {m.approval_id}" if m.approval_id else ""
            why = f" ({m.reason})" if m.reason and verbose else ""
            render.plain(
                f"{m.uid}: {m.describe_outcome()}{about}{why} from {m.sender or '?'}: {m.subject or ''}"
            )
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
    render.plain(
        f"{prefix}read {report.read}, deleted {report.deleted}, left {report.left}"
        + (f" ({detail})" if detail else "")
    )


def _watch(app: AppContext, count: int | None, as_json: bool) -> None:
    """The watcher until SIGTERM/SIGINT (exit 0) or a fault a retry cannot fix (its code)."""
    import sys

    from mailrelay_cli.config.load import load_settings
    from mailrelay_cli.replies import watch

    def load() -> Any:
        # SIGHUP reads the file again: a fresh context keeps nothing of the old settings.
        return load_settings(app.config_path)

    def emit(event: watch.WatchEvent) -> None:
        if as_json:
            render.json_line(event.to_json(), sys.stderr)
        elif event.level == "warning" or (not app.quiet and (event.level == "info" or app.verbose)):
            prefix = "warning: " if event.level == "warning" else ""
            render.plain(f"mailrelay: {prefix}{event.text}", err=True)  # plain makes it inert

    warn_unsafe_imap(app)
    control = watch.WatchControl()
    try:
        with control.signals():
            watch.watch(load, control, emit, watch.WatchOptions(count=count))
    finally:
        control.close()
