"""A full disk, said plainly: free-space checks before work starts, and write failures named for what they are.

A write that runs out of space fails in many dialects: ``OSError(ENOSPC)`` from Python, a safetensors
``SafetensorError`` quoting the OS error, torch's zip writer saying "unexpected pos" or "PytorchStreamWriter
failed writing file". ``writing(folder, what)`` turns each of them into one ``DiskFullError`` that names the folder,
what was being written, how much space is free and roughly how much was needed, so a user never meets the
library's internal text. The earlier file stays intact because every writer here writes to a temporary name
first (see ``core.atomic`` and ``trainer.checkpoints``).
"""

import errno
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from core.errors import LoraportError

MiB = 2**20
# Text of write failures that are a full disk when the filesystem is nearly full too (torch's zip writer and the
# safetensors writer do not keep the OS error's type).
_FULL_DISK_TEXT = ("no space left", "storagefull", "os error 28", "errno 28", "disk quota", "disk is full")
_WRITE_FAILURE_TEXT = ("unexpected pos", "pytorchstreamwriter failed", "file write failed", "failed to write",
                       "iostream error")
NEARLY_FULL_BYTES = 64 * MiB  # below this much free space, a failed write is taken for a full disk


class DiskFullError(LoraportError):
    """The disk holding ``folder`` has no room for ``what``."""

    def __init__(self, folder: Path, what: str, *, need_bytes: int | None = None, free_bytes: int | None = None):
        self.folder, self.what, self.need_bytes = Path(folder), what, need_bytes
        self.free_bytes = free_space(self.folder) if free_bytes is None else free_bytes
        need = f"; it needs about {human_bytes(need_bytes)}" if need_bytes else ""
        super().__init__(f"The disk is full: could not write {what} in {self.folder} "
                         f"({human_bytes(self.free_bytes)} free on that disk{need}). Free some space there, "
                         "or move the workspace (LORAPORT_HOME) to a larger disk.")


def human_bytes(n: int | float | None) -> str:
    if n is None:
        return "unknown"
    for unit, size in (("GiB", 2**30), ("MiB", MiB), ("KiB", 2**10)):
        if n >= size:
            return f"{n / size:.1f} {unit}"
    return f"{int(n)} B"


def free_space(folder: Path) -> int:
    """Bytes free for this user on the filesystem holding ``folder`` (its nearest existing parent)."""
    path = Path(folder)
    while not path.exists() and path != path.parent:
        path = path.parent
    return shutil.disk_usage(path).free


def is_disk_full(err: BaseException, folder: Path | None = None) -> bool:
    """Whether ``err`` (or an exception it was raised from) is a write that ran out of space."""
    seen: set[int] = set()
    while err is not None and id(err) not in seen:
        seen.add(id(err))
        if isinstance(err, DiskFullError):
            return True
        if isinstance(err, OSError) and err.errno in (errno.ENOSPC, errno.EDQUOT):
            return True
        text = str(err).lower()
        if any(t in text for t in _FULL_DISK_TEXT):
            return True
        if folder is not None and any(t in text for t in _WRITE_FAILURE_TEXT):
            return free_space(folder) < NEARLY_FULL_BYTES
        err = err.__cause__ or err.__context__
    return False


@contextmanager
def writing(folder: Path, what: str, *, need_bytes: int | None = None) -> Iterator[None]:
    """Run a write into ``folder``; a full disk comes out as ``DiskFullError`` naming ``what`` and the folder."""
    try:
        yield
    except DiskFullError:
        raise
    except Exception as err:
        if is_disk_full(err, folder):
            raise DiskFullError(folder, what, need_bytes=need_bytes) from err
        raise


def ensure_free(folder: Path, need_bytes: int, what: str) -> int:
    """Refuse before starting when the disk holding ``folder`` has less than ``need_bytes`` free; returns free."""
    free = free_space(folder)
    if free < need_bytes:
        raise LoraportError(f"Not enough disk space for {what}: it needs about {human_bytes(need_bytes)} in "
                            f"{folder}, and {human_bytes(free)} is free there. Free some space, or move the "
                            "workspace (LORAPORT_HOME) to a larger disk.")
    return free


class DiskReserve:
    """A little space set aside while the disk has it, given back when the disk fills, so that the failure itself
    can still be recorded (the job's row and event in SQLite, which needs room to write) and said to the user."""

    def __init__(self, path: Path, size: int = 1 * MiB):
        self.path, self.size = Path(path), size

    def ensure(self) -> bool:
        """Set the space aside if it is not yet; False when the disk has no room for it now."""
        try:
            if self.path.is_file() and self.path.stat().st_size >= self.size:
                return True
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT, 0o644)
            try:
                os.posix_fallocate(fd, 0, self.size)  # real blocks, not a sparse file
            finally:
                os.close(fd)
            return True
        except OSError:
            self.path.unlink(missing_ok=True)
            return False

    def release(self) -> bool:
        """Give the space back; True if there was any to give."""
        try:
            self.path.unlink()
            return True
        except FileNotFoundError:
            return False
