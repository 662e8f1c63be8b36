"""Building the MIME message: addresses, headers, text + HTML alternatives, attachments.

Reused by every mail mailrelay sends (event notifications, approval requests,
decision and "too late" answers): ``parse_address`` for each address,
``build_message`` for the message, then ``delivery.deliver``.

Headers are safe by construction: a CR or LF in any value that reaches a
header is a ``DataError`` (65), never folded into a new header. Addresses are
parsed strictly; international display names are RFC 2047-encoded, IDN
domains are sent as A-labels (``xn--…``), and only a non-ASCII local part
makes the message need SMTPUTF8 (``Built.smtputf8``), which delivery asks for.
Every message carries a Message-ID on the sender's domain, a Date, and
``Auto-Submitted: auto-generated`` (RFC 3834) so auto-responders stay quiet.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, NamedTuple

from mailrelay_cli.errors import DataError, InternalError

if TYPE_CHECKING:
    from email.message import EmailMessage
    from email.policy import Policy

    from mailrelay_cli.outbound.attachments import Attachment

_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
_HEADER_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]*$")
# Set by build_message itself; extra headers may not replace them.
_OWN_HEADERS = {
    "from",
    "to",
    "cc",
    "bcc",
    "subject",
    "date",
    "message-id",
    "mime-version",
    "content-type",
    "content-transfer-encoding",
    "reply-to",
}

# Records are NamedTuples, not dataclasses: `send` imports this module, and creating a
# dataclass costs ~1-2 ms of start-up against ~0.2 ms for a NamedTuple.


class Address(NamedTuple):
    """One mailbox. ``domain`` is lower-cased Unicode, ``domain_ascii`` its IDNA form."""

    display_name: str
    local: str
    domain: str
    domain_ascii: str

    @property
    def bare(self) -> str:
        """``local@domain`` as output shows it (DESIGN.md: bare, lower-cased domain)."""
        return f"{self.local}@{self.domain}"

    @property
    def needs_smtputf8(self) -> bool:
        return not self.local.isascii()

    @property
    def envelope(self) -> str:
        """The address for MAIL FROM / RCPT TO."""
        if self.needs_smtputf8:
            return f"{self.local}@{self.domain}"
        return f"{self.local}@{self.domain_ascii}"

    def header_value(self) -> Any:
        from email.headerregistry import Address as HeaderAddress

        domain = self.domain if self.needs_smtputf8 else self.domain_ascii
        return HeaderAddress(self.display_name, self.local, domain)


def reject_line_breaks(value: str, what: str) -> str:
    """``value`` unchanged, or DataError (65) when it holds CR or LF (header injection)."""
    if "\r" in value or "\n" in value or "\x00" in value:
        raise DataError(
            f"{what} contains a line break, which would inject a mail header",
            hint=f"remove CR/LF from {what}",
        )
    return value


def _idna(domain: str, text: str, where: str) -> str:
    try:
        ascii_domain = domain.encode("idna").decode("ascii").lower()
    except UnicodeError as e:
        raise DataError(
            f"{where}: {text!r} has a domain that is not a valid host name",
            hint="write the address as name@example.com",
        ) from e
    labels = ascii_domain.split(".")
    if not all(_LABEL.match(label) for label in labels):
        raise DataError(
            f"{where}: {text!r} has a domain that is not a valid host name",
            hint="write the address as name@example.com",
        )
    return ascii_domain


def parse_address(text: str, where: str = "address") -> Address:
    """One address like ``Jürgen <j@bücher.example>`` or ``ops@example.com``; DataError if not.

    ``where`` names the origin in the error (``--to``, ``events.request-failed.to``, ``smtp.from``).
    """
    import email.policy

    text = reject_line_breaks(str(text), f"{where} {text!r}").strip()
    bad = DataError(
        f"{where}: {text!r} is not an email address",
        hint='write it as name@example.com or "Name <name@example.com>"',
    )
    if not text:
        raise bad
    try:
        header = email.policy.default.header_factory("To", text)
    except (IndexError, ValueError) as e:
        raise bad from e
    defects = [d for d in header.defects if type(d).__name__ != "NonASCIILocalPartDefect"]
    if defects or len(header.addresses) != 1 or len(header.groups) != 1 or header.groups[0].display_name:
        raise bad
    parsed = header.addresses[0]
    local, domain = parsed.username, parsed.domain
    if not local or not domain or len(local.encode("utf-8")) > 64:
        raise bad
    if any(ord(c) < 33 or ord(c) == 127 for c in local) or any(c.isspace() for c in local):
        raise bad
    domain_unicode = domain.lower().rstrip(".")
    domain_ascii = _idna(domain_unicode, text, where)
    try:
        domain_unicode = domain_ascii.encode("ascii").decode("idna")
    except UnicodeError:
        pass
    return Address(parsed.display_name or "", local, domain_unicode, domain_ascii)


def parse_addresses(texts: Sequence[str], where: str) -> tuple[Address, ...]:
    """Each address of ``texts`` (a value may hold several, comma-separated), duplicates dropped."""
    result: dict[str, Address] = {}
    for text in texts:
        for piece in _split(text):
            address = parse_address(piece, where)
            result.setdefault(address.bare.lower(), address)
    return tuple(result.values())


def _split(text: str) -> list[str]:
    # Split on commas outside quotes and angle brackets ("Doe, J" <j@x.org> stays whole).
    pieces: list[str] = []
    current: list[str] = []
    quoted = angle = False
    for char in str(text):
        if char == '"':
            quoted = not quoted
        elif char == "<" and not quoted:
            angle = True
        elif char == ">" and not quoted:
            angle = False
        if char == "," and not quoted and not angle:
            pieces.append("".join(current))
            current = []
        else:
            current.append(char)
    pieces.append("".join(current))
    return [piece for piece in pieces if piece.strip()]


def new_message_id(sender: Address) -> str:
    """A fresh ``<…@sender-domain>`` Message-ID."""
    from email.utils import make_msgid

    return make_msgid(idstring="mailrelay", domain=sender.domain_ascii)


class Built(NamedTuple):
    """A message ready for delivery, with its envelope."""

    message: EmailMessage
    message_id: str
    sender: Address
    recipients: tuple[Address, ...]
    smtputf8: bool
    headers: Mapping[str, str] = MappingProxyType({})

    @property
    def policy(self) -> Policy:
        """How the message is serialised: SMTPUTF8 (UTF-8 headers) when an address needs it."""
        import email.policy

        return email.policy.SMTPUTF8 if self.smtputf8 else email.policy.SMTP

    def as_bytes(self) -> bytes:
        return self.message.as_bytes(policy=self.policy)

    def as_text(self) -> str:
        """The message as ``--dry-run`` prints it (line endings as on the wire, minus CR)."""
        return self.as_bytes().decode("utf-8", "replace").replace("\r\n", "\n")


def _body_cte(text: str) -> str | None:
    # 8bit needs the server's 8BITMIME; quoted-printable always gets through.
    if not text.isascii() or any(len(line) > 900 for line in text.splitlines()):
        return "quoted-printable"
    return None


def build_message(
    *,
    sender: Address,
    to: Sequence[Address],
    subject: str,
    text: str,
    html: str | None = None,
    cc: Sequence[Address] = (),
    attachments: Sequence[Attachment] = (),
    headers: Mapping[str, str] | None = None,
    reply_to: Address | None = None,
    message_id: str | None = None,
    date: datetime | None = None,
) -> Built:
    """A complete message: text (and HTML as multipart/alternative), attachments, headers.

    ``headers`` adds headers such as In-Reply-To, References or X-Mailrelay-Approval;
    it may not replace the ones set here. Every value is checked for CR/LF.
    """
    import email.policy
    from email.message import EmailMessage
    from email.utils import format_datetime

    if not to and not cc:
        raise InternalError("build_message called without recipients")
    subject = reject_line_breaks(subject, "the subject")
    message = EmailMessage(policy=email.policy.SMTP)
    message_id = message_id or new_message_id(sender)
    reject_line_breaks(message_id, "the Message-ID")
    message["From"] = sender.header_value()
    if to:
        message["To"] = [address.header_value() for address in to]
    if cc:
        message["Cc"] = [address.header_value() for address in cc]
    if reply_to is not None:
        message["Reply-To"] = reply_to.header_value()
    message["Subject"] = subject
    message["Date"] = format_datetime((date or datetime.now()).astimezone())
    message["Message-ID"] = message_id
    message["Auto-Submitted"] = "auto-generated"
    # Exchange's own switch for out-of-office and read-receipt robots.
    message["X-Auto-Response-Suppress"] = "All"
    extra = dict(headers or {})
    for name, value in extra.items():
        if not _HEADER_NAME.match(name) or name.lower() in _OWN_HEADERS:
            raise DataError(
                f"header name {name!r} cannot be added",
                hint="extra headers may not replace From, To, Subject and the like",
            )
        message[name] = reject_line_breaks(str(value), f"the {name} header")
    message.set_content(text, subtype="plain", cte=_body_cte(text))
    if html is not None:
        message.add_alternative(html, subtype="html", cte=_body_cte(html))
    for attachment in attachments:
        maintype, _, subtype = attachment.content_type.partition("/")
        message.add_attachment(
            attachment.data, maintype=maintype, subtype=subtype, filename=attachment.filename
        )
    recipients = tuple({a.envelope.lower(): a for a in (*to, *cc)}.values())
    smtputf8 = sender.needs_smtputf8 or any(a.needs_smtputf8 for a in recipients)
    return Built(message, message_id, sender, recipients, smtputf8, extra)
