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
from mailrelay_cli.transport import imap_responses

_HEADER_END = re.compile(rb"\r?\n\r?\n")


class ReplyMailbox(Protocol):
    name: str  # audit key: "imap:user@host/FOLDER", "maildir:PATH" or "graph:user@host/FOLDER"
    uidvalidity: int
    total: int  # messages in the folder when it was opened

    def fetch_oldest(self, count: int, max_bytes: int) -> list[FetchedMessage]: ...

    def delete(self, uids: Sequence[str]) -> None: ...


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

    def __init__(self, path: Path) -> None:
        import mailbox

        require_maildir(path)
        self.path = path
        self.name = f"maildir:{path}"
        self._maildir = mailbox.Maildir(str(path), factory=None, create=False)
        self._keys = sorted(self._maildir.keys(), key=_delivery_order)
        self.total = len(self._keys)

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
        from mailrelay_cli.transport import imap

        self.conn = conn
        self.address = f"{conn.endpoint.host}:{conn.endpoint.port}"
        folder = settings.approval.folder
        # No port: the same mailbox reached over 993 or 143 is the same mailbox.
        self.name = f"imap:{settings.imap.user or ''}@{conn.endpoint.host}/{folder}"
        self.total = imap.select_folder(conn, folder, readonly=readonly)
        self.uidvalidity = imap_responses.uidvalidity(conn.untagged_responses)

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
            raise ServerRefusedError(f"{self.address}: {what} refused: {text}",
                                     hint="mailrelay test --imap-only --transcript")
        return list(data)

    def fetch_oldest(self, count: int, max_bytes: int) -> list[FetchedMessage]:
        if self.total == 0 or count <= 0:
            return []
        last = min(count, self.total)
        data = self._ok("FETCH", self._call(
            "FETCH", self.conn.fetch, f"1:{last}", "(UID RFC822.SIZE BODY.PEEK[HEADER])"))
        heads: dict[str, tuple[int, bytes]] = {}
        for item in imap_responses.fetch_items(data):
            if item.uid is None:
                continue
            heads[item.uid] = (item.size or 0, item.literal or b"")
        order = sorted(heads, key=int)
        wanted = [uid for uid in order if heads[uid][0] <= max_bytes]
        bodies: dict[str, bytes] = {}
        if wanted:
            data = self._ok("UID FETCH", self._call(
                "UID FETCH", self.conn.uid, "FETCH", imap_responses.uid_set(wanted), "(BODY.PEEK[])"))
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
        self._ok("UID STORE", self._call(
            "UID STORE", self.conn.uid, "STORE", uid_set, "+FLAGS.SILENT", r"(\Deleted)"))
        if self._has_uidplus():
            self._ok("UID EXPUNGE", self._call(
                "UID EXPUNGE", self.conn.uid, "EXPUNGE", uid_set))
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
def open_reply_mailbox(settings: Settings, *, readonly: bool = False,
                       transcript: Any = None) -> Iterator[ReplyMailbox]:
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
