"""``mailrelay send --event EVENT``: render an event's templates and send them."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import click

from mailrelay_cli.cli import render
from mailrelay_cli.cli.common import AppContext, Duration, json_option, pass_app
from mailrelay_cli.cli.completion import complete_event
from mailrelay_cli.errors import DataError, ServerRefusedError, UsageError

if TYPE_CHECKING:
    from mailrelay_cli.approvals.options import ApprovalOptions
    from mailrelay_cli.config.records import Settings
    from mailrelay_cli.outbound.sending import SendResult


def _read_payload(source: str) -> dict:
    from mailrelay_cli.outbound.sending import parse_payload

    if source == "-":
        return parse_payload(sys.stdin.read(), "the payload on standard input")
    try:
        from pathlib import Path

        text = Path(source).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DataError(
            f"--payload {source} does not exist", hint="give a JSON file, or - to read it from standard input"
        ) from None
    except (OSError, UnicodeDecodeError) as e:
        raise DataError(
            f"--payload {source} cannot be read: {e}", hint="the payload is a UTF-8 JSON file"
        ) from e
    return parse_payload(text, f"payload {source}")


class _Parsed(click.ParamType):
    """A value ``parse`` reads; what it cannot read is a usage error (2). An empty value counts
    as not given, as it always has."""

    def __init__(self, name: str, parse: Callable[[str], Any], expected: str) -> None:
        self.name = name
        self.parse = parse
        self.expected = expected

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if not isinstance(value, str):
            return value
        if value == "":
            return None
        try:
            return self.parse(value)
        except ValueError:
            self.fail(f"{value!r} is not {self.expected}", param, ctx)


# Whether the count fits the approvers is the approval's to say.
_COUNT = _Parsed("integer", int, "a whole number")


def _retry_notices(app: AppContext, as_json: bool) -> Callable[[Any], None] | None:
    """A printer of each retry on stderr, on a terminal or with -v; none under -q (cron stays
    quiet until the final result) or --json without -v."""
    if app.quiet or not (app.verbose or (sys.stderr.isatty() and not as_json)):
        return None

    def notice(retry: Any) -> None:  # delivery.RetryNotice
        from datetime import datetime

        wait = f"{retry.wait:.0f}s" if retry.wait >= 1 else f"{retry.wait:.1f}s"
        until = datetime.fromtimestamp(retry.gives_up_at).strftime("%H:%M:%S")
        render.plain(
            f"mailrelay: retrying in {wait}: {retry.reason} (attempt {retry.attempt}, giving up at {until})",
            err=True,
        )

    return notice


def _approval_options(
    settings: Settings, event: str, expires_in: float | None, required: int | None, notify: tuple[str, ...]
) -> ApprovalOptions | None:
    """The approval flags as given, or None when none was; a usage error for an event that
    asks for no approval."""
    given = [
        flag
        for flag, value in (("--expires-in", expires_in), ("--required", required), ("--notify", notify))
        if value not in (None, ())
    ]
    if not given:
        return None
    from mailrelay_cli.approvals.options import ApprovalOptions
    from mailrelay_cli.outbound.events import get_event

    if not get_event(event, settings.notifications.templates_dir).asks_approval:
        raise UsageError(f"{given[0]} does not apply to event {event}", hint=f"mailrelay events show {event}")
    return ApprovalOptions(1 if required is None else required, expires_in, notify)


def _print_sent(result: SendResult) -> None:
    sent = f"sent {result.event} to {', '.join(result.recipients)} (Message-ID {result.message_id})"
    if result.dry_run:
        render.plain(result.mime or "")
    elif result.approval_id is None:
        render.plain(sent)
    else:
        render.plain(f"{sent}; approval id:", err=True)
        render.plain(result.approval_id)


def _print_quiet(result: SendResult) -> None:
    """What -q still prints: a dry run's message, and an approval's id (stdout is the id alone,
    so that `id=$(mailrelay send --event approval-requested …)` works)."""
    if result.dry_run:
        render.plain(result.mime or "")
    elif result.approval_id is not None:
        render.plain(result.approval_id)


@click.command("send")
@click.option(
    "--event",
    "event",
    required=True,
    metavar="EVENT",
    shell_complete=complete_event,
    help="Event to send (see `mailrelay events list`).",
)
@click.option(
    "--to",
    "to",
    multiple=True,
    metavar="ADDR",
    help="Recipient (repeat; default: events.EVENT.to in the settings).",
)
@click.option(
    "--cc", "cc", multiple=True, metavar="ADDR", help="Cc recipient (repeat; default: events.EVENT.cc)."
)
@click.option(
    "--var",
    "variables",
    multiple=True,
    metavar="KEY=VALUE",
    help="Template variable (repeat); wins over the payload.",
)
@click.option(
    "--payload", metavar="FILE|-", help="JSON object of variables and logs metadata; - reads standard input."
)
# --log/--failed-log are plain strings: a bad path is bad data (65, checked in attachments
# before anything is sent), not a usage error (2) as click.Path would make it.
@click.option(
    "--log", "logs", multiple=True, metavar="PATH", help="Log to attach as the policy says (repeat)."
)
@click.option(
    "--failed-log",
    "failed_logs",
    multiple=True,
    metavar="PATH",
    help="Log of a failed step (repeat); on-failure attaches only these.",
)
@click.option("--subject", metavar="TEXT", help="Subject instead of the template's.")
@click.option("--dry-run", is_flag=True, help="Print the MIME message; contact no server.")
@click.option(
    "--allow-partial", is_flag=True, help="Exit 0 when some recipients were refused but others accepted."
)
@click.option(
    "--expires-in",
    type=Duration(empty_unset=True),
    metavar="DURATION",
    help="approval-requested: approval lifetime.",
)
@click.option(
    "--required", "required", type=_COUNT, metavar="N", help="approval-requested: approvals needed."
)
@click.option(
    "--notify", multiple=True, metavar="ADDR", help="approval-requested: who hears of the decision (repeat)."
)
@json_option
@pass_app
def send_command(
    app: AppContext,
    event: str,
    to: tuple[str, ...],
    cc: tuple[str, ...],
    variables: tuple[str, ...],
    payload: str | None,
    logs: tuple[str, ...],
    failed_logs: tuple[str, ...],
    subject: str | None,
    dry_run: bool,
    allow_partial: bool,
    expires_in: float | None,
    required: int | None,
    notify: tuple[str, ...],
    as_json: bool,
) -> None:
    """Render EVENT's templates and send them to --to/--cc (or the event's configured recipients).

    Logs (--log, --failed-log, or the payload's "logs" list) are attached as
    notifications.attach_logs says. Exit 65 for bad input, 69 when the server
    refuses, 75 when it stays unreachable for smtp.retry_for.
    """
    from pathlib import Path

    from mailrelay_cli.outbound.sending import SendRequest, parse_vars, send

    parsed_vars = parse_vars(variables)
    parsed_payload = _read_payload(payload) if payload is not None else None
    settings = app.settings()
    request = SendRequest(
        event=event,
        to=to,
        cc=cc,
        variables=parsed_vars,
        payload=parsed_payload,
        logs=tuple(map(Path, logs)),
        failed_logs=tuple(map(Path, failed_logs)),
        subject=subject,
        dry_run=dry_run,
        approval=_approval_options(settings, event, expires_in, required, notify),
    )
    result = send(settings, request, on_retry=_retry_notices(app, as_json))
    render.emit(app, result, _print_sent, quiet=_print_quiet)
    for log, reason in () if app.quiet else result.skipped_logs:
        note = f"{log} not attached: {reason}"
        render.aside(app, f"note: {note}", note=note)
    for log in result.cut_logs:
        note = f"{log} is larger than notifications.max_attachment_mb; only its last part is attached"
        render.aside(app, f"note: {note}", note=note)
    if result.refused:
        if not as_json:
            for address, code, reply in result.refused:
                render.plain(f"refused: {address}: {code} {reply}", err=True)
        if not allow_partial:
            raise ServerRefusedError(
                f"the server refused {len(result.refused)} of "
                f"{len(result.refused) + len(result.recipients)} recipients: "
                + ", ".join(address for address, _, _ in result.refused),
                hint="fix those addresses, or pass --allow-partial to accept a partial delivery",
            )
