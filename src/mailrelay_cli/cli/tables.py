"""Tables for people: rich on a terminal, plain aligned columns when piped.

Piped into a file, a pager or cron mail, a line ends with its last cell: no padding to a
terminal width that does not exist. On a terminal, the columns named in ``keep_whole``
(ids, Message-IDs, addresses, commands) are never wrapped or cut: the other columns give
way, so what a person copies is whole.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any


def plain_lines(columns: Sequence[str], rows: Iterable[Sequence[str]]) -> list[str]:
    """The table as lines: columns two spaces apart, the last cell unpadded."""
    table = [list(columns)] + [list(row) for row in rows]
    widths = [max(len(row[i]) for row in table) for i in range(len(columns))]
    lines = []
    for row in table:
        cells = [cell.ljust(width) for cell, width in zip(row[:-1], widths[:-1], strict=True)]
        lines.append("  ".join([*cells, row[-1]]).rstrip())
    return lines


def print_table(
    console: Any,
    columns: Sequence[str],
    rows: Iterable[Iterable[Any]],
    keep_whole: Sequence[str] = (),
    title: str | None = None,
) -> None:
    """Print ``rows`` under ``columns`` on ``console`` (see the module docstring)."""
    cells = [["" if cell is None else str(cell) for cell in row] for row in rows]
    if not console.is_terminal:
        if title:
            console.file.write(title + "\n")
        console.file.write("".join(line + "\n" for line in plain_lines(columns, cells)))
        console.file.flush()
        return
    from rich.markup import escape
    from rich.table import Table

    grid = Table(title=title, show_header=True, header_style="bold", box=None, pad_edge=False)
    for column in columns:
        whole = column in keep_whole
        grid.add_column(
            column,
            no_wrap=whole,
            overflow="fold" if not whole else "ellipsis",
            min_width=max((len(row[len(grid.columns)]) for row in cells), default=0) if whole else None,
        )
    for row in cells:
        grid.add_row(*(escape(cell) for cell in row))
    console.print(grid)
