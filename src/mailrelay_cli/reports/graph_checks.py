"""The Microsoft Graph steps of ``mailrelay test``: sending and the reply mailbox, one check at a time.

Sending (``smtp.transport = "graph"``): settings, token, send (the test message
through ``sendMail``; a 403 names Mail.Send and the admin consent).

Reply mailbox (``approval.mailbox = "graph"``): settings, token, mailbox (its
Inbox answers), folder (``approval.folder`` found, its message count), delete:
proven by making a draft in the mailbox and deleting that draft again, so
nothing the user did not send is ever deleted by a test.
"""

from __future__ import annotations

import json

from mailrelay_cli.auth.logins import resolve_graph
from mailrelay_cli.config.completeness import require_complete
from mailrelay_cli.config.records import Role, Settings
from mailrelay_cli.errors import MailrelayError, ServerRefusedError
from mailrelay_cli.reports.check_steps import CheckStep, Section, build_test_message
from mailrelay_cli.transport.graph import IMMUTABLE_IDS, GraphClient, open_graph, raise_for
from mailrelay_cli.transport.transcript import Transcript


def _token_step(section: Section, settings: Settings, role: Role, client: GraphClient) -> None:
    from mailrelay_cli.auth.oauth_config import apis_of, resolve

    section.start("token")
    cfg = resolve(settings, role)
    client.token()
    who = f"app {cfg.client_id}" if cfg.flow == "client-credentials" else f"the login of {cfg.user}"
    section.passed(f"{', '.join(apis_of(cfg.scopes)) or ' '.join(cfg.scopes)} for {who} ({cfg.login_host})")


def send_steps(
    settings: Settings, to: str, transcript: Transcript | None = None
) -> tuple[list[CheckStep], str | None]:
    """Graph sending: settings, token, the test message through sendMail."""
    import email.policy

    from mailrelay_cli.outbound.graph_send import send_mime

    section = Section("Graph")
    message_id = None
    try:
        section.start("settings")
        require_complete(settings, "smtp")
        message, sender = build_test_message(settings, to)
        user = str(settings.smtp.user)
        if transcript:
            transcript.note(f"Microsoft Graph {settings.graph_endpoint} (sending)")
        with open_graph(resolve_graph(settings, "smtp"), transcript=transcript) as client:
            section.passed(f"sendMail as {user} through {settings.graph_endpoint}")
            _token_step(section, settings, "smtp", client)
            section.start("send")
            # UTF-8 headers (as SMTPUTF8) when an address needs them, as outbound.message does.
            utf8 = not (sender + to).isascii()
            policy = email.policy.SMTPUTF8 if utf8 else email.policy.SMTP
            send_mime(client, user, message.as_bytes(policy=policy), (to,))
            message_id = str(message["Message-ID"])
            section.passed(f"accepted for {to} ({message_id})")
    except MailrelayError as e:
        section.failed(e)
    return section.steps, message_id


def mailbox_steps(settings: Settings, transcript: Transcript | None = None) -> list[CheckStep]:
    """The Graph reply mailbox: settings, token, mailbox, folder, delete (of a draft of its own)."""
    from mailrelay_cli.replies.graph_mailbox import PERMISSION, GraphMailbox

    section = Section("Graph mailbox")
    try:
        section.start("settings")
        require_complete(settings, "imap")
        user = str(settings.imap.user)
        if transcript:
            transcript.note(f"Microsoft Graph {settings.graph_endpoint} (reply mailbox)")
        with open_graph(resolve_graph(settings, "imap"), transcript=transcript) as client:
            section.passed(f"{user} through {settings.graph_endpoint}")
            _token_step(section, settings, "imap", client)
            section.start("mailbox")
            client.get_json(
                client.path("users", user, "mailFolders", "inbox", query={"$select": "id,totalItemCount"}),
                f"the Inbox of {user}",
                permission=PERMISSION,
                user=user,
                headers={"Prefer": IMMUTABLE_IDS},
            )
            section.passed(f"{user} answers")
            section.start("folder")
            mailbox = GraphMailbox(client, settings, readonly=True)
            section.passed(
                f"{settings.approval.folder} (approval.folder): "
                f"{mailbox.total} message{'s' if mailbox.total != 1 else ''}"
            )
            section.start("delete")
            _prove_delete(client, user)
            section.passed("made a draft and deleted it again (Mail.ReadWrite)")
    except MailrelayError as e:
        section.failed(e)
    return section.steps


def _prove_delete(client: GraphClient, user: str) -> None:
    draft = {
        "subject": "mailrelay test: a draft deleted at once",
        "body": {"contentType": "text", "content": "Made by `mailrelay test` to prove it may delete."},
    }
    response = client.request(
        "POST",
        client.path("users", user, "messages"),
        body=json.dumps(draft).encode(),
        content_type="application/json",
        headers={"Prefer": IMMUTABLE_IDS},
    )
    raise_for(response, f"a draft in {user}", permission="Mail.ReadWrite", role="imap", user=user)
    draft_id = str(response.json().get("id") or "")
    if not draft_id:
        raise ServerRefusedError(
            f"Microsoft Graph made a draft in {user} but gave no id", hint="mailrelay test --imap-only"
        )
    response = client.request(
        "DELETE", client.path("users", user, "messages", draft_id), headers={"Prefer": IMMUTABLE_IDS}
    )
    raise_for(
        response, f"deleting the test draft in {user}", permission="Mail.ReadWrite", role="imap", user=user
    )
