"""Log attachments: which logs (the attach-logs policy), their file names, the zip, the size cap.

DESIGN.md "Attach logs": one log is attached as
``<InstanceName>_<StepNumber>_<StepName>_<EndPoint>(<PluginExecutionId>).log``;
several go in ``<InstanceName>_logs.zip`` with entries
``<StepNumber>_<StepName>_<EndPoint>(<PluginExecutionId>).log``.

Metadata comes from the payload's ``logs`` list. Logs given with ``--log`` /
``--failed-log`` have none, so they are named by their position among all the
logs of the message (payload logs first, then ``--log``, then
``--failed-log``): step = that position, step name = the file name without
its extension, endpoint = ``local``, execution id = the position again.

Every part of a name is made safe for mail clients and file systems: path
separators split it and ``.``/``..`` pieces go away (``../../etc/passwd`` ->
``etc_passwd``), control and invisible characters and ``<>:"|?*`` become
``_``, each part is capped in UTF-8 bytes so the whole name stays under 255.
Zip entries therefore never contain a folder and cannot escape when extracted.

A log larger than ``notifications.max_attachment_mb`` is cut to its last part
(starting at a line boundary) after one first line saying how much was left
out. Logs are streamed into the zip in chunks, never read whole.
"""

from __future__ import annotations

import io
import os
import re
import time
import unicodedata
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, NamedTuple

from mailrelay_cli.errors import DataError

POLICIES = ("never", "always", "on-failure")
CHUNK = 1 << 16
# Bytes searched for a line start after the cut point before cutting mid-line.
LINE_SEARCH = 4096
_UNSAFE = set('<>:"|?*')

# Records are NamedTuples, not dataclasses: `send` imports this module, and creating a
# dataclass costs ~1-2 ms of start-up against ~0.2 ms for a NamedTuple.


class LogFile(NamedTuple):
    """One log and its metadata (strings, as they appear in names)."""

    path: Path
    step: str
    step_name: str
    endpoint: str
    execution_id: str
    failed: bool = False


class Attachment(NamedTuple):
    """A file ready for the message. ``cut`` names the logs that were shortened to the cap."""

    filename: str
    content_type: str
    data: bytes
    cut: tuple[str, ...] = ()


def safe_part(value: Any, max_bytes: int = 60, fallback: str = "unnamed") -> str:
    """``value`` as one readable file-name part with nothing a file system or client chokes on."""
    text = unicodedata.normalize("NFC", str(value))
    pieces = [piece for piece in re.split(r"[/\\]+", text) if piece.strip() not in ("", ".", "..")]
    text = "_".join(pieces)
    text = "".join(
        "_"
        if c in _UNSAFE or unicodedata.category(c)[0] == "C" or unicodedata.category(c) in ("Zl", "Zp")
        else c
        for c in text
    )
    text = re.sub(r"\s+", " ", text)
    text = re.sub(r"_{2,}", "_", text).strip(" ._")
    encoded = text.encode("utf-8")[:max_bytes]
    text = encoded.decode("utf-8", "ignore").rstrip(" ._")
    return text or fallback


def entry_name(log: LogFile) -> str:
    """``<StepNumber>_<StepName>_<EndPoint>(<PluginExecutionId>).log``, made safe."""
    return (
        f"{safe_part(log.step, 12, 'step')}_{safe_part(log.step_name, 60, 'step')}_"
        f"{safe_part(log.endpoint, 40, 'endpoint')}({safe_part(log.execution_id, 40, 'id')})"
        ".log"
    )


def single_name(instance_name: str, log: LogFile) -> str:
    """The name of a log attached on its own: ``<InstanceName>_`` + ``entry_name``."""
    return f"{safe_part(instance_name, 60, 'instance')}_{entry_name(log)}"


def zip_name(instance_name: str) -> str:
    return f"{safe_part(instance_name, 60, 'instance')}_logs.zip"


def _text(entry: Mapping[str, Any], key: str, default: str) -> str:
    value = entry.get(key)
    return default if value is None or value == "" else str(value)


def logs_from_payload(entries: Any, where: str = "payload") -> list[LogFile]:
    """The payload's ``logs`` list as LogFiles; DataError naming the entry that is wrong."""
    if entries is None:
        return []
    if not isinstance(entries, list):
        raise DataError(
            f"{where}: logs must be a list of objects",
            hint='"logs": [{"path": "build.log", "step": 1, "step_name": "Build", '
            '"endpoint": "ci-1", "execution_id": "981", "failed": false}]',
        )
    logs = []
    for index, entry in enumerate(entries, start=1):
        if not isinstance(entry, Mapping) or not isinstance(entry.get("path"), str) or not entry["path"]:
            raise DataError(
                f'{where}: logs[{index - 1}] needs a "path" string',
                hint='each log is {"path": ..., "step": ..., "step_name": ..., '
                '"endpoint": ..., "execution_id": ..., "failed": ...}',
            )
        path = Path(entry["path"])
        logs.append(
            LogFile(
                path=path,
                step=_text(entry, "step", str(index)),
                step_name=_text(entry, "step_name", path.stem),
                endpoint=_text(entry, "endpoint", "local"),
                execution_id=_text(entry, "execution_id", str(index)),
                failed=entry.get("failed") is True,
            )
        )
    return logs


def logs_from_paths(logs: Sequence[Path], failed_logs: Sequence[Path], start: int = 1) -> list[LogFile]:
    """``--log`` and ``--failed-log`` files, named by position (see the module docstring)."""
    result = []
    marked = [(Path(p), False) for p in logs] + [(Path(p), True) for p in failed_logs]
    for offset, (path, failed) in enumerate(marked):
        position = str(start + offset)
        result.append(LogFile(path, position, path.stem, "local", position, failed))
    return result


def check_exist(logs: Sequence[LogFile]) -> None:
    """DataError (65) for the first log that is not a readable file, before anything is sent.

    Missing paths, directories and unreadable files are all bad input data; the CLI
    passes ``--log``/``--failed-log`` here as given, unchecked.
    """
    for log in logs:
        if not log.path.is_file():
            if log.path.is_dir():
                state = "is a directory, not a file"
            elif log.path.exists():
                state = "is not a regular file"
            else:
                state = "does not exist"
            raise DataError(
                f"log {log.path} {state}",
                hint="fix the path in --log/--failed-log or the payload's logs list",
            )
        if not os.access(log.path, os.R_OK):
            raise DataError(f"log {log.path} is not readable", hint=f"check the permissions of {log.path}")


def select(logs: Sequence[LogFile], policy: str) -> list[LogFile]:
    """The logs ``notifications.attach_logs`` attaches: none, all, or the failed ones."""
    if policy == "never":
        return []
    if policy == "always":
        return list(logs)
    if policy == "on-failure":
        return [log for log in logs if log.failed]
    raise ValueError(f"unknown attach-logs policy {policy!r}")


def _chunks(path: Path, max_bytes: int) -> Iterator[bytes]:
    """The log's bytes, or a first line saying it was cut and then its last ``max_bytes``."""
    try:
        handle = path.open("rb")
    except OSError as e:
        raise DataError(
            f"cannot read log {path}: {e.strerror}", hint=f"check the permissions of {path}"
        ) from e
    with handle:
        size = os.fstat(handle.fileno()).st_size
        if size > max_bytes:
            start = size - max_bytes
            handle.seek(start)
            head = handle.read(min(LINE_SEARCH, max_bytes))
            newline = head.find(b"\n")
            if newline >= 0:
                start += newline + 1
                head = head[newline + 1 :]
            yield (
                f"[mailrelay: log cut to its last {size - start} bytes; the first {start} of "
                f"{size} bytes were left out (notifications.max_attachment_mb)]\n"
            ).encode()
            yield head
        while chunk := handle.read(CHUNK):
            yield chunk


def _was_cut(path: Path, max_bytes: int) -> bool:
    return path.stat().st_size > max_bytes


def _unique(name: str, taken: set[str]) -> str:
    candidate, number = name, 2
    while candidate.lower() in taken:
        candidate = f"{name[: -len('.log')]}-{number}.log"
        number += 1
    taken.add(candidate.lower())
    return candidate


def _zip_time(path: Path) -> tuple[int, int, int, int, int, int]:
    # Zip timestamps start in 1980; an older (or bogus) mtime would make zipfile fail.
    stamp = time.localtime(max(path.stat().st_mtime, 315_532_800 + 86_400))
    return stamp[:6]


def build(logs: Sequence[LogFile], instance_name: str, max_mb: float) -> Attachment | None:
    """The one attachment for ``logs``: nothing, the single log, or the zip of all of them."""
    if not logs:
        return None
    max_bytes = max(1, int(max_mb * 1024 * 1024))
    cut = tuple(str(log.path) for log in logs if _was_cut(log.path, max_bytes))
    if len(logs) == 1:
        data = b"".join(_chunks(logs[0].path, max_bytes))
        return Attachment(single_name(instance_name, logs[0]), "text/plain", data, cut)
    import zipfile

    buffer = io.BytesIO()
    taken: set[str] = set()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for log in logs:
            info = zipfile.ZipInfo(_unique(entry_name(log), taken), date_time=_zip_time(log.path))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            with archive.open(info, "w") as entry:
                for chunk in _chunks(log.path, max_bytes):
                    entry.write(chunk)
    return Attachment(zip_name(instance_name), "application/zip", buffer.getvalue(), cut)
