"""``approval.on_decision``: a command run for each decision, retried on later runs until it succeeds.

The command gets the decision as JSON on stdin and ``MAILRELAY_DECISION_ID``,
``MAILRELAY_APPROVAL_ID``, ``MAILRELAY_DECISION`` and ``MAILRELAY_DECIDED_BY`` in
its environment. Delivery is at least once: a run killed after the hook ran
but before its success was recorded runs it again, with the same
``MAILRELAY_DECISION_ID`` (also ``decision_id`` in the JSON), so a hook that
must act once keeps the ids it has seen and ignores a repeat. It never
runs through a shell: a string is split with ``shlex`` and nothing from a
message is ever put on its command line, so mail content cannot become shell
syntax. A hook owed is a row in the store, written in the same transaction as
the decision, so a failing or interrupted hook never loses the decision.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from mailrelay_cli.auth import credentials
from mailrelay_cli.errors import ConfigError
from mailrelay_cli.store.interface import Store, Transaction

TIMEOUT_SECONDS = 120
BUDGET_SECONDS = 60.0  # no new hook starts after this much of one run


@dataclass(frozen=True)
class HookResult:
    """One hook run: ok, or the one-line reason it failed (it stays owed)."""

    approval_id: str
    ok: bool
    error: str | None
    attempts: int


def command_argv(command: tuple[str, ...] | str) -> list[str]:
    """The argument vector of ``approval.on_decision`` (a list, or a string split like a shell)."""
    if isinstance(command, str):
        try:
            argv = shlex.split(command)
        except ValueError as e:
            raise ConfigError(
                f"approval.on_decision: cannot split {command!r}: {e}",
                hint='write it as a list: on_decision = ["/path/to/cmd", "arg"]',
            ) from e
    else:
        argv = list(command)
    if not argv:
        raise ConfigError("approval.on_decision is empty", hint='on_decision = ["/path/to/cmd", "arg"]')
    return argv


def decision_id(approval: Any) -> str:
    """The id of an approval's decision: the same on every retry of its hook (an approval is
    decided once and its id is never reused), e.g. ``K7Q2XD-approved``."""
    return f"{approval.id}-{approval.status}"


def queue_hook(tx: Transaction, payload: dict[str, Any]) -> None:
    """Owe one hook run for a decision (in ``tx``, the transaction that records it)."""
    tx.queue_hook(payload["id"], payload)


def _run_one(argv: list[str], payload: dict[str, Any]) -> str | None:
    # The hook is someone else's program: it gets no password, client secret or the
    # key that signs references (with it, a hook could forge approvals), nor the state
    # store's password, libpq's own (PGPASSWORD) or any variable that looks like a secret.
    secret_names = {*credentials.secret_env_names(), *credentials.secret_variables_set(), "PGPASSWORD"}
    env = {name: value for name, value in os.environ.items() if name not in secret_names}
    env.update(
        {
            "MAILRELAY_DECISION_ID": str(
                payload.get("decision_id") or f"{payload['id']}-{payload['status']}"
            ),
            "MAILRELAY_APPROVAL_ID": payload["id"],
            "MAILRELAY_DECISION": payload["status"],
            "MAILRELAY_DECIDED_BY": payload.get("decided_by") or "",
        }
    )
    try:
        done = subprocess.run(
            argv,
            input=json.dumps(payload).encode(),
            env=env,
            capture_output=True,
            timeout=TIMEOUT_SECONDS,
            check=False,
        )
    except FileNotFoundError:
        return f"{argv[0]}: command not found"
    except PermissionError:
        return f"{argv[0]}: permission denied"
    except OSError as e:
        return f"{argv[0]}: {e.strerror}"
    except subprocess.TimeoutExpired:
        return f"{argv[0]}: still running after {TIMEOUT_SECONDS}s, stopped"
    if done.returncode != 0:
        lines = done.stderr.decode("utf-8", "replace").strip().splitlines()
        said = f": {lines[-1][:200]}" if lines else ""
        return f"{argv[0]} exited {done.returncode}{said}"
    return None


def run_owed_hooks(
    store: Store,
    command: tuple[str, ...] | str | None,
    *,
    budget: float = BUDGET_SECONDS,
    clock: Callable[[], float] = time.monotonic,
    progress: Callable[[str, int, int | None], None] | None = None,
    only: set[str] | None = None,
) -> list[HookResult]:
    """Run the hooks still owed (new decisions and earlier failures), oldest first.

    No new hook starts once ``budget`` seconds of the run were spent on hooks: a hook
    that hangs cannot hold the run lock for one timeout per owed decision; the rest
    stay owed for the next run. ``progress(step, done, total)`` hears of each hook before
    it runs; ``only`` limits the run to those approval ids (``mailrelay hooks retry ID``).
    """
    owed = [h for h in store.owed_hooks() if only is None or h.approval_id in only]
    if not owed or command is None:
        return []
    argv = command_argv(command)
    results = []
    started = clock()
    for number, hook in enumerate(owed):
        if clock() - started >= budget:
            break
        if progress is not None:
            progress("running on_decision hooks", number, len(owed))
        error = _run_one(argv, dict(hook.payload))
        with store.transaction() as tx:
            tx.hook_attempted(hook.approval_id, error)
        results.append(HookResult(hook.approval_id, error is None, error, hook.attempts + 1))
    return results
