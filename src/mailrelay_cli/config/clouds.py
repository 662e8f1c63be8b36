"""Microsoft's clouds: which login host, Graph host and Exchange host belong together.

``smtp.authority`` / ``imap.authority`` (the login host) and ``graph.endpoint``
select a cloud. A known host names its cloud (global, US Government, China);
any other https host is a company's own gateway or proxy and belongs to no
cloud: it is used as given (msal skips Microsoft's instance discovery for it).
Two known hosts of different clouds in one settings file can never work
together, so loading refuses them (``check_same_cloud``).
"""

from __future__ import annotations

from typing import NamedTuple
from urllib.parse import urlsplit

from mailrelay_cli.errors import ConfigError


class Cloud(NamedTuple):
    name: str
    login: str  # the authority host, https://…
    graph: str  # Graph's endpoint and the resource of its scopes
    outlook_delegated: str  # the resource of SMTP.Send / IMAP.AccessAsUser.All
    outlook_app: str  # the resource of .default for client credentials
    login_hosts: tuple[str, ...]
    graph_hosts: tuple[str, ...]


GLOBAL = Cloud(
    "global",
    "https://login.microsoftonline.com",
    "https://graph.microsoft.com",
    "https://outlook.office.com",
    "https://outlook.office365.com",
    ("login.microsoftonline.com", "login.microsoft.com", "login.windows.net"),
    ("graph.microsoft.com",),
)
US_GOVERNMENT = Cloud(
    "US Government",
    "https://login.microsoftonline.us",
    "https://graph.microsoft.us",
    "https://outlook.office365.us",
    "https://outlook.office365.us",
    ("login.microsoftonline.us", "login.usgovcloudapi.net"),
    ("graph.microsoft.us", "dod-graph.microsoft.us"),
)
CHINA = Cloud(
    "China (21Vianet)",
    "https://login.chinacloudapi.cn",
    "https://microsoftgraph.chinacloudapi.cn",
    "https://partner.outlook.cn",
    "https://partner.outlook.cn",
    ("login.chinacloudapi.cn", "login.partner.microsoftonline.cn"),
    ("microsoftgraph.chinacloudapi.cn",),
)
CLOUDS = (GLOBAL, US_GOVERNMENT, CHINA)


def host_of(url: str) -> str:
    return (urlsplit(url).hostname or "").lower()


def check_https(url: str, key: str, where: str) -> str:
    """``url`` without a trailing slash; ConfigError unless it is an https URL with a host."""
    parts = urlsplit(url.strip())
    if parts.scheme != "https" or not parts.hostname:
        raise ConfigError(
            f"{where}: {key} must be an https URL such as https://login.microsoftonline.us, not {url!r}",
            hint=f"mailrelay config set {key} https://HOST",
        )
    return url.strip().rstrip("/")


def cloud_of_login(url: str | None) -> Cloud | None:
    """The cloud of an authority URL (None: a host Microsoft does not run)."""
    if not url:
        return GLOBAL
    host = host_of(url)
    return next((c for c in CLOUDS if host in c.login_hosts), None)


def cloud_of_graph(url: str) -> Cloud | None:
    host = host_of(url)
    return next((c for c in CLOUDS if host in c.graph_hosts), None)


def is_known_authority(url: str | None) -> bool:
    """Whether msal may run Microsoft's instance discovery for this authority."""
    return cloud_of_login(url) is not None


def default_graph_endpoint(authority: str | None) -> str:
    """``graph.endpoint`` when unset: the Graph of the login host's cloud (global otherwise)."""
    return (cloud_of_login(authority) or GLOBAL).graph


def graph_resource(graph_endpoint: str, authority: str | None) -> str:
    """What Graph scopes are written against: the endpoint's cloud, else the login's, else global.

    A proxy or stand-in endpoint still needs tokens for the real Graph of its cloud.
    """
    cloud = cloud_of_graph(graph_endpoint) or cloud_of_login(authority) or GLOBAL
    return cloud.graph


def outlook_resources(authority: str | None) -> tuple[str, str]:
    """(delegated, application) resource of the SMTP/IMAP scopes in the login host's cloud."""
    cloud = cloud_of_login(authority) or GLOBAL
    return cloud.outlook_delegated, cloud.outlook_app


def check_same_cloud(named: dict[str, str | None], where: str) -> None:
    """ConfigError when two of ``named`` (key -> URL) are hosts of different Microsoft clouds."""
    seen: dict[str, tuple[str, str]] = {}
    for key, url in named.items():
        if not url:
            continue
        cloud = cloud_of_graph(url) if key == "graph.endpoint" else cloud_of_login(url)
        if cloud is None:
            continue
        seen.setdefault(cloud.name, (key, url))
    if len(seen) > 1:
        described = "; ".join(f"{key} = {url} ({name})" for name, (key, url) in seen.items())
        raise ConfigError(
            f"{where}: Microsoft cloud settings mix clouds: {described}",
            hint="set smtp.authority, imap.authority and graph.endpoint for one cloud "
            "(see `man mailrelay`, National clouds)",
        )
