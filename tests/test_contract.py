"""Contract tests: docs and behaviour do not drift apart, and start-up stays light."""

from __future__ import annotations

import ast
import importlib.util
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
def test_the_top_level_help_lists_each_command_by_its_own_summary(name: str) -> None:
    command = cli.get_command(click.Context(cli), name)
    assert command is not None
    assert COMMANDS[name][1] == command.get_short_help_str(limit=1000)


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
    out = subprocess.run(
        [sys.executable, "-c", code + "\nimport sys, json\nprint(json.dumps(sorted(sys.modules)))"],
        capture_output=True,
        text=True,
        check=True,
    )
    return set(json.loads(out.stdout.splitlines()[-1]))


def _help_modules(*argv: str) -> set[str]:
    """The modules ``python -m mailrelay_cli ARGV --help`` loads, in a fresh interpreter."""
    code = (
        f"import runpy, sys\nsys.argv = ['mailrelay', *{list(argv)!r}, '--help']\n"
        "try:\n    runpy.run_module('mailrelay_cli', run_name='__main__')\nexcept SystemExit:\n    pass"
    )
    return _modules_after(code)


def test_help_imports_no_heavy_module_and_no_command_module() -> None:
    loaded = _help_modules()
    assert not {m for m in loaded if m.startswith("mailrelay_cli.cli.cmd_")}  # summaries in COMMANDS
    assert not {m for m in loaded if m.split(".")[0] in HEAVY}


@pytest.mark.parametrize("name", ["send", "process-replies", "approvals", "config"])
def test_a_command_help_imports_no_heavy_module(name: str) -> None:
    loaded = _help_modules(name)
    assert any(m.startswith("mailrelay_cli.cli.cmd_") for m in loaded)  # the command was loaded
    assert not {m for m in loaded if m.split(".")[0] in HEAVY}


def _runs_at_import(tree: ast.Module, line: int) -> bool:
    """Whether the import statement on ``line`` runs when its module is imported: not inside a
    function (a lazy import) and not under ``if TYPE_CHECKING:``."""

    def visit(node: ast.AST, eager: bool) -> bool | None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.Import | ast.ImportFrom) and child.lineno <= line <= (
                child.end_lineno or child.lineno
            ):
                return eager
            inner = eager and not isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda)
            if isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                inner = False
            found = visit(child, inner)
            if found is not None:
                return found
        return None

    return bool(visit(tree, True))


def _import_time_graph() -> dict[str, set[str]]:
    """import-linter's graph (grimp) of mailrelay_cli, keeping only the imports that run at import
    time; external packages appear by their top-level name."""
    import grimp

    graph = grimp.build_graph("mailrelay_cli", include_external_packages=True, cache_dir=None)
    trees: dict[str, ast.Module] = {}
    edges: dict[str, set[str]] = {}
    for module in graph.modules:
        if not module.startswith("mailrelay_cli"):
            continue
        spec = importlib.util.find_spec(module)
        assert spec is not None and spec.origin is not None, module
        trees[module] = ast.parse(Path(spec.origin).read_text())
        for imported in graph.find_modules_directly_imported_by(module):
            details = graph.get_import_details(importer=module, imported=imported)
            if any(_runs_at_import(trees[module], d["line_number"]) for d in details):
                edges.setdefault(module, set()).add(imported)
    return edges


def _reachable(edges: dict[str, set[str]], start: list[str]) -> dict[str, str | None]:
    """Every module imported by importing ``start``, each with the module that imported it
    (importing a.b.c runs a and a.b too)."""
    seen: dict[str, str | None] = {}
    queue: list[tuple[str, str | None]] = [(m, None) for m in start]
    while queue:
        module, parent = queue.pop()
        if module in seen:
            continue
        seen[module] = parent
        parts = module.split(".")
        queue.extend((".".join(parts[:i]), module) for i in range(1, len(parts)))
        queue.extend((imported, module) for imported in edges.get(module, ()))
    return seen


def test_import_time_graph_sees_lazy_imports_as_lazy() -> None:
    edges = _import_time_graph()
    assert "rich" not in edges["mailrelay_cli.cli.render"]  # imported inside console() only
    assert "click" in edges["mailrelay_cli.cli"]


def test_the_help_path_never_reaches_a_heavy_module_at_import_time() -> None:
    """What ``--help`` imports, read from the import graph: the group, ``__main__`` and every
    command module (--help loads each for its summary), following imports that run at import time."""
    start = [
        "mailrelay_cli.__main__",
        "mailrelay_cli.cli",
        *(target.split(":")[0] for target, _summary in COMMANDS.values()),
    ]
    seen = _reachable(_import_time_graph(), start)
    chains = []
    for module in seen:
        if module.split(".")[0] in HEAVY:
            chain, at = [module], seen[module]
            while at is not None:
                chain.append(at)
                at = seen[at]
            chains.append(" <- ".join(chain))
    assert chains == []


def test_readme_lists_every_decision_word() -> None:
    from mailrelay_cli.replies.decision import APPROVE_WORDS, REJECT_WORDS

    table = README.split("| | approve | reject |", 1)[1].split("\n\n", 1)[0]
    listed = {
        word.strip()
        for row in table.splitlines()[2:]
        for cell in row.split("|")[2:4]
        for word in cell.split(",")
    }
    assert set(APPROVE_WORDS) | set(REJECT_WORDS) == listed - {""}


def _architecture_rows() -> list[list[str]]:
    """The names in the first column of the README's Architecture table, row by row."""
    section = README.split("## Architecture", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| `")]
    return [re.findall(r"`([^`]+)`", row.split("|")[1]) for row in rows]


def test_every_package_the_architecture_names_exists_and_every_package_is_named() -> None:
    package_dir = ROOT / "src" / "mailrelay_cli"
    named = {name for row in _architecture_rows() for name in row}
    packages = {f"{p.parent.name}/" for p in package_dir.glob("*/__init__.py")}
    assert {name for name in named if name.endswith("/")} == packages
    assert [name for name in named if name.endswith(".py") and not (package_dir / name).is_file()] == []


def test_the_architecture_lists_the_layers_in_the_import_linter_order() -> None:
    import tomllib

    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    [layers] = [c["layers"] for c in config["contracts"] if c["type"] == "layers"]
    in_contract = [layer.replace("mailrelay_cli.", "") for layer in layers if layer != "mailrelay_cli.demo"]
    in_readme = [
        " | ".join(name.removesuffix("/").removesuffix(".py") for name in row) for row in _architecture_rows()
    ]
    assert in_readme == in_contract
