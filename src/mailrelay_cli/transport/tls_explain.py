"""Why a TLS handshake failed, worded for a user; and the transcript's notes about a handshake.

``handshake_error(error, endpoint, reconnect)`` turns an ``ssl`` exception into
a ``MailrelayError``. To describe a certificate that failed verification it
needs the certificate, which Python only hands out after a successful
handshake: ``reconnect(context)`` opens a fresh connection the protocol's way
(SMTP STARTTLS, IMAP STARTTLS, or implicit TLS) and returns the TLS socket,
and this module calls it with an unverified context just to read the
certificate. The same hook probes which TLS versions a server accepts.

For ``mailrelay test --transcript`` this module also words the ``*`` notes of a
handshake, one fact per line, like ``openssl s_client`` shows them:
``attempt_notes`` (versions offered, SNI) before it, ``session_notes``
(version, cipher, certificate, what it was verified against) after it, and
``handshake_error(..., note=transcript.note)`` adds the failure, the presented
certificate (from the same unverified re-connection the error message uses)
or, for a port that speaks plain text first, what the server sent. Notes
never hold a secret: nothing here reads one.
"""

from __future__ import annotations

import datetime as dt
import socket
import ssl
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, cast

from mailrelay_cli.config.endpoints import Endpoint
from mailrelay_cli.errors import (
    CertificateError,
    ConfigError,
    MailrelayError,
    StartTLSUnavailableError,
    TemporaryError,
)
from mailrelay_cli.transport.tls import (
    VERSIONS,
    CertificateInfo,
    allowed_versions,
    client_context,
    describe_der,
    session_info,
    unverified_context,
)

if TYPE_CHECKING:
    from mailrelay_cli.transport.transcript import Transcript

Reconnect = Callable[[ssl.SSLContext], ssl.SSLSocket]
Note = Callable[[str], None]

# OpenSSL's reasons when the peer did not answer in TLS at all (it sent a banner).
_NOT_TLS = {
    "WRONG_VERSION_NUMBER",
    "RECORD_LAYER_FAILURE",
    "UNKNOWN_PROTOCOL",
    "HTTP_REQUEST",
    "PACKET_LENGTH_TOO_LONG",
    "UNEXPECTED_RECORD",
    "RECORD_TOO_LONG",
}
_VERSION_REFUSED = {
    "UNSUPPORTED_PROTOCOL",
    "TLSV1_ALERT_PROTOCOL_VERSION",
    "NO_PROTOCOLS_AVAILABLE",
    "WRONG_SSL_VERSION",
    "VERSION_TOO_LOW",
    "VERSION_TOO_HIGH",
    "TLSV1_ALERT_INSUFFICIENT_SECURITY",
}
# X509_V_ERR_* codes that mean "nobody you trust vouches for this certificate".
_UNKNOWN_ISSUER = {2, 18, 19, 20, 21}
_EXPIRED = 10
_NOT_YET_VALID = 9
_HOSTNAME_MISMATCH = {62, 64}  # host name, IP address


def _is_address(host: str) -> bool:
    import ipaddress  # only for transcripts; not worth its import on every run

    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def attempt_notes(endpoint: Endpoint) -> list[str]:
    """What this client is about to offer: TLS versions and the server name (SNI)."""
    sni = f"not sent ({endpoint.host} is an IP address)" if _is_address(endpoint.host) else endpoint.host
    return [
        f"TLS handshake: this client allows {allowed_versions(endpoint)}",
        f"TLS server name (SNI): {sni}",
    ]


class _Announcing:
    """Stands in for an ``SSLContext`` given to smtplib's or imaplib's ``starttls``: notes the
    attempt just before the handshake (after the server's go-ahead), then wraps as usual."""

    def __init__(self, context: ssl.SSLContext, endpoint: Endpoint, note: Note) -> None:
        self.context = context
        self.endpoint = endpoint
        self.note = note

    def wrap_socket(self, sock: socket.socket, *args: Any, **kwargs: Any) -> ssl.SSLSocket:
        _emit(self.note, attempt_notes(self.endpoint))
        return self.context.wrap_socket(sock, *args, **kwargs)


def announcing(context: ssl.SSLContext, endpoint: Endpoint, note: Note | None) -> ssl.SSLContext:
    """``context``, or (with a transcript's ``note``) one that notes the handshake attempt."""
    if note is None:
        return context
    return cast(ssl.SSLContext, _Announcing(context, endpoint, note))


def starttls_context(endpoint: Endpoint, transcript: Transcript | None) -> ssl.SSLContext:
    """The context a STARTTLS upgrade uses: the endpoint's, noting the attempt in ``transcript``."""
    return announcing(client_context(endpoint), endpoint, transcript.note if transcript else None)


@contextmanager
def handshaking(protocol_errors: type[Exception]) -> Iterator[None]:
    """Around a STARTTLS upgrade: an ``OSError`` raised inside (``ssl.SSLError``, a timeout of the
    handshake) becomes ``HandshakeFailed``; the protocol library's own errors pass unchanged."""
    try:
        yield
    except protocol_errors:
        raise
    except OSError as e:
        raise HandshakeFailed(e) from e


def certificate_notes(info: CertificateInfo | None) -> list[str]:
    """The presented certificate, one fact a line (read without trusting it)."""
    if info is None:
        return ["certificate: none readable"]
    days = info.days_left()
    if days is None:
        left = ""
    elif days < 0:
        left = f" (expired {-days} days ago)"
    else:
        left = f" ({days} days left)"
    return [
        f"certificate subject: {info.subject}",
        f"certificate issuer: {info.issuer}" + (" (self-signed)" if info.self_signed else ""),
        f"certificate valid: {info.not_before} to {info.not_after}{left}",
        f"certificate names: {', '.join(info.names) if info.names else 'none'}",
    ]


def verified_note(endpoint: Endpoint) -> str:
    """What a certificate that passed was checked against (the trust ``client_context`` uses)."""
    if not endpoint.verify or endpoint.host in endpoint.trusted_hosts:
        return "certificate not verified (certificate checks are off for this host)"
    where = f"CA file {endpoint.ca_file}" if endpoint.ca_file else "the system store"
    host = "" if endpoint.check_hostname else "; host name not checked"
    return f"certificate verified against {where}{host}"


def session_notes(sock: ssl.SSLSocket, endpoint: Endpoint) -> list[str]:
    """The negotiated session and the certificate, after a successful handshake."""
    info = session_info(sock)
    return [
        f"TLS established: {info.version}, cipher {info.cipher}",
        *certificate_notes(info.certificate),
        verified_note(endpoint),
    ]


def _printable(data: bytes, limit: int = 80) -> str:
    text = data.decode("latin-1").split("\n")[0].rstrip("\r")
    text = "".join(c if c.isprintable() else "." for c in text)
    return text[:limit] + ("…" if len(text) > limit else "")


def plain_first_bytes(endpoint: Endpoint, wait: float = 3.0) -> str | None:
    """What the server says first on a fresh plain connection (its greeting), or None."""
    # A bare connection: a failure here only means there is nothing to show (and net, whose
    # errors are worded with this module's help, would make an import cycle).
    try:
        sock = socket.create_connection((endpoint.host, endpoint.port), endpoint.connect_timeout)
    except OSError:
        return None
    try:
        sock.settimeout(min(wait, endpoint.timeout))
        data = sock.recv(512)
    except OSError:
        return None
    finally:
        sock.close()
    return _printable(data) if data else None


def _emit(note: Note | None, lines: list[str]) -> None:
    if note is not None:
        for line in lines:
            note(line)


def _peer_certificate(reconnect: Reconnect | None) -> CertificateInfo | None:
    if reconnect is None:
        return None
    try:
        sock = reconnect(unverified_context())
    except (OSError, MailrelayError):
        return None
    try:
        der = sock.getpeercert(binary_form=True)
    finally:
        sock.close()
    return describe_der(der) if der else None


def _server_versions(reconnect: Reconnect | None) -> list[str]:
    accepted: list[str] = []
    if reconnect is None:
        return accepted
    for name, version in VERSIONS.items():
        context = unverified_context()
        try:
            with warnings.catch_warnings():
                # TLS 1.0/1.1 are deprecated, which is the point: we only ask if the server speaks them.
                warnings.simplefilter("ignore", DeprecationWarning)
                # Old versions need the lowest security level to be tried at all.
                context.set_ciphers("ALL:@SECLEVEL=0")
                context.minimum_version = version
                context.maximum_version = version
        except (ValueError, ssl.SSLError):
            continue
        try:
            reconnect(context).close()
        except (OSError, MailrelayError):
            continue
        accepted.append(name)
    return accepted


def certificate_error(
    error: ssl.SSLCertVerificationError,
    endpoint: Endpoint,
    reconnect: Reconnect | None,
    note: Note | None = None,
) -> CertificateError:
    """The certificate of ``endpoint`` failed verification: say whose, why and what to do."""
    info = _peer_certificate(reconnect)
    reason = error.verify_message or error.reason or str(error)
    if note is not None:
        where = f"CA file {endpoint.ca_file}" if endpoint.ca_file else "the system store"
        _emit(
            note,
            [
                f"TLS handshake failed: certificate verify failed: {reason}",
                f"checked against {where}",
                "presented certificate (read unverified):",
                *certificate_notes(info),
            ],
        )
    code = error.verify_code
    key = f"{endpoint.role}.tls_ca_file"
    if code in _UNKNOWN_ISSUER or (info is not None and info.self_signed):
        if endpoint.ca_file:
            hint = (
                f"{key} ({endpoint.ca_file}) does not vouch for this certificate: point it at "
                f"the CA that issued it (mailrelay config set {key} /path/to/ca.pem)"
            )
        else:
            hint = (
                f"if the server uses a private or self-signed CA, trust it: "
                f"mailrelay config set {key} /path/to/ca.pem"
            )
    elif code == _EXPIRED:
        now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
        hint = f"the server's certificate has expired (clock here: {now}); renew it on the server"
    elif code == _NOT_YET_VALID:
        hint = "the certificate is not valid yet: check the clock of this host and of the server"
    elif code in _HOSTNAME_MISMATCH:
        names = ", ".join(info.names) if info and info.names else "the name on the certificate"
        hint = (
            f"connect using a name the certificate holds ({names}): "
            f"mailrelay config set {endpoint.role}.host NAME"
        )
    else:
        hint = f"check the server's certificate chain, or set {key}"
    described = f" ({info.describe()})" if info else ""
    return CertificateError(
        f"TLS certificate of {endpoint.address} failed verification: {reason}{described}",
        hint=hint,
    )


def not_tls_hint(endpoint: Endpoint) -> str:
    """The hint for implicit TLS spoken to a port that talks plain text first."""
    role = endpoint.role
    if role == "smtp":
        return (
            f"port {endpoint.port} speaks plain SMTP first: for 587 (or 25) use STARTTLS "
            f"(mailrelay config set smtp.tls false; mailrelay config set smtp.starttls true); "
            f"implicit TLS is usually port 465"
        )
    return (
        f"port {endpoint.port} speaks plain IMAP first: for 143 use STARTTLS "
        f"(mailrelay config set imap.tls false; mailrelay config set imap.starttls true); "
        f"implicit TLS is usually port 993"
    )


def expects_tls_hint(endpoint: Endpoint) -> str:
    """The hint for a server that never greets: probably an implicit TLS port spoken to in plain."""
    if endpoint.role == "smtp":
        return (
            f"port {endpoint.port} may expect implicit TLS (like 465): "
            f"mailrelay config set smtp.tls true; STARTTLS servers usually listen on 587"
        )
    return (
        f"port {endpoint.port} may expect implicit TLS (like 993): "
        f"mailrelay config set imap.tls true; STARTTLS servers usually listen on 143"
    )


class HandshakeFailed(Exception):
    """Carries a TLS handshake failure out of smtplib's or imaplib's connect unchanged, so
    that ``handshake_error`` explains it once for both protocols."""

    def __init__(self, error: BaseException) -> None:
        super().__init__(str(error))
        self.error = error


def implicit_tls(
    sock: socket.socket, endpoint: Endpoint, context: ssl.SSLContext | None, transcript: Transcript | None
) -> socket.socket:
    """A fresh TCP connection made ready for the protocol, for SMTP and IMAP alike: noted in the
    transcript and, when ``context`` is given (implicit TLS), wrapped in TLS from the first byte.
    A failed handshake closes ``sock`` and raises ``HandshakeFailed``."""
    if transcript:
        transcript.note(f"connected to {endpoint.address}")
    if context is None:
        return sock
    if transcript:
        transcript.notes(attempt_notes(endpoint))
    try:
        return context.wrap_socket(sock, server_hostname=endpoint.host)
    except OSError as e:
        sock.close()
        raise HandshakeFailed(e) from e


def handshake_error(
    error: BaseException, endpoint: Endpoint, reconnect: Reconnect | None = None, note: Note | None = None
) -> MailrelayError:
    """A failed TLS handshake with ``endpoint`` as the error a user can act on.

    ``note`` (a transcript's ``note``) also receives what was learnt, one fact a call.
    """
    if isinstance(error, ssl.SSLCertVerificationError):
        return certificate_error(error, endpoint, reconnect, note)
    reason = getattr(error, "reason", None) or ""
    if isinstance(error, ssl.SSLError) and reason in _NOT_TLS:
        if note is not None:
            _emit(
                note,
                [
                    f"TLS handshake failed: {reason.lower().replace('_', ' ')} "
                    f"(the server did not answer in TLS)"
                ],
            )
            first = plain_first_bytes(endpoint) if endpoint.security == "tls" else None
            if first is not None:
                note(f"server sent in plain text: {first}")
        return ConfigError(
            f"TLS handshake with {endpoint.address} failed: the server did not answer in TLS "
            f"({reason.lower().replace('_', ' ')}); it expects plain text first",
            hint=not_tls_hint(endpoint),
        )
    if isinstance(error, ssl.SSLError) and reason in _VERSION_REFUSED:
        server = _server_versions(reconnect)
        theirs = ", ".join(server) if server else "unknown (no version this host can speak)"
        _emit(
            note,
            [
                f"TLS handshake failed: {reason.lower().replace('_', ' ')}",
                f"TLS versions the server accepts: {theirs}",
            ],
        )
        return ConfigError(
            f"TLS handshake with {endpoint.address} failed: no TLS version in common "
            f"(this client allows {allowed_versions(endpoint)}; the server accepts {theirs})",
            hint=(
                "allow a version the server accepts (ssl.protocols in imap.properties) "
                "or upgrade the server's TLS"
                if endpoint.role == "imap"
                else "the server's TLS is older than TLS 1.2: upgrade the server"
            ),
        )
    if isinstance(error, TimeoutError):
        _emit(note, [f"TLS handshake timed out after {endpoint.timeout:g}s"])
        return TemporaryError(
            f"TLS handshake with {endpoint.address} timed out after {endpoint.timeout:g}s",
            hint=f"check {endpoint.role}.port and the tls/starttls keys; "
            f"raise {endpoint.role}.timeout if the server is slow",
        )
    detail = reason.lower().replace("_", " ") if reason else str(error)
    _emit(note, [f"TLS handshake failed: {detail}"])
    return TemporaryError(
        f"TLS handshake with {endpoint.address} failed: {detail}",
        hint=f"check {endpoint.role}.port and the {endpoint.role}.tls / {endpoint.role}.starttls keys",
    )


_TLS_PORTS = {"smtp": ("smtp.tls", 465), "imap": ("imap.tls", 993)}


def without_starttls(endpoint: Endpoint, transcript: Transcript | None) -> None:
    """The server does not offer STARTTLS: ``StartTLSUnavailableError`` (69) when the endpoint
    requires it (never a silent downgrade), else a transcript note and the session stays plain."""
    if endpoint.starttls_required:
        raise starttls_not_offered(endpoint)
    if transcript:
        transcript.note("STARTTLS not offered and not required: continuing without TLS")


def starttls_not_offered(endpoint: Endpoint) -> StartTLSUnavailableError:
    """The error for a server that does not offer the STARTTLS the settings require."""
    key, port = _TLS_PORTS[endpoint.role]
    from mailrelay_cli.config.hosts import is_loopback

    if is_loopback(endpoint.host):
        # A relay on this host (Postfix on localhost): no TLS to be had and none needed, as
        # nothing crosses a network. One hint with every line that works, not three rounds.
        role = endpoint.role
        lines = (
            f"mailrelay config set {role}.starttls false && mailrelay config set smtp.auth none"
            if role == "smtp"
            else f"mailrelay config set {role}.starttls false && "
            f"mailrelay config set {role}.allow_plaintext_auth true"
        )
        return StartTLSUnavailableError(
            f"{endpoint.address} is a local server without STARTTLS ({role}.starttls is on); "
            f"refusing to continue without TLS",
            hint=f"a relay on this host needs no TLS: {lines}",
        )
    return StartTLSUnavailableError(
        f"{endpoint.address} does not offer STARTTLS ({endpoint.role}.starttls is on); "
        f"refusing to continue without TLS",
        hint=(
            f"if the server has a TLS port use it: mailrelay config set {key} true "
            f"(usually port {port}); otherwise fix the server's TLS set-up"
        ),
    )


def speaks_tls(endpoint: Endpoint) -> bool:
    """Whether ``endpoint`` answers a TLS handshake at once (an implicit-TLS port).

    Only a handshake: nothing is sent over it, and the certificate is not judged,
    because the question is which protocol the port speaks, not whom to trust.
    """
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    try:
        with (
            socket.create_connection(
                (endpoint.host, endpoint.port), timeout=min(endpoint.connect_timeout, 5.0)
            ) as sock,
            context.wrap_socket(sock, server_hostname=endpoint.host),
        ):
            return True
    except OSError:  # ssl.SSLError included: not a TLS answer
        return False


def no_greeting_error(endpoint: Endpoint, protocol: str) -> MailrelayError:
    """A server that accepted the connection but never greeted in plain text.

    If the port answers TLS it is an implicit-TLS port and the settings are wrong (78,
    cron must not retry it forever); otherwise the server is stuck (75).
    """
    waited = (
        f"{endpoint.address} accepted the connection but sent no {protocol} greeting "
        f"within {endpoint.timeout:g}s"
    )
    if speaks_tls(endpoint):
        return ConfigError(
            f"{waited}; it answers a TLS handshake: it is an implicit-TLS port",
            hint=expects_tls_hint(endpoint),
        )
    return TemporaryError(waited, hint=expects_tls_hint(endpoint))
