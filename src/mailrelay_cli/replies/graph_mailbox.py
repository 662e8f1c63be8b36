"""The reply mailbox through Microsoft Graph (``approval.mailbox = "graph"``).

The mailbox of ``imap.user`` (IMAP's OAuth settings: one login can serve both),
folder ``approval.folder``: a well-known name (``inbox``, ``archive``…, any case),
a display name of a top-level folder (``Approvals``), or a path of display names
(``Inbox/Approvals``). It implements ``ReplyMailbox`` with a constant number of
requests whatever the count (30 messages: about 6):

1. the folder: one GET (a well-known name) or one per path segment (``$filter``
   on ``displayName``), giving its id and ``totalItemCount``;
2. the oldest N: one ``GET …/mailFolders/{id}/messages?$top=N&$orderby=receivedDateTime asc``
   with each message's size (the MAPI property PR_MESSAGE_SIZE, 0x0E08);
3. each message under ``approval.max_message_kb`` as MIME (``GET …/messages/{id}/$value``)
   through ``$batch``, 20 per request; larger ones are judged on the headers the list
   gave (and recorded ``unreadable``, as over IMAP);
4. after the commit, ``DELETE …/messages/{id}`` through ``$batch``.

Every request asks for immutable ids (``Prefer: IdType="ImmutableId"``): the
audit rows are keyed on them, so a run that died between its commit and the
delete recognises the messages next run and only deletes them. A message that
someone else deleted between the list and the fetch (404) is not read this run;
one already gone when deleting counts as deleted.

DELETE moves a message to Deleted Items (where the tenant's retention policy
removes it, and a person can still find it); mailrelay does not purge it with
``permanentDelete``: the same permission covers both, and a reply kept
recoverable for the retention period is what an Outlook user expects of "delete".

``wait_for_mail`` (for ``process-replies --watch``) polls the folder with a delta
query (``…/messages/delta``) every ``poll_interval`` seconds.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit

from mailrelay_cli.auth.logins import resolve_graph
from mailrelay_cli.config.records import Settings
from mailrelay_cli.errors import ConfigError
from mailrelay_cli.replies.fetched import FetchedMessage
from mailrelay_cli.replies.mailbox_names import mailbox_name
from mailrelay_cli.transport.graph import IMMUTABLE_IDS, GraphClient, batch_response, open_graph, raise_for

WELL_KNOWN = frozenset(
    {
        "archive",
        "clutter",
        "conflicts",
        "conversationhistory",
        "deleteditems",
        "drafts",
        "inbox",
        "junkemail",
        "localfailures",
        "msgfolderroot",
        "outbox",
        "recoverableitemsdeletions",
        "scheduled",
        "searchfolders",
        "sentitems",
        "serverfailures",
        "syncissues",
    }
)
SIZE_PROPERTY = "Integer 0x0E08"  # PR_MESSAGE_SIZE
PERMISSION = "Mail.ReadWrite"
POLL_INTERVAL = 10.0
MAX_TOP = 1000  # the most messages Graph lists in one page
_LIST_FIELDS = "id,internetMessageId,subject,from,receivedDateTime"


def _odata_string(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _size_of(item: dict[str, Any]) -> int | None:
    for prop in item.get("singleValueExtendedProperties") or ():
        if str(prop.get("id", "")).lower().replace("0x0e08", "0xe08").endswith("0xe08"):
            try:
                return int(prop.get("value"))
            except (TypeError, ValueError):
                return None
    return None


def _header_from_list(item: dict[str, Any]) -> bytes:
    """What the list said of a message too large to fetch, as a header block."""
    lines = []
    if item.get("internetMessageId"):
        lines.append(f"Message-ID: {item['internetMessageId']}")
    if item.get("subject"):
        lines.append(f"Subject: {' '.join(str(item['subject']).split())}")
    sender = ((item.get("from") or {}).get("emailAddress") or {}).get("address")
    if sender:
        lines.append(f"From: {sender}")
    return "\r\n".join(lines).encode("utf-8", "replace")


class GraphMailbox:
    """The reply folder in a Microsoft 365 mailbox, through Graph."""

    uidvalidity = 0  # Graph's immutable ids never repeat: no validity epoch is needed

    def __init__(
        self,
        client: GraphClient,
        settings: Settings,
        *,
        readonly: bool = False,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.client = client
        self.user = str(settings.imap.user)
        self.folder = settings.approval.folder
        self.readonly = readonly
        self.name = mailbox_name(settings)
        self.poll_interval = POLL_INTERVAL
        self.sleep = sleep
        self.clock = clock
        self._delta_link: str | None = None
        self.wakeup_fd: int | None = None  # --watch: readable when the watcher must stop or reload
        self.folder_id, self.total = self._resolve_folder()

    # -- what --watch needs (replies.mailbox.WatchableMailbox) ------------------------------

    @property
    def how(self) -> str:
        return f"Graph delta poll every {self.poll_interval:g}s"

    def refresh(self) -> None:
        self.folder_id, self.total = self._resolve_folder()

    def close(self) -> None:
        """Nothing is held between polls (the HTTPS connection belongs to its opener)."""

    def _pause(self, seconds: float) -> bool:
        """Sleep ``seconds``; False when the watcher's wake-up descriptor cut it short."""
        if self.wakeup_fd is None:
            self.sleep(seconds)
            return True
        import select

        readable, _, _ = select.select([self.wakeup_fd], [], [], seconds)
        return not readable

    # -- requests ------------------------------------------------------------------------

    def _get(self, target: str, what: str) -> Any:
        return self.client.get_json(
            target, what, permission=PERMISSION, user=self.user, headers={"Prefer": IMMUTABLE_IDS}
        )

    def _user_path(self, *segments: str, query: dict[str, Any] | None = None) -> str:
        return self.client.path("users", self.user, *segments, query=query)

    def _resolve_folder(self) -> tuple[str, int]:
        parts = [p for p in self.folder.split("/") if p.strip()]
        if not parts:
            raise ConfigError("approval.folder is empty", hint="mailrelay config set approval.folder inbox")
        select = {"$select": "id,displayName,totalItemCount"}
        found: dict[str, Any] | None = None
        first = parts[0]
        if first.lower() in WELL_KNOWN:
            response = self.client.request("GET", self._user_path("mailFolders", first.lower(), query=select))
            if response.status != 404:
                raise_for(
                    response,
                    f"folder {first} of {self.user}",
                    permission=PERMISSION,
                    role="imap",
                    user=self.user,
                )
                found = response.json()
        if found is None:
            found = self._child(None, first)
        for name in parts[1:]:
            found = self._child(str(found["id"]), name)
        return str(found["id"]), int(found.get("totalItemCount") or 0)

    def _child(self, parent: str | None, name: str) -> dict[str, Any]:
        query = {
            "$filter": f"displayName eq {_odata_string(name)}",
            "$select": "id,displayName,totalItemCount",
        }
        if parent is None:
            target = self._user_path("mailFolders", query=query)
        else:
            target = self._user_path("mailFolders", parent, "childFolders", query=query)
        values = self._get(target, f"the folders of {self.user}").get("value") or []
        if not values:
            raise ConfigError(
                f"approval.folder: {self.folder!r} not found in the mailbox {self.user} "
                f"(no folder {name!r}{' at the top level' if parent is None else ''})",
                hint="mailrelay config set approval.folder NAME (a display name, a path such as "
                "Inbox/Approvals, or inbox)",
            )
        return dict(values[0])

    # -- ReplyMailbox --------------------------------------------------------------------

    def fetch_oldest(self, count: int, max_bytes: int) -> list[FetchedMessage]:
        if count <= 0:
            return []
        query = {
            "$top": str(min(count, MAX_TOP)),
            "$orderby": "receivedDateTime asc",
            "$select": _LIST_FIELDS,
            "$expand": f"singleValueExtendedProperties($filter=id eq '{SIZE_PROPERTY}')",
        }
        listed = (
            self._get(
                self._user_path("mailFolders", self.folder_id, "messages", query=query),
                f"the messages of {self.folder} in {self.user}",
            ).get("value")
            or []
        )
        items = [dict(item) for item in listed[:count] if item.get("id")]
        wanted = [item for item in items if (_size_of(item) or 0) <= max_bytes]
        requests = [
            {
                "id": str(n),
                "method": "GET",
                "url": self.client.batch_url("users", self.user, "messages", item["id"], "$value"),
                "headers": {"Prefer": IMMUTABLE_IDS},
            }
            for n, item in enumerate(wanted)
        ]
        answers = self.client.batch(requests) if requests else {}
        bodies: dict[str, bytes] = {}
        for n, item in enumerate(wanted):
            answer = answers.get(str(n))
            if answer is None:
                continue
            status = int(answer.get("status", 0))
            if status == 404:
                continue  # deleted by someone else since the list: not read this run
            raise_for(
                batch_response(answer),
                f"message {item['id']} of {self.user}",
                permission=PERMISSION,
                role="imap",
                user=self.user,
            )
            body = answer.get("body")
            if isinstance(body, bytes):
                bodies[str(item["id"])] = body
        fetched = []
        for item in items:
            uid = str(item["id"])
            size = _size_of(item)
            raw = bodies.get(uid)
            if raw is not None:
                size = len(raw)
                if size > max_bytes:
                    fetched.append(FetchedMessage(uid, size, _header_from_list(item), None))
                else:
                    fetched.append(FetchedMessage(uid, size, _header_of(raw), raw))
            elif size is not None and size > max_bytes:
                fetched.append(FetchedMessage(uid, size, _header_from_list(item), None))
        return fetched

    def delete(self, uids: Sequence[str]) -> None:
        if not uids or self.readonly:
            return
        requests = [
            {
                "id": str(n),
                "method": "DELETE",
                "url": self.client.batch_url("users", self.user, "messages", uid),
                "headers": {"Prefer": IMMUTABLE_IDS},
            }
            for n, uid in enumerate(uids)
        ]
        answers = self.client.batch(requests)
        for n, uid in enumerate(uids):
            answer = answers.get(str(n))
            if answer is None or int(answer.get("status", 0)) in (200, 204, 404):
                continue  # 404: already gone, which is what was asked
            raise_for(
                batch_response(answer),
                f"deleting message {uid} of {self.user}",
                permission=PERMISSION,
                role="imap",
                user=self.user,
            )

    # -- --watch -------------------------------------------------------------------------

    def _follow(self, link: str) -> str:
        parts = urlsplit(link)
        return parts.path + (f"?{parts.query}" if parts.query else "")

    def _delta_pages(self, target: str) -> tuple[bool, str]:
        """(whether any message was added or changed, the next delta link)."""
        changed = False
        while True:
            page = self.client.get_json(
                target,
                f"changes in {self.folder} of {self.user}",
                permission=PERMISSION,
                user=self.user,
                headers={"Prefer": f"{IMMUTABLE_IDS}, odata.maxpagesize=100"},
            )
            changed = changed or any("@removed" not in item for item in page.get("value") or ())
            if page.get("@odata.nextLink"):
                target = self._follow(str(page["@odata.nextLink"]))
                continue
            return changed, self._follow(str(page.get("@odata.deltaLink") or ""))

    def wait_for_mail(self, timeout: float) -> bool:
        """Poll until something may have arrived (True) or ``timeout`` seconds pass (False).

        The first call reads the folder's delta state; a folder that already holds a
        message then answers True at once (it may not have been processed yet).
        """
        end = self.clock() + max(0.0, timeout)
        if self._delta_link is None:
            start = self._user_path(
                "mailFolders", self.folder_id, "messages", "delta", query={"$select": "id"}
            )
            present, self._delta_link = self._delta_pages(start)
            if present:
                return True
        while True:
            remaining = end - self.clock()
            if remaining <= 0:
                return False
            if not self._pause(min(self.poll_interval, remaining)):
                return False
            changed, link = self._delta_pages(self._delta_link)
            self._delta_link = link or self._delta_link
            if changed:
                return True


def _header_of(raw: bytes) -> bytes:
    end = raw.find(b"\r\n\r\n")
    if end < 0:
        end = raw.find(b"\n\n")
    return raw[:end] if end >= 0 else raw


@contextmanager
def open_graph_mailbox(settings: Settings, *, readonly: bool = False) -> Iterator[GraphMailbox]:
    """The Graph reply mailbox of ``settings``, its connection closed afterwards."""
    with open_graph(resolve_graph(settings, "imap")) as client:
        yield GraphMailbox(client, settings, readonly=readonly)
