"""The reply mailbox: an IMAP folder (the default) or a local Maildir, behind one small interface.

Both give the oldest N messages, each with its size and header, and the whole
message for those under the size limit; then delete a set of them at once.

IMAP does this with a constant number of commands whatever N is: SELECT (or
EXAMINE for a dry run), one ``FETCH 1:N (UID RFC822.SIZE BODY.PEEK[HEADER])``,
one ``UID FETCH uid,uid,… (BODY.PEEK[])`` for the messages under the limit, then
one ``UID STORE … +FLAGS.SILENT (\\Deleted)`` and one ``UID EXPUNGE`` of just
those UIDs. A server without UIDPLUS gets a plain ``EXPUNGE``, which also removes
any message another client had flagged ``\\Deleted`` in the folder (see
``ImapMailbox.delete`` for why that is kept).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol

from mailrelay_cli.config.records import Settings
from mailrelay_cli.errors import ConfigError, ServerRefusedError
from mailrelay_cli.replies.fetched import FetchedMessage
from mailrelay_cli.replies.mailbox_names import mailbox_name, maildir_name
from mailrelay_cli.transport import imap_responses

_HEADER_END = re.compile(rb"\r?\n\r?\n")
# Seconds the last words with an IMAP server (DONE, LOGOUT) may take when the watcher stops.
CLOSING_TIMEOUT = 1.5


class ReplyMailbox(Protocol):
    name: str  # audit key (mailbox_name): "imap:user@host/FOLDER", "maildir:PATH", "graph:user@host/FOLDER"
    uidvalidity: int
    total: int  # messages in the folder when it was opened

    def fetch_oldest(self, count: int, max_bytes: int) -> list[FetchedMessage]: ...

    def delete(self, uids: Sequence[str]) -> None: ...


class WatchableMailbox(ReplyMailbox, Protocol):
    """What ``process-replies --watch`` needs of a mailbox besides one run's work.

    The watcher opens it once (``open_watched_mailbox``), then repeats: ``refresh``, one
    batch (``run.process_batch``, the cron run's code), ``wait_for_mail``. A Graph mailbox
    offers the same two methods by polling its folder.
    """

    @property
    def how(self) -> str:
        """How it waits, for logs and ``mailrelay status``: "IMAP IDLE", "inotify", …"""
        ...

    def refresh(self) -> None:
        """Look again: ``total`` (and ``uidvalidity``) as they are now."""
        ...

    def wait_for_mail(self, timeout: float) -> bool:
        """Block until something new may have arrived (True), or ``timeout`` seconds passed or
        the wake-up descriptor given when it was opened became readable (False)."""
        ...

    def close(self) -> None:
        """Release what waiting holds (a descriptor); the connection is closed by its opener."""
        ...


# -- Maildir -------------------------------------------------------------------------------

_PYTHON_KEY = re.compile(r"^(\d+)\.M(\d+)P\d+Q(\d+)\.")


def _delivery_order(key: str) -> tuple[int, int, int, str]:
    # Maildir names start with the delivery time in seconds (the Maildir convention); names
    # made by Python's mailbox (and the demo) add microseconds and a counter after M and Q.
    match = _PYTHON_KEY.match(key)
    if match:
        return (int(match.group(1)), int(match.group(2)), int(match.group(3)), key)
    head = key.split(".", 1)[0]
    return (int(head) if head.isdigit() else 2**62, 0, 0, key)


def require_maildir(path: Path) -> None:
    """Raise a ConfigError unless ``path`` is a Maildir (has new/ and cur/)."""
    if not (path / "new").is_dir() or not (path / "cur").is_dir():
        raise ConfigError(
            f"approval.mailbox: {path} is not a Maildir (no new/ and cur/ inside)",
            hint=f"create it (mkdir -p {path}/new {path}/cur {path}/tmp) or fix approval.mailbox",
        )


class MaildirMailbox:
    """A local Maildir (``approval.mailbox = "maildir:PATH"``)."""

    uidvalidity = 0

    def __init__(self, path: Path, *, wakeup_fd: int | None = None, inotify: bool = False) -> None:
        import mailbox

        require_maildir(path)
        self.path = path
        self.name = maildir_name(path)
        self._maildir = mailbox.Maildir(str(path), factory=None, create=False)
        self.wakeup_fd = wakeup_fd
        self._watch: Any = None
        if wakeup_fd is not None:  # opened for watching: watch new/ before listing it
            from mailrelay_cli.replies.maildir_watch import DirectoryWatch

            self._watch = DirectoryWatch(path / "new", inotify=inotify)
        self.refresh()

    @property
    def how(self) -> str:
        return str(self._watch.how) if self._watch is not None else "one run"

    def refresh(self) -> None:
        self._keys = sorted(self._maildir.keys(), key=_delivery_order)
        self.total = len(self._keys)

    def wait_for_mail(self, timeout: float) -> bool:
        assert self._watch is not None, "open it with open_watched_mailbox to wait"
        return bool(self._watch.wait(timeout, self.wakeup_fd))

    def close(self) -> None:
        if self._watch is not None:
            self._watch.close()

    def fetch_oldest(self, count: int, max_bytes: int) -> list[FetchedMessage]:
        fetched = []
        for key in self._keys[:count]:
            try:
                handle = self._maildir.get_file(key)
            except KeyError:
                continue  # removed by someone else since we listed it
            with handle:
                handle.seek(0, 2)
                size = handle.tell()
                handle.seek(0)
                if size > max_bytes:
                    header = _read_header(handle)
                    fetched.append(FetchedMessage(key, size, header, None))
                    continue
                raw = handle.read()
            fetched.append(FetchedMessage(key, size, _header_of(raw), raw))
        return fetched

    def delete(self, uids: Sequence[str]) -> None:
        for key in uids:
            self._maildir.discard(key)


def _read_header(handle: Any) -> bytes:
    lines = []
    for line in iter(handle.readline, b""):
        if line in (b"\n", b"\r\n"):
            break
        lines.append(line)
    return b"".join(lines)


def _header_of(raw: bytes) -> bytes:
    match = _HEADER_END.search(raw)
    return raw[: match.start()] if match else raw


# -- IMAP ----------------------------------------------------------------------------------


class ImapMailbox:
    """The reply folder on the IMAP server, over one logged-in connection."""

    def __init__(self, conn: Any, settings: Settings, *, readonly: bool) -> None:
        self.conn = conn
        self.address = f"{conn.endpoint.host}:{conn.endpoint.port}"
        folder = settings.approval.folder
        self.name = mailbox_name(settings)
        self.folder = folder
        self.readonly = readonly
        self.wakeup_fd: int | None = None
        self.noop_seconds = settings.approval.interval_minutes * 60.0
        self._idle: bool | None = None
        self._next_noop = 0.0
        self.refresh()

    def refresh(self) -> None:
        from mailrelay_cli.transport import imap

        self.total = imap.select_folder(self.conn, self.folder, readonly=self.readonly)
        self.uidvalidity = imap_responses.uidvalidity(self.conn.untagged_responses)
        # imaplib keeps SELECT's EXISTS; taken out so that one seen later means a change.
        self.conn.untagged_responses.pop("EXISTS", None)

    @property
    def how(self) -> str:
        if self._idle is None:
            from mailrelay_cli.transport import imap_idle

            self._idle = imap_idle.supports_idle(self.conn)
        return "IMAP IDLE" if self._idle else f"IMAP NOOP every {self.noop_seconds:g}s"

    def wait_for_mail(self, timeout: float) -> bool:
        """IDLE until EXISTS; without IDLE, NOOP every ``noop_seconds`` (approval.interval_minutes)."""
        import time

        from mailrelay_cli.transport import imap_idle

        if imap_idle.pending_exists(self.conn):  # reported during the last batch's commands
            return True
        if self.how == "IMAP IDLE":
            return imap_idle.idle(self.conn, timeout, self.wakeup_fd) == "mail"
        now = time.monotonic()
        if self._next_noop == 0.0:
            self._next_noop = now + self.noop_seconds
        if now >= self._next_noop:
            self._next_noop = now + self.noop_seconds
            return imap_idle.noop(self.conn)
        wait = min(timeout, self._next_noop - now)
        return imap_idle.quiet_wait(self.conn, wait, self.wakeup_fd) == "mail"

    def close(self) -> None:
        # LOGOUT follows: a server that stopped answering must not hold a stop past 5 s.
        sock = getattr(self.conn, "sock", None)
        if sock is not None:
            try:
                sock.settimeout(min(sock.gettimeout() or CLOSING_TIMEOUT, CLOSING_TIMEOUT))
            except OSError:
                pass

    def _call(self, what: str, method: Any, *args: Any) -> Any:
        from mailrelay_cli.transport import imap

        with imap.imap_errors(self.conn.endpoint, what):
            return method(*args)

    def _has_uidplus(self) -> bool:
        if "UIDPLUS" in self.conn.capabilities:
            return True
        # Servers (Dovecot among them) may list UIDPLUS only once logged in, which imaplib
        # does not record: ask once, only when about to expunge.
        data = self._ok("CAPABILITY", self._call("CAPABILITY", self.conn.capability))
        return "UIDPLUS" in imap_responses.capability_names(d for d in data if isinstance(d, bytes))

    def _ok(self, what: str, result: tuple[str, Any]) -> list[Any]:
        typ, data = result
        if typ != "OK":
            text = imap_responses.response_text(data)
            raise ServerRefusedError(
                f"{self.address}: {what} refused: {text}", hint="mailrelay test --imap-only --transcript"
            )
        return list(data)

    def fetch_oldest(self, count: int, max_bytes: int) -> list[FetchedMessage]:
        if self.total == 0 or count <= 0:
            return []
        last = min(count, self.total)
        data = self._ok(
            "FETCH", self._call("FETCH", self.conn.fetch, f"1:{last}", "(UID RFC822.SIZE BODY.PEEK[HEADER])")
        )
        heads: dict[str, tuple[int, bytes]] = {}
        for item in imap_responses.fetch_items(data):
            if item.uid is None:
                continue
            heads[item.uid] = (item.size or 0, item.literal or b"")
        order = sorted(heads, key=int)
        wanted = [uid for uid in order if heads[uid][0] <= max_bytes]
        bodies: dict[str, bytes] = {}
        if wanted:
            data = self._ok(
                "UID FETCH",
                self._call(
                    "UID FETCH", self.conn.uid, "FETCH", imap_responses.uid_set(wanted), "(BODY.PEEK[])"
                ),
            )
            for item in imap_responses.fetch_items(data):
                if item.uid is not None and item.literal is not None:
                    bodies[item.uid] = item.literal
        return [
            FetchedMessage(uid, heads[uid][0], heads[uid][1], bodies.get(uid))
            for uid in order
            # A message that vanished between the two fetches is simply not read this run.
            if uid in bodies or heads[uid][0] > max_bytes
        ]

    def delete(self, uids: Sequence[str]) -> None:
        if not uids:
            return
        uid_set = imap_responses.uid_set(uids)
        self._ok(
            "UID STORE",
            self._call("UID STORE", self.conn.uid, "STORE", uid_set, "+FLAGS.SILENT", r"(\Deleted)"),
        )
        if self._has_uidplus():
            self._ok("UID EXPUNGE", self._call("UID EXPUNGE", self.conn.uid, "EXPUNGE", uid_set))
        else:
            # Without UIDPLUS only a plain EXPUNGE exists, and it also removes messages some
            # other client flagged \Deleted here, even ones this run has not read. Kept on
            # purpose: \Deleted means "remove at the next expunge" whoever does it (any mail
            # client's EXPUNGE or CLOSE does the same), and the folder holds only replies.
            # The guards are worse: clearing others' \Deleted flags around the EXPUNGE is racy
            # and rewrites their state, and skipping the EXPUNGE would leave every processed
            # reply to be fetched again on each run.
            self._ok("EXPUNGE", self._call("EXPUNGE", self.conn.expunge))


@contextmanager
def open_reply_mailbox(
    settings: Settings, *, readonly: bool = False, transcript: Any = None
) -> Iterator[ReplyMailbox]:
    """The configured reply mailbox, open for one run (logged out afterwards)."""
    maildir = settings.approval.maildir
    if maildir is not None:
        yield MaildirMailbox(maildir)
        return
    if settings.approval.graph:
        from mailrelay_cli.replies.graph_mailbox import open_graph_mailbox

        with open_graph_mailbox(settings, readonly=readonly) as graph_box:
            yield graph_box
        return
    from mailrelay_cli.auth.logins import resolve_session
    from mailrelay_cli.transport.imap import open_imap

    with open_imap(*resolve_session(settings, "imap"), transcript=transcript) as conn:
        yield ImapMailbox(conn, settings, readonly=readonly)


@contextmanager
def open_watched_mailbox(
    settings: Settings, *, wakeup_fd: int, noop_seconds: float | None = None, inotify: bool = True
) -> Iterator[WatchableMailbox]:
    """The configured reply mailbox, open for ``process-replies --watch`` until the block ends.

    ``wakeup_fd`` (readable when the watcher is asked to stop or reload) ends a wait early.
    ``noop_seconds`` (default: approval.interval_minutes) is the poll of an IMAP server without
    IDLE; ``inotify=False`` makes a Maildir poll its new/ directory instead.
    """
    maildir = settings.approval.maildir
    if maildir is not None:
        opened = MaildirMailbox(maildir, wakeup_fd=wakeup_fd, inotify=inotify)
        try:
            yield opened
        finally:
            opened.close()
        return
    if settings.approval.graph:
        from mailrelay_cli.replies.graph_mailbox import open_graph_mailbox

        with open_graph_mailbox(settings) as graph_box:
            graph_box.wakeup_fd = wakeup_fd
            yield graph_box
        return
    from mailrelay_cli.auth.logins import resolve_session
    from mailrelay_cli.transport.imap import open_imap

    with open_imap(*resolve_session(settings, "imap")) as conn:
        mailbox = ImapMailbox(conn, settings, readonly=False)
        mailbox.wakeup_fd = wakeup_fd
        if noop_seconds is not None:
            mailbox.noop_seconds = noop_seconds
        try:
            yield mailbox
        finally:
            mailbox.close()
