"""Discord: the sidekick as HTTP interactions at ``POST /discord/interactions`` of the web server.

Every request is verified first (Ed25519 over ``timestamp + raw body`` with the application's public key; stale or
replayed: 401). PING answers PONG. The ``/loraport`` command (``message``, optional ``attachment``) is answered at
once with a deferred reply (type 5); the turn then runs and its messages go out through the interaction webhook
(``/webhooks/{app_id}/{token}``: the first edits the "thinking…" reply, the rest are follow-ups). Approve / Reject
are message buttons: a click from anyone but the requester (or an admin) gets an ephemeral refusal; a valid click
updates the message (buttons gone) and runs the answer. Interaction tokens last 15 minutes: later milestones of a
long job go to the channel with the bot token, when one is configured.

One agent thread per channel (a Discord thread is a channel): ``discord-<guild>-<channel>``.
"""

import json
import logging
import re
import time
from urllib.parse import urlsplit

import httpx
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from core.errors import LoraportError
from core.settings import Settings
from web.bots import security
from web.bots.files import RemoteFile, download_uploads
from web.bots.milestones import Post
from web.bots.relay import Relay

log = logging.getLogger(__name__)
PING, COMMAND, COMPONENT = 1, 2, 3
PONG, REPLY, DEFERRED, UPDATE = 1, 4, 5, 7
EPHEMERAL = 64
TOKEN_LIFE_S = 14 * 60  # Discord's interaction tokens last 15 minutes; keep a margin
CONTENT_MAX = 2000
FILE_MAX = 8 * 1024 * 1024  # what a webhook message may carry on any server
NO_PINGS = {"parse": []}  # text from the agent or a file never pings @everyone or a role


def thread_id_for(guild: str | None, channel: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]", "_", f"discord-{guild or 'dm'}-{channel}")[:80]


class DiscordSink:
    platform = "discord"

    def __init__(self, settings: Settings, token: str, channel: str, clean, *, deferred: bool):
        self.settings, self.token, self.channel, self.clean = settings, token, channel, clean
        self.deferred = deferred  # the first message replaces Discord's "thinking…" placeholder
        self.born = time.monotonic()

    async def post(self, post: Post) -> None:
        text = self.clean(post.text)
        if post.kind == "error":
            text = f":warning: {text}"
        payload: dict = {"content": text[:CONTENT_MAX], "allowed_mentions": NO_PINGS}
        if post.kind == "approval":
            who = f"<@{post.requester}>" if post.requester else "an admin"
            payload["content"] = f"**Approval needed**\n{text}"[:CONTENT_MAX - 80] + f"\nOnly {who} can answer."
            payload["components"] = approval_buttons(post.approval_id or "")
        file = post.file if post.file is not None and post.file.stat().st_size <= FILE_MAX else None
        if post.kind == "finished" and post.file is not None and file is None:
            panel = f" at {self.settings.public_url}" if self.settings.public_url else ""
            payload["content"] = (payload["content"] + "\n(The file is too large for Discord: download it from "
                                  f"the loraport panel{panel}.)")[:CONTENT_MAX]
        await self.send(payload, file, f"loraport-{post.job_id}.safetensors")

    async def send(self, payload: dict, file=None, filename: str | None = None) -> None:
        base, app_id = self.settings.discord_api_base.rstrip("/"), self.settings.discord_app_id
        headers: dict[str, str] = {}
        if time.monotonic() - self.born < TOKEN_LIFE_S:
            if self.deferred:
                self.deferred = False
                await _request("PATCH", f"{base}/webhooks/{app_id}/{self.token}/messages/@original", payload)
                if file is None:
                    return
                payload = {"content": "", "allowed_mentions": NO_PINGS}
            url = f"{base}/webhooks/{app_id}/{self.token}"
        elif self.settings.discord_bot_token is not None:
            url = f"{base}/channels/{self.channel}/messages"
            headers = {"Authorization": f"Bot {self.settings.discord_bot_token.get_secret_value()}"}
        else:
            log.warning("discord: interaction token expired and no DISCORD_BOT_TOKEN; a milestone was not posted")
            return
        await _request("POST", url, payload, headers, file=file, filename=filename)


async def _request(method: str, url: str, payload: dict, headers: dict | None = None, *, file=None,
                   filename: str | None = None) -> None:
    async with httpx.AsyncClient(timeout=60) as client:
        if file is None:
            response = await client.request(method, url, json=payload, headers=headers)
        else:  # multipart: the message as payload_json, the file as files[0]
            payload = {**payload, "attachments": [{"id": 0, "filename": filename}]}
            with open(file, "rb") as fh:
                response = await client.request(method, url, headers=headers,
                                                data={"payload_json": json.dumps(payload)},
                                                files={"files[0]": (filename, fh, "application/octet-stream")})
    if response.status_code >= 300:
        log.warning("discord %s %s -> %s", method, urlsplit(url).path.split("/webhooks/")[0], response.status_code)


def approval_buttons(approval_id: str) -> list[dict]:
    return [{"type": 1, "components": [
        {"type": 2, "style": 3, "label": "Approve", "custom_id": f"loraport:approve:{approval_id}"},
        {"type": 2, "style": 4, "label": "Reject", "custom_id": f"loraport:reject:{approval_id}"},
    ]}]


def _user(payload: dict) -> str:
    return str(((payload.get("member") or {}).get("user") or payload.get("user") or {}).get("id") or "")


def _channel(payload: dict) -> str:
    return str(payload.get("channel_id") or (payload.get("channel") or {}).get("id") or "")


class DiscordBot:
    def __init__(self, settings: Settings):
        self.settings = settings
        api_host = urlsplit(settings.discord_api_base).hostname or "discord.com"
        self.file_hosts = {"cdn.discordapp.com", "media.discordapp.net", api_host}

    async def command(self, relay: Relay, payload: dict) -> dict:
        data = payload.get("data") or {}
        if data.get("name") != "loraport":
            return {"type": REPLY, "data": {"content": "Unknown command.", "flags": EPHEMERAL}}
        options = {o.get("name"): o.get("value") for o in data.get("options") or []}
        attachments = (data.get("resolved") or {}).get("attachments") or {}
        files = [RemoteFile(a.get("filename") or "file", a.get("url") or "", a.get("size"))
                 for key, a in attachments.items() if key == options.get("attachment")]
        text = str(options.get("message") or "").strip()
        # Checked before answering, so a refusal can be private (a deferred reply's visibility is fixed up front).
        refusal = await relay.gate_message(thread_id_for(payload.get("guild_id"), _channel(payload)), "discord",
                                           _user(payload), text)
        if refusal:
            return {"type": REPLY, "data": {"content": relay.clean(refusal), "flags": EPHEMERAL,
                                            "allowed_mentions": NO_PINGS}}
        relay.spawn(self.run_message(relay, payload, text, files))
        return {"type": DEFERRED}

    async def run_message(self, relay: Relay, payload: dict, text: str, files: list[RemoteFile]) -> None:
        channel, user = _channel(payload), _user(payload)
        sink = DiscordSink(self.settings, payload["token"], channel, relay.clean, deferred=True)
        thread_id = thread_id_for(payload.get("guild_id"), channel)
        try:
            uploads = await download_uploads(relay.workspace, self.settings.max_upload_mb, files,
                                             allowed_hosts=self.file_hosts, platform="Discord")
            await relay.turn(thread_id, sink, user, "send", text or "here are the files", [u.path for u in uploads])
        except LoraportError as err:
            await sink.post(Post("error", err.message))
        if sink.deferred:  # nothing was posted (an empty turn): do not leave "thinking…" forever
            await sink.send({"content": "Done.", "allowed_mentions": NO_PINGS})

    async def component(self, relay: Relay, payload: dict) -> dict:
        custom = str((payload.get("data") or {}).get("custom_id") or "")
        match = re.fullmatch(r"loraport:(approve|reject):(.+)", custom)
        if not match:
            return {"type": REPLY, "data": {"content": "That button is not loraport's.", "flags": EPHEMERAL}}
        decision, approval_id, user = match.group(1), match.group(2), _user(payload)
        refusal = await relay.answer("discord", approval_id, user)
        if refusal:
            return {"type": REPLY, "data": {"content": relay.clean(refusal), "flags": EPHEMERAL,
                                            "allowed_mentions": NO_PINGS}}
        channel = _channel(payload)
        sink = DiscordSink(self.settings, payload["token"], channel, relay.clean, deferred=False)
        relay.spawn(relay.turn(thread_id_for(payload.get("guild_id"), channel), sink, user, decision, approval_id))
        before = ((payload.get("message") or {}).get("content") or "").split("\nOnly ")[0]
        verdict = f"{'Approved' if decision == 'approve' else 'Rejected'} by <@{user}>."
        return {"type": UPDATE, "data": {"content": relay.clean(f"{before}\n{verdict}")[:CONTENT_MAX],
                                         "components": [], "allowed_mentions": NO_PINGS}}


def router(settings: Settings, get_relay) -> APIRouter:
    """``POST /discord/interactions``: verified first, then PING, the command, or a button."""
    bot = DiscordBot(settings)
    api = APIRouter(tags=["bots"])

    @api.post("/discord/interactions", include_in_schema=False)
    async def interactions(request: Request) -> JSONResponse:
        body = await request.body()
        relay: Relay = get_relay(request.app)
        if not await relay.admit(
                "discord", lambda: security.verify_discord(settings.discord_public_key, request.headers, body)):
            return JSONResponse({"error": "invalid request signature"}, status_code=401)
        try:
            payload = json.loads(body)
        except (ValueError, RecursionError):
            payload = None
        if not isinstance(payload, dict):
            return JSONResponse({"error": "the body is not a JSON object"}, status_code=400)
        kind = payload.get("type")
        if kind == PING:
            return JSONResponse({"type": PONG})
        if str(payload.get("application_id")) != str(settings.discord_app_id):
            return JSONResponse({"error": "this interaction is for another application"}, status_code=400)
        if kind == COMMAND:
            return JSONResponse(await bot.command(relay, payload))
        if kind == COMPONENT:
            return JSONResponse(await bot.component(relay, payload))
        return JSONResponse({"error": f"interaction type {kind} is not handled"}, status_code=400)

    return api
