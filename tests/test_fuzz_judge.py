"""Property test: random and adversarial MIME through the judge of one reply.

Whatever the bytes, recording a message never raises, and it decides (approved or
rejected) only when it carries the valid signed reference and comes from the
approver. The default run is small and derandomized (a few seconds in `make test`);
`make fuzz` runs many more random examples (MAILRELAY_FUZZ_EXAMPLES).
"""

from __future__ import annotations

import base64
import os
import tomllib
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mailrelay_cli import store
from mailrelay_cli.approvals import service as approvals
from mailrelay_cli.config.load import settings_from_table
from mailrelay_cli.replies import run as replies
from mailrelay_cli.replies.mailbox import FetchedMessage

EXAMPLES = int(os.environ.get("MAILRELAY_FUZZ_EXAMPLES", "0") or 0)
FUZZING = EXAMPLES > 0

APPROVER = "alice@example.com"
APPROVER_FORMS = [APPROVER, f"Alice <{APPROVER}>", "ALICE@EXAMPLE.COM", f'"A, B" <{APPROVER}>']
OTHER_FORMS = [
    "mallory@example.com",
    "alice@\u212axample.com",
    "\u0430lice@example.com",
    "alice@example.com.evil.example",
    "Alice <alice@evil.example>",
    f"{APPROVER}, bob@example.com",
    "",
    "(" * 300 + APPROVER,
    "=?utf-8?q?alice?=",
    f"<{APPROVER}> (" + "(" * 60,
    "alice",
]
WORDS = [
    "Approve",
    "APPROVE",
    "Reject",
    "yes",
    "no",
    "Genehmigt",
    "maybe",
    "",
    "> Approve",
    "On Mon, Alice wrote:",
    "-- ",
    "________________________________",
    "\u202eApprove",
]
TAGS = ["div", "p", "br", "blockquote", "a", "span", "pre", "script", "style", "table", "hr"]
ODD = [
    "<",
    ">",
    "</",
    "<!--",
    "-->",
    "&",
    "&#",
    "&#x110000;",
    '"',
    "'",
    "\x00",
    "\x1b[2J",
    "=?utf-8?b?",
    "\r",
    "\n",
    "\u2028",
    "\udcff"[:0] + "\ufffd",
]


@st.composite
def html_text(draw: st.DrawFn) -> str:
    pieces = draw(
        st.lists(
            st.one_of(
                st.sampled_from(WORDS),
                st.sampled_from(TAGS).map(lambda t: f"<{t}>"),
                st.sampled_from(TAGS).map(lambda t: f"</{t}>"),
                st.builds(
                    lambda t, a: f'<{t} class="{a}">',
                    st.sampled_from(TAGS),
                    st.sampled_from(["gmail_quote", "moz-signature", "x"]),
                ),
                st.sampled_from(ODD),
                st.text(max_size=20),
            ),
            max_size=40,
        )
    )
    return "".join(pieces)


def _encode(text: str, encoding: str, charset: str) -> tuple[bytes, str]:
    data = text.encode("utf-8", "replace")
    if encoding == "base64":
        return base64.encodebytes(data), "base64"
    if encoding == "garbage":
        return data, "x-unknown"
    if charset != "utf-8":
        return text.encode("latin-1", "replace"), "8bit"
    return data, "8bit"


def leaf(reference: str | None) -> st.SearchStrategy[bytes]:
    @st.composite
    def make(draw: st.DrawFn) -> bytes:
        kind = draw(st.sampled_from(["text/plain", "text/html", "application/octet-stream"]))
        words = draw(st.lists(st.sampled_from(WORDS), max_size=4))
        text = "\n".join(words)
        if kind == "text/html":
            text = draw(html_text()) + text
        if reference and draw(st.booleans()):
            text += f"\n> Reference: {reference}\n"
        charset = draw(st.sampled_from(["utf-8", "iso-8859-1", "x-klingon", ""]))
        body, cte = _encode(text, draw(st.sampled_from(["8bit", "base64", "garbage"])), charset)
        params = f"; charset={charset}" if charset else ""
        if kind == "text/plain" and draw(st.booleans()):
            params += "; format=flowed; delsp=yes"
        return f"Content-Type: {kind}{params}\r\nContent-Transfer-Encoding: {cte}\r\n\r\n".encode() + body

    return make()


def part(reference: str | None) -> st.SearchStrategy[bytes]:
    def containers(children: st.SearchStrategy[bytes]) -> st.SearchStrategy[bytes]:
        @st.composite
        def make(draw: st.DrawFn) -> bytes:
            kind = draw(
                st.sampled_from(
                    ["multipart/mixed", "multipart/alternative", "message/rfc822", "multipart/report"]
                )
            )
            if kind == "message/rfc822":
                return b"Content-Type: message/rfc822\r\n\r\nFrom: x@example.com\r\n" + draw(children)
            boundary = draw(st.sampled_from(["b1", "b2", "=_x", ""]))
            inner = draw(st.lists(children, min_size=0, max_size=3))
            body = b"".join(b"--" + boundary.encode() + b"\r\n" + child + b"\r\n" for child in inner)
            if draw(st.booleans()):
                body += b"--" + boundary.encode() + b"--\r\n"
            return f'Content-Type: {kind}; boundary="{boundary}"\r\n\r\n'.encode() + body

        return make()

    return st.recursive(leaf(reference), containers, max_leaves=6)


@st.composite
def message(draw: st.DrawFn, reference: str, forged: str) -> tuple[bytes, bool, bool]:
    """(raw bytes, carries the valid reference, From is the approver)."""
    if draw(st.integers(0, 9)) == 0:
        return draw(st.binary(max_size=2000)), False, False
    if draw(st.integers(0, 3)) == 0:  # a genuine reply, perhaps damaged below
        word = draw(st.sampled_from(["Approve", "Reject", "yes", "maybe"]))
        raw = (
            f"From: {APPROVER}\r\nSubject: Re: [{reference}] Deploy\r\n"
            f"Content-Type: text/plain; charset=utf-8\r\n\r\n{word}\r\n"
        ).encode()
        return _damaged(draw, raw, reference, f"From: {APPROVER}")
    from_approver = draw(st.booleans())
    sender = draw(st.sampled_from(APPROVER_FORMS if from_approver else OTHER_FORMS))
    use = draw(st.sampled_from([reference, forged, None]))
    subject = draw(st.sampled_from(["Re: ", "", "=?utf-8?q?Re:_?= ", "AW: "]))
    subject += f"[{use}] " if use and draw(st.booleans()) else ""
    subject += draw(st.text(max_size=30)).replace("\r", " ").replace("\n", " ")
    headers = [f"From: {sender}", f"Subject: {subject}", "Message-ID: <fuzz@example.com>"]
    extra = draw(
        st.lists(
            st.sampled_from(
                [
                    "Auto-Submitted: auto-replied",
                    "Precedence: list",
                    "List-Id: <x.example.com>",
                    "Return-Path: <>",
                    "References: " + "<a@b> " * 50,
                    "In-Reply-To: <" + "(" * 100 + ">",
                    "X-Failed-Recipients: a@b",
                    "Content-Type: multipart/mixed",
                    f"From: {APPROVER}",
                ]
            ),
            max_size=3,
        )
    )
    body = draw(part(use or None))
    raw = ("\r\n".join(headers + extra) + "\r\n").encode("utf-8", "surrogateescape") + body
    raw, has_reference, intact = _damaged(
        draw, raw, reference if use == reference else None, f"From: {sender}"
    )
    return raw, has_reference, from_approver and intact


def _damaged(draw: st.DrawFn, raw: bytes, reference: str | None, from_line: str) -> tuple[bytes, bool, bool]:
    if draw(st.booleans()):  # flip some bytes anywhere
        data = bytearray(raw)
        for position, value in draw(
            st.lists(st.tuples(st.integers(0, len(data) - 1), st.integers(0, 255)), max_size=5)
        ):
            data[position] = value
        raw = bytes(data)
    has_reference = reference is not None and _carries(raw, reference)
    return raw, has_reference, from_line.lower().encode() in raw.lower()


def _carries(raw: bytes, reference: str) -> bool:
    """Whether ``reference`` is in ``raw`` as it is or base64-encoded (any ASCII case)."""
    wanted = reference.lower().encode()
    texts = [raw]
    for block in raw.split(b"\r\n\r\n"):
        try:
            texts.append(base64.b64decode(block, validate=False))
        except ValueError:
            pass
    return any(wanted in text.lower() for text in texts)


class _Rollback(Exception):
    pass


def test_the_judge_never_raises_and_never_decides_without_reference_and_approver(
    tmp_path: Path, signing_key: bytes
) -> None:
    table = tomllib.loads('[smtp]\nhost = "127.0.0.1"\nfrom = "relay@example.com"\n')
    table["approval"] = {
        "enabled": True,
        "mailbox": f"maildir:{tmp_path / 'md'}",
        "reply_address": "approvals@example.com",
    }
    table["state"] = {"path": str(tmp_path / "state")}
    relay = settings_from_table(table, tmp_path / "settings.toml")
    with store.open_store(relay.state_dir) as db:
        request = approvals.create_approval(relay, db, title="Deploy", approvers=[APPROVER])
        forged = f"MR-{request.approval.id}-{'0' * 10}"
        uids = iter(range(10**9))
        decided: list[str] = []

        @settings(
            max_examples=EXAMPLES or 60,
            derandomize=not FUZZING,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(message(request.reference, forged))
        def judge(case: tuple[bytes, bool, bool]) -> None:
            raw, has_reference, from_approver = case
            fetched = FetchedMessage(str(next(uids)), len(raw), raw[:4096], raw)
            try:
                with db.transaction() as tx:
                    recorded = replies._record_guarded(
                        relay, tx, signing_key, "fuzz", 1, fetched, 1024 * 1024, True
                    )
                    raise _Rollback
            except _Rollback:
                pass
            result = recorded.result
            assert result is not None and result.outcome in replies.OUTCOMES
            # The guard was never needed: parsing and judging themselves never raised.
            assert "while reading it" not in (result.reason or ""), result.reason
            if result.outcome in ("approved", "rejected"):
                assert has_reference and from_approver, raw[:600]
                decided.append(result.outcome)

        judge()
        assert decided, "no example decided anything: the property above would be empty"
        assert approvals.get_approval(db, request.approval.id).status == "pending"


@pytest.mark.parametrize(
    "raw",
    [
        b"From: " + b"(" * 1000 + b"alice@example.com\r\n\r\nApprove",
        b"Content-Type: multipart/mixed; boundary=a\r\n\r\n"
        + b"--a\r\nContent-Type: message/rfc822\r\n\r\n" * 1500,
        b"From: alice@example.com\r\nContent-Type: text/html\r\n\r\n" + b"<a" * 150_000,
        b"From: alice@example.com\r\nReferences: " + b"<x@y> " * 100_000 + b"\r\n\r\nApprove",
        b"\x00" * 5000,
        b"",
    ],
)
def test_known_hostile_messages_are_judged_without_raising(
    tmp_path: Path, signing_key: bytes, raw: bytes
) -> None:
    with store.open_store(tmp_path / "state") as db, db.transaction() as tx:
        table = tomllib.loads('[smtp]\nhost = "127.0.0.1"\nfrom = "relay@example.com"\n')
        table["state"] = {"path": str(tmp_path / "state")}
        relay = settings_from_table(table, tmp_path / "settings.toml")
        fetched = FetchedMessage("1", len(raw), raw[:4096], raw)
        recorded = replies._record_message(relay, tx, signing_key, "hostile", 1, fetched, 1024 * 1024, True)
    assert recorded.result is not None
    assert recorded.result.outcome not in ("approved", "rejected")
