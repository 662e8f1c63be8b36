"""Test isolation and shared helpers.

Every test runs with its config dir, state dir, data dir (where the file
keyring lives) and every MAILRELAY_* variable pointed at a temp dir: no test
touches a real home or keychain. Server fixtures live in ``tests/fixtures/``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

pytest_plugins = [
    "tests.fixtures.certs",
    "tests.fixtures.smtp_servers",
    "tests.fixtures.dovecot",
    "tests.fixtures.oauth_fakes",
    "tests.fixtures.signing_key",
    "tests.fixtures.graph_server",
    "tests.fixtures.postgres",
    "tests.fixtures.state_backends",
    "tests.fixtures.watcher",
    "tests.fixtures.quickstart_smtp",
]

FILE_KEYRING = "keyrings.alt.file.PlaintextKeyring"


def reset_keyring() -> None:
    """Make keyring pick its backend again from PYTHON_KEYRING_BACKEND and XDG_DATA_HOME."""
    import keyring.core

    keyring.core.init_backend()


@pytest.fixture(autouse=True)
def isolated_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    for name in list(os.environ):
        if name.startswith("MAILRELAY_"):
            monkeypatch.delenv(name)
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("XDG_STATE_HOME", str(home / ".local" / "state"))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / ".local" / "share"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(home / ".cache"))
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", FILE_KEYRING)
    reset_keyring()
    yield home
    reset_keyring()


@pytest.fixture
def config_file(isolated_env: Path) -> Path:
    """The settings file tests write (the default location, so no --config is needed)."""
    path = isolated_env / ".config" / "mailrelay" / "settings.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture
def write_config(config_file: Path) -> Callable[[str], Path]:
    def write(text: str) -> Path:
        config_file.write_text(text, encoding="utf-8")
        return config_file

    return write


@pytest.fixture
def run_cli() -> Callable[..., Result]:
    """Invoke mailrelay in-process; returns click's Result (stdout, stderr, exit_code)."""
    from mailrelay_cli.cli import cli

    def run(*args: str, input: str | None = None, env: dict[str, str] | None = None) -> Result:
        runner = CliRunner()
        return runner.invoke(cli, list(args), input=input, env=env, catch_exceptions=False)

    return run
