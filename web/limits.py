"""A declared body over the JSON limit is answered with the API's JSON error before a byte of it is read.

FastAPI's per-router ``max_body_size`` (set in ``web.app``) stops a body streamed past the limit; when the client
declares the size up front, Starlette answers a bare ``Content Too Large`` text. This answers those in the API's
shape, ``{"error": ...}``, for every route but the two that stream uploads to disk under their own limit.
"""

from starlette.datastructures import Headers
from starlette.responses import JSONResponse

STREAMED = ("/api/uploads", "/api/inspect")


class DeclaredBodyLimit:
    def __init__(self, app, *, max_bytes: int):
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http" and not scope.get("path", "").startswith(STREAMED):
            length = Headers(scope=scope).get("content-length", "")
            if length.isdigit() and int(length) > self.max_bytes:
                message = (f"Request body too large: JSON bodies are limited to {self.max_bytes >> 10} KiB. "
                           "Send files with POST /api/uploads.")
                return await JSONResponse({"error": message}, status_code=413)(scope, receive, send)
        return await self.app(scope, receive, send)
