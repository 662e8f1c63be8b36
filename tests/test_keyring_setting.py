"""A mistyped or empty PYTHON_KEYRING_BACKEND is a configuration error naming the variable and
the backends that exist, never "this is a bug" (issue 12, point 9)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest


def _run(home: Path, backend: str, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAILRELAY_")}
    env.update(
        HOME=str(home),
        XDG_CONFIG_HOME=str(home / ".config"),
        XDG_DATA_HOME=str(home / ".local" / "share"),
        PYTHON_KEYRING_BACKEND=backend,
    )
    return subprocess.run(
        [sys.executable, "-m", "mailrelay_cli", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )


@pytest.mark.parametrize("backend", ["keyrings.alt.file.Plaintext", "", "no.such.Backend"])
def test_a_bad_backend_variable_is_78_naming_it(isolated_env: Path, backend: str) -> None:
    result = _run(isolated_env, backend, "secret", "set", "smtp.password", "--stdin", stdin="pw\n")
    assert result.returncode == 78, result.stderr
    assert result.stderr.startswith("mailrelay: error: PYTHON_KEYRING_BACKEND")
    assert "keyrings.alt.file.PlaintextKeyring" in result.stderr  # a backend that exists
    assert "bug" not in result.stderr and "Traceback" not in result.stderr


def test_secret_list_reports_the_bad_variable_not_no_keyring(isolated_env: Path) -> None:
    result = _run(isolated_env, "keyrings.alt.file.Plaintext", "secret", "list")
    assert result.returncode == 78
    assert "PYTHON_KEYRING_BACKEND=keyrings.alt.file.Plaintext names no keyring backend" in result.stderr


def test_config_get_of_a_plain_key_needs_no_keyring(isolated_env: Path) -> None:
    config = isolated_env / ".config" / "mailrelay"
    config.mkdir(parents=True, exist_ok=True)
    (config / "settings.toml").write_text('[smtp]\nhost = "mail.example.com"\n')
    result = _run(isolated_env, "no.such.Backend", "config", "get", "smtp.host")
    assert result.returncode == 0, result.stderr
    assert result.stdout == 'smtp.host = "mail.example.com"  # file\n'


def test_config_get_of_a_secret_reports_the_bad_backend(isolated_env: Path) -> None:
    result = _run(isolated_env, "no.such.Backend", "config", "get", "smtp.password")
    assert result.returncode == 78, result.stderr
    assert result.stderr.startswith("mailrelay: error: PYTHON_KEYRING_BACKEND")
