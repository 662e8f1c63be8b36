"""Replies as mail clients write them, for the approval tests (reply_text owns the big corpus)."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

_numbers = itertools.count(1)


def reply(
    subject: str,
    sender: str,
    new_text: str,
    *,
    quoted: str = "",
    to: str = "approvals@example.com",
    in_reply_to: str | None = None,
    headers: dict[str, str] | None = None,
    html: bool = False,
) -> bytes:
    """A top-posted reply: ``new_text``, an attribution line, then ``quoted`` with ``>`` marks."""
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = to
    msg["Subject"] = subject if subject.lower().startswith("re:") else f"Re: {subject}"
    msg["Date"] = format_datetime(datetime(2026, 3, 2, 10, next(_numbers) % 60, tzinfo=UTC))
    msg["Message-ID"] = make_msgid(domain="client.example.com")
    if in_reply_to:
        msg["In-Reply-To"] = in_reply_to
        msg["References"] = in_reply_to
    for name, value in (headers or {}).items():
        msg[name] = value
    body = new_text.rstrip("\n") + "\n"
    if quoted:
        body += "\nOn Mon, 2 Mar 2026 at 09:00, Release Bot <relay@example.com> wrote:\n"
        body += "".join(f"> {line}\n" for line in quoted.splitlines())
    if html:
        markup = "<div>" + new_text.replace("\n", "<br>") + "</div>"
        if quoted:
            markup += '<blockquote type="cite">' + quoted.replace("\n", "<br>") + "</blockquote>"
        msg.set_content(f"<html><body>{markup}</body></html>", subtype="html")
    else:
        msg.set_content(body)
    return bytes(msg)


def request_text(reference: str, title: str = "Deploy 1.4 to production") -> str:
    """The body of an approval request, as a reply quotes it."""
    return (
        f"Approval requested: {title}\n\n"
        "Reply to this message with APPROVE or REJECT on the first line.\n"
        f"Reference: {reference}\n"
    )
