"""IMAP: connect, TLS, log in, and find the reply folder, with failures mapped to exit codes.

For reading replies, use the context manager (the caller resolves the settings once)::

    endpoint, login = endpoint_for(settings.imap), resolve_login(settings, "imap")
    with imap.open_imap(endpoint, login) as conn:  # connected, TLS up, logged in
        count = imap.select_folder(conn, settings.approval.folder)
        typ, data = conn.uid("FETCH", "1:*", "(RFC822)")

``conn`` is a ``MailrelayIMAP`` (an ``imaplib.IMAP4``; with implicit TLS its
socket is already wrapped), so every imaplib command works on it. Its socket
timeout is the endpoint's ``timeout``; wrap your own commands in
``imap_errors(conn.endpoint, "what you were doing")`` to get the same error mapping.

``mailrelay test`` runs the steps one at a time (``connect``, ``start_tls``,
``login``, ``list_folders``, ``select_folder``). Policy, as for SMTP:
- ``tls``: implicit TLS; ``starttls``: STARTTLS, an error when not offered unless
  the endpoint makes it optional; ``plain``: no TLS.
- No password or token without TLS unless ``allow_plaintext_auth``.
- ``basic``: AUTHENTICATE PLAIN when offered (UTF-8 safe), else LOGIN;
  OAuth providers: AUTHENTICATE XOAUTH2 with the login's token provider.
- A refused login (NO) is ``AuthError`` (77).

Folder names are given and returned as Unicode; on the wire they are modified
UTF-7 (RFC 3501 5.1.3) and quoted. ``create_connection`` is the one factory.
"""

from __future__ import annotations

import difflib
import imaplib
import socket
import ssl
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from mailrelay_cli.auth.logins import Login
from mailrelay_cli.config.endpoints import Endpoint
from mailrelay_cli.errors import (
    AuthError,
    ConfigError,
    MailrelayError,
    ServerRefusedError,
    TemporaryError,
)
from mailrelay_cli.transport import net, network_errors, tls, tls_explain
from mailrelay_cli.transport.imap_responses import (
    capability_names,
    encode_folder,
    select_count,
    selectable_folders,
)
from mailrelay_cli.transport.imap_responses import response_text as _text
from mailrelay_cli.transport.transcript import Transcript

if TYPE_CHECKING:
    from _typeshed import ReadableBuffer


class MailrelayIMAP(tls.TlsClient, imaplib.IMAP4):
    """``imaplib.IMAP4`` that connects through ``net.connect`` (endpoint timeouts), does
    implicit TLS itself, and feeds every line to a transcript."""

    def __init__(
        self,
        endpoint: Endpoint,
        transcript: Transcript | None = None,
        implicit_tls: ssl.SSLContext | None = None,
    ) -> None:
        self.endpoint = endpoint
        self.transcript = transcript
        self.implicit_tls = implicit_tls
        self.tcp_connected = False
        self.greeted = False
        self.first_line: bytes | None = None
        try:
            super().__init__(endpoint.host, endpoint.port, timeout=endpoint.connect_timeout)
        except TimeoutError as e:
            if self.tcp_connected and not self.greeted and implicit_tls is None:
                raise network_errors.NoGreeting() from e
            raise
        except imaplib.IMAP4.error as e:  # abort too: another protocol's greeting is a wrong port
            from mailrelay_cli.transport.wrong_protocol import wrong_protocol_error

            wrong = wrong_protocol_error(endpoint, "IMAP", self.first_line or b"")
            if wrong is not None:
                raise wrong from e
            raise

    def _create_socket(self, timeout: float | None = None) -> socket.socket:
        sock = net.connect(self.endpoint)
        self.tcp_connected = True
        ready = tls_explain.implicit_tls(sock, self.endpoint, self.implicit_tls, self.transcript)
        if self.transcript and isinstance(ready, ssl.SSLSocket):  # IMAP notes it before the greeting
            self.transcript.notes(tls_explain.session_notes(ready, self.endpoint))
        return ready

    def send(self, data: ReadableBuffer) -> None:
        if self.transcript:
            self.transcript.imap_client(bytes(data))
        super().send(data)

    # imaplib's private line reader (every server line passes here); typeshed omits it.
    def _get_line(self) -> bytes:
        line: bytes = super()._get_line()  # type: ignore[misc]
        if self.first_line is None:
            self.first_line = line
        self.greeted = True
        if self.transcript:
            self.transcript.imap_server(line)
        return line


def create_connection(
    endpoint: Endpoint, transcript: Transcript | None = None, implicit_tls: ssl.SSLContext | None = None
) -> MailrelayIMAP:
    """The one place an IMAP client object is made (it connects and reads the greeting)."""
    return MailrelayIMAP(endpoint, transcript, implicit_tls)


@contextmanager
def imap_errors(endpoint: Endpoint, during: str, transcript: Transcript | None = None) -> Iterator[None]:
    """Translate imaplib's failures raised while ``during``; network and TLS failures are
    ``network_errors``' (a failed handshake also explained in ``transcript``)."""
    with network_errors.translated(endpoint, during, "IMAP", _reconnect, transcript):
        try:
            yield
        except imaplib.IMAP4.abort as e:
            raise network_errors.connection_lost(endpoint, during, _text(e.args[0] if e.args else e)) from e
        except imaplib.IMAP4.error as e:
            raise ServerRefusedError(
                f"{endpoint.address} refused {during}: {_text(e.args[0] if e.args else e)}",
                hint="see the dialogue with mailrelay test --imap-only --transcript",
            ) from e


def _reconnect(endpoint: Endpoint) -> tls_explain.Reconnect:
    """Open a fresh TLS connection the way ``endpoint`` does, for describing a failure."""

    def reconnect(context: ssl.SSLContext) -> ssl.SSLSocket:
        sock = net.connect(endpoint)
        try:
            if endpoint.security == "starttls":
                reader = sock.makefile("rb")
                reader.readline()
                sock.sendall(b"m1 STARTTLS\r\n")
                while True:
                    line = reader.readline()
                    if not line:
                        raise OSError("connection closed before STARTTLS")
                    if line.startswith(b"m1 "):
                        break
                if not line.startswith(b"m1 OK"):
                    raise OSError("STARTTLS refused")
            return context.wrap_socket(sock, server_hostname=endpoint.host)
        except OSError:
            sock.close()
            raise

    return reconnect


def connect(endpoint: Endpoint, transcript: Transcript | None = None) -> MailrelayIMAP:
    """Connect and read the greeting and capabilities; implicit TLS first when configured."""
    context = tls.client_context(endpoint) if endpoint.security == "tls" else None
    with imap_errors(endpoint, "waiting for the greeting", transcript):
        return create_connection(endpoint, transcript, context)


def capabilities(conn: MailrelayIMAP) -> tuple[str, ...]:
    """The server's capabilities as imaplib last saw them (upper case)."""
    return capability_names(conn.capabilities)


def start_tls(conn: MailrelayIMAP) -> bool:
    """STARTTLS when the endpoint asks for it; True when TLS is now up."""
    endpoint = conn.endpoint
    if endpoint.security != "starttls" or conn.has_tls:
        return conn.has_tls
    if "STARTTLS" not in capabilities(conn):
        tls_explain.without_starttls(endpoint, conn.transcript)
        return False
    context = tls_explain.starttls_context(endpoint, conn.transcript)
    with imap_errors(endpoint, "STARTTLS", conn.transcript), tls_explain.handshaking(imaplib.IMAP4.error):
        conn.starttls(context)
    if conn.transcript and conn.tls_sock is not None:
        conn.transcript.notes(tls_explain.session_notes(conn.tls_sock, endpoint))
    return True


def tls_info(conn: MailrelayIMAP) -> tls.TlsInfo | None:
    """Version, cipher and certificate of the connection, or None without TLS."""
    if conn.tls_sock is None:
        return None
    return tls.session_info(conn.tls_sock)


def _login_refused(
    error: imaplib.IMAP4.error, conn: MailrelayIMAP, user: str, mechanism: str, login: Login
) -> MailrelayError:
    endpoint = conn.endpoint
    text = _text(error.args[0] if error.args else error)
    where = f"{endpoint.address} refused the login of {user} ({mechanism}): {text}"
    if "[UNAVAILABLE]" in text.upper():
        return TemporaryError(where, hint="the server is not available right now: try again later")
    lowered = text.lower()
    if "basic" in lowered and "disabled" in lowered:
        hint = (
            "this provider has turned off password (basic) authentication: "
            "mailrelay config set imap.auth microsoft-oauth, then mailrelay auth login --imap"
        )
    elif mechanism == "XOAUTH2":
        hint = "the access token was refused: mailrelay auth login --imap"
    else:
        hint = f"check imap.user ({user}) and the password: {login.password_fix()}"
    return AuthError(where, hint=hint)


def login(conn: MailrelayIMAP, login: Login) -> str:
    """Authenticate as ``login`` says; returns the mechanism used (LOGIN, PLAIN or XOAUTH2)."""
    endpoint = conn.endpoint
    if login.kind == "none":
        assert login.problem is not None, "resolve_login: an IMAP mailbox always needs a login"
        raise login.problem
    tls.require_tls_for_credentials(conn.has_tls, endpoint)
    if login.problem is not None:
        raise login.problem
    user = login.user
    assert user and login.secret is not None, "resolve_login gives a user and a secret"
    caps = capabilities(conn)
    action: Callable[[], object]  # the one login command, run below under one error mapping
    if login.kind == "password":
        password = login.secret()
        if "AUTH=PLAIN" in caps:
            mechanism = "PLAIN"
            response = f"\0{user}\0{password}".encode()
            action = lambda: conn.authenticate("PLAIN", lambda _challenge: response)  # noqa: E731
        elif "LOGINDISABLED" in caps:
            raise ServerRefusedError(
                f"{endpoint.address} allows neither LOGIN nor AUTHENTICATE PLAIN here",
                hint="the server wants another mechanism or TLS: check imap.auth and imap.tls",
            )
        else:
            mechanism = "LOGIN"
            action = lambda: conn.login(user, password)  # noqa: E731
    else:
        mechanism = "XOAUTH2"
        if "AUTH=XOAUTH2" not in caps:
            raise ServerRefusedError(
                f"{endpoint.address} does not offer XOAUTH2 (imap.auth = {login.auth})",
                hint="check imap.host and imap.auth: this server may want imap.auth = basic",
            )
        token = login.secret()
        answers = [f"user={user}\x01auth=Bearer {token}\x01\x01".encode()]

        def xoauth2(_challenge: bytes) -> bytes:
            # First call: the credentials; after that the server sent error details,
            # which an empty answer acknowledges.
            return answers.pop() if answers else b""

        action = lambda: conn.authenticate("XOAUTH2", xoauth2)  # noqa: E731
    with imap_errors(endpoint, "login"):
        try:
            action()
        except imaplib.IMAP4.abort:
            raise
        except imaplib.IMAP4.error as e:
            raise _login_refused(e, conn, user, mechanism, login) from e
    return mechanism


# -- folders -------------------------------------------------------------------


def list_folders(conn: MailrelayIMAP) -> list[str]:
    """Every selectable folder, as Unicode names, in the server's order."""
    with imap_errors(conn.endpoint, "LIST"):
        typ, data = conn.list()
        if typ != "OK":
            raise ServerRefusedError(
                f"{conn.endpoint.address} refused LIST: {_text(data)}",
                hint="see the dialogue with mailrelay test --transcript",
            )
    return selectable_folders(data)


def nearest_folders(name: str, folders: list[str], n: int = 3) -> list[str]:
    """The existing folder names closest to ``name`` (case-insensitive), best first."""
    lowered = {folder.lower(): folder for folder in folders}
    close = difflib.get_close_matches(name.lower(), list(lowered), n=n, cutoff=0.4)
    return [lowered[c] for c in close]


def select_folder(conn: MailrelayIMAP, name: str, *, readonly: bool = False) -> int:
    """SELECT ``name``; returns its message count. A missing folder is a ``ConfigError``
    naming ``approval.folder`` and the nearest existing folders."""
    endpoint = conn.endpoint
    with imap_errors(endpoint, f"SELECT {name}"):
        typ, data = conn.select(encode_folder(name), readonly=readonly)
    if typ == "OK":
        return select_count(data)
    folders = list_folders(conn)
    nearest = nearest_folders(name, folders)
    if nearest:
        hint = f"mailrelay config set approval.folder {_shell(nearest[0])}"
        detail = "nearest: " + ", ".join(nearest)
    else:
        hint = "mailrelay config set approval.folder INBOX"
        detail = "folders: " + (", ".join(folders[:10]) or "none")
    raise ConfigError(
        f"folder {name!r} (approval.folder) cannot be opened on {endpoint.address}: {_text(data)}; {detail}",
        hint=hint,
    )


def _shell(word: str) -> str:
    import shlex

    return shlex.quote(word)


def logout(conn: MailrelayIMAP) -> None:
    """LOGOUT politely; a server that already hung up is not an error here."""
    try:
        conn.logout()
    except (imaplib.IMAP4.error, OSError):
        try:
            conn.shutdown()
        except OSError:
            pass


@contextmanager
def open_imap(
    endpoint: Endpoint, account: Login, *, transcript: Transcript | None = None
) -> Iterator[MailrelayIMAP]:
    """A connected, TLS-protected (per the endpoint), logged-in IMAP session."""
    conn = connect(endpoint, transcript)
    try:
        start_tls(conn)
        login(conn, account)
        yield conn
    finally:
        logout(conn)
