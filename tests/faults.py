"""Faults the tests inject (a file whose writes fail as on a full disk) and how they watch for the effect (a
process that is gone, a condition waited for)."""

import errno
import time
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


def wait_until(check, timeout_s: float, every_s: float = 0.1):
    """Poll ``check`` until it returns something true (returned) or ``timeout_s`` passes (its last answer)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if result := check():
            return result
        time.sleep(every_s)
    return check()
