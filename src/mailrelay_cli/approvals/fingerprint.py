"""The fingerprint of an approval request's text: which lines of a reply quote the request.

mailrelay wrote the request, so it knows its text. When the request is sent,
``make_fingerprint`` keeps, with the approval, hashes of the words of its
subject, its text part and its HTML part (rendered to text), and of every run
of three consecutive words (word trigrams, taken across line ends, so a client
that re-wraps the quoted request still matches). Nothing of the text itself is
kept.

A reply line is compared after the same normalisation: Unicode NFKC, case
folded, non-breaking and zero-width spaces removed, leading quote marks
(``>``, ``|``) dropped, links that clients append in angle or square brackets
(``<https://…>``, ``[mailto:…]``) dropped, and then only its runs of letters
and digits count. So whitespace, quoting marks, HTML rendering, soft wraps and
NBSP make no difference (``line_match``).
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Literal

VERSION = "1"
LineMatch = Literal["strong", "weak"]

_LINK = re.compile(r"<(?:mailto|https?|ftp):[^>\s]*>|\[(?:mailto|https?):[^\]\s]*\]", re.IGNORECASE)
_QUOTE_MARKS = re.compile(r"^[\s>|]+")
_WORD = re.compile(r"[^\W_]+")
_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff"), None)
# A line of at least this many words whose every trigram is in the request is a strong match.
STRONG_WORDS = 4


def words(line: str) -> list[str]:
    """The normalised words of one line (see the module doc)."""
    text = unicodedata.normalize("NFKC", line).translate(_INVISIBLE).replace("\xa0", " ")
    text = _LINK.sub(" ", _QUOTE_MARKS.sub("", text))
    return _WORD.findall(text.casefold())


def _hash(text: str) -> str:
    return hashlib.blake2b(text.encode("utf-8"), digest_size=5).hexdigest()


def _trigrams(tokens: list[str]) -> list[str]:
    return [" ".join(tokens[i : i + 3]) for i in range(len(tokens) - 2)]


@dataclass(frozen=True)
class Fingerprint:
    """Hashed words and word trigrams of a request (see the module doc)."""

    words: frozenset[str]
    trigrams: frozenset[str]

    def dumps(self) -> str:
        """The stored form: ``1;`` word hashes ``;`` trigram hashes (space-separated)."""
        return ";".join([VERSION, " ".join(sorted(self.words)), " ".join(sorted(self.trigrams))])

    @classmethod
    def loads(cls, text: str | None) -> Fingerprint | None:
        """The fingerprint stored as ``text``; None for nothing or a form this version cannot read."""
        parts = (text or "").split(";")
        if len(parts) != 3 or parts[0] != VERSION:
            return None
        return cls(frozenset(parts[1].split()), frozenset(parts[2].split()))

    def line_match(self, line: str) -> LineMatch | None:
        """How well ``line`` matches the request: ``strong`` (STRONG_WORDS or more words, every
        trigram in the request), ``weak`` (every word, or every trigram, in the request), or None."""
        tokens = words(line)
        if not tokens:
            return None
        grams = _trigrams(tokens)
        if grams and all(_hash(g) in self.trigrams for g in grams):
            return "strong" if len(tokens) >= STRONG_WORDS else "weak"
        if len(tokens) <= 2 and all(_hash(t) in self.words for t in tokens):
            return "weak"
        return None


class _HtmlLines(HTMLParser):
    """The text of an HTML part, a new line at each block element (enough for word shingles)."""

    _BLOCK = frozenset(
        [
            "p",
            "div",
            "br",
            "tr",
            "td",
            "th",
            "li",
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
        ]
    )
    _SKIP = frozenset({"head", "style", "script", "title", "template"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._SKIP:
            self._skip += 1
        elif tag in self._BLOCK:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in self._SKIP:
            self._skip = max(0, self._skip - 1)
        elif tag in self._BLOCK:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def html_lines(html: str) -> str:
    """Plain text of ``html`` for the fingerprint (block elements end lines)."""
    parser = _HtmlLines()
    parser.feed(html)
    parser.close()
    return "".join(parser.parts)


def make_fingerprint(subject: str, text: str, html: str | None = None) -> Fingerprint:
    """The fingerprint of a request with this subject, text part and (optional) HTML part."""
    word_hashes: set[str] = set()
    gram_hashes: set[str] = set()
    for rendering in (subject, text, html_lines(html) if html else ""):
        tokens = [t for line in rendering.splitlines() for t in words(line)]
        word_hashes.update(_hash(t) for t in tokens)
        gram_hashes.update(_hash(g) for g in _trigrams(tokens))
    return Fingerprint(frozenset(word_hashes), frozenset(gram_hashes))
