"""What `loraport serve` says about the bots: the endpoint URL to give each platform, with the public URL."""

from core.settings import get_settings
from web.bots import status_lines


def test_status_lines_give_the_full_endpoint_urls_with_the_public_url(monkeypatch):
    monkeypatch.setenv("SLACK_SIGNING_SECRET", "s")
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-1")
    monkeypatch.setenv("DISCORD_PUBLIC_KEY", "ab" * 32)
    monkeypatch.setenv("DISCORD_APP_ID", "123")
    monkeypatch.setenv("LORAPORT_PUBLIC_URL", "https://loraport.example.com/")
    lines = status_lines(get_settings())
    assert "on at POST https://loraport.example.com/slack/events" in lines[0]
    assert "on at POST https://loraport.example.com/discord/interactions" in lines[1]


def test_status_lines_without_a_public_url_give_the_paths(monkeypatch):
    monkeypatch.setenv("SLACK_SIGNING_SECRET", "s")
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-1")
    lines = status_lines(get_settings())
    assert "on at POST /slack/events" in lines[0] and "off" in lines[1]
