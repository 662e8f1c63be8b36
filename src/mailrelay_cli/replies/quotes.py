"""Splitting a reply's text into what the person wrote now and what they quoted or signed.

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
"""

from __future__ import annotations

import re

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
            following = next((lines[j] for j in range(index, len(lines)) if lines[j].strip()), None)
            if following is None or not _QUOTED.match(following):
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
