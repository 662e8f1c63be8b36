"""`mailrelay config show|check|path|set` through the command line."""

from __future__ import annotations

import json
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "settings.toml"


def test_config_path_prints_the_default_location(run_cli, config_file: Path) -> None:
    result = run_cli("config", "path")
    assert result.exit_code == 0
    assert result.stdout.strip() == str(config_file)


def test_config_path_honours_the_environment(run_cli, tmp_path: Path) -> None:
    target = tmp_path / "elsewhere.toml"
    result = run_cli("config", "path", env={"MAILRELAY_CONFIG": str(target)})
    assert result.stdout.strip() == str(target)


def test_config_check_passes_on_the_example_file(run_cli) -> None:
    result = run_cli("--config", str(EXAMPLE), "config", "check")
    assert result.exit_code == 0, result.stderr
    assert "ok" in result.stdout


def test_config_check_exits_78_naming_file_and_key(run_cli, write_config) -> None:
    path = write_config("[smtp]\nport = true\n")
    result = run_cli("config", "check")
    assert result.exit_code == 78
    assert result.stderr.startswith(f"mailrelay: error: {path}: smtp.port must be")
    assert "hint: mailrelay config set smtp.port VALUE" in result.stderr
    assert "Traceback" not in result.stderr


def test_config_check_json_error_is_one_object_on_stderr(run_cli, write_config) -> None:
    write_config('[smtp]\npassword = "hunter2"\n')
    result = run_cli("config", "check", "--json")
    assert result.exit_code == 78
    error = json.loads(result.stderr)
    assert set(error) == {"error", "hint", "exit_code"}
    assert error["exit_code"] == 78
    assert "mailrelay secret set smtp.password" in error["hint"]
    assert "hunter2" not in result.stderr + result.stdout


def test_config_show_says_where_each_value_came_from(run_cli, write_config) -> None:
    write_config('[smtp]\nhost = "mail.example.com"\nuser = "bot@example.com"\n')
    result = run_cli("config", "show", "--json")
    assert result.exit_code == 0, result.stderr
    rows = {row["key"]: row for row in map(json.loads, result.stdout.splitlines())}
    assert rows["smtp.host"] == {"key": "smtp.host", "value": "mail.example.com", "source": "file"}
    assert rows["smtp.port"]["source"] == "default"
    assert rows["imap.user"]["source"] == "inherited from smtp.user"
    assert rows["smtp.password"]["value"] == "unset"


def test_config_show_masks_secrets(run_cli, write_config) -> None:
    write_config('[smtp]\nhost = "mail.example.com"\n')
    run_cli("secret", "set", "smtp.password", "--stdin", input="S3ntinel-pw\n")
    result = run_cli("config", "show")
    assert result.exit_code == 0
    assert "S3ntinel-pw" not in result.stdout + result.stderr
    assert "smtp.password" in result.stdout


def test_config_set_writes_and_keeps_comments(run_cli, write_config) -> None:
    path = write_config("# keep me\n[smtp]\nport = 587 # and me\n")
    result = run_cli("config", "set", "smtp.port", "465")
    assert result.exit_code == 0, result.stderr
    assert path.read_text() == "# keep me\n[smtp]\nport = 465 # and me\n"


def test_config_set_creates_the_file_when_missing(run_cli, config_file: Path) -> None:
    config_file.unlink(missing_ok=True)
    result = run_cli("config", "set", "smtp.host", "mail.example.com")
    assert result.exit_code == 0
    assert 'host = "mail.example.com"' in config_file.read_text()


def test_config_set_unknown_key_exits_78_with_suggestion(run_cli, config_file: Path) -> None:
    result = run_cli("config", "set", "smtp.hostname", "x")
    assert result.exit_code == 78
    assert "did you mean smtp.host?" in result.stderr
