"""``mailrelay test --transcript`` after an OAuth device login: XOAUTH2 stays redacted end to end.

The identity service is the fake one; the tokens it issues are real for the servers:
aiosmtpd's XOAUTH2 accepts them and Dovecot's oauth2 passdb validates them as JWTs.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result

from tests.fixtures.oauth_fakes import FakeIdentityService
from tests.test_cli_auth import accept_tokens_everywhere, oauth_config

_BASE64_RUN = re.compile(r"[A-Za-z0-9+/=]{12,}")


@pytest.fixture
def tested(
    run_cli,
    write_config: Callable[[str], Path],
    identity_service: FakeIdentityService,
    smtp_xoauth2,
    dovecot,
    mail_user,
) -> Result:
    """``mailrelay test --to … --transcript`` after ``mailrelay auth login``, approvals on."""
    write_config(
        oauth_config(smtp_xoauth2, dovecot, mail_user)
        + '[approval]\nenabled = true\nreply_address = "approvals@example.com"\n'
    )
    dovecot.create_folder(mail_user, "Approvals", "Archive")
    accept_tokens_everywhere(identity_service, smtp_xoauth2, dovecot, mail_user)
    identity_service.device_polls.extend(["success"])
    assert run_cli("auth", "login").exit_code == 0
    return run_cli("test", "--to", "ops@example.com", "--transcript")


def decodings(text: str) -> list[bytes]:
    """Every run of 12+ base64 characters in ``text``, decoded at each of the four alignments
    (a run may start mid-quantum when glued to other text)."""
    decoded = []
    for run in _BASE64_RUN.findall(text):
        for start in range(4):
            chunk = run[start:].rstrip("=")
            chunk = chunk[: len(chunk) - len(chunk) % 4 if len(chunk) % 4 == 1 else len(chunk)]
            try:
                decoded.append(base64.b64decode(chunk + "=" * (-len(chunk) % 4)))
            except (binascii.Error, ValueError):
                continue
    return decoded


def test_after_an_oauth_login_test_passes_every_step(tested: Result) -> None:
    assert tested.exit_code == 0, tested.stdout + tested.stderr
    assert "✗" not in tested.stdout


def test_the_smtp_transcript_shows_auth_xoauth2_redacted(tested: Result) -> None:
    assert "C: AUTH XOAUTH2 <redacted>" in tested.stdout.splitlines()


def test_the_imap_transcript_shows_authenticate_xoauth2_with_its_response_redacted(tested: Result) -> None:
    lines = tested.stdout.splitlines()
    (at,) = [
        i for i, line in enumerate(lines) if line.startswith("C: ") and line.endswith(" AUTHENTICATE XOAUTH2")
    ]
    # imaplib sends the initial response on the continuation line after "+ ".
    assert lines[at + 1] == "S: + "
    assert lines[at + 2] == "C: <redacted>"


def test_no_base64_in_the_output_decodes_to_the_access_or_refresh_token(
    tested: Result, identity_service: FakeIdentityService
) -> None:
    tokens = [*identity_service.issued, *identity_service.refresh_tokens]
    assert identity_service.issued and identity_service.refresh_tokens
    output = tested.stdout + tested.stderr
    decoded = decodings(output)
    assert decoded  # the scan has runs to decode (long words count too), so it is not vacuous
    for token in tokens:
        assert token not in output
        assert not [d for d in decoded if token.encode() in d], "a token leaked in base64"


def test_after_an_oauth_login_test_lists_the_folders(tested: Result) -> None:
    (line,) = [line for line in tested.stdout.splitlines() if "IMAP folders:" in line]
    assert line.startswith("✓ ")
    assert {"INBOX", "Approvals", "Archive"} <= set(line.split(": ", 1)[1].split(", "))
