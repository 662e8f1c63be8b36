"""``mailrelay test`` end to end: real aiosmtpd and Dovecot, the keyring file backend, CliRunner."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from mailrelay_cli.auth import credentials
from tests.fixtures.dovecot import Dovecot, MailUser
from tests.fixtures.smtp_servers import SMTP_PASSWORD, SmtpServer

SENTINEL_PW = "S3ntinel-pw-xyz"


@pytest.fixture
def configure(write_config: Callable[[str], Path], dovecot: Dovecot) -> Callable[..., Path]:
    """Write settings for ``server`` (and Dovecot as ``user``, with approvals on)."""

    def write(
        server: SmtpServer | None,
        user: MailUser | None = None,
        *,
        folder: str = "INBOX",
        smtp_extra: dict | None = None,
        imap_extra: dict | None = None,
    ) -> Path:
        text = server.toml(**(smtp_extra or {})) if server else ""
        if user is not None:
            text += dovecot.imap_toml(user, **(imap_extra or {}))
            text += f'[approval]\nenabled = true\nfolder = "{folder}"\n'
        return write_config(text)

    return write


def store(name: str, value: str) -> None:
    credentials.set_secret("default", name, value)


def json_lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def test_happy_path_sends_the_test_message_and_opens_the_reply_folder(
    run_cli, configure, smtp_starttls, dovecot, mail_user
) -> None:
    dovecot.append(mail_user, b"Subject: waiting\r\n\r\nreply\r\n")
    configure(smtp_starttls, mail_user)
    store("smtp.password", SMTP_PASSWORD)
    store("imap.password", mail_user.password)
    result = run_cli("test", "--to", "Dev@Example.COM")
    assert result.exit_code == 0, result.stdout + result.stderr
    out = result.stdout
    for step in (
        "SMTP resolve",
        "SMTP connect",
        "SMTP STARTTLS",
        "SMTP TLS",
        "SMTP certificate",
        "SMTP auth mechanisms",
        "SMTP login",
        "SMTP send",
        "IMAP resolve",
        "IMAP connect",
        "IMAP TLS",
        "IMAP capabilities",
        "IMAP login",
        "IMAP folders",
        "IMAP select",
        "IMAP count",
    ):
        assert f"✓ {step}" in out, step
    assert "✗" not in out
    assert "1 message in INBOX" in out
    [received] = smtp_starttls.messages
    assert received.rcpt_tos == ("Dev@example.com",)  # the domain is lower-cased, not the user
    message = received.message()
    assert message["Subject"] == "mailrelay test message"
    assert message["Auto-Submitted"] == "auto-generated"
    assert message["Message-ID"].endswith("@example.com>")
    assert message["Date"]
    assert received.mail_from == "relay@example.com"


def test_smtp_only_over_implicit_tls_skips_imap(run_cli, configure, smtp_tls, mail_user) -> None:
    configure(smtp_tls, mail_user)
    store("smtp.password", SMTP_PASSWORD)
    result = run_cli("test", "--to", "dev@example.com", "--smtp-only")
    assert result.exit_code == 0, result.stdout
    assert "IMAP" not in result.stdout
    assert "implicit TLS" in result.stdout


def test_recipient_defaults_to_test_to(run_cli, write_config, smtp_starttls) -> None:
    write_config(smtp_starttls.toml() + '[test]\nto = "ops@example.com"\n')
    store("smtp.password", SMTP_PASSWORD)
    result = run_cli("test")
    assert result.exit_code == 0, result.stdout
    assert smtp_starttls.messages[0].rcpt_tos == ("ops@example.com",)


def test_without_a_recipient_is_a_usage_error(run_cli, configure, smtp_starttls) -> None:
    configure(smtp_starttls)
    result = run_cli("test")
    assert result.exit_code == 2
    assert "--to" in result.stderr and "test.to" in result.stderr


def test_imap_only_sends_nothing(run_cli, configure, smtp_starttls, mail_user) -> None:
    configure(smtp_starttls, mail_user)
    store("imap.password", mail_user.password)
    result = run_cli("test", "--imap-only")
    assert result.exit_code == 0, result.stdout
    assert "SMTP" not in result.stdout
    assert smtp_starttls.messages == []


def test_wrong_folder_fails_78_listing_the_nearest_folders(
    run_cli, configure, smtp_starttls, dovecot, mail_user
) -> None:
    dovecot.create_folder(mail_user, "Approvals", "Archive")
    configure(None, mail_user, folder="Aproval")
    store("imap.password", mail_user.password)
    result = run_cli("test", "--imap-only")
    assert result.exit_code == 78
    assert "✗ IMAP select" in result.stdout
    assert "nearest: Approvals" in result.stdout
    assert "mailrelay config set approval.folder Approvals" in result.stdout


def test_starttls_not_offered_fails_69_and_sends_no_password(run_cli, configure, smtp_plain_auth) -> None:
    configure(smtp_plain_auth, smtp_extra={"starttls": True})
    store("smtp.password", SENTINEL_PW)
    result = run_cli("test", "--to", "dev@example.com")
    assert result.exit_code == 69
    assert "✗ SMTP STARTTLS" in result.stdout
    assert smtp_plain_auth.auth_commands == []


def test_wrong_password_fails_77_at_the_login_step(run_cli, configure, smtp_starttls) -> None:
    configure(smtp_starttls)
    store("smtp.password", "not-it")
    result = run_cli("test", "--to", "dev@example.com")
    assert result.exit_code == 77
    assert "✓ SMTP auth mechanisms: LOGIN PLAIN" in result.stdout
    assert "✗ SMTP login" in result.stdout
    assert "hint: " in result.stdout


def test_expired_certificate_fails_78_at_the_certificate_step(
    run_cli, configure, smtp_server_factory, expired_certs
) -> None:
    server = smtp_server_factory(security="tls", tls_certs=expired_certs)
    configure(server)
    store("smtp.password", SMTP_PASSWORD)
    result = run_cli("test", "--to", "dev@example.com")
    assert result.exit_code == 78
    assert "✗ SMTP certificate" in result.stdout
    assert "expired" in result.stdout


def test_tls_spoken_to_the_starttls_port_hints_at_587_and_465(run_cli, configure, smtp_starttls) -> None:
    configure(smtp_starttls, smtp_extra={"tls": True, "starttls": False})
    store("smtp.password", SMTP_PASSWORD)
    result = run_cli("test", "--to", "dev@example.com")
    assert result.exit_code == 78
    assert "✗ SMTP TLS" in result.stdout
    assert "465" in result.stdout and "587" in result.stdout


def test_unreachable_imap_fails_75_after_smtp_passed(run_cli, configure, smtp_starttls, mail_user) -> None:
    from tests.fixtures.smtp_servers import free_port

    configure(smtp_starttls, mail_user, imap_extra={"port": free_port()})
    store("smtp.password", SMTP_PASSWORD)
    store("imap.password", mail_user.password)
    result = run_cli("test", "--to", "dev@example.com")
    assert result.exit_code == 75
    assert "✓ SMTP send" in result.stdout
    assert "✗ IMAP connect" in result.stdout


def test_json_prints_one_object_per_step_then_a_summary(run_cli, configure, smtp_starttls, mail_user) -> None:
    configure(smtp_starttls, mail_user)
    store("smtp.password", SMTP_PASSWORD)
    store("imap.password", mail_user.password)
    result = run_cli("test", "--to", "dev@example.com", "--json")
    assert result.exit_code == 0, result.stdout
    lines = json_lines(result.stdout)
    *steps, summary = lines
    assert all(set(step) == {"name", "ok", "detail", "hint"} for step in steps)
    assert steps[0]["name"] == "SMTP resolve"
    assert set(summary) == {"summary"}
    assert set(summary["summary"]) == {"ok", "exit_code", "message_id"}
    assert summary["summary"]["ok"] is True and summary["summary"]["exit_code"] == 0


def test_json_failure_carries_the_hint_and_the_exit_code(run_cli, configure, smtp_starttls) -> None:
    configure(smtp_starttls)
    store("smtp.password", "not-it")
    result = run_cli("test", "--to", "dev@example.com", "--json")
    assert result.exit_code == 77
    *steps, summary = json_lines(result.stdout)
    failed = [step for step in steps if step["ok"] is False]
    assert [step["name"] for step in failed] == ["SMTP login"]
    assert "mailrelay secret set smtp.password" in failed[0]["hint"]
    assert summary["summary"]["exit_code"] == 77


def test_transcript_follows_the_checklist_with_secrets_redacted(
    run_cli, configure, smtp_starttls, dovecot
) -> None:
    user = dovecot.new_user(password=SENTINEL_PW)
    configure(smtp_starttls, user)
    store("smtp.password", SENTINEL_PW)  # wrong for the SMTP server: that login fails
    store("imap.password", SENTINEL_PW)
    result = run_cli("test", "--to", "dev@example.com", "--transcript")
    assert result.exit_code == 77
    out = result.stdout
    assert out.index("SMTP login") < out.index("C: STARTTLS")
    assert "C: AUTH PLAIN <redacted>" in out
    assert "AUTHENTICATE PLAIN\nS: + \nC: <redacted>" in out
    assert "✓ IMAP count" in out
    assert SENTINEL_PW not in out and SENTINEL_PW not in result.stderr


def test_sentinel_password_never_appears_in_any_output(run_cli, configure, smtp_plain_auth, dovecot) -> None:
    user = dovecot.new_user(password=SENTINEL_PW)
    run_cli("secret", "set", "smtp.password", "--stdin", input=SENTINEL_PW + "\n")
    for extra, imap_extra in (
        ({"starttls": True}, {}),
        (
            {"starttls": False, "allow_plaintext_auth": True},
            {"port": dovecot.imap_port, "tls": False, "starttls": True},
        ),
    ):
        configure(smtp_plain_auth, user, smtp_extra=extra, imap_extra=imap_extra)
        for args in (("--transcript",), ("--transcript", "--json"), ("-v",)):
            result = run_cli("-v", "test", "--to", "dev@example.com", *args)
            assert SENTINEL_PW not in result.stdout + result.stderr
            assert SENTINEL_PW not in decoded_base64(result.stdout + result.stderr)


def decoded_base64(text: str) -> str:
    """Every base64-looking run in ``text``, decoded: an unredacted AUTH PLAIN hides there."""
    import base64
    import binascii
    import re

    found = []
    for run in re.findall(r"[A-Za-z0-9+/]{8,}={0,2}", text):
        try:
            found.append(base64.b64decode(run + "=" * (-len(run) % 4)).decode("latin-1"))
        except (binascii.Error, ValueError):
            continue
    return "\n".join(found)


# -- the TLS handshake in the transcript (what openssl s_client would show) ------------------


def notes(out: str) -> list[str]:
    return [line[3:] for line in out.splitlines() if line.startswith("*  ")]


def test_transcript_of_a_self_signed_imaps_certificate_shows_the_error_and_the_certificate(
    run_cli, configure, scripted_server_factory, self_signed_certs, mail_user
) -> None:
    server = scripted_server_factory(tls=self_signed_certs.server_context(), greeting=b"* OK ready\r\n")
    configure(None, mail_user, imap_extra={"port": server.port})
    store("imap.password", SENTINEL_PW)
    result = run_cli("test", "--imap-only", "--transcript")
    assert result.exit_code == 78, result.stdout
    lines = notes(result.stdout)
    assert "TLS handshake: this client allows TLSv1.2-TLSv1.3" in lines
    assert "TLS server name (SNI): not sent (127.0.0.1 is an IP address)" in lines
    assert any(
        line.startswith("TLS handshake failed: certificate verify failed: self") and "signed" in line
        for line in lines
    ), lines
    assert "certificate subject: CN=self-signed.localhost" in lines
    assert "certificate issuer: CN=self-signed.localhost (self-signed)" in lines
    assert any(line.startswith("certificate valid: ") and "days left" in line for line in lines)
    assert any(line.startswith("certificate names: ") and "localhost" in line for line in lines)
    assert SENTINEL_PW not in result.stdout + result.stderr


@pytest.mark.parametrize("role", ["smtp", "imap"])
def test_transcript_of_tls_spoken_to_a_plain_port_shows_what_the_server_sent(
    role, run_cli, configure, smtp_plain, dovecot, mail_user
) -> None:
    if role == "smtp":
        configure(smtp_plain, smtp_extra={"tls": True, "starttls": False})
        args = ("--to", "dev@example.com", "--smtp-only")
        greeting = "server sent in plain text: 220 "
    else:
        configure(None, mail_user, imap_extra={"port": dovecot.imap_port, "tls": True, "starttls": False})
        args = ("--imap-only",)
        greeting = "server sent in plain text: * OK "
    result = run_cli("test", *args, "--transcript")
    assert result.exit_code == 78, result.stdout
    lines = notes(result.stdout)
    assert "TLS handshake: this client allows TLSv1.2-TLSv1.3" in lines
    assert any(
        line.startswith("TLS handshake failed: ") and "did not answer in TLS" in line for line in lines
    ), lines
    [sent] = [line for line in lines if line.startswith("server sent in plain text: ")]
    assert sent.startswith(greeting)
    assert len(sent) <= len("server sent in plain text: ") + 81


def test_transcript_of_a_starttls_session_shows_version_cipher_issuer_and_trust(
    run_cli, configure, smtp_starttls, dovecot, mail_user, server_certs
) -> None:
    configure(
        smtp_starttls, mail_user, imap_extra={"port": dovecot.imap_port, "tls": False, "starttls": True}
    )
    store("smtp.password", SMTP_PASSWORD)
    store("imap.password", mail_user.password)
    result = run_cli("test", "--to", "dev@example.com", "--transcript")
    assert result.exit_code == 0, result.stdout
    out = result.stdout
    lines = notes(out)
    # The attempt is noted after the server's go-ahead, before the handshake.
    assert "S: 220 Ready to start TLS\n*  TLS handshake: this client allows" in out
    assert "OK Begin TLS negotiation now.\n*  TLS handshake: this client allows" in out
    established = [line for line in lines if line.startswith("TLS established: TLSv1.")]
    assert len(established) == 2 and all("cipher " in line for line in established)
    issuers = [line for line in lines if line.startswith("certificate issuer: ")]
    assert len(issuers) == 2 and all("mailrelay test CA" in line for line in issuers)
    assert any(line.startswith("certificate valid: ") for line in lines)
    verified = [line for line in lines if line.startswith("certificate verified against ")]
    assert verified == [f"certificate verified against CA file {server_certs.ca}"] * 2
    assert not any("failed" in line for line in lines)
