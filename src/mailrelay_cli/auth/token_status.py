"""``auth status`` and ``auth logout``: where each role's login stands, and removing it.

Status reads the stored caches only: no network, no msal.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from mailrelay_cli.auth.login_result import utc_time
from mailrelay_cli.auth.oauth_config import (
    CLIENT_CREDENTIALS,
    GOOGLE,
    MICROSOFT,
    OAuthConfig,
    apis_of,
    is_oauth,
    resolve,
    server,
    shares_smtp_login,
)
from mailrelay_cli.auth.token_cache import delete_cache, load_cache_text, where
from mailrelay_cli.config.records import Role, Settings
from mailrelay_cli.errors import ConfigError


@dataclass(frozen=True)
class TokenStatus:
    """Where one role stands: what ``auth status`` shows."""

    role: Role
    provider: str  # the role's auth ("basic" etc. when not OAuth)
    flow: str | None
    account: str | None
    scopes: tuple[str, ...]
    access_token_expires_at: datetime | None
    refresh_token: bool
    logged_in: bool
    shares_smtp_login: bool
    stored_in: str | None
    note: str | None = None
    configured: bool = True  # False: a setting is missing (the note names it and the fix)
    apis: tuple[str, ...] = ()  # what the login's tokens serve: "SMTP", "Graph sendMail", …

    def to_json(self) -> dict[str, Any]:
        """The ``auth status --json`` line of this role."""
        expires = self.access_token_expires_at
        return {
            "role": self.role,
            "provider": self.provider,
            "flow": self.flow,
            "account": self.account,
            "scopes": list(self.scopes),
            "access_token_expires_at": expires.isoformat() if expires else None,
            "refresh_token": self.refresh_token,
            "logged_in": self.logged_in,
            "shares_smtp_login": self.shares_smtp_login,
            "stored_in": self.stored_in,
            "note": self.note,
            "apis": list(self.apis),
        }


@dataclass(frozen=True)
class LogoutResult:
    role: Role
    removed: bool
    where: str
    note: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"role": self.role, "removed": self.removed, "where": self.where, "note": self.note}


def msal_status(settings: Settings, cfg: OAuthConfig) -> TokenStatus:
    """A Microsoft role's standing, read from msal's serialized cache without msal."""
    text = load_cache_text(settings, cfg.cache_role)
    try:
        data = json.loads(text) if text else {}
    except ValueError:
        data = {}
    accounts = list((data.get("Account") or {}).values())
    wanted = set(cfg.scopes)
    expiry: float | None = None
    for entry in (data.get("AccessToken") or {}).values():
        if wanted <= set(str(entry.get("target", "")).split()):
            expiry = max(expiry or 0.0, float(entry.get("expires_on", 0)))
    refresh = bool(data.get("RefreshToken"))
    account: str | None
    if cfg.flow == CLIENT_CREDENTIALS:
        account = f"app {cfg.client_id}"
        logged_in = True
    else:
        account = accounts[0].get("username") if accounts else None
        logged_in = bool(accounts) and (refresh or expiry is not None)
    return TokenStatus(
        role=cfg.role,
        provider=cfg.provider,
        flow=cfg.flow,
        account=account,
        scopes=cfg.scopes,
        access_token_expires_at=utc_time(expiry) if expiry else None,
        refresh_token=refresh,
        logged_in=logged_in,
        shares_smtp_login=cfg.cache_role != cfg.role,
        stored_in=where(settings, cfg.cache_role) if text else None,
    )


def _google_status(settings: Settings, cfg: OAuthConfig) -> TokenStatus:
    from mailrelay_cli.auth import google

    text = load_cache_text(settings, cfg.cache_role)
    stored = google.cached_tokens(text)
    expires = stored.get("expires_at")
    return TokenStatus(
        role=cfg.role,
        provider=cfg.provider,
        flow=cfg.flow,
        account=stored.get("account"),
        scopes=tuple(str(stored.get("scope", " ".join(cfg.scopes))).split()),
        access_token_expires_at=utc_time(float(expires)) if expires else None,
        refresh_token=bool(stored.get("refresh_token")),
        logged_in=bool(stored.get("refresh_token") or stored.get("access_token")),
        shares_smtp_login=cfg.cache_role != cfg.role,
        stored_in=where(settings, cfg.cache_role) if stored else None,
    )


def status(settings: Settings) -> list[TokenStatus]:
    """Where SMTP and IMAP stand, from the stored caches only (no network)."""
    rows = []
    for role in ("smtp", "imap"):
        role_server = server(settings, role)
        if not is_oauth(role_server):
            rows.append(
                TokenStatus(
                    role=role,
                    provider=role_server.auth,
                    flow=None,
                    account=None,
                    scopes=(),
                    access_token_expires_at=None,
                    refresh_token=False,
                    logged_in=False,
                    shares_smtp_login=False,
                    stored_in=None,
                    note=f"{role}.auth is {role_server.auth}: no OAuth",
                )
            )
            continue
        try:
            cfg = resolve(settings, role)
        except ConfigError as e:  # e.g. no client_id yet: say so, it is where the user stands
            rows.append(_unconfigured(settings, role, e))
            continue
        row = _google_status(settings, cfg) if cfg.provider == GOOGLE else msal_status(settings, cfg)
        row = replace(row, apis=apis_of(tuple(row.scopes)))
        if row.shares_smtp_login:
            row = replace(row, note="shares SMTP's login")
        elif not row.logged_in:
            row = replace(row, note=f"not logged in: {cfg.login_hint}")
        rows.append(row)
    return rows


def _unconfigured(settings: Settings, role: Role, error: ConfigError) -> TokenStatus:
    role_server = server(settings, role)
    shared = role == "imap" and shares_smtp_login(settings)
    owner = settings.smtp if shared else role_server
    flow = owner.oauth_flow if role_server.auth == MICROSOFT else "authorization-code"
    note = f"{error.message}: {error.hint}" if error.hint else error.message
    return TokenStatus(
        role=role,
        provider=role_server.auth,
        flow=flow,
        account=None,
        scopes=(),
        access_token_expires_at=None,
        refresh_token=False,
        logged_in=False,
        shares_smtp_login=shared,
        stored_in=None,
        note=note,
        configured=False,
    )


def logout(settings: Settings, only: Role | None = None) -> list[LogoutResult]:
    """Remove the token caches (both, or ``only`` "smtp" / "imap")."""
    if only == "imap" and shares_smtp_login(settings):
        return [
            LogoutResult(
                role="imap",
                removed=False,
                where=where(settings, "smtp"),
                note="IMAP shares SMTP's login: mailrelay auth logout --smtp",
            )
        ]
    roles: list[Role] = [only] if only else ["smtp", "imap"]
    results = []
    for role in roles:
        cache_at = where(settings, role)
        results.append(LogoutResult(role=role, removed=delete_cache(settings, role), where=cache_at))
    return results
