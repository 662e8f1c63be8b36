"""OAuth for SMTP and IMAP: logins, the token cache, and tokens without a person.

Providers (DESIGN.md "OAuth providers"):
  - ``microsoft-oauth`` through msal: ``device-code`` (a person signs in once with
    ``mailrelay auth login``; refresh tokens keep cron going) or
    ``client-credentials`` (app-only, the client secret in the keyring, no login);
  - ``google-oauth``: authorization code + PKCE on a loopback redirect
    (``google_oauth.py``); the refresh token is kept like msal's.

The token cache of a role lives in the keyring entry ``PROFILE:oauth.smtp`` or
``PROFILE:oauth.imap``. A keyring that refuses a value that large (Windows
Credential Manager stops near 2.5 KB) gets a file in the state dir readable only
by the user instead, and the login says so. When IMAP has no client id of its
own it shares SMTP's login and cache (``settings.imap.oauth_inherited``).

``access_token`` is what the SMTP and IMAP code calls: it never starts a login,
never prompts and never waits for a person; when no token can be had it raises
``AuthError`` (exit 77) with the provider's words and the ``auth login`` command.

msal is imported inside the functions that use it: it costs ~140 ms at start-up.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from mailrelay_cli.auth import credentials
from mailrelay_cli.config.settings import ServerSettings, Settings
from mailrelay_cli.errors import (
    AuthError,
    ConfigError,
    Interrupted,
    NoKeyringError,
    TemporaryError,
)

MICROSOFT = "microsoft-oauth"
GOOGLE = "google-oauth"
PROVIDERS = (MICROSOFT, GOOGLE)
DEVICE_CODE = "device-code"
CLIENT_CREDENTIALS = "client-credentials"

MICROSOFT_LOGIN_HOST = "https://login.microsoftonline.com"
DEFAULT_TENANT = "organizations"
DEFAULT_SCOPES: dict[tuple[str, str, str], tuple[str, ...]] = {
    (MICROSOFT, DEVICE_CODE, "smtp"): ("https://outlook.office.com/SMTP.Send",),
    (MICROSOFT, DEVICE_CODE, "imap"): ("https://outlook.office.com/IMAP.AccessAsUser.All",),
    (MICROSOFT, CLIENT_CREDENTIALS, "smtp"): ("https://outlook.office365.com/.default",),
    (MICROSOFT, CLIENT_CREDENTIALS, "imap"): ("https://outlook.office365.com/.default",),
}
GOOGLE_SCOPES = ("https://mail.google.com/",)
# msal adds these itself and raises ValueError when a caller passes them.
_MSAL_RESERVED = frozenset({"openid", "profile", "offline_access"})

# Keyring values larger than this may be refused (Windows Credential Manager).
_FALLBACK_NOTE = (
    "the keyring refused the token cache ({size} bytes); it is kept in {path} "
    "(readable only by you)"
)


@dataclass(frozen=True)
class OAuthConfig:
    """One role's OAuth settings, resolved: which provider, client, scopes and cache."""

    role: str  # the role asking: "smtp" or "imap"
    cache_role: str  # whose login and cache it uses ("smtp" when IMAP shares SMTP's)
    provider: str
    flow: str
    client_id: str
    tenant_id: str
    scopes: tuple[str, ...]  # what this role's token needs
    login_scopes: tuple[str, ...]  # what a login for cache_role asks for (both roles when shared)
    user: str | None

    @property
    def authority(self) -> str:
        return f"{MICROSOFT_LOGIN_HOST}/{self.tenant_id}"

    @property
    def login_hint(self) -> str:
        """The command that gets a person to log in for this cache."""
        return "mailrelay auth login" + (" --imap" if self.cache_role == "imap" else "")


@dataclass(frozen=True)
class DeviceCode:
    """What a person needs to finish a device-code login on another device."""

    user_code: str
    verification_uri: str
    message: str
    expires_at: float  # epoch seconds
    interval: int


@dataclass(frozen=True)
class LoginResult:
    """A finished ``auth login`` for one cache."""

    role: str
    provider: str
    flow: str
    account: str | None
    scopes: tuple[str, ...]
    access_token_expires_at: datetime | None
    refresh_token: bool
    stored_in: str
    covers: tuple[str, ...]  # the roles this login serves ("smtp", "imap")
    note: str | None = None  # e.g. the keyring refused and a file was used


@dataclass(frozen=True)
class TokenStatus:
    """Where one role stands: what ``auth status`` shows."""

    role: str
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


@dataclass(frozen=True)
class LogoutResult:
    role: str
    removed: bool
    where: str
    note: str | None = None


# --- settings -----------------------------------------------------------------------------


def _server(settings: Settings, role: str) -> ServerSettings:
    if role == "smtp":
        return settings.smtp
    if role == "imap":
        return settings.imap
    raise ValueError(f"role must be smtp or imap, not {role!r}")


def is_oauth(server: ServerSettings) -> bool:
    return server.auth in PROVIDERS


def shares_smtp_login(settings: Settings) -> bool:
    """True when IMAP uses SMTP's login and token cache (no client id of its own)."""
    return (
        settings.imap.oauth_inherited
        and is_oauth(settings.imap)
        and settings.imap.auth == settings.smtp.auth
    )


def _scopes_for(server: ServerSettings, provider: str, flow: str) -> tuple[str, ...]:
    if server.scopes:
        scopes = server.scopes
    elif provider == GOOGLE:
        scopes = GOOGLE_SCOPES
    else:
        scopes = DEFAULT_SCOPES[(provider, flow, server.role)]
    if provider == MICROSOFT:
        scopes = tuple(s for s in scopes if s not in _MSAL_RESERVED)
    return scopes


def resolve(settings: Settings, role: str) -> OAuthConfig:
    """The OAuth settings of ``role``; ConfigError naming the key when something is missing."""
    server = _server(settings, role)
    if not is_oauth(server):
        raise ConfigError(
            f"{role}.auth is {server.auth!r}, not microsoft-oauth or google-oauth",
            hint=f"mailrelay config set {role}.auth microsoft-oauth",
        )
    provider = server.auth
    shared = role == "imap" and shares_smtp_login(settings)
    cache_role = "smtp" if shared else role
    owner = _server(settings, cache_role)
    if not owner.client_id:
        raise ConfigError(
            f"{cache_role}.client_id is not set in {settings.path} ({provider} needs the "
            "application (client) id of your app registration)",
            hint=f"mailrelay config set {cache_role}.client_id APPLICATION-ID",
        )
    flow = owner.oauth_flow if provider == MICROSOFT else "authorization-code"
    tenant = owner.tenant_id or DEFAULT_TENANT
    if flow == CLIENT_CREDENTIALS and tenant.lower() in ("organizations", "common", "consumers"):
        # App-only tokens come from one directory: Entra cannot tell which from "organizations".
        raise ConfigError(
            f"{cache_role}.tenant_id must name your tenant for client-credentials, "
            f"not {tenant!r}",
            hint=f"mailrelay config set {cache_role}.tenant_id contoso.onmicrosoft.com",
        )
    scopes = _scopes_for(server, provider, flow)
    login_scopes = _scopes_for(owner, provider, flow)
    if cache_role == "smtp" and shares_smtp_login(settings):
        extra = _scopes_for(settings.imap, provider, flow)
        login_scopes = tuple(dict.fromkeys(login_scopes + extra))
    return OAuthConfig(
        role=role,
        cache_role=cache_role,
        provider=provider,
        flow=flow,
        client_id=owner.client_id,
        tenant_id=tenant,
        scopes=scopes,
        login_scopes=login_scopes,
        user=server.user,
    )


def login_roles(settings: Settings, only: str | None = None) -> list[str]:
    """The caches ``auth login`` (or ``logout``) deals with: one per distinct login."""
    if only is not None:
        return [only]
    roles = []
    if is_oauth(settings.smtp):
        roles.append("smtp")
    if is_oauth(settings.imap) and not shares_smtp_login(settings):
        roles.append("imap")
    if not roles:
        raise ConfigError(
            f"neither smtp.auth nor imap.auth is an OAuth provider in {settings.path}",
            hint="mailrelay config set smtp.auth microsoft-oauth",
        )
    return roles


# --- the token cache store: keyring entry, or a private file when the keyring refuses ----------


def _entry(cache_role: str) -> str:
    return f"oauth.{cache_role}"


def fallback_path(settings: Settings, cache_role: str) -> Path:
    return settings.state_dir / f"oauth-{cache_role}.json"


def _where(settings: Settings, cache_role: str) -> str:
    if fallback_path(settings, cache_role).exists():
        return str(fallback_path(settings, cache_role))
    return f"keyring {credentials.SERVICE} {credentials.entry_name(settings.profile, _entry(cache_role))}"


def load_cache_text(settings: Settings, cache_role: str) -> str | None:
    """The stored cache of ``cache_role`` (keyring, or the fallback file), or None."""
    path = fallback_path(settings, cache_role)
    if path.exists():
        try:
            return path.read_text(encoding="utf-8")
        except OSError as e:
            raise ConfigError(f"cannot read the token cache {path}: {e.strerror}",
                              hint=f"check the permissions of {path}") from e
    return credentials.get_internal(settings.profile, _entry(cache_role))


def _write_private(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".tmp")
    # Created 0600 from the start: the token must never be readable by others, even briefly.
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.chmod(temporary, 0o600)
    os.replace(temporary, path)


def save_cache_text(settings: Settings, cache_role: str, text: str) -> str | None:
    """Store the cache; returns a note for the user when it had to go to a file."""
    from keyring.errors import PasswordSetError

    path = fallback_path(settings, cache_role)
    try:
        credentials.set_internal(settings.profile, _entry(cache_role), text)
    except NoKeyringError as e:
        if not isinstance(e.__cause__, PasswordSetError):
            raise
        _write_private(path, text)
        return _FALLBACK_NOTE.format(size=len(text.encode()), path=path)
    if path.exists():
        path.unlink()  # the keyring holds it now; a stale file would shadow it
    return None


def delete_cache(settings: Settings, cache_role: str) -> bool:
    removed = credentials.delete_internal(settings.profile, _entry(cache_role))
    path = fallback_path(settings, cache_role)
    if path.exists():
        path.unlink()
        removed = True
    return removed


# --- msal ----------------------------------------------------------------------------------------


def _http_client() -> Any:
    """The HTTP client msal talks through (None: msal's own requests session).

    The one place the identity service is reached, so tests can stand one in here.
    """
    return None


def _client_secret(settings: Settings, cfg: OAuthConfig) -> str | None:
    return credentials.get_secret(settings.profile, f"{cfg.cache_role}.client_secret")


def _msal_app(settings: Settings, cfg: OAuthConfig, cache: Any, *, secret: str | None) -> Any:
    import msal

    common: dict[str, Any] = {"authority": cfg.authority, "token_cache": cache}
    http_client = _http_client()
    if http_client is not None:
        common["http_client"] = http_client
    try:
        if secret:
            return _confidential_class()(cfg.client_id, client_credential=secret, **common)
        return msal.PublicClientApplication(cfg.client_id, **common)
    except ValueError as e:  # msal's OpenID discovery failed: almost always a wrong tenant
        raise ConfigError(
            f"Microsoft does not know tenant {cfg.tenant_id!r} ({cfg.cache_role}.tenant_id): "
            f"{_first_line(str(e))}",
            hint=f"mailrelay config set {cfg.cache_role}.tenant_id YOUR-TENANT-ID",
        ) from e
    except OSError as e:
        raise _network_error(e) from e
    except Exception as e:
        _reraise_network(e)
        raise


def _confidential_class() -> type:
    """A confidential client that can also run the device flow.

    msal puts the device flow on PublicClientApplication only, but Entra accepts it from a
    confidential client that sends its secret, which is what an app registration with a
    client secret (and public client flows off) needs.
    """
    import msal

    class ConfidentialDeviceApp(msal.ConfidentialClientApplication):
        DEVICE_FLOW_CORRELATION_ID = msal.PublicClientApplication.DEVICE_FLOW_CORRELATION_ID
        initiate_device_flow = msal.PublicClientApplication.initiate_device_flow
        acquire_token_by_device_flow = msal.PublicClientApplication.acquire_token_by_device_flow

    return ConfidentialDeviceApp


def _first_line(text: str) -> str:
    return (text or "").strip().splitlines()[0] if (text or "").strip() else ""


def _provider_error(result: dict[str, Any]) -> str:
    error = result.get("error") or "no token"
    description = _first_line(result.get("error_description", ""))
    return f"{error}: {description}" if description else str(error)


def _network_error(e: BaseException) -> TemporaryError:
    return TemporaryError(
        f"cannot reach Microsoft's identity service ({MICROSOFT_LOGIN_HOST}): {_first_line(str(e))}",
        hint="check the network or proxy; cron retries next run",
    )


def _reraise_network(e: Exception) -> None:
    try:
        import requests
    except ImportError:  # pragma: no cover - msal depends on requests
        return
    if isinstance(e, requests.RequestException):
        raise _network_error(e) from e


def _load_msal_cache(settings: Settings, cache_role: str) -> Any:
    import msal

    cache = msal.SerializableTokenCache()
    text = load_cache_text(settings, cache_role)
    if text:
        try:
            cache.deserialize(text)
        except ValueError:
            pass  # an unreadable cache is an empty one: the hint will say to log in again
    return cache


def _save_msal_cache(settings: Settings, cache_role: str, cache: Any) -> str | None:
    if not cache.has_state_changed:
        return None
    return save_cache_text(settings, cache_role, cache.serialize())


def _call_msal(func: Callable[..., dict[str, Any]], *args: Any, **kwargs: Any) -> dict[str, Any]:
    try:
        return func(*args, **kwargs)
    except OSError as e:
        raise _network_error(e) from e
    except ValueError:
        raise
    except Exception as e:
        _reraise_network(e)
        raise


def access_token(settings: Settings, role: str) -> str:
    """A bearer token for ``role`` ("smtp" or "imap") without any person.

    From the cache, refreshing as needed (device-code, Google), or from the client
    secret (client-credentials). Raises AuthError (exit 77) with the provider's error
    and the ``auth login`` command when a person is needed; never prompts.
    """
    cfg = resolve(settings, role)
    if cfg.provider == GOOGLE:
        return _google_access_token(settings, cfg)
    if cfg.flow == CLIENT_CREDENTIALS:
        return _client_credentials_token(settings, cfg)
    return _silent_token(settings, cfg)


def _silent_token(settings: Settings, cfg: OAuthConfig) -> str:
    cache = _load_msal_cache(settings, cfg.cache_role)
    app = _msal_app(settings, cfg, cache, secret=_client_secret(settings, cfg))
    accounts = app.get_accounts()
    if not accounts:
        raise AuthError(
            f"no OAuth login for {cfg.role} ({_where(settings, cfg.cache_role)} holds no account)",
            hint=cfg.login_hint,
        )
    result = _call_msal(app.acquire_token_silent_with_error, list(cfg.scopes), accounts[0])
    _save_msal_cache(settings, cfg.cache_role, cache)
    if result and "access_token" in result:
        return str(result["access_token"])
    account = accounts[0].get("username") or "the cached account"
    if not result:
        raise AuthError(
            f"no {cfg.role} token for {account} with scope {' '.join(cfg.scopes)} in the cache",
            hint=cfg.login_hint,
        )
    raise AuthError(
        f"Microsoft refused to refresh the {cfg.role} token for {account}: {_provider_error(result)}",
        hint=cfg.login_hint,
    )


def _client_credentials_token(settings: Settings, cfg: OAuthConfig) -> str:
    secret = _client_secret(settings, cfg)
    if not secret:
        raise ConfigError(
            f"{cfg.cache_role}.client_secret is not set (oauth_flow = client-credentials needs "
            f"the app's client secret: keyring entry {credentials.SERVICE} "
            f"{credentials.entry_name(settings.profile, cfg.cache_role + '.client_secret')})",
            hint=f"mailrelay secret set {cfg.cache_role}.client_secret",
        )
    cache = _load_msal_cache(settings, cfg.cache_role)
    app = _msal_app(settings, cfg, cache, secret=secret)
    result = _call_msal(app.acquire_token_for_client, list(cfg.scopes))
    _save_msal_cache(settings, cfg.cache_role, cache)
    if "access_token" in result:
        return str(result["access_token"])
    raise AuthError(
        f"Microsoft refused client credentials for app {cfg.client_id} in tenant "
        f"{cfg.tenant_id}: {_provider_error(result)}",
        hint=f"mailrelay secret set {cfg.cache_role}.client_secret (and check admin consent: "
        "README, OAuth)",
    )


def device_login(
    settings: Settings,
    role: str,
    *,
    show_code: Callable[[DeviceCode], None],
    wait: Callable[[float, float], None],
) -> LoginResult:
    """Microsoft device-code login for ``role``'s cache.

    ``show_code`` tells the person the code and URL; ``wait(seconds, expires_at)`` sleeps
    between polls (the CLI shows a countdown there). Ctrl-C raises Interrupted and
    nothing is saved.
    """
    cfg = resolve(settings, role)
    if cfg.provider != MICROSOFT or cfg.flow != DEVICE_CODE:
        raise ConfigError(f"{role} does not use the device-code flow",
                          hint="mailrelay auth status")
    import msal

    cache = msal.SerializableTokenCache()  # a login starts afresh: one account per cache
    try:
        app = _msal_app(settings, cfg, cache, secret=_client_secret(settings, cfg))
        flow = _call_msal(app.initiate_device_flow, scopes=list(cfg.login_scopes))
        if "user_code" not in flow:
            raise AuthError(
                f"Microsoft did not start a device login for app {cfg.client_id} in tenant "
                f"{cfg.tenant_id}: {_provider_error(flow)}",
                hint=f"check {cfg.cache_role}.client_id and that the app registration allows "
                "public client flows; then mailrelay auth login",
            )
        show_code(DeviceCode(
            user_code=flow["user_code"],
            verification_uri=flow.get("verification_uri") or flow.get("verification_url", ""),
            message=flow.get("message", ""),
            expires_at=float(flow["expires_at"]),
            interval=int(flow.get("interval", 5)),
        ))
        while True:
            # One poll per call: the waiting (and its countdown) is ours, not msal's.
            result = _call_msal(app.acquire_token_by_device_flow, flow,
                                exit_condition=lambda _flow: True)
            error = result.get("error")
            if "access_token" in result:
                break
            if error in ("authorization_pending", "slow_down"):
                if time.time() >= flow["expires_at"]:
                    raise AuthError(f"the code {flow['user_code']} expired before the sign-in "
                                    "finished", hint=cfg.login_hint)
                wait(float(flow["interval"]), float(flow["expires_at"]))
                continue
            if error in ("expired_token", "code_expired"):
                raise AuthError(f"the code {flow['user_code']} expired before the sign-in "
                                f"finished ({_provider_error(result)})", hint=cfg.login_hint)
            if error in ("authorization_declined", "access_denied"):
                raise AuthError(f"the sign-in was declined ({_provider_error(result)})",
                                hint=cfg.login_hint)
            raise AuthError(f"Microsoft refused the {cfg.cache_role} login: "
                            f"{_provider_error(result)}", hint=cfg.login_hint)
    except KeyboardInterrupt:
        raise Interrupted("login cancelled; nothing was saved", hint=cfg.login_hint) from None
    note = _save_msal_cache(settings, cfg.cache_role, cache)
    claims = result.get("id_token_claims") or {}
    expires_in = result.get("expires_in")
    return LoginResult(
        role=cfg.cache_role,
        provider=cfg.provider,
        flow=cfg.flow,
        account=claims.get("preferred_username") or claims.get("email"),
        scopes=tuple(str(result.get("scope", " ".join(cfg.login_scopes))).split()),
        access_token_expires_at=_at(time.time() + int(expires_in)) if expires_in else None,
        refresh_token="refresh_token" in result,
        stored_in=_where(settings, cfg.cache_role),
        covers=_covers(settings, cfg.cache_role),
        note=note,
    )


def _covers(settings: Settings, cache_role: str) -> tuple[str, ...]:
    if cache_role == "smtp" and shares_smtp_login(settings):
        return ("smtp", "imap")
    return (cache_role,)


def _at(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, tz=UTC).replace(microsecond=0)


def check_client_credentials(settings: Settings, role: str) -> LoginResult:
    """``auth login`` under client-credentials: no login step; prove the secret works."""
    cfg = resolve(settings, role)
    _client_credentials_token(settings, cfg)
    status = _msal_status(settings, cfg)
    return LoginResult(
        role=cfg.cache_role,
        provider=cfg.provider,
        flow=cfg.flow,
        account=status.account,
        scopes=cfg.scopes,
        access_token_expires_at=status.access_token_expires_at,
        refresh_token=False,
        stored_in=_where(settings, cfg.cache_role),
        covers=_covers(settings, cfg.cache_role),
        note="client-credentials needs no login: the client secret gets a token each time",
    )


# --- Google -------------------------------------------------------------------------------------


def _google_access_token(settings: Settings, cfg: OAuthConfig) -> str:
    from mailrelay_cli.auth import google as google_oauth

    text = load_cache_text(settings, cfg.cache_role)
    stored = _google_tokens(text)
    if not stored.get("refresh_token") and not stored.get("access_token"):
        raise AuthError(f"no Google login for {cfg.role} ({_where(settings, cfg.cache_role)} "
                        "is empty)", hint=cfg.login_hint)
    # A minute of margin: the token must survive the SMTP/IMAP dialogue that uses it.
    if stored.get("access_token") and float(stored.get("expires_at", 0)) > time.time() + 60:
        return str(stored["access_token"])
    if not stored.get("refresh_token"):
        raise AuthError(f"the Google {cfg.role} token expired and no refresh token is held",
                        hint=cfg.login_hint)
    tokens = google_oauth.refresh(
        client_id=cfg.client_id,
        client_secret=_client_secret(settings, cfg),
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


def _google_tokens(text: str | None) -> dict[str, Any]:
    if not text:
        return {}
    try:
        data = json.loads(text)
    except ValueError:
        return {}
    return data if isinstance(data, dict) and data.get("provider") == GOOGLE else {}


def google_login(
    settings: Settings,
    role: str,
    *,
    port: int = 0,
    show_url: Callable[[Any], None],
    timeout: float = 600.0,
) -> LoginResult:
    """Google authorization code + PKCE on ``http://127.0.0.1:PORT/`` for ``role``'s cache."""
    from mailrelay_cli.auth import google as google_oauth

    cfg = resolve(settings, role)
    if cfg.provider != GOOGLE:
        raise ConfigError(f"{role}.auth is not google-oauth", hint="mailrelay auth status")
    try:
        tokens = google_oauth.authorize(
            client_id=cfg.client_id,
            client_secret=_client_secret(settings, cfg),
            scopes=cfg.login_scopes,
            login_hint=cfg.user,
            port=port,
            show_url=show_url,
            timeout=timeout,
            hint=cfg.login_hint,
        )
    except KeyboardInterrupt:
        raise Interrupted("login cancelled; nothing was saved", hint=cfg.login_hint) from None
    stored = {
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
        access_token_expires_at=_at(tokens.expires_at),
        refresh_token=bool(tokens.refresh_token),
        stored_in=_where(settings, cfg.cache_role),
        covers=_covers(settings, cfg.cache_role),
        note=note,
    )


# --- status and logout ------------------------------------------------------------------------


def _msal_status(settings: Settings, cfg: OAuthConfig) -> TokenStatus:
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
        access_token_expires_at=_at(expiry) if expiry else None,
        refresh_token=refresh,
        logged_in=logged_in,
        shares_smtp_login=cfg.cache_role != cfg.role,
        stored_in=_where(settings, cfg.cache_role) if text else None,
    )


def _google_status(settings: Settings, cfg: OAuthConfig) -> TokenStatus:
    text = load_cache_text(settings, cfg.cache_role)
    stored = _google_tokens(text)
    expires = stored.get("expires_at")
    return TokenStatus(
        role=cfg.role,
        provider=cfg.provider,
        flow=cfg.flow,
        account=stored.get("account"),
        scopes=tuple(str(stored.get("scope", " ".join(cfg.scopes))).split()),
        access_token_expires_at=_at(float(expires)) if expires else None,
        refresh_token=bool(stored.get("refresh_token")),
        logged_in=bool(stored.get("refresh_token") or stored.get("access_token")),
        shares_smtp_login=cfg.cache_role != cfg.role,
        stored_in=_where(settings, cfg.cache_role) if stored else None,
    )


def status(settings: Settings) -> list[TokenStatus]:
    """Where SMTP and IMAP stand, from the stored caches only (no network)."""
    rows = []
    for role in ("smtp", "imap"):
        server = _server(settings, role)
        if not is_oauth(server):
            rows.append(TokenStatus(role=role, provider=server.auth, flow=None, account=None,
                                    scopes=(), access_token_expires_at=None, refresh_token=False,
                                    logged_in=False, shares_smtp_login=False, stored_in=None,
                                    note=f"{role}.auth is {server.auth}: no OAuth"))
            continue
        try:
            cfg = resolve(settings, role)
        except ConfigError as e:  # e.g. no client_id yet: say so, it is where the user stands
            rows.append(_unconfigured(settings, role, e))
            continue
        row = _google_status(settings, cfg) if cfg.provider == GOOGLE else _msal_status(settings, cfg)
        if row.shares_smtp_login:
            row = _replace(row, note="shares SMTP's login")
        elif not row.logged_in:
            row = _replace(row, note=f"not logged in: {cfg.login_hint}")
        rows.append(row)
    return rows


def _unconfigured(settings: Settings, role: str, error: ConfigError) -> TokenStatus:
    server = _server(settings, role)
    shared = role == "imap" and shares_smtp_login(settings)
    owner = settings.smtp if shared else server
    flow = owner.oauth_flow if server.auth == MICROSOFT else "authorization-code"
    note = f"{error.message}: {error.hint}" if error.hint else error.message
    return TokenStatus(role=role, provider=server.auth, flow=flow, account=None, scopes=(),
                       access_token_expires_at=None, refresh_token=False, logged_in=False,
                       shares_smtp_login=shared, stored_in=None, note=note, configured=False)


def _replace(row: TokenStatus, **changes: Any) -> TokenStatus:
    from dataclasses import replace

    return replace(row, **changes)


def logout(settings: Settings, only: str | None = None) -> list[LogoutResult]:
    """Remove the token caches (both, or ``only`` "smtp" / "imap")."""
    if only == "imap" and shares_smtp_login(settings):
        return [LogoutResult(role="imap", removed=False, where=_where(settings, "smtp"),
                             note="IMAP shares SMTP's login: mailrelay auth logout --smtp")]
    roles = [only] if only else ["smtp", "imap"]
    results = []
    for role in roles:
        where = _where(settings, role)
        results.append(LogoutResult(role=role, removed=delete_cache(settings, role), where=where))
    return results


def login(
    settings: Settings,
    only: str | None = None,
    *,
    show_code: Callable[[DeviceCode], None],
    wait: Callable[[float, float], None],
    show_url: Callable[[Any], None],
    port: int = 0,
) -> list[LoginResult]:
    """``auth login``: every login the settings need (or ``only`` that role's), by flow."""
    results = []
    for role in login_roles(settings, only):
        cfg = resolve(settings, role)
        if role == "imap" and cfg.cache_role == "smtp":
            raise ConfigError(
                "IMAP shares SMTP's login (imap.client_id is blank)",
                hint="mailrelay auth login --smtp",
            )
        if cfg.provider == GOOGLE:
            results.append(google_login(settings, role, port=port, show_url=show_url))
        elif cfg.flow == CLIENT_CREDENTIALS:
            results.append(check_client_credentials(settings, role))
        else:
            results.append(device_login(settings, role, show_code=show_code, wait=wait))
    return results
