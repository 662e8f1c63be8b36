"""``config`` that round-trips (issue 12, points 5-7): one parser for list keys, check and set
refuse what commands refuse, ``get``/``unset``/``init``, TOML from ``show``, env overrides."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest

MINIMAL = '[smtp]\nhost = "mail.example.com"\nuser = "bot@example.com"\nfrom = "bot@example.com"\n'


# -- point 5: list-typed keys, refusing what the commands refuse --------------------------


def test_set_stores_a_toml_list_for_on_decision_as_a_list(run_cli, write_config) -> None:  # type: ignore[no-untyped-def]
    path = write_config(MINIMAL)
    result = run_cli("config", "set", "approval.on_decision", '["/bin/true", "--x"]')
    assert result.exit_code == 0, result.stderr
    assert tomllib.loads(path.read_text())["approval"]["on_decision"] == ["/bin/true", "--x"]


def test_set_parses_a_list_for_events_to_the_same_way(run_cli, write_config) -> None:  # type: ignore[no-untyped-def]
    path = write_config(MINIMAL)
    result = run_cli("config", "set", "events.test.to", '["a@example.com", "b@example.com"]')
    assert result.exit_code == 0, result.stderr
    assert tomllib.loads(path.read_text())["events"]["test"]["to"] == ["a@example.com", "b@example.com"]


@pytest.mark.parametrize("value", ["", "   ", "'unclosed"])
def test_set_refuses_an_on_decision_no_run_could_use(run_cli, write_config, value: str) -> None:  # type: ignore[no-untyped-def]
    path = write_config(MINIMAL)
    result = run_cli("config", "set", "approval.on_decision", value)
    assert result.exit_code == 78
    assert "approval.on_decision" in result.stderr.splitlines()[0]
    assert path.read_text() == MINIMAL


@pytest.mark.parametrize("text", ['on_decision = ""', "on_decision = []", 'on_decision = [""]'])
def test_check_refuses_an_empty_on_decision(run_cli, write_config, text: str) -> None:  # type: ignore[no-untyped-def]
    write_config(MINIMAL + f"[approval]\n{text}\n")
    result = run_cli("config", "check")
    assert result.exit_code == 78
    assert "approval.on_decision must be a command" in result.stderr


def test_get_prints_the_value_and_its_source(run_cli, write_config) -> None:  # type: ignore[no-untyped-def]
    write_config(MINIMAL)
    assert run_cli("config", "get", "smtp.host").stdout == 'smtp.host = "mail.example.com"  # file\n'
    assert run_cli("config", "get", "smtp.port").stdout == "smtp.port = 587  # default\n"
    inherited = json.loads(run_cli("config", "get", "imap.user", "--json").stdout)
    assert inherited == {"key": "imap.user", "value": "bot@example.com", "source": "inherited from smtp.user"}


def test_get_of_an_unset_key_says_so(run_cli, write_config) -> None:  # type: ignore[no-untyped-def]
    write_config(MINIMAL)
    result = run_cli("config", "get", "smtp.client_id")
    assert result.exit_code == 0
    assert result.stdout == "# smtp.client_id: not set (default)\n"


def test_get_of_an_unknown_key_suggests_the_closest(run_cli, write_config) -> None:  # type: ignore[no-untyped-def]
    write_config(MINIMAL)
    result = run_cli("config", "get", "smtp.hots")
    assert result.exit_code == 78
    assert "hint: did you mean smtp.host?" in result.stderr


def test_get_of_a_secret_never_prints_its_value(run_cli, write_config) -> None:  # type: ignore[no-untyped-def]
    write_config(MINIMAL)
    run_cli("secret", "set", "smtp.password", "--stdin", input="S3ntinel-pw\n")
    result = run_cli("config", "get", "smtp.password")
    assert result.exit_code == 0
    assert "S3ntinel-pw" not in result.stdout and "set" in result.stdout


def test_unset_removes_the_key_and_keeps_comments(run_cli, write_config) -> None:  # type: ignore[no-untyped-def]
    path = write_config('# top\n[smtp]\n# the relay\nhost = "h"\nport = 2525 # odd port\n')
    result = run_cli("config", "unset", "smtp.port")
    assert result.exit_code == 0, result.stderr
    assert path.read_text() == '# top\n[smtp]\n# the relay\nhost = "h"\n'
    assert run_cli("config", "get", "smtp.port").stdout == "smtp.port = 587  # default\n"


def test_unset_of_a_key_not_in_the_file_changes_nothing(run_cli, write_config) -> None:  # type: ignore[no-untyped-def]
    path = write_config(MINIMAL)
    result = run_cli("config", "unset", "smtp.port")
    assert result.exit_code == 0
    assert "smtp.port was not set" in result.stdout
    assert path.read_text() == MINIMAL


# -- point 6: show prints TOML ------------------------------------------------------------


def test_show_prints_toml_that_loads_back_to_the_values(run_cli, write_config) -> None:  # type: ignore[no-untyped-def]
    write_config(
        MINIMAL + '[approval]\nenabled = true\non_decision = ["/bin/true", "--x"]\n'
        '[events.request-failed]\nto = ["a@example.com", "b@example.com"]\n'
    )
    result = run_cli("config", "show")
    assert result.exit_code == 0, result.stderr
    shown = tomllib.loads(result.stdout)
    assert shown["approval"]["enabled"] is True
    assert shown["approval"]["on_decision"] == ["/bin/true", "--x"]
    assert shown["events"]["request-failed"]["to"] == ["a@example.com", "b@example.com"]
    assert shown["smtp"]["port"] == 587
    assert "True" not in result.stdout and "['" not in result.stdout


def test_show_puts_the_source_in_a_comment(run_cli, write_config) -> None:  # type: ignore[no-untyped-def]
    write_config(MINIMAL)
    lines = run_cli("config", "show").stdout.splitlines()
    assert 'host = "mail.example.com"  # file' in lines
    assert 'user = "bot@example.com"  # inherited from smtp.user' in lines


# -- point 7: environment overrides -------------------------------------------------------


def test_an_env_variable_overrides_the_file_and_says_so(run_cli, write_config) -> None:  # type: ignore[no-untyped-def]
    write_config(MINIMAL)
    env = {"MAILRELAY__SMTP__HOST": "relay.internal", "MAILRELAY__APPROVAL__ENABLED": "true"}
    shown = run_cli("config", "show", env=env).stdout
    assert 'host = "relay.internal"  # env MAILRELAY__SMTP__HOST' in shown
    got = json.loads(run_cli("config", "get", "approval.enabled", "--json", env=env).stdout)
    assert got == {"key": "approval.enabled", "value": True, "source": "env MAILRELAY__APPROVAL__ENABLED"}


def test_env_overrides_work_without_a_settings_file(run_cli) -> None:  # type: ignore[no-untyped-def]
    env = {"MAILRELAY__SMTP__PORT": "2525", "MAILRELAY__EVENTS__REQUEST_FAILED__TO": "a@x.org,b@x.org"}
    assert run_cli("config", "get", "smtp.port", env=env).stdout.startswith("smtp.port = 2525  # env")
    got = json.loads(run_cli("config", "get", "events.request-failed.to", "--json", env=env).stdout)
    assert got["value"] == ["a@x.org", "b@x.org"]


def test_a_mistyped_env_variable_is_a_config_error_naming_it(run_cli, write_config) -> None:  # type: ignore[no-untyped-def]
    write_config(MINIMAL)
    result = run_cli("config", "check", env={"MAILRELAY__SMTP__HOTS": "x"})
    assert result.exit_code == 78
    assert "MAILRELAY__SMTP__HOTS" in result.stderr
    assert "did you mean MAILRELAY__SMTP__HOST?" in result.stderr


def test_a_bad_env_value_names_the_variable(run_cli, write_config) -> None:  # type: ignore[no-untyped-def]
    write_config(MINIMAL)
    result = run_cli("config", "check", env={"MAILRELAY__SMTP__PORT": "five"})
    assert result.exit_code == 78
    assert result.stderr.startswith("mailrelay: error: MAILRELAY__SMTP__PORT: smtp.port must be")


def test_a_secret_through_the_settings_scheme_is_refused(run_cli, write_config) -> None:  # type: ignore[no-untyped-def]
    write_config(MINIMAL)
    result = run_cli("config", "check", env={"MAILRELAY__SMTP__PASSWORD": "S3ntinel"})
    assert result.exit_code == 78
    assert "MAILRELAY_SMTP_PASSWORD" in result.stderr and "S3ntinel" not in result.stderr


def test_the_secret_variables_are_not_read_as_settings(run_cli, write_config) -> None:  # type: ignore[no-untyped-def]
    write_config(MINIMAL)
    result = run_cli("config", "check", env={"MAILRELAY_SMTP_PASSWORD": "pw", "MAILRELAY_STATE_DIR": "/tmp"})
    assert result.exit_code == 0, result.stderr


def test_set_notes_an_env_variable_that_overrides_the_file(run_cli, write_config) -> None:  # type: ignore[no-untyped-def]
    write_config(MINIMAL)
    result = run_cli("config", "set", "smtp.host", "other", env={"MAILRELAY__SMTP__HOST": "relay"})
    assert result.exit_code == 0
    assert "note: MAILRELAY__SMTP__HOST is set and overrides the file's smtp.host" in result.stderr


# -- config init (point 18) ---------------------------------------------------------------


def test_init_writes_the_example_with_every_key_commented(run_cli, config_file: Path) -> None:  # type: ignore[no-untyped-def]
    config_file.unlink(missing_ok=True)
    result = run_cli("config", "init")
    assert result.exit_code == 0, result.stderr
    text = config_file.read_text()
    assert '# host = "smtp.example.com"' in text
    assert "mailrelay secret set smtp.password" in text
    table = tomllib.loads(text)
    assert table["smtp"] == {} and "name" not in table


def test_init_then_set_gives_a_file_check_accepts(run_cli, config_file: Path) -> None:  # type: ignore[no-untyped-def]
    run_cli("config", "init")
    for key, value in (
        ("smtp.host", "mail.example.com"),
        ("smtp.user", "bot@example.com"),
        ("smtp.from", "bot@example.com"),
    ):
        assert run_cli("config", "set", key, value).exit_code == 0
    result = run_cli("config", "check")
    assert result.exit_code == 0, result.stderr
    assert "# Network timeout, seconds." in config_file.read_text()


def test_init_never_overwrites_without_force(run_cli, write_config) -> None:  # type: ignore[no-untyped-def]
    path = write_config(MINIMAL)
    result = run_cli("config", "init")
    assert result.exit_code == 78
    assert "already exists" in result.stderr and path.read_text() == MINIMAL
    assert run_cli("config", "init", "--force").exit_code == 0
    assert path.read_text() != MINIMAL


def test_set_refuses_a_ca_file_that_is_not_a_file(run_cli, write_config, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = write_config(MINIMAL)
    result = run_cli("config", "set", "smtp.tls_ca_file", str(tmp_path / "nope.pem"))
    assert result.exit_code == 78
    assert "is not a file" in result.stderr and path.read_text() == MINIMAL
