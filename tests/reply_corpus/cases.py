"""Every reply of the corpus, with the decision and the exact comment it must give.

A case is one language (``languages``) in one client layout (``shapes``) with what the
approver wrote: a decision line in one of three styles and one of the language's comments
(or none). The request they answer is mailrelay's own approval-requested message, rendered
from the built-in templates, so its fingerprint is the one ``send`` keeps. Quote-only cases
(the approver wrote nothing) must decide nothing, even though the quoted request says
APPROVE and REJECT.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from email.message import EmailMessage

from mailrelay_cli.approvals.fingerprint import Fingerprint, make_fingerprint
from tests.reply_corpus.languages import LANGUAGES, Language
from tests.reply_corpus.shapes import SHAPES, Request

REFERENCE = "MR-K7Q2XD-3f9a1c2b0e"


@dataclass(frozen=True)
class Case:
    name: str
    language: str
    shape: str
    bottom_posted: bool
    body_kind: str  # plain, flowed or html
    raw: bytes
    kind: str | None  # expected decision
    comment: str  # expected comment, exactly
    minimal: bool = False  # answers the minimal request (``request(True)``)


@functools.cache
def request(minimal: bool = False) -> Request:
    """The request as mailrelay renders it: with every optional variable, or (``minimal``)
    only what an approval needs, under a title that is not English."""
    from mailrelay_cli.outbound import events, templating

    if minimal:
        title = "Déploiement 1.4.2 en production"
        variables = {
            "title": title,
            "approval_id": "K7Q2XD",
            "reference": REFERENCE,
            "approval_subject": f"[{REFERENCE}] Approval requested: {title}",
            "reply_address": "approvals@example.com",
            "mailto_approve": "mailto:approvals@example.com?subject=Re&body=APPROVE",
            "mailto_reject": "mailto:approvals@example.com?subject=Re&body=REJECT",
            "approvers": ["approver@example.com"],
            "required": 1,
            "expires_at": "2025-03-06T10:00:00+00:00",
        }
        rendered = templating.render_event(events.get_event("approval-requested"), variables, None)
        assert rendered.html is not None
        return Request(rendered.subject, rendered.text, rendered.html)
    variables = {
        "title": "Deploy 1.4.2 to production",
        "approval_id": "K7Q2XD",
        "reference": REFERENCE,
        "approval_subject": f"[{REFERENCE}] Approval requested: Deploy 1.4.2 to production",
        "reply_address": "approvals@example.com",
        "mailto_approve": "mailto:approvals@example.com?subject=Re%3A%20x&body=APPROVE",
        "mailto_reject": "mailto:approvals@example.com?subject=Re%3A%20x&body=REJECT",
        "approvers": ["approver@example.com", "alice@example.com"],
        "required": 1,
        "expires_at": "2025-03-06T10:00:00+00:00",
        "project": "shop",
        "environment": "production",
        "requested_by": "carol@example.com",
        "url": "https://release.example.com/releases/142",
        "details": "Release 1.4.2 adds the new checkout flow.",
    }
    rendered = templating.render_event(events.get_event("approval-requested"), variables, None)
    assert rendered.html is not None
    return Request(rendered.subject, rendered.text, rendered.html)


@functools.cache
def fingerprint(minimal: bool = False) -> Fingerprint:
    req = request(minimal)
    return make_fingerprint(req.subject, req.text, req.html)


def _new_text(lang: Language, index: int) -> tuple[list[str], str, str]:
    """(new lines, decision kind, expected comment) for the ``index``-th case of ``lang``."""
    kind = "approve" if index % 2 == 0 else "reject"
    word = lang.approve if kind == "approve" else lang.reject
    if index % 5 == 4:
        return [word], kind, ""
    comment = lang.comments[index % len(lang.comments)]
    lines = comment.split("\n")
    style = index % 3
    if style == 0:
        return [word, *lines], kind, comment
    if style == 1:
        return [f"{word} – {lines[0]}", *lines[1:]], kind, comment
    return [f"{word.upper()}.", "", *lines], kind, comment


def _message(lang: Language, name: str, body: tuple[str, str], index: int, minimal: bool = False) -> bytes:
    kind, content = body
    msg = EmailMessage()
    msg["From"] = f"{lang.name} <approver@example.com>"
    msg["To"] = "approvals@example.com"
    msg["Subject"] = f"Re: {request(minimal).subject}"
    msg["Message-ID"] = f"<{name}@client.example.com>"
    msg["In-Reply-To"] = "<approval.K7Q2XD.1741000000@relay.example.com>"
    encoding = "quoted-printable" if index % 2 else "base64"
    if kind == "html":
        msg.set_content(f"<html><body>{content}</body></html>", subtype="html", cte=encoding)
    else:
        msg.set_content(content, cte=encoding)
        if kind == "flowed":
            msg.set_param("format", "flowed")
    return bytes(msg)


@functools.cache
def all_cases() -> tuple[Case, ...]:
    cases: list[Case] = []
    for lang_index, lang in enumerate(LANGUAGES):
        for shape_index, (shape_name, (shape, bottom)) in enumerate(SHAPES.items()):
            index = lang_index + shape_index
            minimal = index % 3 == 1
            new, kind, comment = _new_text(lang, index)
            name = f"{lang.code}-{shape_name}"
            body = shape(lang, new, request(minimal))
            cases.append(
                Case(
                    name,
                    lang.code,
                    shape_name,
                    bottom,
                    body[0],
                    _message(lang, name, body, index, minimal),
                    kind,
                    comment,
                    minimal,
                )
            )
    # Quote only: the approver wrote nothing (or only their phone's footer).
    for lang in LANGUAGES[::4]:
        for shape_name, (shape, bottom) in SHAPES.items():
            name = f"{lang.code}-{shape_name}-quote-only"
            body = shape(lang, [], request())
            cases.append(
                Case(name, lang.code, shape_name, bottom, body[0], _message(lang, name, body, 0), None, "")
            )
    cases.extend(_handwritten())
    return tuple(cases)


def _fill(body: str, req: Request) -> str:
    from tests.reply_corpus.shapes import _quote, _rewrapped_quote

    quoted = _quote(req.text)
    values = {
        "{QUOTED2}": "\n".join(f">{line}" for line in quoted),
        "{QUOTED40}": "\n".join(_rewrapped_quote(req.text, 40)),
        "{QUOTED}": "\n".join(quoted),
        "{PIPED}": "\n".join(f"| {line}" for line in req.text.rstrip("\n").split("\n")),
        "{REQUEST}": req.text,
        "{FIRST}": req.text.split("\n")[0],
        "{HTML}": req.html_body,
        "{SUBJECT}": req.subject,
    }
    for placeholder, value in values.items():
        body = body.replace(placeholder, value)
    return body


def _handwritten() -> list[Case]:
    from tests.reply_corpus.handwritten import HANDWRITTEN

    lang = LANGUAGES[0]
    cases = []
    for index, (name, kind, body, decided, comment) in enumerate(HANDWRITTEN):
        filled = _fill(body, request())
        raw = _message(lang, name, (kind, filled), index)
        cases.append(Case(f"handwritten-{name}", "en", "handwritten", False, kind, raw, decided, comment))
    return cases
