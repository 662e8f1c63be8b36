"""`mailrelay secret set|delete|list`: values go in, never come out."""

from __future__ import annotations

import json

SENTINEL = "S3ntinel-pw-xyz"


def test_secret_set_from_stdin_stores_in_keyring(run_cli) -> None:
    result = run_cli("secret", "set", "smtp.password", "--stdin", input=SENTINEL + "\n")
    assert result.exit_code == 0, result.stderr
    import keyring

    assert keyring.get_password("mailrelay", "default:smtp.password") == SENTINEL
    assert SENTINEL not in result.stdout + result.stderr


def test_secret_set_prompts_hidden_with_confirmation(run_cli) -> None:
    result = run_cli("secret", "set", "imap.password", input=f"{SENTINEL}\n{SENTINEL}\n")
    assert result.exit_code == 0, result.stderr
    assert SENTINEL not in result.stdout + result.stderr
    import keyring

    assert keyring.get_password("mailrelay", "default:imap.password") == SENTINEL


def test_secret_set_uses_the_profile_name(run_cli, write_config) -> None:
    write_config('name = "prod"\n')
    run_cli("secret", "set", "smtp.password", "--stdin", input="x\n")
    import keyring

    assert keyring.get_password("mailrelay", "prod:smtp.password") == "x"


def test_secret_set_empty_value_exits_65(run_cli) -> None:
    result = run_cli("secret", "set", "smtp.password", "--stdin", input="\n")
    assert result.exit_code == 65


def test_secret_set_unknown_name_exits_78(run_cli) -> None:
    result = run_cli("secret", "set", "smtp.pass", "--stdin", input="x\n")
    assert result.exit_code == 78
    assert "smtp.password" in result.stderr


def test_secret_list_shows_names_not_values(run_cli) -> None:
    run_cli("secret", "set", "smtp.password", "--stdin", input=SENTINEL + "\n")
    result = run_cli("secret", "list", "--json")
    rows = {row["name"]: row for row in map(json.loads, result.stdout.splitlines())}
    assert rows["smtp.password"]["set"] is True
    assert rows["imap.client_secret"]["set"] is False
    assert SENTINEL not in result.stdout


def test_secret_delete_removes_it(run_cli) -> None:
    run_cli("secret", "set", "smtp.password", "--stdin", input="x\n")
    result = run_cli("secret", "delete", "smtp.password")
    assert result.exit_code == 0
    import keyring

    assert keyring.get_password("mailrelay", "default:smtp.password") is None


def test_secret_set_without_keyring_exits_78_with_both_fixes(run_cli, monkeypatch) -> None:
    from tests.conftest import reset_keyring

    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")
    reset_keyring()
    result = run_cli("secret", "set", "smtp.password", "--stdin", input="x\n")
    assert result.exit_code == 78
    assert "MAILRELAY_SMTP_PASSWORD" in result.stderr
    assert "PYTHON_KEYRING_BACKEND=keyrings.alt.file.PlaintextKeyring" in result.stderr
