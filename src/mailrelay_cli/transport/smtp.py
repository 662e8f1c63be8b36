"""SMTP: connect, TLS, authenticate and send, with every failure mapped to an exit code.

For sending, use the context manager (the caller resolves the settings once)::

    endpoint, login = endpoint_for(settings.smtp), resolve_login(settings, "smtp")
    with smtp.open_smtp(endpoint, login) as conn:   # connected, TLS up, logged in
        refused = smtp.send_message(conn, message, sender=addr, recipients=[...])

``conn`` is a ``MailrelaySMTP`` (an ``smtplib.SMTP``), so any smtplib call works
on it, but ``send_message`` below maps failures to ``MailrelayError``s (4xx ->
``TemporaryError`` 75, 5xx -> ``ServerRefusedError`` 69) and returns the
recipients refused when others were accepted.

``mailrelay test`` runs the same steps one at a time (``connect``,
``start_tls``, ``login``) to report each. Policy:
- security ``tls``: TLS from the first byte; ``starttls``: STARTTLS after EHLO,
  and a server that does not offer it is ``StartTLSUnavailableError`` (69) unless
  the endpoint says STARTTLS is optional; ``plain``: no TLS.
- A password or token is never sent without TLS unless ``allow_plaintext_auth``.
- ``basic`` uses AUTH PLAIN, else LOGIN (whichever the server offers);
  ``microsoft-oauth`` / ``google-oauth`` use XOAUTH2 with the login's token provider.
- A ``Transcript`` records the dialogue with credentials redacted.

``create_connection`` is the one factory that makes the smtplib object; tests
may point it elsewhere.
"""

from __future__ import annotations

import base64
import smtplib
import socket
import ssl
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from email.message import EmailMessage
from typing import TYPE_CHECKING, Any

from mailrelay_cli.auth.logins import Login
from mailrelay_cli.config.endpoints import Endpoint
from mailrelay_cli.errors import (
    AuthError,
    MailrelayError,
    ServerRefusedError,
    TemporaryError,
)
from mailrelay_cli.transport import net, network_errors, tls, tls_explain
from mailrelay_cli.transport.transcript import Transcript

if TYPE_CHECKING:
    from _typeshed import ReadableBuffer

BASIC_MECHANISMS = ("PLAIN", "LOGIN")
# Words in a refusal that mean "this provider has turned password logins off".
_BASIC_DISABLED = ("5.7.139", "basic authentication is disabled", "smtpclientauthentication is disabled")
_APP_PASSWORD = ("5.7.9", "application-specific password")


class MailrelaySMTP(tls.TlsClient, smtplib.SMTP):
    """``smtplib.SMTP`` that connects through ``net.connect`` (endpoint timeouts), does
    implicit TLS itself, and feeds every line to a transcript."""

    def __init__(
        self,
        endpoint: Endpoint,
        transcript: Transcript | None = None,
        implicit_tls: ssl.SSLContext | None = None,
    ) -> None:
        # local_hostname given: smtplib would otherwise call getfqdn(), slow without DNS.
        super().__init__(local_hostname=socket.gethostname() or "localhost", timeout=endpoint.timeout)
        self.endpoint = endpoint
        # starttls() names the server by _host, which smtplib sets only when __init__ connects.
        self._host = endpoint.host
        self.transcript = transcript
        self.implicit_tls = implicit_tls
        self.tcp_connected = False
        self.greeted = False
        self.first_line: bytes | None = None  # the greeting as it came, to recognise another protocol

    def _get_socket(self, host: str, port: int, timeout: float) -> socket.socket:
        sock = net.connect(self.endpoint)
        self.tcp_connected = True
        return tls_explain.implicit_tls(sock, self.endpoint, self.implicit_tls, self.transcript)

    def send(self, s: ReadableBuffer | str) -> None:
        if self.transcript:
            self.transcript.smtp_client(s if isinstance(s, str) else bytes(s))
        super().send(s)

    def getreply(self) -> tuple[int, bytes]:
        if self.file is None and self.sock is not None and self.first_line is None:
            self.file = _FirstLineKept(self.sock.makefile("rb"), self)
        code, message = super().getreply()
        self.greeted = True
        if self.transcript:
            self.transcript.smtp_server(code, message)
            if code == 354:
                self.transcript.smtp_data_follows()
        return code, message


class _FirstLineKept:
    """smtplib's reply reader, keeping the first line read (smtplib keeps only its parse)."""

    def __init__(self, reader: Any, owner: MailrelaySMTP) -> None:
        self.reader = reader
        self.owner = owner

    def readline(self, *args: Any) -> bytes:
        line: bytes = self.reader.readline(*args)
        if self.owner.first_line is None:
            self.owner.first_line = line
        return line

    def close(self) -> None:
        self.reader.close()


def create_connection(
    endpoint: Endpoint, transcript: Transcript | None = None, implicit_tls: ssl.SSLContext | None = None
) -> MailrelaySMTP:
    """The one place an SMTP client object is made (not yet connected)."""
    return MailrelaySMTP(endpoint, transcript, implicit_tls)


def _text(message: bytes | str) -> str:
    text = message.decode("utf-8", "replace") if isinstance(message, bytes) else message
    return " ".join(text.split())


def reply_error(code: int, message: bytes | str, endpoint: Endpoint, during: str) -> MailrelayError:
    """An SMTP error reply as an error: 4xx temporary (75), 5xx refused (69)."""
    text = f"{endpoint.address} answered {code} {_text(message)} ({during})"
    if 400 <= code < 500:
        return TemporaryError(text, hint="a temporary refusal: try again later")
    return ServerRefusedError(text, hint=f"the server refused {during}; see its answer")


@contextmanager
def _smtp_errors(endpoint: Endpoint, during: str, transcript: Transcript | None = None) -> Iterator[None]:
    """Translate smtplib's failures raised while ``during``; network and TLS failures are
    ``network_errors``' (a failed handshake also explained in ``transcript``)."""
    with network_errors.translated(endpoint, during, "SMTP", _reconnect, transcript):
        try:
            yield
        except smtplib.SMTPServerDisconnected as e:
            raise network_errors.closed(e.__context__, endpoint, during) from e
        except smtplib.SMTPRecipientsRefused as e:
            raise _all_refused(e.recipients, endpoint) from e
        except smtplib.SMTPResponseException as e:
            raise reply_error(e.smtp_code, e.smtp_error, endpoint, during) from e
        except smtplib.SMTPException as e:
            raise ServerRefusedError(
                f"{endpoint.address}: {e} ({during})",
                hint="see the server's answer with mailrelay test --transcript",
            ) from e


def _reconnect(endpoint: Endpoint) -> tls_explain.Reconnect:
    """Open a fresh TLS connection the way ``endpoint`` does, for describing a failure."""

    def reconnect(context: ssl.SSLContext) -> ssl.SSLSocket:
        if endpoint.security == "tls":
            sock = net.connect(endpoint)
            try:
                return context.wrap_socket(sock, server_hostname=endpoint.host)
            except OSError:
                sock.close()
                raise
        conn = create_connection(endpoint)
        try:
            conn.connect(endpoint.host, endpoint.port)
            conn.ehlo()
            code, _ = conn.docmd("STARTTLS")
            if code != 220 or conn.sock is None:  # refused, or hung up after saying 220
                raise TemporaryError("STARTTLS refused")
            return context.wrap_socket(conn.sock, server_hostname=endpoint.host)
        except (OSError, smtplib.SMTPException):
            conn.close()
            raise

    return reconnect


def connect(endpoint: Endpoint, transcript: Transcript | None = None) -> MailrelaySMTP:
    """Connect, read the greeting and say EHLO; with implicit TLS the handshake comes first."""
    context = tls.client_context(endpoint) if endpoint.security == "tls" else None
    conn = create_connection(endpoint, transcript, context)
    try:
        with _smtp_errors(endpoint, "waiting for the greeting", transcript):
            try:
                code, message = conn.connect(endpoint.host, endpoint.port)
            except smtplib.SMTPServerDisconnected as e:
                if (
                    conn.tcp_connected
                    and not conn.greeted
                    and endpoint.security != "tls"
                    and isinstance(e.__context__, TimeoutError)
                ):
                    raise network_errors.NoGreeting() from e
                raise
            if code == -1:  # not a reply code at all: maybe another protocol's greeting
                from mailrelay_cli.transport.wrong_protocol import wrong_protocol_error

                wrong = wrong_protocol_error(endpoint, "SMTP", conn.first_line or b"")
                if wrong is not None:
                    raise wrong
            if code != 220:
                raise reply_error(code, message, endpoint, "greeting")
        if conn.has_tls and transcript:
            _tls_notes(conn)
        ehlo(conn)
    except BaseException:
        conn.close()
        raise
    return conn


def ehlo(conn: MailrelaySMTP) -> None:
    endpoint = conn.endpoint
    with _smtp_errors(endpoint, "EHLO"):
        code, message = conn.ehlo()
        if code != 250:
            raise reply_error(code, message, endpoint, "EHLO")


def _tls_notes(conn: MailrelaySMTP) -> None:
    if conn.transcript and conn.tls_sock is not None:
        conn.transcript.notes(tls_explain.session_notes(conn.tls_sock, conn.endpoint))


def tls_info(conn: MailrelaySMTP) -> tls.TlsInfo | None:
    """Version, cipher and certificate of the connection, or None without TLS."""
    if conn.tls_sock is None:
        return None
    return tls.session_info(conn.tls_sock)


def offers_starttls(conn: MailrelaySMTP) -> bool:
    return bool(conn.has_extn("starttls"))


def start_tls(conn: MailrelaySMTP) -> bool:
    """STARTTLS when the endpoint asks for it; True when TLS is now up.

    Not offered: ``StartTLSUnavailableError`` unless ``starttls_required`` is False,
    in which case the session stays plain (and ``login`` still refuses passwords).
    """
    endpoint = conn.endpoint
    if endpoint.security != "starttls" or conn.has_tls:
        return conn.has_tls
    if not offers_starttls(conn):
        tls_explain.without_starttls(endpoint, conn.transcript)
        return False
    context = tls_explain.starttls_context(endpoint, conn.transcript)
    with _smtp_errors(endpoint, "STARTTLS", conn.transcript):
        with tls_explain.handshaking(smtplib.SMTPException):  # SMTPException is an OSError too
            code, message = conn.starttls(context=context)
        if code != 220:
            raise reply_error(code, message, endpoint, "STARTTLS")
    _tls_notes(conn)
    ehlo(conn)
    return True


def auth_mechanisms(conn: MailrelaySMTP) -> tuple[str, ...]:
    """The SASL mechanisms the server offers after the last EHLO (upper case)."""
    words = (conn.esmtp_features.get("auth") or "").split()
    # smtplib appends junk from odd servers; mechanism names are upper case by RFC 4422.
    return tuple(word for word in words if word == word.upper())


def _b64(text: str) -> str:
    return base64.b64encode(text.encode("utf-8")).decode("ascii")


def _auth_refused(
    code: int, message: bytes | str, conn: MailrelaySMTP, user: str, mechanism: str, login: Login
) -> MailrelayError:
    endpoint = conn.endpoint
    text = _text(message)
    where = f"{endpoint.address} refused the login of {user} ({mechanism}): {code} {text}"
    lowered = text.lower()
    if 400 <= code < 500:
        return TemporaryError(where, hint="a temporary refusal: try again later")
    if code in (504, 538):
        return ServerRefusedError(where, hint="the server does not allow this mechanism here")
    if any(word in lowered for word in _BASIC_DISABLED):
        hint = (
            "this provider has turned off password (basic) authentication: "
            "mailrelay config set smtp.auth microsoft-oauth, then mailrelay auth login --smtp"
        )
    elif any(word in lowered for word in _APP_PASSWORD):
        hint = (
            "this account needs an app password ("
            + login.password_fix()
            + ") or OAuth: mailrelay config set smtp.auth google-oauth"
        )
    elif mechanism == "XOAUTH2":
        hint = "the access token was refused: mailrelay auth login --smtp"
    else:
        hint = f"check smtp.user ({user}) and the password: " + login.password_fix()
    return AuthError(where, hint=hint)


def login(conn: MailrelaySMTP, login: Login) -> str:
    """Authenticate as ``login`` says; returns the mechanism used (``"none"`` for none)."""
    endpoint = conn.endpoint
    if login.kind == "none":
        return "none"
    tls.require_tls_for_credentials(conn.has_tls, endpoint)
    if login.problem is not None:
        raise login.problem
    user = login.user
    assert user and login.secret is not None, "resolve_login gives a user and a secret"
    offered = auth_mechanisms(conn)
    listed = ", ".join(offered) if offered else "no AUTH at all"
    if login.kind == "password":
        mechanism = next((m for m in BASIC_MECHANISMS if m in offered), None)
        if mechanism is None:
            hint = (
                "the server wants OAuth: mailrelay config set smtp.auth microsoft-oauth (or google-oauth)"
                if "XOAUTH2" in offered
                else "set smtp.auth to what the server supports, or none if it needs no login"
            )
            raise ServerRefusedError(
                f"{endpoint.address} offers no password mechanism (PLAIN, LOGIN); it offers {listed}",
                hint=hint,
            )
        password = login.secret()
        with _smtp_errors(endpoint, "AUTH"):
            if mechanism == "PLAIN":
                code, message = conn.docmd("AUTH", "PLAIN " + _b64(f"\0{user}\0{password}"))
            else:
                code, message = conn.docmd("AUTH", "LOGIN " + _b64(user))
                if code == 334:
                    code, message = conn.docmd(_b64(password))
    else:
        mechanism = "XOAUTH2"
        if mechanism not in offered:
            raise ServerRefusedError(
                f"{endpoint.address} does not offer XOAUTH2 (smtp.auth = {login.auth}); it offers {listed}",
                hint="check smtp.host and smtp.auth: this server may want smtp.auth = basic",
            )
        token = login.secret()
        with _smtp_errors(endpoint, "AUTH"):
            code, message = conn.docmd(
                "AUTH", "XOAUTH2 " + _b64(f"user={user}\x01auth=Bearer {token}\x01\x01")
            )
            if code == 334:
                # The server's error details (base64 JSON); an empty line ends the exchange.
                code, message = conn.docmd("")
    if code not in (235, 503):
        raise _auth_refused(code, message, conn, user, mechanism, login)
    return mechanism


def _all_refused(recipients: dict[str, tuple[int, bytes]], endpoint: Endpoint) -> MailrelayError:
    details = "; ".join(f"{addr}: {code} {_text(msg)}" for addr, (code, msg) in recipients.items())
    if recipients and all(400 <= code < 500 for code, _ in recipients.values()):
        return TemporaryError(
            f"{endpoint.address} refused every recipient for now ({details})",
            hint="a temporary refusal: try again later",
        )
    return ServerRefusedError(
        f"{endpoint.address} refused every recipient ({details})", hint="check the addresses"
    )


def send_message(
    conn: MailrelaySMTP, message: EmailMessage | bytes, *, sender: str, recipients: Sequence[str]
) -> dict[str, tuple[int, str]]:
    """Send ``message`` to ``recipients``; returns those refused while others were accepted.

    All refused: ``TemporaryError`` when every refusal is 4xx, else ``ServerRefusedError``.
    """
    endpoint = conn.endpoint
    with _smtp_errors(endpoint, "sending"):
        if isinstance(message, EmailMessage):
            refused: dict[str, Any] = conn.send_message(message, sender, list(recipients))
        else:
            refused = conn.sendmail(sender, list(recipients), message)
    return {addr: (code, _text(msg)) for addr, (code, msg) in refused.items()}


def close(conn: MailrelaySMTP) -> None:
    """QUIT politely; a server that already hung up is not an error here."""
    try:
        conn.quit()
    except (smtplib.SMTPException, OSError):
        conn.close()


@contextmanager
def open_smtp(
    endpoint: Endpoint, account: Login, *, transcript: Transcript | None = None
) -> Iterator[MailrelaySMTP]:
    """A connected, TLS-protected (per the endpoint), authenticated SMTP session."""
    conn = connect(endpoint, transcript)
    try:
        start_tls(conn)
        login(conn, account)
        yield conn
    finally:
        close(conn)
