"""``mailrelay hooks list|retry|drop``: the owed ``on_decision`` hooks, by hand.

A hook that keeps failing is retried by every process-replies run until it succeeds.
After fixing it, ``retry`` runs it now instead of at the next run; a hook that should
never run (the decision was handled another way) is ``drop``-ped. Both hold the run lock,
so a cron run never runs the same hook at the same time.
"""

from __future__ import annotations

from collections.abc import Sequence

from mailrelay_cli.config.records import Settings
from mailrelay_cli.errors import ConfigError, NotFoundError
from mailrelay_cli.replies.hooks import HookResult, run_owed_hooks
from mailrelay_cli.store import open_store, store_exists
from mailrelay_cli.store.interface import HookRecord
from mailrelay_cli.store.lock import run_lock


def owed(settings: Settings) -> list[HookRecord]:
    """Every hook still owed (pending or failed), oldest first."""
    if not store_exists(settings):
        return []
    with open_store(settings) as db:
        return [h for h in db.hooks() if h.status in ("pending", "failed")]


def _check_owed(ids: Sequence[str], owed_ids: set[str]) -> None:
    for approval_id in ids:
        if approval_id not in owed_ids:
            raise NotFoundError(f"no on_decision hook is owed for {approval_id}",
                                hint="mailrelay hooks list")


def retry(settings: Settings, ids: Sequence[str] = ()) -> list[HookResult]:
    """Run the owed hooks now (only ``ids`` when given); their results, in order."""
    command = settings.approval.on_decision
    if not command:
        raise ConfigError("approval.on_decision is not set: there is no hook to run",
                          hint="set it (mailrelay config set approval.on_decision "
                               "'[\"/path/to/hook\"]'), or: mailrelay hooks drop ID")
    if not store_exists(settings):
        _check_owed(ids, set())
        return []
    with run_lock(settings.state_dir), open_store(settings) as db:
        _check_owed(ids, {h.approval_id for h in db.owed_hooks()})
        return run_owed_hooks(db, command, only=set(ids) if ids else None)


def drop(settings: Settings, ids: Sequence[str] = (), *, all_failing: bool = False) -> list[str]:
    """Owe the hooks of ``ids`` (or every failing one) no more; the ids dropped."""
    if not store_exists(settings):
        _check_owed(ids, set())
        return []
    with run_lock(settings.state_dir), open_store(settings) as db:
        targets = list(ids) or ([h.approval_id for h in db.failing_hooks()] if all_failing else [])
        _check_owed(targets, {h.approval_id for h in db.owed_hooks()})
        with db.transaction() as tx:
            for approval_id in targets:
                tx.drop_hook(approval_id)
        return targets
