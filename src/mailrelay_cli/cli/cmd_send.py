"""``mailrelay send --event EVENT``: render an event's templates and send them."""

from __future__ import annotations

import sys

import click

from mailrelay_cli.cli import render
from mailrelay_cli.cli.common import AppContext, json_option, pass_app
from mailrelay_cli.errors import DataError, ServerRefusedError


def _read_payload(source: str) -> dict:
    from mailrelay_cli.outbound.sending import parse_payload

    if source == "-":
        return parse_payload(sys.stdin.read(), "the payload on standard input")
    try:
        from pathlib import Path

        text = Path(source).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DataError(f"--payload {source} does not exist",
                        hint="give a JSON file, or - to read it from standard input") from None
    except (OSError, UnicodeDecodeError) as e:
        raise DataError(f"--payload {source} cannot be read: {e}",
                        hint="the payload is a UTF-8 JSON file") from e
    return parse_payload(text, f"payload {source}")


@click.command("send")
@click.option("--event", "event", required=True, metavar="EVENT",
              help="Event to send (see `mailrelay events list`).")
@click.option("--to", "to", multiple=True, metavar="ADDR",
              help="Recipient (repeat; default: events.EVENT.to in the settings).")
@click.option("--cc", "cc", multiple=True, metavar="ADDR",
              help="Cc recipient (repeat; default: events.EVENT.cc).")
@click.option("--var", "variables", multiple=True, metavar="KEY=VALUE",
              help="Template variable (repeat); wins over the payload.")
@click.option("--payload", metavar="FILE|-",
              help="JSON object of variables and logs metadata; - reads standard input.")
# --log/--failed-log are plain strings: a bad path is bad data (65, checked in attachments
# before anything is sent), not a usage error (2) as click.Path would make it.
@click.option("--log", "logs", multiple=True, metavar="PATH",
              help="Log to attach as the policy says (repeat).")
@click.option("--failed-log", "failed_logs", multiple=True, metavar="PATH",
              help="Log of a failed step (repeat); on-failure attaches only these.")
@click.option("--subject", metavar="TEXT", help="Subject instead of the template's.")
@click.option("--dry-run", is_flag=True, help="Print the MIME message; contact no server.")
@click.option("--allow-partial", is_flag=True,
              help="Exit 0 when some recipients were refused but others accepted.")
@click.option("--expires-in", metavar="DURATION", help="approval-requested: approval lifetime.")
@click.option("--required", "required", metavar="N", help="approval-requested: approvals needed.")
@click.option("--notify", multiple=True, metavar="ADDR",
              help="approval-requested: who hears of the decision (repeat).")
@json_option
@pass_app
def send_command(app: AppContext, event: str, to: tuple[str, ...], cc: tuple[str, ...],
                 variables: tuple[str, ...], payload: str | None, logs: tuple[str, ...],
                 failed_logs: tuple[str, ...], subject: str | None, dry_run: bool,
                 allow_partial: bool, expires_in: str | None, required: str | None,
                 notify: tuple[str, ...], as_json: bool) -> None:
    """Render EVENT's templates and send them to --to/--cc (or the event's configured recipients).

    Logs (--log, --failed-log, or the payload's "logs" list) are attached as
    notifications.attach_logs says. Exit 65 for bad input, 69 when the server
    refuses, 75 when it stays unreachable for smtp.retry_for.
    """
    from pathlib import Path

    from mailrelay_cli.outbound.sending import SendRequest, parse_vars, send

    request = SendRequest(
        event=event,
        to=to,
        cc=cc,
        variables=parse_vars(variables),
        payload=_read_payload(payload) if payload is not None else None,
        logs=tuple(map(Path, logs)),
        failed_logs=tuple(map(Path, failed_logs)),
        subject=subject,
        dry_run=dry_run,
        options={"expires_in": expires_in, "required": required, "notify": notify},
    )
    result = send(app.settings(), request)
    if as_json:
        render.json_line(result.json())
    elif result.dry_run:
        render.plain(result.mime or "")
    elif result.approval_id is not None:
        # stdout is the id alone, so that `id=$(mailrelay send --event approval-requested …)` works
        if not app.quiet:
            render.plain(f"sent {result.event} to {', '.join(result.recipients)} "
                         f"(Message-ID {result.message_id}); approval id:", err=True)
        render.plain(result.approval_id)
    elif not app.quiet:
        render.plain(f"sent {result.event} to {', '.join(result.recipients)} "
                     f"(Message-ID {result.message_id})")
    for log in result.cut_logs:
        render.plain(f"note: {log} is larger than notifications.max_attachment_mb; "
                     "only its last part is attached", err=True)
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
