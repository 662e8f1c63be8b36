"""A small Microsoft Graph client: HTTPS requests, throttling, token refresh, JSON batching.

It speaks only what mailrelay needs (``sendMail``, drafts and upload sessions,
mail folders, messages, ``$value``, DELETE, ``$batch``) over ``http.client``
with the TLS context of ``transport.tls`` (so ``tls_ca_file`` is trusted as for
SMTP and IMAP). Like the SMTP and IMAP modules it never reads settings: it is
given the endpoint, the CA file, the role whose settings it serves (for the
keys named in errors) and a token provider.

What it does for every request:

- ``Authorization: Bearer`` from ``token(force_refresh)``; a 401 is answered
  once by a fresh token (an access token that expired mid-run), then it is an
  ``AuthError`` (77);
- 429 and 503/504 are retried after ``Retry-After`` (Graph's throttling) as long
  as the wait ends within ``retry_for`` (``smtp.retry_for``), else a
  ``TemporaryError`` (75); the same for a connection that could not be made.
  A POST (``sendMail``, a draft's send: not safe to repeat) is retried only when
  Graph throttles it (429, or 503 with ``Retry-After``); a 504 or another 503 is
  returned, since the request may have been carried out;
- ``Prefer: IdType="ImmutableId"`` on mailbox requests, so a message keeps its id
  when it moves between folders (the reply mailbox keys its audit rows on it).

Callers turn other statuses into errors with ``raise_for`` and the permission
the request needed, so a 403 names the Azure permission to grant.
"""

from __future__ import annotations

import base64
import http.client
import json
import ssl
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple
from urllib.parse import quote, urlencode, urlsplit

from mailrelay_cli.config.endpoints import Endpoint
from mailrelay_cli.errors import (
    AuthError,
    ConfigError,
    DataError,
    MailrelayError,
    ServerRefusedError,
    TemporaryError,
)
from mailrelay_cli.transport import net, tls, tls_explain

if TYPE_CHECKING:
    from mailrelay_cli.auth.logins import GraphLogin
from mailrelay_cli.config.endpoints import Role
from mailrelay_cli.transport.transcript import Transcript

API_VERSION = "v1.0"
IMMUTABLE_IDS = 'IdType="ImmutableId"'
BATCH_LIMIT = 20  # Graph's JSON batching takes at most 20 requests per batch
RETRY_STATUSES = (429, 503, 504)
DEFAULT_RETRY_AFTER = 5.0
# Error codes of a 400 that say the message itself is wrong (65), not the settings (78).
DATA_ERRORS = frozenset(
    {
        "ErrorMimeContentInvalidBase64String",
        "ErrorMimeContentConversionFailed",
        "ErrorMimeContentInvalid",
        "ErrorInvalidRecipients",
        "ErrorMessageSizeExceeded",
        "ErrorRecipientsNotResolved",
        "InvalidRecipients",
        "ErrorInvalidInternetHeader",
        "RequestBodyTooLarge",
        "ErrorMessageTooLarge",
    }
)
LOGIN_HINT = "mailrelay auth login (or check the client secret: mailrelay auth status)"
README = "README, Microsoft 365 without SMTP/IMAP"


class Response(NamedTuple):
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        try:
            return json.loads(self.body.decode("utf-8")) if self.body else {}
        except ValueError:
            return {}

    @property
    def error(self) -> tuple[str, str]:
        """Graph's ``error.code`` and ``error.message`` (empty when the body has none)."""
        data = self.json()
        error = data.get("error") if isinstance(data, dict) else None
        if not isinstance(error, dict):
            return "", self.body[:200].decode("utf-8", "replace").strip()
        return str(error.get("code") or ""), " ".join(str(error.get("message") or "").split())


class NotConnectedError(TemporaryError):
    """No connection could be made: nothing was sent, so any request may be tried again."""


def _throttled(method: str, response: Response, repeatable: bool) -> bool:
    """Whether ``response`` asks for the same request again (see the module docstring)."""
    if response.status == 429 or (response.status == 503 and "retry-after" in response.headers):
        return True
    return response.status in RETRY_STATUSES and (repeatable or method != "POST")


def retry_after(headers: dict[str, str], fallback: float = DEFAULT_RETRY_AFTER) -> float:
    value = headers.get("retry-after", "")
    try:
        return max(0.0, float(value))
    except ValueError:
        return fallback


def _describe(response: Response) -> str:
    code, message = response.error
    text = f"{response.status} {code}".strip()
    return f"{text}: {message}" if message else text


def raise_for(response: Response, what: str, *, permission: str, role: str, user: str | None) -> None:
    """Raise the error of a failed ``response`` to ``what`` (e.g. "sendMail for ops@example.com").

    ``permission`` is the Graph permission the request needs (Mail.Send, Mail.ReadWrite):
    a 403 names it, with the admin consent and the application access policy.
    """
    status = response.status
    if 200 <= status < 300:
        return
    detail = _describe(response)
    code, _ = response.error
    if status == 401:
        raise AuthError(f"Microsoft Graph refused the token for {what} ({detail})", hint=LOGIN_HINT)
    if status == 403:
        raise AuthError(
            f"Microsoft Graph denied {what} ({detail}): the app registration needs the "
            f"{permission} permission with admin consent, and an application access policy "
            f"(if the tenant uses one) that includes {user or 'the mailbox'}",
            hint=f"grant Microsoft Graph {permission} in Entra admin center > App registrations > "
            f"API permissions, then 'Grant admin consent' ({README})",
        )
    if status == 404 or code in ("ErrorInvalidUser", "MailboxNotEnabledForRESTAPI", "MailboxNotFound"):
        raise ConfigError(
            f"Microsoft Graph does not know {what} ({detail})",
            hint=f"check {role}.user (a mailbox of this tenant) and approval.folder",
        )
    if status == 413 or (status == 400 and code in DATA_ERRORS):
        raise DataError(
            f"Microsoft Graph refused {what} ({detail})",
            hint="fix the message Graph names (recipients, size, MIME)",
        )
    if status == 400:
        raise ConfigError(
            f"Microsoft Graph refused {what} ({detail})",
            hint=f"check {role}.user, approval.folder and graph.endpoint",
        )
    if status in RETRY_STATUSES or status >= 500:
        raise TemporaryError(
            f"Microsoft Graph could not take {what} now ({detail})",
            hint="try again later; a cron run retries by itself",
        )
    raise ServerRefusedError(
        f"Microsoft Graph refused {what} ({detail})",
        hint="read Graph's error above; mailrelay test shows each step",
    )


class GraphClient:
    """One Graph endpoint, one keep-alive HTTPS connection, one token provider."""

    def __init__(
        self,
        endpoint: str,
        *,
        role: Role,
        token: Callable[[bool], str],
        ca_file: Path | None = None,
        timeout: float = 30.0,
        retry_for: float = 120.0,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        transcript: Transcript | None = None,
    ) -> None:
        parts = urlsplit(endpoint)
        self.base = endpoint.rstrip("/")
        self.host = parts.hostname or ""
        self.port = parts.port or 443
        self.prefix = parts.path.rstrip("/") + "/" + API_VERSION
        self.role = role
        self.token_provider = token
        self.ca_file = ca_file
        self.timeout = timeout
        self.retry_for = retry_for
        self.sleep = sleep
        self.clock = clock
        self.requests = 0  # how many HTTP requests were sent (for `mailrelay test` and tests)
        self.transcript = transcript
        self._token: str | None = None
        self._connections: dict[tuple[str, int], http.client.HTTPSConnection] = {}
        self._context: ssl.SSLContext | None = None

    # -- connections ---------------------------------------------------------------------

    def _endpoint(self, host: str, port: int) -> Endpoint:
        return Endpoint(
            role=self.role,
            host=host,
            port=port,
            security="tls",
            ca_file=self.ca_file,
            connect_timeout=self.timeout,
            timeout=self.timeout,
        )

    def _connection(self, host: str, port: int) -> http.client.HTTPSConnection:
        key = (host, port)
        conn = self._connections.get(key)
        if conn is None:
            if self._context is None:
                self._context = tls.client_context(self._endpoint(host, port))
            conn = http.client.HTTPSConnection(host, port, timeout=self.timeout, context=self._context)
            self._connections[key] = conn
        return conn

    def _drop(self, host: str, port: int) -> None:
        conn = self._connections.pop((host, port), None)
        if conn is not None:
            conn.close()

    def _certificate_error(self, error: ssl.SSLCertVerificationError, host: str, port: int) -> MailrelayError:
        """Why the certificate failed, as for SMTP and IMAP (expired, wrong name, unknown CA)."""
        endpoint = self._endpoint(host, port)

        def reconnect(context: ssl.SSLContext) -> ssl.SSLSocket:
            sock = net.connect(endpoint)
            try:
                return context.wrap_socket(sock, server_hostname=host)
            except BaseException:
                sock.close()
                raise

        note = self.transcript.note if self.transcript is not None else None
        explained = tls_explain.handshake_error(error, endpoint, reconnect, note)
        if explained.hint and f"{self.role}.host NAME" in explained.hint:
            # The host of a Graph request comes from graph.endpoint, not from role.host.
            explained.hint = explained.hint.replace(
                f"mailrelay config set {self.role}.host NAME",
                "mailrelay config set graph.endpoint https://NAME",
            )
        return explained

    def close(self) -> None:
        for conn in self._connections.values():
            conn.close()
        self._connections.clear()

    def __enter__(self) -> GraphClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- requests ------------------------------------------------------------------------

    def token(self, force: bool = False) -> str:
        if self._token is None or force:
            self._token = self.token_provider(force)
        return self._token

    def path(self, *segments: str, query: dict[str, Any] | None = None) -> str:
        """``/v1.0/seg/seg?query`` with each segment percent-encoded (ids hold ``/`` and ``=``)."""
        text = self.prefix + "".join("/" + quote(s, safe="$@") for s in segments)
        if query:
            text += "?" + urlencode(query, quote_via=quote, safe="$,'()")
        return text

    def batch_url(self, *segments: str) -> str:
        """A ``$batch`` item's url: the path after the version, e.g. ``/users/u/messages/id``."""
        return "".join("/" + quote(s, safe="$@") for s in segments)

    def _send_once(
        self,
        method: str,
        host: str,
        port: int,
        target: str,
        body: bytes | None,
        headers: dict[str, str],
        preauthenticated: bool = False,
    ) -> Response:
        conn = self._connection(host, port)
        where = f"{host}:{port}"
        connected = conn.sock is not None
        try:
            if not connected:
                conn.connect()
                connected = True
            self.requests += 1
            if self.transcript is not None:
                self.transcript.http_request(
                    method, target, len(body or b""), "Authorization" in headers, preauthenticated
                )
            conn.request(method, target, body=body, headers=headers)
            raw = conn.getresponse()
            data = raw.read()
            response = Response(raw.status, {k.lower(): v for k, v in raw.getheaders()}, data)
            if self.transcript is not None:
                self.transcript.http_response(
                    response.status, " ".join(response.error).strip() if response.status >= 400 else ""
                )
            if (raw.getheader("connection") or "").lower() == "close":
                self._drop(host, port)
            return response
        except ssl.SSLCertVerificationError as e:
            self._drop(host, port)
            raise self._certificate_error(e, host, port) from e
        except (OSError, http.client.HTTPException) as e:
            self._drop(host, port)
            reason = getattr(e, "strerror", None) or str(e) or type(e).__name__
            error = NotConnectedError if not connected else TemporaryError
            raise error(
                f"cannot reach Microsoft Graph at {where}: {reason}",
                hint="check graph.endpoint, the network or proxy; a cron run retries by itself",
            ) from e

    def request(
        self,
        method: str,
        target: str,
        *,
        body: bytes | None = None,
        content_type: str | None = None,
        headers: dict[str, str] | None = None,
        absolute: str | None = None,
        repeatable: bool = False,
    ) -> Response:
        """One request, answered after any token refresh and throttling waits (see module doc).

        ``target`` is a path from ``path``; ``absolute`` an https URL elsewhere (an upload
        session's pre-authenticated URL: sent without the bearer token). ``repeatable`` says
        a POST is safe to send twice (a ``$batch`` of reads and deletes): a 503/504 is retried.
        """
        deadline = self.clock() + self.retry_for
        refreshed = False
        wait = 1.0  # between attempts to reach Graph at all; doubles
        if absolute is not None:
            parts = urlsplit(absolute)
            host, port = parts.hostname or "", parts.port or 443
            target = parts.path + (f"?{parts.query}" if parts.query else "")
        else:
            host, port = self.host, self.port
        while True:
            sent = dict(headers or {})
            if absolute is None:
                sent["Authorization"] = f"Bearer {self.token()}"
            if content_type:
                sent["Content-Type"] = content_type
            if body is not None:
                sent["Content-Length"] = str(len(body))
            try:
                response = self._send_once(
                    method, host, port, target, body, sent, preauthenticated=absolute is not None
                )
            except TemporaryError as e:
                # Nothing reached Graph (no connection), or a request that is safe to repeat.
                safe = isinstance(e, NotConnectedError) or method in ("GET", "DELETE")
                if not safe or self.clock() + wait > deadline:
                    raise
                self.sleep(wait)
                wait = min(wait * 2, 30.0)
                continue
            if response.status == 401 and absolute is None and not refreshed:
                refreshed = True
                self.token(force=True)
                continue
            if _throttled(method, response, repeatable):
                wait = retry_after(response.headers)
                if self.clock() + wait > deadline:
                    return response
                self.sleep(wait)
                continue
            return response

    def get_json(
        self,
        target: str,
        what: str,
        *,
        permission: str,
        user: str | None,
        headers: dict[str, str] | None = None,
    ) -> Any:
        response = self.request("GET", target, headers=headers)
        raise_for(response, what, permission=permission, role=self.role, user=user)
        return response.json()

    def batch(self, requests: Sequence[dict[str, Any]]) -> dict[str, dict[str, Any]]:
        """Run ``requests`` (Graph batch items with ids: GETs and DELETEs, safe to repeat) in
        batches of 20; answers by id.

        A sub-request answered 429/503/504 is sent again in the next batch after its
        Retry-After, within ``retry_for``; one still throttled then keeps its last answer.
        A non-JSON body (``$value``'s MIME) arrives base64-encoded and is decoded here to
        ``bytes``.
        """
        answers: dict[str, dict[str, Any]] = {}
        pending = list(requests)
        deadline = self.clock() + self.retry_for
        while pending:
            chunk, pending = pending[:BATCH_LIMIT], pending[BATCH_LIMIT:]
            body = json.dumps({"requests": chunk}).encode()
            # Its items are GETs and DELETEs: the batch may be sent again after a 503/504.
            response = self.request(
                "POST", self.path("$batch"), body=body, content_type="application/json", repeatable=True
            )
            raise_for(response, "a $batch request", permission="Mail.ReadWrite", role=self.role, user=None)
            again: list[dict[str, Any]] = []
            wait = 0.0
            by_id = {str(item["id"]): item for item in chunk}
            for item in response.json().get("responses", []):
                key = str(item.get("id"))
                headers = {str(k).lower(): str(v) for k, v in (item.get("headers") or {}).items()}
                item["headers"] = headers
                status = int(item.get("status", 0))
                if status in RETRY_STATUSES and key in by_id:
                    item_wait = retry_after(headers)
                    if self.clock() + item_wait <= deadline:
                        again.append(by_id[key])
                        wait = max(wait, item_wait)
                        continue
                item["body"] = _batch_body(item.get("body"), headers)
                answers[key] = item
            if again:
                self.sleep(wait)
                pending = again + pending
        return answers


def _batch_body(body: Any, headers: dict[str, str]) -> Any:
    """A batch answer's body: JSON as given, anything else (base64 text) as bytes."""
    if isinstance(body, str) and "json" not in headers.get("content-type", ""):
        try:
            return base64.b64decode(body, validate=False)
        except ValueError:
            return body.encode()
    return body


def batch_response(item: dict[str, Any]) -> Response:
    """One batch answer as a ``Response`` (for ``raise_for``)."""
    body = item.get("body")
    raw = body if isinstance(body, bytes) else json.dumps(body or {}).encode()
    return Response(int(item.get("status", 0)), dict(item.get("headers") or {}), raw)


def open_graph(
    login: GraphLogin,
    *,
    sleep: Callable[[float], None] = time.sleep,
    transcript: Transcript | None = None,
) -> GraphClient:
    """A client for the login's Graph endpoint, token provider and CA file."""
    return GraphClient(
        login.endpoint,
        role=login.role,
        token=login.token,
        ca_file=login.ca_file,
        timeout=login.timeout,
        retry_for=login.retry_for,
        sleep=sleep,
        transcript=transcript,
    )
