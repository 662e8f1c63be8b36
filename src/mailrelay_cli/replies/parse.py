"""Reading replies: what a person wrote, and whether a machine wrote it.

Pure functions on ``email.message.EmailMessage`` and ``str``: no I/O, no
click, no rich. ``replies.py`` runs them on every message of a
``process-replies`` run, in this order::

    msg = parse_message(raw)               # never raises
    unreadable_reason(msg)                 # -> outcome "unreadable"
    automatic_kind(msg)                    # -> outcome "bounce" / "auto-reply"
    sender_address(msg)                    # the From address, or None
    reference_text(msg)                    # where to look for the signed reference
    new, quoted = split_reply(body_text(msg))
    decision(new)                          # Decision(kind, comment)

Rules (these go into the README):

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

The sender is the From header only (never Reply-To or Sender): exactly one
address, returned bare with the domain lower-cased; the local part keeps its
case, so compare it case-insensitively. No From, several From headers or
several addresses give ``None``.

The body is the first text/plain part that is not an attachment (format=flowed
is unwrapped), else the first text/html part converted to text. Attached
messages (``message/rfc822``) are never the body. Unknown or lying charsets
fall back to UTF-8, then Windows-1252, with replacement characters: a bad
charset never stops a run. In HTML, ``<blockquote>`` (Apple's ``type=cite``
too), Gmail's ``gmail_quote``, Yahoo's ``yahoo_quoted`` and Thunderbird's
``moz-cite-prefix`` become ``>``-quoted lines; Outlook's ``divRplyFwdMsg``, ``appendonsend`` and the
``border-top`` separator above its header block become Outlook's own
``________________________________`` line (all below is quoted); Gmail,
Thunderbird and Outlook signature blocks become a ``-- `` line.

The new text (``split_reply``) is every line that is not
  * ``>``-quoted (anywhere: top-posting, bottom-posting and inline answers
    all work),
  * an attribution line, also when a client wraps it over up to three lines:
    ``On ... wrote:``, ``Am ... schrieb ...:``, ``Le ... a écrit :``,
    ``El ... escribió:`` (and Italian ``Il ... ha scritto:``, Dutch ``Op ...
    schreef:``, Portuguese ``Em ... escreveu:``); when no ``>`` lines follow it,
    all below is quoted,
  * at or below a separator that quotes everything after it, as Outlook does:
    a line of 20+ underscores, ``-----Original Message-----`` (and
    ``Ursprüngliche Nachricht``, ``Message d'origine``, ``Mensaje original``),
    forwarded-message lines in the four languages, or a header block of
    ``From:`` followed within five lines by ``Sent:``/``Date:`` and
    ``To:``/``Subject:`` (``Von:/Gesendet:/An:/Betreff:``,
    ``De :/Envoyé :/À :/Objet :``, ``De:/Enviado:/Para:/Asunto:``),
  * in a signature: from a ``-- `` line, or a phone/app line (``Sent from my
    ...``, ``Sent from Outlook``, ``Get Outlook for iOS/Android``, ``Von meinem
    ... gesendet``, ``Gesendet von ...``, ``Outlook für iOS herunterladen``,
    ``Envoyé de mon ...``, ``Envoyé depuis ...``, ``Télécharger Outlook pour
    ...``, ``Enviado desde mi ...``, ``Obtener Outlook para ...``), up to the
    next quoted line or attribution. Closing phrases ("Thanks,", "Best
    regards") are kept: cutting at them would eat real comments.

The decision (``decision``) is read from the first non-empty line of the new
text only (blanks, zero-width characters, ``*``, ``_`` and quotation marks
around it are ignored). It must start with one of these words, case ignored,
followed by anything but a letter or digit, or by the end of the line (so
"yesterday" and "nothing" decide nothing, "Approve – looks good" and "No." do):
  * approve: approve, approved, yes; genehmigt, genehmige, genehmigen, ja,
    freigeben, freigegeben; approuvé, approuve, approuver, oui, accepté,
    accepte, accepter; aprobado, apruebo, aprobar, sí.
  * reject: reject, rejected, no, decline, declined, denied, deny; abgelehnt,
    ablehnen, lehne, nein; rejeté, rejete, rejeter, non, refusé, refuse,
    refuser; rechazado, rechazo, rechazar, denegado, denegar.
  Spanish "si" without the accent is not an approve word: it also means "if"
  ("Si pasa QA, adelante") and a missed approval costs a second reply while a
  wrong one ships a release. The comment is the rest of the first line after
  the word and its punctuation, then the lines below it, stripped. Without a
  decision there is no comment.

``authentication_failed`` trusts only ``Authentication-Results`` headers whose
authserv-id is the configured one: ``dmarc=fail``, or ``dkim=fail`` with no
``dkim=pass`` in the same header, is a failure.
"""

from __future__ import annotations

import email
import email.errors
import email.header
import email.policy
import email.utils
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import EmailMessage, Message
from html.parser import HTMLParser
from typing import Literal

AutomaticKind = Literal["bounce", "auto-reply"]
DecisionKind = Literal["approve", "reject"]

APPROVE_WORDS: tuple[str, ...] = (
    "approve", "approved", "yes",
    "genehmigt", "genehmige", "genehmigen", "ja", "freigeben", "freigegeben",
    "approuvé", "approuve", "approuver", "oui", "accepté", "accepte", "accepter",
    "aprobado", "apruebo", "aprobar", "sí",
)  # fmt: skip
REJECT_WORDS: tuple[str, ...] = (
    "reject", "rejected", "no", "decline", "declined", "denied", "deny",
    "abgelehnt", "ablehnen", "lehne", "nein",
    "rejeté", "rejete", "rejeter", "non", "refusé", "refuse", "refuser",
    "rechazado", "rechazo", "rechazar", "denegado", "denegar",
)  # fmt: skip

OUTLOOK_SEPARATOR = "_" * 32



class _Policy(email.policy.EmailPolicy):
    """The default policy, except that Content-Type and Content-Transfer-Encoding read as str.

    The stdlib builds a structured header object on every ``get_content_type`` and
    ``get_param`` call (the parser makes several per part): measured, that was most
    of the time a run spends per message. The str forms are what ``Message`` parses
    its parameters from anyway; every other header keeps the default behaviour.
    """

    def header_fetch_parse(self, name: str, value: str) -> object:
        if name.lower() in ("content-type", "content-transfer-encoding"):
            value = re.sub(r"\r?\n[ \t]+", " ", value)
            if _has_surrogates(value):  # 8-bit bytes in the header
                value = value.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
            return value.strip()
        return super().header_fetch_parse(name, value)


_POLICY = _Policy()


@dataclass(frozen=True)
class Decision:
    """What the first line of a reply's new text says, and the comment below it."""

    kind: DecisionKind | None
    comment: str


class UnreadableDefect(email.errors.MessageDefect):
    """The bytes are not a mail message at all (empty, or not one header could be read)."""


# --- parsing ---------------------------------------------------------------------------------


def parse_message(raw: bytes) -> EmailMessage:
    """Parse raw bytes into a message; never raises for bad input.

    A message that cannot be read at all carries an ``UnreadableDefect`` (see
    ``unreadable_reason``). A multipart whose declared boundary never appears,
    but whose body plainly uses another one, is re-split on the boundary it uses.
    """
    try:
        msg = email.message_from_bytes(raw, _class=EmailMessage, policy=_POLICY)
    except (email.errors.MessageError, ValueError, IndexError, TypeError, LookupError) as e:
        # The feed parser is meant never to raise; if a stdlib bug makes it, the run goes on.
        msg = EmailMessage(policy=_POLICY)
        msg.defects.append(UnreadableDefect(f"the parser failed ({type(e).__name__})"))
        return msg
    if not raw.strip():
        msg.defects.append(UnreadableDefect("the message is empty"))
    elif not list(msg.raw_items()):
        msg.defects.append(UnreadableDefect("no mail header could be read"))
    else:
        _repair_boundary(msg)
    return msg


def unreadable_reason(msg: Message) -> str | None:
    """Why ``parse_message`` could not read this message at all, or None when it could."""
    for defect in msg.defects:
        if isinstance(defect, UnreadableDefect):
            return str(defect)
    return None


_BOUNDARY_LINE = re.compile(r"^--([^\s]{1,70})[ \t]*\r?\n[A-Za-z][A-Za-z0-9-]*:", re.MULTILINE)


def _repair_boundary(msg: EmailMessage) -> None:
    if msg.get_content_maintype() != "multipart" or msg.is_multipart():
        return
    body = msg.get_payload(decode=True) or b""
    text = body.decode("ascii", errors="replace")
    found = _BOUNDARY_LINE.search(text)
    if not found:
        return
    boundary = found.group(1)
    head = f'Content-Type: multipart/mixed; boundary="{boundary}"\r\n\r\n'.encode()
    inner = email.message_from_bytes(head + body, _class=EmailMessage, policy=_POLICY)
    if not inner.is_multipart():
        return
    msg.set_payload(inner.get_payload())
    msg.set_param("boundary", boundary)


# --- headers ---------------------------------------------------------------------------------


def _raw_headers(msg: Message, name: str) -> list[str]:
    """Header values as received, unfolded, without the stdlib's structured parsing.

    ``raw_items`` never parses, so a malformed header cannot raise here.
    """
    wanted = name.lower()
    values = []
    for key, value in msg.raw_items():
        if key.lower() == wanted:
            text = re.sub(r"\r?\n[ \t]+", " ", str(value)).strip()
            if _has_surrogates(text):  # 8-bit bytes in a header: undeclared charset
                text = _decode_bytes(text.encode("utf-8", "surrogateescape"), None)
            values.append(text)
    return values


_SURROGATE = re.compile("[\udc80-\udcff]")


def _has_surrogates(text: str) -> bool:
    return _SURROGATE.search(text) is not None


def _header_text(msg: Message, name: str) -> str:
    """The first value of a header with RFC 2047 encoded words decoded (best effort)."""
    values = _raw_headers(msg, name)
    if not values:
        return ""
    try:
        return str(email.header.make_header(email.header.decode_header(values[0])))
    except (email.errors.MessageError, LookupError, ValueError):  # bad charset or encoding
        return values[0]


def sender_address(msg: Message) -> str | None:
    """The single From address, bare, domain lower-cased; None if there is not exactly one."""
    values = _raw_headers(msg, "From")
    if len(values) != 1:
        return None
    addresses = [addr for _, addr in email.utils.getaddresses(values) if addr]
    if len(addresses) != 1:
        return None
    local, at, domain = addresses[0].rpartition("@")
    if not at or not local or not domain or any(ch.isspace() for ch in addresses[0]):
        return None
    return f"{local}@{domain.lower()}"


def threading_ids(msg: Message) -> list[str]:
    """Message-IDs (with their angle brackets) from In-Reply-To, then References; no repeats."""
    ids: list[str] = []
    for name in ("In-Reply-To", "References"):
        for value in _raw_headers(msg, name):
            for found in re.findall(r"<[^<>\s]+>", value):
                if found not in ids:
                    ids.append(found)
    return ids


# --- automatic messages ----------------------------------------------------------------------

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


def _iter_parts(part: Message) -> Iterator[Message]:
    """This part and its multipart children, never descending into attached messages."""
    yield part
    if part.get_content_maintype() == "multipart" and part.is_multipart():
        for child in part.get_payload():
            if isinstance(child, Message):
                yield from _iter_parts(child)


def automatic_kind(msg: Message) -> AutomaticKind | None:
    """``bounce``, ``auto-reply`` or None for a message a person wrote (rules: module docstring)."""
    content_type = msg.get_content_type()
    report_type = str(msg.get_param("report-type", "") or "").lower()
    types = {part.get_content_type() for part in _iter_parts(msg)}
    subject = _header_text(msg, "Subject")
    null_sender = any(value in ("<>", "< >") for value in _raw_headers(msg, "Return-Path"))
    sender = sender_address(msg)

    if content_type == "multipart/report" and report_type != "disposition-notification":
        return "bounce"
    if types & {"message/delivery-status", "message/global-delivery-status"}:
        return "bounce"
    if sender and sender.rpartition("@")[0].lower() in _MAILER_DAEMONS:
        return "bounce"
    if _raw_headers(msg, "X-Failed-Recipients"):
        return "bounce"
    carries_original = bool(types & {"message/rfc822", "text/rfc822-headers"})
    if null_sender and (_BOUNCE_SUBJECT.search(subject) or carries_original):
        return "bounce"

    if content_type == "multipart/report":
        return "auto-reply"
    for value in _raw_headers(msg, "Auto-Submitted"):
        if value.split(";")[0].strip().lower() != "no":
            return "auto-reply"
    if any(_raw_headers(msg, name) for name in _AUTO_HEADERS):
        return "auto-reply"
    for value in _raw_headers(msg, "X-Auto-Response-Suppress"):
        if re.search(r"\b(?:all|oof|autoreply)\b", value, re.IGNORECASE):
            return "auto-reply"
    for value in _raw_headers(msg, "Precedence"):
        if value.strip().lower() in {"bulk", "junk", "list", "auto_reply"}:
            return "auto-reply"
    if null_sender:
        return "auto-reply"
    if any(_raw_headers(msg, name) for name in ("List-Id", "List-Unsubscribe", "List-Post")):
        return "auto-reply"
    if _OOF_SUBJECT.search(subject):
        return "auto-reply"
    return None


def authentication_failed(msg: Message, authserv_id: str) -> bool:
    """True when the trusted server's Authentication-Results report a DMARC or DKIM failure.

    Headers naming another authserv-id are ignored: anyone can write them.
    """
    trusted = authserv_id.strip().lower()
    for value in _raw_headers(msg, "Authentication-Results"):
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


# --- body ------------------------------------------------------------------------------------


def _decode_bytes(payload: bytes, charset: str | None) -> str:
    """Text from bytes whatever the label says: declared charset, else UTF-8, else cp1252."""
    if charset and charset.lower() not in ("us-ascii", "ascii"):
        try:
            return payload.decode(charset, errors="replace")
        except (LookupError, ValueError):
            pass  # unknown, non-text or malformed codec name (UnicodeError is a ValueError)
    try:
        return payload.decode("utf-8")
    except UnicodeDecodeError:
        return payload.decode("windows-1252", errors="replace")


def _part_text(part: Message) -> str:
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        return ""
    text = _decode_bytes(payload, part.get_content_charset()).replace("\r\n", "\n")
    return text.replace("\r", "\n")


def _is_attachment(part: Message) -> bool:
    disposition = _raw_headers(part, "Content-Disposition")
    return bool(disposition) and disposition[0].split(";")[0].strip().lower() == "attachment"


def _body_parts(msg: Message) -> tuple[Message | None, Message | None]:
    plain: Message | None = None
    html: Message | None = None
    for index, part in enumerate(_iter_parts(msg)):
        if index and _is_attachment(part):
            continue
        if part.get_content_type() == "text/plain" and plain is None:
            plain = part
        elif part.get_content_type() == "text/html" and html is None:
            html = part
    return plain, html


def body_text(msg: Message) -> str:
    """The best text of the message: its text/plain body, else its HTML converted to text."""
    plain, html = _body_parts(msg)
    if plain is not None:
        text = _part_text(plain)
        if str(plain.get_param("format", "") or "").lower() == "flowed":
            delsp = str(plain.get_param("delsp", "") or "").lower() == "yes"
            text = unflow(text, delsp=delsp)
        return text
    if html is not None:
        return html_to_text(_part_text(html))
    if msg.get_content_maintype() in ("text", "multipart") and not msg.is_multipart():
        return _part_text(msg)  # a multipart that could not be split: its raw text is all there is
    return ""


def reference_text(msg: Message) -> str:
    """Subject and every text part, quoted text included: where references are looked for."""
    texts = [_header_text(msg, "Subject")]
    for part in msg.walk():
        if part.get_content_type() == "text/plain":
            texts.append(_part_text(part))
        elif part.get_content_type() == "text/html":
            texts.append(html_to_text(_part_text(part)))
    return "\n".join(texts)


def unflow(text: str, *, delsp: bool = False) -> str:
    """Undo RFC 3676 format=flowed: join soft-broken lines, drop space-stuffing."""
    out: list[str] = []
    buffer: str | None = None
    buffer_depth = 0

    def emit(depth: int, content: str) -> None:
        out.append(f"{'>' * depth} {content}".rstrip() if depth else content)

    for line in text.split("\n"):
        depth = len(line) - len(line.lstrip(">"))
        content = line[depth:]
        if content.startswith(" "):
            content = content[1:]
        if buffer is not None and depth != buffer_depth:
            emit(buffer_depth, buffer)
            buffer = None
        soft = content.endswith(" ") and content != "-- "
        if soft and delsp:
            content = content[:-1]
        buffer = (buffer or "") + content
        buffer_depth = depth
        if not soft:
            emit(depth, buffer)
            buffer = None
    if buffer is not None:
        emit(buffer_depth, buffer)
    return "\n".join(out)


# --- HTML to text ----------------------------------------------------------------------------

_BLOCK_TAGS = frozenset(
    "p div br tr li ul ol dl dt dd table h1 h2 h3 h4 h5 h6 pre blockquote hr "
    "section article header footer center address".split()
)
_SKIP_TAGS = frozenset({"head", "style", "script", "title", "template"})
_VOID_TAGS = frozenset(
    "br hr img meta link input wbr area base col embed source track param".split()
)
_OUTLOOK_SEPARATOR_IDS = frozenset({"divrplyfwdmsg", "appendonsend"})
_SIGNATURE_CLASSES = frozenset({"gmail_signature", "moz-signature"})
_BORDER_TOP = re.compile(r"border-top\s*:\s*(?:solid|[\d.]+\s*(?:pt|px|in|cm)\s+solid)", re.I)


class _HtmlToText(HTMLParser):
    """Lines of text with their quote depth; the quoting conventions are in the module doc."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lines: list[tuple[int, str]] = []
        self._buffer: list[str] = []
        self._has_text = False
        self._depth = 0
        self._skip = 0
        self._pre = 0
        self._stack: list[tuple[str, bool]] = []  # open elements, and whether each quotes

    def _flush(self, *, force: bool = False) -> None:
        if self._has_text or force:
            text = "".join(self._buffer)
            self.lines.append((self._depth, text if self._pre else text.strip(" ")))
        self._buffer = []
        self._has_text = False

    def _line(self, text: str) -> None:
        self._flush()
        self.lines.append((self._depth, text))

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP_TAGS:
            self._skip += 1
            return
        attributes = {name: (value or "") for name, value in attrs}
        classes = set(attributes.get("class", "").lower().split())
        element_id = attributes.get("id", "").lower()
        if tag == "br":
            self._flush(force=True)
            return
        if tag in _BLOCK_TAGS:
            self._flush()
        if tag == "hr":
            return
        if tag == "div" and (
            element_id in _OUTLOOK_SEPARATOR_IDS or _BORDER_TOP.search(attributes.get("style", ""))
        ):
            self._line(OUTLOOK_SEPARATOR)
        if classes & _SIGNATURE_CLASSES or element_id == "signature":
            self._line("-- ")
        quotes = tag == "blockquote" or (
            tag == "div" and bool(classes & {"gmail_quote", "moz-cite-prefix", "yahoo_quoted"})
        )
        if tag == "pre":
            self._pre += 1
        if tag in _VOID_TAGS:
            return
        self._stack.append((tag, quotes))
        if quotes:
            self._depth += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP_TAGS:
            self._skip = max(0, self._skip - 1)
            return
        if tag in _BLOCK_TAGS:
            self._flush()
        if not any(open_tag == tag for open_tag, _ in self._stack):
            return  # a stray end tag: mail HTML is rarely well formed
        while self._stack:
            open_tag, quotes = self._stack.pop()
            if quotes:
                self._depth -= 1
            if open_tag == "pre":
                self._pre = max(0, self._pre - 1)
            if open_tag == tag:
                break

    def handle_data(self, data: str) -> None:
        if self._skip:
            return
        if self._pre:
            pieces = data.split("\n")
            for piece in pieces[:-1]:
                self._buffer.append(piece)
                self._flush(force=True)
            self._buffer.append(pieces[-1])
            self._has_text = self._has_text or bool(pieces[-1])
            return
        # A non-breaking space is content (Outlook's empty paragraphs); layout whitespace is not.
        if data.strip(" \t\r\n\f"):
            self._has_text = True
        text = re.sub(r"[ \t\r\n\f]+", " ", data).replace("\xa0", " ")
        self._buffer.append(text)

    def text(self) -> str:
        self._flush()
        rendered = [f"{'> ' * depth}{text}".rstrip() for depth, text in self.lines]
        return re.sub(r"\n{3,}", "\n\n", "\n".join(rendered)).strip("\n")


def html_to_text(html: str) -> str:
    """Readable text from mail HTML, quoted blocks as ``>`` lines (conventions: module doc)."""
    parser = _HtmlToText()
    parser.feed(html)
    parser.close()
    return parser.text()


# --- quotes, signatures and the decision -----------------------------------------------------
#
# Written here rather than taken from mail-parser-reply (1.36, tried against tests/replies/):
# it keeps only the text above the first attribution, so bottom-posted answers (Thunderbird,
# plain-text users) come back as the quote itself; when the new text is empty it returns the
# quoted "> Approve" of an earlier reply as the latest reply, which is exactly what must never
# decide; it misses Gmail's attribution when wrapped before "écrit :"; and its signature rules
# cut at "- item" lines and at "Thanks,", eating comments.

_QUOTED = re.compile(r"^\s*>")
_ATTRIBUTION_START = re.compile(r"^\s*(?:On|Am|Le|El|Il|Op|Em)\s", re.IGNORECASE)
_ATTRIBUTION = re.compile(
    r"^\s*(?:On\s.{1,300}?\bwrote"
    r"|Am\s.{1,300}?\bschrieb\b.{0,300}?"
    r"|Le\s.{1,300}?\ba\s+écrit"
    r"|El\s.{1,300}?\bescribió"
    # Italian, Dutch and Portuguese too: an unrecognised quote would leak into the new text
    r"|Il\s.{1,300}?\bha\s+scritto"
    r"|Op\s.{1,300}?\bschreef\b.{0,300}?"
    r"|Em\s.{1,300}?\bescreveu)\s*:\s*$",
    re.IGNORECASE,
)
_SEPARATOR = re.compile(
    r"^\s*(?:_{20,}"
    r"|-{2,}\s*(?:original message|ursprüngliche nachricht|originalnachricht|message d'origine"
    r"|mensaje original|forwarded message|weitergeleitete nachricht|message transféré"
    r"|mensaje reenviado)\s*-{2,}"
    r"|begin forwarded message:|anfang der weitergeleiteten nachricht:"
    r"|début du message réexpédié\s*:|inicio del mensaje reenviado:)\s*$",
    re.IGNORECASE,
)
_FIELD = r"^\s*\*?(?:{})\s*\*?\s*:"
_FROM_FIELD = re.compile(_FIELD.format("From|Von|De"), re.IGNORECASE)
_DATE_FIELD = re.compile(_FIELD.format("Sent|Date|Gesendet|Datum|Envoyé|Enviado|Fecha"), re.I)
_TO_FIELD = re.compile(_FIELD.format("To|Subject|An|Betreff|À|Objet|Para|Asunto|Cc"), re.I)
_SIGNATURE = re.compile(
    r"^\s*(?:--"
    r"|sent from my [\w .'-]{1,40}|sent from (?:outlook|mail)\b[\w .-]{0,40}"
    r"|get outlook for (?:ios|android)\s*(?:<[^>\s]*>)?"
    r"|von meinem [\w .'-]{1,40} gesendet|gesendet von [\w .'-]{1,40}"
    r"|outlook für (?:ios|android) herunterladen\s*(?:<[^>\s]*>)?"
    r"|envoyé de mon [\w .'-]{1,40}|envoyé depuis [\w .'-]{1,40}"
    r"|télécharger outlook pour (?:ios|android)\s*(?:<[^>\s]*>)?"
    r"|enviado desde mi [\w .'-]{1,40}|obtener outlook para (?:ios|android)\s*(?:<[^>\s]*>)?)\s*$",
    re.IGNORECASE,
)


def _attribution_length(lines: list[str], start: int) -> int:
    """How many lines (1-3) an attribution starting at ``start`` spans; 0 if none does."""
    if not _ATTRIBUTION_START.match(lines[start]):
        return 0
    for length in (1, 2, 3):
        chunk = lines[start : start + length]
        if len(chunk) < length or any(not line.strip() or _QUOTED.match(line) for line in chunk):
            return 0
        if _ATTRIBUTION.match(" ".join(line.strip() for line in chunk)):
            return length
    return 0


def _is_header_block(lines: list[str], start: int) -> bool:
    if not _FROM_FIELD.match(lines[start]):
        return False
    following = lines[start + 1 : start + 6]
    return any(_DATE_FIELD.match(line) for line in following) and any(
        _TO_FIELD.match(line) for line in following
    )


def split_reply(text: str) -> tuple[str, str]:
    """(new text, quoted text): quotes, attributions and signatures removed from the new text."""
    lines = text.replace("\r\n", "\n").split("\n")
    new: list[str] = []
    quoted: list[str] = []
    in_signature = False
    index = 0
    while index < len(lines):
        line = lines[index]
        if _QUOTED.match(line):
            quoted.append(line)
            in_signature = False
        elif _SEPARATOR.match(line) or _is_header_block(lines, index):
            quoted.extend(lines[index:])
            break
        elif length := _attribution_length(lines, index):
            quoted.extend(lines[index : index + length])
            index += length
            rest = [later for later in lines[index:] if later.strip()]
            if not rest or not _QUOTED.match(rest[0]):
                quoted.extend(lines[index:])
                break
            in_signature = False
            continue
        elif in_signature:
            pass
        elif _SIGNATURE.match(line):
            in_signature = True
        else:
            new.append(line.rstrip())
        index += 1
    return _tidy("\n".join(new)), _tidy("\n".join(quoted))


def _tidy(text: str) -> str:
    return re.sub(r"\n{3,}", "\n\n", text).strip()


# Zero-width and direction marks that phones and rich editors leave at the start of lines.
_INVISIBLE = " \t\xa0\u200b\u200c\u200d\u200e\u200f\u2060\ufeff*_\"'“”„«»"
_DECISION_WORD = re.compile(
    "^({})(?!\\w)".format(
        "|".join(re.escape(w) for w in sorted(APPROVE_WORDS + REJECT_WORDS, key=len, reverse=True))
    ),
    re.IGNORECASE,
)
_COMMENT_LEAD = " \t\xa0.,;:!?-–—)"


def decision(new_text: str) -> Decision:
    """The decision on the first non-empty line of ``new_text`` and the comment after it."""
    lines = [unicodedata.normalize("NFC", line) for line in new_text.split("\n")]
    index = next((i for i, line in enumerate(lines) if line.strip(_INVISIBLE)), None)
    if index is None:
        return Decision(None, "")
    first = lines[index].strip(_INVISIBLE)
    found = _DECISION_WORD.match(first)
    if not found:
        return Decision(None, "")
    kind: DecisionKind = "approve" if found.group(1).lower() in APPROVE_WORDS else "reject"
    rest_of_line = first[found.end() :].lstrip(_COMMENT_LEAD).strip()
    comment = "\n".join([rest_of_line, *lines[index + 1 :]]).strip()
    return Decision(kind, comment)
