"""Everything mailrelay prints: human output through rich, or JSON lines for scripts.

A command hands its result to ``emit``, which picks the form: the result's
``to_json()`` as JSON lines under ``--json``, the command's ``human`` printer
otherwise, and under ``-q`` only what the command says must still show.
rich is imported on first use so that commands which print little start fast.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from functools import lru_cache
from typing import TYPE_CHECKING, Any, cast

from mailrelay_cli.errors import ExitCode, MailrelayError

if TYPE_CHECKING:  # types only: every command imports this module, --help included
    from typing import Protocol, TypeVar

    class OutputMode(Protocol):
        """The global options that choose a form (``common.AppContext``): --json and -q."""

        json: bool
        quiet: bool

    class JsonResult(Protocol):
        """What every result a command returns can do: be one DESIGN.md JSON object."""

        def to_json(self) -> dict[str, Any]: ...

    R = TypeVar("R", bound="JsonResult | Sequence[JsonResult]")


def emit(
    app: OutputMode,
    result: R,
    human: Callable[[R], None] | None = None,
    *,
    quiet: Callable[[R], None] | None = None,
) -> None:
    """Print ``result`` the one way this invocation asks for.

    ``--json``: the result's line, or one line per result of a list or tuple of them
    (a report of several lines passes its parts in order, e.g. each message then the summary).
    ``-q``: ``quiet(result)`` when the command has something that must show anyway (an
    approval id, a failed check), else nothing. Otherwise ``human(result)``.
    """
    if app.json:
        for item in _results(result):
            json_line(item.to_json())
    elif app.quiet:
        if quiet is not None:
            quiet(result)
    elif human is not None:
        human(result)


@lru_cache(maxsize=2)
def console(stderr: bool = False) -> Any:
    from rich.console import Console

    stream = sys.stderr if stderr else sys.stdout
    # Piped into a log or cron mail there is no terminal width to honour: never cut a
    # table cell (rich would assume 80 columns and truncate "where it came from").
    width = None if stream.isatty() else 1000
    return Console(file=stream, highlight=False, soft_wrap=True, width=width)


def reset_consoles() -> None:
    """Forget cached consoles (CliRunner swaps sys.stdout between invocations)."""
    console.cache_clear()


def _results(result: JsonResult | Sequence[JsonResult]) -> Iterable[JsonResult]:
    if isinstance(result, list | tuple) and not hasattr(result, "to_json"):
        return result  # a NamedTuple result is a tuple too, but it is one line
    return (cast("JsonResult", result),)


def json_line(obj: Mapping[str, Any], stream: Any = None) -> None:
    """One JSON object on one line (DESIGN.md: stable keys, one object per line)."""
    import json  # only scripts ask for JSON; people's output should not pay for it

    stream = stream or sys.stdout
    text = json.dumps(obj, ensure_ascii=False, default=str)
    # json escapes C0 controls itself; C1 controls, line separators and bidi overrides from
    # mail are written as \uXXXX too (the same JSON value, inert in a terminal).
    text = _UNSAFE.sub(lambda found: f"\\u{ord(found.group()):04x}", text)
    stream.write(text + "\n")
    stream.flush()


# What a terminal would act on rather than show: C0 controls but tab and newline (ESC starts
# screen clears and cursor moves, CR overwrites a line), DEL, C1 controls (U+009B is a CSI
# on its own), line and paragraph separators, and the bidirectional overrides and isolates
# that reorder what is shown.
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def _visible(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def inert(text: str) -> str:
    """``text`` with every character a terminal would interpret shown as an escape
    (``\\x1b``, ``\\u202e``): text from mail (subjects, names, comments) can never clear the
    screen, move the cursor or fake a line of output. Tabs and newlines are kept."""
    return _UNSAFE.sub(_visible, text)


def aside(app: OutputMode, line: str, **fields: str) -> None:
    """A warning or note beside the result, on stderr: ``line`` for people, or under --json one
    JSON object of ``fields`` (``{"warning": …}``), so a script reading stderr reads only JSON."""
    if app.json:
        json_line(fields, sys.stderr)
    else:
        plain(line, err=True)


def plain(text: str = "", *, err: bool = False) -> None:
    """Write plain text without rich markup processing, control characters made visible."""
    stream = sys.stderr if err else sys.stdout
    stream.write(inert(text) + "\n")
    stream.flush()


def error(err: MailrelayError, *, as_json: bool, verbose: bool) -> None:
    """The one place a failure is printed: one line of what, one of what to do."""
    if verbose and err.__cause__ is not None:
        import traceback

        traceback.print_exception(err.__cause__, file=sys.stderr)
    if as_json:
        json_line(
            {"error": err.message, "hint": err.hint, "exit_code": int(err.exit_code)},
            sys.stderr,
        )
        return
    plain(f"mailrelay: error: {err.message}", err=True)
    if err.hint:
        plain(f"hint: {err.hint}", err=True)


def internal_error(exc: BaseException, *, as_json: bool, verbose: bool) -> None:
    if verbose:
        import traceback

        traceback.print_exception(exc, file=sys.stderr)
    message = f"internal error: {type(exc).__name__}: {exc}"
    hint = "this is a bug in mailrelay; run again with -v and report the traceback"
    if as_json:
        json_line({"error": message, "hint": hint, "exit_code": int(ExitCode.SOFTWARE)}, sys.stderr)
    else:
        plain(f"mailrelay: {message}", err=True)
        plain(f"hint: {hint}", err=True)


def table(
    title: str | None, columns: list[str], rows: Iterable[Iterable[Any]], keep_whole: tuple[str, ...] = ()
) -> None:
    """A table: rich on a terminal (``keep_whole`` columns never wrapped), plain columns when
    piped; cells are text, never rich markup, control characters made visible."""
    from mailrelay_cli.cli.tables import print_table

    cells = [["" if cell is None else inert(str(cell)) for cell in row] for row in rows]
    print_table(console(), columns, cells, keep_whole, title)


def checklist_line(ok: bool | None, name: str, detail: str = "", hint: str | None = None) -> None:
    """One step of a checklist: a green tick, a red cross, or a grey dash for skipped."""
    from rich.markup import escape

    mark = "[green]✓[/green]" if ok else ("[red]✗[/red]" if ok is False else "[dim]-[/dim]")
    line = f"{mark} {escape(inert(name))}"
    if detail:
        line += f": {escape(inert(detail))}"
    console().print(line)
    if hint and ok is False:
        console().print(f"    [yellow]hint:[/yellow] {escape(inert(hint))}")
