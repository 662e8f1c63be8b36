"""``mailrelay test``: a checklist proving the SMTP and IMAP settings work."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from mailrelay_cli.cli import render
from mailrelay_cli.cli.common import AppContext, json_option, pass_app, warn_unsafe_imap
from mailrelay_cli.errors import exit_code_for

if TYPE_CHECKING:
    from mailrelay_cli.reports.diagnostics import CheckReport


@click.command("test")
@click.option("--to", "to", metavar="ADDR", help="Recipient of the test message (default: test.to).")
@click.option("--smtp-only", is_flag=True, help="Check sending only.")
@click.option("--imap-only", is_flag=True, help="Check the reply mailbox only (sends nothing).")
@click.option(
    "--transcript",
    "with_transcript",
    is_flag=True,
    help="Print the protocol dialogue after the checklist, secrets redacted.",
)
@json_option
@pass_app
def test_command(
    app: AppContext, to: str | None, smtp_only: bool, imap_only: bool, with_transcript: bool, as_json: bool
) -> None:
    """Send a test message, then open the IMAP reply folder, reporting every step.

    The IMAP check runs when approval.enabled is true or with --imap-only. The exit
    code is that of the first failed step (78 settings or certificate, 69 refused or
    no STARTTLS, 77 login, 75 network).
    """
    from mailrelay_cli.reports import diagnostics

    if not smtp_only:
        warn_unsafe_imap(app)
    report = diagnostics.run(
        app.settings(), to=to, smtp_only=smtp_only, imap_only=imap_only, with_transcript=with_transcript
    )
    render.emit(
        app,
        report.parts(),
        human=lambda _: _checklist(report),
        quiet=lambda _: None if report.ok else _checklist(report),
    )
    if not report.ok:
        click.get_current_context().exit(int(exit_code_for(report.failure)))


def _checklist(report: CheckReport) -> None:
    for step in report.steps:
        render.checklist_line(step.ok, step.name, step.detail, step.hint)
    if report.transcript is not None:
        render.plain()
        render.plain(report.transcript)
