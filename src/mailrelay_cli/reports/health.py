"""``mailrelay status``: is the process-replies cron job (or watcher) alive and keeping up?

Reads the runs, approvals and hooks recorded in the state store (never the
network), the OAuth token caches, and the schedule the settings imply. A
cron job that silently stopped shows up as a last successful run older than
``--max-age``; that is the one condition that makes the command exit non-zero
(75, temporary failure), so a Nagios-style check can page someone.

A ``process-replies --watch`` service counts the same way: its heartbeat
(written at least every minute while its mailbox is open) stands for a
successful run, so ``--max-age`` judges whichever is newer. A watcher that is
running but cut off from its mailbox stops beating and goes stale.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from mailrelay_cli.config.records import Settings
from mailrelay_cli.durations import format_duration
from mailrelay_cli.errors import Outcome

DAY = timedelta(days=1)
# With no --max-age, a last success older than this many intervals is still reported.
LATE_INTERVALS = 3
# A running watcher beats every minute; one silent for this long is reported.
WATCHER_LATE_SECONDS = 5 * 60


@dataclass(frozen=True)
class Run:
    """One process-replies run."""

    started_at: datetime
    finished_at: datetime | None
    outcome: str | None  # "ok", "failed", or None: still running, or the run died
    counts: Mapping[str, int]
    error: str | None

    @property
    def at(self) -> datetime:
        """When it ended, or started when no end was recorded."""
        return self.finished_at or self.started_at


@dataclass(frozen=True)
class Watcher:
    """The latest ``process-replies --watch`` process recorded in the store."""

    host: str
    pid: int
    mailbox: str
    mode: str | None  # how it waits: "IMAP IDLE", "inotify", …
    started_at: datetime
    heartbeat_at: datetime
    last_event: str | None
    last_event_at: datetime | None
    reconnects_today: int
    stopped_at: datetime | None
    outcome: str | None  # None while running; "stopped" or "failed"
    error: str | None

    @property
    def running(self) -> bool:
        return self.outcome is None


@dataclass(frozen=True)
class Pending:
    """The approvals still waiting for a decision, and the oldest of them."""

    count: int
    oldest_id: str | None = None
    oldest_created_at: datetime | None = None
    oldest_expires_at: datetime | None = None


@dataclass(frozen=True)
class FailingHook:
    approval_id: str
    attempts: int
    last_error: str | None
    last_attempt_at: datetime | None


@dataclass(frozen=True)
class OAuthHealth:
    """Whether a role can get a token without a person (silent refresh or client credentials)."""

    role: str  # "smtp", "imap", or "oauth" when the status itself could not be read
    provider: str
    ok: bool
    detail: str


@dataclass(frozen=True)
class HealthReport:
    now: datetime
    database: str
    last_run: Run | None
    last_success: Run | None
    runs_last_day: int
    failed_runs_last_day: int
    messages_last_day: int
    decisions_last_day: int
    pending: Pending
    failing_hooks: tuple[FailingHook, ...]
    oauth: tuple[OAuthHealth, ...]
    interval_minutes: int
    cron_lines: tuple[str, ...]
    max_age: float | None  # seconds
    stale: bool  # last success older than max_age, or none at all (only with max_age)
    problems: tuple[str, ...]  # one line each, worst first
    watcher: Watcher | None = None

    @property
    def watching(self) -> bool:
        """Whether a running watcher's heartbeat is the newest sign of life."""
        success_at = self.last_success.at if self.last_success else None
        return self.watcher is not None and alive_at(success_at, self.watcher) != success_at

    @property
    def outcome(self) -> Outcome:
        """``stale`` (exit 75: cron should have fixed it by now) or ``ok``; see exit_code_for."""
        return "stale" if self.stale else "ok"

    def to_json(self) -> dict[str, Any]:
        """The ``status --json`` line."""
        pending = self.pending
        return {
            # False with any problem (a WARNING or STALE summary); the exit code is --max-age's.
            "ok": not self.stale and not self.problems,
            "summary": self.summary,
            "now": _iso(self.now),
            "max_age_seconds": self.max_age,
            "last_run": _run_json(self.last_run),
            "last_success": _run_json(self.last_success),
            "runs_last_day": self.runs_last_day,
            "failed_runs_last_day": self.failed_runs_last_day,
            "messages_last_day": self.messages_last_day,
            "decisions_last_day": self.decisions_last_day,
            "pending_approvals": pending.count,
            "oldest_pending": None
            if pending.oldest_id is None
            else {
                "id": pending.oldest_id,
                "created_at": _iso(pending.oldest_created_at),
                "expires_at": _iso(pending.oldest_expires_at),
            },
            "failing_hooks": [
                {
                    "approval_id": h.approval_id,
                    "attempts": h.attempts,
                    "last_error": h.last_error,
                    "last_attempt_at": _iso(h.last_attempt_at),
                }
                for h in self.failing_hooks
            ],
            "oauth": [
                {"role": o.role, "provider": o.provider, "ok": o.ok, "detail": o.detail} for o in self.oauth
            ],
            "interval_minutes": self.interval_minutes,
            "cron": list(self.cron_lines),
            "problems": list(self.problems),
            "watcher": _watcher_json(self.watcher),
        }

    @property
    def summary(self) -> str:
        """One line, Nagios-style: the state and the age of the last successful run."""
        if self.watching:
            assert self.watcher is not None
            age = (
                f"watching since {self.watcher.started_at.isoformat()}, heartbeat "
                f"{ago(self.now, self.watcher.heartbeat_at)}"
            )
        elif self.last_success is None:
            age = "no successful process-replies run recorded"
        else:
            age = f"last successful process-replies run {ago(self.now, self.last_success.at)}"
        if self.stale:
            assert self.max_age is not None
            return f"STALE: {age} (max age {format_duration(self.max_age)})"
        if self.problems:  # the headline is the problem itself, not the (fine) run age
            more = f" (and {len(self.problems) - 1} more)" if len(self.problems) > 1 else ""
            return f"WARNING: {self.problems[0]}{more}"
        return f"OK: {age}"


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def _run_json(run: Run | None) -> dict[str, Any] | None:
    if run is None:
        return None
    return {
        "started_at": _iso(run.started_at),
        "finished_at": _iso(run.finished_at),
        "outcome": run.outcome,
        "counts": dict(run.counts),
        "error": run.error,
    }


def ago(now: datetime, then: datetime) -> str:
    """``3m ago``; ``just now`` under a second."""
    seconds = (now - then).total_seconds()
    if seconds < 1:
        return "just now"
    return f"{format_duration(seconds)} ago"


def _time(text: str | None) -> datetime | None:
    from mailrelay_cli.store.times import parse_iso

    return parse_iso(text) if text else None


def _run(record: Any) -> Run:
    return Run(
        started_at=_time(record.started_at) or datetime.min,
        finished_at=_time(record.finished_at),
        outcome=record.outcome,
        counts=dict(record.counts),
        error=record.error,
    )


def _watcher(record: Any, now: datetime) -> Watcher:
    today = now.strftime("%Y-%m-%d")
    return Watcher(
        host=record.host,
        pid=record.pid,
        mailbox=record.mailbox,
        mode=record.mode,
        started_at=_time(record.started_at) or datetime.min,
        heartbeat_at=_time(record.heartbeat_at) or datetime.min,
        last_event=record.last_event,
        last_event_at=_time(record.last_event_at),
        reconnects_today=record.reconnects if record.reconnects_on == today else 0,
        stopped_at=_time(record.stopped_at),
        outcome=record.outcome,
        error=record.error,
    )


def _watcher_problems(watcher: Watcher | None, now: datetime) -> list[str]:
    if watcher is None:
        return []
    who = f"the watcher (pid {watcher.pid} on {watcher.host})"
    if watcher.outcome == "failed":
        when = ago(now, watcher.stopped_at or watcher.heartbeat_at)
        return [f"{who} stopped with an error {when}: {watcher.error or 'no error recorded'}"]
    if watcher.running and (now - watcher.heartbeat_at).total_seconds() > WATCHER_LATE_SECONDS:
        return [
            f"{who} has written no heartbeat since {ago(now, watcher.heartbeat_at)}: is it "
            f"still running and connected? last event: {watcher.last_event or 'none'}"
        ]
    return []


def _oauth(settings: Settings) -> tuple[OAuthHealth, ...]:
    from mailrelay_cli.auth import oauth
    from mailrelay_cli.errors import MailrelayError

    try:
        statuses = oauth.status(settings)
    except MailrelayError as e:  # e.g. no keyring: the cron job could not refresh either
        detail = f"{e.message} ({e.hint})" if e.hint else e.message
        return (OAuthHealth("oauth", "", False, detail),)
    rows = []
    for row in statuses:
        if row.flow is None:  # not an OAuth role
            continue
        if not row.configured:
            rows.append(OAuthHealth(row.role, row.provider, False, row.note or "not configured"))
        elif row.shares_smtp_login:
            rows.append(OAuthHealth(row.role, row.provider, True, "shares SMTP's login"))
        elif row.flow == "client-credentials":
            rows.append(
                OAuthHealth(row.role, row.provider, True, "client credentials: a token is fetched each run")
            )
        elif row.logged_in and row.refresh_token:
            rows.append(
                OAuthHealth(
                    row.role, row.provider, True, f"refresh token stored for {row.account or 'the account'}"
                )
            )
        else:
            detail = row.note or f"no refresh token: mailrelay auth login --{row.role}"
            rows.append(OAuthHealth(row.role, row.provider, False, detail))
    return tuple(rows)


def check(settings: Settings, max_age: float | None = None) -> HealthReport:
    """The health of the process-replies job (see the module docstring)."""
    from mailrelay_cli.auth.store_access import open_state
    from mailrelay_cli.reports import schedule
    from mailrelay_cli.store import store_exists, store_location
    from mailrelay_cli.store.times import utcnow

    now = utcnow()
    database = store_location(settings)
    last_run = last_success = None
    recent: list[Run] = []
    pending = Pending(0)
    messages = decisions = 0
    hooks: tuple[FailingHook, ...] = ()
    watcher: Watcher | None = None
    # No database yet means no run ever finished; do not create one just to look.
    if store_exists(settings):
        from mailrelay_cli.approvals import service as approvals

        with open_state(settings) as store:
            found = store.last_run()
            last_run = _run(found) if found else None
            found = store.last_success()
            last_success = _run(found) if found else None
            recent = [_run(r) for r in store.runs_since(now - DAY)]
            # From the audit rows, not the runs: a run that died after committing them
            # recorded no counts, but its messages were processed all the same.
            audited = store.audit_counts_since(now - DAY)
            messages, decisions = audited.messages, audited.decisions
            waiting = approvals.list_approvals(store, "pending")
            if waiting:
                oldest = min(waiting, key=lambda a: a.created_at)
                pending = Pending(len(waiting), oldest.id, _time(oldest.created_at), _time(oldest.expires_at))
            hooks = tuple(
                FailingHook(h.approval_id, h.attempts, h.last_error, _time(h.last_attempt_at))
                for h in store.failing_hooks()
            )
            found_watcher = store.last_watcher()
            watcher = _watcher(found_watcher, now) if found_watcher else None
    oauth_rows = _oauth(settings)
    interval = settings.approval.interval_minutes
    cron_lines = schedule.cron_here(settings).lines

    problems: list[str] = _watcher_problems(watcher, now)
    success_at = last_success.at if last_success else None
    alive = alive_at(success_at, watcher)
    stale = False
    if max_age is not None:
        stale = alive is None or (now - alive).total_seconds() > max_age
    late = LATE_INTERVALS * interval * 60
    if alive is not None and alive != success_at:
        if stale and not problems:
            problems.append(
                f"the watcher's last heartbeat was {ago(now, alive)}, more than "
                f"--max-age {format_duration(max_age or 0)} ago"
            )
    elif success_at is None:
        problems.append(
            "no successful process-replies run recorded: is the cron job installed? mailrelay schedule --cron"
        )
    elif (now - success_at).total_seconds() > late:
        problems.append(
            f"the last successful run was {ago(now, success_at)} but cron should run "
            f"every {interval}m: check the cron job (mailrelay schedule --cron)"
        )
    elif stale:
        problems.append(
            f"the last successful run was {ago(now, success_at)}, more than "
            f"--max-age {format_duration(max_age or 0)} ago"
        )
    if last_run is not None and last_run.outcome == "failed":
        problems.append(
            f"the last run failed {ago(now, last_run.at)}: {last_run.error or 'no error recorded'}"
        )
    elif last_run is not None and last_run.outcome is None:
        problems.append(
            f"the last run started {ago(now, last_run.started_at)} and recorded "
            "no end: still running, or it died"
        )
    if len(hooks) == 1:
        hook = hooks[0]
        problems.append(
            f"on_decision hook for {hook.approval_id} failing after {hook.attempts} "
            f"attempt(s): {hook.last_error or 'no error recorded'}; after fixing "
            f"it: mailrelay hooks retry (or drop {hook.approval_id})"
        )
    elif hooks:
        last = hooks[-1]
        problems.append(
            f"{len(hooks)} on_decision hooks failing, the last for {last.approval_id}: "
            f"{last.last_error or 'no error recorded'}; after fixing the hook: "
            "mailrelay hooks retry (or mailrelay hooks drop ID)"
        )
    for row in oauth_rows:
        if not row.ok:
            problems.append(f"{row.role} OAuth cannot refresh without a person: {row.detail}")

    return HealthReport(
        now=now,
        database=database,
        last_run=last_run,
        last_success=last_success,
        runs_last_day=len(recent),
        failed_runs_last_day=sum(1 for r in recent if r.outcome == "failed"),
        messages_last_day=messages,
        decisions_last_day=decisions,
        pending=pending,
        failing_hooks=hooks,
        oauth=oauth_rows,
        interval_minutes=interval,
        cron_lines=cron_lines,
        max_age=max_age,
        stale=stale,
        problems=tuple(problems),
        watcher=watcher,
    )


def _watcher_json(watcher: Any) -> dict[str, Any] | None:
    if watcher is None:
        return None
    return {
        "running": watcher.running,
        "host": watcher.host,
        "pid": watcher.pid,
        "mailbox": watcher.mailbox,
        "how": watcher.mode,
        "since": _iso(watcher.started_at),
        "heartbeat_at": _iso(watcher.heartbeat_at),
        "last_event": watcher.last_event,
        "last_event_at": _iso(watcher.last_event_at),
        "reconnects_today": watcher.reconnects_today,
        "stopped_at": _iso(watcher.stopped_at),
        "outcome": watcher.outcome,
        "error": watcher.error,
    }


def replies_warning(settings: Settings) -> str | None:
    """Why no reply may ever be read, for ``approvals wait`` to say before it waits: no
    process-replies run ever succeeded, or the last success is older than two intervals,
    and no watcher (``process-replies --watch``) is beating either."""
    from mailrelay_cli.auth.store_access import open_state
    from mailrelay_cli.store import store_exists
    from mailrelay_cli.store.times import utcnow

    hint = "is the cron job installed? mailrelay schedule --cron"
    last = None
    now = utcnow()
    if store_exists(settings):
        with open_state(settings) as store:
            found = store.last_success()
            last = _run(found).at if found else None
            found_watcher = store.last_watcher()
        last = alive_at(last, _watcher(found_watcher, now) if found_watcher else None)
    if last is None:
        return f"nothing reads replies: process-replies has never run successfully; {hint}"
    interval = settings.approval.interval_minutes
    if (now - last).total_seconds() > 2 * interval * 60:
        return (
            f"nothing reads replies: the last successful process-replies run was "
            f"{ago(now, last)}, but it should run every {interval}m; {hint}"
        )
    return None


def alive_at(success_at: datetime | None, watcher: Watcher | None) -> datetime | None:
    """The newest sign that replies are read: the last successful run, or a running watcher's
    heartbeat when that is newer (the watcher stands in for cron; module docstring)."""
    if watcher is not None and watcher.running and (success_at is None or watcher.heartbeat_at > success_at):
        return watcher.heartbeat_at
    return success_at
