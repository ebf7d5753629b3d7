"""Faults the tests inject: a file whose writes fail as on a full disk, a process that is gone."""

import errno
from pathlib import Path


class FullFile:
    """Stands in for an open file on a full disk: every write raises ENOSPC; closing closes the real file."""

    def __init__(self, f):
        self.f = f

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.f.close()

    def write(self, data):
        raise OSError(errno.ENOSPC, "No space left on device")


def gone(pid: int) -> bool:
    """Dead or a zombie (an orphan whose new parent has not reaped it yet has still finished)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat[stat.rindex(")") + 2] == "Z"
