"""Inspect a LoRA: an uploaded file (multipart, streamed to the uploads dir under the size cap) or a workspace path."""

from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from core.errors import LoraportError
from tools.inspect import InspectReport, inspect_lora
from web.deps import SettingsDep, WorkspaceDep
from web.uploads import receive_upload, upload_limit

router = APIRouter(prefix="/api", tags=["inspect"])

_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {"schema": {"type": "object", "properties": {
                "file": {"type": "string", "format": "binary"}}, "required": ["file"]}},
            "application/json": {"schema": {"type": "object", "properties": {
                "path": {"type": "string", "description": "A LoRA file or folder inside the workspace."},
                "target": {"type": "string"}, "header_only": {"type": "boolean"}}, "required": ["path"]}},
        },
    }
}


@router.post("/inspect", openapi_extra=_BODY, responses={413: {"description": "Too large"}})
async def create_inspection(request: Request, workspace: WorkspaceDep, settings: SettingsDep,
                            target: str = "ltx-2.3", header_only: bool = False) -> InspectReport:
    """Inspect a LoRA: base model, rank, targets, weight health, and the verdict for the target model."""
    content_type = request.headers.get("content-type", "")
    if content_type.startswith("multipart/form-data"):
        length = request.headers.get("content-length")
        uploads = await receive_upload(workspace, content_type, int(length) if length and length.isdigit() else None,
                                       request.stream(), upload_limit(workspace, settings.max_upload_mb))
        loras = [u for u in uploads if u.kind == "lora"]
        if len(loras) != 1:
            raise LoraportError("Send exactly one LoRA (.safetensors) to inspect; other files were stored as an "
                                "upload but not inspected.")
        path = Path(loras[0].path)  # kept as an upload, so the agent can migrate it without a second upload
    else:
        body = await _json_body(request)
        path = _workspace_path(workspace.home, body.path)
        target = body.target or target
        header_only = header_only if body.header_only is None else body.header_only
    return await run_in_threadpool(inspect_lora, path, target=target, header_only=header_only)


class InspectPath(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)  # "false" is not False; a typo is not ignored

    path: str = Field(min_length=1, max_length=4096)
    target: str | None = Field(None, max_length=64)
    header_only: bool | None = None


async def _json_body(request: Request) -> InspectPath:
    usage = 'Send a LoRA file as multipart/form-data, or JSON {"path": "<file in the workspace>"}'
    raw = b""
    async for chunk in request.stream():  # a path is short: stop reading a huge body instead of holding it
        raw += chunk
        if len(raw) > 64 * 1024:
            raise LoraportError(f"{usage}: this body is over 64 KiB.", status_code=413)
    try:
        return InspectPath.model_validate_json(raw or b"null")
    except ValidationError as err:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'body'}: {e['msg']}" for e in err.errors()[:5])
        raise LoraportError(f"{usage} ({problems}).") from None


def _workspace_path(home: Path, raw: str) -> Path:
    """A path the client names must stay inside the workspace: the server's other files are not the client's."""
    if "\x00" in raw:
        raise LoraportError("That path holds a NUL character: name a LoRA file in the workspace.")
    root = Path(home).resolve()
    path = Path(raw).expanduser()
    path = (path if path.is_absolute() else root / path).resolve()
    if not path.is_relative_to(root):
        raise LoraportError(f"{raw} is outside the workspace: upload the file, or copy it under {root}.",
                            status_code=403)
    return path
