"""Where a dataset comes from: a folder, a zip, a tarball (``tools.dataset.tarballs``) or a list of uploaded files,
read safely.

Nothing here writes outside the staging directory it is given, follows a symlink, or trusts a size a zip declares:
entries with ``..``, absolute paths or symlink bits refuse the whole zip (a crafted archive gets no partial
import), and extraction counts the bytes it really writes against the limits.
"""

import os
import stat
import unicodedata
import zipfile
import zlib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from core.disk import ensure_free
from core.errors import LoraportError
from trainer.media import MEDIA_EXTS

TAR_ARCHIVES = (".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tbz2", ".tar.xz", ".txz")
OTHER_ARCHIVES = (".tar.zst", ".tzst", ".7z", ".rar")
CAPTION_TABLE_NAMES = {".csv", ".json", ".jsonl"}
_CHUNK = 1 << 20


@dataclass(frozen=True)
class ImportLimits:
    max_file_bytes: int = 2048 << 20  # settings.max_upload_mb
    max_total_bytes: int = 64 << 30  # a 64 GiB dataset is far past any LoRA recipe's needs
    max_files: int = 10_000
    max_zip_ratio: float = 200.0  # video and images barely compress; 200:1 on a big entry is a zip bomb
    max_caption_file_bytes: int = 32 << 20


@dataclass
class Collected:
    """Files found in a source, by name relative to its root (POSIX form)."""

    root: Path
    owned: bool = False  # files were unpacked by us (a zip): import may move them instead of copying
    media: dict[str, Path] = field(default_factory=dict)
    sidecars: dict[str, Path] = field(default_factory=dict)  # "clip.txt" -> path
    tables: dict[str, Path] = field(default_factory=dict)  # captions CSV / JSON / JSONL
    errors: dict[str, str] = field(default_factory=dict)
    ignored: list[str] = field(default_factory=list)

    def add(self, rel: str, path: Path) -> None:
        suffix = PurePosixPath(rel).suffix.lower()
        if suffix in MEDIA_EXTS:
            self.media[rel] = path
        elif suffix in (".txt", ".caption"):  # clip.caption: kohya's sidecar name
            self.sidecars[rel] = path
        elif suffix in CAPTION_TABLE_NAMES:
            self.tables[rel] = path
        else:
            self.ignored.append(rel)


def collect(source: Path | list[Path], staging: Path, limits: ImportLimits) -> Collected:
    """Gather the media, sidecar captions and caption tables of a folder, a zip, a tarball or a list of files."""
    if isinstance(source, (list, tuple)) and len(source) == 1:
        source = source[0]  # one upload may be a zip or a folder
    if isinstance(source, (list, tuple)):
        return _collect_files([Path(p) for p in source], limits)
    source = Path(source).expanduser().resolve()  # the user named this one: a symlink to it is fine
    if source.is_dir():
        return _collect_folder(source, limits)
    if source.is_file() and source.name.lower().endswith(TAR_ARCHIVES):  # by name: a tar may end in a zip
        from tools.dataset.tarballs import extract_tar  # it builds on this module's limits and copy

        collected = _collect_folder(extract_tar(source, staging, limits), limits)
        collected.owned = True
        return collected
    is_zip = source.suffix.lower() == ".zip" or source.suffix.lower() not in MEDIA_EXTS
    if source.is_file() and is_zip and zipfile.is_zipfile(source):
        collected = _collect_folder(extract_zip(source, staging, limits), limits)
        collected.owned = True
        return collected
    if source.is_file() and source.suffix.lower() == ".zip":
        raise LoraportError(f"{source.name} is not a readable zip file: re-create the archive and upload it again.")
    if source.is_file() and source.name.lower().endswith(OTHER_ARCHIVES):
        raise LoraportError(f"{source.name} is an archive loraport does not unpack (it reads folders, .zip and .tar "
                            "files): unpack it and import the folder, or zip the clips.")
    if source.is_file():
        return _collect_files([source], limits)
    raise LoraportError(f"{source} does not exist: give a folder, a .zip or media files.")


def _collect_files(paths: list[Path], limits: ImportLimits) -> Collected:
    if not paths:
        raise LoraportError("No files given: upload clips or images, or give a folder or a zip.")
    out = Collected(root=paths[0].parent)
    for path in paths:
        name = path.name
        if name in out.media or name in out.sidecars or name in out.tables:
            out.errors[name] = f"two uploads are named {name}; rename one and upload again"
        elif path.is_symlink():
            out.errors[name] = "is a symlink: upload the file itself"
        elif not path.is_file():
            out.errors[name] = "does not exist or is not a file"
        elif path.stat().st_size > limits.max_file_bytes:
            out.errors[name] = f"is larger than the {limits.max_file_bytes >> 20} MiB limit per file"
        else:
            out.add(name, path)
    _check_count(out, limits)
    return out


def _collect_folder(root: Path, limits: ImportLimits) -> Collected:
    out = Collected(root=root)
    total = 0
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        here = Path(dirpath)
        for d in list(dirnames):
            if (here / d).is_symlink():
                out.errors[(here / d).relative_to(root).as_posix()] = "is a symlinked folder: not followed"
                dirnames.remove(d)
        dirnames[:] = sorted(d for d in dirnames if not d.startswith(".") and d != "__MACOSX")
        for fname in sorted(f for f in filenames if not f.startswith(".")):  # ._clip.mp4 = macOS metadata
            path = here / fname
            rel = path.relative_to(root).as_posix()
            info = path.lstat()
            if problem := _name_problem(rel):
                out.errors[problem[0]] = problem[1]
            elif stat.S_ISLNK(info.st_mode):
                out.errors[rel] = "is a symlink: copy the file itself into the folder"
            elif not stat.S_ISREG(info.st_mode):
                out.errors[rel] = "is not a regular file"
            elif info.st_size > limits.max_file_bytes:
                out.errors[rel] = f"is larger than the {limits.max_file_bytes >> 20} MiB limit per file"
            else:
                total += info.st_size
                out.add(rel, path)
    if total > limits.max_total_bytes:
        raise LoraportError(
            f"{root} holds {total >> 20} MiB of files, over the {limits.max_total_bytes >> 30} GiB dataset limit: "
            "a LoRA needs tens of clips, not thousands; pick the best ones."
        )
    _check_count(out, limits)
    return out


def _name_problem(rel: str) -> tuple[str, str] | None:
    """(the name as it can be shown, why it is refused) for a name that cannot be stored or printed safely: bytes
    no encoding decodes, or control characters (a terminal would run ``ESC ]`` sequences from a printed name)."""
    try:
        rel.encode("utf-8")
    except UnicodeEncodeError:
        shown = rel.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
        return shown, "has a file name that is not valid UTF-8; rename it (letters, digits, '-', '_')"
    if any(unicodedata.category(ch) == "Cc" for ch in rel):
        shown = "".join("?" if unicodedata.category(ch) == "Cc" else ch for ch in rel)
        return shown, "has control characters in its file name; rename it (letters, digits, '-', '_')"
    return None


def _check_count(out: Collected, limits: ImportLimits) -> None:
    if len(out.media) > limits.max_files:
        raise LoraportError(
            f"{len(out.media)} media files is over the {limits.max_files} limit: pick the clips that show the concept best."
        )


def extract_zip(zip_path: Path, staging: Path, limits: ImportLimits) -> Path:
    """Extract a zip into ``staging`` after checking every entry; refuse the archive if any entry is unsafe."""
    try:
        return _extract(zip_path, staging, limits)
    except (zipfile.BadZipFile, RuntimeError, NotImplementedError, zlib.error, EOFError) as err:
        # RuntimeError: encrypted entries; NotImplementedError: an unsupported compression method
        raise LoraportError(f"{zip_path.name} could not be unpacked ({err}); re-create it as a plain, unencrypted "
                            "zip (or upload the folder) and try again.") from None


def _extract(zip_path: Path, staging: Path, limits: ImportLimits) -> Path:
    with zipfile.ZipFile(zip_path) as zf:
        entries = [i for i in zf.infolist() if not i.is_dir()]
        _check_entries(zip_path.name, entries, limits)
        staging.mkdir(parents=True, exist_ok=True)
        check_room(zip_path.name, staging, sum(i.file_size for i in entries))
        root = staging.resolve()
        for info in entries:
            target = (root / info.filename).resolve()
            if not target.is_relative_to(root):  # belt and braces after _check_entries
                raise LoraportError(f"{zip_path.name}: entry {info.filename!r} points outside the dataset; refused.")
            try:
                target.parent.mkdir(parents=True, exist_ok=True)
                with zf.open(info) as src:
                    copy_limited(src, info.filename, info.file_size, target, limits)
            except OSError as err:  # "a.mp4" beside "a.mp4/b.mp4", or the disk filled up
                raise LoraportError(f"{zip_path.name}: entry {info.filename!r} could not be unpacked "
                                    f"({err.strerror or err}); nothing was imported. Re-create the zip from a plain "
                                    "folder of clips.") from None
    return staging


def check_room(name: str, staging: Path, declared: int) -> None:
    """An archive that would not fit on the disk is refused before a byte of it is written."""
    ensure_free(staging, declared + (256 << 20), f"unpacking {name}")  # 256 MiB left for the database and logs


def _check_entries(name: str, entries: list[zipfile.ZipInfo], limits: ImportLimits) -> None:
    unsafe = [i.filename for i in entries if not _safe_member(i)]
    if unsafe:
        raise LoraportError(
            f"{name} has entries that point outside the dataset or are symlinks ({', '.join(unsafe[:5])}); "
            "nothing was imported. Re-create the zip from a plain folder of clips."
        )
    too_long = [i.filename for i in entries if any(len(p.encode()) > 255 for p in PurePosixPath(i.filename).parts)]
    twice = sorted(n for n, count in Counter(i.filename for i in entries).items() if count > 1)
    if too_long or twice:
        raise LoraportError(
            f"{name} has "
            + (f"names longer than a file system allows ({', '.join(n[:60] + '...' for n in too_long[:3])})"
               if too_long else f"two entries with the same name ({', '.join(twice[:5])})")
            + "; nothing was imported. Rename those files and zip the folder again."
        )
    if len(entries) > limits.max_files * 3:
        raise LoraportError(f"{name} holds {len(entries)} files: too many for a LoRA dataset; nothing was imported.")
    declared = sum(i.file_size for i in entries)
    too_big = [i.filename for i in entries if i.file_size > limits.max_file_bytes]
    bomb = [i.filename for i in entries
            if i.file_size > (1 << 20) and i.file_size > limits.max_zip_ratio * max(i.compress_size, 1)]
    packed = sum(i.compress_size for i in entries)
    if not bomb and declared > (64 << 20) and declared > limits.max_zip_ratio * max(packed, 1):
        bomb = [f"{len(entries)} entries together ({packed >> 10} KiB packed)"]  # many small ones add up
    if declared > limits.max_total_bytes or too_big or bomb:
        raise LoraportError(
            f"{name} would unpack to {declared >> 20} MiB"
            + (f"; too large per file: {', '.join(too_big[:5])}" if too_big else "")
            + (f"; suspicious compression (zip bomb?): {', '.join(bomb[:5])}" if bomb else "")
            + f". Limits: {limits.max_file_bytes >> 20} MiB a file, {limits.max_total_bytes >> 30} GiB in all; "
            "nothing was imported."
        )


def _safe_member(info: zipfile.ZipInfo) -> bool:
    name = info.filename.replace("\\", "/")
    parts = PurePosixPath(name).parts
    is_link = stat.S_ISLNK(info.external_attr >> 16)
    absolute = name.startswith("/") or (len(name) > 1 and name[1] == ":")
    return bool(parts) and not is_link and not absolute and ".." not in parts and "\x00" not in name


def copy_limited(src, name: str, declared: int, target: Path, limits: ImportLimits) -> None:
    """Stream one archive entry out, counting real bytes: a header that lies about its size cannot fill the disk."""
    written = 0
    with open(target, "wb") as dst:
        while chunk := src.read(_CHUNK):
            written += len(chunk)
            if written > min(declared, limits.max_file_bytes):
                raise LoraportError(f"{name} unpacks to more than it declares: refused as a zip bomb.")
            dst.write(chunk)
