"""``mailrelay auth login|status|logout``: OAuth logins and where they stand."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import click

from mailrelay_cli.cli import render
from mailrelay_cli.cli.common import AppContext, Group, json_option, pass_app

if TYPE_CHECKING:
    from datetime import datetime

    from mailrelay_cli.auth.login_result import LoginResult
    from mailrelay_cli.auth.token_status import LogoutResult, TokenStatus
    from mailrelay_cli.config.records import Role

_ROLE_OPTIONS = [
    click.option("--smtp", "only", flag_value="smtp", help="Only SMTP's login."),
    click.option("--imap", "only", flag_value="imap", help="Only IMAP's own login."),
]


def _role_options(func: Any) -> Any:
    for option in reversed(_ROLE_OPTIONS):
        func = option(func)
    return func


@click.group("auth", cls=Group)
def auth_group() -> None:
    """OAuth logins for SMTP and IMAP (microsoft-oauth, google-oauth)."""


class _Countdown:
    """The wait between device-code polls, with the time left on screen when there is one."""

    def __init__(self) -> None:
        self._status: Any = None
        self._console = render.console(stderr=True)
        self._said = False

    def __enter__(self) -> _Countdown:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._status is not None:
            self._status.stop()

    def wait(self, seconds: float, expires_at: float) -> None:
        from mailrelay_cli.durations import format_duration

        if not self._console.is_terminal:
            if not self._said:
                render.plain(
                    f"waiting for the sign-in (the code expires in "
                    f"{format_duration(expires_at - time.time())})",
                    err=True,
                )
                self._said = True
            time.sleep(seconds)
            return
        if self._status is None:
            self._status = self._console.status("")
            self._status.start()
        end = time.monotonic() + seconds
        while (left := end - time.monotonic()) > 0:
            remaining = max(0.0, expires_at - time.time())
            self._status.update(
                f"waiting for the sign-in; the code expires in {format_duration(remaining)} (Ctrl-C cancels)"
            )
            time.sleep(min(1.0, left))


def _show_code(code: Any) -> None:
    from rich.markup import escape
    from rich.panel import Panel

    text = (
        f"Open [bold]{escape(code.verification_uri)}[/bold] in any browser\n"
        f"and enter the code [bold]{escape(code.user_code)}[/bold]"
    )
    render.console().print(Panel(text, title="Microsoft sign-in", expand=False))


def _show_url(prompt: Any) -> None:
    render.plain("Open this URL in a browser and allow access:")
    render.plain("")
    render.plain(prompt.url)
    render.plain("")
    render.plain(
        f"Google sends the browser back to {prompt.redirect_uri} on this machine. "
        "On a headless server, forward that port from your desktop first:"
    )
    render.plain(f"  {prompt.ssh_hint}")
    render.plain("waiting for the redirect (Ctrl-C cancels)", err=True)


def _when(moment: datetime | None) -> str:
    if moment is None:
        return "none held"
    from datetime import UTC, datetime

    from mailrelay_cli.durations import format_duration

    left = (moment - datetime.now(UTC)).total_seconds()
    relative = f"in {format_duration(left)}" if left > 0 else f"expired {format_duration(-left)} ago"
    return f"{moment.strftime('%Y-%m-%d %H:%M:%S')} UTC ({relative})"


@auth_group.command("login")
@_role_options
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=0,
    show_default=True,
    help="google-oauth: the loopback port for the redirect (0: any free port).",
)
@pass_app
def login(app: AppContext, only: Role | None, port: int) -> None:
    """Sign in once so cron can get tokens: device code (Microsoft) or browser (Google)."""
    from mailrelay_cli.auth import oauth

    with _Countdown() as countdown:
        results = oauth.login(
            app.settings(), only, show_code=_show_code, wait=countdown.wait, show_url=_show_url, port=port
        )
    render.emit(
        app,
        results,
        lambda results: _print_logins(results, quiet=False),
        quiet=lambda results: _print_logins(results, quiet=True),
    )


def _print_logins(results: list[LoginResult], *, quiet: bool) -> None:
    """Each login's note (on stderr, even under -q), then what it is ready for."""
    for result in results:
        if result.note:
            render.plain(f"note: {result.note}", err=True)
        if quiet:
            continue
        served = " and ".join(role.upper() for role in result.covers)
        who = result.account or "the app"
        render.plain(
            f"{served}: {result.provider} ({result.flow}) ready for {who}; token cache in {result.stored_in}"
        )


@auth_group.command("status")
@json_option
@pass_app
def status(app: AppContext, as_json: bool) -> None:
    """Account, provider, flow, scopes, token expiry and refresh token, for SMTP and IMAP."""
    from mailrelay_cli.auth import oauth

    rows = oauth.status(app.settings())
    render.emit(app, rows, _print_status, quiet=_print_status)


def _print_status(rows: list[TokenStatus]) -> None:
    for row in rows:
        if row.flow is None:
            render.plain(f"{row.role}: {row.note}")
            continue
        head = f"{row.role}: {row.provider} ({row.flow})"
        if not row.configured:
            render.plain(f"{head} - not configured")
            render.plain(f"  {row.note}")
            continue
        if row.shares_smtp_login:
            head += " - shares SMTP's login"
        render.plain(head)
        render.plain(f"  account:       {row.account or '-'}")
        render.plain(f"  scopes:        {' '.join(row.scopes) or '-'}")
        render.plain(f"  covers:        {', '.join(row.apis) or '-'}")
        render.plain(f"  access token:  {_when(row.access_token_expires_at)}")
        render.plain(f"  refresh token: {'held' if row.refresh_token else 'none'}")
        render.plain(f"  stored in:     {row.stored_in or 'nothing stored'}")
        if row.note and not row.shares_smtp_login:
            render.plain(f"  {row.note}")


@auth_group.command("logout")
@_role_options
@pass_app
def logout(app: AppContext, only: Role | None) -> None:
    """Remove the stored tokens (both, or one role's); the next use needs auth login."""
    from mailrelay_cli.auth import oauth

    results = oauth.logout(app.settings(), only)
    render.emit(
        app,
        results,
        lambda results: _print_logouts(results, quiet=False),
        quiet=lambda results: _print_logouts(results, quiet=True),
    )


def _print_logouts(results: list[LogoutResult], *, quiet: bool) -> None:
    """What each role's logout did; -q leaves out only "nothing was stored"."""
    for result in results:
        if result.note:
            render.plain(f"{result.role}: {result.note}")
        elif result.removed:
            render.plain(f"{result.role}: removed the token cache ({result.where})")
        elif not quiet:
            render.plain(f"{result.role}: nothing was stored")
