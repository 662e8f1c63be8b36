"""tls.py and tls_explain.py: the client context and certificate / handshake failures, against
real TLS servers."""

from __future__ import annotations

import ssl
from collections.abc import Callable
from pathlib import Path

import pytest

from mailrelay_cli.auth import credentials
from mailrelay_cli.config.endpoints import Endpoint
from mailrelay_cli.config.load import load_settings
from mailrelay_cli.config.records import Settings
from mailrelay_cli.errors import CertificateError, ConfigError, ExitCode
from mailrelay_cli.transport import tls, tls_explain
from tests.fixtures.certs import CertFiles
from tests.fixtures.smtp_servers import SMTP_PASSWORD, SmtpServer
from tests.sessions import open_smtp


@pytest.fixture
def settings_trusting(
    write_config: Callable[[str], Path], server_certs: CertFiles
) -> Callable[..., Settings]:
    """Settings reaching ``server`` while trusting only the session CA."""

    def make(server: SmtpServer, **extra: object) -> Settings:
        extra.setdefault("tls_ca_file", str(server_certs.ca))
        write_config(server.toml(**extra))
        credentials.set_secret("default", "smtp.password", SMTP_PASSWORD)
        return load_settings()

    return make


def connect_and_login(settings: Settings) -> None:
    with open_smtp(settings):
        pass


@pytest.mark.parametrize("security", ["tls", "starttls"])
def test_expired_certificate_is_78_with_subject_issuer_and_dates(
    security, smtp_server_factory, expired_certs, settings_trusting
) -> None:
    server = smtp_server_factory(security=security, tls_certs=expired_certs)
    with pytest.raises(CertificateError) as caught:
        connect_and_login(settings_trusting(server))
    error = caught.value
    assert error.exit_code == ExitCode.CONFIG
    assert f"127.0.0.1:{server.port}" in error.message
    assert "expired" in error.message
    assert "subject CN=localhost" in error.message
    assert "mailrelay test CA" in error.message  # the issuer
    assert "2020-01-01" in error.message and "2020-01-31" in error.message
    assert "renew" in (error.hint or "")
    assert server.auth_commands == []


def test_wrong_host_certificate_is_78_naming_the_names_it_holds(
    smtp_server_factory, wrong_host_certs, settings_trusting
) -> None:
    server = smtp_server_factory(security="tls", tls_certs=wrong_host_certs)
    with pytest.raises(CertificateError) as caught:
        connect_and_login(settings_trusting(server))
    assert "mail.wrong.example" in caught.value.message
    assert "smtp.host" in (caught.value.hint or "")
    assert "mail.wrong.example" in (caught.value.hint or "")


def test_self_signed_certificate_is_78_with_the_tls_ca_file_hint(
    smtp_server_factory, self_signed_certs, settings_trusting
) -> None:
    server = smtp_server_factory(security="starttls", tls_certs=self_signed_certs)
    with pytest.raises(CertificateError) as caught:
        connect_and_login(settings_trusting(server))
    assert "self-signed" in caught.value.message or "self signed" in caught.value.message
    assert "issuer CN=self-signed.localhost" in caught.value.message
    assert "smtp.tls_ca_file" in (caught.value.hint or "")


def test_trusting_the_self_signed_certificate_via_tls_ca_file_connects(
    smtp_server_factory, self_signed_certs, settings_trusting
) -> None:
    server = smtp_server_factory(security="starttls", tls_certs=self_signed_certs)
    connect_and_login(settings_trusting(server, tls_ca_file=str(self_signed_certs.ca)))
    assert server.logins and server.logins[0][2] is True


def test_missing_ca_file_is_a_config_error_naming_the_key(tmp_path) -> None:
    endpoint = Endpoint("smtp", "127.0.0.1", 1, "tls", ca_file=tmp_path / "nope.pem")
    with pytest.raises(ConfigError) as caught:
        tls.client_context(endpoint)
    assert "smtp.tls_ca_file" in caught.value.message
    assert "nope.pem" in caught.value.message


def test_context_requires_tls_1_2_and_checks_host_names_by_default() -> None:
    context = tls.client_context(Endpoint("imap", "mail.example.com", 993, "tls"))
    assert context.minimum_version == ssl.TLSVersion.TLSv1_2
    assert context.check_hostname is True
    assert context.verify_mode == ssl.CERT_REQUIRED


def test_tls_versions_of_the_endpoint_bound_the_context() -> None:
    endpoint = Endpoint("imap", "mail.example.com", 993, "tls", tls_versions=("TLSv1.3",))
    context = tls.client_context(endpoint)
    assert context.minimum_version == ssl.TLSVersion.TLSv1_3
    assert context.maximum_version == ssl.TLSVersion.TLSv1_3


def test_no_common_tls_version_names_what_each_side_allows(scripted_server_factory, server_certs) -> None:
    server_context = server_certs.server_context()
    server_context.maximum_version = ssl.TLSVersion.TLSv1_2
    server = scripted_server_factory(tls=server_context, greeting=b"220 old ESMTP\r\n")
    endpoint = Endpoint(
        "imap",
        "127.0.0.1",
        server.port,
        "tls",
        ca_file=server_certs.ca,
        tls_versions=("TLSv1.3",),
        timeout=5,
        connect_timeout=5,
    )
    from mailrelay_cli.transport import imap

    with pytest.raises(ConfigError) as caught:
        imap.connect(endpoint)
    assert "this client allows TLSv1.3" in caught.value.message
    assert "the server accepts" in caught.value.message and "TLSv1.2" in caught.value.message


def test_certificate_description_reads_subject_issuer_dates_and_names(server_certs) -> None:
    from cryptography import x509
    from cryptography.hazmat.primitives.serialization import Encoding

    pem = server_certs.cert.read_bytes()
    der = x509.load_pem_x509_certificate(pem).public_bytes(Encoding.DER)
    info = tls.describe_der(der)
    assert info is not None
    assert info.subject.startswith("CN=localhost")
    assert "mailrelay test CA" in info.issuer
    assert info.names == ("localhost", "127.0.0.1")
    assert not info.self_signed


def test_imap_certificate_failure_is_described_the_same_way(
    scripted_server_factory, expired_certs, server_certs
) -> None:
    from mailrelay_cli.transport import imap

    server = scripted_server_factory(tls=expired_certs.server_context(), greeting=b"* OK ready\r\n")
    endpoint = Endpoint(
        "imap", "127.0.0.1", server.port, "tls", ca_file=server_certs.ca, timeout=5, connect_timeout=5
    )
    with pytest.raises(CertificateError) as caught:
        imap.connect(endpoint)
    assert caught.value.exit_code == ExitCode.CONFIG
    assert "expired" in caught.value.message
    assert "2020-01-31" in caught.value.message
    assert "renew" in (caught.value.hint or "")


# -- transcript notes ------------------------------------------------------------------------


def test_attempt_notes_name_the_versions_offered_and_the_sni_name() -> None:
    by_name = Endpoint("imap", "mail.example.com", 993, "tls", tls_versions=("TLSv1.3",))
    assert tls_explain.attempt_notes(by_name) == [
        "TLS handshake: this client allows TLSv1.3",
        "TLS server name (SNI): mail.example.com",
    ]
    by_address = Endpoint("smtp", "::1", 465, "tls")
    assert (
        tls_explain.attempt_notes(by_address)[1] == "TLS server name (SNI): not sent (::1 is an IP address)"
    )


def test_verified_note_names_the_trust_used(tmp_path) -> None:
    ca = tmp_path / "ca.pem"
    assert tls_explain.verified_note(Endpoint("imap", "h", 993, "tls", ca_file=ca)) == (
        f"certificate verified against CA file {ca}"
    )
    assert tls_explain.verified_note(Endpoint("imap", "h", 993, "tls")) == (
        "certificate verified against the system store"
    )
    assert "host name not checked" in tls_explain.verified_note(
        Endpoint("imap", "h", 993, "tls", check_hostname=False)
    )
    assert "not verified" in tls_explain.verified_note(Endpoint("imap", "h", 993, "tls", verify=False))
    assert "not verified" in tls_explain.verified_note(
        Endpoint("imap", "h", 993, "tls", trusted_hosts=("h",))
    )


def test_certificate_failure_notes_the_reason_and_the_presented_certificate(
    scripted_server_factory, expired_certs, server_certs
) -> None:
    from mailrelay_cli.transport import imap
    from mailrelay_cli.transport.transcript import Transcript

    server = scripted_server_factory(tls=expired_certs.server_context(), greeting=b"* OK ready\r\n")
    endpoint = Endpoint(
        "imap", "127.0.0.1", server.port, "tls", ca_file=server_certs.ca, timeout=5, connect_timeout=5
    )
    transcript = Transcript()
    with pytest.raises(CertificateError):
        imap.connect(endpoint, transcript)
    lines = transcript.lines
    assert "*  TLS handshake failed: certificate verify failed: certificate has expired" in lines
    assert f"*  checked against CA file {server_certs.ca}" in lines
    [valid] = [line for line in lines if line.startswith("*  certificate valid: ")]
    assert "2020-01-01" in valid and "2020-01-31" in valid and "expired" in valid
    assert any(line.startswith("*  certificate issuer: ") and "mailrelay test CA" in line for line in lines)


def test_first_bytes_of_a_plain_server_are_printable_and_truncated(scripted_server_factory) -> None:
    server = scripted_server_factory(greeting=b"220 " + b"x" * 200 + b"\x01\r\n")
    endpoint = Endpoint("smtp", "127.0.0.1", server.port, "tls", timeout=5, connect_timeout=5)
    first = tls_explain.plain_first_bytes(endpoint)
    assert first == "220 " + "x" * 76 + "…"
    server = scripted_server_factory(greeting=b"* OK \x1b[1mhi\r\nmore\r\n")
    endpoint = Endpoint("imap", "127.0.0.1", server.port, "tls", timeout=5, connect_timeout=5)
    assert tls_explain.plain_first_bytes(endpoint) == "* OK .[1mhi"


def test_a_silent_server_yields_no_first_bytes(silent_server) -> None:
    endpoint = Endpoint("smtp", "127.0.0.1", silent_server.port, "tls", timeout=0.3, connect_timeout=1)
    assert tls_explain.plain_first_bytes(endpoint) is None
