"""approval.on_decision: run once per decision, JSON on stdin, no shell, retried until it works."""

from __future__ import annotations

import json
import mailbox
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from mailrelay_cli import store
from mailrelay_cli.approvals import service as approvals
from mailrelay_cli.config.records import Settings
from mailrelay_cli.errors import ConfigError
from mailrelay_cli.replies import hooks
from mailrelay_cli.replies import run as replies
from tests.fixtures.approval_settings import approval_settings
from tests.reply_builders import reply, request_text

RECORDER = """\
import json, os, sys
payload = json.load(sys.stdin)
with open(sys.argv[1], "a") as out:
    out.write(json.dumps({"payload": payload, "argv": sys.argv[2:], "env": {
        k: os.environ[k] for k in ("MAILRELAY_APPROVAL_ID", "MAILRELAY_DECISION",
                                   "MAILRELAY_DECIDED_BY")}}) + "\\n")
sys.exit(int(os.environ.get("HOOK_EXIT", "0")))
"""


@pytest.fixture
def recorder(tmp_path: Path) -> tuple[Path, Path]:
    script = tmp_path / "record.py"
    script.write_text(RECORDER)
    return script, tmp_path / "calls.jsonl"


@pytest.fixture
def maildir(tmp_path: Path) -> mailbox.Maildir:
    return mailbox.Maildir(str(tmp_path / "Maildir"), create=True)


@pytest.fixture
def make_settings(tmp_path: Path, maildir) -> Callable[..., Settings]:
    def make(on_decision: object) -> Settings:
        hook = {} if on_decision is None else {"on_decision": on_decision}
        return approval_settings(
            tmp_path,
            '[smtp]\nhost = "127.0.0.1"\nfrom = "relay@example.com"\n',
            mailbox=f"maildir:{maildir._path}",
            **hook,
        )

    return make


def decide(
    settings: Settings, maildir: mailbox.Maildir, text: str = "Approve\nship it"
) -> approvals.ApprovalRequest:
    with store.open_store(settings.state_dir) as db:
        request = approvals.create_approval(settings, db, title="Deploy 1.4", approvers=["alice@example.com"])
    maildir.add(reply(request.subject, "alice@example.com", text, quoted=request_text(request.reference)))
    return request


def calls(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def test_the_hook_gets_the_decision_on_stdin_and_in_its_environment(make_settings, maildir, recorder) -> None:
    script, out = recorder
    settings = make_settings([sys.executable, str(script), str(out)])
    request = decide(settings, maildir)
    report = replies.process_replies(settings)
    assert [h.ok for h in report.hooks] == [True]
    [call] = calls(out)
    assert call["env"] == {
        "MAILRELAY_APPROVAL_ID": request.approval.id,
        "MAILRELAY_DECISION": "approved",
        "MAILRELAY_DECIDED_BY": "alice@example.com",
    }
    assert call["payload"]["status"] == "approved"
    assert call["payload"]["comment"] == "ship it"


def test_a_string_command_is_split_like_a_shell_but_never_run_by_one(
    make_settings, maildir, recorder
) -> None:
    script, out = recorder
    settings = make_settings(f"{sys.executable} {script} {out} 'two words' $HOME;echo")
    decide(settings, maildir)
    replies.process_replies(settings)
    [call] = calls(out)
    assert call["argv"] == ["two words", "$HOME;echo"]


def test_mail_content_never_reaches_the_command_line(make_settings, maildir, recorder) -> None:
    script, out = recorder
    settings = make_settings([sys.executable, str(script), str(out)])
    decide(settings, maildir, "Approve\n$(touch /tmp/pwned); `id`")
    replies.process_replies(settings)
    [call] = calls(out)
    assert call["argv"] == []
    assert call["payload"]["comment"] == "$(touch /tmp/pwned); `id`"


def test_a_failing_hook_is_reported_and_retried_on_the_next_run(
    make_settings, maildir, recorder, monkeypatch
) -> None:
    script, out = recorder
    settings = make_settings([sys.executable, str(script), str(out)])
    request = decide(settings, maildir)
    monkeypatch.setenv("HOOK_EXIT", "3")
    first = replies.process_replies(settings)
    assert [(h.ok, h.attempts) for h in first.hooks] == [(False, 1)]
    assert "exited 3" in first.failures[0]
    with store.open_store(settings.state_dir) as db:
        assert [h.approval_id for h in db.failing_hooks()] == [request.approval.id]
        assert approvals.get_approval(db, request.approval.id).status == "approved"
    monkeypatch.setenv("HOOK_EXIT", "0")
    second = replies.process_replies(settings)
    assert [(h.ok, h.attempts) for h in second.hooks] == [(True, 2)]
    with store.open_store(settings.state_dir) as db:
        assert db.failing_hooks() == []
    assert len(calls(out)) == 2


def test_a_hook_that_succeeded_is_not_run_again(make_settings, maildir, recorder) -> None:
    script, out = recorder
    settings = make_settings([sys.executable, str(script), str(out)])
    decide(settings, maildir)
    replies.process_replies(settings)
    replies.process_replies(settings)
    assert len(calls(out)) == 1


def test_a_missing_hook_command_is_a_failure_not_a_crash(make_settings, maildir) -> None:
    settings = make_settings(["/nonexistent/hook"])
    decide(settings, maildir)
    report = replies.process_replies(settings)
    assert report.hooks[0].error == "/nonexistent/hook: command not found"


def test_without_on_decision_no_hook_is_owed(make_settings, maildir) -> None:
    settings = make_settings(None)
    decide(settings, maildir)
    report = replies.process_replies(settings)
    assert report.hooks == ()
    with store.open_store(settings.state_dir) as db:
        assert db.hooks() == []


def test_an_unbalanced_quote_in_the_command_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="on_decision"):
        hooks.command_argv("/bin/notify 'unterminated")


ENV_RECORDER = """\
import json, os, sys
json.load(sys.stdin)
with open(sys.argv[1], "w") as out:
    json.dump(sorted(os.environ), out)
"""


def test_the_hook_never_gets_secrets_from_the_environment(
    make_settings, maildir, tmp_path, monkeypatch
) -> None:
    for name in ("MAILRELAY_SMTP_PASSWORD", "MAILRELAY_IMAP_PASSWORD", "MAILRELAY_SMTP_CLIENT_SECRET"):
        monkeypatch.setenv(name, "S3ntinel-secret")
    monkeypatch.setenv("MAILRELAY_APPROVAL_HMAC_KEY", "ab" * 32)
    # libpq's own password, the state store's, and names that only look like secrets
    for name in (
        "PGPASSWORD",
        "MAILRELAY_STATE_PASSWORD",
        "MAILRELAY_DEPLOY_TOKEN_SECRET",
        "MAILRELAY_API_KEY",
    ):
        monkeypatch.setenv(name, "S3ntinel-secret")
    monkeypatch.setenv("MAILRELAY_CONFIG", "/etc/mailrelay/settings.toml")
    script, out = tmp_path / "env.py", tmp_path / "env.json"
    script.write_text(ENV_RECORDER)
    settings = make_settings([sys.executable, str(script), str(out)])
    decide(settings, maildir)
    replies.process_replies(settings)
    seen = set(json.loads(out.read_text()))
    assert not {n for n in seen if "PASSWORD" in n or "SECRET" in n or "HMAC" in n or n.endswith("_KEY")}
    assert {"MAILRELAY_APPROVAL_ID", "MAILRELAY_CONFIG"} <= seen
