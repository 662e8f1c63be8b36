"""Telling automatic messages (bounces, auto-replies) from a person's, and failed authentication.

Automatic messages never decide and are never answered.
  * ``bounce``: a delivery report -- ``multipart/report`` (any report type but
    ``disposition-notification``), a ``message/delivery-status`` part, a From
    of ``mailer-daemon``/``postmaster``, an ``X-Failed-Recipients`` header, or an
    empty ``Return-Path: <>`` together with a delivery-failure subject or an
    attached original. A delivery report is ``bounce`` even if it also carries
    auto-reply headers.
  * ``auto-reply``: ``Auto-Submitted`` other than ``no`` (RFC 3834),
    ``X-Autoreply``, ``X-Autorespond``, ``X-Autoresponder``, Exchange's
    ``X-MS-Exchange-Inbox-Rules-Loop`` (sent by an inbox rule), Exchange's
    ``X-Auto-Response-Suppress`` of ``All``/``OOF``/``AutoReply`` (Exchange puts it
    on its own out-of-office and rule mail), ``Precedence: bulk|junk|list|
    auto_reply``, a read receipt (``multipart/report;
    report-type=disposition-notification``), an empty ``Return-Path: <>``
    (RFC 3834: automatic responses use the null sender; people never do), a
    mailing-list copy (``List-Id``, ``List-Unsubscribe`` or ``List-Post``: the
    approver's own message reaches the reply address directly, so the list's
    copy is a duplicate at best and a forgery channel at worst), and subjects
    starting (after ``Re:``/``AW:``/``RE:``... prefixes) with ``Out of Office``,
    ``Automatic reply``, ``Auto-reply``/``Autoreply``, ``Automatische Antwort``,
    ``Abwesenheitsnotiz``, ``Abwesend``, ``Réponse automatique``, ``Absence``,
    ``Absent``, ``Respuesta automática``, ``Fuera de la oficina``, ``Ausente``.

``authentication_failed`` trusts only ``Authentication-Results`` headers whose
authserv-id is the configured one: ``dmarc=fail``, or ``dkim=fail`` with no
``dkim=pass`` in the same header, is a failure.
"""

from __future__ import annotations

import re
from email.message import Message
from typing import Literal

from mailrelay_cli.replies.body import iter_parts
from mailrelay_cli.replies.headers import header_text, raw_headers, sender_address

AutomaticKind = Literal["bounce", "auto-reply"]

_MAILER_DAEMONS = {"mailer-daemon", "postmaster", "mail-daemon", "mailerdaemon"}
_BOUNCE_SUBJECT = re.compile(
    r"undeliver|delivery status notification|delivery (?:has )?fail|mail delivery|"
    r"returned mail|returned to sender|failure notice|unzustellbar|nicht zugestellt|"
    r"non remis|échec de (?:la )?remise|no se puede entregar|no entregado|"
    r"error en la entrega",
    re.IGNORECASE,
)
_OOF_SUBJECT = re.compile(
    r"^[\[(]?\s*(?:(?:re|aw|antw|sv|rv|réf|ref|tr|wg|fw|fwd)\s*:\s*)*[\[(]?\s*"
    r"(?:out[ -]of[ -](?:the[ -])?office|automatic reply|auto[- ]?reply|auto[- ]?response|"
    r"automatische antwort|abwesenheitsnotiz|abwesenheit|abwesend|"
    r"r[ée]ponse automatique|absence|absent|"
    r"respuesta autom[áa]tica|fuera de (?:la )?oficina|ausente)(?!\w)",
    re.IGNORECASE,
)
_AUTO_HEADERS = (
    "X-Autoreply",
    "X-Autorespond",
    "X-Autoresponder",
    "X-MS-Exchange-Inbox-Rules-Loop",
)


def automatic_kind(msg: Message) -> AutomaticKind | None:
    """``bounce``, ``auto-reply`` or None for a message a person wrote (rules: module docstring)."""
    content_type = msg.get_content_type()
    report_type = str(msg.get_param("report-type", "") or "").lower()
    types = {part.get_content_type() for part in iter_parts(msg)}
    subject = header_text(msg, "Subject")
    null_sender = any(value in ("<>", "< >") for value in raw_headers(msg, "Return-Path"))
    sender = sender_address(msg)

    if content_type == "multipart/report" and report_type != "disposition-notification":
        return "bounce"
    if types & {"message/delivery-status", "message/global-delivery-status"}:
        return "bounce"
    if sender and sender.rpartition("@")[0].lower() in _MAILER_DAEMONS:
        return "bounce"
    if raw_headers(msg, "X-Failed-Recipients"):
        return "bounce"
    carries_original = bool(types & {"message/rfc822", "text/rfc822-headers"})
    if null_sender and (_BOUNCE_SUBJECT.search(subject) or carries_original):
        return "bounce"

    if content_type == "multipart/report":
        return "auto-reply"
    for value in raw_headers(msg, "Auto-Submitted"):
        if value.split(";")[0].strip().lower() != "no":
            return "auto-reply"
    if any(raw_headers(msg, name) for name in _AUTO_HEADERS):
        return "auto-reply"
    for value in raw_headers(msg, "X-Auto-Response-Suppress"):
        if re.search(r"\b(?:all|oof|autoreply)\b", value, re.IGNORECASE):
            return "auto-reply"
    for value in raw_headers(msg, "Precedence"):
        if value.strip().lower() in {"bulk", "junk", "list", "auto_reply"}:
            return "auto-reply"
    if null_sender:
        return "auto-reply"
    if any(raw_headers(msg, name) for name in ("List-Id", "List-Unsubscribe", "List-Post")):
        return "auto-reply"
    if _OOF_SUBJECT.search(subject):
        return "auto-reply"
    return None


def authentication_failed(msg: Message, authserv_id: str) -> bool:
    """True when the trusted server's Authentication-Results report a DMARC or DKIM failure.

    Headers naming another authserv-id are ignored: anyone can write them.
    """
    trusted = authserv_id.strip().lower()
    for value in raw_headers(msg, "Authentication-Results"):
        text = re.sub(r"\([^()]*\)", " ", value).lower()  # comments hold no results
        server = text.split(";", 1)[0].split()
        if not server or server[0] != trusted:
            continue
        results: dict[str, set[str]] = {"dmarc": set(), "dkim": set()}
        for method, result in re.findall(r"(?:^|;)\s*(dmarc|dkim)\s*=\s*([a-z]+)", text):
            results[method].add(result)
        if "fail" in results["dmarc"]:
            return True
        if "fail" in results["dkim"] and "pass" not in results["dkim"]:
            return True
    return False
