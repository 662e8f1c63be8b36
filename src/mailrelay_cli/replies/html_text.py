"""Mail HTML to plain text, keeping the quoting and signature conventions of mail clients.

In HTML, ``<blockquote>`` (Apple's ``type=cite`` too), Gmail's ``gmail_quote``,
Yahoo's ``yahoo_quoted`` and Thunderbird's ``moz-cite-prefix`` become
``>``-quoted lines; Outlook's ``divRplyFwdMsg``, ``appendonsend`` and the
``border-top`` separator above its header block become Outlook's own
``________________________________`` line (all below is quoted); Gmail,
Thunderbird and Outlook signature blocks become a ``-- `` line.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

OUTLOOK_SEPARATOR = "_" * 32

_BLOCK_TAGS = frozenset(
    "p div br tr li ul ol dl dt dd table h1 h2 h3 h4 h5 h6 pre blockquote hr "
    "section article header footer center address".split()
)
_SKIP_TAGS = frozenset({"head", "style", "script", "title", "template"})
_VOID_TAGS = frozenset("br hr img meta link input wbr area base col embed source track param".split())
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
        elif tag in ("td", "th"):
            self._buffer.append(" ")  # cells of one row stay apart ("Project shop")
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
