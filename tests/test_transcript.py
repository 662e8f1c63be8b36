"""transcript.py: redaction by the structure of the dialogue, not by searching for secrets."""

from __future__ import annotations

from mailrelay_cli.transport.transcript import REDACTED, Transcript


def test_smtp_auth_keeps_the_mechanism_and_redacts_the_initial_response() -> None:
    t = Transcript()
    t.smtp_client("AUTH PLAIN AHVzZXIAcGFzc3dvcmQ=\r\n")
    assert t.lines == [f"C: AUTH PLAIN {REDACTED}"]


def test_every_client_line_during_a_334_exchange_is_redacted() -> None:
    t = Transcript()
    t.smtp_client("AUTH LOGIN\r\n")
    t.smtp_server(334, "VXNlcm5hbWU6")
    t.smtp_client("dXNlcg==\r\n")
    t.smtp_server(334, "UGFzc3dvcmQ6")
    t.smtp_client("c2VjcmV0\r\n")
    t.smtp_server(235, "2.7.0 Authentication successful")
    t.smtp_client("MAIL FROM:<a@example.com>\r\n")
    assert t.lines == [
        "C: AUTH LOGIN",
        "S: 334 VXNlcm5hbWU6",
        f"C: {REDACTED}",
        "S: 334 UGFzc3dvcmQ6",
        f"C: {REDACTED}",
        "S: 235 2.7.0 Authentication successful",
        "C: MAIL FROM:<a@example.com>",
    ]


def test_multi_line_smtp_replies_keep_their_continuation_marks() -> None:
    t = Transcript()
    t.smtp_server(250, "mail.example.com\nSTARTTLS\nAUTH PLAIN")
    assert t.lines == ["S: 250-mail.example.com", "S: 250-STARTTLS", "S: 250 AUTH PLAIN"]


def test_a_message_body_after_354_is_summarised_by_size() -> None:
    t = Transcript()
    t.smtp_client("DATA\r\n")
    t.smtp_server(354, "End data with <CR><LF>.<CR><LF>")
    t.smtp_data_follows()
    t.smtp_client(b"Subject: secret plans\r\n\r\nbody\r\n.\r\n")
    assert "secret plans" not in t.text()
    assert "C: <message: 34 bytes>" in t.lines


def test_imap_login_redacts_user_and_password() -> None:
    t = Transcript()
    t.imap_client(b'A001 LOGIN alice "pa ss"\r\n')
    assert t.lines == [f"C: A001 LOGIN {REDACTED}"]


def test_imap_authenticate_redacts_continuations_until_the_tagged_answer() -> None:
    t = Transcript()
    t.imap_client(b"A002 AUTHENTICATE XOAUTH2\r\n")
    t.imap_server(b"+ ")
    t.imap_client(b"dXNlcj1hbGljZQFhdXRoPUJlYXJlciB0b2sBAQ==")
    t.imap_client(b"\r\n")
    t.imap_server(b"+ eyJzdGF0dXMiOiI0MDEifQ==")
    t.imap_client(b"")
    t.imap_client(b"\r\n")
    t.imap_server(b"A002 NO [AUTHENTICATIONFAILED] Authentication failed.")
    t.imap_client(b"A003 LOGOUT\r\n")
    assert t.lines == [
        "C: A002 AUTHENTICATE XOAUTH2",
        "S: + ",
        f"C: {REDACTED}",
        "S: + eyJzdGF0dXMiOiI0MDEifQ==",
        "S: A002 NO [AUTHENTICATIONFAILED] Authentication failed.",
        "C: A003 LOGOUT",
    ]


def test_an_imap_literal_is_summarised_by_size() -> None:
    t = Transcript()
    t.imap_client(b"A004 APPEND INBOX {11}\r\n")
    t.imap_client(b"Hello world")
    assert t.lines == ["C: A004 APPEND INBOX {11}", "C: <literal: 11 bytes>"]


def test_notes_are_one_fact_a_line_and_do_not_disturb_redaction() -> None:
    t = Transcript()
    t.imap_client(b"A005 AUTHENTICATE PLAIN\r\n")
    t.notes(
        [
            "TLS established: TLSv1.3, cipher TLS_AES_256_GCM_SHA384",
            "certificate verified against the system store",
        ]
    )
    t.imap_client(b"AHVzZXIAcGFzcw==\r\n")
    assert t.lines == [
        "C: A005 AUTHENTICATE PLAIN",
        "*  TLS established: TLSv1.3, cipher TLS_AES_256_GCM_SHA384",
        "*  certificate verified against the system store",
        f"C: {REDACTED}",
    ]


def test_a_pre_authenticated_url_never_shows_its_query_whatever_its_keys() -> None:
    t = Transcript()
    t.http_request("PUT", "/upload/S1?sig=SECRET&se=2026", 10, bearer=False, preauthenticated=True)
    t.http_request("PUT", "/upload/S2?authtoken=SECRET", 10, bearer=False, preauthenticated=True)
    t.http_request("GET", "/v1.0/users/u/mailFolders?$top=5", 0, bearer=True)
    assert t.lines == [
        f"C: PUT /upload/S1?{REDACTED}",
        "C: <body: 10 bytes>",
        f"C: PUT /upload/S2?{REDACTED}",
        "C: <body: 10 bytes>",
        "C: GET /v1.0/users/u/mailFolders?$top=5",
        f"C: Authorization: Bearer {REDACTED}",
    ]
    assert "SECRET" not in t.text()
