"""The decision a reply's new text states (approve or reject), and the comment after it.

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
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Literal

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


@dataclass(frozen=True)
class Decision:
    """What the first line of a reply's new text says, and the comment below it."""

    kind: DecisionKind | None
    comment: str


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
