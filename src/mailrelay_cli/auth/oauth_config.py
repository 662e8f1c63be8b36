"""One role's OAuth settings, resolved: provider, flow, client, tenant, scopes and whose cache.

When IMAP has no client id of its own it shares SMTP's login and cache
(``settings.imap.oauth_inherited``); everything that asks "which login serves
this role" asks here.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from mailrelay_cli.auth import credentials
from mailrelay_cli.config import clouds
from mailrelay_cli.config.records import Role, ServerSettings, Settings
from mailrelay_cli.errors import ConfigError

MICROSOFT = "microsoft-oauth"
GOOGLE = "google-oauth"
PROVIDERS = (MICROSOFT, GOOGLE)
DEVICE_CODE = "device-code"
CLIENT_CREDENTIALS = "client-credentials"

MICROSOFT_LOGIN_HOST = clouds.GLOBAL.login
DEFAULT_TENANT = "organizations"
# The delegated permission each role needs, by API (the resource comes from the cloud):
# client credentials ask for RESOURCE/.default (the application permissions granted).
DELEGATED = {
    ("outlook", "smtp"): "SMTP.Send",
    ("outlook", "imap"): "IMAP.AccessAsUser.All",
    ("graph", "smtp"): "Mail.Send",
    ("graph", "imap"): "Mail.ReadWrite",
}
GOOGLE_SCOPES = ("https://mail.google.com/",)
# msal adds these itself and raises ValueError when a caller passes them.
_MSAL_RESERVED = frozenset({"openid", "profile", "offline_access"})


@dataclass(frozen=True)
class OAuthConfig:
    """One role's OAuth settings, resolved: which provider, client, scopes and cache."""

    role: Role  # the role asking: "smtp" or "imap"
    cache_role: Role  # whose login and cache it uses ("smtp" when IMAP shares SMTP's)
    provider: str
    flow: str
    client_id: str
    tenant_id: str
    scopes: tuple[str, ...]  # what this role's token needs
    login_scopes: tuple[str, ...]  # what a login for cache_role asks for (both roles when shared)
    user: str | None
    login_host: str = MICROSOFT_LOGIN_HOST  # smtp.authority / imap.authority, or the global cloud's
    api: str = "outlook"  # what the role's token is for: "outlook" (SMTP/IMAP) or "graph"
    client_certificate: Path | None = None  # client credentials with a certificate, not a secret

    @property
    def authority(self) -> str:
        return f"{self.login_host}/{self.tenant_id}"

    @property
    def known_authority(self) -> bool:
        """False for a login host Microsoft does not run: msal must not run instance discovery."""
        return clouds.is_known_authority(self.login_host)

    @property
    def login_hint(self) -> str:
        """The command that gets a person to log in for this cache."""
        return "mailrelay auth login" + (" --imap" if self.cache_role == "imap" else "")


def server(settings: Settings, role: Role) -> ServerSettings:
    """The ``[smtp]`` or ``[imap]`` settings of ``role``."""
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
        settings.imap.oauth_inherited and is_oauth(settings.imap) and settings.imap.auth == settings.smtp.auth
    )


def covers(settings: Settings, cache_role: Role) -> tuple[Role, ...]:
    """The roles a login for ``cache_role`` serves."""
    if cache_role == "smtp" and shares_smtp_login(settings):
        return ("smtp", "imap")
    return (cache_role,)


def api_of(settings: Settings, role: Role) -> str:
    """Which Microsoft API ``role`` talks to: "graph" (sendMail, the Graph mailbox) or "outlook"."""
    if role == "smtp" and settings.smtp.transport == "graph":
        return "graph"
    if role == "imap" and settings.approval.graph:
        return "graph"
    return "outlook"


def default_scopes(settings: Settings, role: Role, flow: str) -> tuple[str, ...]:
    """Microsoft's scopes for ``role``: its API's resource in the configured cloud."""
    role_server = server(settings, role)
    api = api_of(settings, role)
    if api == "graph":
        resource = clouds.graph_resource(settings.graph_endpoint, role_server.authority)
        if flow == CLIENT_CREDENTIALS:
            return (f"{resource}/.default",)
        if role == "smtp":  # a message over 4 MB goes through a draft: a mailbox item
            return (f"{resource}/Mail.Send", f"{resource}/Mail.ReadWrite")
        return (f"{resource}/{DELEGATED[(api, role)]}",)
    delegated, app = clouds.outlook_resources(role_server.authority)
    if flow == CLIENT_CREDENTIALS:
        return (f"{app}/.default",)
    return (f"{delegated}/{DELEGATED[(api, role)]}",)


def resource_of(scope: str) -> str:
    """``https://graph.microsoft.com`` of ``https://graph.microsoft.com/Mail.Send``."""
    head, sep, _ = scope.rpartition("/")
    return head if sep and head.startswith("https://") else ""


def _scopes_for(settings: Settings, server: ServerSettings, provider: str, flow: str) -> tuple[str, ...]:
    if server.scopes:
        scopes = server.scopes
    elif provider == GOOGLE:
        scopes = GOOGLE_SCOPES
    else:
        scopes = default_scopes(settings, server.role, flow)
    if provider == MICROSOFT:
        scopes = tuple(s for s in scopes if s not in _MSAL_RESERVED)
    return scopes


def resolve(settings: Settings, role: Role) -> OAuthConfig:
    """The OAuth settings of ``role``; ConfigError naming the key when something is missing."""
    role_server = server(settings, role)
    if not is_oauth(role_server):
        raise ConfigError(
            f"{role}.auth is {role_server.auth!r}, not microsoft-oauth or google-oauth",
            hint=f"mailrelay config set {role}.auth microsoft-oauth",
        )
    provider = role_server.auth
    shared = role == "imap" and shares_smtp_login(settings)
    cache_role = "smtp" if shared else role
    owner = server(settings, cache_role)
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
            f"{cache_role}.tenant_id must name your tenant for client-credentials, not {tenant!r}",
            hint=f"mailrelay config set {cache_role}.tenant_id contoso.onmicrosoft.com",
        )
    scopes = _scopes_for(settings, role_server, provider, flow)
    login_scopes = _scopes_for(settings, owner, provider, flow)
    if cache_role == "smtp" and shares_smtp_login(settings):
        extra = _scopes_for(settings, settings.imap, provider, flow)
        # One login gets a token for one API (resource): Entra refuses scopes of two in one
        # request. The other API's token comes later from the same refresh token.
        first = resource_of(login_scopes[0]) if login_scopes else ""
        login_scopes = tuple(dict.fromkeys(login_scopes + tuple(s for s in extra if resource_of(s) == first)))
    return OAuthConfig(
        role=role,
        cache_role=cache_role,
        provider=provider,
        flow=flow,
        client_id=owner.client_id,
        tenant_id=tenant,
        scopes=scopes,
        login_scopes=login_scopes,
        user=role_server.user,
        login_host=owner.authority or MICROSOFT_LOGIN_HOST,
        api=api_of(settings, role),
        client_certificate=owner.client_certificate,
    )


def client_secret(settings: Settings, cfg: OAuthConfig) -> str | None:
    """The client secret of ``cfg``'s app registration (keyring or environment), if any."""
    return credentials.get_secret(settings.profile, f"{cfg.cache_role}.client_secret")


def login_roles(settings: Settings, only: Role | None = None) -> list[Role]:
    """The caches ``auth login`` (or ``logout``) deals with: one per distinct login."""
    if only is not None:
        return [only]
    roles: list[Role] = []
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


def apis_of(scopes: tuple[str, ...]) -> tuple[str, ...]:
    """What a token with ``scopes`` can be used for, in words (``auth status``)."""
    found: list[str] = []
    for scope in scopes:
        resource = resource_of(scope)
        name = scope.rsplit("/", 1)[-1]
        graph = "graph" in resource
        if name == ".default":
            found.append(
                "Graph (application permissions)" if graph else "SMTP and IMAP (application permissions)"
            )
        elif graph and name == "Mail.Send":
            found.append("Graph sendMail")
        elif graph and name == "Mail.ReadWrite":
            found.append("Graph mailbox (read, delete, drafts)")
        elif name == "SMTP.Send":
            found.append("SMTP")
        elif name == "IMAP.AccessAsUser.All":
            found.append("IMAP")
        elif scope == "https://mail.google.com/":
            found.append("SMTP and IMAP (Gmail)")
    return tuple(dict.fromkeys(found))
