"""What one line of a reply looks like: quoted, a quote header, a separator, a signature.

Two kinds of rule live here. The shape rules need no word list and work in
any language: a ``Label: value`` line, a short line ending in a colon, a
decorated separator (``-----Oprindelig meddelelse-----``, ``*-------- … --------*``,
``---- On … wrote ----``), an address in angle brackets next to a date. They
are used next to the request's fingerprint (``quotes``), where the quoted
request itself proves that a quote starts there.

The language rules are the second line of defence, for replies whose quote the
client cut (no request text to match): attributions, "original message"
separators, Outlook header fields and phone/app signatures in English,
German, French, Spanish, Italian, Dutch, Portuguese, Danish, Norwegian,
Swedish, Russian, Polish, Czech, Finnish, Greek, Hungarian, Turkish, Arabic,
Chinese, Japanese and Korean.
"""

from __future__ import annotations

import re

QUOTED = re.compile(r"^\s*>")
_COLON_END = re.compile(r"[:：]\s*[*_]?\s*$")
_DIGIT = re.compile(r"\d")
_ADDRESS = re.compile(r"[<(\[]\s*(?:mailto:)?[^\s<>()\[\]@]+@[^\s<>()\[\]]+\s*[>)\]]|\S+@\S+\.\w+")
_TIME_OR_DATE = re.compile(r"\d{1,2}[:.h]\d{2}|\d{4}|\d{1,4}[./-]\d{1,2}[./-]\d{1,4}|\d{4}年")
# A sentence ends in ! ? 。 or a full stop after a word of four letters or more ("kl." and
# "2025." in dates do not end one).
_SENTENCE_END = re.compile(r"(?:[!?。！？]|[^\W\d_]{4,}\.)[\s\"'”»)]*$")

# -- shape rules (any language) -----------------------------------------------------------

# "Label: value" (label: up to four words, letters only), as mail header blocks in any
# language and their bold (*Van:*) and HTML-rendered forms.
_FIELD_LINE = re.compile(
    r"^\s*[*_]{0,2}\s*([^\W\d_][^\W\d_'’.-]*(?:[ .'’-][^\W\d_]+){0,3})\s*[*_]{0,2}\s*[:：]"
    r"(?!//)\s*[*_]{0,2}(.*)$"
)
# A line of dashes, underscores, equals signs or stars, or text framed by them.
_DECORATED = re.compile(
    r"^\s*[*_]?\s*(?:[-_=~*]{5,}|[-=_~]{3,}\s*\*?\s*\S.{0,200}?\S\s*\*?\s*[-=_~]{3,})\s*[*_]?\s*$"
)


def is_quoted(line: str) -> bool:
    return line.lstrip().startswith(">")  # QUOTED, without a regular expression per line


def unquote(line: str) -> str:
    """The line without its leading ``>`` marks."""
    return re.sub(r"^(?:\s*>)+\s?", "", line)


_BIDI = re.compile("^[\u200e\u200f\u202a-\u202e\u2066-\u2069\ufeff]+")


def field_label(line: str) -> str | None:
    """The label of a ``Label: value`` line (any language), or None."""
    if ":" not in line and "：" not in line:
        return None
    found = _FIELD_LINE.match(_BIDI.sub("", line))
    if not found or len(line) > 400:
        return None
    return found.group(1).strip().casefold()


def is_decorated_separator(line: str) -> bool:
    """A line of 5+ dashes/underscores/equals, or short text framed by 3+ of them."""
    if len(line) > 240 or not ("-" in line or "_" in line or "=" in line or "~" in line or "*" in line):
        return False
    return bool(_DECORATED.match(line))


def ends_with_colon(line: str) -> bool:
    return line.rstrip(" \t*_")[-1:] in (":", "：") and bool(_COLON_END.search(line))


def has_date_or_address(line: str) -> bool:
    return bool(_ADDRESS.search(line) or _TIME_OR_DATE.search(line))


def has_address(line: str) -> bool:
    return bool(_ADDRESS.search(line))


def has_digit_or_at(line: str) -> bool:
    return bool(_DIGIT.search(line)) or "@" in line


def ends_a_sentence(line: str) -> bool:
    return bool(_SENTENCE_END.search(line))


def attribution_shape(line: str) -> bool:
    """One line that reads as a quote's attribution in any language: a short line ending in a
    colon (``… skrev …:``, ``Name <addr>:``), a framed one (``---- On … wrote ----``), or an
    address next to a date (date-first, without a colon: ``2013/7/20 Name <addr>``)."""
    text = line.strip()
    if not text or len(text) > 300:
        return False
    if ends_with_colon(text):
        return has_digit_or_at(text) or len(text.split()) <= 8
    if is_decorated_separator(text):
        return True
    return has_address(text) and bool(_TIME_OR_DATE.search(text)) and len(text.split()) <= 14


_ATTRIBUTION_STARTER = re.compile(
    r"^\s*(?:On|Am|Le|El|Il|Op|Em|Den|Dne|W dniu|No dia|Στις|Wiadomość napisana|في|在)(?:\s|$)",
    re.IGNORECASE,
)


def starts_attribution(line: str) -> bool:
    """Whether ``line`` starts as attributions do in a listed language (``On …``, ``Den …``)."""
    return bool(_ATTRIBUTION_STARTER.match(line))


def continues_upward(upper: str, lower: str) -> bool:
    """Whether ``lower`` reads as the wrapped continuation of ``upper`` in an attribution."""
    lower_text = lower.lstrip(" *_")
    if upper.rstrip().endswith((",", "，", "、")):
        return True
    first = lower_text[:1]
    return bool(first) and (first in "<([\"'«" or (first.isalpha() and first.islower()))


# -- language rules (the second line of defence) ------------------------------------------

_ATTRIBUTION_PATTERNS = (
    r"On\s.{1,300}?\bwrote",  # English
    r"Am\s.{1,300}?\bschrieb\b.{0,300}?",  # German
    r"Le\s.{1,300}?\ba\s+écrit",  # French
    r"El\s.{1,300}?\bescribió",  # Spanish
    r"Il\s.{1,300}?\bha\s+scritto",  # Italian
    r"Op\s.{1,300}?\b(?:schreef|geschreven)\b.{0,300}?",  # Dutch
    r"(?:Em|No\s+dia)\s.{1,300}?\bescreveu\b.{0,300}?",  # Portuguese
    r"(?:Den\s)?.{1,300}?\bskrev\b.{0,300}?",  # Danish, Norwegian, Swedish
    r".{1,300}?\b(?:пишет|написал\w*)\b.{0,300}?",  # Russian
    r".{1,300}?\bnapisał(?:\(a\)|a)?|Wiadomość napisana przez\s.{1,300}?",  # Polish
    r".{1,300}?\bnapsal(?:\(a\)|a)?",  # Czech
    r".{1,300}?\bkirjoitti",  # Finnish
    r".{1,300}?\bέγραψε",  # Greek
    r".{1,300}?\bezt\s+írta\b.{0,300}?",  # Hungarian
    r".{1,300}?\bşunu\s+yazdı",  # Turkish
    r".{0,300}?كتب.{0,300}?",  # Arabic
    r".{1,300}?写道",  # Chinese
    r".{1,300}?(?:のメッセージ|は書きました)",  # Japanese
    r"\S.{0,300}?\bwrote",  # English, date or name first (Thunderbird: "03/03/2025 10:00, X wrote:")
    r".{1,300}?님이\s*작성",  # Korean
)
_ATTRIBUTION = re.compile(r"^\s*(?:" + "|".join(_ATTRIBUTION_PATTERNS) + r")\s*[:：]\s*$", re.IGNORECASE)
# Attributions that clients end without a colon.
_ATTRIBUTION_NO_COLON = re.compile(
    r"^\s*-{2,}\s*(?:On|Am|Le|El)\s.{1,300}\s-{2,}\s*$|"
    r"^\s*\d{4}[/.-]\d{1,2}[/.-]\d{1,2}\b.{0,120}?<[^<>\s]+@[^<>\s]+>\s*$",
    re.IGNORECASE,
)
_ORIGINAL_MESSAGE = (
    "original message|ursprüngliche nachricht|originalnachricht|message d'origine|"
    "mensaje original|messaggio originale|oorspronkelijk bericht|oorspronkelijk e-mailbericht|"
    "mensagem original|oprindelig meddelelse|opprinnelig melding|ursprungligt meddelande|"
    "исходное сообщение|пересылаемое сообщение|wiadomość oryginalna|oryginalna wiadomość|"
    "původní zpráva|alkuperäinen viesti|αρχικό μήνυμα|eredeti üzenet|orijinal mesaj|"
    "özgün ileti|الرسالة الأصلية|原始邮件|原始郵件|元のメッセージ|원본 메시지|"
    "forwarded message|weitergeleitete nachricht|message transféré|mensaje reenviado|"
    "messaggio inoltrato|doorgestuurd bericht|mensagem encaminhada|videresendt meddelelse|"
    "vidarebefordrat meddelande|пересланное сообщение|wiadomość przekazana|přeposlaná zpráva"
)
_SEPARATOR = re.compile(
    r"^\s*\*?\s*(?:_{20,}"
    rf"|[-=]{{2,}}\s*(?:{_ORIGINAL_MESSAGE})\s*[-=]{{2,}}"
    r"|begin forwarded message:|anfang der weitergeleiteten nachricht:"
    r"|début du message réexpédié\s*:|inicio del mensaje reenviado:)\s*\*?\s*$",
    re.IGNORECASE,
)
# Outlook header block fields: who it was from, when, and to whom / about what.
_FROM_LABELS = frozenset(
    [
        "from",
        "von",
        "de",
        "da",
        "van",
        "fra",
        "från",
        "от",
        "od",
        "lähettäjä",
        "από",
        "feladó",
        "kimden",
        "من",
        "发件人",
        "寄件者",
        "差出人",
    ]
) | {"보낸 사람"}
_DATE_LABELS = frozenset(
    [
        "sent",
        "date",
        "gesendet",
        "datum",
        "envoyé",
        "envoyée",
        "enviado",
        "enviada",
        "fecha",
        "inviato",
        "data",
        "verzonden",
        "sendt",
        "dato",
        "skickat",
        "отправлено",
        "дата",
        "wysłano",
        "odesláno",
        "lähetetty",
        "päivämäärä",
        "στάλθηκε",
        "ημερομηνία",
        "elküldve",
        "dátum",
        "gönderildi",
        "gönderilme",
        "tarih",
        "تاريخ",
        "أرسل",
        "أُرسل",
        "发送时间",
        "日期",
        "寄件日期",
        "送信日時",
        "日付",
        "날짜",
    ]
) | {"보낸 날짜", "gönderme tarihi", "تاريخ الإرسال"}
_TO_LABELS = frozenset(
    [
        "to",
        "an",
        "à",
        "a",
        "para",
        "aan",
        "til",
        "till",
        "кому",
        "do",
        "komu",
        "vastaanottaja",
        "προς",
        "címzett",
        "kime",
        "إلى",
        "收件人",
        "收件者",
        "宛先",
        "subject",
        "betreff",
        "objet",
        "asunto",
        "oggetto",
        "onderwerp",
        "assunto",
        "emne",
        "ämne",
        "тема",
        "temat",
        "předmět",
        "aihe",
        "θέμα",
        "tárgy",
        "konu",
        "الموضوع",
        "主题",
        "主旨",
        "件名",
        "제목",
        "cc",
        "копия",
        "dw",
        "kopie",
        "kopio",
        "kopia",
        "κοιν",
        "bilgi",
        "抄送",
        "副本",
        "참조",
    ]
) | {"받는 사람", "másolatot kap"}
_SIGNATURE = re.compile(
    r"^\s*(?:--"
    r"|sent from my [\w .'-]{1,40}|sent from (?:outlook|mail|yahoo mail)\b[\w .-]{0,40}"
    r"|get outlook for (?:ios|android)\s*(?:<[^>\s]*>)?"
    r"|von meinem [\w .'-]{1,40} gesendet|gesendet von [\w .'-]{1,40}"
    r"|outlook für (?:ios|android) herunterladen\s*(?:<[^>\s]*>)?"
    r"|envoyé de mon [\w .'-]{1,40}|envoyé depuis [\w .'-]{1,40}"
    r"|télécharger outlook pour (?:ios|android)\s*(?:<[^>\s]*>)?"
    r"|enviado desde mi [\w .'-]{1,40}|obtener outlook para (?:ios|android)\s*(?:<[^>\s]*>)?"
    r"|inviato da(?:l mio)? [\w .'-]{1,40}|scarica outlook per (?:ios|android)"
    r"|verzonden (?:vanaf|met) (?:mijn )?[\w .'-]{1,40}|outlook voor (?:ios|android) downloaden"
    r"|enviado (?:do|a partir do|de) (?:meu )?[\w .'-]{1,40}|baixe o outlook para (?:ios|android)"
    r"|sendt fra (?:min |mit )?[\w .'-]{1,40}|hent outlook til (?:ios|android)"
    r"|skickat från (?:min )?[\w .'-]{1,40}|skaffa outlook för (?:ios|android)"
    r"|отправлено (?:с|из) [\w .'-]{1,40}|загрузите outlook для (?:ios|android)"
    r"|wysłane z (?:mojego )?[\w .'-]{1,40}|pobierz (?:aplikację )?outlook dla [\w .'-]{1,20}"
    r"|odesláno z [\w .'-]{1,40}|lähetetty [\w .'-]{1,30}(?:sta|stä|lta|ltä)"
    r"|στάλθηκε από [\w .'-]{1,40}|[\w .'-]{1,30}-r[óő]l küldve|"
    r"[\w .'-]{1,30}(?:'[a-zıüöç]+)? gönderildi|أرسلت من [\w .'-]{1,40}|أُرسلت من [\w .'-]{1,40}"
    r"|从我的\s?[\w .'-]{1,30}发送|发自我的\s?[\w .'-]{1,30}|[\w .'-]{1,30}から送信"
    r"|[\w .'-]{1,30}에서 보냄)\s*(?:<[^>\s]*>)?\s*$",
    re.IGNORECASE,
)
# A footer a phone or mail app adds, in any language: a short line naming the device or app.
_DEVICE_FOOTER = re.compile(
    r"\b(?:iphone|ipad|android|galaxy|samsung|huawei|xiaomi|pixel|blackberry|outlook|"
    r"yahoo mail|aol mail|gmail|proton ?mail|spark|mail for windows|windows mail)\b"
    r"|iPhone|iPad|Android",
    re.IGNORECASE,
)


def language_attribution(text: str) -> bool:
    """An attribution in one of the languages listed in the module doc (the joined lines)."""
    end = text.rstrip()[-1:]
    if end not in (":", "：", "-", ">") or len(text) > 700:
        return False  # every pattern ends so: most lines are turned away before any regex
    return bool(_ATTRIBUTION.match(text) or _ATTRIBUTION_NO_COLON.match(text))


def language_separator(line: str) -> bool:
    """Outlook's underscores, or an "original/forwarded message" line in a listed language."""
    if not ("_" in line or "-" in line or "=" in line or ":" in line):
        return False
    return bool(_SEPARATOR.match(line))


def field_kind(line: str) -> str | None:
    """``from``, ``date`` or ``to`` for an Outlook header field in a listed language."""
    label = field_label(line)
    if label is None:
        return None
    if label in _FROM_LABELS:
        return "from"
    if label in _DATE_LABELS:
        return "date"
    if label in _TO_LABELS:
        return "to"
    return None


def is_signature_start(line: str) -> bool:
    """``-- `` or a phone/app line ("Sent from my …") in a listed language."""
    return bool(_SIGNATURE.match(line)) and len(line) <= 120


def is_device_footer(line: str) -> bool:
    """A short line naming a phone or mail app, as apps add at the end, in any language."""
    text = line.strip()
    return (
        0 < len(text) <= 80
        and len(text.split()) <= 8
        and bool(_DEVICE_FOOTER.search(text))
        and not ends_a_sentence(text.rstrip("<>"))
    )
