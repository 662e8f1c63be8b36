"""The login a protocol module performs: who, how, and the secret or token, fetched when needed.

``transport.smtp.login`` and ``transport.imap.login`` take a ``Login`` and read no
settings and no keyring; the use cases above them (outbound delivery, the reply
mailbox, ``mailrelay test``) call ``resolve_login`` (or ``resolve_session``: the
endpoint too, after checking the role's settings are complete) once per session.

The secret is a callable, not a value: SMTP asks the server which mechanisms it
offers before the password is read (a server offering no password mechanism is
69 whether or not a password is stored), and an OAuth token is fetched (maybe
refreshed over the network) only when the server offers XOAUTH2.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from mailrelay_cli.auth import credentials
from mailrelay_cli.config.completeness import require_complete
from mailrelay_cli.config.endpoints import Endpoint, endpoint_for
from mailrelay_cli.config.records import Role, Settings
from mailrelay_cli.errors import ConfigError

# none: no AUTH (SMTP only); password: AUTH PLAIN / LOGIN; xoauth2: a bearer token.
LoginKind = Literal["none", "password", "xoauth2"]


@dataclass(frozen=True)
class Login:
    """A resolved login for one role. ``repr`` shows no secret (it holds only callables)."""

    role: Role
    kind: LoginKind
    auth: str  # smtp.auth / imap.auth as configured, for messages ("basic", "google-oauth", …)
    user: str | None
    # The password (keyring or env) or a fresh access token; raises ConfigError / AuthError.
    secret: Callable[[], str] | None = None
    # Where the password came from (``env VAR``, ``keyring NAME``, ``unset``), for hints.
    secret_source: Callable[[], str] | None = None
    # A settings error that stops this login once a server is reached (no user, IMAP none).
    problem: ConfigError | None = None

    @property
    def secret_name(self) -> str:
        return f"{self.role}.password"

    def password_fix(self) -> str:
        """How to correct the password after a refusal, naming where it came from."""
        source = self.secret_source() if self.secret_source is not None else None
        return credentials.secret_fix(source, self.secret_name)


def resolve_login(settings: Settings, role: Role) -> Login:
    """``role``'s login from the settings: its user, mechanism and secret provider."""
    server = settings.smtp if role == "smtp" else settings.imap
    profile = settings.profile
    if server.auth == "none":
        problem = None
        if role == "imap":
            problem = ConfigError(
                f"imap.auth = none in {settings.path}: an IMAP mailbox always needs a login",
                hint="mailrelay config set imap.auth basic",
            )
        return Login(role, "none", server.auth, server.user, problem=problem)
    if not server.user:
        if role == "smtp":
            message = f"smtp.user is not set in {settings.path} (smtp.auth = {server.auth})"
        else:
            message = f"imap.user (or smtp.user) is not set in {settings.path}"
        missing = ConfigError(message, hint=f"mailrelay config set {role}.user USER")
    else:
        missing = None
    if server.auth == "basic":
        name = f"{role}.password"
        return Login(
            role,
            "password",
            server.auth,
            server.user,
            secret=lambda: credentials.require_secret(profile, name),
            secret_source=lambda: credentials.secret_source(profile, name),
            problem=missing,
        )

    def token() -> str:
        from mailrelay_cli.auth import oauth  # imports msal lazily

        return oauth.access_token(settings, role)

    return Login(role, "xoauth2", server.auth, server.user, secret=token, problem=missing)


def resolve_session(settings: Settings, role: Role) -> tuple[Endpoint, Login]:
    """What ``open_smtp`` / ``open_imap`` need: the endpoint and the login of ``role``, once
    its settings are known to be complete (78 naming the missing key before any connection)."""
    require_complete(settings, role)
    server = settings.smtp if role == "smtp" else settings.imap
    return endpoint_for(server), resolve_login(settings, role)


@dataclass(frozen=True)
class GraphLogin:
    """What a Microsoft Graph client needs for one role: the API root, a token provider
    (``force_refresh`` -> a bearer token), the CA to trust and the role's limits."""

    role: Role
    endpoint: str
    token: Callable[[bool], str]
    ca_file: Path | None
    timeout: float
    retry_for: float


def resolve_graph(settings: Settings, role: Role) -> GraphLogin:
    """``role``'s Graph login (``settings.graph_endpoint``, its OAuth token and CA file),
    after checking the role's settings are complete."""
    from mailrelay_cli.auth import oauth  # msal only when Graph is used

    require_complete(settings, role)
    server = settings.smtp if role == "smtp" else settings.imap

    def token(force: bool) -> str:
        return oauth.access_token(settings, role, force_refresh=force)

    return GraphLogin(
        role, settings.graph_endpoint, token, server.tls_ca_file, server.timeout, settings.smtp.retry_for
    )
