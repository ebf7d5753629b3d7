"""Requests from other web sites are refused: a page elsewhere must not drive this server through the user's browser.

A browser lets any site POST a form to ``http://127.0.0.1:8000`` (an upload, a cancel) and open a websocket to it
(the chat, which can approve training); it marks such requests with an ``Origin`` header naming the site. So a
request whose ``Origin`` is not this server's own address (the ``Host`` it was sent to, the proxy's
``X-Forwarded-Host``, or ``LORAPORT_PUBLIC_URL``) gets a 403, whatever its token. Scripts, the CLI and the bots send
no ``Origin`` and are not affected.

Without an access token (loopback only) a site can also point its own domain at 127.0.0.1 (DNS rebinding) and then
look same-origin; the browser still sends that domain as ``Host``. So, with no token, a browser request (one with
``Origin`` or ``Sec-Fetch-Site``) must be addressed to a loopback name, the bound host or the public URL's host.
"""

import ipaddress
from urllib.parse import urlsplit

from starlette.datastructures import Headers
from starlette.responses import JSONResponse

from web.auth import SIGNED_PATHS


class OriginGuard:
    def __init__(self, app, *, token_set: bool, bound_host: str, public_url: str | None):
        self.app = app
        self.token_set = token_set
        public = urlsplit(public_url) if public_url else None
        self.public_netloc = public.netloc.lower() if public else None
        self.hosts = {"localhost", bound_host.lower().strip("[]")}
        if public and public.hostname:
            self.hosts.add(public.hostname)

    async def __call__(self, scope, receive, send):
        if scope["type"] not in ("http", "websocket") or scope.get("path") in SIGNED_PATHS:
            return await self.app(scope, receive, send)
        problem = self.problem(Headers(scope=scope))
        if problem is None:
            return await self.app(scope, receive, send)
        if scope["type"] == "websocket":  # closing before accept answers the handshake with 403
            return await send({"type": "websocket.close", "code": 1008, "reason": problem[:120]})
        return await JSONResponse({"error": problem}, status_code=403)(scope, receive, send)

    def problem(self, headers: Headers) -> str | None:
        """Why this request is refused, or None."""
        host = headers.get("host", "").lower()
        origin = headers.get("origin")
        if origin is not None:
            netloc = urlsplit(origin).netloc.lower() if origin != "null" else ""
            own = {host, headers.get("x-forwarded-host", "").lower(), self.public_netloc} - {"", None}
            if netloc not in own:
                return (f"Refused: this request came from another web site ({origin[:100]}), not from loraport's own "
                        "page. Open the panel at its own address; behind a proxy that changes the Host header, set "
                        "LORAPORT_PUBLIC_URL to the address people open. Scripts send no Origin header.")
        browser = origin is not None or "sec-fetch-site" in headers
        if browser and not self.token_set and not self._known_host(host):
            return (f"Refused: the browser addressed this server as {host[:100]!r}, which is not a loopback name. "
                    "Open it at http://127.0.0.1 or localhost, or set LORAPORT_PUBLIC_URL (and LORAPORT_TOKEN) to "
                    "serve it under another name.")
        return None

    def _known_host(self, host: str) -> bool:
        name = urlsplit(f"//{host}").hostname or ""
        if name in self.hosts:
            return True
        try:
            return ipaddress.ip_address(name).is_loopback
        except ValueError:
            return False
