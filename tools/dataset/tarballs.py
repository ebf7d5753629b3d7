"""Tar archives (``.tar``, ``.tar.gz`` / ``.tgz``, ``.tar.bz2``, ``.tar.xz``) unpacked as safely as zips.

Only regular files and folders are taken: a symlink, hard link, device or FIFO entry refuses the whole archive, as
do names that are absolute, hold ``..`` or NUL, repeat, or exceed a file system's 255 bytes. Each header's size is
checked as the header is read, before the data behind it is skipped (a compressed archive is decompressed to skip),
so a tarball declaring terabytes is refused at its first such entry; the total is held against the archive's own
size (a bomb) and the free disk; the bytes really written are counted against the declared sizes.
"""

import lzma
import tarfile
import zlib
from pathlib import Path, PurePosixPath

from core.errors import LoraportError

from tools.dataset.sources import ImportLimits, check_room, copy_limited


def extract_tar(tar_path: Path, staging: Path, limits: ImportLimits) -> Path:
    """Unpack a tarball into ``staging`` after checking every entry; refuse the archive if any entry is unsafe."""
    try:
        with tarfile.open(tar_path, mode="r:*") as tf:
            members = _checked_members(tar_path, tf, limits)
            staging.mkdir(parents=True, exist_ok=True)
            check_room(tar_path.name, staging, sum(m.size for m in members))
            root = staging.resolve()
            for member in members:
                target = (root / member.name).resolve()
                if not target.is_relative_to(root):
                    raise LoraportError(f"{tar_path.name}: entry {member.name!r} points outside the dataset; refused.")
                try:
                    target.parent.mkdir(parents=True, exist_ok=True)
                    copy_limited(tf.extractfile(member), member.name, member.size, target, limits)
                except OSError as err:  # "a.mp4" beside "a.mp4/b.mp4", or the disk filled up
                    raise LoraportError(f"{tar_path.name}: entry {member.name!r} could not be unpacked "
                                        f"({err.strerror or err}); nothing was imported.") from None
    except (tarfile.TarError, EOFError, zlib.error, lzma.LZMAError, OSError) as err:  # bz2: OSError
        raise LoraportError(f"{tar_path.name} could not be unpacked ({err}); re-create the archive (or zip the "
                            "folder) and try again.") from None
    return staging


def _checked_members(tar_path: Path, tf: tarfile.TarFile, limits: ImportLimits) -> list[tarfile.TarInfo]:
    archive_bytes = max(tar_path.stat().st_size, 1)
    files, seen, declared = [], set(), 0
    for member in tf:  # each header is checked before the data behind it is skipped
        problem = _member_problem(member, seen, limits)
        if problem:
            raise LoraportError(f"{tar_path.name}: entry {member.name[:120]!r} {problem}; nothing was imported. "
                                "Re-create the archive from a plain folder of clips.")
        if not member.isfile():
            continue
        declared += member.size
        if declared > limits.max_total_bytes or (declared > (64 << 20) and declared > limits.max_zip_ratio
                                                 * archive_bytes):
            raise LoraportError(f"{tar_path.name} would unpack to more than {declared >> 20} MiB from "
                                f"{archive_bytes >> 20} MiB (a decompression bomb, or over the "
                                f"{limits.max_total_bytes >> 30} GiB limit); nothing was imported.")
        seen.add(PurePosixPath(member.name).as_posix())  # "./a.mp4" and "a.mp4" are one file
        files.append(member)
        if len(files) > limits.max_files * 3:
            raise LoraportError(f"{tar_path.name} holds more than {limits.max_files * 3} files: too many for a LoRA "
                                "dataset; nothing was imported.")
    return files


def _member_problem(member: tarfile.TarInfo, seen: set[str], limits: ImportLimits) -> str | None:
    name = member.name
    parts = PurePosixPath(name).parts
    if member.issym() or member.islnk():
        return "is a link"
    if not (member.isfile() or member.isdir()):
        return "is a device, FIFO or other special file"
    if name.startswith("/") or (len(name) > 1 and name[1] == ":") or ".." in parts or "\x00" in name or not parts:
        return "points outside the dataset"
    if any(len(p.encode("utf-8", "surrogateescape")) > 255 for p in parts):
        return "has a name longer than a file system allows"
    if member.isfile() and PurePosixPath(name).as_posix() in seen:
        return "appears twice"
    if member.isfile() and member.size > limits.max_file_bytes:
        return f"is larger than the {limits.max_file_bytes >> 20} MiB limit per file"
    return None

