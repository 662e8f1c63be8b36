"""A record of a protocol dialogue, like swaks prints it, with secrets redacted by structure.

Lines are ``C: …`` (client), ``S: …`` (server) and ``*  …`` (notes, one fact a
line: the TLS handshake attempted, its outcome and the certificate, or why it
failed; ``tls.py`` words them and holds no secrets). Redaction does not search
for secret strings: the SMTP and IMAP modules tell the transcript which lines
carry credentials, and it keeps track of the authentication exchange itself:

- SMTP ``AUTH MECH initial-response`` keeps ``AUTH MECH`` and redacts the rest;
  every client line while the server answers ``334`` is a SASL response and is
  redacted whole.
- IMAP ``TAG LOGIN user password`` keeps ``TAG LOGIN``; ``TAG AUTHENTICATE MECH
  initial`` keeps ``TAG AUTHENTICATE MECH``; every client line until the tagged
  answer of that command is a continuation response and is redacted whole.
- A message body sent after SMTP ``DATA`` (or an IMAP literal) is summarised
  by its size, not copied.
"""

from __future__ import annotations

from collections.abc import Iterable

REDACTED = "<redacted>"


class Transcript:
    """Collects the lines of one or more sessions; ``text()`` joins them."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self._smtp_auth = False
        self._smtp_data = False
        self._imap_auth_tag: str | None = None

    # -- generic -----------------------------------------------------------------
    def note(self, text: str) -> None:
        self.lines.append(f"*  {text}")

    def notes(self, texts: Iterable[str]) -> None:
        for text in texts:
            self.note(text)

    def text(self) -> str:
        return "\n".join(self.lines)

    def _server_lines(self, text: str) -> None:
        for line in text.splitlines() or [""]:
            self.lines.append(f"S: {line}")

    # -- SMTP --------------------------------------------------------------------
    def smtp_client(self, data: bytes | str) -> None:
        """What the client sent (one or more CRLF-terminated lines, or a message body)."""
        text = data.decode("utf-8", "replace") if isinstance(data, bytes) else data
        if self._smtp_data:
            # smtplib sends the whole body (ending in CRLF.CRLF) in one call.
            self.lines.append(f"C: <message: {len(data)} bytes>")
            self.lines.append("C: .")
            self._smtp_data = False
            return
        for line in text.split("\r\n"):
            if not line:
                continue
            if self._smtp_auth:
                self.lines.append(f"C: {REDACTED}")
                continue
            words = line.split(" ")
            verb = words[0].upper()
            if verb == "AUTH":
                self._smtp_auth = True
                shown = " ".join(words[:2])
                self.lines.append(f"C: {shown} {REDACTED}" if len(words) > 2 else f"C: {shown}")
                continue
            self.lines.append(f"C: {line}")

    def smtp_server(self, code: int, message: bytes | str) -> None:
        """One (possibly multi-line) reply."""
        text = message.decode("utf-8", "replace") if isinstance(message, bytes) else message
        parts = text.split("\n") if text else [""]
        for index, part in enumerate(parts):
            separator = " " if index == len(parts) - 1 else "-"
            self.lines.append(f"S: {code}{separator}{part}".rstrip())
        if self._smtp_auth and code != 334:
            self._smtp_auth = False

    def smtp_data_follows(self) -> None:
        """The next client write is a message body (the server said 354)."""
        self._smtp_data = True

    # -- IMAP --------------------------------------------------------------------
    def imap_client(self, data: bytes | str) -> None:
        """One write of imaplib: a command line (ends in CRLF), a literal, or a lone CRLF."""
        text = data.decode("utf-8", "replace") if isinstance(data, bytes) else data
        if text in ("\r\n", ""):
            return
        if self._imap_auth_tag is not None:
            self.lines.append(f"C: {REDACTED}")
            return
        if not text.endswith("\r\n"):
            # imaplib writes a literal (an APPEND body) on its own, without a line end.
            self.lines.append(f"C: <literal: {len(data)} bytes>")
            return
        for line in text.split("\r\n"):
            if not line:
                continue
            words = line.split(" ")
            command = words[1].upper() if len(words) > 1 else ""
            if command == "LOGIN":
                self._imap_auth_tag = words[0]
                self.lines.append(f"C: {words[0]} LOGIN {REDACTED}")
            elif command == "AUTHENTICATE":
                self._imap_auth_tag = words[0]
                shown = " ".join(words[:3])
                self.lines.append(f"C: {shown} {REDACTED}" if len(words) > 3 else f"C: {shown}")
            else:
                self.lines.append(f"C: {line}")

    def imap_server(self, line: bytes | str) -> None:
        text = line.decode("utf-8", "replace") if isinstance(line, bytes) else line
        text = text.rstrip("\r\n")
        self.lines.append(f"S: {text}")
        if self._imap_auth_tag is not None and text.startswith(self._imap_auth_tag + " "):
            self._imap_auth_tag = None

    # -- HTTP (Microsoft Graph) -------------------------------------------------------
    def http_request(
        self, method: str, target: str, body_size: int, bearer: bool, preauthenticated: bool = False
    ) -> None:
        """A request line; the bearer token and any pre-authenticated query are never shown.

        ``preauthenticated``: the target is from a URL that is its own credential (an upload
        session's ``uploadUrl``), so none of its query is shown, whatever its keys are called.
        """
        path, mark, _ = target.partition("?")
        if preauthenticated and mark:
            shown = f"{path}?{REDACTED}"
        elif "?authtoken=" in target:
            shown = target.split("?authtoken=")[0] + f"?authtoken={REDACTED}"
        else:
            shown = target
        self.lines.append(f"C: {method} {shown}")
        if bearer:
            self.lines.append(f"C: Authorization: Bearer {REDACTED}")
        if body_size:
            self.lines.append(f"C: <body: {body_size} bytes>")

    def http_response(self, status: int, detail: str = "") -> None:
        self.lines.append(f"S: {status}{' ' + detail if detail else ''}")
