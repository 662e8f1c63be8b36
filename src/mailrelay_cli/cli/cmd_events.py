"""``mailrelay events list|show EVENT``: the catalogue, its variables, a rendered sample."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from mailrelay_cli.cli import render
from mailrelay_cli.cli.common import AppContext, Group, json_option, pass_app
from mailrelay_cli.cli.completion import complete_event

if TYPE_CHECKING:
    from mailrelay_cli.outbound.events import Event
    from mailrelay_cli.outbound.templating import EventInfo


@click.group("events", cls=Group)
def events_group() -> None:
    """The events `mailrelay send` knows, their variables and a sample."""


@events_group.command("list")
@json_option
@pass_app
def list_(app: AppContext, as_json: bool) -> None:
    """Each event's name and what it announces."""
    from mailrelay_cli.outbound.events import catalogue

    events = list(catalogue(app.settings().notifications.templates_dir).values())
    render.emit(app, events, _print_list, quiet=_print_list)


def _print_list(events: list[Event]) -> None:
    width = max(len(event.name) for event in events)
    for event in events:
        render.plain(f"{event.name:<{width}}  {event.description}")


@events_group.command("show")
@click.argument("event", shell_complete=complete_event)
@json_option
@pass_app
def show(app: AppContext, event: str, as_json: bool) -> None:
    """EVENT's variables (required or not) and its templates rendered with sample values."""
    from mailrelay_cli.outbound.templating import describe_event

    settings = app.settings()
    info = describe_event(event, settings.notifications.templates_dir, settings)
    render.emit(app, info, _print_info, quiet=_print_info)


def _print_info(info: EventInfo) -> None:
    render.plain(f"{info.name}: {info.description}")
    render.plain(f"source: {info.source}; templates: {', '.join(info.templates)}")
    render.plain("")
    render.plain("variables:")
    width = max(len(v.name) for v in info.variables)
    for variable in info.variables:
        kind = "required" if variable.required else "optional"
        render.plain(f"  {variable.name:<{width}}  {kind}  {variable.description}".rstrip())
    render.plain("")
    render.plain(f"sample subject: {info.subject}")
    render.plain("")
    render.plain("sample text part:")
    render.plain(info.text.rstrip("\n"))
    if info.html is not None:
        render.plain("")
        render.plain("sample HTML part:")
        render.plain(info.html.rstrip("\n"))
