"""``process-replies --watch``: one long-lived process that decides each reply as it arrives.

The loop, on one open mailbox (``mailbox.open_watched_mailbox``):

1. take the run lock for this batch only (``mode="watch"``), open the store,
   look at the folder again (``refresh``: SELECT on IMAP) and run one batch with
   ``run.process_batch``, the very code of a cron run (judging, commit before
   delete, audit, hooks, answers); release the lock;
2. if the batch left messages behind (more than ``approval.count``), go again;
3. otherwise ``wait_for_mail``: IMAP IDLE (NOOP every ``approval.interval_minutes``
   on a server without IDLE), inotify on a Maildir's new/. A batch also runs at
   least every ``approval.interval_minutes`` without any notice, so the watcher is
   never later than cron would be.

It never dies quietly. A ``TemporaryError`` (a dropped connection, a server
restart or ``* BYE``, a timeout, a TLS failure that is not about the certificate,
DNS) ends the session: one warning line, then a reconnect after a capped
exponential backoff with jitter (``Backoff``). OAuth tokens are fetched at each
login, so an expired one is refreshed silently on reconnect. Anything else (a
settings fault, 78; an auth fault, 77; a server that refuses for good, 69) ends
the watcher with that exit code, for the service manager to show.

Stopping: ``WatchControl.request_stop`` (SIGTERM, SIGINT) ends a wait at once;
in a batch, the message in hand is finished, what was judged is committed and
deleted, and the rest stays in the mailbox; then LOGOUT. ``request_reload``
(SIGHUP) reads the settings again and reconnects with them; settings that do not
load are reported and the old ones kept.

Health: the watcher's row in the store (``watch_started``/``watch_heartbeat``)
is written at start, on every event and at least every ``heartbeat_seconds``
while the mailbox is open; while it cannot connect only its last event is
updated, so ``mailrelay status --max-age`` goes stale as it would for a cron
job that keeps failing. Events go to the caller's ``emit`` (the CLI
prints them, one line each, or JSON lines).
"""

from __future__ import annotations

import os
import random
import select
import signal
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import FrameType
from typing import Any, Literal

from mailrelay_cli.approvals import service as approvals
from mailrelay_cli.auth.store_access import open_state
from mailrelay_cli.config.records import Settings
from mailrelay_cli.errors import LockedError, MailrelayError, TemporaryError
from mailrelay_cli.replies.mailbox import WatchableMailbox, open_watched_mailbox
from mailrelay_cli.replies.mailbox_names import mailbox_name
from mailrelay_cli.replies.run import RunReport, process_batch
from mailrelay_cli.store import Store, state_url, store_location
from mailrelay_cli.store.times import iso, utcnow

Level = Literal["debug", "info", "warning"]
# How long the watcher waits before trying the lock again when a cron run holds it.
LOCK_RETRY_SECONDS = 1.0


@dataclass(frozen=True)
class WatchEvent:
    """One thing that happened, for one log line (``text``) or one JSON line (``as_json``)."""

    kind: str  # started, connected, batch, decision, message, warning, waiting,
    #            reconnecting, lock-wait, reloaded, reload-failed, stopping, stopped
    text: str
    level: Level = "info"
    fields: Mapping[str, Any] = field(default_factory=dict)
    at: str = field(default_factory=lambda: iso(utcnow()))

    def to_json(self) -> dict[str, Any]:
        return {"event": self.kind, "at": self.at, "level": self.level, "text": self.text, **self.fields}


@dataclass(frozen=True)
class WatchOptions:
    """How the watcher paces itself; the defaults are the service's."""

    count: int | None = None  # messages per batch (default approval.count)
    heartbeat_seconds: float = 60.0
    noop_seconds: float | None = None  # IMAP without IDLE (default approval.interval_minutes)
    inotify: bool = True  # False: a Maildir is polled every second
    backoff_first: float = 1.0
    backoff_cap: float = 60.0


class Backoff:
    """Capped exponential backoff with jitter: the n-th delay is drawn from
    [c/2, c] where c = min(cap, first * 2**n)."""

    def __init__(self, first: float = 1.0, cap: float = 60.0, rng: random.Random | None = None) -> None:
        self.first = first
        self.cap = cap
        self.attempts = 0
        self._rng = rng or random.Random()

    def next_delay(self) -> float:
        ceiling = min(self.cap, self.first * 2 ** min(self.attempts, 32))
        self.attempts += 1
        return float(ceiling / 2 + self._rng.uniform(0, ceiling / 2))

    def reset(self) -> None:
        self.attempts = 0


class WatchControl:
    """Stop and reload requests, and a descriptor that wakes a waiting mailbox.

    Safe to call from a signal handler or another thread: a request sets a flag, then
    writes one byte to a pipe whose reading end ``fileno`` the mailbox ``select``s on.
    """

    def __init__(self) -> None:
        self.stop_requested = False
        self.reload_requested = False
        self.stop_reason: str | None = None
        self._read, self._write = os.pipe()
        os.set_blocking(self._read, False)
        os.set_blocking(self._write, False)

    def fileno(self) -> int:
        return self._read

    def _poke(self) -> None:
        try:
            os.write(self._write, b"x")
        except (BlockingIOError, OSError):
            pass  # the pipe is full or closed: a wake-up is pending anyway

    def request_stop(self, reason: str = "asked to stop") -> None:
        if not self.stop_requested:
            self.stop_reason = reason
        self.stop_requested = True
        self._poke()

    def request_reload(self) -> None:
        self.reload_requested = True
        self._poke()

    def drain(self) -> None:
        try:
            while os.read(self._read, 4096):
                pass
        except (BlockingIOError, OSError):
            pass

    def sleep(self, seconds: float) -> None:
        """Sleep, ending early on a stop or reload request."""
        if self.stop_requested or self.reload_requested:
            return
        select.select([self._read], [], [], max(seconds, 0.0))
        self.drain()

    @contextmanager
    def signals(self) -> Iterator[WatchControl]:
        """SIGTERM and SIGINT request a stop, SIGHUP a reload, for the duration (main thread)."""

        def stop(signum: int, _frame: FrameType | None) -> None:
            self.request_stop(signal.Signals(signum).name)

        def reload(_signum: int, _frame: FrameType | None) -> None:
            self.request_reload()

        previous = {
            sig: signal.signal(sig, handler)
            for sig, handler in ((signal.SIGTERM, stop), (signal.SIGINT, stop), (signal.SIGHUP, reload))
        }
        try:
            yield self
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def close(self) -> None:
        for fd in (self._read, self._write):
            try:
                os.close(fd)
            except OSError:
                pass


def _store_of(settings: Settings) -> tuple[str | None, str]:
    """Which store ``settings`` open: ``state.url`` (PostgreSQL), else the SQLite file."""
    return state_url(settings), store_location(settings)


class _Health:
    """The watcher's row in the store; each write opens the store briefly, but the heartbeat
    after a batch, which goes through the batch's own store."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        with open_state(settings) as db:
            self.watch_id = db.watch_started(mailbox_name(settings), None)
        self.last = time.monotonic()

    def beat(
        self,
        *,
        mode: str | None = None,
        event: str | None = None,
        reconnected: bool = False,
        db: Store | None = None,
    ) -> None:
        """A heartbeat, through ``db`` when the caller holds the store open (a batch)."""
        if db is not None:
            db.watch_heartbeat(self.watch_id, mode=mode, event=event, reconnected=reconnected)
        else:
            with open_state(self.settings) as opened:
                opened.watch_heartbeat(self.watch_id, mode=mode, event=event, reconnected=reconnected)
        self.last = time.monotonic()

    def event(self, event: str) -> None:
        """An event while not connected: no heartbeat (``status`` goes stale if it lasts)."""
        with open_state(self.settings) as db:
            db.watch_event(self.watch_id, event)

    def stopped(self, outcome: str, error: str | None) -> None:
        with open_state(self.settings) as db:
            db.watch_stopped(self.watch_id, outcome, error)


def _outcome_counts(report: RunReport) -> str:
    tally: dict[str, int] = {}
    for m in report.messages:
        tally[m.outcome] = tally.get(m.outcome, 0) + 1
    return ", ".join(f"{n} {outcome}" for outcome, n in tally.items())


def _report_events(report: RunReport) -> list[WatchEvent]:
    events = [
        WatchEvent(
            "message",
            f"{m.uid}: {m.outcome}"
            + (f" {m.approval_id}" if m.approval_id else "")
            + f" from {m.sender or '?'}: {m.subject or ''}",
            "debug",
            m.to_json(),
        )
        for m in report.messages
    ]
    for approval in report.decided:
        events.append(
            WatchEvent(
                "decision",
                f"{approval.id} {approval.status} by {approval.decided_by}: {approval.title}",
                "info",
                {
                    "approval_id": approval.id,
                    "status": approval.status,
                    "decided_by": approval.decided_by,
                    "title": approval.title,
                },
            )
        )
    if report.read:
        detail = _outcome_counts(report)
        events.append(
            WatchEvent(
                "batch",
                f"read {report.read}, deleted {report.deleted}, left {report.left}"
                + (f" ({detail})" if detail else ""),
                "info",
                {"summary": report.summary()},
            )
        )
    for failure in report.failures:
        events.append(WatchEvent("warning", failure, "warning", {}))
    return events


class _Watcher:
    def __init__(
        self,
        load: Callable[[], Settings],
        control: WatchControl,
        emit: Callable[[WatchEvent], None],
        options: WatchOptions,
    ) -> None:
        self.load = load
        self.control = control
        self.emit = emit
        self.options = options
        self.settings = load()
        approvals.require_enabled(self.settings)
        self.backoff = Backoff(options.backoff_first, options.backoff_cap)
        self.health = _Health(self.settings)
        self.lost = False  # the last session ended with a lost connection

    # -- the outer loop: sessions, reconnects, reloads
    def run(self) -> None:
        self.emit(
            WatchEvent(
                "started",
                f"watching {mailbox_name(self.settings)} (pid {os.getpid()})",
                "info",
                {"mailbox": mailbox_name(self.settings), "pid": os.getpid()},
            )
        )
        outcome, error = "stopped", None
        try:
            while not self.control.stop_requested:
                if self.control.reload_requested:
                    self._reload()
                started = time.monotonic()
                try:
                    self._session()
                except TemporaryError as e:
                    if time.monotonic() - started >= self.options.backoff_cap:
                        self.backoff.reset()  # that session was healthy for a while
                    self._lost(e)
        except MailrelayError as e:
            outcome, error = "failed", e.message
            raise
        except BaseException as e:
            outcome, error = "failed", f"internal error: {type(e).__name__}"
            raise
        finally:
            try:
                self.health.stopped(outcome, error)
            except MailrelayError:
                pass  # the store itself is what failed; the error above says so
            text = "stopped" if error is None else f"stopped: {error}"
            self.emit(
                WatchEvent(
                    "stopped",
                    text,
                    "info" if error is None else "warning",
                    {"outcome": outcome, "error": error},
                )
            )

    def _lost(self, error: TemporaryError) -> None:
        delay = self.backoff.next_delay()
        self.lost = True
        self.emit(
            WatchEvent(
                "reconnecting",
                f"{error.message}; reconnecting in {delay:.1f}s (attempt {self.backoff.attempts})",
                "warning",
                {
                    "error": error.message,
                    "hint": error.hint,
                    "delay_seconds": round(delay, 3),
                    "attempt": self.backoff.attempts,
                },
            )
        )
        self.health.event(f"connection lost: {error.message}")
        self.control.sleep(delay)

    def _reload(self) -> None:
        self.control.reload_requested = False
        try:
            fresh = self.load()
            approvals.require_enabled(fresh)
        except MailrelayError as e:
            self.emit(
                WatchEvent(
                    "reload-failed",
                    f"settings not reloaded: {e.message}; still using the ones loaded before",
                    "warning",
                    {"error": e.message, "hint": e.hint},
                )
            )
            return
        if _store_of(fresh) != _store_of(self.settings):  # the heartbeat goes where the batches go
            self.health.stopped("stopped", "state moved by a reload")
            self.health = _Health(fresh)
        self.health.settings = fresh  # the same store, maybe another password or profile
        self.settings = fresh
        self.emit(
            WatchEvent(
                "reloaded",
                f"settings reloaded from {fresh.path}",
                "info",
                {"path": str(fresh.path), "mailbox": mailbox_name(fresh)},
            )
        )
        self.health.beat(event="settings reloaded")

    # -- one session on one open mailbox
    def _session(self) -> None:
        settings, control, options = self.settings, self.control, self.options
        with open_watched_mailbox(
            settings, wakeup_fd=control.fileno(), noop_seconds=options.noop_seconds, inotify=options.inotify
        ) as mailbox:
            how = mailbox.how
            self.emit(
                WatchEvent(
                    "connected",
                    f"{'reconnected to' if self.lost else 'opened'} {mailbox.name} ({how})",
                    "info",
                    {"mailbox": mailbox.name, "how": how, "reconnect": self.lost},
                )
            )
            self.health.beat(
                mode=how, event="reconnected" if self.lost else "connected", reconnected=self.lost
            )
            self.lost = False
            sweep = settings.approval.interval_minutes * 60.0
            while not (control.stop_requested or control.reload_requested):
                report = self._batch(mailbox)
                if report is None:  # a cron run holds the lock: try again shortly
                    control.sleep(LOCK_RETRY_SECONDS)
                    continue
                self.backoff.reset()
                if report.read and report.left:
                    continue  # more than one batch's worth waiting
                self._wait(mailbox, time.monotonic() + sweep)
            if control.stop_requested:
                self.emit(
                    WatchEvent(
                        "stopping",
                        f"{control.stop_reason or 'stop'}: logging out",
                        "info",
                        {"reason": control.stop_reason},
                    )
                )

    def _wait(self, mailbox: WatchableMailbox, sweep_at: float) -> None:
        """Until mail may have arrived, the sweep is due, or a stop or reload is asked for."""
        control = self.control
        self.emit(WatchEvent("waiting", f"waiting for mail ({mailbox.how})", "debug", {}))
        while not (control.stop_requested or control.reload_requested):
            now = time.monotonic()
            beat_at = self.health.last + self.options.heartbeat_seconds
            arrived = mailbox.wait_for_mail(max(min(beat_at, sweep_at) - now, 0.0))
            control.drain()
            now = time.monotonic()
            if now >= beat_at:
                self.health.beat()
            if arrived or now >= sweep_at:
                return

    def _batch(self, mailbox: WatchableMailbox) -> RunReport | None:
        settings, control = self.settings, self.control
        limit = self.options.count or settings.approval.count
        report: RunReport | None = None
        try:
            with open_state(settings) as db:
                with db.run_lock(mode="watch"):
                    mailbox.refresh()
                    report = process_batch(
                        settings,
                        db,
                        mailbox,
                        limit=limit,
                        max_bytes=settings.approval.max_message_kb * 1024,
                        should_stop=lambda: control.stop_requested,
                    )
                for event in _report_events(report):
                    self.emit(event)
                if report.read:  # through the store the batch opened: no second connection
                    decided = ", ".join(f"{a.id} {a.status}" for a in report.decided)
                    self.health.beat(event=f"read {report.read}" + (f": {decided}" if decided else ""), db=db)
        except LockedError as e:
            if report is not None:
                raise  # not the run lock: the batch is done
            self.emit(
                WatchEvent("lock-wait", f"{e.message}: trying again shortly", "debug", {"error": e.message})
            )
            return None
        return report


def watch(
    load: Callable[[], Settings],
    control: WatchControl,
    emit: Callable[[WatchEvent], None],
    options: WatchOptions | None = None,
) -> None:
    """Run the watcher until ``control`` asks it to stop (returns) or a fault a retry cannot
    fix (raises its ``MailrelayError``). ``load`` gives the settings, again on each reload."""
    _Watcher(load, control, emit, options or WatchOptions()).run()
