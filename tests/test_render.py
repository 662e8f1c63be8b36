"""cli.render.emit: the one place a result becomes text, JSON lines, or nothing."""

from __future__ import annotations

import json
from typing import Any, NamedTuple

import pytest

from mailrelay_cli.cli import render
from mailrelay_cli.cli.common import AppContext


class Row(NamedTuple):
    name: str

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name}


def human(result: Any) -> None:
    render.plain(f"human {result!r}")


def test_json_prints_a_result_as_one_line_even_when_it_is_a_named_tuple(capsys) -> None:
    render.emit(AppContext(json=True), Row("a"), human)
    assert capsys.readouterr().out == '{"name": "a"}\n'


def test_json_prints_a_list_of_results_one_line_each_in_order(capsys) -> None:
    render.emit(AppContext(json=True), [Row("a"), Row("b")], human)
    assert [json.loads(line) for line in capsys.readouterr().out.splitlines()] == [
        {"name": "a"},
        {"name": "b"},
    ]


def test_json_wins_over_quiet(capsys) -> None:
    render.emit(AppContext(json=True, quiet=True), Row("a"), human)
    assert capsys.readouterr().out == '{"name": "a"}\n'


def test_quiet_prints_nothing_unless_the_command_says_what_must_show(capsys) -> None:
    render.emit(AppContext(quiet=True), Row("a"), human)
    assert capsys.readouterr() == ("", "")


def test_quiet_prints_what_the_command_keeps(capsys) -> None:
    render.emit(AppContext(quiet=True), Row("a"), human, quiet=lambda r: render.plain(r.name))
    assert capsys.readouterr().out == "a\n"


def test_otherwise_the_human_printer_gets_the_result(capsys) -> None:
    render.emit(AppContext(), Row("a"), human)
    assert capsys.readouterr().out == "human Row(name='a')\n"


@pytest.mark.parametrize("result", [object(), [object()]])
def test_something_without_to_json_is_a_bug(result: Any) -> None:
    with pytest.raises(AttributeError):
        render.emit(AppContext(json=True), result, human)
