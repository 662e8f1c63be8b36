"""``mailrelay status [--max-age D] [--json]``."""

from __future__ import annotations

from typing import Any

import click

from mailrelay_cli.cli import render
from mailrelay_cli.cli.common import AppContext, json_option, pass_app


def _duration(ctx: click.Context, param: click.Parameter, value: str | None) -> float | None:
    from mailrelay_cli.durations import parse_duration

    if value is None:
        return None
    try:
        return parse_duration(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a duration; write it like 15m, 2h or 1d") \
            from None


@click.command("status")
@click.option("--max-age", "max_age", metavar="D", callback=_duration,
              help="Exit 75 when the last successful run (or the watcher's heartbeat) is older "
                   "than D (15m, 2h) or none.")
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
    if as_json:
        render.json_line(_as_json(report))
    elif not app.quiet or report.stale:
        _print(report, brief=app.quiet)
    if report.exit_code:
        click.get_current_context().exit(int(report.exit_code))


def _iso(moment: Any) -> str | None:
    return moment.isoformat() if moment is not None else None


def _run_json(run: Any) -> dict[str, Any] | None:
    if run is None:
        return None
    return {"started_at": _iso(run.started_at), "finished_at": _iso(run.finished_at),
            "outcome": run.outcome, "counts": dict(run.counts), "error": run.error}


def _as_json(report: Any) -> dict[str, Any]:
    pending = report.pending
    return {
        # False with any problem (a WARNING or STALE summary); the exit code is --max-age's.
        "ok": not report.stale and not report.problems,
        "summary": report.summary,
        "now": _iso(report.now),
        "max_age_seconds": report.max_age,
        "last_run": _run_json(report.last_run),
        "last_success": _run_json(report.last_success),
        "runs_last_day": report.runs_last_day,
        "failed_runs_last_day": report.failed_runs_last_day,
        "messages_last_day": report.messages_last_day,
        "decisions_last_day": report.decisions_last_day,
        "pending_approvals": pending.count,
        "oldest_pending": None if pending.oldest_id is None else {
            "id": pending.oldest_id, "created_at": _iso(pending.oldest_created_at),
            "expires_at": _iso(pending.oldest_expires_at)},
        "failing_hooks": [{"approval_id": h.approval_id, "attempts": h.attempts,
                           "last_error": h.last_error, "last_attempt_at": _iso(h.last_attempt_at)}
                          for h in report.failing_hooks],
        "oauth": [{"role": o.role, "provider": o.provider, "ok": o.ok, "detail": o.detail}
                  for o in report.oauth],
        "interval_minutes": report.interval_minutes,
        "cron": list(report.cron_lines),
        "problems": list(report.problems),
        "watcher": _watcher_json(report.watcher),
    }


def _watcher_json(watcher: Any) -> dict[str, Any] | None:
    if watcher is None:
        return None
    return {"running": watcher.running, "host": watcher.host, "pid": watcher.pid,
            "mailbox": watcher.mailbox, "how": watcher.mode,
            "since": _iso(watcher.started_at), "heartbeat_at": _iso(watcher.heartbeat_at),
            "last_event": watcher.last_event, "last_event_at": _iso(watcher.last_event_at),
            "reconnects_today": watcher.reconnects_today, "stopped_at": _iso(watcher.stopped_at),
            "outcome": watcher.outcome, "error": watcher.error}


def _watcher_rows(report: Any) -> list[tuple[str, str]]:
    from mailrelay_cli.reports.health import ago

    watcher = report.watcher
    if watcher is None:
        return []
    where = f"pid {watcher.pid} on {watcher.host}, {watcher.mode or 'starting'}, {watcher.mailbox}"
    if watcher.running:
        first = ("watching since", f"{_iso(watcher.started_at)} "
                                   f"({ago(report.now, watcher.started_at)}), {where}")
    else:
        end = watcher.stopped_at or watcher.heartbeat_at
        first = ("watcher", f"{watcher.outcome} {_iso(end)} ({ago(report.now, end)})"
                            + (f": {watcher.error}" if watcher.error else "") + f"; was {where}")
    event = watcher.last_event or "none"
    if watcher.last_event_at is not None:
        event += f" ({ago(report.now, watcher.last_event_at)})"
    return [first,
            ("last event", event),
            ("heartbeat", f"{_iso(watcher.heartbeat_at)} ({ago(report.now, watcher.heartbeat_at)})"),
            ("reconnects today", str(watcher.reconnects_today))]


def _run_text(report: Any, run: Any) -> str:
    from mailrelay_cli.reports.health import ago

    if run is None:
        return "none recorded"
    when = run.finished_at or run.started_at
    text = f"{_iso(when)} ({ago(report.now, when)}), {run.outcome or 'no end recorded'}"
    if run.counts:
        text += (f": read {run.counts.get('read', 0)}, deleted {run.counts.get('deleted', 0)}, "
                 f"left {run.counts.get('left', 0)}")
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
        pending_text = (f"{pending.count}, oldest {pending.oldest_id} asked "
                        f"{ago(report.now, pending.oldest_created_at)}, expires "
                        f"{_iso(pending.oldest_expires_at)}")
    rows = [
        ("last run", _run_text(report, report.last_run)),
        ("last success", _run_text(report, report.last_success)),
        ("last 24 hours", f"{_count(report.runs_last_day, 'run')} "
                          f"({report.failed_runs_last_day} failed), "
                          f"{_count(report.messages_last_day, 'message')}, "
                          f"{_count(report.decisions_last_day, 'decision')}"),
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
