"""How each mail client lays out a reply around the approver's new text.

A shape takes the language, the approver's new lines and the request (as mailrelay rendered
it) and returns the body as that client sends it: ``("plain", text)``, ``("flowed", text)``
(format=flowed, as iOS Mail and Thunderbird send) or ``("html", markup)`` (HTML-only clients).
"""

from __future__ import annotations

import html
import textwrap
from collections.abc import Callable
from dataclasses import dataclass

from tests.reply_corpus.languages import ADDR, Language


@dataclass(frozen=True)
class Request:
    subject: str
    text: str
    html: str  # the full HTML part

    @property
    def html_body(self) -> str:
        """What a client embeds of the request's HTML: the inside of its <body>."""
        start = self.html.index(">", self.html.index("<body")) + 1
        return self.html[start : self.html.index("</body>")]


Body = tuple[str, str]
Shape = Callable[[Language, list[str], Request], Body]


def _quote(text: str) -> list[str]:
    return [f"> {line}" if line.strip() else ">" for line in text.rstrip("\n").split("\n")]


def _rewrapped_quote(text: str, width: int) -> list[str]:
    out: list[str] = []
    for line in text.rstrip("\n").split("\n"):
        pieces = textwrap.wrap(line, width, break_long_words=False, break_on_hyphens=False)
        out.extend(f"> {piece}" for piece in pieces or [""])
    return [line if line != "> " else ">" for line in out]


def _fields(lang: Language, req: Request, *, bold: bool = False, mailto: bool = False) -> list[str]:
    labels = [f"*{label}*" for label in lang.fields] if bold else list(lang.fields)
    sender = f"Mailrelay [mailto:{ADDR}]" if mailto else f"Mailrelay <{ADDR}>"
    return [
        f"{labels[0]} {sender}",
        f"{labels[1]} {lang.sent_value}",
        f"{labels[2]} {lang.name} <approver@example.com>",
        f"{labels[3]} {req.subject}",
    ]


def _html_lines(lines: list[str]) -> str:
    return "".join(f"<div>{html.escape(line) if line else '<br>'}</div>" for line in lines)


def _text(*parts: list[str]) -> str:
    return "\n".join(line for part in parts for line in part) + "\n"


def gmail_text_top(lang: Language, new: list[str], req: Request) -> Body:
    return "plain", _text(new, ["", lang.gmail_attr, ""], _quote(req.text))


def gmail_html_only_top(lang: Language, new: list[str], req: Request) -> Body:
    return "html", (
        f'<div dir="ltr">{_html_lines(new)}</div><br><div class="gmail_quote">'
        f'<div dir="ltr" class="gmail_attr">{html.escape(lang.gmail_attr)}<br></div>'
        '<blockquote class="gmail_quote" style="margin:0px 0px 0px 0.8ex;border-left:1px solid '
        f'rgb(204,204,204);padding-left:1ex">{req.html_body}</blockquote></div>'
    )


def gmail_wrapped_attribution(lang: Language, new: list[str], req: Request) -> Body:
    attr = lang.gmail_attr
    cut = attr.index(" <") if " <" in attr else attr.index(" (")
    lines = [attr[:cut] + " " + attr[cut + 1], attr[cut + 2 :]]
    return "plain", _text(new, [""], lines, [""], _quote(req.text))


def outlook_text_underscores(lang: Language, new: list[str], req: Request) -> Body:
    return "plain", _text(new, ["", "_" * 32], _fields(lang, req), [""], req.text.split("\n"))


def outlook_text_original_message(lang: Language, new: list[str], req: Request) -> Body:
    return "plain", _text(new, ["", "", lang.original], _fields(lang, req), [""], req.text.split("\n"))


def outlook_text_no_separator(lang: Language, new: list[str], req: Request) -> Body:
    return "plain", _text(new, [""], _fields(lang, req), [""], req.text.split("\n"))


def outlook_bold_mailto(lang: Language, new: list[str], req: Request) -> Body:
    return "plain", _text(new, [""], _fields(lang, req, bold=True, mailto=True), [""], req.text.split("\n"))


def outlook_html_only(lang: Language, new: list[str], req: Request) -> Body:
    fields = "<br>".join(
        f"<b>{html.escape(label)}</b> {html.escape(value)}"
        for label, value in zip(
            lang.fields,
            [f"Mailrelay <{ADDR}>", lang.sent_value, f"{lang.name} <approver@example.com>", req.subject],
            strict=True,
        )
    )
    return "html", (
        f'<div style="font-family:Calibri">{_html_lines(new)}</div>'
        '<hr style="display:inline-block;width:98%" tabindex="-1">'
        '<div id="divRplyFwdMsg" dir="ltr"><font face="Calibri, sans-serif" '
        f'style="font-size:11pt" color="#000000">{fields}</font><div>&nbsp;</div></div>'
        f"{req.html_body}"
    )


def windows_mail_html_only(lang: Language, new: list[str], req: Request) -> Body:
    # Windows Mail: the header block is plain bold lines in a div whose top border is
    # written as border-top-style, which no separator rule knows.
    fields = "<br>".join(
        f"<b>{html.escape(label)} </b>{value}"
        for label, value in zip(
            lang.fields,
            [
                f'<a href="mailto:{ADDR}">Mailrelay</a>',
                html.escape(lang.sent_value),
                html.escape(f"{lang.name}"),
                html.escape(req.subject),
            ],
            strict=True,
        )
    )
    return "html", (
        f'<div dir="ltr">{_html_lines(new)}<div><br></div>'
        '<div style="padding-top: 5px; border-top-color: rgb(229, 229, 229); '
        'border-top-width: 1px; border-top-style: solid;"><div><font face=",sans-serif">'
        f"{fields}</font></div></div><div><br></div><div>{req.html_body}</div></div>"
    )


def apple_mail_text_top(lang: Language, new: list[str], req: Request) -> Body:
    return "plain", _text(new, ["", lang.apple_attr, ""], _quote(req.text))


def ios_mail_flowed(lang: Language, new: list[str], req: Request) -> Body:
    # format=flowed: the attribution is one line broken softly (a trailing space).
    pieces = textwrap.wrap(lang.apple_attr, 36, break_long_words=False)
    attr = [piece + " " for piece in pieces[:-1]] + pieces[-1:]
    return "flowed", _text(new, ["", lang.phone, ""], attr, [""], _quote(req.text))


def thunderbird_bottom_posted(lang: Language, new: list[str], req: Request) -> Body:
    return "plain", _text(
        [lang.thunderbird_attr], _quote(req.text), [""], new, ["", "-- ", lang.name, "Release manager"]
    )


def thunderbird_html_bottom_posted(lang: Language, new: list[str], req: Request) -> Body:
    text = "<br>".join(html.escape(line) for line in new)
    return "html", (
        f'<div class="moz-cite-prefix">{html.escape(lang.thunderbird_attr)}<br></div>'
        f'<blockquote type="cite">{req.html_body}</blockquote><p>{text}</p>'
        f'<div class="moz-signature">-- <br>{html.escape(lang.name)}</div>'
    )


def samsung_email(lang: Language, new: list[str], req: Request) -> Body:
    phone = lang.phone.replace("iPhone", "Samsung Galaxy")
    return "plain", _text(
        new, ["", "", phone, "", "", lang.forwarded_original], _fields(lang, req), [""], req.text.split("\n")
    )


def outlook_mobile(lang: Language, new: list[str], req: Request) -> Body:
    return "plain", _text(
        new, ["", lang.outlook_mobile, "", "_" * 32], _fields(lang, req), [""], req.text.split("\n")
    )


def date_first_attribution(lang: Language, new: list[str], req: Request) -> Body:
    return "plain", _text(new, ["", lang.date_first_attr, ""], _quote(req.text))


def framed_attribution(lang: Language, new: list[str], req: Request) -> Body:
    return "plain", _text(new, ["", lang.framed_attr, ""], _quote(req.text))


def rewrapped_bottom_posted(lang: Language, new: list[str], req: Request) -> Body:
    return "plain", _text([lang.name_wrote], _rewrapped_quote(req.text, 46), [""], new)


def html_shared_block(lang: Language, new: list[str], req: Request) -> Body:
    # Android mail apps: the attribution sits in the same block as the new text.
    text = "<br>".join(html.escape(line) for line in new)
    return "html", (
        f"<div>{text}<br>{html.escape(lang.gmail_attr)}<br>"
        f'<blockquote style="margin:0 0 0 .8ex">{req.html_body}</blockquote></div>'
    )


def header_block_quote_cut(lang: Language, new: list[str], req: Request) -> Body:
    # The client cut the quoted request: only the header block is left.
    return "plain", _text(new, [""], _fields(lang, req))


def attribution_quote_cut(lang: Language, new: list[str], req: Request) -> Body:
    # The phone app kept the attribution and one quoted line of the request.
    first = req.text.split("\n")[0]
    return "plain", _text(new, ["", lang.gmail_attr, ""], [f"> {first}", ">", "> [...]"])


def outlook_mac_header_order(lang: Language, new: list[str], req: Request) -> Body:
    # Outlook for Mac: another field order, a Cc line, no separator, the date as a field.
    fields = _fields(lang, req)
    return "plain", _text(
        new, ["", fields[0], fields[2], "Cc: ops@example.com", fields[1], fields[3], ""], req.text.split("\n")
    )


def decorated_bold_separator(lang: Language, new: list[str], req: Request) -> Body:
    return "plain", _text(
        new, ["", f"*{lang.forwarded_original}*"], _fields(lang, req, bold=True), [""], req.text.split("\n")
    )


def attribution_wrapped_three_lines(lang: Language, new: list[str], req: Request) -> Body:
    # A hard-wrapped attribution right under the new text, no blank line between.
    width = len(lang.apple_attr) // 3 + 2
    while len(attr := textwrap.wrap(lang.apple_attr, width, break_long_words=False)) > 3:
        width += 2
    return "plain", _text(new, attr, [""], _quote(req.text))


def outlook_web_shared_block(lang: Language, new: list[str], req: Request) -> Body:
    # Outlook on the web: the new text and the header block in one div, the request below.
    text = "<br>".join(html.escape(line) for line in new)
    labels = lang.fields
    block = (
        f"<b>{html.escape(labels[0])}</b> Mailrelay &lt;{ADDR}&gt;<br>"
        f"<b>{html.escape(labels[1])}</b> {html.escape(lang.sent_value)}<br>"
        f"<b>{html.escape(labels[2])}</b> {html.escape(lang.name)}<br>"
        f"<b>{html.escape(labels[3])}</b> {html.escape(req.subject)}"
    )
    return "html", f"<div>{text}<br><br>{block}</div><div>{req.html_body}</div>"


def signature_then_quote(lang: Language, new: list[str], req: Request) -> Body:
    # A "-- " signature block and a phone footer between the new text and the quote.
    return "plain", _text(
        new,
        [
            "",
            "-- ",
            lang.name,
            "Release team | +49 30 1234567",
            "",
            lang.outlook_mobile + "<https://aka.ms/o0ukef>",
            "",
            lang.gmail_attr,
        ],
        _quote(req.text),
    )


def outlook_mobile_android_html(lang: Language, new: list[str], req: Request) -> Body:
    # Outlook for Android: HTML-only, the footer in its own div, the header after an <hr>.
    fields = "<br>".join(
        f"<b>{html.escape(label)}</b> {html.escape(value)}"
        for label, value in zip(
            lang.fields, [f"Mailrelay <{ADDR}>", lang.sent_value, lang.name, req.subject], strict=True
        )
    )
    return "html", (
        f'<div dir="auto">{_html_lines(new)}</div><div dir="auto"><br></div>'
        f'<div dir="auto">{html.escape(lang.outlook_mobile.replace("iOS", "Android"))}</div>'
        f'<hr style="display:inline-block;width:98%"><div dir="ltr">{fields}</div>'
        f"<div>&nbsp;</div>{req.html_body}"
    )


SHAPES: dict[str, tuple[Shape, bool]] = {  # name -> (shape, bottom-posted)
    "gmail_text_top": (gmail_text_top, False),
    "gmail_html_only_top": (gmail_html_only_top, False),
    "gmail_wrapped_attribution": (gmail_wrapped_attribution, False),
    "outlook_text_underscores": (outlook_text_underscores, False),
    "outlook_text_original_message": (outlook_text_original_message, False),
    "outlook_text_no_separator": (outlook_text_no_separator, False),
    "outlook_bold_mailto": (outlook_bold_mailto, False),
    "outlook_html_only": (outlook_html_only, False),
    "windows_mail_html_only": (windows_mail_html_only, False),
    "apple_mail_text_top": (apple_mail_text_top, False),
    "ios_mail_flowed": (ios_mail_flowed, False),
    "thunderbird_bottom_posted": (thunderbird_bottom_posted, True),
    "thunderbird_html_bottom_posted": (thunderbird_html_bottom_posted, True),
    "samsung_email": (samsung_email, False),
    "outlook_mobile": (outlook_mobile, False),
    "date_first_attribution": (date_first_attribution, False),
    "framed_attribution": (framed_attribution, False),
    "rewrapped_bottom_posted": (rewrapped_bottom_posted, True),
    "html_shared_block": (html_shared_block, False),
    "header_block_quote_cut": (header_block_quote_cut, False),
    "attribution_quote_cut": (attribution_quote_cut, False),
    "outlook_mac_header_order": (outlook_mac_header_order, False),
    "decorated_bold_separator": (decorated_bold_separator, False),
    "attribution_wrapped_three_lines": (attribution_wrapped_three_lines, False),
    "outlook_web_shared_block": (outlook_web_shared_block, False),
    "signature_then_quote": (signature_then_quote, False),
    "outlook_mobile_android_html": (outlook_mobile_android_html, False),
}
