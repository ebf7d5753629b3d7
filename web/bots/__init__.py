"""Slack and Discord bots: routes of the web server that translate platform payloads into Sidekick calls and the
agent's events into chat messages. No logic of their own: the chat hub runs the turns and relays the jobs.

A bot is on only when its settings are present (Slack: SLACK_SIGNING_SECRET and SLACK_BOT_TOKEN; Discord:
DISCORD_PUBLIC_KEY and DISCORD_APP_ID); ``status_lines`` says which, for ``loraport serve``'s start-up lines.
Setting up each app: docs/bots.md.
"""

from fastapi import APIRouter, FastAPI

from core.settings import Settings
from core.workspace import Workspace


def slack_enabled(settings: Settings) -> bool:
    return settings.slack_signing_secret is not None and settings.slack_bot_token is not None


def discord_enabled(settings: Settings) -> bool:
    return bool(settings.discord_public_key) and bool(settings.discord_app_id)


def status_lines(settings: Settings) -> list[str]:
    base = (settings.public_url or "").rstrip("/")  # the URL to give Slack and Discord, when the operator set one
    slack = (f"on at POST {base}/slack/events" if slack_enabled(settings)
             else "off (set SLACK_SIGNING_SECRET and SLACK_BOT_TOKEN; see docs/bots.md)")
    if discord_enabled(settings):
        discord = f"on at POST {base}/discord/interactions" + (
            "" if settings.discord_bot_token else " (no DISCORD_BOT_TOKEN: jobs longer than 15 min post no milestones)")
    else:
        discord = "off (set DISCORD_PUBLIC_KEY and DISCORD_APP_ID; see docs/bots.md)"
    return [f"  slack bot: {slack}", f"  discord bot: {discord}"]


def get_relay(app: FastAPI):
    """The app's one relay, made on first use (it needs the chat hub, which the app owns)."""
    from web.bots.relay import Relay

    relay = getattr(app.state, "bot_relay", None)
    if relay is None:
        settings = app.state.settings
        relay = app.state.bot_relay = Relay(app.state.hub, Workspace(settings.home).ensure(), settings)
    return relay


def bots_router(settings: Settings) -> APIRouter:
    """The routes of the bots whose settings are present (an empty router when none is)."""
    router = APIRouter()
    if slack_enabled(settings):
        from web.bots import slack

        router.include_router(slack.router(settings, get_relay))
    if discord_enabled(settings):
        from web.bots import discord

        router.include_router(discord.router(settings, get_relay))
    return router
