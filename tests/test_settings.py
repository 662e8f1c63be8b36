"""Loading, defaults, inheritance and validation of the settings file."""

from __future__ import annotations

from pathlib import Path

import pytest

from mailrelay_cli.config.edit import set_value
from mailrelay_cli.config.load import load_settings
from mailrelay_cli.errors import ConfigError, ExitCode

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "settings.toml"


def test_missing_file_gives_every_default(tmp_path: Path) -> None:
    settings = load_settings(tmp_path / "absent.toml")
    assert not settings.file_exists
    assert settings.smtp.port == 587
    assert settings.smtp.starttls is True
    assert settings.smtp.tls is False
    assert settings.imap.port == 993
    assert settings.imap.tls is True
    assert settings.approval.folder == "INBOX"
    assert settings.approval.count == 30
    assert settings.approval.interval_minutes == 5
    assert settings.approval.expires_after == 72 * 3600
    assert settings.notifications.attach_logs == "never"
    assert settings.profile == "default"


def test_port_465_means_implicit_tls_without_starttls(write_config) -> None:
    path = write_config('[smtp]\nhost = "mail.example.com"\nport = 465\n')
    settings = load_settings(path)
    assert settings.smtp.tls is True
    assert settings.smtp.starttls is False


def test_tls_true_without_port_defaults_to_465(write_config) -> None:
    settings = load_settings(write_config("[smtp]\ntls = true\n"))
    assert settings.smtp.port == 465


def test_imap_starttls_defaults_port_143_and_no_implicit_tls(write_config) -> None:
    settings = load_settings(write_config("[imap]\nstarttls = true\n"))
    assert settings.imap.port == 143
    assert settings.imap.tls is False


def test_tls_and_starttls_both_true_is_a_config_error(write_config) -> None:
    path = write_config("[smtp]\ntls = true\nstarttls = true\n")
    with pytest.raises(ConfigError) as info:
        load_settings(path)
    assert "smtp.tls and smtp.starttls" in str(info.value)


def test_imap_inherits_smtp_user_and_oauth_client(write_config) -> None:
    path = write_config('[smtp]\nuser = "bot@example.com"\nclient_id = "abc"\ntenant_id = "t1"\n')
    settings = load_settings(path)
    assert settings.imap.user == "bot@example.com"
    assert settings.imap.client_id == "abc"
    assert settings.imap.tenant_id == "t1"
    assert settings.imap.oauth_inherited is True
    assert settings.sources["imap.user"] == "inherited from smtp.user"


def test_imap_own_user_wins_over_smtp(write_config) -> None:
    path = write_config('[smtp]\nuser = "bot@example.com"\n[imap]\nuser = "replies@example.com"\n')
    settings = load_settings(path)
    assert settings.imap.user == "replies@example.com"
    assert settings.sources["imap.user"] == "file"


def test_reply_address_defaults_to_smtp_from(write_config) -> None:
    settings = load_settings(write_config('[smtp]\nfrom = "bot@example.com"\n'))
    assert settings.approval.reply_address == "bot@example.com"


def test_unknown_key_suggests_the_closest(write_config) -> None:
    path = write_config('[smtp]\nhots = "mail.example.com"\n')
    with pytest.raises(ConfigError) as info:
        load_settings(path)
    assert "smtp.hots" in info.value.message
    assert str(path) in info.value.message
    assert info.value.hint == "did you mean smtp.host?"


def test_wrong_type_names_file_key_and_value(write_config) -> None:
    path = write_config('[smtp]\nport = "five-eight-seven"\n')
    with pytest.raises(ConfigError) as info:
        load_settings(path)
    message = info.value.message
    assert str(path) in message and "smtp.port" in message and "whole number" in message


def test_bad_enum_lists_the_choices(write_config) -> None:
    path = write_config('[notifications]\nattach_logs = "sometimes"\n')
    with pytest.raises(ConfigError) as info:
        load_settings(path)
    assert "never, always, on-failure" in info.value.message


def test_bad_duration_is_a_config_error(write_config) -> None:
    path = write_config('[approval]\nexpires_after = "three days"\n')
    with pytest.raises(ConfigError, match="approval.expires_after"):
        load_settings(path)


@pytest.mark.parametrize("key", ["password", "client_secret"])
def test_password_in_file_is_a_config_error_naming_secret_set(write_config, key: str) -> None:
    path = write_config(f'[smtp]\nhost = "h"\n{key} = "hunter2"\n')
    with pytest.raises(ConfigError) as info:
        load_settings(path)
    assert info.value.exit_code == ExitCode.CONFIG
    assert f"mailrelay secret set smtp.{key}" in info.value.hint
    assert "hunter2" not in info.value.message + info.value.hint


def test_invalid_toml_is_a_config_error(write_config) -> None:
    path = write_config("[smtp\nhost = 1\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_settings(path)


def test_maildir_mailbox_gives_its_path(write_config) -> None:
    settings = load_settings(write_config('[approval]\nmailbox = "maildir:/tmp/replies"\n'))
    assert settings.approval.maildir == Path("/tmp/replies")


def test_bad_mailbox_value_is_a_config_error(write_config) -> None:
    with pytest.raises(ConfigError, match="approval.mailbox"):
        load_settings(write_config('[approval]\nmailbox = "pop3"\n'))


def test_event_recipients_are_read_per_event(write_config) -> None:
    settings = load_settings(write_config('[events.request-failed]\nto = ["a@example.com"]\n'))
    assert settings.events["request-failed"].to == ("a@example.com",)


def test_require_names_the_key_and_the_command(tmp_path: Path) -> None:
    path = tmp_path / "present.toml"
    path.write_text("[smtp]\n")
    settings = load_settings(path)
    with pytest.raises(ConfigError) as info:
        settings.require("smtp.host")
    assert "smtp.host is not set" in info.value.message
    assert info.value.hint == "mailrelay config set smtp.host VALUE"


def test_require_leads_with_a_missing_file(tmp_path: Path) -> None:
    settings = load_settings(tmp_path / "absent.toml")
    with pytest.raises(ConfigError) as info:
        settings.require("smtp.host")
    assert info.value.message == f"{tmp_path / 'absent.toml'} does not exist"


def test_example_settings_file_is_valid() -> None:
    settings = load_settings(EXAMPLE)
    assert settings.smtp.host == "smtp.example.com"
    assert settings.approval.enabled is True


def test_example_settings_file_mentions_every_key_in_its_own_table() -> None:
    import re

    from mailrelay_cli.config.schema import KEYS

    text = EXAMPLE.read_text()
    tables: dict[str, str] = {"": text.split("\n[", 1)[0]}
    for match in re.finditer(r"^\[([^\]]+)\]\n(.*?)(?=^\[|\Z)", text, re.MULTILINE | re.DOTALL):
        tables[match.group(1)] = tables.get(match.group(1), "") + match.group(2)
    for spec in KEYS:
        table, _, leaf = spec.key.rpartition(".")
        bodies = (
            [body for name, body in tables.items() if name.startswith("events.")]
            if table == "events.*"
            else [tables.get(table, "")]
        )
        assert any(re.search(rf"^#? ?{leaf} =", body, re.MULTILINE) for body in bodies), spec.key


def test_set_value_keeps_comments_and_layout(tmp_path: Path) -> None:
    path = tmp_path / "settings.toml"
    path.write_text('# my comment\n[smtp]\n# the host\nhost = "old.example.com"  # inline\nport = 587\n')
    set_value(path, "smtp.host", "new.example.com")
    text = path.read_text()
    assert text == '# my comment\n[smtp]\n# the host\nhost = "new.example.com"  # inline\nport = 587\n'


def test_set_value_converts_by_type(tmp_path: Path) -> None:
    path = tmp_path / "settings.toml"
    set_value(path, "smtp.port", "465")
    set_value(path, "approval.enabled", "yes")
    set_value(path, "events.request-failed.to", "a@example.com, b@example.com")
    settings = load_settings(path)
    assert settings.smtp.port == 465
    assert settings.approval.enabled is True
    assert settings.events["request-failed"].to == ("a@example.com", "b@example.com")


def test_set_value_rejects_a_bad_value_and_leaves_the_file(tmp_path: Path) -> None:
    path = tmp_path / "settings.toml"
    path.write_text("[smtp]\nport = 587\n")
    with pytest.raises(ConfigError):
        set_value(path, "smtp.port", "lots")
    assert path.read_text() == "[smtp]\nport = 587\n"


def test_set_value_refuses_a_secret(tmp_path: Path) -> None:
    path = tmp_path / "settings.toml"
    with pytest.raises(ConfigError) as info:
        set_value(path, "smtp.password", "hunter2")
    assert "mailrelay secret set smtp.password" in info.value.hint
    assert not path.exists()


def test_set_value_validates_the_whole_file(tmp_path: Path) -> None:
    path = tmp_path / "settings.toml"
    path.write_text("[smtp]\ntls = true\n")
    with pytest.raises(ConfigError):
        set_value(path, "smtp.starttls", "true")
    assert path.read_text() == "[smtp]\ntls = true\n"


@pytest.mark.parametrize(
    "key",
    [
        "imap.pass",
        "imap.pwd",
        "imap.passphrase",
        "imap.smtp_pass",
        "smtp.passwd",
        "smtp.credentials",
        "smtp.credential",
        "smtp.token",
        "imap.access_token",
        "imap.refresh_token",
        "smtp.api_key",
        "smtp.apikey",
        "smtp.secret",
    ],
)
def test_password_like_key_is_a_secret_not_an_unknown_key(write_config, key: str) -> None:
    section, name = key.split(".")
    path = write_config(f'[{section}]\n{name} = "hunter2"\n')
    with pytest.raises(ConfigError) as info:
        load_settings(path)
    assert "is a secret" in info.value.message
    assert "mailrelay secret set" in info.value.hint
    assert "did you mean" not in info.value.hint
    assert "hunter2" not in info.value.message + info.value.hint


def test_password_table_is_a_secret(write_config) -> None:
    path = write_config('[smtp.password]\nvalue = "hunter2"\n')
    with pytest.raises(ConfigError) as info:
        load_settings(path)
    assert "smtp.password.value is a secret" in info.value.message
    assert info.value.hint.endswith("mailrelay secret set smtp.password")


def test_empty_password_table_is_a_secret(write_config) -> None:
    path = write_config("[imap.password]\n")
    with pytest.raises(ConfigError, match="imap.password is a secret"):
        load_settings(path)


@pytest.mark.parametrize(
    ("key", "command"),
    [
        ("imap.pwd", "mailrelay secret set imap.password"),
        ("imap.smtp_pass", "mailrelay secret set imap.password"),
        ("smtp.credentials", "mailrelay secret set smtp.password"),
        ("imap.access_token", "mailrelay secret set imap.client_secret"),
        ("smtp.api_key", "mailrelay secret set smtp.client_secret"),
        ("approval.secret", "mailrelay secret set smtp.client_secret"),
        ("passphrase", "mailrelay secret set smtp.password"),
    ],
)
def test_secret_hint_names_the_section_and_kind(key: str, command: str) -> None:
    from mailrelay_cli.config.schema import secret_hint

    assert secret_hint(key).endswith(command)


def test_no_real_key_is_taken_for_a_secret() -> None:
    from mailrelay_cli.config.schema import KEYS, is_secret_key

    caught = [spec.key for spec in KEYS if is_secret_key(spec.key)]
    assert caught == []


def test_password_line_in_imap_properties_fails_loading(write_config) -> None:
    path = write_config('[imap]\nhost = "h"\nproperties = """\nmail.imap.password=hunter2\n"""\n')
    with pytest.raises(ConfigError) as info:
        load_settings(path)
    assert info.value.exit_code == ExitCode.CONFIG
    assert "imap.properties line 1" in info.value.message
    assert "mailrelay secret set imap.password" in info.value.hint
    assert "hunter2" not in info.value.message + info.value.hint


@pytest.mark.parametrize("port", [0, 70000])
def test_a_port_outside_1_to_65535_is_a_config_error(write_config, port: int) -> None:
    with pytest.raises(ConfigError, match="port number"):
        load_settings(write_config(f"[smtp]\nport = {port}\n"))


def test_an_approval_that_expires_at_once_is_a_config_error(write_config) -> None:
    with pytest.raises(ConfigError, match="longer than 0s"):
        load_settings(write_config('[approval]\nexpires_after = "0s"\n'))


def test_an_empty_reply_folder_is_a_config_error(write_config) -> None:
    with pytest.raises(ConfigError, match="approval.folder"):
        load_settings(write_config('[approval]\nfolder = " "\n'))


def test_a_missing_ca_file_is_a_problem_before_connecting(write_config, tmp_path: Path) -> None:
    from mailrelay_cli.config.completeness import require_complete

    settings = load_settings(
        write_config(f'[smtp]\nhost = "h"\nauth = "none"\ntls_ca_file = "{tmp_path / "no-ca.pem"}"\n')
    )
    with pytest.raises(ConfigError, match="smtp.tls_ca_file: .* is not a file"):
        require_complete(settings, "smtp")


def test_set_value_writes_a_properties_block_as_a_readable_multiline_string(tmp_path: Path) -> None:
    path = tmp_path / "settings.toml"
    block = "PROTOCOL=imap\nmail.${{PROTOCOL}}.host=${{IMAP_HOST_NAME}}\nmail.imap.ssl.enable=true\n"
    set_value(path, "imap.host", "imap.example.com")
    set_value(path, "imap.properties", block)
    assert "properties = '''\nPROTOCOL=imap\nmail.${{PROTOCOL}}.host" in path.read_text()
    assert load_settings(path).imap.properties == block


@pytest.mark.parametrize("block", ["mail.imap.foo=${{NOPE}}\n", "mail.imap.port=abc\n"])
def test_set_value_refuses_a_properties_block_config_check_would_reject(tmp_path: Path, block: str) -> None:
    path = tmp_path / "settings.toml"
    path.write_text('[imap]\nhost = "imap.example.com"\n')
    with pytest.raises(ConfigError, match="imap.properties line 1"):
        set_value(path, "imap.properties", block)
    assert path.read_text() == '[imap]\nhost = "imap.example.com"\n'
