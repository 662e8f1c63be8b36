"""``mailrelay replies explain FILE.eml``: how one reply is read (logic in replies.explain)."""

from __future__ import annotations

from typing import Any

import click

from mailrelay_cli.cli import render
from mailrelay_cli.cli.common import AppContext, Group, json_option, pass_app


def _visible(text: str) -> str:
    """Mail text made inert for a terminal: control and format characters shown as escapes
    (every Unicode format character too, unlike render.inert: explaining is about seeing them)."""
    import unicodedata

    out = []
    for char in text:
        if char != "\n" and unicodedata.category(char) in ("Cc", "Cf", "Zl", "Zp"):
            out.append(f"\\x{ord(char):02x}" if ord(char) < 0x100 else f"\\u{ord(char):04x}")
        else:
            out.append(char)
    return "".join(out)


def _block(title: str, text: str) -> None:
    if not text:
        render.plain(f"{title}: (none)")
        return
    render.plain(f"{title}:")
    for line in text.split("\n"):
        render.plain(f"  | {_visible(line)}")


def _human(found: Any) -> None:
    render.plain(f"file:      {found.path}")
    if found.unreadable:
        render.plain(f"unreadable: {found.unreadable} (outcome unreadable; decides nothing)")
        return
    render.plain(f"from:      {_visible(found.sender or '?')}")
    render.plain(f"subject:   {_visible(found.subject or '')}")
    render.plain(f"reference: {found.reference_note}")
    if found.automatic:
        render.plain(f"automatic: {found.automatic} (decides nothing, whatever it says)")
    split = found.split
    if found.decision:
        render.plain(
            f"decision:  {found.decision} (line {found.decision_line}, the first line of the new text)"
        )
    else:
        render.plain("decision:  none (the first line of the new text has no decision word)")
    _block("comment", _visible(found.comment))
    if found.quote_start is not None:
        render.plain(f"quote:     starts at line {found.quote_start} ({split.quote_reason})")
    else:
        render.plain("quote:     none found (all of the text is new)")
    if split.notes:
        render.plain("steps:")
        for note in split.notes:
            render.plain(f"  line {note.line + 1}: {note.rule}: {_visible(note.detail)}")
    _block("new text", split.new_text)


@click.group("replies", cls=Group)
def replies_group() -> None:
    """Look at replies the way process-replies reads them."""


@replies_group.command("explain")
@click.argument("message", type=click.Path(dir_okay=False))
@click.option(
    "--no-store", is_flag=True, help="Do not read settings, signing key or state (no request fingerprint)."
)
@json_option
@pass_app
def explain_command(app: AppContext, message: str, no_store: bool, as_json: bool) -> None:
    """Show how one saved message (.eml) is split: new text, decision, comment, quote and why."""
    from pathlib import Path

    from mailrelay_cli.replies.explain import explain_file

    found = explain_file(None if no_store else app.settings(), Path(message))
    # Asked for by name, so -q does not hide it.
    render.emit(app, found, _human, quiet=_human)
