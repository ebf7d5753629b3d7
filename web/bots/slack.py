"""Slack: the sidekick in a Slack thread, as ``POST /slack/events`` of the web server (slack-bolt, async).

One URL takes the Events API (``app_mention`` in channels, ``message.im`` in direct messages), the ``/loraport``
slash command and interactivity (the Approve / Reject buttons). Each request is verified on its raw bytes and
checked for replays (web.bots.security) before bolt sees it; bolt acknowledges at once and the work runs after.

One agent thread per Slack thread: ``slack-<team>-<channel>-<thread_ts>``. A slash command opens a thread with a
first message. Files on the message (an old LoRA, clips, a zip) are downloaded with the bot token into the web's
upload storage and handed to the agent like a web upload.
"""

import html
import json
import logging
import re
from urllib.parse import parse_qs, urlsplit

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from slack_bolt.adapter.fastapi.async_handler import AsyncSlackRequestHandler
from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from core.errors import LoraportError
from core.settings import Settings
from web.bots import security
from web.bots.files import RemoteFile, download_uploads
from web.bots.milestones import Post
from web.bots.relay import Relay

log = logging.getLogger(__name__)
APPROVE, REJECT = "loraport_approve", "loraport_reject"
BLOCK_TEXT_MAX = 2900  # Block Kit section text is capped at 3000 characters
TEXT_MAX = 39000
USAGE = "Usage: `/loraport <message>`, e.g. `/loraport retrain my style LoRA with 20% more steps`."


def thread_id_for(team: str, channel: str, thread_ts: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]", "_", f"slack-{team}-{channel}-{thread_ts}")[:80]


def escape(text: str) -> str:
    """Slack mrkdwn control characters, so text from files or the agent can never ping @channel or fake a link."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def user_text(text: str) -> str:
    """The words of a mention, without the bot's ``<@U…>`` and with Slack's escapes undone."""
    return html.unescape(re.sub(r"<@[A-Z0-9]+(?:\|[^>]*)?>", "", text or "")).strip()


class SlackSink:
    platform = "slack"

    def __init__(self, client: AsyncWebClient, channel: str, thread_ts: str | None, clean):
        self.client, self.channel, self.thread_ts, self.clean = client, channel, thread_ts, clean

    async def post(self, post: Post) -> None:
        text = self.clean(escape(post.text))
        if post.kind == "approval":
            await self.client.chat_postMessage(channel=self.channel, thread_ts=self.thread_ts,
                                               text=f"Approval needed: {text}"[:TEXT_MAX],
                                               blocks=approval_blocks(text, post.approval_id, post.requester))
        elif post.kind == "finished" and post.file is not None:
            await self.client.files_upload_v2(channel=self.channel, thread_ts=self.thread_ts, file=str(post.file),
                                              filename=f"loraport-{post.job_id}.safetensors",
                                              initial_comment=text[:TEXT_MAX])
        else:
            prefix = ":warning: " if post.kind == "error" else ""
            await self.say(prefix + text)

    async def say(self, text: str) -> None:
        await self.client.chat_postMessage(channel=self.channel, thread_ts=self.thread_ts,
                                           text=self.clean(text)[:TEXT_MAX])

    async def whisper(self, user: str, text: str) -> None:
        """An ephemeral message only ``user`` sees (a refusal)."""
        await self.client.chat_postEphemeral(channel=self.channel, user=user, thread_ts=self.thread_ts,
                                             text=self.clean(text)[:TEXT_MAX])


def approval_blocks(text: str, approval_id: str | None, requester: str | None) -> list[dict]:
    who = f"<@{requester}>" if requester else "an admin"
    button = {"type": "button", "value": approval_id or ""}
    return [
        {"type": "section", "text": {"type": "mrkdwn", "text": text[:BLOCK_TEXT_MAX]}},
        {"type": "actions", "block_id": "loraport_approval", "elements": [
            {**button, "action_id": APPROVE, "style": "primary", "text": {"type": "plain_text", "text": "Approve"}},
            {**button, "action_id": REJECT, "style": "danger", "text": {"type": "plain_text", "text": "Reject"}},
        ]},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": f"Only {who} (or a loraport admin) can answer."}]},
    ]


class SlackBot:
    def __init__(self, settings: Settings):
        self.settings = settings
        self.client = AsyncWebClient(token=settings.slack_bot_token.get_secret_value(),
                                     base_url=settings.slack_api_base)
        self.app = AsyncApp(signing_secret=settings.slack_signing_secret.get_secret_value(), client=self.client,
                            process_before_response=False)
        self.handler = AsyncSlackRequestHandler(self.app)
        api_host = urlsplit(settings.slack_api_base).hostname or "slack.com"
        self.file_hosts = {"files.slack.com", api_host}
        self._register()

    def _register(self) -> None:
        self.app.event("app_mention")(self._on_mention)
        self.app.event("message")(self._on_message)
        self.app.command("/loraport")(self._on_command)
        self.app.action(APPROVE)(self._on_action)
        self.app.action(REJECT)(self._on_action)

    # -- bolt listeners: acknowledge at once, work afterwards -------------------------------------------------
    async def _on_mention(self, ack, body, event, context) -> None:
        await ack()
        thread_ts = event.get("thread_ts") or event["ts"]
        context["relay"].spawn(self.handle_message(context["relay"], body.get("team_id") or event.get("team", ""),
                                                   event["channel"], thread_ts, event, reply_ts=thread_ts))

    async def _on_message(self, ack, body, event, context) -> None:
        await ack()
        if event.get("channel_type") != "im" or event.get("bot_id") or event.get("subtype") not in (None, "file_share"):
            return  # channel messages come as app_mention; edits, joins and our own posts are not requests
        thread_ts = event.get("thread_ts")  # a DM is one conversation until the user opens a thread in it
        context["relay"].spawn(self.handle_message(context["relay"], body.get("team_id") or "", event["channel"],
                                                   thread_ts or "dm", event, reply_ts=thread_ts))

    async def _on_command(self, ack, command, context) -> None:
        if not (command.get("text") or "").strip():
            await ack(USAGE)
            return
        await ack()
        context["relay"].spawn(self.handle_command(context["relay"], command))

    async def _on_action(self, ack, body, action, context) -> None:
        await ack()
        context["relay"].spawn(self.handle_action(context["relay"], body, action))

    # -- the work ---------------------------------------------------------------------------------------------
    async def handle_message(self, relay: Relay, team: str, channel: str, thread_key: str, event: dict, *,
                             reply_ts: str | None) -> None:
        thread_id = thread_id_for(team, channel, thread_key)
        sink = SlackSink(self.client, channel, reply_ts, relay.clean)
        user, text = event.get("user", ""), user_text(event.get("text", ""))
        try:
            refusal = await relay.gate_message(thread_id, "slack", user, text)
            if refusal:
                await sink.whisper(user, refusal)
                return
            files = [RemoteFile(f.get("name") or "file", f.get("url_private_download") or f.get("url_private", ""),
                                f.get("size")) for f in event.get("files") or []]
            token = self.settings.slack_bot_token.get_secret_value()
            uploads = await download_uploads(relay.workspace, self.settings.max_upload_mb, files,
                                             allowed_hosts=self.file_hosts, platform="Slack",
                                             headers={"Authorization": f"Bearer {token}"})
            if not text and not uploads:
                await sink.say("Yes? " + USAGE.replace("/loraport", "@loraport"))
                return
            await relay.turn(thread_id, sink, user, "send", text or "here are the files", [u.path for u in uploads])
        except LoraportError as err:
            await sink.post(Post("error", err.message))

    async def handle_command(self, relay: Relay, command: dict) -> None:
        channel, user, text = command["channel_id"], command["user_id"], command["text"].strip()
        root = await self.client.chat_postMessage(channel=channel, text=relay.clean(
            f"<@{user}> asked: {escape(text)}"))
        event = {"user": user, "text": text, "ts": root["ts"]}
        await self.handle_message(relay, command.get("team_id", ""), channel, root["ts"], event, reply_ts=root["ts"])

    async def handle_action(self, relay: Relay, body: dict, action: dict) -> None:
        user, approval_id = body["user"]["id"], action.get("value") or ""
        channel, message = body["channel"]["id"], body.get("message") or {}
        thread_ts = message.get("thread_ts") or message.get("ts")
        team = (body.get("team") or {}).get("id") or body["user"].get("team_id", "")
        sink = SlackSink(self.client, channel, thread_ts, relay.clean)
        refusal = await relay.answer("slack", approval_id, user)
        if refusal:
            await sink.whisper(user, refusal)
            return
        approved = action["action_id"] == APPROVE
        verdict = f"{'Approved' if approved else 'Rejected'} by <@{user}>."
        summary = next((b["text"]["text"] for b in message.get("blocks") or [] if b.get("type") == "section"), "")
        await self.client.chat_update(channel=channel, ts=message.get("ts"), text=verdict, blocks=[
            {"type": "section", "text": {"type": "mrkdwn", "text": summary[:BLOCK_TEXT_MAX] or "Approval"}},
            {"type": "context", "elements": [{"type": "mrkdwn", "text": verdict}]},
        ])
        await relay.turn(thread_id_for(team, channel, thread_ts), sink, user, "approve" if approved else "reject",
                         approval_id)


def router(settings: Settings, get_relay) -> APIRouter:
    """``POST /slack/events``: verified, de-duplicated, then handed to bolt."""
    bot = SlackBot(settings)
    secret = settings.slack_signing_secret.get_secret_value()
    api = APIRouter(tags=["bots"])

    @api.post("/slack/events", include_in_schema=False)
    async def slack_events(request: Request) -> Response:
        body = await request.body()
        relay: Relay = get_relay(request.app)
        if not await relay.admit("slack", lambda: security.verify_slack(secret, request.headers, body)):
            return JSONResponse({"error": "invalid request signature"}, status_code=401)
        if not _well_formed(request.headers.get("content-type", ""), body):  # else the Slack SDK fails inside
            return JSONResponse({"error": "the body is not a Slack event, command or action"}, status_code=400)
        event_id = _event_id(request.headers.get("content-type", ""), body)
        if event_id and not await relay.first_time(f"slack-event:{event_id}"):
            # A retry (X-Slack-Retry-Num) of an event already taken: answer OK so Slack stops, run nothing.
            return Response(status_code=200, headers={"X-Slack-No-Retry": "1"})
        return await bot.handler.handle(request, {"relay": relay})

    return api


def _well_formed(content_type: str, body: bytes) -> bool:
    """A JSON object (events), or a form whose ``payload``, when present, is a JSON object (buttons)."""
    try:
        if content_type.startswith("application/json"):
            return isinstance(json.loads(body), dict)
        form = parse_qs(body.decode("utf-8"), strict_parsing=False)
        return "payload" not in form or isinstance(json.loads(form["payload"][0]), dict)
    except (ValueError, RecursionError):  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        return False


def _event_id(content_type: str, body: bytes) -> str | None:
    if not content_type.startswith("application/json"):
        return None  # slash commands and button clicks are forms: the signature alone identifies them
    try:
        return json.loads(body).get("event_id")
    except (ValueError, AttributeError):
        return None
