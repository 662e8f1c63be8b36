"""OAuth for SMTP and IMAP, as the rest of the program calls it: tokens, logins, status, logout.

Providers (DESIGN.md "OAuth providers"):
  - ``microsoft-oauth`` through msal (``microsoft.py``): ``device-code`` (a person
    signs in once with ``mailrelay auth login``; refresh tokens keep cron going) or
    ``client-credentials`` (app-only, the client secret in the keyring, no login);
  - ``google-oauth``: authorization code + PKCE on a loopback redirect
    (``google.py``); the refresh token is kept like msal's.

Settings are resolved in ``oauth_config.py``, caches kept by ``token_cache.py``,
``auth status``/``logout`` answered by ``token_status.py``; this module only
dispatches by provider and flow.

``access_token`` is what the SMTP and IMAP code calls: it never starts a login,
never prompts and never waits for a person; when no token can be had it raises
``AuthError`` (exit 77) with the provider's words and the ``auth login`` command.

google.py (an HTTP server and urllib) is imported only when Google is the provider.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from mailrelay_cli.auth import microsoft
from mailrelay_cli.auth.login_result import LoginResult
from mailrelay_cli.auth.oauth_config import CLIENT_CREDENTIALS, GOOGLE, login_roles, resolve
from mailrelay_cli.auth.token_status import logout, status
from mailrelay_cli.config.records import Role, Settings
from mailrelay_cli.errors import ConfigError

# status and logout are part of this facade: ``auth status``, ``auth logout`` and the health
# report call them as oauth.status / oauth.logout.
__all__ = ["access_token", "login", "logout", "status"]


def access_token(settings: Settings, role: Role, *, force_refresh: bool = False) -> str:
    """A bearer token for ``role`` ("smtp" or "imap") without any person.

    From the cache, refreshing as needed (device-code, Google), or from the client
    secret (client-credentials). Raises AuthError (exit 77) with the provider's error
    and the ``auth login`` command when a person is needed; never prompts.
    """
    cfg = resolve(settings, role)
    if cfg.provider == GOOGLE:
        from mailrelay_cli.auth import google

        return google.access_token(settings, cfg)
    return microsoft.access_token(settings, cfg, force_refresh=force_refresh)


def login(
    settings: Settings,
    only: Role | None = None,
    *,
    show_code: Callable[[microsoft.DeviceCode], None],
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
            from mailrelay_cli.auth import google

            results.append(google.login(settings, role, port=port, show_url=show_url))
        elif cfg.flow == CLIENT_CREDENTIALS:
            results.append(microsoft.check_client_credentials(settings, role))
        else:
            results.append(microsoft.device_login(settings, role, show_code=show_code, wait=wait))
    return results
