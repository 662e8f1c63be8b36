"""The IMAP Properties parser alone: substitution, comments, every key, contradictions, errors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from mailrelay_cli.config import endpoints, imap_properties, schema
from mailrelay_cli.config.endpoints import Endpoint, endpoint_for
from mailrelay_cli.config.load import settings_from_table
from mailrelay_cli.config.records import ServerSettings
from mailrelay_cli.errors import ConfigError, ExitCode

DEFAULT_BLOCK = """\
PROTOCOL=imap
mail.${{PROTOCOL}}.host=${{IMAP_HOST_NAME}}
mail.${{PROTOCOL}}.port=${{IMAP_HOST_PORT}}
mail.${{PROTOCOL}}.socketFactory.class=javax.net.ssl.SSLSocketFactory
mail.${{PROTOCOL}}.starttls.enable=${{IMAP_ENABLE_STARTTLS}}
mail.${{PROTOCOL}}.socketFactory.port=${{IMAP_HOST_PORT}}
"""


def imap(properties: str | None = None, **fields: Any) -> ServerSettings:
    table = {"host": "imap.example.com", **fields}
    if properties is not None:
        table["properties"] = properties
    return settings_from_table({"imap": table}, Path("/etc/mailrelay.toml")).imap


def endpoint(properties: str, **fields: Any) -> Endpoint:
    return endpoint_for(imap(properties, **fields))


def config_error(properties: str, **fields: Any) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        endpoint(properties, **fields)
    assert caught.value.exit_code == ExitCode.CONFIG
    return caught.value


# -- the default block -------------------------------------------------------------


def test_default_block_on_port_993_is_implicit_tls_to_the_field_host() -> None:
    result = endpoint(DEFAULT_BLOCK, port=993)
    assert (result.host, result.port, result.security) == ("imap.example.com", 993, "tls")


def test_default_block_agrees_with_the_fields_so_it_adds_no_notes() -> None:
    assert endpoint(DEFAULT_BLOCK, port=993).notes == ()


def test_default_block_gives_the_same_endpoint_as_the_default_fields() -> None:
    assert endpoint(DEFAULT_BLOCK) == endpoint_for(imap())


def test_default_block_with_starttls_field_stays_implicit_tls_and_names_the_line() -> None:
    result = endpoint(DEFAULT_BLOCK, port=143, starttls=True)
    assert result.security == "tls"
    assert any("line 4" in note and "remove that line" in note for note in result.notes)


def test_fields_alone_when_properties_unset() -> None:
    result = endpoint_for(imap(port=143, starttls=True))
    assert (result.port, result.security, result.notes) == (143, "starttls", ())


# -- substitution and comments -----------------------------------------------------


def test_protocol_variable_selects_the_key_prefix() -> None:
    assert endpoint("PROTOCOL=imap\nmail.${{PROTOCOL}}.port=1143\n").port == 1143


def test_host_and_port_variables_come_from_the_fields() -> None:
    result = endpoint(
        "PROTOCOL=imap\nmail.imap.host=${{IMAP_HOST_NAME}}\nmail.imap.port=${{IMAP_HOST_PORT}}\n", port=1993
    )
    assert (result.host, result.port) == ("imap.example.com", 1993)


def test_enable_starttls_variable_is_the_field_as_true_or_false() -> None:
    text = "PROTOCOL=imap\nmail.imap.starttls.enable=${{IMAP_ENABLE_STARTTLS}}\n"
    assert endpoint(text, port=143, starttls=True).security == "starttls"
    assert endpoint(text, port=143, tls=False).security == "plain"


def test_comments_and_blank_lines_are_ignored() -> None:
    text = "# pasted from the release server\n\n   \n! java-style comment\nmail.imap.port=2143\n"
    assert endpoint(text).port == 2143


def test_spaces_around_key_and_value_are_trimmed() -> None:
    assert endpoint("  mail.imap.port =  2143  \n").port == 2143


def test_unknown_variable_is_a_config_error_naming_the_line() -> None:
    error = config_error("PROTOCOL=imap\n\nmail.imap.host=${{IMAP_HOST}}\n")
    assert "line 3" in error.message and "${{IMAP_HOST}}" in error.message
    assert "IMAP_HOST_NAME" in (error.hint or "")


def test_single_brace_variable_is_a_config_error_naming_the_line() -> None:
    error = config_error("mail.imap.host=${IMAP_HOST_NAME}\n")
    assert "line 1" in error.message and "double braces" in error.message


def test_protocol_variable_without_a_protocol_line_is_a_config_error() -> None:
    error = config_error("mail.${{PROTOCOL}}.port=993\n")
    assert "line 1" in error.message
    assert "PROTOCOL=imap" in (error.hint or "")


def test_protocol_other_than_imap_or_imaps_is_a_config_error() -> None:
    assert "line 1" in config_error("PROTOCOL=pop3\n").message


def test_two_different_protocol_lines_are_a_config_error_naming_both() -> None:
    error = config_error("PROTOCOL=imap\nmail.imap.port=1\nPROTOCOL=imaps\n")
    assert "line 3" in error.message and "line 1" in error.message


def test_line_without_equals_is_a_config_error_naming_the_line() -> None:
    error = config_error("PROTOCOL=imap\nmail.imap.port 993\n")
    assert "line 2" in error.message and "key=value" in error.message


def test_host_variable_without_imap_host_is_a_config_error() -> None:
    server = settings_from_table(
        {"imap": {"properties": "mail.imap.host=${{IMAP_HOST_NAME}}"}}, Path("/x")
    ).imap
    with pytest.raises(ConfigError) as caught:
        endpoint_for(server)
    assert "imap.host" in caught.value.message and "line 1" in caught.value.message


def test_host_from_properties_is_enough_without_the_field() -> None:
    server = settings_from_table({"imap": {"properties": "mail.imap.host=mail.example.org"}}, Path("/x")).imap
    assert endpoint_for(server).host == "mail.example.org"


# -- every key ---------------------------------------------------------------------


def test_host_property_overrides_the_field_and_says_so() -> None:
    result = endpoint("mail.imap.host=other.example.com\n")
    assert result.host == "other.example.com"
    assert "host other.example.com from imap.properties line 1 (imap.host = imap.example.com)" in result.notes


def test_port_property_overrides_the_field_and_says_so() -> None:
    result = endpoint("PROTOCOL=imap\n\nmail.imap.port=993\n", port=143, starttls=True)
    assert result.port == 993
    assert "port 993 from imap.properties line 3 (imap.port = 143)" in result.notes


def test_ssl_enable_true_is_implicit_tls() -> None:
    result = endpoint("mail.imap.ssl.enable=true\n", port=143, starttls=True)
    assert result.security == "tls"
    assert "implicit TLS from imap.properties line 1 (field imap.starttls = true)" in result.notes


def test_ssl_socket_factory_class_is_implicit_tls() -> None:
    text = "mail.imap.socketFactory.class=javax.net.ssl.SSLSocketFactory\n"
    assert endpoint(text, port=143, starttls=True).security == "tls"


def test_imaps_protocol_is_implicit_tls() -> None:
    assert endpoint("PROTOCOL=imaps\nmail.imaps.port=993\n", starttls=True).security == "tls"


def test_starttls_enable_is_starttls_and_required_by_default() -> None:
    result = endpoint("PROTOCOL=imap\nmail.imap.starttls.enable=true\n", port=143)
    assert (result.security, result.starttls_required) == ("starttls", True)


def test_starttls_required_alone_means_starttls() -> None:
    assert endpoint("mail.imap.starttls.required=true\n", port=143).security == "starttls"


def test_starttls_required_false_makes_starttls_optional_with_a_warning() -> None:
    result = endpoint("mail.imap.starttls.enable=true\nmail.imap.starttls.required=false\n", port=143)
    assert result.starttls_required is False
    assert any("STARTTLS is optional" in w for w in endpoints.warnings(result))


def test_ssl_enable_false_without_starttls_is_plain() -> None:
    assert endpoint("mail.imap.ssl.enable=false\n", port=143).security == "plain"


def test_block_saying_nothing_about_tls_keeps_the_fields_choice() -> None:
    assert endpoint("mail.imap.port=10143\n", starttls=True).security == "starttls"


def test_socket_factory_port_wins_over_port_as_in_javamail() -> None:
    text = (
        "mail.imap.socketFactory.class=javax.net.ssl.SSLSocketFactory\n"
        "mail.imap.port=143\nmail.imap.socketFactory.port=993\n"
    )
    result = endpoint(text)
    assert result.port == 993
    assert any("socketFactory.port=993 (line 3) wins over port=143 (line 2)" in n for n in result.notes)


def test_socket_factory_port_without_a_factory_is_ignored_and_listed() -> None:
    text = "mail.imap.port=143\nmail.imap.socketFactory.port=993\n"
    assert endpoint(text, starttls=True).port == 143
    ignored = imap_properties.resolve(text, imap()).ignored
    assert [(i.number, i.key) for i in ignored] == [(2, "mail.imap.socketFactory.port")]


def test_socket_factory_fallback_true_is_listed_as_not_honoured() -> None:
    ignored = imap_properties.resolve("mail.imap.socketFactory.fallback=true\n", imap()).ignored
    assert len(ignored) == 1 and "never falls back" in ignored[0].reason


def test_socket_factory_fallback_false_is_what_mailrelay_does_anyway() -> None:
    assert imap_properties.resolve("mail.imap.socketFactory.fallback=false\n", imap()).ignored == ()


def test_ssl_protocols_sets_the_allowed_tls_versions() -> None:
    assert endpoint("mail.imap.ssl.protocols=TLSv1.3\n").tls_versions == ("TLSv1.3",)
    assert endpoint("mail.imap.ssl.protocols=TLSv1.2 TLSv1.3\n").tls_versions == ("TLSv1.2", "TLSv1.3")


def test_ssl_protocols_drops_insecure_versions_and_notes_it() -> None:
    result = endpoint("mail.imap.ssl.protocols=TLSv1 TLSv1.1 TLSv1.2\n")
    assert result.tls_versions == ("TLSv1.2",)
    assert any("TLSv1, TLSv1.1" in note and "dropped" in note for note in result.notes)


def test_ssl_protocols_with_only_insecure_versions_is_a_config_error() -> None:
    assert "line 1" in config_error("mail.imap.ssl.protocols=TLSv1.1\n").message


def test_ssl_protocols_with_an_unknown_version_is_a_config_error() -> None:
    error = config_error("PROTOCOL=imap\nmail.imap.ssl.protocols=TLS1.2\n")
    assert "line 2" in error.message and "TLSv1.2" in (error.hint or "")


def test_ssl_trust_star_turns_verification_off_with_a_warning() -> None:
    result = endpoint("mail.imap.ssl.trust=*\n")
    assert result.verify is False
    assert any("certificate checks are off" in w for w in endpoints.warnings(result))


def test_ssl_trust_host_names_become_trusted_hosts() -> None:
    result = endpoint("mail.imap.ssl.trust=imap.example.com backup.example.com\n")
    assert result.verify is True
    assert result.trusted_hosts == ("imap.example.com", "backup.example.com")


def test_ssl_trust_naming_the_host_warns_that_its_checks_are_off() -> None:
    result = endpoint("mail.imap.ssl.trust=imap.example.com\n")
    assert any("ssl.trust=imap.example.com" in w for w in endpoints.warnings(result))


def test_ssl_trust_naming_another_host_does_not_warn() -> None:
    assert endpoints.warnings(endpoint("mail.imap.ssl.trust=other.example.com\n")) == ()


def test_checkserveridentity_is_on_unless_written_false() -> None:
    assert endpoint("mail.imap.port=993\n").check_hostname is True
    assert endpoint("mail.imap.ssl.checkserveridentity=true\n").check_hostname is True
    result = endpoint("mail.imap.ssl.checkserveridentity=false\n")
    assert result.check_hostname is False
    assert any("host name is not checked" in w for w in endpoints.warnings(result))


def test_verified_endpoint_has_no_warnings() -> None:
    assert endpoints.warnings(endpoint(DEFAULT_BLOCK)) == ()


def test_timeouts_are_milliseconds() -> None:
    result = endpoint("mail.imap.connectiontimeout=2500\nmail.imap.timeout=10000\n")
    assert (result.connect_timeout, result.timeout) == (2.5, 10.0)


def test_timeout_note_names_the_field_it_overrides() -> None:
    result = endpoint("mail.imap.timeout=10000\n")
    assert "timeout 10s from imap.properties line 1 (imap.timeout = 30s)" in result.notes


def test_zero_timeout_keeps_the_field_and_is_listed_as_not_honoured() -> None:
    text = "mail.imap.timeout=0\n"
    assert endpoint(text, timeout=12).timeout == 12.0
    (ignored,) = imap_properties.resolve(text, imap(timeout=12)).ignored
    assert "wait forever" in ignored.reason and "12s" in ignored.reason


def test_non_numeric_timeout_is_a_config_error_naming_the_line() -> None:
    error = config_error("PROTOCOL=imap\nmail.imap.timeout=10s\n")
    assert "line 2" in error.message and "milliseconds" in error.message


def test_bad_port_is_a_config_error_naming_the_line() -> None:
    assert "line 1" in config_error("mail.imap.port=99999\n").message


def test_bad_boolean_is_a_config_error_naming_the_line() -> None:
    error = config_error("mail.imap.ssl.enable=yes\n")
    assert "line 1" in error.message and "true or false" in error.message


def test_custom_socket_factory_class_is_a_config_error() -> None:
    error = config_error("mail.imap.socketFactory.class=com.example.TrustAllFactory\n")
    assert "line 1" in error.message


def test_empty_host_is_a_config_error() -> None:
    assert "line 1" in config_error("mail.imap.host=\n").message


# -- keys with no meaning here ------------------------------------------------------


def test_unknown_keys_are_listed_as_ignored_with_their_line() -> None:
    text = "PROTOCOL=imap\nmail.imap.partialfetch=false\nmail.debug=true\nmail.imap.user=bob\n"
    ignored = imap_properties.resolve(text, imap()).ignored
    assert [(i.number, i.key) for i in ignored] == [
        (2, "mail.imap.partialfetch"),
        (3, "mail.debug"),
        (4, "mail.imap.user"),
    ]
    assert "imap.user" in ignored[2].reason


def test_misspelt_key_is_ignored_with_a_suggestion() -> None:
    (ignored,) = imap_properties.resolve("mail.imap.ssl.protocol=TLSv1.2\n", imap()).ignored
    assert "did you mean mail.imap.ssl.protocols?" in ignored.reason


def test_keys_for_the_other_protocol_are_ignored() -> None:
    text = "PROTOCOL=imap\nmail.imaps.port=993\n"
    (ignored,) = imap_properties.resolve(text, imap()).ignored
    assert ignored.number == 2 and "protocol is imap" in ignored.reason
    assert endpoint(text).port == 993  # the field's port; the line had no effect


def test_only_imaps_keys_mean_the_imaps_protocol() -> None:
    assert endpoint("mail.imaps.port=1993\n").port == 1993


def test_store_protocol_chooses_the_prefix_without_a_protocol_line() -> None:
    result = endpoint("mail.store.protocol=imaps\nmail.imaps.port=1993\nmail.imap.port=1\n")
    assert (result.port, result.security) == (1993, "tls")


def test_a_key_set_twice_counts_once_and_the_earlier_line_is_listed() -> None:
    text = "mail.imap.port=1\nmail.imap.port=2\n"
    assert endpoint(text).port == 2
    (ignored,) = imap_properties.resolve(text, imap()).ignored
    assert (ignored.number, ignored.reason) == (1, "line 2 sets it again")


def test_overrides_record_the_field_they_disagree_with() -> None:
    resolution = imap_properties.resolve("mail.imap.port=143\n", imap(port=993))
    (override,) = resolution.overrides
    assert (override.field, override.value, override.field_value, override.source) == (
        "imap.port",
        143,
        993,
        "imap.properties line 1",
    )
    assert override.disagrees


# -- what config show and config check say ------------------------------------------


def test_config_rows_give_an_overridden_field_the_property_value_and_line() -> None:
    from mailrelay_cli.config.display import describe

    settings = settings_from_table(
        {
            "imap": {
                "host": "imap.example.com",
                "port": 143,
                "properties": "PROTOCOL=imap\nmail.imap.port=993\n",
            }
        },
        Path("/x"),
    )
    rows = {row.key: row for row in imap_properties.config_rows(describe(settings), settings.imap)}
    assert (rows["imap.port"].value, rows["imap.port"].source) == (993, "imap.properties line 2 (file: 143)")


def test_config_rows_add_a_row_for_properties_without_a_field() -> None:
    from mailrelay_cli.config.display import describe

    settings = settings_from_table(
        {"imap": {"host": "h", "properties": "mail.imap.ssl.protocols=TLSv1.3\nmail.imap.x=1\n"}}, Path("/x")
    )
    rows = {row.key: row for row in imap_properties.config_rows(describe(settings), settings.imap)}
    assert (rows["mail.imap.ssl.protocols"].value, rows["mail.imap.ssl.protocols"].source) == (
        "TLSv1.3",
        "imap.properties line 1",
    )
    assert rows["mail.imap.x"].source == "imap.properties line 2: ignored, no meaning here"


def test_check_warnings_list_ignored_lines_and_checks_turned_off() -> None:
    found = endpoints.check_warnings(imap("mail.debug=true\nmail.imap.ssl.trust=*\n"))
    assert found[0] == (
        "imap.properties line 1: mail.debug ignored: not an IMAP key (only mail.imap.* has a meaning here)"
    )
    assert any("certificate checks are off" in line for line in found)


def test_check_warnings_are_empty_for_the_default_block() -> None:
    assert endpoints.check_warnings(imap(DEFAULT_BLOCK)) == []


@pytest.mark.parametrize(
    "line",
    [
        "mail.imap.password=hunter2",
        "mail.${{PROTOCOL}}.pass=hunter2",
        "password=hunter2",
        "mail.imaps.auth.ntlm.passwd=hunter2",
        "mail.imap.sasl.token=hunter2",
        "mail.imap.apiKey=hunter2",
        "mail.smtp.credentials=hunter2",
    ],
)
def test_secret_like_property_is_a_config_error_naming_the_line(line: str) -> None:
    with pytest.raises(ConfigError) as caught:
        schema.refuse_secrets(f"# pasted\nPROTOCOL=imap\n{line}\n")
    assert caught.value.exit_code == ExitCode.CONFIG
    assert "imap.properties line 3" in caught.value.message
    assert "mailrelay secret set imap.password" in caught.value.hint
    assert "hunter2" not in caught.value.message + caught.value.hint


def test_the_parser_refuses_a_secret_like_property() -> None:
    with pytest.raises(ConfigError, match="imap.properties line 1"):
        imap_properties.parse("mail.imap.password=hunter2\n", imap())


def test_known_and_elsewhere_property_keys_are_not_secrets() -> None:
    keys = [*imap_properties.KNOWN_KEYS, *imap_properties._ELSEWHERE]
    assert keys
    assert [key for key in keys if schema.is_secret_key(f"mail.imap.{key}")] == []
    schema.refuse_secrets("".join(f"mail.imap.{key}=x\n" for key in keys))  # raises on a secret
