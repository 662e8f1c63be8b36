"""``mailrelay hooks list|retry|drop``: the owed ``on_decision`` hooks, by hand.

A hook that keeps failing is retried by every process-replies run until it succeeds.
After fixing it, ``retry`` runs it now instead of at the next run; a hook that should
never run (the decision was handled another way) is ``drop``-ped. Both hold the run lock,
so a cron run (on any host sharing the store) never runs the same hook at the same time.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

from mailrelay_cli.auth.store_access import open_state
from mailrelay_cli.config.records import Settings
from mailrelay_cli.errors import ConfigError, NotFoundError
from mailrelay_cli.replies.hooks import HookResult, run_owed_hooks
from mailrelay_cli.store import store_exists
from mailrelay_cli.store.interface import HookRecord


class OwedHookView(NamedTuple):
    """One owed hook, as ``hooks list`` shows it."""

    approval_id: str
    status: str
    attempts: int
    last_error: str | None
    last_attempt_at: str | None

    def to_json(self) -> dict[str, Any]:
        return self._asdict()


class RetryResult(NamedTuple):
    """One hook run by ``hooks retry``: ok, or why it failed (it stays owed)."""

    approval_id: str
    ok: bool
    error: str | None
    attempts: int

    def to_json(self) -> dict[str, Any]:
        return self._asdict()


class DropResult(NamedTuple):
    """The approval ids whose hooks ``hooks drop`` gave up on."""

    dropped: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        return {"dropped": list(self.dropped)}


def _view(hook: HookRecord) -> OwedHookView:
    return OwedHookView(hook.approval_id, hook.status, hook.attempts, hook.last_error, hook.last_attempt_at)


def owed(settings: Settings) -> list[OwedHookView]:
    """Every hook still owed (pending or failed), oldest first."""
    if not store_exists(settings):
        return []
    with open_state(settings) as db:
        return [_view(h) for h in db.hooks() if h.status in ("pending", "failed")]


def _check_owed(ids: Sequence[str], owed_ids: set[str]) -> None:
    for approval_id in ids:
        if approval_id not in owed_ids:
            raise NotFoundError(f"no on_decision hook is owed for {approval_id}", hint="mailrelay hooks list")


def retry(settings: Settings, ids: Sequence[str] = ()) -> list[RetryResult]:
    """Run the owed hooks now (only ``ids`` when given); their results, in order."""
    command = settings.approval.on_decision
    if not command:
        raise ConfigError(
            "approval.on_decision is not set: there is no hook to run",
            hint="set it (mailrelay config set approval.on_decision "
            "'[\"/path/to/hook\"]'), or: mailrelay hooks drop ID",
        )
    if not store_exists(settings):
        _check_owed(ids, set())
        return []
    with open_state(settings) as db, db.run_lock(settings.approval.lock_wait):
        _check_owed(ids, {h.approval_id for h in db.owed_hooks()})
        ran = run_owed_hooks(db, command, only=set(ids) if ids else None)
    return [_result(r) for r in ran]


def _result(run: HookResult) -> RetryResult:
    return RetryResult(run.approval_id, run.ok, run.error, run.attempts)


def drop(settings: Settings, ids: Sequence[str] = (), *, all_failing: bool = False) -> DropResult:
    """Owe the hooks of ``ids`` (or every failing one) no more; the ids dropped."""
    if not store_exists(settings):
        _check_owed(ids, set())
        return DropResult(())
    with open_state(settings) as db, db.run_lock(settings.approval.lock_wait):
        targets = list(ids) or ([h.approval_id for h in db.failing_hooks()] if all_failing else [])
        _check_owed(targets, {h.approval_id for h in db.owed_hooks()})
        with db.transaction() as tx:
            for approval_id in targets:
                tx.drop_hook(approval_id)
    return DropResult(tuple(targets))
