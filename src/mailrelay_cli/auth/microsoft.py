"""microsoft-oauth through msal: tokens without a person, and the device-code login.

``device-code``: a person signs in once with ``mailrelay auth login``; refresh
tokens keep cron going. ``client-credentials``: app-only, the client secret in
the keyring, no login. msal's serialized cache is kept by ``token_cache``.

msal is imported inside the functions that use it: it costs ~140 ms at start-up.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mailrelay_cli.auth import credentials, http_cache
from mailrelay_cli.auth.login_result import LoginResult, utc_time
from mailrelay_cli.auth.oauth_config import (
    CLIENT_CREDENTIALS,
    DEVICE_CODE,
    MICROSOFT,
    OAuthConfig,
    client_secret,
    covers,
    resolve,
    server,
)
from mailrelay_cli.auth.token_cache import load_cache_text, save_cache_text, where
from mailrelay_cli.auth.token_status import msal_status
from mailrelay_cli.config.records import Role, Settings
from mailrelay_cli.errors import AuthError, ConfigError, Interrupted, TemporaryError


@dataclass(frozen=True)
class DeviceCode:
    """What a person needs to finish a device-code login on another device."""

    user_code: str
    verification_uri: str
    message: str
    expires_at: float  # epoch seconds
    interval: int


def _http_client() -> Any:
    """The HTTP client msal talks through (None: msal's own requests session).

    The one place the identity service is reached, so tests can stand one in here.
    """
    return None


def _trusting_client(settings: Settings, cfg: OAuthConfig) -> Any:
    """A requests session trusting ``tls_ca_file`` (a company's identity gateway), or None."""
    ca_file = server(settings, cfg.cache_role).tls_ca_file
    if ca_file is None:
        return None
    import requests

    session = requests.Session()
    session.verify = str(ca_file)
    return session


def certificate_credential(cfg: OAuthConfig) -> dict[str, str]:
    """msal's client credential from ``client_certificate``: a PEM file with the app
    registration's certificate and its (unencrypted) private key. msal signs its client
    assertion with it (PS256, the certificate's SHA-256 thumbprint)."""
    path = cfg.client_certificate
    key = f"{cfg.cache_role}.client_certificate"
    try:
        text = Path(str(path)).read_text(encoding="ascii")
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(
            f"{key}: cannot read {path}: {getattr(e, 'strerror', None) or e}",
            hint=f"mailrelay config set {key} /path/to/app-cert.pem",
        ) from e
    certificate = re.search(r"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----", text, re.DOTALL)
    private_key = re.search(
        r"-----BEGIN (?:RSA |EC )?PRIVATE KEY-----.+?-----END (?:RSA |EC )?PRIVATE KEY-----", text, re.DOTALL
    )
    if certificate is None or private_key is None:
        raise ConfigError(
            f"{key}: {path} must hold the certificate and its unencrypted private key in PEM",
            hint="cat app-cert.pem app-key.pem > app.pem; the certificate is the one uploaded to the "
            "app registration (Certificates & secrets)",
        )
    return {"private_key": private_key.group(0), "public_certificate": certificate.group(0)}


def _msal_app(
    settings: Settings, cfg: OAuthConfig, cache: Any, *, secret: str | dict[str, str] | None
) -> Any:
    import msal

    persisted = http_cache.load(settings)
    common: dict[str, Any] = {"authority": cfg.authority, "token_cache": cache, "http_cache": persisted}
    if not cfg.known_authority:
        # A login host Microsoft does not run: used as given, never checked against
        # Microsoft's list of clouds (which would need login.microsoftonline.com).
        common["instance_discovery"] = False
    http_client = _http_client() or _trusting_client(settings, cfg)
    if http_client is not None:
        common["http_client"] = http_client
    try:
        if secret:
            app = _confidential_class()(cfg.client_id, client_credential=secret, **common)
        else:
            app = msal.PublicClientApplication(cfg.client_id, **common)
        persisted.save()  # the discovery answers msal just fetched (or found) for next run
        return app
    except ValueError as e:  # msal's OpenID discovery failed: almost always a wrong tenant
        raise ConfigError(
            f"Microsoft does not know tenant {cfg.tenant_id!r} ({cfg.cache_role}.tenant_id): "
            f"{_first_line(str(e))}",
            hint=f"mailrelay config set {cfg.cache_role}.tenant_id YOUR-TENANT-ID",
        ) from e
    except OSError as e:
        raise _network_error(e, cfg.login_host) from e
    except Exception as e:
        _reraise_network(e, cfg.login_host)
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


def _network_error(e: BaseException, host: str = "https://login.microsoftonline.com") -> TemporaryError:
    return TemporaryError(
        f"cannot reach Microsoft's identity service ({host}): {_first_line(str(e))}",
        hint="check the network or proxy; cron retries next run",
    )


def _reraise_network(e: Exception, host: str = "https://login.microsoftonline.com") -> None:
    try:
        import requests
    except ImportError:  # pragma: no cover - msal depends on requests
        return
    if isinstance(e, requests.RequestException):
        raise _network_error(e, host) from e


def _load_msal_cache(settings: Settings, cache_role: Role) -> Any:
    import msal

    cache = msal.SerializableTokenCache()
    text = load_cache_text(settings, cache_role)
    if text:
        try:
            cache.deserialize(text)
        except ValueError:
            pass  # an unreadable cache is an empty one: the hint will say to log in again
    return cache


def _save_msal_cache(settings: Settings, cache_role: Role, cache: Any) -> str | None:
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


def access_token(settings: Settings, cfg: OAuthConfig, *, force_refresh: bool = False) -> str:
    """A Microsoft bearer token for ``cfg`` without any person.

    From the cache, refreshing as needed (device-code), or from the client secret
    (client-credentials). Raises AuthError (exit 77) with Microsoft's error and the
    ``auth login`` command when a person is needed; never prompts. ``force_refresh``
    ignores a cached access token (one an API just refused as expired or revoked).
    """
    if cfg.flow == CLIENT_CREDENTIALS:
        return _client_credentials_token(settings, cfg, fresh=force_refresh)
    return _silent_token(settings, cfg, force_refresh=force_refresh)


def _silent_token(settings: Settings, cfg: OAuthConfig, *, force_refresh: bool = False) -> str:
    cache = _load_msal_cache(settings, cfg.cache_role)
    app = _msal_app(settings, cfg, cache, secret=client_secret(settings, cfg))
    accounts = app.get_accounts()
    if not accounts:
        raise AuthError(
            f"no OAuth login for {cfg.role} ({where(settings, cfg.cache_role)} holds no account)",
            hint=cfg.login_hint,
        )
    result = _call_msal(
        app.acquire_token_silent_with_error, list(cfg.scopes), accounts[0], force_refresh=force_refresh
    )
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


def _client_credentials_token(settings: Settings, cfg: OAuthConfig, *, fresh: bool = False) -> str:
    secret: str | dict[str, str] | None
    secret = certificate_credential(cfg) if cfg.client_certificate else client_secret(settings, cfg)
    if not secret:
        raise ConfigError(
            f"{cfg.cache_role}.client_secret is not set (oauth_flow = client-credentials needs "
            f"the app's client secret: keyring entry {credentials.SERVICE} "
            f"{credentials.entry_name(settings.profile, cfg.cache_role + '.client_secret')})",
            hint=f"mailrelay secret set {cfg.cache_role}.client_secret",
        )
    if fresh:  # the cached app token was refused: ask Entra for a new one
        import msal

        cache = msal.SerializableTokenCache()
    else:
        cache = _load_msal_cache(settings, cfg.cache_role)
    app = _msal_app(settings, cfg, cache, secret=secret)
    result = _call_msal(app.acquire_token_for_client, list(cfg.scopes))
    _save_msal_cache(settings, cfg.cache_role, cache)
    if "access_token" in result:
        return str(result["access_token"])
    raise AuthError(
        f"Microsoft refused client credentials for app {cfg.client_id} in tenant "
        f"{cfg.tenant_id}: {_provider_error(result)}",
        hint=(
            f"check that {cfg.client_certificate} is the certificate uploaded to the app registration"
            if cfg.client_certificate
            else f"mailrelay secret set {cfg.cache_role}.client_secret"
        )
        + " (and check admin consent: README, OAuth)",
    )


def device_login(
    settings: Settings,
    role: Role,
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
        raise ConfigError(f"{role} does not use the device-code flow", hint="mailrelay auth status")
    import msal

    cache = msal.SerializableTokenCache()  # a login starts afresh: one account per cache
    try:
        app = _msal_app(settings, cfg, cache, secret=client_secret(settings, cfg))
        flow = _call_msal(app.initiate_device_flow, scopes=list(cfg.login_scopes))
        if "user_code" not in flow:
            raise AuthError(
                f"Microsoft did not start a device login for app {cfg.client_id} in tenant "
                f"{cfg.tenant_id}: {_provider_error(flow)}",
                hint=f"check {cfg.cache_role}.client_id and that the app registration allows "
                "public client flows; then mailrelay auth login",
            )
        show_code(
            DeviceCode(
                user_code=flow["user_code"],
                verification_uri=flow.get("verification_uri") or flow.get("verification_url", ""),
                message=flow.get("message", ""),
                expires_at=float(flow["expires_at"]),
                interval=int(flow.get("interval", 5)),
            )
        )
        while True:
            # One poll per call: the waiting (and its countdown) is ours, not msal's.
            result = _call_msal(app.acquire_token_by_device_flow, flow, exit_condition=lambda _flow: True)
            error = result.get("error")
            if "access_token" in result:
                break
            if error in ("authorization_pending", "slow_down"):
                if time.time() >= flow["expires_at"]:
                    raise AuthError(
                        f"the code {flow['user_code']} expired before the sign-in finished",
                        hint=cfg.login_hint,
                    )
                wait(float(flow["interval"]), float(flow["expires_at"]))
                continue
            if error in ("expired_token", "code_expired"):
                raise AuthError(
                    f"the code {flow['user_code']} expired before the sign-in "
                    f"finished ({_provider_error(result)})",
                    hint=cfg.login_hint,
                )
            if error in ("authorization_declined", "access_denied"):
                raise AuthError(f"the sign-in was declined ({_provider_error(result)})", hint=cfg.login_hint)
            raise AuthError(
                f"Microsoft refused the {cfg.cache_role} login: {_provider_error(result)}",
                hint=cfg.login_hint,
            )
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
        access_token_expires_at=utc_time(time.time() + int(expires_in)) if expires_in else None,
        refresh_token="refresh_token" in result,
        stored_in=where(settings, cfg.cache_role),
        covers=covers(settings, cfg.cache_role),
        note=note,
    )


def check_client_credentials(settings: Settings, role: Role) -> LoginResult:
    """``auth login`` under client-credentials: no login step; prove the secret works."""
    cfg = resolve(settings, role)
    _client_credentials_token(settings, cfg)
    status = msal_status(settings, cfg)
    return LoginResult(
        role=cfg.cache_role,
        provider=cfg.provider,
        flow=cfg.flow,
        account=status.account,
        scopes=cfg.scopes,
        access_token_expires_at=status.access_token_expires_at,
        refresh_token=False,
        stored_in=where(settings, cfg.cache_role),
        covers=covers(settings, cfg.cache_role),
        note="client-credentials needs no login: the client secret gets a token each time",
    )
