"""Mail HTML to plain text, keeping the quoting and signature conventions of mail clients.

In HTML, ``<blockquote>`` (Apple's ``type=cite`` too), Gmail's ``gmail_quote``,
Yahoo's ``yahoo_quoted`` and Thunderbird's ``moz-cite-prefix`` become
``>``-quoted lines; Outlook's ``divRplyFwdMsg``, ``appendonsend`` and the
``border-top`` separator above its header block become Outlook's own
``________________________________`` line (all below is quoted); Gmail,
Thunderbird and Outlook signature blocks become a ``-- `` line.

The markup is read by a small tokenizer of our own, linear in the length of
its input whatever the input is (the standard library's ``HTMLParser`` is
quadratic on some unterminated markup: 300 KB of ``<a`` took 40 s): an
unterminated tag, comment or script drops the rest of the part; at most
``MAX_OPEN`` elements are open at once; quote marks render at most
``MAX_QUOTE_DEPTH`` deep.
"""

from __future__ import annotations

import html as html_lib
import re
from collections import Counter

OUTLOOK_SEPARATOR = "_" * 32

_BLOCK_TAGS = frozenset(
    [
        "p",
        "div",
        "br",
        "tr",
        "li",
        "ul",
        "ol",
        "dl",
        "dt",
        "dd",
        "table",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "pre",
        "blockquote",
        "hr",
        "section",
        "article",
        "header",
        "footer",
        "center",
        "address",
    ]
)
_SKIP_TAGS = frozenset({"head", "style", "script", "title", "template"})
_VOID_TAGS = frozenset(
    [
        "br",
        "hr",
        "img",
        "meta",
        "link",
        "input",
        "wbr",
        "area",
        "base",
        "col",
        "embed",
        "source",
        "track",
        "param",
    ]
)
_OUTLOOK_SEPARATOR_IDS = frozenset({"divrplyfwdmsg", "appendonsend"})
_SIGNATURE_CLASSES = frozenset({"gmail_signature", "moz-signature"})
_BORDER_TOP = re.compile(r"border-top\s*:\s*(?:solid|[\d.]+\s*(?:pt|px|in|cm)\s+solid)", re.IGNORECASE)


MAX_OPEN = 512
MAX_QUOTE_DEPTH = 16
MAX_TAG_CHARS = 4096  # attributes are read from this much of a tag at most


class _HtmlToText:
    """Lines of text with their quote depth; the quoting conventions are in the module doc."""

    def __init__(self) -> None:
        self._open: Counter[str] = Counter()
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
        if tag in _VOID_TAGS or len(self._stack) >= MAX_OPEN:
            return
        self._stack.append((tag, quotes))
        self._open[tag] += 1
        if quotes:
            self._depth += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP_TAGS:
            self._skip = max(0, self._skip - 1)
            return
        if tag in _BLOCK_TAGS:
            self._flush()
        if not self._open[tag]:
            return  # a stray end tag: mail HTML is rarely well formed
        while self._stack:
            open_tag, quotes = self._stack.pop()
            self._open[open_tag] -= 1
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
        rendered = [f"{'> ' * min(depth, MAX_QUOTE_DEPTH)}{text}".rstrip() for depth, text in self.lines]
        return re.sub(r"\n{3,}", "\n\n", "\n".join(rendered)).strip("\n")


_TAG_START = re.compile(r"<[A-Za-z/!?]")
_TAG_NAME = re.compile(r"(/?)([A-Za-z][^\s/>]{0,63})")
# The rest of a tag up to its ">", quoted values may hold ">"; possessive, so a failed match
# never backtracks (an unterminated quote falls back to the next ">").
_TAG_REST = re.compile(r"""(?:[^>"']++|"[^"]{0,1024}+"|'[^']{0,1024}+'|["'])*+>""")
_ATTRIBUTE = re.compile(r"""([^\s=/>"']+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+)))?""")
_RAW_TEXT_END = {tag: re.compile(rf"</{tag}\s*>", re.IGNORECASE) for tag in ("script", "style")}
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def _attributes(text: str) -> list[tuple[str, str | None]]:
    found: list[tuple[str, str | None]] = []
    for match in _ATTRIBUTE.finditer(text[:MAX_TAG_CHARS]):
        name = match.group(1).translate(_ASCII_LOWER)
        value = next((v for v in match.group(2, 3, 4) if v is not None), None)
        found.append((name, html_lib.unescape(value) if value is not None else None))
    return found


def _feed(parser: _HtmlToText, markup: str) -> None:
    """Tokenize ``markup`` into ``parser``'s handlers in one pass (see the module doc)."""
    pos, end = 0, len(markup)
    while pos < end:
        start = _TAG_START.search(markup, pos)
        if start is None:
            parser.handle_data(html_lib.unescape(markup[pos:]))
            return
        lt = start.start()
        if lt > pos:
            parser.handle_data(html_lib.unescape(markup[pos:lt]))
        if markup.startswith("<!--", lt):
            close = markup.find("-->", lt + 4)
            pos = end if close < 0 else close + 3
            continue
        if markup.startswith(("<!", "<?"), lt):  # doctype, CDATA, processing instruction
            close = markup.find(">", lt)
            pos = end if close < 0 else close + 1
            continue
        name = _TAG_NAME.match(markup, lt + 1)
        if name is None:  # "</" not followed by a name
            parser.handle_data("</")
            pos = lt + 2
            continue
        rest = _TAG_REST.match(markup, name.end())
        if rest is not None:
            close = rest.end() - 1
        else:
            close = markup.find(">", name.end())
            if close < 0:
                return  # an unterminated tag: nothing after it is text
        tag = name.group(2).translate(_ASCII_LOWER)
        body = markup[name.end() : close]
        pos = close + 1
        if name.group(1):
            parser.handle_endtag(tag)
            continue
        parser.handle_starttag(tag, _attributes(body))
        if body.rstrip().endswith("/"):
            parser.handle_endtag(tag)
        elif tag in _RAW_TEXT_END:
            found = _RAW_TEXT_END[tag].search(markup, pos)
            pos = end if found is None else found.end()
            parser.handle_endtag(tag)


def html_to_text(html: str) -> str:
    """Readable text from mail HTML, quoted blocks as ``>`` lines (conventions: module doc)."""
    parser = _HtmlToText()
    _feed(parser, html)
    return parser.text()
