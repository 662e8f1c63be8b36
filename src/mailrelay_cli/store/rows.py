"""Rows of either store as the interface's records: one mapping for SQLite and PostgreSQL.

A row is anything indexed by column name (``sqlite3.Row`` or psycopg's ``dict_row``).
"""

from __future__ import annotations

import json
from typing import Any, Protocol

from mailrelay_cli.store.interface import ApprovalRow, AuditRow, HookRecord, RunRecord, WatcherRecord


class Row(Protocol):
    """What both drivers' rows offer: a value by column name."""

    def __getitem__(self, column: str, /) -> Any: ...


def approval(row: Row) -> ApprovalRow:
    return ApprovalRow(
        id=row["id"],
        reference=row["reference"],
        title=row["title"],
        subject=row["subject"],
        approvers=tuple(json.loads(row["approvers"])),
        required=row["required"],
        notify=tuple(json.loads(row["notify"])),
        requested_by=row["requested_by"],
        message_id=row["message_id"],
        created_at=row["created_at"],
        expires_at=row["expires_at"],
        status=row["status"],
        decided_by=row["decided_by"],
        decided_at=row["decided_at"],
        comment=row["comment"],
    )


def run(row: Row) -> RunRecord:
    return RunRecord(
        id=int(row["id"]),
        started_at=row["started_at"],
        finished_at=row["finished_at"],
        outcome=row["outcome"],
        counts=json.loads(row["counts"] or "{}"),
        error=row["error"],
    )


def hook(row: Row) -> HookRecord:
    return HookRecord(
        approval_id=row["approval_id"],
        status=row["status"],
        attempts=row["attempts"],
        last_error=row["last_error"],
        last_attempt_at=row["last_attempt_at"],
    )


def audit(row: Row) -> AuditRow:
    return AuditRow(**{key: row[key] for key in AuditRow.__dataclass_fields__})


def watcher(row: Row) -> WatcherRecord:
    return WatcherRecord(**{key: row[key] for key in WatcherRecord.__dataclass_fields__})
