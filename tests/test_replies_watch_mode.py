"""Every judging, exactly-once and fail-closed test of ``test_replies`` again, in watch mode.

The tests are imported from ``test_replies`` and run with its ``run`` helper replaced by
``watch_once``: ``replies.watch.watch`` in this thread, stopped as soon as it first waits
for mail, its batches' reports merged into one. Left out, because watch mode does
otherwise on purpose: the lock test (the watcher waits for a held lock instead of exiting
75), the count test (the watcher takes the rest in further batches), the empty-run test
(a watcher records a heartbeat, not runs), and the dry runs (``--watch`` has none).
"""

from __future__ import annotations

import pytest

import tests.test_replies as cron_mode
from mailrelay_cli.config.records import Settings
from mailrelay_cli.replies import run as replies
from mailrelay_cli.replies import watch as watch_module
from tests.test_replies import *  # noqa: F403 - the tests and fixtures, collected again here

for _name in (
    "test_a_second_run_while_one_holds_the_lock_exits_75",
    "test_count_limits_the_run_to_the_oldest_messages",
    "test_an_empty_mailbox_is_a_successful_run",
    "test_a_dry_run_records_and_deletes_nothing",
):
    globals().pop(_name, None)


@pytest.fixture(autouse=True)
def _signing_key(signing_key: bytes) -> None:
    """The watcher judges replies, which needs the key (a keyless run exits 78, fail closed)."""


def watch_once(
    settings: Settings, *, count: int | None = None, dry_run: bool = False, **kwargs: object
) -> replies.RunReport:
    """The watcher until it first waits for mail; its batches' reports as one."""
    assert not dry_run and not kwargs, "watch mode has no dry run"
    reports: list[replies.RunReport] = []
    batch = watch_module.process_batch

    def recording(*args: object, **kw: object) -> replies.RunReport:
        report = batch(*args, **kw)  # type: ignore[arg-type]
        reports.append(report)
        return report

    control = watch_module.WatchControl()

    def emit(event: watch_module.WatchEvent) -> None:
        if event.kind == "waiting":
            control.request_stop("test")

    watch_module.process_batch = recording  # type: ignore[assignment]
    try:
        watch_module.watch(
            lambda: settings, control, emit, watch_module.WatchOptions(count=count, inotify=False)
        )
    finally:
        watch_module.process_batch = batch  # type: ignore[assignment]
        control.close()
    return replies.RunReport(
        messages=tuple(m for r in reports for m in r.messages),
        read=sum(r.read for r in reports),
        deleted=sum(r.deleted for r in reports),
        left=reports[-1].left if reports else 0,
        hooks=tuple(h for r in reports for h in r.hooks),
        answers=tuple(a for r in reports for a in r.answers),
        decided=tuple(d for r in reports for d in r.decided),
    )


@pytest.fixture(autouse=True)
def in_watch_mode(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cron_mode, "run", watch_once)


def test_the_tests_here_run_through_the_watcher(settings: Settings, db) -> None:
    cron_mode.run(settings)
    watcher = db.last_watcher()
    assert watcher is not None and watcher.outcome == "stopped"
    assert db.last_run() is None  # a watcher records no cron runs
