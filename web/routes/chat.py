"""The chat websocket ``/ws/chat/{thread}``: frames in, the agent's events out (see web.chat_hub).

Client frames: ``{"type": "message", "text": ..., "uploads": [upload ids]}``, ``{"type": "approve", "id": ...}``,
``{"type": "reject", "id": ...}``. A frame that is not one of these gets an ``error`` event back on that socket
only; the connection stays open.
"""

import asyncio
import json
import re

from fastapi import APIRouter, WebSocket, WebSocketDisconnect

from core.errors import LoraportError
from web.chat_hub import Conn
from web.deps import WorkspaceDep
from web.uploads import load_upload

router = APIRouter(tags=["chat"])
THREAD_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,79}")
MAX_TEXT = 20_000
MAX_UPLOADS = 50


@router.websocket("/ws/chat/{thread_id}")
async def chat(websocket: WebSocket, thread_id: str, workspace: WorkspaceDep) -> None:
    await websocket.accept()
    if not THREAD_RE.fullmatch(thread_id):
        await websocket.send_json({"type": "error", "message": "Thread ids use letters, digits, '.', '-' and '_'."})
        await websocket.close(code=1008)
        return
    hub = websocket.app.state.hub
    conn = Conn(websocket)
    pump = asyncio.create_task(conn.pump())
    try:
        await hub.join(thread_id, conn)
        while True:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                raise WebSocketDisconnect(message.get("code", 1000))
            raw = message.get("text")
            try:
                if raw is None:  # a binary frame: files go through POST /api/uploads, frames are JSON text
                    raise LoraportError("Send frames as JSON text; upload files with POST /api/uploads and "
                                        "name their ids in \"uploads\".")
                method, args, echo = parse_frame(raw, workspace)
            except LoraportError as err:
                conn.offer({"type": "error", "message": err.message})
                continue
            if echo is not None:
                hub.broadcast(thread_id, echo)
            hub.submit(thread_id, method, *args)
    except WebSocketDisconnect:
        pass
    finally:
        hub.leave(thread_id, conn)
        await asyncio.wait([pump], timeout=1)  # let queued frames go out, not more


def parse_frame(raw: str, workspace) -> tuple[str, tuple, dict | None]:
    """(Sidekick method, its arguments, the frame every tab should see) from one client frame."""
    try:
        frame = json.loads(raw)
    except ValueError:
        raise LoraportError("That frame is not JSON: send {\"type\": \"message\", \"text\": \"...\"}.") from None
    if not isinstance(frame, dict):
        raise LoraportError("A frame must be a JSON object with a \"type\".")
    kind = frame.get("type")
    if kind == "message":
        text = frame.get("text")
        uploads = frame.get("uploads") or []
        if not isinstance(text, str) or not isinstance(uploads, list):
            raise LoraportError("A message frame needs \"text\" (a string) and optionally \"uploads\" (a list of ids).")
        if len(text) > MAX_TEXT:
            raise LoraportError(f"That message is {len(text)} characters; keep it under {MAX_TEXT}.")
        if len(uploads) > MAX_UPLOADS:  # each id is a manifest read; a frame of 10^5 ids would stall the server
            raise LoraportError(f"That message names {len(uploads)} uploads; attach at most {MAX_UPLOADS} "
                                "(put many clips in one upload or a .zip).")
        records = [load_upload(workspace, str(u)) for u in dict.fromkeys(map(str, uploads))]
        if not text.strip() and not records:
            raise LoraportError("That message is empty: type something or attach files.")
        echo = {"type": "text", "role": "user", "text": text, "uploads": [r.model_dump(mode="json") for r in records]}
        return "send", (text, [r.path for r in records]), echo
    if kind in ("approve", "reject"):
        approval_id = frame.get("id")
        if not isinstance(approval_id, str) or not approval_id:
            raise LoraportError(f"An {kind} frame needs the \"id\" of the approval request it answers.")
        return kind, (approval_id,), None
    if kind == "news":  # a job of the thread finished: tell what it found (an evaluation's verdict)
        return "news", (), None
    raise LoraportError(f"Unknown frame type {kind!r}: use message, approve, reject or news.")

