"""TLS policy for every connection: the client context, and what a session negotiated.

``client_context(endpoint)`` builds the ``ssl.SSLContext``: the system trust
store, or ``tls_ca_file``; host name checked; TLS 1.2 or newer unless the
endpoint's ``tls_versions`` says otherwise. Verification is turned off only
when the user turned it off (``ssl.trust=*`` in ``imap.properties``), or for a
host listed in ``ssl.trust``.

Why a handshake failed, and the transcript's ``*`` notes about a handshake,
are worded in ``tls_explain``.
"""

from __future__ import annotations

import datetime as dt
import ssl
from pathlib import Path
from typing import NamedTuple

from mailrelay_cli.config.endpoints import Endpoint
from mailrelay_cli.errors import ConfigError

VERSIONS = {
    "TLSv1": ssl.TLSVersion.TLSv1,
    "TLSv1.1": ssl.TLSVersion.TLSv1_1,
    "TLSv1.2": ssl.TLSVersion.TLSv1_2,
    "TLSv1.3": ssl.TLSVersion.TLSv1_3,
}

# Records are NamedTuples, not dataclasses: `send` imports this module, and creating a
# dataclass costs ~1-2 ms of start-up against ~0.2 ms for a NamedTuple.


class CertificateInfo(NamedTuple):
    """What a certificate says about itself (read without trusting it)."""

    subject: str
    issuer: str
    not_before: str
    not_after: str
    names: tuple[str, ...]

    @property
    def self_signed(self) -> bool:
        return self.subject == self.issuer

    def days_left(self) -> int | None:
        """Whole days until ``not_after`` (negative once expired); None if unreadable."""
        try:
            end = dt.datetime.strptime(self.not_after, "%Y-%m-%d %H:%M:%S UTC")
        except ValueError:
            return None
        return (end.replace(tzinfo=dt.UTC) - dt.datetime.now(dt.UTC)).days

    def describe(self) -> str:
        names = ", ".join(self.names) if self.names else "none"
        return (
            f"subject {self.subject}; issuer {self.issuer}; "
            f"valid {self.not_before} to {self.not_after}; names {names}"
        )


class TlsInfo(NamedTuple):
    """The negotiated session: protocol version, cipher and the server's certificate."""

    version: str
    cipher: str
    certificate: CertificateInfo | None


def _versions_of(endpoint: Endpoint) -> tuple[ssl.TLSVersion, ssl.TLSVersion | None]:
    if not endpoint.tls_versions:
        return ssl.TLSVersion.TLSv1_2, None
    chosen = []
    for name in endpoint.tls_versions:
        if name not in VERSIONS:
            raise ConfigError(
                f"{endpoint.role}: unknown TLS version {name!r}",
                hint="TLS versions are written " + ", ".join(VERSIONS),
            )
        chosen.append(VERSIONS[name])
    return min(chosen), max(chosen)


def allowed_versions(endpoint: Endpoint) -> str:
    """The versions this client offers, e.g. ``TLSv1.2-TLSv1.3``."""
    low, high = _versions_of(endpoint)
    low_name = next(name for name, v in VERSIONS.items() if v == low)
    high_name = "TLSv1.3" if high is None else next(n for n, v in VERSIONS.items() if v == high)
    return low_name if low_name == high_name else f"{low_name}-{high_name}"


def client_context(endpoint: Endpoint) -> ssl.SSLContext:
    """The context every TLS connection to ``endpoint`` uses."""
    ca_file = endpoint.ca_file
    if ca_file is not None and not Path(ca_file).is_file():
        raise ConfigError(
            f"{endpoint.role}.tls_ca_file: {ca_file} does not exist or is not a file",
            hint=f"mailrelay config set {endpoint.role}.tls_ca_file /path/to/ca.pem",
        )
    trusted = endpoint.host in endpoint.trusted_hosts
    if not endpoint.verify or trusted:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    else:
        try:
            context = ssl.create_default_context(cafile=str(ca_file) if ca_file else None)
        except ssl.SSLError as e:
            raise ConfigError(
                f"{endpoint.role}.tls_ca_file: {ca_file} holds no usable PEM certificate ({e})",
                hint=f"point {endpoint.role}.tls_ca_file at the CA certificate in PEM form",
            ) from e
        context.check_hostname = endpoint.check_hostname
    low, high = _versions_of(endpoint)
    context.minimum_version = low
    if high is not None:
        context.maximum_version = high
    return context


def unverified_context() -> ssl.SSLContext:
    """For reading a certificate to describe it; never used to send anything."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


def describe_der(der: bytes) -> CertificateInfo | None:
    """Subject, issuer, dates and names of a DER certificate (None if it cannot be parsed)."""
    try:
        from cryptography import x509
    except ImportError:  # msal depends on cryptography; be safe anyway
        return None
    try:
        cert = x509.load_der_x509_certificate(der)
    except ValueError:
        return None
    names: list[str] = []
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        names = [str(v) for v in san.get_values_for_type(x509.DNSName)]
        names += [str(v) for v in san.get_values_for_type(x509.IPAddress)]
    except x509.ExtensionNotFound:
        pass
    return CertificateInfo(
        subject=cert.subject.rfc4514_string() or "(empty)",
        issuer=cert.issuer.rfc4514_string() or "(empty)",
        not_before=cert.not_valid_before_utc.strftime("%Y-%m-%d %H:%M:%S UTC"),
        not_after=cert.not_valid_after_utc.strftime("%Y-%m-%d %H:%M:%S UTC"),
        names=tuple(names),
    )


def session_info(sock: ssl.SSLSocket) -> TlsInfo:
    cipher = sock.cipher()
    der = sock.getpeercert(binary_form=True)
    return TlsInfo(
        version=sock.version() or "unknown",
        cipher=cipher[0] if cipher else "unknown",
        certificate=describe_der(der) if der else None,
    )


_TLS_SETTINGS = {
    "smtp": "smtp.starttls true (port 587) or smtp.tls true (port 465)",
    "imap": "imap.tls true (port 993) or imap.starttls true (port 143)",
}


def require_tls_for_credentials(has_tls: bool, endpoint: Endpoint) -> None:
    """Refuse to send a password or token over plain text unless the settings allow it."""
    if has_tls or endpoint.allow_plaintext_auth:
        return
    raise ConfigError(
        f"refusing to send credentials to {endpoint.address} over a connection without TLS",
        hint=(
            f"use TLS: mailrelay config set {_TLS_SETTINGS[endpoint.role]}; only on a trusted "
            f"network: mailrelay config set {endpoint.role}.allow_plaintext_auth true"
        ),
    )


class TlsClient:
    """What the SMTP and IMAP clients share about TLS: whether their socket is wrapped now."""

    @property
    def tls_sock(self) -> ssl.SSLSocket | None:
        """The connection's socket when TLS protects it (implicit or after STARTTLS)."""
        sock = getattr(self, "sock", None)  # smtplib's and imaplib's own attribute
        return sock if isinstance(sock, ssl.SSLSocket) else None

    @property
    def has_tls(self) -> bool:
        return self.tls_sock is not None
