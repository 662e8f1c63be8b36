"""reply_text: what a reply says, who sent it, and whether a machine wrote it.

The corpus tests run every file in tests/replies/ through the same steps as a
process-replies run; the unit tests pin each rule on its own.
"""

from __future__ import annotations

import re
import subprocess
import sys
from email.message import EmailMessage

import pytest

from mailrelay_cli.replies.automatic import authentication_failed, automatic_kind
from mailrelay_cli.replies.body import body_text, reference_text, unflow
from mailrelay_cli.replies.decision import APPROVE_WORDS, REJECT_WORDS, Decision, decision
from mailrelay_cli.replies.headers import sender_address, threading_ids
from mailrelay_cli.replies.html_text import OUTLOOK_SEPARATOR, html_to_text
from mailrelay_cli.replies.parse import parse_message, unreadable_reason
from mailrelay_cli.replies.quotes import split_reply
from tests.fixtures.replies import REFERENCE, REQUEST_MESSAGE_ID, load_reply, reply_names

# --- the corpus ------------------------------------------------------------------------------

# fixture -> (From address, decision kind, comment)
DECIDES: dict[str, tuple[str, str | None, str]] = {
    "outlook_desktop_en": (
        "bob@example.com",
        "approve",
        "Looks good, go ahead after the 14:00 standup.\n\nBob",
    ),
    "outlook_desktop_de_windows1252": (
        "Juergen.Schmidt@example.de",
        "approve",
        "Bitte erst nach 18 Uhr ausrollen, dann ist der Support besetzt.\n\nGrüße\nJürgen",
    ),
    "outlook_html_only_en": (
        "bob@example.com",
        "reject",
        "the changelog is missing the migration step.\n\nBob",
    ),
    "outlook_web_fr_latin1": ("amelie.dubois@example.fr", "approve", "Merci, bon déploiement."),
    "outlook_ios_en": ("bob@example.com", "approve", ""),
    "outlook_android_es_base64": ("jose.garcia@example.es", "reject", "falta la aprobación de QA."),
    "gmail_web_en": ("bob@example.com", "approve", "Ship it after the standup."),
    "gmail_web_de": (
        "anna.becker@example.de",
        "reject",
        "erst nach dem Code-Freeze am Freitag.\n\nViele Grüße\nAnna",
    ),
    "apple_mail_fr": (
        "amelie.dubois@example.fr",
        "reject",
        "pas avant lundi : la base de données n’est pas sauvegardée.\n\nAmélie",
    ),
    "ios_mail_en": ("bob@example.com", "approve", ""),
    "ios_mail_es_latin1": ("jose.garcia@example.es", "approve", "adelante."),
    "ios_mail_de": ("anna.becker@example.de", "approve", ""),
    "thunderbird_de_flowed": (
        "juergen.schmidt@example.de",
        "approve",
        "Rollback-Plan liegt im Wiki, bitte vorher kurz Bescheid geben.",
    ),
    "thunderbird_en_bottom_posted": ("carol@example.com", "approve", "The rollback plan is ready."),
    "thunderbird_es_html_bottom_posted": (
        "jose.garcia@example.es",
        "reject",
        "Primero hay que migrar la base de datos.",
    ),
    "android_gmail_fr_base64": ("amelie.dubois@example.fr", "approve", ""),
    "android_samsung_en": ("bob@example.com", "reject", "Wait for the security review."),
    "quoted_approve_empty_new_text": ("mallory@example.com", None, ""),
    "quoted_approve_unrelated_new_text": ("bob@example.com", None, ""),
    "malformed_boundary_mismatch": ("bob@example.com", "approve", "Fine by me."),
    "malformed_truncated": ("bob@example.com", "reject", "The smoke tests are red."),
    "charset_unknown": ("anna.becker@example.de", "approve", "Grüße aus Köln"),
    "charset_utf8_invalid_byte": ("bob@example.com", "approve", "Budget: 5\ufffd EUR"),
    "empty_body": ("bob@example.com", None, ""),
}

# fixture -> automatic kind (these never decide, whatever their text says)
AUTOMATIC: dict[str, str] = {
    "out_of_office_en_exchange": "auto-reply",
    "out_of_office_de_subject_only": "auto-reply",
    "out_of_office_fr_x_autoreply": "auto-reply",
    "out_of_office_es_subject": "auto-reply",
    "mailing_list_copy": "auto-reply",
    "bounce_dsn_postfix": "bounce",
}

UNREADABLE = ["not_a_message"]


def _decide(raw: bytes) -> Decision:
    new_text, _quoted = split_reply(body_text(parse_message(raw)))
    return decision(new_text)


def test_every_fixture_has_an_expected_outcome() -> None:
    assert sorted([*DECIDES, *AUTOMATIC, *UNREADABLE]) == reply_names()


@pytest.mark.parametrize("name", sorted(DECIDES))
def test_corpus_reply_decision_and_comment(name: str) -> None:
    _sender, kind, comment = DECIDES[name]
    assert _decide(load_reply(name)) == Decision(kind, comment)


@pytest.mark.parametrize("name", sorted(DECIDES))
def test_corpus_reply_is_not_automatic(name: str) -> None:
    assert automatic_kind(parse_message(load_reply(name))) is None


@pytest.mark.parametrize("name", sorted(DECIDES))
def test_corpus_reply_sender_is_the_from_address(name: str) -> None:
    assert sender_address(parse_message(load_reply(name))) == DECIDES[name][0]


@pytest.mark.parametrize("name", sorted(AUTOMATIC))
def test_corpus_automatic_message_is_recognised(name: str) -> None:
    assert automatic_kind(parse_message(load_reply(name))) == AUTOMATIC[name]


@pytest.mark.parametrize("name", UNREADABLE)
def test_corpus_unreadable_message_is_reported(name: str) -> None:
    assert unreadable_reason(parse_message(load_reply(name))) is not None


@pytest.mark.parametrize("name", sorted([*DECIDES, *AUTOMATIC]))
def test_corpus_message_is_readable(name: str) -> None:
    assert unreadable_reason(parse_message(load_reply(name))) is None


@pytest.mark.parametrize("name", sorted([*DECIDES, *AUTOMATIC]))
def test_corpus_reference_is_found_in_subject_or_body(name: str) -> None:
    assert REFERENCE in reference_text(parse_message(load_reply(name)))


def test_corpus_replacements_reach_headers_and_quoted_printable_bodies() -> None:
    raw = load_reply("outlook_desktop_de_windows1252", {REFERENCE.encode(): b"MR-OTHER-0000"})
    msg = parse_message(raw)
    assert REFERENCE not in reference_text(msg)
    assert reference_text(msg).count("MR-OTHER-0000") >= 2


# --- parse_message ---------------------------------------------------------------------------


def message(headers: str, body: str = "Approve\n") -> EmailMessage:
    return parse_message((headers.strip("\n") + "\n\n" + body).encode("utf-8"))


def test_parse_message_of_empty_bytes_is_unreadable() -> None:
    assert unreadable_reason(parse_message(b"")) == "the message is empty"


def test_parse_message_without_any_header_is_unreadable() -> None:
    assert unreadable_reason(parse_message(b"just some words\nand more\n")) is not None


def test_parse_message_of_a_plain_message_is_readable() -> None:
    assert unreadable_reason(message("From: bob@example.com\nSubject: hi")) is None


def test_parse_message_still_decodes_headers_for_callers() -> None:
    msg = message("From: b@example.com\nSubject: =?utf-8?q?Re=3A_d=C3=A9ploiement?=")
    assert str(msg.get("Subject")) == "Re: déploiement"


def test_parse_message_reads_a_content_type_with_8bit_bytes() -> None:
    raw = b"From: b@example.com\nContent-Type: text/plain; name=\xe9t\xe9\n\nOui\n"
    assert body_text(parse_message(raw)).strip() == "Oui"


def test_parse_message_resplits_a_multipart_on_the_boundary_its_body_uses() -> None:
    msg = message(
        'From: bob@example.com\nContent-Type: multipart/mixed; boundary="declared"',
        "--used\nContent-Type: text/plain\n\nApprove\n--used--\n",
    )
    assert msg.is_multipart()
    assert body_text(msg).strip() == "Approve"


def test_parse_message_without_any_boundary_keeps_the_body_as_text() -> None:
    msg = message('From: bob@example.com\nContent-Type: multipart/mixed; boundary="x"', "Reject\n")
    assert body_text(msg).strip() == "Reject"


# --- body_text -------------------------------------------------------------------------------

ALTERNATIVE = 'From: bob@example.com\nMIME-Version: 1.0\nContent-Type: multipart/alternative; boundary="b"'


def test_body_text_prefers_the_plain_part_over_html() -> None:
    msg = message(
        ALTERNATIVE,
        "--b\nContent-Type: text/plain\n\nplain words\n"
        "--b\nContent-Type: text/html\n\n<p>html words</p>\n--b--\n",
    )
    assert body_text(msg).strip() == "plain words"


def test_body_text_converts_html_when_there_is_no_plain_part() -> None:
    html = "<div>Reject</div><div>late</div>"
    msg = message("From: bob@example.com\nContent-Type: text/html", html)
    assert body_text(msg) == "Reject\nlate"


def test_body_text_skips_text_attachments() -> None:
    msg = message(
        'From: bob@example.com\nContent-Type: multipart/mixed; boundary="b"',
        "--b\nContent-Type: text/plain\nContent-Disposition: attachment; filename=log.txt\n\n"
        "approve from the log\n--b\nContent-Type: text/plain\n\nReject\n--b--\n",
    )
    assert body_text(msg).strip() == "Reject"


def test_body_text_never_comes_from_an_attached_message() -> None:
    msg = message(
        'From: bob@example.com\nContent-Type: multipart/mixed; boundary="b"',
        "--b\nContent-Type: message/rfc822\n\nFrom: alice@example.com\nContent-Type: text/plain\n\n"
        "Approve\n--b--\n",
    )
    assert body_text(msg) == ""


def test_body_text_reads_an_unknown_charset_as_utf8() -> None:
    raw = "From: bob@example.com\nContent-Type: text/plain; charset=x-unknown\n\nSí\n"
    assert body_text(parse_message(raw.encode("utf-8"))).strip() == "Sí"


def test_body_text_reads_an_unknown_charset_as_windows_1252_when_not_utf8() -> None:
    raw = "From: bob@example.com\nContent-Type: text/plain; charset=x-unknown\n\n€ Grüße\n"
    assert body_text(parse_message(raw.encode("windows-1252"))).strip() == "€ Grüße"


def test_body_text_reads_8bit_text_labelled_us_ascii() -> None:
    raw = "From: bob@example.com\nContent-Type: text/plain; charset=us-ascii\n\nJa, Grüße\n"
    assert body_text(parse_message(raw.encode("utf-8"))).strip() == "Ja, Grüße"


def test_body_text_replaces_bytes_invalid_in_the_declared_charset() -> None:
    raw = b"From: bob@example.com\nContent-Type: text/plain; charset=utf-8\n\nYes \xff\n"
    assert body_text(parse_message(raw)).strip() == "Yes \ufffd"


@pytest.mark.parametrize("label", ["base64", "idna", "rot13", "utf\x00-8"])
def test_body_text_treats_a_codec_that_is_not_a_charset_as_unknown(label: str) -> None:
    raw = f"From: bob@example.com\nContent-Type: text/plain; charset={label}\n\nApprove\n"
    assert body_text(parse_message(raw.encode())).strip() == "Approve"


def test_body_text_decodes_quoted_printable() -> None:
    msg = message(
        "From: bob@example.com\nContent-Type: text/plain; charset=iso-8859-1\n"
        "Content-Transfer-Encoding: quoted-printable",
        "Approuv=E9 =\nsans r=E9serve\n",
    )
    assert body_text(msg).strip() == "Approuvé sans réserve"


def test_body_text_unwraps_format_flowed() -> None:
    msg = message(
        "From: bob@example.com\nContent-Type: text/plain; charset=utf-8; format=flowed",
        "Approve\nthis is one \nlong line\n",
    )
    assert body_text(msg) == "Approve\nthis is one long line\n"


def test_unflow_keeps_the_signature_separator_as_a_hard_break() -> None:
    assert unflow("Yes\n-- \nBob") == "Yes\n-- \nBob"


def test_unflow_joins_only_lines_of_the_same_quote_depth() -> None:
    assert unflow("> quoted \nnew") == "> quoted\nnew"


def test_unflow_removes_space_stuffing() -> None:
    assert unflow("  indented\n >From here") == " indented\n>From here"


def test_unflow_with_delsp_drops_the_soft_break_space() -> None:
    assert unflow("Genehmi \ngt", delsp=True) == "Genehmigt"


# --- html_to_text ----------------------------------------------------------------------------


def test_html_line_breaks_come_from_br_p_and_div() -> None:
    assert html_to_text("<p>one</p><div>two<br>three</div>four") == "one\ntwo\nthree\nfour"


def test_html_empty_outlook_paragraph_is_a_blank_line() -> None:
    assert html_to_text("<p>Yes</p><p>&nbsp;</p><p>Bob</p>") == "Yes\n\nBob"


def test_html_layout_whitespace_is_collapsed() -> None:
    assert html_to_text("<div>\n   Approve\n   now  </div>\n\n<div>ok</div>") == "Approve now\nok"


def test_html_style_script_and_head_are_not_text() -> None:
    html = "<head><title>t</title><style>p{}</style></head><script>x()</script><p>Yes</p>"
    assert html_to_text(html) == "Yes"


def test_html_entities_are_decoded() -> None:
    assert html_to_text("<p>Approve &amp; ship &lt;now&gt;</p>") == "Approve & ship <now>"


def test_html_blockquote_is_quoted() -> None:
    assert html_to_text("<p>Yes</p><blockquote>Approve?</blockquote>") == "Yes\n> Approve?"


def test_html_nested_blockquotes_are_quoted_twice() -> None:
    html = "<blockquote>a<blockquote>b</blockquote></blockquote>"
    assert html_to_text(html) == "> a\n> > b"


def test_html_apple_cite_blockquote_is_quoted() -> None:
    assert html_to_text('<blockquote type="cite"><div>Approve</div></blockquote>') == "> Approve"


def test_html_gmail_quote_is_quoted_with_its_attribution() -> None:
    html = (
        '<div>No</div><div class="gmail_quote"><div class="gmail_attr">On Mon, X wrote:</div>'
        '<blockquote class="gmail_quote">Approve</blockquote></div>'
    )
    assert html_to_text(html) == "No\n> On Mon, X wrote:\n> > Approve"


def test_html_yahoo_quote_is_quoted() -> None:
    assert html_to_text('<div>No</div><div class="yahoo_quoted">Approve</div>') == "No\n> Approve"


def test_html_thunderbird_cite_prefix_is_quoted() -> None:
    html = '<div class="moz-cite-prefix">On 3/3/25, X wrote:</div><blockquote>a</blockquote>No'
    assert html_to_text(html) == "> On 3/3/25, X wrote:\n> a\nNo"


@pytest.mark.parametrize(
    "marker",
    [
        '<div id="divRplyFwdMsg">',
        '<div id="appendonsend">',
        '<div style="border:none;border-top:solid #E1E1E1 1.0pt;padding:3.0pt 0cm 0cm 0cm">',
    ],
    ids=["divRplyFwdMsg", "appendonsend", "border-top"],
)
def test_html_outlook_reply_header_becomes_the_outlook_separator(marker: str) -> None:
    assert html_to_text(f"<p>Yes</p>{marker}<p>From: x</p></div>") == (f"Yes\n{OUTLOOK_SEPARATOR}\nFrom: x")


@pytest.mark.parametrize(
    "marker",
    ['<div class="gmail_signature">', '<div class="moz-signature">', '<div id="Signature">'],
    ids=["gmail", "thunderbird", "outlook"],
)
def test_html_signature_block_gets_a_signature_separator(marker: str) -> None:
    assert html_to_text(f"<p>Yes</p>{marker}Bob</div>") == "Yes\n--\nBob"


def test_html_stray_end_tags_do_not_end_a_quote() -> None:
    assert html_to_text("<blockquote></p></div>a</blockquote>b") == "> a\nb"


def test_html_pre_keeps_its_line_breaks() -> None:
    assert html_to_text("<pre>Yes\n  step 1\n  step 2</pre>") == "Yes\n  step 1\n  step 2"


# --- split_reply -----------------------------------------------------------------------------

QUOTE = "> Reply APPROVE or REJECT on the first line.\n> Approve"


def test_split_reply_top_posted_answer_is_the_text_above_the_quote() -> None:
    assert split_reply(f"Yes\n\nOn Mon, X wrote:\n{QUOTE}") == (
        "Yes",
        f"On Mon, X wrote:\n{QUOTE}",
    )


def test_split_reply_bottom_posted_answer_is_the_text_below_the_quote() -> None:
    assert split_reply(f"On Mon, X wrote:\n{QUOTE}\n\nReject\nnot today")[0] == ("Reject\nnot today")


def test_split_reply_inline_answers_are_all_new_text() -> None:
    text = "> Deploy 1.4.2?\nNo\n> Anything else?\nfix the changelog"
    assert split_reply(text)[0] == "No\nfix the changelog"


def test_split_reply_quoted_lines_are_never_new_text_even_when_indented() -> None:
    assert split_reply("  > Approve\n\n")[0] == ""


@pytest.mark.parametrize(
    "attribution",
    [
        "On Mon, 3 Mar 2025 at 10:00, Mailrelay <a@example.com> wrote:",
        "Am 03.03.2025 um 10:00 schrieb Mailrelay <a@example.com>:",
        "Le lun. 3 mars 2025 à 10:00, Mailrelay <a@example.com> a écrit :",
        "El lun, 3 mar 2025 a las 10:00, Mailrelay (<a@example.com>) escribió:",
        "Il giorno lun 3 mar 2025 alle ore 10:00 Mailrelay <a@example.com> ha scritto:",
        "Op ma 3 mrt 2025 om 10:00 schreef Mailrelay <a@example.com>:",
        "Em seg., 3 de mar. de 2025 às 10:00, Mailrelay <a@example.com> escreveu:",
    ],
    ids=["en", "de", "fr", "es", "it", "nl", "pt"],
)
def test_split_reply_attribution_is_quote_header(attribution: str) -> None:
    assert split_reply(f"Yes\n{attribution}\n{QUOTE}")[0] == "Yes"


@pytest.mark.parametrize(
    "attribution",
    [
        "On Mon, 3 Mar 2025 at 10:00, Mailrelay <\na@example.com> wrote:",
        "Le lun. 3 mars 2025, 10:00, Mailrelay <a@example.com> a\nécrit :",
        "On Mon, 3 Mar 2025 at 10:00,\nMailrelay Approvals\n<a@example.com> wrote:",
    ],
    ids=["two-lines", "split-before-verb", "three-lines"],
)
def test_split_reply_attribution_wrapped_over_lines_is_quote_header(attribution: str) -> None:
    assert split_reply(f"Yes\n\n{attribution}\n\n{QUOTE}")[0] == "Yes"


def test_split_reply_attribution_without_quote_marks_quotes_everything_below() -> None:
    assert split_reply("No\n\nOn Mon, X wrote:\nApprove\nplease")[0] == "No"


def test_split_reply_line_starting_like_an_attribution_stays_new_text() -> None:
    assert split_reply("On second thought, no.\nAm I late?")[0] == ("On second thought, no.\nAm I late?")


@pytest.mark.parametrize(
    "block",
    [
        "From: Mailrelay <a@example.com>\nSent: Monday, March 3, 2025 10:00\nTo: Bob\nSubject: x",
        "Von: Mailrelay <a@example.com>\nGesendet: Montag, 3. März 2025 10:00\nAn: Bob\nBetreff: x",
        "De : Mailrelay <a@example.com>\nEnvoyé : lundi 3 mars 2025 10:00\nÀ : Bob\nObjet : x",
        "De: Mailrelay <a@example.com>\nEnviado: lunes, 3 de marzo\nPara: Bob\nAsunto: x",
        "*From:* Mailrelay <a@example.com>\n*Date:* Monday\n*Subject:* x",
    ],
    ids=["en", "de", "fr", "es", "bold-fields"],
)
def test_split_reply_outlook_header_block_quotes_everything_below(block: str) -> None:
    assert split_reply(f"Yes\n\n{block}\n\nApprove")[0] == "Yes"


def test_split_reply_a_from_line_alone_is_new_text() -> None:
    assert split_reply("Yes\nFrom: the release team\nthanks")[0] == ("Yes\nFrom: the release team\nthanks")


@pytest.mark.parametrize(
    "separator",
    [
        "________________________________",
        "-----Original Message-----",
        "-----Ursprüngliche Nachricht-----",
        "-------- Message d'origine --------",
        "-------- Mensaje original --------",
        "---------- Forwarded message ---------",
        "Begin forwarded message:",
    ],
)
def test_split_reply_separator_quotes_everything_below(separator: str) -> None:
    assert split_reply(f"No\n{separator}\nApprove")[0] == "No"


def test_split_reply_signature_dash_line_drops_what_follows() -> None:
    assert split_reply("Yes\nship it\n-- \nBob\nRelease manager")[0] == "Yes\nship it"


@pytest.mark.parametrize(
    "signature",
    [
        "Sent from my iPhone",
        "Sent from my Galaxy",
        "Sent from Outlook for Android",
        "Get Outlook for iOS",
        "Get Outlook for Android<https://aka.ms/AAb9ysg>",
        "Von meinem iPhone gesendet",
        "Gesendet von Outlook für Android",
        "Outlook für iOS herunterladen",
        "Envoyé de mon iPhone",
        "Envoyé depuis Outlook",
        "Télécharger Outlook pour Android",
        "Enviado desde mi iPhone",
        "Obtener Outlook para iOS",
    ],
)
def test_split_reply_phone_signature_is_dropped(signature: str) -> None:
    assert split_reply(f"Yes\n\n{signature}\n\nsomething after")[0] == "Yes"


def test_split_reply_signature_ends_at_the_quote_below_it() -> None:
    new, quoted = split_reply("Yes\n-- \nBob\n> Approve")
    assert (new, quoted) == ("Yes", "> Approve")


def test_split_reply_closing_phrases_are_kept() -> None:
    assert split_reply("Yes\n\nThanks,\nBob")[0] == "Yes\n\nThanks,\nBob"


def test_split_reply_sent_from_in_a_sentence_is_not_a_signature() -> None:
    text = "Yes\nsent from my phone because the laptop died, details tomorrow in the standup"
    assert split_reply(text)[0] == text


def test_split_reply_without_quote_is_all_new_text() -> None:
    assert split_reply("Approve\n\nfine\n") == ("Approve\n\nfine", "")


# --- decision --------------------------------------------------------------------------------


@pytest.mark.parametrize("word", APPROVE_WORDS)
def test_decision_approve_word_approves(word: str) -> None:
    assert decision(word) == Decision("approve", "")


@pytest.mark.parametrize("word", REJECT_WORDS)
def test_decision_reject_word_rejects(word: str) -> None:
    assert decision(word) == Decision("reject", "")


@pytest.mark.parametrize(
    ("line", "kind"),
    [
        ("APPROVED", "approve"),
        ("Approve", "approve"),
        ("aPpRoVe", "approve"),
        ("APPROUVÉ", "approve"),
        ("SÍ", "approve"),
        ("NEIN", "reject"),
    ],
)
def test_decision_ignores_case(line: str, kind: str) -> None:
    assert decision(line) == Decision(kind, "")


@pytest.mark.parametrize(
    ("line", "kind"),
    [
        ("Approved.", "approve"),
        ("Yes!!!", "approve"),
        ("No?", "reject"),
        ("Ja,", "approve"),
        ("Oui !", "approve"),
        ("Rechazado:", "reject"),
    ],
)
def test_decision_ignores_trailing_punctuation(line: str, kind: str) -> None:
    assert decision(line) == Decision(kind, "")


@pytest.mark.parametrize(
    "line", ["yesterday it broke", "nothing to add", "Approvers?", "Nonsense", "Janus", "noted"]
)
def test_decision_needs_a_whole_word(line: str) -> None:
    assert decision(line) == Decision(None, "")


def test_decision_word_followed_by_a_dash_decides() -> None:
    assert decision("Approve – looks good") == Decision("approve", "looks good")


def test_decision_spanish_si_without_accent_decides_nothing() -> None:
    assert decision("Si pasa QA, adelante") == Decision(None, "")


def test_decision_comes_from_the_first_non_empty_line_only() -> None:
    assert decision("Hi team,\nApprove") == Decision(None, "")


def test_decision_skips_leading_blank_lines() -> None:
    assert decision("\n \n\nReject\n") == Decision("reject", "")


def test_decision_skips_invisible_characters_at_line_start() -> None:
    assert decision("\u200b\xa0\ufeffYes") == Decision("approve", "")


def test_decision_comment_is_the_text_below_stripped() -> None:
    assert decision("Reject\n\n  tests are red\n\nBob\n\n") == Decision("reject", "tests are red\n\nBob")


def test_decision_comment_starts_with_the_rest_of_the_first_line() -> None:
    assert decision("No, not before Monday.\nBob") == Decision("reject", "not before Monday.\nBob")


def test_decision_without_a_decision_has_no_comment() -> None:
    assert decision("Can we talk?\nmore text") == Decision(None, "")


def test_decision_of_empty_text_is_none() -> None:
    assert decision("") == Decision(None, "")


def test_decision_words_are_all_listed_in_the_module_documentation() -> None:
    import mailrelay_cli.replies.decision as module

    documented = set(re.findall(r"[\w]+", module.__doc__ or ""))
    assert [w for w in APPROVE_WORDS + REJECT_WORDS if w not in documented] == []


# --- automatic_kind --------------------------------------------------------------------------

PERSON = "From: Bob <bob@example.com>\nSubject: Re: [MR-1] Approval requested: Deploy"


def test_automatic_kind_of_a_person_is_none() -> None:
    assert automatic_kind(message(PERSON)) is None


@pytest.mark.parametrize("value", ["auto-replied", "auto-generated", "auto-notified; owner=x"])
def test_automatic_kind_auto_submitted_is_auto_reply(value: str) -> None:
    assert automatic_kind(message(f"{PERSON}\nAuto-Submitted: {value}")) == "auto-reply"


def test_automatic_kind_auto_submitted_no_is_a_person() -> None:
    assert automatic_kind(message(f"{PERSON}\nAuto-Submitted: no")) is None


@pytest.mark.parametrize(
    "header",
    [
        "X-Autoreply: yes",
        "X-Autorespond: vacation",
        "X-Autoresponder: 1",
        "X-MS-Exchange-Inbox-Rules-Loop: bob@example.com",
        "X-Auto-Response-Suppress: All",
        "X-Auto-Response-Suppress: DR, OOF, AutoReply",
        "List-Id: <release.lists.example.com>",
        "List-Unsubscribe: <mailto:leave@lists.example.com>",
        "List-Post: <mailto:release@lists.example.com>",
        "Return-Path: <>",
    ],
)
def test_automatic_kind_header_marks_auto_reply(header: str) -> None:
    assert automatic_kind(message(f"{PERSON}\n{header}")) == "auto-reply"


def test_automatic_kind_suppress_of_delivery_reports_only_is_a_person() -> None:
    assert automatic_kind(message(f"{PERSON}\nX-Auto-Response-Suppress: DR, RN, NRN")) is None


@pytest.mark.parametrize("value", ["bulk", "junk", "list", "auto_reply", "Bulk"])
def test_automatic_kind_precedence_is_auto_reply(value: str) -> None:
    assert automatic_kind(message(f"{PERSON}\nPrecedence: {value}")) == "auto-reply"


def test_automatic_kind_precedence_first_class_is_a_person() -> None:
    assert automatic_kind(message(f"{PERSON}\nPrecedence: first-class")) is None


@pytest.mark.parametrize(
    "subject",
    [
        "Out of Office: [MR-1] Approval requested",
        "Out of office AutoReply: [MR-1]",
        "Automatic reply: [MR-1] Approval requested",
        "Auto-Reply: [MR-1]",
        "Automatische Antwort: [MR-1]",
        "Abwesenheitsnotiz: [MR-1]",
        "AW: Abwesend bis 10.03.",
        "Réponse automatique : [MR-1]",
        "Absence du bureau",
        "Respuesta automática: [MR-1]",
        "Fuera de la oficina: RE: [MR-1]",
        "Re: Out of the office",
        "[Auto-Reply] [MR-1]",
    ],
)
def test_automatic_kind_out_of_office_subject_is_auto_reply(subject: str) -> None:
    headers = f"From: Bob <bob@example.com>\nSubject: {subject}"
    assert automatic_kind(message(headers)) == "auto-reply"


def test_automatic_kind_out_of_office_words_inside_a_subject_are_a_person() -> None:
    headers = "From: Bob <bob@example.com>\nSubject: Re: [MR-1] Approval requested: absence tracker"
    assert automatic_kind(message(headers)) is None


REPORT = 'Content-Type: multipart/report; report-type={}; boundary="r"'
REPORT_BODY = "--r\nContent-Type: text/plain\n\nfailed\n--r--\n"


def test_automatic_kind_delivery_report_is_bounce_even_if_auto_submitted() -> None:
    headers = f"{PERSON}\nAuto-Submitted: auto-replied\n" + REPORT.format("delivery-status")
    assert automatic_kind(message(headers, REPORT_BODY)) == "bounce"


def test_automatic_kind_read_receipt_is_auto_reply() -> None:
    headers = f"{PERSON}\n" + REPORT.format("disposition-notification")
    assert automatic_kind(message(headers, REPORT_BODY)) == "auto-reply"


def test_automatic_kind_delivery_status_part_is_bounce() -> None:
    msg = message(
        f'{PERSON}\nContent-Type: multipart/mixed; boundary="b"',
        "--b\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; mx\n\n"
        "Final-Recipient: rfc822; x@example.com\nAction: failed\n--b--\n",
    )
    assert automatic_kind(msg) == "bounce"


@pytest.mark.parametrize(
    "sender", ["MAILER-DAEMON@mx.example.com", "postmaster@example.com", "Mailer-Daemon@x.org"]
)
def test_automatic_kind_mailer_daemon_sender_is_bounce(sender: str) -> None:
    assert automatic_kind(message(f"From: {sender}\nSubject: hello")) == "bounce"


def test_automatic_kind_failed_recipients_header_is_bounce() -> None:
    assert automatic_kind(message(f"{PERSON}\nX-Failed-Recipients: gone@example.com")) == "bounce"


@pytest.mark.parametrize(
    "subject",
    [
        "Undeliverable: [MR-1]",
        "Delivery Status Notification (Failure)",
        "Mail delivery failed: returning message to sender",
        "Unzustellbar: [MR-1]",
        "Non remis : [MR-1]",
        "No se puede entregar: [MR-1]",
    ],
)
def test_automatic_kind_null_sender_with_failure_subject_is_bounce(subject: str) -> None:
    headers = f"Return-Path: <>\nFrom: Bob <bob@example.com>\nSubject: {subject}"
    assert automatic_kind(message(headers)) == "bounce"


def test_automatic_kind_null_sender_carrying_the_original_is_bounce() -> None:
    msg = message(
        'Return-Path: <>\nFrom: x@example.com\nContent-Type: multipart/mixed; boundary="b"',
        "--b\nContent-Type: text/plain\n\nsorry\n--b\nContent-Type: message/rfc822\n\n"
        "From: a@example.com\n\nhi\n--b--\n",
    )
    assert automatic_kind(msg) == "bounce"


# --- sender_address --------------------------------------------------------------------------


def test_sender_address_is_bare_with_the_domain_lower_cased() -> None:
    msg = message("From: Bob Builder <Bob.Builder@Example.COM>")
    assert sender_address(msg) == "Bob.Builder@example.com"


def test_sender_address_ignores_reply_to_and_sender() -> None:
    msg = message("From: mallory@evil.example\nReply-To: bob@example.com\nSender: bob@example.com")
    assert sender_address(msg) == "mallory@evil.example"


def test_sender_address_ignores_an_address_shaped_display_name() -> None:
    msg = message('From: "bob@example.com" <mallory@evil.example>')
    assert sender_address(msg) == "mallory@evil.example"


def test_sender_address_reads_an_encoded_display_name_with_a_comma() -> None:
    msg = message("From: =?utf-8?q?Builder=2C_Bob?= <bob@example.com>")
    assert sender_address(msg) == "bob@example.com"


@pytest.mark.parametrize(
    "headers",
    [
        "Subject: no from",
        "From: bob@example.com, alice@example.com",
        "From: bob@example.com\nFrom: alice@example.com",
        "From: Bob Builder",
        "From: undisclosed-recipients:;",
    ],
    ids=["missing", "two-addresses", "two-headers", "no-address", "empty-group"],
)
def test_sender_address_is_none_without_exactly_one_address(headers: str) -> None:
    assert sender_address(message(headers)) is None


# --- threading_ids and reference_text --------------------------------------------------------


def test_threading_ids_lists_in_reply_to_then_references_once_each() -> None:
    msg = message("From: b@example.com\nIn-Reply-To: <b@x>\nReferences: <a@x>\n <b@x> <c@x>")
    assert threading_ids(msg) == ["<b@x>", "<a@x>", "<c@x>"]


def test_threading_ids_without_headers_is_empty() -> None:
    assert threading_ids(message("From: b@example.com")) == []


def test_threading_ids_of_a_corpus_reply_names_the_request() -> None:
    assert threading_ids(parse_message(load_reply("gmail_web_en"))) == [REQUEST_MESSAGE_ID]


def test_reference_text_includes_the_decoded_subject() -> None:
    msg = message("From: b@example.com\nSubject: =?utf-8?q?Re=3A_=5BMR-ABC=5D_d=C3=A9ploiement?=")
    assert reference_text(msg).startswith("Re: [MR-ABC] déploiement")


def test_reference_text_keeps_an_encoded_subject_with_a_bad_charset_as_it_came() -> None:
    msg = parse_message(b"From: b@example.com\nSubject: =?\xfbtf-8?q?MR-ABC?=\n\nYes\n")
    assert reference_text(msg).startswith("=?ûtf-8?q?MR-ABC?=")


def test_reference_text_includes_quoted_text() -> None:
    msg = message("From: b@example.com\nSubject: hi", "Yes\n\nOn Mon, X wrote:\n> MR-QUOTED\n")
    assert "MR-QUOTED" in reference_text(msg)


def test_reference_text_includes_the_html_part() -> None:
    msg = message(
        ALTERNATIVE,
        "--b\nContent-Type: text/plain\n\nYes\n"
        "--b\nContent-Type: text/html\n\n<blockquote>MR-IN-HTML</blockquote>\n--b--\n",
    )
    assert "MR-IN-HTML" in reference_text(msg)


# --- authentication_failed -------------------------------------------------------------------

AUTHSERV = "mx.example.com"


def auth_results(*values: str) -> EmailMessage:
    headers = "\n".join(f"Authentication-Results: {value}" for value in values)
    return message(f"From: bob@example.com\n{headers}")


def test_authentication_failed_on_dmarc_fail_from_the_trusted_server() -> None:
    msg = auth_results("mx.example.com; spf=pass; dkim=pass; dmarc=fail header.from=example.com")
    assert authentication_failed(msg, AUTHSERV) is True


def test_authentication_failed_on_dkim_fail_without_a_dkim_pass() -> None:
    msg = auth_results("mx.example.com; dkim=fail (bad signature) header.d=example.com")
    assert authentication_failed(msg, AUTHSERV) is True


def test_authentication_passes_when_another_dkim_signature_passes() -> None:
    msg = auth_results("mx.example.com; dkim=fail header.d=list.example; dkim=pass header.d=x.com")
    assert authentication_failed(msg, AUTHSERV) is False


def test_authentication_ignores_results_from_other_servers() -> None:
    msg = auth_results("forged.example; dmarc=fail", "mx.example.com; dmarc=pass")
    assert authentication_failed(msg, AUTHSERV) is False


def test_authentication_matches_the_authserv_id_with_a_version_and_any_case() -> None:
    msg = auth_results("MX.Example.com 1; dmarc=fail")
    assert authentication_failed(msg, AUTHSERV) is True


def test_authentication_passes_without_results() -> None:
    assert authentication_failed(message("From: bob@example.com"), AUTHSERV) is False


# --- purity ----------------------------------------------------------------------------------


def test_reply_text_imports_neither_click_nor_rich() -> None:
    code = (
        "import sys, mailrelay_cli.replies.parse, mailrelay_cli.replies.headers, "
        "mailrelay_cli.replies.automatic, mailrelay_cli.replies.body, mailrelay_cli.replies.html_text, "
        "mailrelay_cli.replies.quotes, mailrelay_cli.replies.decision; "
        "sys.exit(bool({'click', 'rich'} & {m.split('.')[0] for m in sys.modules}))"
    )
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0
