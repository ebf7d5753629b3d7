"""Files posted in chat (an old LoRA, clips, a zip) downloaded into the same upload storage as the web's uploads.

The same names rules (``safe_filename``: no pickles, no path tricks), the same limit (``upload_limit``: the
configured maximum and the free disk) counted while the bytes stream, the same zip check and the same manifest
(``uploads/<id>.json``). The platform's token goes only to the platform's own hosts.
"""

import secrets
import shutil
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx

from core.errors import LoraportError
from core.workspace import Workspace
from web.uploads import UploadPublic, UploadTooLarge, _file_uploads, _unique, safe_filename, upload_limit

CHUNK = 1 << 20


@dataclass
class RemoteFile:
    name: str
    url: str
    size: int | None = None


async def download_uploads(workspace: Workspace, max_upload_mb: int, files: list[RemoteFile], *,
                           allowed_hosts: set[str], headers: dict[str, str] | None = None,
                           platform: str = "chat") -> list[UploadPublic]:
    """Download ``files`` and file them as uploads (each LoRA its own, the rest one dataset); all or nothing."""
    if not files:
        return []
    limit = upload_limit(workspace, max_upload_mb)
    if sum(f.size or 0 for f in files) > limit:
        raise _too_large(limit)
    incoming = workspace.uploads_dir / f".incoming-{secrets.token_hex(8)}"
    incoming.mkdir(parents=True)
    try:
        paths, total = [], 0
        async with httpx.AsyncClient(timeout=httpx.Timeout(60, connect=10), follow_redirects=True,
                                     max_redirects=5) as client:
            for remote in files:
                path = _unique(incoming / safe_filename(remote.name))
                total += await _fetch(client, remote, path, headers or {}, allowed_hosts, limit - total, platform)
                paths.append(path)
        return _file_uploads(workspace, incoming, paths)
    finally:
        shutil.rmtree(incoming, ignore_errors=True)


async def _fetch(client: httpx.AsyncClient, remote: RemoteFile, path, headers: dict[str, str],
                 allowed_hosts: set[str], room: int, platform: str) -> int:
    host = urlsplit(remote.url).hostname or ""
    if host not in allowed_hosts:
        raise LoraportError(f"{remote.name}: not a {platform} file link, so it was not downloaded.")
    written = 0
    async with client.stream("GET", remote.url, headers=headers) as response:
        if response.status_code != 200:
            raise LoraportError(f"{remote.name}: {platform} refused the download (HTTP {response.status_code}). "
                                "Check the bot's file permission (Slack: the files:read scope), then post it again.")
        if response.headers.get("content-type", "").startswith("text/html"):  # Slack's answer to a missing scope
            raise LoraportError(f"{remote.name}: {platform} sent a web page instead of the file. Give the bot the "
                                "files:read scope, reinstall it, then post the file again.")
        with open(path, "wb") as out:
            async for chunk in response.aiter_bytes(CHUNK):
                written += len(chunk)
                if written > room:  # counted before writing, like the web upload: nothing past the limit lands
                    raise _too_large(room)
                out.write(chunk)
    return written


def _too_large(limit: int) -> UploadTooLarge:
    return UploadTooLarge(f"Those files are larger than {limit // (1024 * 1024)} MiB, the most this server accepts "
                          "now (LORAPORT_MAX_UPLOAD_MB, and free disk). Send fewer or shorter clips.")
