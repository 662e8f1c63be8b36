"""Google OAuth: authorization code + PKCE on a loopback redirect, and refresh.

Google's device flow does not allow the ``https://mail.google.com/`` scope, so a
login opens ``http://127.0.0.1:PORT/`` here, prints the consent URL (a person
opens it in any browser; on a headless server they forward the port over SSH
first), takes the code from the redirect, and exchanges it at the token
endpoint with the PKCE verifier (S256, RFC 7636).

``login`` and ``access_token`` keep the tokens in the role's token cache
(``token_cache``) as JSON, the refresh token included, like msal's cache.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import socket
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

from mailrelay_cli.auth.login_result import LoginResult, utc_time
from mailrelay_cli.auth.oauth_config import GOOGLE, OAuthConfig, client_secret, covers, resolve
from mailrelay_cli.auth.token_cache import load_cache_text, save_cache_text, where
from mailrelay_cli.config.records import Role, Settings
from mailrelay_cli.errors import AuthError, ConfigError, Interrupted, TemporaryError

AUTH_URL = "https://accounts.google.com/o/oauth2/v2/auth"
TOKEN_URL = "https://oauth2.googleapis.com/token"


@dataclass(frozen=True)
class TokenSet:
    access_token: str
    expires_at: float  # epoch seconds
    refresh_token: str | None
    scope: str | None
    account: str | None = None


@dataclass(frozen=True)
class LoopbackPrompt:
    """What the person needs: the URL to open, and the port to forward when remote."""

    url: str
    port: int
    redirect_uri: str
    ssh_hint: str


def pkce_pair() -> tuple[str, str]:
    """(verifier, S256 challenge) as RFC 7636 section 4 defines them."""
    verifier = secrets.token_urlsafe(64)[:96]
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    challenge = base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")
    return verifier, challenge


def _post_form(url: str, fields: dict[str, str], hint: str) -> dict[str, Any]:
    body = urllib.parse.urlencode({k: v for k, v in fields.items() if v}).encode()
    request = urllib.request.Request(
        url,
        data=body,
        method="POST",
        headers={"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"},
    )
    host = urllib.parse.urlsplit(url).netloc
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read().decode("utf-8"))
    except urllib.error.HTTPError as e:
        try:
            data = json.loads(e.read().decode("utf-8"))
        except ValueError:
            data = {}
        if e.code >= 500:
            raise TemporaryError(
                f"Google's token endpoint ({host}) failed: HTTP {e.code}", hint="cron retries next run"
            ) from e
        error = data.get("error") or f"HTTP {e.code}"
        description = data.get("error_description")
        raise AuthError(
            f"Google refused the token request at {host}: {error}"
            + (f": {description}" if description else ""),
            hint=hint,
        ) from e
    except (urllib.error.URLError, OSError) as e:
        reason = getattr(e, "reason", e)
        raise TemporaryError(
            f"cannot reach Google's token endpoint ({host}): {reason}",
            hint="check the network or proxy; cron retries next run",
        ) from e
    except ValueError as e:
        raise TemporaryError(
            f"Google's token endpoint ({host}) sent something that is not JSON", hint="cron retries next run"
        ) from e


def _token_set(data: dict[str, Any], now: float) -> TokenSet:
    account = None
    id_token = data.get("id_token")
    if id_token and id_token.count(".") == 2:
        # Came straight from the token endpoint over TLS: read, not verified (OIDC 3.1.3.7).
        payload = id_token.split(".")[1]
        try:
            claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
            account = claims.get("email")
        except ValueError:
            account = None
    return TokenSet(
        access_token=str(data["access_token"]),
        expires_at=now + int(data.get("expires_in", 3600)),
        refresh_token=data.get("refresh_token"),
        scope=data.get("scope"),
        account=account,
    )


def refresh(*, client_id: str, client_secret: str | None, refresh_token: str, hint: str) -> TokenSet:
    """A new access token from ``refresh_token``; AuthError (``invalid_grant``) when revoked."""
    now = time.time()
    data = _post_form(
        TOKEN_URL,
        {
            "grant_type": "refresh_token",
            "client_id": client_id,
            "client_secret": client_secret or "",
            "refresh_token": refresh_token,
        },
        hint,
    )
    if "access_token" not in data:
        raise AuthError("Google answered the refresh without an access token", hint=hint)
    return _token_set(data, now)


class _RedirectServer(HTTPServer):
    result: dict[str, str] | None = None
    expected_state: str = ""


class _RedirectHandler(BaseHTTPRequestHandler):
    server: _RedirectServer

    def do_GET(self) -> None:
        query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(self.path).query))
        if query.get("state") != self.server.expected_state or not ("code" in query or "error" in query):
            # A favicon, a stale tab or a forged redirect: not ours, keep waiting.
            self._answer(400, "This is not the sign-in mailrelay is waiting for.")
            return
        self.server.result = query
        if "code" in query:
            self._answer(200, "mailrelay is signed in. You can close this tab.")
        else:
            self._answer(200, "The sign-in did not finish; see the terminal.")

    def _answer(self, status: int, text: str) -> None:
        body = f"<!doctype html><title>mailrelay</title><p>{text}</p>".encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass  # the query holds the authorization code: keep it out of stderr


def authorize(
    *,
    client_id: str,
    client_secret: str | None,
    scopes: tuple[str, ...],
    login_hint: str | None,
    port: int,
    show_url: Callable[[LoopbackPrompt], None],
    timeout: float,
    hint: str,
) -> TokenSet:
    """Run the loopback login: show the URL, wait for the redirect, exchange the code."""
    try:
        server = _RedirectServer(("127.0.0.1", port), _RedirectHandler)
    except OSError as e:
        raise TemporaryError(
            f"cannot listen on 127.0.0.1:{port} for Google's redirect: {e.strerror}",
            hint="mailrelay auth login --port 0 (any free port)",
        ) from e
    with server:
        bound = server.server_address[1]
        redirect_uri = f"http://127.0.0.1:{bound}/"
        verifier, challenge = pkce_pair()
        server.expected_state = secrets.token_urlsafe(24)
        params = {
            "response_type": "code",
            "client_id": client_id,
            "redirect_uri": redirect_uri,
            "scope": " ".join(scopes),
            "state": server.expected_state,
            "code_challenge": challenge,
            "code_challenge_method": "S256",
            # offline + consent: Google sends a refresh token only then, and cron needs one.
            "access_type": "offline",
            "prompt": "consent",
        }
        if login_hint:
            params["login_hint"] = login_hint
        url = AUTH_URL + "?" + urllib.parse.urlencode(params, quote_via=urllib.parse.quote)
        show_url(
            LoopbackPrompt(
                url=url,
                port=bound,
                redirect_uri=redirect_uri,
                ssh_hint=f"ssh -L {bound}:127.0.0.1:{bound} {socket.gethostname()}",
            )
        )
        # Short timeouts so Ctrl-C and the overall deadline are noticed between requests.
        server.timeout = 0.5
        deadline = time.monotonic() + timeout
        while server.result is None:
            if time.monotonic() > deadline:
                raise AuthError(
                    f"no sign-in arrived at {redirect_uri} within {int(timeout)} seconds", hint=hint
                )
            server.handle_request()
        result = server.result
    if "error" in result:
        raise AuthError(f"Google did not grant access: {result['error']}", hint=hint)
    now = time.time()
    data = _post_form(
        TOKEN_URL,
        {
            "grant_type": "authorization_code",
            "client_id": client_id,
            "client_secret": client_secret or "",
            "code": result["code"],
            "code_verifier": verifier,
            "redirect_uri": redirect_uri,
        },
        hint,
    )
    if "access_token" not in data:
        raise AuthError("Google answered the code exchange without an access token", hint=hint)
    return _token_set(data, now)


def access_token(settings: Settings, cfg: OAuthConfig) -> str:
    """A Google bearer token for ``cfg`` without any person: the cached one, or refreshed."""
    text = load_cache_text(settings, cfg.cache_role)
    stored = cached_tokens(text)
    if not stored.get("refresh_token") and not stored.get("access_token"):
        raise AuthError(
            f"no Google login for {cfg.role} ({where(settings, cfg.cache_role)} is empty)",
            hint=cfg.login_hint,
        )
    # A minute of margin: the token must survive the SMTP/IMAP dialogue that uses it.
    if stored.get("access_token") and float(stored.get("expires_at", 0)) > time.time() + 60:
        return str(stored["access_token"])
    if not stored.get("refresh_token"):
        raise AuthError(
            f"the Google {cfg.role} token expired and no refresh token is held", hint=cfg.login_hint
        )
    tokens = refresh(
        client_id=cfg.client_id,
        client_secret=client_secret(settings, cfg),
        refresh_token=stored["refresh_token"],
        hint=cfg.login_hint,
    )
    stored.update(access_token=tokens.access_token, expires_at=tokens.expires_at)
    if tokens.refresh_token:  # Google may rotate it
        stored["refresh_token"] = tokens.refresh_token
    if tokens.scope:
        stored["scope"] = tokens.scope
    save_cache_text(settings, cfg.cache_role, json.dumps(stored))
    return tokens.access_token


def cached_tokens(text: str | None) -> dict[str, Any]:
    """The Google tokens in a stored cache text; {} when it holds none (or another provider's)."""
    if not text:
        return {}
    try:
        data = json.loads(text)
    except ValueError:
        return {}
    return data if isinstance(data, dict) and data.get("provider") == GOOGLE else {}


def login(
    settings: Settings,
    role: Role,
    *,
    port: int = 0,
    show_url: Callable[[LoopbackPrompt], None],
    timeout: float = 600.0,
) -> LoginResult:
    """Google authorization code + PKCE on ``http://127.0.0.1:PORT/`` for ``role``'s cache."""
    cfg = resolve(settings, role)
    if cfg.provider != GOOGLE:
        raise ConfigError(f"{role}.auth is not google-oauth", hint="mailrelay auth status")
    try:
        tokens = authorize(
            client_id=cfg.client_id,
            client_secret=client_secret(settings, cfg),
            scopes=cfg.login_scopes,
            login_hint=cfg.user,
            port=port,
            show_url=show_url,
            timeout=timeout,
            hint=cfg.login_hint,
        )
    except KeyboardInterrupt:
        raise Interrupted("login cancelled; nothing was saved", hint=cfg.login_hint) from None
    stored: dict[str, Any] = {
        "provider": GOOGLE,
        "account": tokens.account or cfg.user,
        "access_token": tokens.access_token,
        "refresh_token": tokens.refresh_token,
        "expires_at": tokens.expires_at,
        "scope": tokens.scope or " ".join(cfg.login_scopes),
    }
    note = save_cache_text(settings, cfg.cache_role, json.dumps(stored))
    return LoginResult(
        role=cfg.cache_role,
        provider=GOOGLE,
        flow=cfg.flow,
        account=stored["account"],
        scopes=tuple(stored["scope"].split()),
        access_token_expires_at=utc_time(tokens.expires_at),
        refresh_token=bool(tokens.refresh_token),
        stored_in=where(settings, cfg.cache_role),
        covers=covers(settings, cfg.cache_role),
        note=note,
    )
