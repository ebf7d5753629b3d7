"""The access token: when ``LORAPORT_TOKEN`` is set, every HTTP request and websocket handshake must carry it.

A pure ASGI middleware rather than a route dependency, so no route (static files, docs, the websocket) can forget
it. The token may come as ``Authorization: Bearer``, an ``X-Loraport-Token`` header, a ``token`` query parameter
(the first page load) or the ``loraport_token`` cookie that the page load then sets, which the browser sends with
every later fetch and websocket handshake of the same origin.
"""

import hmac
from http.cookies import SimpleCookie
from urllib.parse import parse_qs

from starlette.datastructures import Headers
from starlette.responses import JSONResponse

COOKIE = "loraport_token"
SIGNED_PATHS = {"/slack/events", "/discord/interactions"}  # Slack and Discord sign each request (web/bots/security)


class TokenMiddleware:
    def __init__(self, app, token: str):
        self.app = app
        self.token = token.encode()

    async def __call__(self, scope, receive, send):
        if scope["type"] not in ("http", "websocket") or scope.get("path") in SIGNED_PATHS:
            return await self.app(scope, receive, send)
        offered, from_query = _offered_token(scope)
        if offered is None or not hmac.compare_digest(offered.encode(), self.token):
            if scope["type"] == "websocket":
                # Closing before accept makes the server answer the handshake with 403.
                return await send({"type": "websocket.close", "code": 1008, "reason": "missing or wrong token"})
            response = JSONResponse(
                {"error": "This loraport server needs its access token: open the link printed at start-up "
                          "(…/?token=…) or send 'Authorization: Bearer <LORAPORT_TOKEN>'."},
                status_code=401,
            )
            return await response(scope, receive, send)
        if not from_query or scope["type"] != "http":
            return await self.app(scope, receive, send)

        async def send_with_cookie(message):
            if message["type"] == "http.response.start":
                cookie = f"{COOKIE}={offered}; Path=/; HttpOnly; SameSite=Strict"
                message = {**message, "headers": [*message.get("headers", []), (b"set-cookie", cookie.encode())]}
            await send(message)

        await self.app(scope, receive, send_with_cookie)


def _offered_token(scope) -> tuple[str | None, bool]:
    headers = Headers(scope=scope)
    auth = headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        return auth[7:].strip(), False
    if headers.get("x-loraport-token"):
        return headers["x-loraport-token"], False
    query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
    if query.get("token"):
        return query["token"][0], True
    cookie = SimpleCookie()
    try:
        cookie.load(headers.get("cookie", ""))
    except Exception:  # a malformed cookie header is the same as none
        return None, False
    return (cookie[COOKIE].value, False) if COOKIE in cookie else (None, False)
