"""Replies written one by one: the awkward ones that the layouts in ``shapes`` do not make.

Each is (name, body kind, body, expected decision, expected comment). In a body, ``{QUOTED}``
is the request quoted with ``>``, ``{REQUEST}`` the request as Outlook pastes it (not
quoted), ``{FIRST}`` its first line, ``{HTML}`` the request's HTML body, ``{SUBJECT}`` its
subject.
"""

from __future__ import annotations

ATTR = "On Mon, 3 Mar 2025 at 10:00, Mailrelay <relay@example.com> wrote:"
OUTLOOK = (
    "From: Mailrelay <relay@example.com>\nSent: Monday, March 3, 2025 10:00 AM\n"
    "To: Bob <bob@example.com>\nSubject: {SUBJECT}"
)

HANDWRITTEN: tuple[tuple[str, str, str, str | None, str], ...] = (
    (
        "label-lines-above-outlook-separator",
        "plain",
        f"Approve\n\nWhen: after 18:00\nWho: the on-call team\n\n{'_' * 32}\n{OUTLOOK}\n\n{{REQUEST}}",
        "approve",
        "When: after 18:00\nWho: the on-call team",
    ),
    (
        "label-lines-above-outlook-header-without-separator",
        "plain",
        f"Approve\n\nTicket: CHG-1234\nWindow: 18:00-19:00\n\n{OUTLOOK}\n\n{{REQUEST}}",
        "approve",
        "Ticket: CHG-1234\nWindow: 18:00-19:00",
    ),
    (
        "label-lines-above-an-attribution",
        "plain",
        f"Approve\nTicket: CHG-1234\nWindow: 18:00\n\n{ATTR}\n{{QUOTED}}",
        "approve",
        "Ticket: CHG-1234\nWindow: 18:00",
    ),
    (
        "separator-alone-above-header-block",
        "plain",
        f"Reject\nQA has not signed off.\n\n-----Original Message-----\n\n{OUTLOOK}\n\n{{REQUEST}}",
        "reject",
        "QA has not signed off.",
    ),
    (
        "list-introduced-by-a-colon",
        "plain",
        f"Reject\n\nTwo things first:\n- run the smoke tests\n- tell support\n\n{ATTR}\n{{QUOTED}}",
        "reject",
        "Two things first:\n- run the smoke tests\n- tell support",
    ),
    (
        "colon-line-right-above-the-attribution",
        "plain",
        f"Approve\nsee my note below:\n\n{ATTR}\n{{QUOTED}}",
        "approve",
        "see my note below:",
    ),
    (
        "inline-answer-between-quoted-lines",
        "plain",
        f"{ATTR}\n> {{FIRST}}\n\nApprove\n\n> Expires:      2025-03-06T10:00:00+00:00\none day is enough\n",
        "approve",
        "one day is enough",
    ),
    (
        "german-attribution-wrapped-under-the-text",
        "plain",
        "Ja\nBitte erst nach 18 Uhr.\nAm 03.03.2025 um 10:00 schrieb Mailrelay\n"
        "<relay@example.com>:\n\n{QUOTED}",
        "approve",
        "Bitte erst nach 18 Uhr.",
    ),
    (
        "decision-line-with-a-time-right-above-the-attribution",
        "plain",
        f"Approve, deploy at 10:00\n{ATTR}\n{{QUOTED}}",
        "approve",
        "deploy at 10:00",
    ),
    (
        "comment-with-a-time-right-above-the-attribution",
        "plain",
        f"Approve\nWindow 18:00-19:00\n{ATTR}\n{{QUOTED}}",
        "approve",
        "Window 18:00-19:00",
    ),
    (
        "closing-with-a-comma-right-above-the-attribution",
        "plain",
        f"Approve\nThanks,\n{ATTR}\n{{QUOTED}}",
        "approve",
        "Thanks,",
    ),
    (
        "signature-with-contact-lines",
        "plain",
        f"Reject\nnot this week\n\n-- \nBob Builder\nRelease manager\n+49 30 1234567\n\n{ATTR}\n{{QUOTED}}",
        "reject",
        "not this week",
    ),
    (
        "sent-from-inside-a-sentence",
        "plain",
        f"Approve\nsent from my phone because the laptop died, details tomorrow\n\n{ATTR}\n{{QUOTED}}",
        "approve",
        "sent from my phone because the laptop died, details tomorrow",
    ),
    (
        "device-named-in-the-comment-without-a-blank-line",
        "plain",
        f"Approve\nTested on my iPhone\n\n{ATTR}\n{{QUOTED}}",
        "approve",
        "Tested on my iPhone",
    ),
    (
        "title-repeated-in-the-comment",
        "plain",
        f"Reject\nDeploy 1.4.2 to production is blocked by QA\n\n{ATTR}\n{{QUOTED}}",
        "reject",
        "Deploy 1.4.2 to production is blocked by QA",
    ),
    (
        "greeting-before-the-decision-decides-nothing",
        "plain",
        f"Hi team,\n\nApprove\n\n{ATTR}\n{{QUOTED}}",
        None,
        "",
    ),
    (
        "outlook-separator-glued-to-the-text",
        "plain",
        f"Approve\nfine by me\n{'_' * 32}\n{OUTLOOK}\n\n{{REQUEST}}",
        "approve",
        "fine by me",
    ),
    (
        "someone-elses-quoted-approve-decides-nothing",
        "plain",
        "Thanks Carol\n\nOn Mon, 3 Mar 2025 at 11:00, Carol <carol@example.com> wrote:\n> Approve\n>\n"
        f"> {ATTR}\n" + "{QUOTED2}",
        None,
        "",
    ),
    (
        "answer-above-someone-elses-approve",
        "plain",
        "Reject\nwait for Carol's fix\n\nOn Mon, 3 Mar 2025 at 11:00, Carol <carol@example.com> "
        f"wrote:\n> Approve\n>\n> {ATTR}\n" + "{QUOTED2}",
        "reject",
        "wait for Carol's fix",
    ),
    (
        "chinese-fields-with-full-width-colons",
        "plain",
        "Approve\n好的\n\n发件人：Mailrelay <relay@example.com>\n发送时间：2025年3月3日 10:00\n"
        "收件人：王伟\n主题：{SUBJECT}\n\n{REQUEST}",
        "approve",
        "好的",
    ),
    (
        "arabic-fields-with-direction-marks",
        "plain",
        "Approve\nموافق\n\n\u200fمن: Mailrelay <relay@example.com>\n\u200fتاريخ الإرسال: الاثنين\n"
        "\u200fإلى: عمر\n\u200fالموضوع: {SUBJECT}\n\n{REQUEST}",
        "approve",
        "موافق",
    ),
    (
        "header-fields-in-an-unknown-language",
        "plain",
        "Approve\nSawa\n\nKutoka: Mailrelay <relay@example.com>\nImetumwa: Jumatatu\n"
        "Kwa: Bob\nMada: {SUBJECT}\n\n{REQUEST}",
        "approve",
        "Sawa",
    ),
    (
        "attribution-in-an-unknown-language",
        "plain",
        "Reject\nBado\n\nMnamo Jumatatu, 3 Machi 2025 saa 10:00, Mailrelay <relay@example.com> "
        "aliandika:\n\n{QUOTED}",
        "reject",
        "Bado",
    ),
    (
        "attribution-in-an-unknown-language-over-an-unquoted-request",
        "plain",
        "Reject\nBado\n\nMnamo Jumatatu, 3 Machi 2025 saa 10:00, Mailrelay <relay@example.com> "
        "aliandika:\n\n{REQUEST}",
        "reject",
        "Bado",
    ),
    ("quote-re-wrapped-to-forty-columns", "plain", f"Approve\n\n{ATTR}\n{{QUOTED40}}", "approve", ""),
    (
        "bottom-posted-with-nbsp-lines",
        "plain",
        f"{ATTR}\n{{QUOTED}}\n\xa0\nApprove\n\xa0\nlooks fine\n",
        "approve",
        "looks fine",
    ),
    ("pipe-quoted-request", "plain", f"Approve\nok\n\n{ATTR}\n{{PIPED}}", "approve", "ok"),
    (
        "html-outlook-with-nbsp-paragraphs",
        "html",
        "<p>Approve</p><p>&nbsp;</p><p>Ship it.</p><p>&nbsp;</p>"
        '<div style="border:none;border-top:solid #E1E1E1 1.0pt;padding:3.0pt 0cm 0cm 0cm">'
        "<p><b>Van:</b> Mailrelay &lt;relay@example.com&gt;<br><b>Verzonden:</b> maandag 3 maart"
        "<br><b>Aan:</b> Daan<br><b>Onderwerp:</b> {SUBJECT}</p></div><p>&nbsp;</p>{HTML}",
        "approve",
        "Ship it.",
    ),
    (
        "html-decision-and-attribution-in-one-paragraph",
        "html",
        f"<p>Reject<br>too risky today<br>{ATTR}</p><blockquote>{{HTML}}</blockquote>",
        "reject",
        "too risky today",
    ),
    (
        "html-request-pasted-without-any-header",
        "html",
        "<div>Approve</div><div>go</div><div><br></div>{HTML}",
        "approve",
        "go",
    ),
    ("plain-request-pasted-without-any-header", "plain", "Approve\ngo\n\n{REQUEST}", "approve", "go"),
    (
        "yahoo-quoted-html",
        "html",
        '<div>Reject</div><div>no</div><div class="yahoo_quoted"><div>On Monday, March 3, 2025, '
        "10:00, Mailrelay &lt;relay@example.com&gt; wrote:</div><div>{HTML}</div></div>",
        "reject",
        "no",
    ),
    (
        "decision-in-the-first-of-many-paragraphs",
        "plain",
        "Approve\n\nFirst paragraph of reasons.\n\nSecond paragraph: more reasons.\nStill the second."
        f"\n\nBob\n\n{ATTR}\n{{QUOTED}}",
        "approve",
        "First paragraph of reasons.\n\nSecond paragraph: more reasons.\nStill the second.\n\nBob",
    ),
    (
        "forwarded-then-answered",
        "plain",
        "Approve\n\n---------- Forwarded message ---------\nFrom: Mailrelay <relay@example.com>\n"
        "Date: Mon, 3 Mar 2025 at 10:00\nSubject: {SUBJECT}\nTo: <alice@example.com>\n\n{REQUEST}",
        "approve",
        "",
    ),
)
