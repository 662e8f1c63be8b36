"""``mailrelay send``: through the CLI, against real aiosmtpd servers, parsing what they got."""

from __future__ import annotations

import io
import json
import socket
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from mailrelay_cli.auth import credentials
from tests.fixtures.smtp_servers import SMTP_PASSWORD, RecordingHandler, SmtpServer


def configure(write_config: Callable[[str], Path], server: SmtpServer, extra: str = "", **smtp: Any) -> None:
    if server.security == "plain" and "auth" not in smtp:
        smtp["auth"] = "none"
    write_config(server.toml(**smtp) + extra)


def attachments_of(server: SmtpServer) -> dict[str, bytes]:
    [received] = server.messages
    return {
        part.get_filename(): part.get_payload(decode=True) for part in received.message().iter_attachments()
    }


def zip_entries(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


@pytest.fixture
def plain(write_config, smtp_plain: SmtpServer) -> SmtpServer:  # type: ignore[no-untyped-def]
    configure(write_config, smtp_plain)
    return smtp_plain


@pytest.fixture
def logs(tmp_path: Path) -> dict[str, Path]:
    files = {}
    for name, text in (("build", "building\n"), ("deploy", "deploy failed\n")):
        files[name] = tmp_path / f"{name}.log"
        files[name].write_text(text)
    return files


def policy(write_config, server: SmtpServer, value: str, extra: str = "") -> None:  # type: ignore[no-untyped-def]
    configure(write_config, server, f'\n[notifications]\nattach_logs = "{value}"\n{extra}')


# --- sending ---------------------------------------------------------------------------


def test_send_delivers_the_event_and_says_to_whom(run_cli, plain: SmtpServer) -> None:  # type: ignore[no-untyped-def]
    result = run_cli("send", "--event", "test", "--to", "Ops <ops@Example.COM>")
    assert result.exit_code == 0, result.stderr
    [received] = plain.messages
    message = received.message()
    assert result.stdout.startswith("sent test to ops@example.com (Message-ID <")
    assert message["Message-ID"] in result.stdout
    assert message["Subject"] == "[mailrelay] Test notification"
    assert message["Auto-Submitted"] == "auto-generated"


def test_json_prints_the_pinned_keys(run_cli, plain: SmtpServer) -> None:  # type: ignore[no-untyped-def]
    result = run_cli("send", "--event", "test", "--to", "a@example.com", "--cc", "b@example.com", "--json")
    line = json.loads(result.stdout)
    assert list(line) == ["event", "message_id", "recipients", "refused", "approval_id"]
    assert line["event"] == "test"
    assert line["recipients"] == ["a@example.com", "b@example.com"]
    assert line["refused"] == [] and line["approval_id"] is None
    assert plain.messages[0].message()["Message-ID"] == line["message_id"]


@pytest.mark.parametrize("event", ["test", "request-completed", "request-failed"])
def test_each_event_arrives_with_a_text_and_an_html_part(
    run_cli,
    plain: SmtpServer,  # type: ignore[no-untyped-def]
    event: str,
) -> None:
    result = run_cli(
        "send",
        "--event",
        event,
        "--to",
        "ops@example.com",
        "--var",
        "instance_name=Release 2.4",
        "--var",
        "project=webshop",
    )
    assert result.exit_code == 0, result.stderr
    message = plain.messages[0].message()
    assert message.get_content_type() == "multipart/alternative"
    assert "Release 2.4" in message.get_body(("plain",)).get_content()
    assert "<strong>Release 2.4</strong>" in message.get_body(("html",)).get_content()


def test_recipients_come_from_the_settings_and_variables_from_stdin(
    run_cli,
    write_config,  # type: ignore[no-untyped-def]
    smtp_plain: SmtpServer,
) -> None:
    configure(
        write_config,
        smtp_plain,
        '\n[events.request-failed]\nto = ["ops@example.com"]\ncc = ["lead@example.com"]\n',
    )
    result = run_cli(
        "send",
        "--event",
        "request-failed",
        "--payload",
        "-",
        input=json.dumps({"instance_name": "Release 2.4", "error": "db timeout"}),
    )
    assert result.exit_code == 0, result.stderr
    [received] = smtp_plain.messages
    assert received.rcpt_tos == ("ops@example.com", "lead@example.com")
    assert received.message()["Cc"] == "lead@example.com"
    assert "db timeout" in received.message().get_body(("plain",)).get_content()


def test_var_wins_over_the_payload(run_cli, plain: SmtpServer, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    payload = tmp_path / "payload.json"
    payload.write_text(json.dumps({"instance_name": "from payload", "project": "webshop"}))
    run_cli(
        "send",
        "--event",
        "request-completed",
        "--to",
        "ops@example.com",
        "--payload",
        str(payload),
        "--var",
        "instance_name=from var",
    )
    assert plain.messages[0].message()["Subject"] == "[webshop] Completed: from var"


def test_subject_overrides_the_templates(run_cli, plain: SmtpServer) -> None:  # type: ignore[no-untyped-def]
    run_cli("send", "--event", "test", "--to", "ops@example.com", "--subject", "Hand-made")
    assert plain.messages[0].message()["Subject"] == "Hand-made"


def test_non_ascii_subject_names_and_bodies_round_trip(run_cli, plain: SmtpServer) -> None:  # type: ignore[no-untyped-def]
    result = run_cli(
        "send",
        "--event",
        "request-failed",
        "--to",
        "Zoë Ångström <zoe@bücher.example>",
        "--var",
        "instance_name=Déploiement 2.4 ✓",
        "--var",
        "error=Fehler: Größe 完了",
    )
    assert result.exit_code == 0, result.stderr
    [received] = plain.messages
    message = received.message()
    assert received.rcpt_tos == ("zoe@xn--bcher-kva.example",)
    assert message["Subject"] == "[release] FAILED: Déploiement 2.4 ✓"
    assert message["To"].addresses[0].display_name == "Zoë Ångström"
    assert "Fehler: Größe 完了" in message.get_body(("plain",)).get_content()
    assert "Fehler: Größe 完了" in message.get_body(("html",)).get_content()


def test_it_logs_in_and_never_prints_the_password(
    run_cli,
    write_config,  # type: ignore[no-untyped-def]
    smtp_starttls: SmtpServer,
) -> None:
    credentials.set_secret("default", "smtp.password", SMTP_PASSWORD)
    configure(write_config, smtp_starttls)
    result = run_cli("-v", "send", "--event", "test", "--to", "ops@example.com")
    assert result.exit_code == 0, result.stderr
    assert len(smtp_starttls.messages) == 1
    assert SMTP_PASSWORD not in result.stdout + result.stderr


# --- input errors: before any server is contacted ---------------------------------------


def test_no_recipient_is_a_usage_error_naming_the_settings_key(run_cli, plain: SmtpServer) -> None:  # type: ignore[no-untyped-def]
    result = run_cli("send", "--event", "request-failed", "--var", "instance_name=R")
    assert result.exit_code == 2
    assert "events.request-failed.to" in result.stderr
    assert plain.messages == []


def test_a_missing_required_variable_exits_65_naming_it(run_cli, plain: SmtpServer) -> None:  # type: ignore[no-untyped-def]
    result = run_cli("send", "--event", "request-failed", "--to", "ops@example.com")
    assert result.exit_code == 65
    assert "instance_name" in result.stderr
    assert plain.messages == []


def test_an_unknown_event_is_a_usage_error_pointing_at_events_list(run_cli, plain: SmtpServer) -> None:  # type: ignore[no-untyped-def]
    result = run_cli("send", "--event", "nope", "--to", "ops@example.com")
    assert result.exit_code == 2
    assert "hint: mailrelay events list" in result.stderr


@pytest.mark.parametrize(
    "args",
    [
        ["--subject", "Hi\r\nBcc: victim@example.com"],
        ["--var", "instance_name=R\nBcc: victim@example.com"],
        ["--to", "ops@example.com\r\nBcc: victim@example.com"],
    ],
)
def test_header_injection_attempts_exit_65_and_send_nothing(
    run_cli,
    plain: SmtpServer,  # type: ignore[no-untyped-def]
    args: list[str],
) -> None:
    base = ["send", "--event", "request-failed", "--var", "instance_name=R"]
    if "--to" not in args:
        base += ["--to", "ops@example.com"]
    result = run_cli(*base, *args)
    assert result.exit_code == 65, result.stderr
    assert "line break" in result.stderr
    assert plain.messages == []


def test_a_bad_address_exits_65_naming_the_option(run_cli, plain: SmtpServer) -> None:  # type: ignore[no-untyped-def]
    result = run_cli("send", "--event", "test", "--to", "not-an-address")
    assert result.exit_code == 65
    assert "--to: 'not-an-address' is not an email address" in result.stderr


def test_a_payload_that_is_not_a_json_object_exits_65(run_cli, plain: SmtpServer) -> None:  # type: ignore[no-untyped-def]
    result = run_cli("send", "--event", "test", "--to", "ops@example.com", "--payload", "-", input="[1, 2]")
    assert result.exit_code == 65
    assert "must be a JSON object" in result.stderr


def test_an_empty_payload_on_standard_input_exits_65_saying_so(run_cli, plain: SmtpServer) -> None:  # type: ignore[no-untyped-def]
    result = run_cli("send", "--event", "test", "--to", "ops@example.com", "--payload", "-", input="")
    assert result.exit_code == 65
    assert "mailrelay: error: the payload on standard input is empty" in result.stderr
    assert "hint: " in result.stderr
    assert plain.messages == []


def test_an_empty_payload_file_exits_65_saying_so(
    run_cli,
    plain: SmtpServer,  # type: ignore[no-untyped-def]
    tmp_path: Path,
) -> None:
    empty = tmp_path / "payload.json"
    empty.write_text("")
    result = run_cli("send", "--event", "test", "--to", "ops@example.com", "--payload", str(empty))
    assert result.exit_code == 65
    assert f"mailrelay: error: payload {empty} is empty" in result.stderr
    assert plain.messages == []


def test_a_line_break_in_the_approval_title_exits_65_and_sends_nothing(  # type: ignore[no-untyped-def]
    run_cli, write_config, smtp_plain: SmtpServer, tmp_path: Path
) -> None:
    configure(
        write_config, smtp_plain, f'[approval]\nenabled = true\n[state]\npath = "{tmp_path / "state"}"\n'
    )
    result = run_cli(
        "send", "--event", "approval-requested", "--to", "alice@example.com", "--var", "title=a\nb"
    )
    assert result.exit_code == 65, result.stderr
    assert "variable title contains a line break" in result.stderr
    assert smtp_plain.messages == []


def test_a_var_without_equals_is_a_usage_error(run_cli, plain: SmtpServer) -> None:  # type: ignore[no-untyped-def]
    result = run_cli("send", "--event", "test", "--to", "ops@example.com", "--var", "oops")
    assert result.exit_code == 2


def test_approval_options_on_another_event_are_a_usage_error(run_cli, plain: SmtpServer) -> None:  # type: ignore[no-untyped-def]
    result = run_cli("send", "--event", "test", "--to", "ops@example.com", "--expires-in", "1h")
    assert result.exit_code == 2
    assert "--expires-in does not apply to event test" in result.stderr


@pytest.mark.parametrize(
    ("flag", "value", "said"),
    [
        ("--required", "two", "'two' is not a whole number"),
        ("--expires-in", "soon", "'soon' is not a duration"),
    ],
)
def test_a_bad_approval_option_value_is_a_usage_error(
    run_cli,
    plain: SmtpServer,  # type: ignore[no-untyped-def]
    flag: str,
    value: str,
    said: str,
) -> None:
    result = run_cli(
        "send",
        "--event",
        "approval-requested",
        "--to",
        "ops@example.com",
        "--var",
        "title=Deploy 1.4",
        flag,
        value,
    )
    assert result.exit_code == 2
    assert result.stderr.startswith(f"mailrelay: error: Invalid value for '{flag}': {said}")
    assert "hint: mailrelay send --help" in result.stderr
    assert plain.messages == []


def test_errors_under_json_are_one_object_on_stderr(run_cli, plain: SmtpServer) -> None:  # type: ignore[no-untyped-def]
    result = run_cli("send", "--event", "request-failed", "--to", "ops@example.com", "--json")
    error = json.loads(result.stderr)
    assert error["exit_code"] == 65 and "instance_name" in error["error"]


# --- dry run -----------------------------------------------------------------------------


def test_dry_run_prints_the_mime_message_and_contacts_no_server(run_cli, write_config) -> None:  # type: ignore[no-untyped-def]
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    port = listener.getsockname()[1]
    write_config(f'[smtp]\nhost = "127.0.0.1"\nport = {port}\nfrom = "relay@example.com"\n')
    try:
        result = run_cli(
            "send",
            "--event",
            "request-failed",
            "--to",
            "ops@example.com",
            "--var",
            "instance_name=Release 2.4",
            "--dry-run",
        )
        listener.setblocking(False)
        with pytest.raises(BlockingIOError):
            listener.accept()  # nobody knocked
    finally:
        listener.close()
    assert result.exit_code == 0, result.stderr
    assert "Subject: [release] FAILED: Release 2.4" in result.stdout
    assert "Content-Type: multipart/alternative" in result.stdout
    assert "Auto-Submitted: auto-generated" in result.stdout


def test_dry_run_needs_no_resolvable_host(run_cli, write_config) -> None:  # type: ignore[no-untyped-def]
    write_config('[smtp]\nhost = "smtp.does-not-exist.invalid"\nfrom = "relay@example.com"\n')
    result = run_cli("send", "--event", "test", "--to", "ops@example.com", "--dry-run")
    assert result.exit_code == 0, result.stderr
    assert "From: relay@example.com" in result.stdout


# --- attach logs -------------------------------------------------------------------------


def _send_failed(run_cli, *args: str):  # type: ignore[no-untyped-def]
    return run_cli(
        "send",
        "--event",
        "request-failed",
        "--to",
        "ops@example.com",
        "--var",
        "instance_name=Release 2.4",
        *args,
    )


def test_never_attaches_nothing(run_cli, write_config, smtp_plain, logs) -> None:  # type: ignore[no-untyped-def]
    policy(write_config, smtp_plain, "never")
    assert _send_failed(run_cli, "--log", str(logs["build"])).exit_code == 0
    assert attachments_of(smtp_plain) == {}


def test_always_attaches_one_log_under_its_design_name(
    run_cli,
    write_config,
    smtp_plain,  # type: ignore[no-untyped-def]
    logs,
) -> None:
    policy(write_config, smtp_plain, "always")
    result = _send_failed(run_cli, "--log", str(logs["build"]))
    assert result.exit_code == 0, result.stderr
    assert attachments_of(smtp_plain) == {"Release 2.4_1_build_local(1).log": b"building\n"}


def test_always_zips_several_logs_with_the_exact_names(
    run_cli,
    write_config,
    smtp_plain,
    logs,  # type: ignore[no-untyped-def]
    tmp_path: Path,
) -> None:
    policy(write_config, smtp_plain, "always")
    payload = tmp_path / "payload.json"
    payload.write_text(
        json.dumps(
            {
                "logs": [
                    {
                        "path": str(logs["build"]),
                        "step": 1,
                        "step_name": "Build",
                        "endpoint": "ci-1",
                        "execution_id": "981",
                    },
                    {
                        "path": str(logs["deploy"]),
                        "step": 2,
                        "step_name": "Deploy",
                        "endpoint": "web-1",
                        "execution_id": "982",
                        "failed": True,
                    },
                ]
            }
        )
    )
    result = _send_failed(run_cli, "--payload", str(payload))
    assert result.exit_code == 0, result.stderr
    files = attachments_of(smtp_plain)
    assert list(files) == ["Release 2.4_logs.zip"]
    assert zip_entries(files["Release 2.4_logs.zip"]) == {
        "1_Build_ci-1(981).log": b"building\n",
        "2_Deploy_web-1(982).log": b"deploy failed\n",
    }
    body = smtp_plain.messages[0].message().get_body(("plain",)).get_content()
    assert "Attached: Release 2.4_logs.zip" in body


def test_on_failure_attaches_only_the_failed_logs(run_cli, write_config, smtp_plain, logs) -> None:  # type: ignore[no-untyped-def]
    policy(write_config, smtp_plain, "on-failure")
    result = _send_failed(run_cli, "--log", str(logs["build"]), "--failed-log", str(logs["deploy"]))
    assert result.exit_code == 0, result.stderr
    assert attachments_of(smtp_plain) == {"Release 2.4_2_deploy_local(2).log": b"deploy failed\n"}


def test_on_failure_without_failed_logs_attaches_nothing(
    run_cli,
    write_config,
    smtp_plain,  # type: ignore[no-untyped-def]
    logs,
) -> None:
    policy(write_config, smtp_plain, "on-failure")
    result = run_cli(
        "send",
        "--event",
        "request-completed",
        "--to",
        "ops@example.com",
        "--var",
        "instance_name=R",
        "--log",
        str(logs["build"]),
    )
    assert result.exit_code == 0, result.stderr
    assert attachments_of(smtp_plain) == {}


def test_a_log_over_the_cap_is_cut_and_the_cut_is_reported(
    run_cli,
    write_config,
    smtp_plain,  # type: ignore[no-untyped-def]
    tmp_path: Path,
) -> None:
    policy(write_config, smtp_plain, "always", "max_attachment_mb = 0.01\n")
    big = tmp_path / "big.log"
    big.write_text("".join(f"line {n:05d}\n" for n in range(5000)))  # 55 kB
    result = _send_failed(run_cli, "--log", str(big))
    assert result.exit_code == 0, result.stderr
    assert f"note: {big} is larger than notifications.max_attachment_mb" in result.stderr
    [data] = attachments_of(smtp_plain).values()
    assert data.startswith(b"[mailrelay: log cut to its last ")
    assert data.endswith(b"line 04999\n")
    assert len(data) < 11 * 1024


def test_a_missing_log_exits_65_before_anything_is_sent(
    run_cli,
    write_config,
    smtp_plain,  # type: ignore[no-untyped-def]
    tmp_path: Path,
) -> None:
    policy(write_config, smtp_plain, "never")
    result = _send_failed(run_cli, "--log", str(tmp_path / "gone.log"))
    assert result.exit_code == 65
    assert "gone.log does not exist" in result.stderr
    assert smtp_plain.messages == []


@pytest.mark.parametrize("option", ["--log", "--failed-log"])
def test_a_log_that_is_a_directory_exits_65_before_anything_is_sent(  # type: ignore[no-untyped-def]
    run_cli, write_config, smtp_plain, tmp_path: Path, option: str
) -> None:
    policy(write_config, smtp_plain, "always")
    result = _send_failed(run_cli, option, str(tmp_path))
    assert result.exit_code == 65, result.stderr
    assert f"mailrelay: error: log {tmp_path} is a directory, not a file" in result.stderr
    assert "hint: fix the path in --log/--failed-log" in result.stderr
    assert smtp_plain.messages == []


def test_hostile_step_names_give_safe_attachment_names(
    run_cli,
    write_config,
    smtp_plain,
    logs,  # type: ignore[no-untyped-def]
    tmp_path: Path,
) -> None:
    policy(write_config, smtp_plain, "always")
    payload = tmp_path / "payload.json"
    payload.write_text(
        json.dumps(
            {
                "instance_name": "../Release\n2.4",
                "logs": [
                    {
                        "path": str(logs["build"]),
                        "step": 1,
                        "step_name": "../../etc/passwd",
                        "endpoint": "ci-1",
                        "execution_id": "9",
                    },
                    {
                        "path": str(logs["deploy"]),
                        "step": 2,
                        "step_name": "Deploy\r\nBcc: x@example.com",
                        "endpoint": "web/1",
                        "execution_id": "10",
                    },
                ],
            }
        )
    )
    result = run_cli(
        "send",
        "--event",
        "request-failed",
        "--to",
        "ops@example.com",
        "--payload",
        str(payload),
        "--subject",
        "hostile",
    )
    assert result.exit_code == 0, result.stderr
    files = attachments_of(smtp_plain)
    assert list(files) == ["Release_2.4_logs.zip"]
    assert list(zip_entries(files["Release_2.4_logs.zip"])) == [
        "1_etc_passwd_ci-1(9).log",
        "2_Deploy_Bcc_ x@example.com_web_1(10).log",
    ]


def test_logs_on_an_event_without_logs_are_a_usage_error(run_cli, plain, logs) -> None:  # type: ignore[no-untyped-def]
    result = run_cli("send", "--event", "test", "--to", "ops@example.com", "--log", str(logs["build"]))
    assert result.exit_code == 2


# --- server failures ---------------------------------------------------------------------


class RefuseNobody(RecordingHandler):
    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        if address.startswith("nobody"):
            return "550 5.1.1 User unknown"
        envelope.rcpt_tos.append(address)
        return "250 OK"


class Reject(RecordingHandler):
    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        return "550 5.7.1 Rejected by policy"


class DeferOnce(RecordingHandler):
    def __init__(self) -> None:
        super().__init__()
        self.calls = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.calls += 1
        if self.calls == 1:
            return "421 4.3.2 Try again later"
        return await super().handle_DATA(server, session, envelope)


def test_a_partial_refusal_sends_to_the_others_lists_the_refused_and_exits_69(  # type: ignore[no-untyped-def]
    run_cli, write_config, smtp_server_factory
) -> None:
    server = smtp_server_factory(handler=RefuseNobody(), security="plain", auth=False)
    configure(write_config, server)
    result = run_cli("send", "--event", "test", "--to", "ops@example.com", "--to", "nobody@example.com")
    assert result.exit_code == 69
    assert "refused: nobody@example.com: 550 5.1.1 User unknown" in result.stderr
    assert "--allow-partial" in result.stderr
    assert server.messages[0].rcpt_tos == ("ops@example.com",)


def test_allow_partial_accepts_a_partial_refusal(
    run_cli,
    write_config,  # type: ignore[no-untyped-def]
    smtp_server_factory,
) -> None:
    server = smtp_server_factory(handler=RefuseNobody(), security="plain", auth=False)
    configure(write_config, server)
    result = run_cli(
        "send",
        "--event",
        "test",
        "--to",
        "ops@example.com",
        "--to",
        "nobody@example.com",
        "--allow-partial",
        "--json",
    )
    assert result.exit_code == 0
    line = json.loads(result.stdout)
    assert line["recipients"] == ["ops@example.com"]
    assert line["refused"] == [{"address": "nobody@example.com", "code": 550, "reply": "5.1.1 User unknown"}]


def test_a_550_exits_69_with_the_servers_reply(run_cli, write_config, smtp_server_factory) -> None:  # type: ignore[no-untyped-def]
    server = smtp_server_factory(handler=Reject(), security="plain", auth=False)
    configure(write_config, server)
    result = run_cli("send", "--event", "test", "--to", "ops@example.com")
    assert result.exit_code == 69
    assert "550 5.7.1 Rejected by policy" in result.stderr
    assert f"127.0.0.1:{server.port}" in result.stderr


def test_a_421_is_retried_and_the_message_delivered_once(
    run_cli,
    write_config,  # type: ignore[no-untyped-def]
    smtp_server_factory,
) -> None:
    handler = DeferOnce()
    server = smtp_server_factory(handler=handler, security="plain", auth=False)
    configure(write_config, server, retry_for="1s")
    result = run_cli("send", "--event", "test", "--to", "ops@example.com")
    assert result.exit_code == 0, result.stderr
    assert handler.calls == 2
    assert len(server.messages) == 1


def test_a_server_that_stays_unreachable_exits_75(run_cli, write_config) -> None:  # type: ignore[no-untyped-def]
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    write_config(
        f'[smtp]\nhost = "127.0.0.1"\nport = {port}\nfrom = "relay@example.com"\n'
        'auth = "none"\nstarttls = false\nretry_for = "0s"\n'
    )
    result = run_cli("send", "--event", "test", "--to", "ops@example.com")
    assert result.exit_code == 75
    assert f"127.0.0.1:{port}" in result.stderr


def test_a_host_that_does_not_exist_exits_75_after_one_attempt(run_cli, write_config) -> None:  # type: ignore[no-untyped-def]
    skip_without_a_resolver()
    write_config(
        '[smtp]\nhost = "no-such-host.invalid"\nfrom = "relay@example.com"\n'
        'auth = "none"\nstarttls = false\nretry_for = "2m"\n'
    )
    result = run_cli("send", "--event", "test", "--to", "ops@example.com")
    assert result.exit_code == 75
    assert "cannot resolve no-such-host.invalid (smtp.host)" in result.stderr
    assert "gave up after 1 attempt: the name does not exist" in result.stderr
    assert "hint: check the spelling of smtp.host" in result.stderr


def skip_without_a_resolver() -> None:
    """Skip when this machine cannot ask DNS at all (then every lookup is EAI_AGAIN)."""
    try:
        socket.getaddrinfo("no-such-host.invalid", 25)
    except socket.gaierror as e:
        if e.errno == socket.EAI_AGAIN:
            pytest.skip("no DNS resolver answers here")


def test_send_works_when_the_template_cache_cannot_be_written(  # type: ignore[no-untyped-def]
    run_cli, plain: SmtpServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    import jinja2.bccache

    def refuse(*args: object, **kwargs: object) -> None:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(jinja2.bccache.tempfile, "NamedTemporaryFile", refuse)
    result = run_cli("send", "--event", "test", "--to", "ops@example.com")
    assert result.exit_code == 0, result.stderr
    assert len(plain.messages) == 1
