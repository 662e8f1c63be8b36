"""Waiting for new mail on a selected IMAP folder: IDLE (RFC 2177), or NOOP polling without it.

imaplib has no IDLE before Python 3.14, so ``idle`` speaks it on the
connection imaplib holds: it sends ``TAG IDLE``, reads untagged lines until
``* N EXISTS``, the timeout, or a wake-up file descriptor (the watcher's stop
and reload requests) becomes readable, then sends ``DONE`` and reads the
tagged answer. Nothing else is on the wire while it waits: no CPU is spent.

Waiting uses ``select`` on the socket, but imaplib reads through a buffered
file: ``_buffered`` looks into that buffer first (a non-blocking peek), so a
line already read from the socket is never left waiting behind ``select``.

Failures are raised through ``imap.imap_errors`` (a dropped connection or a
``* BYE`` is a ``TemporaryError``, 75; a refused IDLE a ``ServerRefusedError``).
"""

from __future__ import annotations

import imaplib
import itertools
import re
import select
import ssl
import time
from typing import Any, Literal

from mailrelay_cli.errors import ServerRefusedError
from mailrelay_cli.transport.imap import MailrelayIMAP, imap_errors
from mailrelay_cli.transport.imap_responses import capability_names
from mailrelay_cli.transport.imap_responses import response_text as _text

# RFC 2177: a client should re-issue IDLE at least every 29 minutes (servers drop it at 30).
IDLE_MAX_SECONDS = 29 * 60

WaitResult = Literal["mail", "timeout", "woken"]
# Seconds the server gets to end an IDLE when the wait was woken (a stop or reload).
CLOSING_TIMEOUT = 1.5

_EXISTS = re.compile(rb"^\* \d+ EXISTS\b", re.IGNORECASE)
_BYE = re.compile(rb"^\* BYE\b", re.IGNORECASE)
_tags = itertools.count(1)


def supports_idle(conn: MailrelayIMAP) -> bool:
    """Whether the logged-in server offers IDLE (asked again: capabilities can change at login)."""
    with imap_errors(conn.endpoint, "CAPABILITY"):
        typ, data = conn.capability()
    if typ != "OK":
        return "IDLE" in capability_names(conn.capabilities)
    return "IDLE" in capability_names(d for d in data if isinstance(d, bytes))


def pending_exists(conn: MailrelayIMAP) -> bool:
    """Whether an ``EXISTS`` came in the answers to earlier commands (taken out when so)."""
    found = conn.untagged_responses.pop("EXISTS", None) is not None
    conn.untagged_responses.pop("RECENT", None)
    return found


def _buffered(conn: MailrelayIMAP) -> bool:
    """Whether imaplib's reader holds bytes already (or the socket has some), without blocking."""
    sock = conn.sock
    timeout = sock.gettimeout()
    sock.setblocking(False)
    try:
        return bool(conn.file.peek(1))  # type: ignore[union-attr]  # a BufferedReader
    except (BlockingIOError, ssl.SSLWantReadError, ssl.SSLWantWriteError):
        return False
    finally:
        sock.settimeout(timeout)


def _readable(
    conn: MailrelayIMAP, wakeup_fd: int | None, seconds: float
) -> Literal["line", "timeout", "woken"]:
    if _buffered(conn):
        return "line"
    watched: list[Any] = [conn.sock]
    if wakeup_fd is not None:
        watched.append(wakeup_fd)
    ready, _, _ = select.select(watched, [], [], max(seconds, 0.0))
    if wakeup_fd is not None and wakeup_fd in ready:
        return "woken"
    return "line" if ready else "timeout"


def _line(conn: MailrelayIMAP) -> bytes:
    line = conn.readline()
    if not line:
        raise imaplib.IMAP4.abort("socket error: EOF")
    if conn.transcript:
        conn.transcript.imap_server(line)
    if _BYE.match(line):
        raise imaplib.IMAP4.abort(f"server said {_text(line)}")
    return line


def idle(conn: MailrelayIMAP, timeout: float, wakeup_fd: int | None = None) -> WaitResult:
    """IDLE for at most ``timeout`` seconds (capped at 29 minutes).

    "mail" when the server reported ``EXISTS`` (something may have arrived), "woken" when
    ``wakeup_fd`` became readable first (it is not read here), else "timeout". The IDLE is
    always ended (``DONE``) before returning, so the connection is ready for commands.
    """
    timeout = min(timeout, IDLE_MAX_SECONDS)
    tag = f"MRIDLE{next(_tags)}".encode()
    with imap_errors(conn.endpoint, "IDLE", conn.transcript):
        conn.send(tag + b" IDLE\r\n")
        result: WaitResult | None = None
        while True:  # up to the continuation; an update may come first
            line = _line(conn)
            if line.startswith(b"+"):
                break
            if line.startswith(tag + b" "):
                raise ServerRefusedError(
                    f"{conn.endpoint.address} refused IDLE: {_text(line)}",
                    hint="see the dialogue with mailrelay test --transcript",
                )
            if _EXISTS.match(line):
                result = "mail"
        deadline = time.monotonic() + timeout
        while result is None:
            ready = _readable(conn, wakeup_fd, deadline - time.monotonic())
            if ready != "line":
                result = ready
                break
            if _EXISTS.match(_line(conn)):
                result = "mail"
        if result == "woken":  # stopping or reloading: a silent server must not hold it up
            conn.sock.settimeout(min(conn.sock.gettimeout() or CLOSING_TIMEOUT, CLOSING_TIMEOUT))
        conn.send(b"DONE\r\n")
        while True:
            line = _line(conn)
            if line.startswith(tag + b" "):
                break
        if not line[len(tag) + 1 :].upper().startswith(b"OK"):
            raise ServerRefusedError(
                f"{conn.endpoint.address} ended IDLE with: {_text(line)}",
                hint="see the dialogue with mailrelay test --transcript",
            )
    return result


def noop(conn: MailrelayIMAP) -> bool:
    """NOOP (the poll of a server without IDLE); True when it reported ``EXISTS``."""
    with imap_errors(conn.endpoint, "NOOP", conn.transcript):
        typ, data = conn.noop()
    if typ != "OK":
        raise ServerRefusedError(
            f"{conn.endpoint.address} refused NOOP: {_text(data)}",
            hint="see the dialogue with mailrelay test --transcript",
        )
    return pending_exists(conn)


def quiet_wait(conn: MailrelayIMAP, seconds: float, wakeup_fd: int | None = None) -> WaitResult:
    """Wait without a command in progress (between NOOP polls): "mail" if the server sends
    ``EXISTS`` by itself; a ``* BYE`` or a closed connection is raised at once."""
    deadline = time.monotonic() + seconds
    with imap_errors(conn.endpoint, "waiting between NOOPs", conn.transcript):
        while True:
            ready = _readable(conn, wakeup_fd, deadline - time.monotonic())
            if ready != "line":
                return ready
            if _EXISTS.match(_line(conn)):
                return "mail"
