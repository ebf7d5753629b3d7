"""The access token: with LORAPORT_TOKEN set, every HTTP request and websocket handshake must carry it."""

import pytest
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from core.errors import LoraportError
from core.settings import get_settings
from web.app import create_app
from web.server import check_binding


@pytest.fixture
def guarded(monkeypatch, scripted):
    monkeypatch.setenv("LORAPORT_TOKEN", "s3cret")
    with TestClient(create_app(sidekick_factory=scripted)) as c:
        yield c


def test_every_http_route_refuses_a_request_without_the_token(guarded):
    for path in ("/", "/api/health", "/api/jobs", "/static/app.js", "/openapi.json", "/api/nothing"):
        response = guarded.get(path)
        assert response.status_code == 401, path
        assert "token" in response.json()["error"]
    assert guarded.get("/api/health", headers={"Authorization": "Bearer wrong"}).status_code == 401


def test_token_as_bearer_header_or_query_then_cookie(guarded):
    assert guarded.get("/api/health", headers={"Authorization": "Bearer s3cret"}).status_code == 200
    page = guarded.get("/?token=s3cret")
    assert page.status_code == 200 and "loraport_token=s3cret" in page.headers["set-cookie"]
    assert "HttpOnly" in page.headers["set-cookie"]
    assert guarded.get("/api/health").status_code == 200  # the cookie the page load set


def test_websocket_handshake_needs_the_token(guarded):
    with pytest.raises(WebSocketDisconnect):
        with guarded.websocket_connect("/ws/chat/t1") as ws:
            ws.receive_json()
    with guarded.websocket_connect("/ws/chat/t1", headers={"X-Loraport-Token": "s3cret"}) as ws:
        assert ws.receive_json()["type"] == "replay_end"


def test_binding_beyond_loopback_requires_a_token():
    with pytest.raises(LoraportError, match="LORAPORT_TOKEN"):
        check_binding(get_settings(host="0.0.0.0"))
    check_binding(get_settings(host="127.0.0.1"))
    check_binding(get_settings(host="0.0.0.0", token="x"))
