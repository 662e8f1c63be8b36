"""Sending a built message through Microsoft Graph (``smtp.transport = "graph"``).

The message is the very MIME message SMTP would send (templates, attachments,
headers, Message-ID). Graph takes it as base64 text on
``POST /users/{smtp.user}/sendMail`` (``Content-Type: text/plain``), answered
``202 Accepted``. A Graph request may not exceed 4 MB, so a message whose
base64 form is larger takes the documented path for large attachments:

1. the message without its attachments becomes a draft:
   ``POST /users/{user}/messages`` with the MIME (base64, text/plain), 201;
2. each attachment is added to the draft: under 3 MB by
   ``POST …/messages/{id}/attachments`` (a fileAttachment), else through an upload
   session (``POST …/attachments/createUploadSession``, then ``PUT`` of byte ranges
   of at most 3 MiB to its pre-authenticated ``uploadUrl``; the last answers 201);
3. ``POST …/messages/{id}/send`` sends the draft (202).

If a step fails the draft is deleted again (best effort). This path needs
``Mail.ReadWrite`` as well as ``Mail.Send`` (drafts are mailbox items). Graph
hands the message to Exchange: recipients are not refused one by one as in
SMTP (a bad address comes back later as a delivery report), so ``refused`` is
empty and every recipient counts as accepted.

A POST that sends (``sendMail``, the draft's ``send``) is not repeated after a
lost answer. When Graph may have sent the message (the connection dropped or
timed out after the request went out, or a 5xx other than 503) the error is a
``PartlyDeliveredError`` naming every recipient: an approval request stays
pending. A refusal before anything was sent (no connection, a 4xx, a 503) is an
ordinary error.
"""

from __future__ import annotations

import base64
import copy
import json
import time
from collections.abc import Callable
from email.message import EmailMessage
from typing import Any

from mailrelay_cli.auth.logins import resolve_graph
from mailrelay_cli.config.records import Settings
from mailrelay_cli.errors import MailrelayError, PartlyDeliveredError, ServerRefusedError, TemporaryError
from mailrelay_cli.outbound.delivery_result import Delivery
from mailrelay_cli.outbound.message import Built
from mailrelay_cli.transport.graph import GraphClient, NotConnectedError, Response, open_graph, raise_for

REQUEST_LIMIT = 4 * 1024 * 1024  # Graph's limit on one request
SENDMAIL_LIMIT = REQUEST_LIMIT - 64 * 1024  # room for headers
SMALL_ATTACHMENT = 3 * 1024 * 1024  # under this: one POST; from this on: an upload session
UPLOAD_CHUNK = 3 * 1024 * 1024  # bytes per PUT (Graph asks for at most 4 MB)


def deliver_graph(
    settings: Settings, built: Built, *, sleep: Callable[[float], None] = time.sleep
) -> Delivery:
    """Send ``built`` as ``smtp.user`` through Graph; see the module docstring."""
    user = str(settings.smtp.user)
    data = built.as_bytes()
    recipients = tuple(a.bare for a in built.recipients)
    with open_graph(resolve_graph(settings, "smtp"), sleep=sleep) as client:
        if len(base64.b64encode(data)) <= SENDMAIL_LIMIT:
            send_mime(client, user, data, recipients)
        else:
            send_large(client, built, user)
        attempts = 1
    return Delivery(built.message_id, recipients, (), attempts)


def send_mime(client: GraphClient, user: str, data: bytes, recipients: tuple[str, ...]) -> None:
    """POST the MIME message ``data`` to ``sendMail`` as ``user`` (base64, text/plain; 202).

    ``recipients`` are named by the ``PartlyDeliveredError`` of a send Graph may have done."""
    encoded = base64.b64encode(data)
    _sending_post(
        client,
        client.path("users", user, "sendMail"),
        encoded,
        f"sendMail for {user}",
        user,
        recipients,
        content_type="text/plain",
    )


def _sending_post(
    client: GraphClient,
    target: str,
    body: bytes | None,
    what: str,
    user: str,
    recipients: tuple[str, ...],
    content_type: str | None = None,
) -> None:
    """A POST that sends mail; a failure after which the mail may be out names ``recipients``."""
    try:
        response = client.request("POST", target, body=body, content_type=content_type)
    except NotConnectedError:
        raise  # nothing went out
    except TemporaryError as e:
        raise _maybe_sent(e, recipients) from e
    try:
        raise_for(response, what, permission="Mail.Send", role="smtp", user=user)
    except TemporaryError as e:
        if _may_have_sent(response):
            raise _maybe_sent(e, recipients) from e
        raise


def _may_have_sent(response: Response) -> bool:
    """A 5xx other than 503 (service unavailable): Graph may have sent the message anyway."""
    return response.status >= 500 and response.status != 503


def _maybe_sent(error: TemporaryError, recipients: tuple[str, ...]) -> PartlyDeliveredError:
    return PartlyDeliveredError(
        f"{error.message} (the message may have been sent to {', '.join(recipients)})",
        hint="it may have gone out: look in Sent Items of the smtp.user mailbox before sending it again",
        reached=recipients,
    )


def _split(message: EmailMessage) -> tuple[EmailMessage, list[EmailMessage]]:
    """The message without its attachments, and the attachments."""
    attachments = list(message.iter_attachments()) if message.is_multipart() else []
    if not attachments:
        return message, []
    skeleton = copy.deepcopy(message)
    kept = [part for part in skeleton.get_payload() if not part.is_attachment()]  # type: ignore[union-attr]
    skeleton.set_payload(kept)
    return skeleton, [part for part in attachments if isinstance(part, EmailMessage)]


def _json(
    client: GraphClient,
    target: str,
    body: dict[str, Any],
    what: str,
    user: str,
    permission: str = "Mail.ReadWrite",
) -> Any:
    response = client.request("POST", target, body=json.dumps(body).encode(), content_type="application/json")
    raise_for(response, what, permission=permission, role="smtp", user=user)
    return response.json()


def send_large(client: GraphClient, built: Built, user: str) -> None:
    """A message over Graph's request limit: draft, attachments, send (module docstring)."""
    skeleton, attachments = _split(built.message)
    mime = base64.b64encode(skeleton.as_bytes(policy=built.policy))
    response = client.request(
        "POST", client.path("users", user, "messages"), body=mime, content_type="text/plain"
    )
    raise_for(
        response,
        f"a draft in {user} (a message over 4 MB)",
        permission="Mail.ReadWrite",
        role="smtp",
        user=user,
    )
    draft_id = str(response.json().get("id") or "")
    if not draft_id:
        raise ServerRefusedError(
            f"Microsoft Graph made a draft in {user} but gave no id", hint="mailrelay test --smtp-only"
        )
    try:
        for part in attachments:
            _attach(client, user, draft_id, part)
        _sending_post(
            client,
            client.path("users", user, "messages", draft_id, "send"),
            None,
            f"sending the draft in {user}",
            user,
            tuple(a.bare for a in built.recipients),
        )
    except MailrelayError:
        try:
            client.request("DELETE", client.path("users", user, "messages", draft_id))
        except MailrelayError:
            pass  # the draft stays in Drafts; the error that matters is the one raised
        raise


def _attach(client: GraphClient, user: str, draft_id: str, part: EmailMessage) -> None:
    decoded = part.get_payload(decode=True)  # the attachment's bytes exactly, whatever its type
    data = decoded if isinstance(decoded, bytes) else b""
    name = part.get_filename() or "attachment"
    content_type = part.get_content_type()
    attachments = client.path("users", user, "messages", draft_id, "attachments")
    what = f"attachment {name} of a draft in {user}"
    if len(data) < SMALL_ATTACHMENT:
        _json(
            client,
            attachments,
            {
                "@odata.type": "#microsoft.graph.fileAttachment",
                "name": name,
                "contentType": content_type,
                "contentBytes": base64.b64encode(data).decode("ascii"),
            },
            what,
            user,
        )
        return
    session = _json(
        client,
        attachments + "/createUploadSession",
        {
            "AttachmentItem": {
                "attachmentType": "file",
                "name": name,
                "size": len(data),
                "contentType": content_type,
            },
        },
        f"an upload session for {what}",
        user,
    )
    upload_url = str(session.get("uploadUrl") or "")
    if not upload_url.startswith("https://"):
        raise ServerRefusedError(
            f"Microsoft Graph gave no upload URL for {what}", hint="mailrelay test --smtp-only"
        )
    start = 0
    total = len(data)
    while start < total:
        end = min(start + UPLOAD_CHUNK, total)
        response = client.request(
            "PUT",
            "",
            absolute=upload_url,
            body=data[start:end],
            content_type="application/octet-stream",
            headers={"Content-Range": f"bytes {start}-{end - 1}/{total}"},
        )
        raise_for(response, f"uploading {what}", permission="Mail.ReadWrite", role="smtp", user=user)
        if response.status == 201:
            return
        ranges = response.json().get("nextExpectedRanges") or [str(end)]
        start = int(str(ranges[0]).split("-")[0])
    raise ServerRefusedError(
        f"Microsoft Graph did not confirm the upload of {what}", hint="try again; mailrelay test --smtp-only"
    )
