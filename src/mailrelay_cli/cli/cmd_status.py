"""``mailrelay status [--max-age D] [--json]``."""

from __future__ import annotations

from typing import Any

import click

from mailrelay_cli.cli import render
from mailrelay_cli.cli.common import DURATION, AppContext, json_option, pass_app
from mailrelay_cli.errors import exit_code_for


@click.command("status")
@click.option(
    "--max-age",
    "max_age",
    metavar="D",
    type=DURATION,
    help="Exit 75 when the last successful run (or the watcher's heartbeat) is older "
    "than D (15m, 2h) or none.",
)
@json_option
@pass_app
def status_command(app: AppContext, max_age: float | None, as_json: bool) -> None:
    """Health of the process-replies cron job or watcher: last run, last success, the
    watcher's heartbeat, pending approvals, failing hooks, OAuth refresh and the schedule.
    For monitoring:

    \b
      mailrelay -q status --max-age 15m || echo "cron job stopped"
    """
    from mailrelay_cli.reports import health

    report = health.check(app.settings(), max_age)
    render.emit(
        app,
        report,
        lambda report: _print(report, brief=False),
        quiet=lambda report: _print(report, brief=True) if report.stale else None,
    )
    code = exit_code_for(report.outcome)
    if code:
        click.get_current_context().exit(int(code))


def _iso(moment: Any) -> str | None:
    return moment.isoformat() if moment is not None else None


def _watcher_rows(report: Any) -> list[tuple[str, str]]:
    from mailrelay_cli.reports.health import ago

    watcher = report.watcher
    if watcher is None:
        return []
    where = f"pid {watcher.pid} on {watcher.host}, {watcher.mode or 'starting'}, {watcher.mailbox}"
    if watcher.running:
        first = (
            "watching since",
            f"{_iso(watcher.started_at)} ({ago(report.now, watcher.started_at)}), {where}",
        )
    else:
        end = watcher.stopped_at or watcher.heartbeat_at
        first = (
            "watcher",
            f"{watcher.outcome} {_iso(end)} ({ago(report.now, end)})"
            + (f": {watcher.error}" if watcher.error else "")
            + f"; was {where}",
        )
    event = watcher.last_event or "none"
    if watcher.last_event_at is not None:
        event += f" ({ago(report.now, watcher.last_event_at)})"
    return [
        first,
        ("last event", event),
        ("heartbeat", f"{_iso(watcher.heartbeat_at)} ({ago(report.now, watcher.heartbeat_at)})"),
        ("reconnects today", str(watcher.reconnects_today)),
    ]


def _run_text(report: Any, run: Any) -> str:
    from mailrelay_cli.reports.health import ago

    if run is None:
        return "none recorded"
    when = run.finished_at or run.started_at
    text = f"{_iso(when)} ({ago(report.now, when)}), {run.outcome or 'no end recorded'}"
    if run.counts:
        text += (
            f": read {run.counts.get('read', 0)}, deleted {run.counts.get('deleted', 0)}, "
            f"left {run.counts.get('left', 0)}"
        )
    return text


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"


def _print(report: Any, *, brief: bool) -> None:
    from mailrelay_cli.reports.health import ago

    render.plain(report.summary)
    if brief:
        return
    pending = report.pending
    if pending.oldest_id is None:
        pending_text = "none"
    else:
        pending_text = (
            f"{pending.count}, oldest {pending.oldest_id} asked "
            f"{ago(report.now, pending.oldest_created_at)}, expires "
            f"{_iso(pending.oldest_expires_at)}"
        )
    rows = [
        ("last run", _run_text(report, report.last_run)),
        ("last success", _run_text(report, report.last_success)),
        (
            "last 24 hours",
            f"{_count(report.runs_last_day, 'run')} "
            f"({report.failed_runs_last_day} failed), "
            f"{_count(report.messages_last_day, 'message')}, "
            f"{_count(report.decisions_last_day, 'decision')}",
        ),
        ("pending approvals", pending_text),
        ("failing hooks", str(len(report.failing_hooks)) if report.failing_hooks else "none"),
    ]
    rows[2:2] = _watcher_rows(report)
    if report.oauth:
        for row in report.oauth:
            rows.append((f"oauth {row.role}", f"{'ok' if row.ok else 'FAILING'}: {row.detail}"))
    else:
        rows.append(("oauth", "not used (smtp.auth and imap.auth are not OAuth)"))
    rows.append(("state", report.database))
    for index, line in enumerate(report.cron_lines):
        rows.append(("cron" if index == 0 else "", line))
    for key, value in rows:
        render.plain(f"{key:<18} {value}")
    for problem in report.problems:
        render.plain(f"problem: {problem}")
