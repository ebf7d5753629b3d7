"""A loopback stand-in for Slack's Web API and Discord's REST API that records what the bots send.

One small FastAPI app on uvicorn in a thread on 127.0.0.1 (web.server.ThreadedServer): the bots' real clients
(slack_sdk's AsyncWebClient, httpx) talk HTTP to it exactly as they would to the platforms. It also serves the
files users "posted" (Slack: only with the bot token, as files.slack.com does).
"""

import json
import threading
import time
from itertools import count
from urllib.parse import parse_qsl

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

BOT_TOKEN = "xoxb-test-bot-token-1234567890"


class FakePlatforms:
    def __init__(self):
        self.calls: list[dict] = []  # {"api": "slack"|"discord", "method": ..., "args": {...}, "headers": {...}}
        self.files: dict[str, bytes] = {}
        self.uploads: dict[str, bytes] = {}
        self.downloads: list[dict] = []
        self.lock = threading.Lock()
        self._ts = count(1)
        self.app = self._build()

    def record(self, api: str, method: str, args: dict, headers) -> None:
        with self.lock:
            self.calls.append({"api": api, "method": method, "args": args, "headers": dict(headers)})

    def slack(self, method: str) -> list[dict]:
        with self.lock:
            return [c["args"] for c in self.calls if c["api"] == "slack" and c["method"] == method]

    def discord(self, method: str | None = None) -> list[dict]:
        with self.lock:
            return [c for c in self.calls if c["api"] == "discord" and (method is None or c["method"] == method)]

    def texts(self) -> list[str]:
        """Every text the bots sent anywhere (messages, blocks, comments, contents), as JSON strings."""
        with self.lock:
            return [json.dumps(c["args"]) for c in self.calls]

    def wait_for(self, predicate, timeout: float = 60.0, what: str = "a post"):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = predicate()
            if found:
                return found
            time.sleep(0.05)
        raise AssertionError(f"no {what} within {timeout:.0f} s; calls so far: {self.calls[-6:]}")

    def _build(self) -> FastAPI:
        app = FastAPI()

        @app.post("/slack/api/{method}")
        async def slack_api(method: str, request: Request) -> JSONResponse:
            args = dict(request.query_params)
            body = await request.body()
            if request.headers.get("content-type", "").startswith("application/json"):
                args.update(json.loads(body or b"{}"))
            else:
                args.update(dict(parse_qsl(body.decode())))
            self.record("slack", method, args, request.headers)
            if request.headers.get("authorization") != f"Bearer {BOT_TOKEN}":
                return JSONResponse({"ok": False, "error": "not_authed"})
            return JSONResponse(self._slack_answer(method, args, str(request.base_url)))

        @app.post("/slack/upload/{file_id}")
        async def slack_upload(file_id: str, request: Request) -> Response:
            self.uploads[file_id] = await request.body()
            return Response("OK - 1")

        @app.get("/slack/files/{name}")
        def slack_file(name: str, request: Request) -> Response:
            self.downloads.append({"name": name, "auth": request.headers.get("authorization")})
            if request.headers.get("authorization") != f"Bearer {BOT_TOKEN}":
                return Response("<html>sign in</html>", media_type="text/html")  # what Slack does
            return Response(self.files[name], media_type="application/octet-stream")

        @app.api_route("/discord/api/v10/{path:path}", methods=["POST", "PATCH"])
        async def discord_api(path: str, request: Request) -> JSONResponse:
            body = await request.body()
            ctype = request.headers.get("content-type", "")
            if ctype.startswith("multipart/form-data"):
                form = await request.form()
                args = json.loads(form["payload_json"])
                upload = form["files[0]"]
                args["_file"] = {"name": upload.filename, "size": len(await upload.read())}
            else:
                args = json.loads(body or b"{}")
            self.record("discord", f"{request.method} /{path}", args, request.headers)
            return JSONResponse({"id": str(next(self._ts)), **{k: v for k, v in args.items() if k == "content"}})

        @app.get("/discord/attachments/{name}")
        def discord_attachment(name: str) -> Response:
            self.downloads.append({"name": name})
            return Response(self.files[name], media_type="application/octet-stream")

        return app

    def _slack_answer(self, method: str, args: dict, base: str) -> dict:
        if method == "auth.test":
            return {"ok": True, "user_id": "UBOT", "bot_id": "BBOT", "team_id": "T1", "user": "loraport"}
        if method == "chat.postMessage":
            return {"ok": True, "channel": args.get("channel"), "ts": f"1700000{next(self._ts):03d}.000100"}
        if method == "files.getUploadURLExternal":
            file_id = f"F{next(self._ts)}"
            return {"ok": True, "file_id": file_id, "upload_url": f"{base}slack/upload/{file_id}"}
        if method == "files.completeUploadExternal":
            files = json.loads(args["files"]) if isinstance(args.get("files"), str) else args.get("files")
            return {"ok": True, "files": [{"id": f["id"], "title": f.get("title")} for f in files]}
        return {"ok": True}
