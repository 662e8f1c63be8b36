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
              help="Exit 75 when the last successful run is older than D (15m, 2h) or none.")
@json_option
@pass_app
def status_command(app: AppContext, max_age: float | None, as_json: bool) -> None:
    """Health of the process-replies cron job: last run, last success, pending approvals,
    failing hooks, OAuth refresh and the schedule. For monitoring:

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
    }


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
