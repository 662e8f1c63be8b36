"""Splitting a reply's text into what the person wrote now and what they quoted or signed.

First, what mailrelay knows (``approvals.fingerprint``): it wrote the request,
so the first run of lines that matches the request's text (quoted with ``>``
or not, re-wrapped, rendered from HTML) starts the quote. The header or
attribution block just above it goes with it, whatever its language: a
paragraph of ``Label: value`` lines (``Fra:/Sendt:/Til:/Emne:``, ``发件人:``,
bold ``*Van:*``), a separator line (``-----Oprindelig meddelelse-----``, a
line of underscores), or an attribution of one to three wrapped lines ending
in a colon (``Den 15. jun. 2016 kl. 20.42 skrev …:``, ``Name <addr>:``), framed
by dashes (``---- On … wrote ----``) or an address next to a date
(``2013/7/20 Name <addr>``). When the matched request is not ``>``-quoted
(Outlook, HTML-only clients) everything from that block down is quoted; when
it is, the ``>`` lines are, and new text below them is an answer written
under the quote (bottom-posting).

Then, in every reply (and alone when the request's text is not there because
the client cut it, or the approval has no fingerprint), the rules of
``quote_rules``: the new text is every line that is not
  * ``>``-quoted (anywhere: top-posting, bottom-posting and inline answers
    all work),
  * an attribution line in a listed language, also when a client wraps it over
    up to three lines (``On ... wrote:``, ``Am ... schrieb ...:``, ``Le ... a
    écrit :``, ``Den ... skrev ...:``, ``... 写道：`` …); when no ``>`` lines
    follow it, all below is quoted,
  * at or below a separator that quotes everything after it, as Outlook does:
    a line of 20+ underscores, ``-----Original Message-----`` in a listed
    language, forwarded-message lines, or a header block of a From field
    followed within five lines by a date field and a To/Subject field
    (``From:/Sent:/To:``, ``Von:/Gesendet:/An:``, ``Van:/Verzonden:/Aan:``,
    ``От:/Отправлено:/Кому:``, ``发件人:/发送时间:/收件人:`` …); when the request's
    text was not found, also any framed separator (``---- … ----``) and any
    block of three or more ``Label: value`` lines holding an address or the
    approval reference,
  * in a signature: from a ``-- `` line, or a phone/app line (``Sent from my
    ...``, ``Von meinem ... gesendet``, ``Skickat från min iPhone``,
    ``iPhoneから送信`` …), up to the next quoted line or attribution; and a short
    last line naming a phone or mail app in any language (``Lähetetty
    iPhonesta``). Closing phrases ("Thanks,", "Best regards") are kept:
    cutting at them would eat real comments.

No rule ever takes a line that starts with a decision word into a quote header
unless that line is itself an attribution naming an address (Portuguese ``No
dia … <addr> escreveu:``), so the decision line is never lost to a header block.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from mailrelay_cli.approvals.fingerprint import Fingerprint, words
from mailrelay_cli.replies import quote_rules as rules
from mailrelay_cli.replies.decision import decision

# A line this long (in words) that matches the request starts a quote on its own.
_LONE_RUN_WORDS = 10
_SUPPORT_WINDOW = 4
# No header block or attribution is longer; also what keeps the work per message linear.
_MAX_HEADER_LINES = 12
_ATTRIBUTION_ENDS = frozenset(":：->")


@dataclass(frozen=True)
class Note:
    """Why a line (0-based ``line``) went where it went, for ``replies explain``."""

    line: int
    rule: str
    detail: str


@dataclass(frozen=True)
class ReplySplit:
    """A reply's text split: new text, quoted text, and why (notes, in line order)."""

    lines: tuple[str, ...]
    new_text: str
    quoted: str
    quote_start: int | None
    quote_reason: str | None
    notes: tuple[Note, ...] = field(default_factory=tuple)


def _is_decision_line(line: str) -> bool:
    return decision(line).kind is not None


# -- the request run and the header above it ---------------------------------------------


def _request_run(lines: list[str], fingerprint: Fingerprint) -> int | None:
    """The first line of the first run of lines matching the request, or None."""
    matches = [fingerprint.line_match(line) if line.strip() else None for line in lines]
    for index, match in enumerate(matches):
        if match != "strong":
            continue
        if rules.is_quoted(lines[index]) or len(words(lines[index])) >= _LONE_RUN_WORDS:
            return index  # a >-quoted line is quoted anyway: one that matches is enough
        seen = 0
        for later in range(index + 1, len(lines)):
            if not lines[later].strip():
                continue
            if matches[later] is not None:
                return index
            seen += 1
            if seen == _SUPPORT_WINDOW:
                break
    return None


def _next_filled(lines: list[str], index: int) -> str | None:
    """The first non-blank line at or after ``index``, or None."""
    while index < len(lines):
        if lines[index].strip():
            return lines[index]
        index += 1
    return None


def _paragraph_above(lines: list[str], bottom: int) -> int:
    """The first line of the paragraph (non-blank lines) that ends at ``bottom``."""
    top = bottom
    while top > 0 and lines[top - 1].strip() and bottom - top < _MAX_HEADER_LINES - 1:
        top -= 1
    return top


def _header_from(block: list[str]) -> str | None:
    """The rule by which the whole of ``block`` is a quote header, if it is one."""
    plain = [rules.unquote(line) for line in block]
    fields = separators = 0
    for index, line in enumerate(plain):
        if _is_decision_line(line):
            return None  # "Approve: go" is the approver's, whatever its shape
        if rules.field_label(line):
            fields += 1
        elif rules.is_decorated_separator(line):
            if index:
                return None  # a separator comes first: what is above it is not the header
            separators += 1
        elif (
            index == 0
            or not rules.field_label(plain[index - 1])
            or len(line) > 120
            or _is_decision_line(line)
        ):
            return None  # only a wrapped field value may follow a field line
    if fields >= 2 or (fields == 1 and separators):
        return "header block"
    if separators and not fields:
        return "separator"
    return None


def _header_paragraph(block: list[str]) -> tuple[int, str] | None:
    """Where in a paragraph above the request its quote header starts, and by what rule."""
    if all(rules.is_quoted(line) for line in block):
        return 0, "quoted lines"
    for top in range(len(block)):
        kind = _header_from(block[top:])
        if kind is not None:
            return top, kind
    return None


def _attribution_suffix(block: list[str]) -> int:
    """How many lines at the end of ``block`` (0-3) are an attribution in any language.

    The last line must read as one (``rules.attribution_shape``); a line above joins it while
    it does not end a sentence, is no decision line, and either reads as wrapped into the
    line below or holds a date or address that the line below does not start anew."""
    last = rules.unquote(block[-1])
    if not rules.attribution_shape(last) and not rules.language_attribution(last):
        return 0
    if _is_decision_line(last) and not rules.has_address(last):
        return 0
    taken = 1
    while taken < 3 and taken < len(block):
        upper = rules.unquote(block[-taken - 1])
        lower = rules.unquote(block[-taken])
        if (
            len(upper) > 120
            or rules.ends_a_sentence(upper)
            or _is_decision_line(upper)
            or rules.starts_attribution(lower)
        ):
            break
        if not (
            rules.continues_upward(upper, lower)
            or rules.starts_attribution(upper)
            or (rules.has_digit_or_at(upper) and not rules.starts_attribution(lower))
        ):
            break
        taken += 1
    if taken > 1 and not rules.has_digit_or_at(rules.unquote(block[-taken])):
        joined = " ".join(rules.unquote(line).strip() for line in block[-taken:])
        if not rules.language_attribution(joined):
            return 1
    return taken


def _header_above(lines: list[str], run: int, notes: list[Note]) -> int:
    """Where the quote header above the request run at ``run`` starts (``run`` if none)."""
    start = run
    bottom = run - 1
    # Above a header block only a separator may still belong to it; above a separator or an
    # attribution nothing does.
    allowed = {"quoted lines", "header block", "separator"}
    while bottom >= 0:
        if not lines[bottom].strip():
            bottom -= 1
            continue
        top = _paragraph_above(lines, bottom)
        block = lines[top : bottom + 1]
        header = _header_paragraph(block)
        if header is not None and header[1] in allowed:
            offset, kind = header
            notes.append(Note(top + offset, "header block", f"{kind} above the request, any language"))
            start = top + offset
            if offset or (kind == "header block" and rules.is_decorated_separator(rules.unquote(block[0]))):
                break  # the header began inside the paragraph, or with its separator
            if kind == "header block":
                allowed = {"separator"}
            elif kind == "separator":
                break
            bottom = top - 1
            continue
        taken = _attribution_suffix(block)
        if taken:
            notes.append(
                Note(
                    bottom - taken + 1,
                    "attribution",
                    f"{taken} line(s) ending the paragraph above the request",
                )
            )
            start = bottom - taken + 1
        break
    return start


# -- the language rules ---------------------------------------------------------------------


def _attribution_length(lines: list[str], start: int) -> int:
    """How many lines (1-3) a listed-language attribution starting at ``start`` spans."""
    for length in (1, 2, 3):
        if start + length > len(lines):
            return 0
        last = lines[start + length - 1]
        if not last.strip() or rules.is_quoted(last):
            return 0
        if last.rstrip()[-1:] not in _ATTRIBUTION_ENDS:
            continue  # no listed attribution ends so: spare the regular expressions
        chunk = lines[start : start + length]
        if length > 1 and (
            rules.ends_a_sentence(chunk[-2])
            or rules.starts_attribution(chunk[-1])
            or not rules.continues_upward(chunk[-2], chunk[-1])
        ):
            return 0  # not one attribution wrapped over lines
        if rules.language_attribution(" ".join(line.strip() for line in chunk)):
            if not _is_decision_line(chunk[0]) or rules.has_address(chunk[0]):
                return length
            return 0  # "Yes, as Bob wrote:" is the approver's answer
    return 0


def _is_header_block(lines: list[str], start: int) -> bool:
    if rules.field_kind(lines[start]) != "from":
        return False
    following = [rules.field_kind(line) for line in lines[start + 1 : start + 6]]
    return "date" in following and "to" in following


def _is_generic_header_block(lines: list[str], start: int) -> bool:
    """Three or more ``Label: value`` lines with an address or a reference (no fingerprint)."""
    block: list[str] = []
    for line in lines[start : start + 8]:
        if not line.strip() or not rules.field_label(line):
            break
        block.append(line)
    if len(block) < 3 or _is_decision_line(block[0]):
        return False
    text = "\n".join(block)
    return "@" in text or bool(re.search(r"\bMR-[A-Z0-9]{6}-[0-9a-f]{10}\b", text, re.IGNORECASE))


def _generic_attribution(lines: list[str], index: int) -> bool:
    """A line in any language ending in a colon, with a date or an address, right above a
    ``>`` quote (only blank lines between)."""
    line = lines[index]
    if not (
        rules.ends_with_colon(line) and rules.has_date_or_address(line) and rules.attribution_shape(line)
    ):
        return False
    if _is_decision_line(line) and not rules.has_address(line):
        return False
    below = _next_filled(lines, index + 1)
    return below is not None and rules.is_quoted(below)


def _attributions_above_quotes(lines: list[str]) -> set[int]:
    """Lines, in any language, that attribute a ``>`` quote: the end of the paragraph right
    above each quoted block, when it has a date or an address (``_attribution_suffix``)."""
    found: set[int] = set()
    for index, line in enumerate(lines):
        if not rules.is_quoted(line) or (index and rules.is_quoted(lines[index - 1])):
            continue
        bottom = index - 1
        while bottom >= 0 and not lines[bottom].strip():
            bottom -= 1
        if bottom < 0 or rules.is_quoted(lines[bottom]):
            continue
        top = _paragraph_above(lines, bottom)
        taken = _attribution_suffix(lines[top : bottom + 1])
        first = bottom - taken + 1
        if taken and rules.has_digit_or_at(" ".join(lines[first : bottom + 1])):
            found.update(range(first, bottom + 1))
    return found


def _split_rest(
    lines: list[str], offset: int, generic: bool, notes: list[Note]
) -> tuple[list[str], list[str], int | None, str | None]:
    """The language rules over ``lines`` (which start at line ``offset`` of the reply)."""
    attributing = _attributions_above_quotes(lines)
    new: list[str] = []
    quoted: list[str] = []
    cut_at: int | None = None
    cut_reason: str | None = None
    in_signature = False
    index = 0
    while index < len(lines):
        line = lines[index]
        if rules.is_quoted(line):
            quoted.append(line)
            in_signature = False
        elif index in attributing:
            notes.append(
                Note(
                    offset + index,
                    "attribution",
                    "the end of the paragraph above a > quote, with a date or address (any language)",
                )
            )
            quoted.append(line)
            if cut_at is None:
                cut_at, cut_reason = offset + index, "attribution above a > quote"
        elif (
            rules.language_separator(line)
            or _is_header_block(lines, index)
            or (
                generic
                and (
                    _is_generic_header_block(lines, index)
                    or (rules.is_decorated_separator(line) and not re.fullmatch(r"\s*-{2,}\s*", line))
                )
            )
        ):
            reason = (
                "separator"
                if rules.language_separator(line) or rules.is_decorated_separator(line)
                else "header block"
            )
            notes.append(Note(offset + index, "language rule", f"{reason}: all below is quoted"))
            quoted.extend(lines[index:])
            cut_at, cut_reason = offset + index, f"language rule ({reason})"
            break
        elif length := _attribution_length(lines, index):
            notes.append(Note(offset + index, "language rule", "attribution"))
            quoted.extend(lines[index : index + length])
            index += length
            below = _next_filled(lines, index)
            if below is None or not rules.is_quoted(below):
                quoted.extend(lines[index:])
                cut_at, cut_reason = offset + index - length, "language rule (attribution)"
                break
            if cut_at is None:
                cut_at, cut_reason = offset + index - length, "language rule (attribution)"
            in_signature = False
            continue
        elif _generic_attribution(lines, index):
            notes.append(
                Note(
                    offset + index,
                    "attribution",
                    "a line ending in a colon with a date or address, above a > quote",
                )
            )
            quoted.append(line)
            if cut_at is None:
                cut_at, cut_reason = offset + index, "attribution above a > quote"
        elif in_signature:
            pass
        elif rules.is_signature_start(line):
            notes.append(Note(offset + index, "signature", line.strip() or "-- "))
            in_signature = True
        else:
            new.append(line.rstrip())
        index += 1
    if cut_at is None and any(rules.is_quoted(line) for line in lines):
        first = next(i for i, line in enumerate(lines) if rules.is_quoted(line))
        cut_at, cut_reason = offset + first, "quoted with >"
    return new, quoted, cut_at, cut_reason


def _drop_device_footer(new: list[str], notes: list[Note], lines: list[str]) -> list[str]:
    """Drop a last line naming a phone or mail app (any language), set apart by a blank line,
    but never the only line."""
    filled = [i for i, line in enumerate(new) if line.strip()]
    if len(filled) >= 2 and rules.is_device_footer(new[filled[-1]]) and not new[filled[-1] - 1].strip():
        footer = new[filled[-1]]
        where = max((i for i, line in enumerate(lines) if line.rstrip() == footer), default=0)
        notes.append(Note(where, "signature", f"device footer: {footer.strip()}"))
        return new[: filled[-1]]
    return new


# -- the split ------------------------------------------------------------------------------


def analyse_reply(text: str, fingerprint: Fingerprint | None = None) -> ReplySplit:
    """Split ``text`` (see the module doc), keeping the reasons for ``replies explain``."""
    lines = text.replace("\r\n", "\n").split("\n")
    notes: list[Note] = []
    head = lines
    tail_quoted: list[str] = []
    quote_start: int | None = None
    quote_reason: str | None = None
    run = _request_run(lines, fingerprint) if fingerprint is not None else None
    if run is not None:
        notes.append(Note(run, "request fingerprint", "first run of lines matching the request"))
        start = _header_above(lines, run, notes)
        quote_start = start
        quote_reason = "request fingerprint" + (" and the header block above it" if start < run else "")
        if rules.is_quoted(lines[run]):
            # The request is >-quoted: the header goes, the rest follows the usual rules
            # (an answer below the quote is new text).
            tail_quoted = lines[start:run]
            head = lines[:start] + [""] * (run - start) + lines[run:]
        else:
            tail_quoted = lines[start:]
            head = lines[:start]
    new, quoted, cut_at, cut_reason = _split_rest(head, 0, run is None, notes)
    new = _drop_device_footer(new, notes, head)
    if quote_start is None:
        quote_start, quote_reason = cut_at, cut_reason
    new_text = _tidy("\n".join(new))
    all_quoted = _tidy(
        "\n".join([*tail_quoted, *quoted])
        if run is not None and rules.is_quoted(lines[run])
        else "\n".join([*quoted, *tail_quoted])
    )
    notes.sort(key=lambda note: note.line)
    return ReplySplit(tuple(lines), new_text, all_quoted, quote_start, quote_reason, tuple(notes))


def split_reply(text: str, fingerprint: Fingerprint | None = None) -> tuple[str, str]:
    """(new text, quoted text): quotes, attributions and signatures removed from the new text."""
    split = analyse_reply(text, fingerprint)
    return split.new_text, split.quoted


def _tidy(text: str) -> str:
    return re.sub(r"\n{3,}", "\n\n", text).strip()
