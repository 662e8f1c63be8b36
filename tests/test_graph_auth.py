"""OAuth for Microsoft Graph: scopes, national clouds, other login hosts, and the offline-ready cache."""

from __future__ import annotations

import json
import tomllib
from collections.abc import Callable
from pathlib import Path

import pytest

from mailrelay_cli.auth.oauth_config import resolve
from mailrelay_cli.config import clouds
from mailrelay_cli.config.load import settings_from_table
from mailrelay_cli.config.records import Settings
from mailrelay_cli.errors import ConfigError
from tests.fixtures.graph_server import USER, FakeGraph, graph_toml
from tests.fixtures.oauth_fakes import SENTINEL, FakeIdentityService

DELEGATED = """
[smtp]
transport = "graph"
auth = "microsoft-oauth"
user = "alice@contoso.example"
client_id = "00000000-aaaa-bbbb-cccc-000000000001"
{smtp}
[approval]
enabled = true
mailbox = "graph"
{approval}
{rest}
"""


def load(text: str, tmp_path: Path) -> Settings:
    return settings_from_table(tomllib.loads(text), tmp_path / "settings.toml")


def delegated(tmp_path: Path, smtp: str = "", approval: str = "", rest: str = "") -> Settings:
    return load(DELEGATED.format(smtp=smtp, approval=approval, rest=rest), tmp_path)


def test_graph_sending_asks_for_mail_send_and_the_graph_mailbox_for_mail_readwrite(tmp_path) -> None:
    settings = delegated(tmp_path, approval="")
    assert "https://graph.microsoft.com/Mail.Send" in resolve(settings, "smtp").scopes
    assert resolve(settings, "imap").scopes == ("https://graph.microsoft.com/Mail.ReadWrite",)


def test_client_credentials_ask_for_the_graph_default_scope(tmp_path) -> None:
    settings = delegated(tmp_path, smtp='oauth_flow = "client-credentials"\ntenant_id = "contoso.example"')
    assert resolve(settings, "smtp").scopes == ("https://graph.microsoft.com/.default",)
    assert resolve(settings, "imap").scopes == ("https://graph.microsoft.com/.default",)


def test_smtp_and_imap_scopes_follow_the_us_government_cloud(tmp_path) -> None:
    settings = load(
        """
[smtp]
host = "smtp.office365.us"
auth = "microsoft-oauth"
user = "alice@agency.example"
client_id = "c"
authority = "https://login.microsoftonline.us"
[imap]
host = "outlook.office365.us"
auth = "microsoft-oauth"
""",
        tmp_path,
    )
    assert resolve(settings, "smtp").scopes == ("https://outlook.office365.us/SMTP.Send",)
    assert resolve(settings, "imap").scopes == ("https://outlook.office365.us/IMAP.AccessAsUser.All",)
    assert resolve(settings, "smtp").authority == "https://login.microsoftonline.us/organizations"
    assert settings.graph_endpoint == "https://graph.microsoft.us"


def test_graph_scopes_follow_the_china_cloud(tmp_path) -> None:
    settings = delegated(tmp_path, smtp='authority = "https://login.chinacloudapi.cn"')
    assert settings.graph_endpoint == "https://microsoftgraph.chinacloudapi.cn"
    assert resolve(settings, "imap").scopes == ("https://microsoftgraph.chinacloudapi.cn/Mail.ReadWrite",)


def test_a_mixed_set_of_clouds_is_refused(tmp_path) -> None:
    with pytest.raises(ConfigError) as raised:
        delegated(
            tmp_path,
            smtp='authority = "https://login.microsoftonline.us"',
            rest='[graph]\nendpoint = "https://microsoftgraph.chinacloudapi.cn"',
        )
    assert "mix clouds" in raised.value.message
    assert "graph.endpoint" in raised.value.message and "smtp.authority" in raised.value.message


def test_config_check_exits_78_for_a_mixed_set_of_clouds(run_cli, write_config) -> None:
    write_config(
        DELEGATED.format(
            smtp='authority = "https://login.microsoftonline.us"',
            approval="",
            rest='[imap]\nauthority = "https://login.chinacloudapi.cn"',
        )
    )
    result = run_cli("config", "check")
    assert result.exit_code == 78
    assert "imap.authority" in result.stderr


def test_an_authority_that_is_not_https_is_refused(tmp_path) -> None:
    with pytest.raises(ConfigError) as raised:
        delegated(tmp_path, smtp='authority = "http://login.example.com"')
    assert "smtp.authority must be an https URL" in raised.value.message


def test_a_company_login_host_is_used_as_given_and_belongs_to_no_cloud() -> None:
    assert not clouds.is_known_authority("https://login.example.com")
    assert clouds.is_known_authority("https://login.microsoftonline.us")
    assert clouds.graph_resource("https://graph-proxy.example.com", "https://login.microsoftonline.us") == (
        "https://graph.microsoft.us"
    )


def test_graph_mailbox_without_oauth_is_reported_by_config_check(run_cli, write_config) -> None:
    write_config(
        DELEGATED.format(smtp="", approval="", rest='[imap]\nauth = "basic"\n').replace(
            "[approval]", 'from = "alice@contoso.example"\n[approval]'
        )
    )
    result = run_cli("config", "check")
    assert result.exit_code == 78
    assert "imap.auth is 'basic'" in result.stderr or "imap.auth is 'basic'" in result.stdout


# -- through msal's http_client seam ---------------------------------------------------------


@pytest.fixture
def device_graph(write_config: Callable[[str], Path], graph_server: FakeGraph, server_certs) -> FakeGraph:
    write_config(graph_toml(graph_server, server_certs.ca, flow="device-code"))
    graph_server.mailbox(USER)
    return graph_server


def test_auth_login_asks_for_the_graph_scopes_when_graph_is_configured(
    run_cli, device_graph, identity_service: FakeIdentityService
) -> None:
    identity_service.device_polls.extend(["success"])
    result = run_cli("auth", "login")
    assert result.exit_code == 0, result.stderr
    asked = identity_service.device_scope.split()
    assert "https://graph.microsoft.com/Mail.Send" in asked
    assert "https://graph.microsoft.com/Mail.ReadWrite" in asked
    assert not any("outlook" in scope for scope in asked)


def test_auth_status_says_which_apis_the_token_covers(
    run_cli, device_graph, identity_service: FakeIdentityService
) -> None:
    identity_service.device_polls.extend(["success"])
    run_cli("auth", "login")
    result = run_cli("auth", "status", "--json")
    smtp, imap = (json.loads(line) for line in result.stdout.splitlines())
    assert "Graph sendMail" in smtp["apis"]
    assert imap["apis"] == ["Graph mailbox (read, delete, drafts)"]
    assert "covers:        Graph sendMail" in run_cli("auth", "status").stdout


def test_a_run_with_a_valid_cached_token_makes_no_request_to_the_identity_service(
    run_cli, device_graph, identity_service: FakeIdentityService
) -> None:
    identity_service.device_polls.extend(["success"])
    assert run_cli("auth", "login").exit_code == 0
    assert (
        run_cli(
            "send", "--event", "request-completed", "--to", "ops@example.com", "--var", "instance_name=R1"
        ).exit_code
        == 0
    )  # gets and caches the token
    identity_service.requests.clear()
    result = run_cli(
        "send", "--event", "request-completed", "--to", "ops@example.com", "--var", "instance_name=R2"
    )
    assert result.exit_code == 0, result.stderr
    assert identity_service.requests == []  # no discovery: msal's HTTP cache was kept
    assert len(device_graph.sent) == 2


def test_without_the_kept_http_cache_msal_would_ask_for_discovery_again(
    run_cli, device_graph, identity_service: FakeIdentityService, isolated_env
) -> None:
    identity_service.device_polls.extend(["success"])
    assert run_cli("auth", "login").exit_code == 0
    identity_service.requests.clear()
    for path in isolated_env.rglob("msal-http-cache.json"):
        path.unlink()
    assert (
        run_cli(
            "send", "--event", "request-completed", "--to", "ops@example.com", "--var", "instance_name=R"
        ).exit_code
        == 0
    )
    assert any(method == "GET" for method, _, _ in identity_service.requests)


def test_a_company_login_host_is_reached_without_microsofts_instance_discovery(
    run_cli, write_config, graph_server: FakeGraph, server_certs, identity_service: FakeIdentityService
) -> None:
    write_config(
        graph_toml(graph_server, server_certs.ca, extra_smtp='authority = "https://login.example.com"')
    )
    identity_service.hosts.add("login.example.com")
    identity_service.client_secret = f"{SENTINEL}-SECRET"
    from mailrelay_cli.auth import credentials

    credentials.set_secret("default", "smtp.client_secret", f"{SENTINEL}-SECRET")
    graph_server.mailbox(USER)
    result = run_cli(
        "send", "--event", "request-completed", "--to", "ops@example.com", "--var", "instance_name=R"
    )
    assert result.exit_code == 0, result.stderr
    urls = [url for _, url, _ in identity_service.requests]
    assert not any("discovery/instance" in url for url in urls)
    assert all(url.startswith("https://login.example.com/") for url in urls)


def app_certificate(tmp_path: Path) -> tuple[Path, bytes]:
    """A PEM file with an app registration's certificate and RSA key, and the certificate."""
    import trustme

    leaf = trustme.CA(key_type=trustme.KeyType.RSA).issue_cert("mailrelay-app", key_type=trustme.KeyType.RSA)
    cert = leaf.cert_chain_pems[0].bytes()
    path = tmp_path / "app.pem"
    path.write_bytes(cert + leaf.private_key_pem.bytes())
    return path, cert


def test_client_credentials_with_a_certificate_get_a_graph_token_without_a_secret(
    run_cli,
    write_config,
    graph_server: FakeGraph,
    server_certs,
    tmp_path,
    identity_service: FakeIdentityService,
) -> None:
    path, cert = app_certificate(tmp_path)
    identity_service.client_certificate = cert
    write_config(graph_toml(graph_server, server_certs.ca, extra_smtp=f'client_certificate = "{path}"'))
    graph_server.mailbox(USER)
    result = run_cli(
        "send", "--event", "request-completed", "--to", "ops@example.com", "--var", "instance_name=R"
    )
    assert result.exit_code == 0, result.stderr
    (post,) = identity_service.posts("client_credentials")
    assert post.get("client_assertion") and "client_secret" not in post
    assert len(graph_server.sent) == 1


def test_a_certificate_the_app_registration_does_not_hold_exits_77(
    run_cli,
    write_config,
    graph_server: FakeGraph,
    server_certs,
    tmp_path,
    identity_service: FakeIdentityService,
) -> None:
    path, _ = app_certificate(tmp_path)
    identity_service.client_certificate = app_certificate(tmp_path / "..")[1]  # another one
    write_config(graph_toml(graph_server, server_certs.ca, extra_smtp=f'client_certificate = "{path}"'))
    result = run_cli(
        "send", "--event", "request-completed", "--to", "ops@example.com", "--var", "instance_name=R"
    )
    assert result.exit_code == 77
    assert str(path) in result.stderr and "AADSTS7000215" in result.stderr
    assert graph_server.sent == []


def test_a_certificate_file_without_a_key_exits_78_naming_the_key(
    run_cli, write_config, graph_server: FakeGraph, server_certs, tmp_path
) -> None:
    path, cert = app_certificate(tmp_path)
    path.write_bytes(cert)
    write_config(graph_toml(graph_server, server_certs.ca, extra_smtp=f'client_certificate = "{path}"'))
    result = run_cli(
        "send", "--event", "request-completed", "--to", "ops@example.com", "--var", "instance_name=R"
    )
    assert result.exit_code == 78
    assert "smtp.client_certificate" in result.stderr and "private key" in result.stderr


def test_a_delegated_token_graph_calls_expired_is_refreshed_with_the_refresh_token(
    run_cli, device_graph, identity_service: FakeIdentityService
) -> None:
    identity_service.device_polls.extend(["success"])
    assert run_cli("auth", "login").exit_code == 0
    assert (
        run_cli(
            "send", "--event", "request-completed", "--to", "ops@example.com", "--var", "instance_name=R1"
        ).exit_code
        == 0
    )
    device_graph.expired |= set(device_graph.tokens)  # revoked early, still valid in the cache
    refreshes = len(identity_service.posts("refresh_token"))
    result = run_cli(
        "send", "--event", "request-completed", "--to", "ops@example.com", "--var", "instance_name=R2"
    )
    assert result.exit_code == 0, result.stderr
    assert len(identity_service.posts("refresh_token")) == refreshes + 1
    assert len(device_graph.sent) == 2
