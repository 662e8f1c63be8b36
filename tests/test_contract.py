"""Contract tests: docs and behaviour do not drift apart, and start-up stays light."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import click
import pytest

from mailrelay_cli.cli import COMMANDS, cli

ROOT = Path(__file__).resolve().parent.parent
MAN = (ROOT / "man" / "mailrelay.1").read_text().replace("\\-", "-")
README = (ROOT / "README.md").read_text()
HEAVY = ("msal", "keyring", "jinja2", "rich", "aiosmtpd", "sqlite3")


def _all_commands() -> list[tuple[str, click.Command]]:
    found = []
    ctx = click.Context(cli)
    for name in COMMANDS:
        command = cli.get_command(ctx, name)
        assert command is not None, name
        found.append((name, command))
        if isinstance(command, click.Group):
            for sub in command.list_commands(ctx):
                found.append((f"{name} {sub}", command.get_command(ctx, sub)))
    return found


@pytest.mark.parametrize("name", list(COMMANDS))
def test_every_command_has_help(run_cli, name: str) -> None:
    result = run_cli(*name.split(), "--help")
    assert result.exit_code == 0
    assert "Usage:" in result.stdout


@pytest.mark.parametrize("name,command", _all_commands(), ids=lambda v: v if isinstance(v, str) else "")
def test_every_command_has_a_docstring(name: str, command: click.Command) -> None:
    assert command.help, f"mailrelay {name} has no help text"


@pytest.mark.parametrize("name", list(COMMANDS))
def test_every_command_is_in_the_man_page(name: str) -> None:
    assert re.search(rf'^\.SS "mailrelay {re.escape(name)}\b', MAN, re.MULTILINE), name


@pytest.mark.parametrize("name", list(COMMANDS))
def test_every_command_is_in_the_readme(name: str) -> None:
    assert f"mailrelay {name}" in README, name


def test_readme_starts_with_the_two_setup_commands() -> None:
    block = README.split("```", 2)[1]
    lines = [line.split("#")[0].strip() for line in block.splitlines()[1:] if line.strip()]
    assert lines == ["make demo", "make test"]


def _modules_after(code: str) -> set[str]:
    out = subprocess.run([sys.executable, "-c", code + "\nimport sys, json\n"
                          "print(json.dumps(sorted(sys.modules)))"],
                         capture_output=True, text=True, check=True)
    return set(json.loads(out.stdout.splitlines()[-1]))


def test_help_imports_no_heavy_module() -> None:
    code = ("import sys\nfrom mailrelay_cli.cli import cli\n"
            "try:\n    cli.main(['--help'], standalone_mode=False)\nexcept SystemExit:\n    pass")
    loaded = _modules_after(code)
    assert not {m for m in loaded if m.split(".")[0] in HEAVY}


def test_core_modules_import_without_click_or_rich() -> None:
    core = [p.stem for p in (ROOT / "src" / "mailrelay_cli").glob("*.py")
            if p.stem not in ("__main__", "render", "demo")]
    loaded = _modules_after("\n".join(f"import mailrelay_cli.{name}" for name in core))
    assert not {m for m in loaded if m.split(".")[0] in ("click", "rich")}


def test_readme_lists_every_decision_word() -> None:
    from mailrelay_cli.replies.decision import APPROVE_WORDS, REJECT_WORDS

    table = README.split("| | approve | reject |", 1)[1].split("\n\n", 1)[0]
    listed = {word.strip() for row in table.splitlines()[2:] for cell in row.split("|")[2:4]
              for word in cell.split(",")}
    assert set(APPROVE_WORDS) | set(REJECT_WORDS) == listed - {""}
