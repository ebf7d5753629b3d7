"""Uploads: a multipart body streamed straight to disk, with the size limit enforced while it streams.

FastAPI's ``UploadFile`` spools the whole body to a temp file before the route runs, so a 50 GB upload would fill
the disk before any check. Here the request stream is fed chunk by chunk to python-multipart's parser and every
byte is counted against the limit (the configured maximum, and the free disk minus a reserve) before it is
written; the first byte over the limit aborts the request and removes what was written.

Storage: ``uploads/<id>/<file>`` plus a manifest ``uploads/<id>.json`` (outside the folder, so a dataset import of
the folder never sees it). Each ``.safetensors`` becomes its own ``lora`` upload; media, zips and caption files in
the same request become one ``dataset`` upload.
"""

import json
import os
import re
import secrets
import shutil
import stat
import unicodedata
import zipfile
from collections.abc import AsyncIterator
from email.message import Message
from pathlib import Path
from typing import Literal

from pydantic import BaseModel
from python_multipart.multipart import MultipartParser, parse_options_header

from core.atomic import atomic_write_json
from core.disk import DiskFullError, human_bytes, is_disk_full
from core.errors import LoraportError, NotFoundError
from core.store import now_iso
from core.workspace import Workspace
from tools.dataset.sources import TAR_ARCHIVES
from trainer.media import MEDIA_EXTS

LORA_EXT = {".safetensors"}
DATASET_EXT = MEDIA_EXTS | {".zip", ".tar", ".txt", ".jsonl", ".json", ".csv"}  # .tar: any TAR_ARCHIVES name
PICKLE_EXT = {".ckpt", ".pt", ".pth", ".bin", ".pkl", ".pickle"}
DISK_RESERVE = 256 * 1024 * 1024  # never let an upload take the last 256 MiB: the database and logs need room
MAX_FILES = 2000


class UploadTooLarge(LoraportError):
    status_code = 413


class StoredFile(BaseModel):
    name: str
    size: int


class UploadPublic(BaseModel):
    id: str
    kind: Literal["lora", "dataset"]
    path: str
    files: list[StoredFile]
    created_at: str


def upload_limit(workspace: Workspace, max_upload_mb: int) -> int:
    """Bytes one request may write: the configured cap, or less when the disk is nearly full."""
    free = shutil.disk_usage(workspace.uploads_dir).free
    return max(0, min(max_upload_mb * 1024 * 1024, free - DISK_RESERVE))


def _why_limit(folder: Path, limit: int) -> str:
    """Which bound set ``limit``: the configured maximum, or a nearly full disk (said with its free space)."""
    free = shutil.disk_usage(folder).free
    if free - DISK_RESERVE <= limit:
        return (f"the workspace's disk has {human_bytes(free)} free and {DISK_RESERVE >> 20} MiB of it stays for "
                "the database and logs; free some space")
    return "LORAPORT_MAX_UPLOAD_MB"


def safe_filename(raw: str) -> str:
    """The base name a browser sent, reduced to characters that cannot walk out of a directory.

    Letters and digits of any script stay (a Japanese or accented name keeps pairing with its caption file);
    separators, control and shell characters become ``_``; a long name is shortened in its stem, never in its
    extension, to 200 characters and 240 UTF-8 bytes (file systems allow 255 bytes a name)."""
    base = unicodedata.normalize("NFC", re.split(r"[\\/]", raw or "")[-1]).strip()
    base = re.sub(r"[^\w. -]", "_", base)
    stem, suffix = os.path.splitext(base)
    while stem and (len(stem) + len(suffix) > 200 or len((stem + suffix).encode()) > 240):
        stem = stem[:-1]
    base = stem.rstrip() + suffix
    if not base or base.startswith("."):
        raise LoraportError(f"{raw!r} is not a usable file name: rename the file (letters, digits, '.', '-', '_').")
    suffix = ".tar" if base.lower().endswith(TAR_ARCHIVES) else Path(base).suffix.lower()
    if suffix in PICKLE_EXT:
        raise LoraportError(f"{base}: pickle checkpoints can run code when opened; convert it to .safetensors.")
    if suffix not in LORA_EXT | DATASET_EXT:
        raise LoraportError(
            f"{base}: unsupported file type. Upload a LoRA (.safetensors), clips or images "
            f"({', '.join(sorted(MEDIA_EXTS))}), a .zip or .tar(.gz) of them, or caption files (.txt .jsonl .json .csv)."
        )
    return base


class _Sink:
    """python-multipart callbacks that write file parts under ``dest``, counting every byte against ``limit``."""

    def __init__(self, dest: Path, limit: int):
        self.dest, self.limit = dest, limit
        self.total = 0
        self.files: list[Path] = []
        self.error: LoraportError | None = None
        self._header_field = b""
        self._header_value = b""
        self._headers: dict[bytes, bytes] = {}
        self._out = None
        self.complete = False  # the closing boundary arrived: a body cut short never becomes an upload

    def callbacks(self) -> dict:
        return {
            "on_part_begin": self._part_begin, "on_header_field": self._field, "on_header_value": self._value,
            "on_header_end": self._header_end, "on_headers_finished": self._headers_done,
            "on_part_data": self._data, "on_part_end": self._part_end, "on_end": self._end,
        }

    def _part_begin(self) -> None:
        self._headers = {}

    def _field(self, data: bytes, start: int, end: int) -> None:
        self._header_field += data[start:end]

    def _value(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]

    def _header_end(self) -> None:
        self._headers[self._header_field.lower()] = self._header_value
        self._header_field = self._header_value = b""

    def _headers_done(self) -> None:
        if self.error:
            return
        header = self._headers.get(b"content-disposition", b"")
        raw_name = _part_filename(header, parse_options_header(header)[1])
        if raw_name is None:
            return  # a plain form field: nothing to store
        try:
            name = safe_filename(raw_name)
            if len(self.files) >= MAX_FILES:
                raise LoraportError(f"More than {MAX_FILES} files in one upload: send a .zip instead.")
        except LoraportError as err:
            self.error = err
            return
        path = _unique(self.dest / name)
        self.files.append(path)
        self._out = open(path, "wb")

    def _data(self, data: bytes, start: int, end: int) -> None:
        if self._out is None or self.error:
            return
        n = end - start
        if self.total + n > self.limit:  # checked before writing: nothing past the limit touches the disk
            self.error = UploadTooLarge(
                f"Upload refused: it is larger than {self.limit // (1024 * 1024)} MiB, the most this server accepts "
                f"now ({_why_limit(self.dest, self.limit)}). Send fewer or shorter clips, or raise the limit."
            )
            return
        self._out.write(data[start:end])
        self.total += n

    def _part_end(self) -> None:
        if self._out is not None:
            self._out.close()
            self._out = None

    def _end(self) -> None:
        self.complete = True

    def close(self) -> None:
        self._part_end()


def _part_filename(header: bytes, params: dict[bytes, bytes]) -> str | None:
    """The part's file name: RFC 5987's ``filename*=UTF-8''%E7%8C%AB.mp4`` (some clients send only that, and
    python-multipart drops it) before the plain ``filename``; None for a form field that is not a file."""
    if b"filename*" in header.lower():
        message = Message()  # the plain filename= goes first: with both, filename* is the real name (RFC 6266)
        message["content-disposition"] = re.sub(r';\s*filename=("[^"]*"|[^;]*)', "", header.decode("latin-1"))
        try:
            name = message.get_filename()
        except (LookupError, UnicodeError, ValueError):  # an unknown charset or bad percent-escapes
            name = None
        if name:
            return name
    if b"filename" in params:
        return params[b"filename"].decode("utf-8", "replace")
    return None


def _unique(path: Path) -> Path:
    n = 1
    candidate = path
    while candidate.exists():
        candidate = path.with_name(f"{path.stem}-{n}{path.suffix}")
        n += 1
    return candidate


async def receive_upload(
    workspace: Workspace, content_type: str, content_length: int | None, chunks: AsyncIterator[bytes], limit: int
) -> list[UploadPublic]:
    """Stream a multipart body to disk and file it as one or more uploads; nothing is kept if anything is wrong."""
    mime, params = parse_options_header(content_type or "")
    if mime != b"multipart/form-data" or not params.get(b"boundary"):
        raise LoraportError("Send the files as multipart/form-data (a form with one or more file fields).")
    if content_length is not None and content_length > limit + 64 * 1024:  # 64 KiB allows for the part headers
        raise UploadTooLarge(
            f"Upload refused before reading: {content_length // (1024 * 1024)} MiB is over the "
            f"{limit // (1024 * 1024)} MiB this server accepts now ({_why_limit(workspace.uploads_dir, limit)})."
        )
    incoming = workspace.uploads_dir / f".incoming-{secrets.token_hex(8)}"
    incoming.mkdir(parents=True)
    sink = _Sink(incoming, limit)
    parser = MultipartParser(params[b"boundary"], sink.callbacks())
    received = 0
    try:
        async for chunk in chunks:
            received += len(chunk)
            if received > limit + 64 * 1024:  # every byte counts: text fields and padding outside file parts too
                raise UploadTooLarge(f"Upload refused: the request is larger than {limit // (1024 * 1024)} MiB, "
                                     f"the most this server accepts now ({_why_limit(workspace.uploads_dir, limit)}).")
            parser.write(chunk)
            if sink.error:
                raise sink.error
        parser.finalize()
        sink.close()
        if not sink.complete:
            raise LoraportError("The upload was cut short (the body ended before its closing boundary): nothing "
                                "was kept; send it again.")
        if not sink.files:
            raise LoraportError("The upload held no files: attach a LoRA (.safetensors), clips, images or a .zip.")
        return _file_uploads(workspace, incoming, sink.files)
    except Exception as err:
        if not isinstance(err, LoraportError) and is_disk_full(err, workspace.uploads_dir):
            err = DiskFullError(workspace.uploads_dir, "the upload")  # nothing kept; the message says where
            err.status_code = 507
        elif not isinstance(err, LoraportError):
            err = LoraportError(f"The upload could not be read ({err.__class__.__name__}): try sending it again.")
        raise err from None
    finally:
        sink.close()
        shutil.rmtree(incoming, ignore_errors=True)


def _file_uploads(workspace: Workspace, incoming: Path, files: list[Path]) -> list[UploadPublic]:
    empty = [p.name for p in files
             if (p.suffix.lower() in LORA_EXT | MEDIA_EXTS or _is_archive(p)) and p.stat().st_size == 0]
    if empty:  # a 0-byte file is a failed export or copy; a caption file may be empty, a clip may not
        raise LoraportError(f"{', '.join(empty[:5])}: empty (0 bytes); nothing was kept. Export or copy the file "
                            "again and re-upload.")
    for path in files:
        if path.suffix.lower() == ".zip":
            check_zip(path)
    loras = [p for p in files if p.suffix.lower() in LORA_EXT]
    dataset = [p for p in files if p not in loras]
    groups = [("lora", [p]) for p in loras] + ([("dataset", dataset)] if dataset else [])
    uploads: list[UploadPublic] = []
    try:
        for kind, group in groups:
            uploads.append(_store(workspace, kind, group))
    except BaseException:  # all or nothing: a request never leaves some of its uploads behind
        for upload in uploads:
            (workspace.uploads_dir / f"{upload.id}.json").unlink(missing_ok=True)
            shutil.rmtree(workspace.uploads_dir / upload.id, ignore_errors=True)
        raise
    return uploads


def _store(workspace: Workspace, kind: str, files: list[Path]) -> UploadPublic:
    upload_id = f"up-{secrets.token_hex(6)}"
    folder = workspace.uploads_dir / upload_id
    folder.mkdir()
    try:
        stored = []
        for path in files:
            target = folder / path.name
            path.rename(target)  # same filesystem: a rename, never a copy
            stored.append(StoredFile(name=target.name, size=target.stat().st_size))
        if kind == "lora" or (len(files) == 1 and _is_archive(files[0])):
            main = folder / files[0].name  # a single file is handed over as itself
        else:
            main = folder
        record = UploadPublic(id=upload_id, kind=kind, path=str(main), files=stored, created_at=now_iso())
        atomic_write_json(workspace.uploads_dir / f"{upload_id}.json", record.model_dump(mode="json"))
    except BaseException:  # the manifest is written last: without it the folder is no upload, so it goes
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return record


def _is_archive(path: Path) -> bool:
    return path.suffix.lower() == ".zip" or path.name.lower().endswith(TAR_ARCHIVES)


def check_zip(path: Path) -> None:
    """Refuse a zip whose entries could land outside the folder it is unpacked into (zip-slip) or are symlinks."""
    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
    except zipfile.BadZipFile:
        raise LoraportError(f"{path.name} is not a readable zip file: zip the clips again and re-upload.") from None
    for info in infos:
        name = info.filename.replace("\\", "/")
        parts = name.split("/")
        if name.startswith("/") or re.match(r"^[A-Za-z]:", name) or ".." in parts:
            raise LoraportError(
                f"{path.name} contains the entry {info.filename!r}, which points outside the dataset folder. "
                "Re-create the zip from inside the folder of clips."
            )
        if stat.S_ISLNK(info.external_attr >> 16):
            raise LoraportError(f"{path.name} contains a symbolic link ({info.filename!r}): zip the files themselves.")


def load_upload(workspace: Workspace, upload_id: str) -> UploadPublic:
    if not re.fullmatch(r"up-[0-9a-f]{12}", upload_id or ""):
        raise NotFoundError(f"No upload {upload_id!r}: upload ids look like up-0123456789ab.")
    manifest = workspace.uploads_dir / f"{upload_id}.json"
    if not manifest.is_file():
        raise NotFoundError(f"No upload {upload_id!r} in this workspace: upload the files again.")
    return UploadPublic.model_validate(json.loads(manifest.read_text()))
