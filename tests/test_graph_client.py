"""The Graph client's error mapping, throttling and TLS, and login scopes of mixed APIs."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest

from mailrelay_cli.auth.oauth_config import resolve
from mailrelay_cli.config.load import settings_from_table
from mailrelay_cli.errors import (
    AuthError,
    CertificateError,
    ConfigError,
    DataError,
    ServerRefusedError,
    TemporaryError,
)
from mailrelay_cli.transport.graph import GraphClient, Response, raise_for, retry_after
from tests.fixtures.graph_server import USER, FakeGraph


def graph_error(status: int, code: str) -> Response:
    return Response(status, {}, json.dumps({"error": {"code": code, "message": "words"}}).encode())


def fail(response: Response) -> BaseException:
    with pytest.raises(Exception) as raised:
        raise_for(response, "sendMail for x", permission="Mail.Send", role="smtp", user="x@example.com")
    return raised.value


@pytest.mark.parametrize(
    ("status", "code", "kind"),
    [
        (400, "ErrorInvalidRecipients", DataError),
        (400, "ErrorMimeContentInvalidBase64String", DataError),
        (413, "RequestBodyTooLarge", DataError),
        (400, "ErrorInvalidRequest", ConfigError),
        (404, "ErrorInvalidUser", ConfigError),
        (401, "InvalidAuthenticationToken", AuthError),
        (403, "ErrorAccessDenied", AuthError),
        (429, "TooManyRequests", TemporaryError),
        (503, "ServiceUnavailable", TemporaryError),
        (409, "ErrorIrresolvableConflict", ServerRefusedError),
    ],
)
def test_graph_errors_map_to_the_design_exit_codes(status: int, code: str, kind: type) -> None:
    error = fail(graph_error(status, code))
    assert type(error) is kind
    assert code in str(error)


def test_a_403_names_the_permission_admin_consent_and_access_policy() -> None:
    error = fail(graph_error(403, "ErrorAccessDenied"))
    assert "Mail.Send" in str(error) and "admin consent" in str(error)
    assert "application access policy" in str(error) and "x@example.com" in str(error)
    assert "Grant admin consent" in (error.hint or "")  # type: ignore[attr-defined]


def test_retry_after_is_read_in_seconds_with_a_fallback() -> None:
    assert retry_after({"retry-after": "7"}) == 7.0
    assert retry_after({"retry-after": "soon"}) == 5.0
    assert retry_after({}) == 5.0


def test_a_server_certificate_not_signed_by_tls_ca_file_exits_78_naming_the_key(
    graph_server: FakeGraph,
) -> None:
    client = GraphClient(graph_server.url, role="imap", token=lambda force: "t", ca_file=None, retry_for=0)
    with pytest.raises(CertificateError) as raised:
        client.request("GET", client.path("users", USER, "mailFolders", "inbox"))
    assert "imap.tls_ca_file" in (raised.value.hint or "")


def test_throttling_waits_the_retry_after_graph_asks_for(
    graph_server: FakeGraph, server_certs, identity_service
) -> None:
    graph_server.grant("T", "https://graph.microsoft.com/.default")
    graph_server.mailbox(USER)
    graph_server.throttle_requests = 2
    graph_server.retry_after = "3"
    waits: list[float] = []
    client = GraphClient(
        graph_server.url,
        role="smtp",
        token=lambda force: "T",
        ca_file=server_certs.ca,
        retry_for=60,
        sleep=waits.append,
    )
    response = client.request("GET", client.path("users", USER, "mailFolders", "inbox"))
    assert response.status == 200 and waits == [3.0, 3.0]


def test_a_login_shared_by_smtp_and_the_graph_mailbox_asks_for_one_apis_scopes(tmp_path: Path) -> None:
    settings = settings_from_table(
        tomllib.loads("""
[smtp]
host = "smtp.office365.com"
auth = "microsoft-oauth"
user = "alice@contoso.example"
client_id = "c"
[approval]
enabled = true
mailbox = "graph"
"""),
        tmp_path / "settings.toml",
    )
    smtp, imap = resolve(settings, "smtp"), resolve(settings, "imap")
    assert smtp.login_scopes == ("https://outlook.office.com/SMTP.Send",)
    assert imap.cache_role == "smtp"
    assert imap.scopes == ("https://graph.microsoft.com/Mail.ReadWrite",)  # got silently later


def test_a_post_is_tried_again_while_no_connection_can_be_made_then_exits_75() -> None:
    from tests.fixtures.smtp_servers import free_port

    now = [0.0]
    waits: list[float] = []

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        now[0] += seconds

    client = GraphClient(
        f"https://127.0.0.1:{free_port()}",
        role="smtp",
        token=lambda force: "T",
        retry_for=10,
        sleep=sleep,
        clock=lambda: now[0],
    )
    with pytest.raises(TemporaryError) as raised:
        client.request("POST", client.path("users", USER, "sendMail"), body=b"x")
    assert waits == [1.0, 2.0, 4.0]  # then the next wait (8 s) would pass retry_for
    assert "cannot reach Microsoft Graph" in raised.value.message


def test_the_transcript_of_a_pre_authenticated_url_hides_its_query(
    graph_server: FakeGraph, server_certs
) -> None:
    from mailrelay_cli.transport.transcript import Transcript

    transcript = Transcript()
    client = GraphClient(
        graph_server.url,
        role="smtp",
        token=lambda force: "T",
        ca_file=server_certs.ca,
        retry_for=0,
        transcript=transcript,
    )
    client.request("GET", "", absolute=f"{graph_server.url}/v1.0/users/{USER}/mailFolders/inbox?sig=SECRET")
    assert "C: GET /v1.0/users/builds@contoso.example/mailFolders/inbox?<redacted>" in transcript.lines
    assert "SECRET" not in transcript.text()


@pytest.mark.parametrize(
    ("method", "status", "headers", "tries"),
    [
        ("POST", 504, {}, 1),  # may have been carried out: never sent twice
        ("POST", 503, {}, 1),
        ("POST", 503, {"Retry-After": "2"}, 2),  # throttling: Graph asks for it again
        ("POST", 429, {"Retry-After": "2"}, 2),
        ("GET", 504, {}, 2),  # safe to repeat
    ],
)
def test_only_throttling_repeats_a_post_while_a_get_is_repeated_after_any_503_or_504(
    graph_server: FakeGraph, server_certs, method: str, status: int, headers: dict[str, str], tries: int
) -> None:
    graph_server.grant("T", "https://graph.microsoft.com/.default")
    graph_server.mailbox(USER)
    real = graph_server.answer
    left = [1]

    def answer(*args, **kwargs):  # type: ignore[no-untyped-def]
        if left[0]:
            left[0] -= 1
            return status, {"Content-Type": "application/json", **headers}, b'{"error": {"code": "X"}}'
        return real(*args, **kwargs)

    graph_server.answer = answer  # type: ignore[method-assign]
    waits: list[float] = []
    client = GraphClient(
        graph_server.url, role="smtp", token=lambda force: "T", ca_file=server_certs.ca, sleep=waits.append
    )
    if method == "POST":
        response = client.request("POST", client.path("users", USER, "sendMail"), body=b"eA==")
    else:
        response = client.request("GET", client.path("users", USER, "mailFolders", "inbox"))
    assert len(graph_server.requests) == tries
    assert response.status == (status if tries == 1 else 202 if method == "POST" else 200)


@pytest.fixture
def tls_listener(request):  # type: ignore[no-untyped-def]
    """An HTTPS port presenting the certificate ``request.param`` names (a fixture of certs.py)."""
    import socket
    import threading

    certs = request.getfixturevalue(request.param)
    listener = socket.create_server(("127.0.0.1", 0))
    context = certs.server_context()
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            try:
                context.wrap_socket(conn, server_side=True).close()
            except OSError:
                conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield listener.getsockname()[1]
    stop.set()
    listener.close()


@pytest.mark.parametrize(
    ("tls_listener", "said", "hinted"),
    [
        ("expired_certs", "certificate has expired", "renew it on the server"),
        ("wrong_host_certs", "mail.wrong.example", "graph.endpoint https://NAME"),
    ],
    indirect=["tls_listener"],
)
def test_a_bad_graph_certificate_is_explained_as_for_smtp_and_imap(
    tls_listener: int, server_certs, said: str, hinted: str
) -> None:
    client = GraphClient(
        f"https://localhost:{tls_listener}",
        role="smtp",
        token=lambda force: "T",
        ca_file=server_certs.ca,
        retry_for=0,
    )
    with pytest.raises(CertificateError) as raised:
        client.request("GET", client.path("users", USER, "mailFolders", "inbox"))
    assert raised.value.exit_code == 78
    assert said in raised.value.message and hinted in (raised.value.hint or "")
