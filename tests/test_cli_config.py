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


MINIMAL = '[smtp]\nhost = "smtp.example.com"\nuser = "bot@example.com"\nfrom = "bot@example.com"\n'
PROPERTIES_PASSWORD = (
    '[imap]\nhost = "imap.example.com"\nproperties = """\nPROTOCOL=imap\nmail.imap.password=hunter2\n"""\n'
)


def test_config_check_refuses_a_password_in_imap_properties(run_cli, write_config) -> None:
    write_config(MINIMAL + PROPERTIES_PASSWORD)
    result = run_cli("config", "check")
    assert result.exit_code == 78
    assert "imap.properties line 2" in result.stderr
    assert "mailrelay secret set imap.password" in result.stderr
    assert "hunter2" not in result.stdout + result.stderr


def test_config_show_refuses_a_password_in_imap_properties(run_cli, write_config) -> None:
    write_config(MINIMAL + PROPERTIES_PASSWORD)
    result = run_cli("config", "show", "--json")
    assert result.exit_code == 78
    assert "hunter2" not in result.stdout + result.stderr


def test_other_commands_refuse_a_password_in_imap_properties(run_cli, write_config) -> None:
    write_config(MINIMAL + PROPERTIES_PASSWORD)
    result = run_cli("secret", "list")
    assert result.exit_code == 78
    assert "imap.properties line 2" in result.stderr


def test_config_check_passes_on_a_minimal_file(run_cli, write_config) -> None:
    path = write_config(MINIMAL)
    result = run_cli("config", "check")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.strip() == f"{path}: ok"


def test_config_check_fails_when_the_file_does_not_exist(run_cli, config_file: Path) -> None:
    config_file.unlink(missing_ok=True)
    result = run_cli("config", "check")
    assert result.exit_code == 78
    assert f"mailrelay: error: {config_file} does not exist" in result.stderr
    assert "mailrelay config set smtp.host HOST" in result.stderr
    assert "mailrelay config init" in result.stderr


def test_config_check_lists_every_missing_key(run_cli, write_config) -> None:
    write_config("[smtp]\nport = 587\n")
    result = run_cli("config", "check")
    assert result.exit_code == 78
    assert "mailrelay: error: " in result.stderr and "smtp.host is not set" in result.stderr
    assert "(and 2 more)" in result.stderr
    assert "problem: smtp.from is not set" in result.stderr
    assert "problem: smtp.user is not set" in result.stderr
    assert "hint: mailrelay config set smtp.host VALUE" in result.stderr
    assert "ok" not in result.stdout


def test_config_check_needs_no_user_without_authentication(run_cli, write_config) -> None:
    write_config('[smtp]\nhost = "h"\nfrom = "a@example.com"\nauth = "none"\n')
    result = run_cli("config", "check")
    assert result.exit_code == 0, result.stderr


def test_config_check_needs_a_client_id_for_oauth(run_cli, write_config) -> None:
    write_config(MINIMAL.replace("[smtp]\n", '[smtp]\nauth = "microsoft-oauth"\n'))
    result = run_cli("config", "check")
    assert result.exit_code == 78
    assert "smtp.client_id is not set" in result.stderr


def test_config_check_needs_imap_host_when_approvals_are_on(run_cli, write_config) -> None:
    write_config(MINIMAL + "[approval]\nenabled = true\n")
    result = run_cli("config", "check")
    assert result.exit_code == 78
    assert "imap.host is not set" in result.stderr
    assert "imap.user" not in result.stderr  # inherited from smtp.user


def test_config_check_needs_imap_user_when_approvals_are_on(run_cli, write_config) -> None:
    write_config(
        '[smtp]\nhost = "h"\nfrom = "a@example.com"\nauth = "none"\n'
        '[imap]\nhost = "imap.example.com"\n[approval]\nenabled = true\n'
    )
    result = run_cli("config", "check")
    assert result.exit_code == 78
    assert "imap.user is not set" in result.stderr


def test_config_check_needs_no_imap_for_a_maildir_mailbox(run_cli, write_config, tmp_path: Path) -> None:
    import mailbox

    mailbox.Maildir(str(tmp_path / "approvals"), create=True)
    write_config(MINIMAL + f'[approval]\nenabled = true\nmailbox = "maildir:{tmp_path / "approvals"}"\n')
    result = run_cli("config", "check")
    assert result.exit_code == 0, result.stderr


def test_config_check_rejects_a_maildir_that_does_not_exist(run_cli, write_config, tmp_path: Path) -> None:
    write_config(MINIMAL + f'[approval]\nenabled = true\nmailbox = "maildir:{tmp_path / "none"}"\n')
    result = run_cli("config", "check")
    assert result.exit_code == 78
    assert "is not a Maildir" in result.stderr
    assert f"mkdir -p {tmp_path / 'none'}/new" in result.stderr


def test_config_check_json_lists_the_problems(run_cli, write_config) -> None:
    write_config('[smtp]\nhost = "h"\nauth = "none"\n')
    result = run_cli("config", "check", "--json")
    assert result.exit_code == 78
    report = json.loads(result.stdout)
    assert report["ok"] is False
    assert [p["problem"] for p in report["problems"]] == [f"smtp.from is not set in {report['path']}"]
    assert json.loads(result.stderr)["exit_code"] == 78


def test_config_show_writes_durations_as_the_file_does(run_cli, write_config) -> None:
    write_config(MINIMAL + '[approval]\nexpires_after = "2d"\n')
    result = run_cli("config", "show", "--json")
    rows = {row["key"]: row["value"] for row in map(json.loads, result.stdout.splitlines())}
    assert rows["approval.expires_after"] == "2d"
    assert rows["smtp.retry_for"] == "2m"


def test_config_show_writes_whole_numbers_without_a_fraction(run_cli, write_config) -> None:
    write_config(MINIMAL)
    result = run_cli("config", "show", "--json")
    rows = {row["key"]: row["value"] for row in map(json.loads, result.stdout.splitlines())}
    assert '"key": "smtp.timeout", "value": 30,' in result.stdout
    assert rows["notifications.max_attachment_mb"] == 10
    assert isinstance(rows["notifications.max_attachment_mb"], int)
    human = run_cli("config", "show").stdout
    assert "30.0" not in human and "10.0" not in human


def test_config_show_writes_default_durations_in_units(run_cli, write_config) -> None:
    write_config(MINIMAL)
    human = run_cli("config", "show").stdout
    assert "259200" not in human and "120.0" not in human
    assert 'expires_after = "3d"' in human and 'retry_for = "2m"' in human


def test_send_with_incomplete_oauth_settings_exits_78_before_connecting(run_cli, write_config) -> None:
    # The host does not resolve: a command that connected first would exit 75 instead.
    write_config(
        '[smtp]\nhost = "no-such-host.invalid"\nfrom = "bot@example.com"\n'
        'user = "bot@example.com"\nauth = "microsoft-oauth"\n'
    )
    result = run_cli("send", "--event", "test", "--to", "ops@example.com")
    assert result.exit_code == 78, result.stderr
    assert "smtp.client_id is not set" in result.stderr
    assert "hint: mailrelay config set smtp.client_id VALUE" in result.stderr


def test_process_replies_with_incomplete_imap_settings_exits_78_before_connecting(
    run_cli, write_config, signing_key
) -> None:
    write_config(
        '[smtp]\nhost = "no-such-host.invalid"\nfrom = "bot@example.com"\n'
        '[imap]\nhost = "no-such-host.invalid"\n[approval]\nenabled = true\n'
    )
    result = run_cli("process-replies")
    assert result.exit_code == 78, result.stderr
    assert "imap.user is not set" in result.stderr


def test_config_set_confirms_in_toml_spelling(run_cli, config_file: Path) -> None:
    result = run_cli("config", "set", "smtp.starttls", "yes")
    assert result.stdout.startswith("smtp.starttls = true written to ")
