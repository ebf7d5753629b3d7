"""Uploads: old LoRA files and datasets (clips, images, a zip, caption files), streamed to disk with a size limit."""

from fastapi import APIRouter, Request

from web.deps import SettingsDep, WorkspaceDep
from web.uploads import UploadPublic, load_upload, receive_upload, upload_limit

router = APIRouter(prefix="/api/uploads", tags=["uploads"])

_MULTIPART_BODY = {
    "requestBody": {
        "required": True,
        "content": {"multipart/form-data": {"schema": {
            "type": "object",
            "properties": {"files": {"type": "array", "items": {"type": "string", "format": "binary"}}},
            "required": ["files"],
        }}},
    }
}


@router.post("", status_code=201, openapi_extra=_MULTIPART_BODY, responses={413: {"description": "Too large"}})
async def create_uploads(request: Request, workspace: WorkspaceDep, settings: SettingsDep) -> list[UploadPublic]:
    """Store the posted files: each .safetensors becomes a `lora` upload, everything else one `dataset` upload."""
    length = request.headers.get("content-length")
    return await receive_upload(
        workspace,
        request.headers.get("content-type", ""),
        int(length) if length and length.isdigit() else None,
        request.stream(),
        upload_limit(workspace, settings.max_upload_mb),
    )


@router.get("/{upload_id}")
def read_upload(upload_id: str, workspace: WorkspaceDep) -> UploadPublic:
    return load_upload(workspace, upload_id)
