"""Memory a library gets from malloc and reads without writing, made to hold a chosen byte, so such a read shows
as a changed result (glibc's M_PERTURB, what MALLOC_PERTURB_ sets at start-up, switched on for a while)."""

import contextlib
import ctypes
import sys

M_PERTURB = -6  # glibc's mallopt parameter: fill each block malloc returns with the byte's complement


@contextlib.contextmanager
def unwritten_memory_holds(byte: int):
    """While inside, every block malloc returns (any thread) arrives filled with ``byte ^ 0xff``; glibc only."""
    if not sys.platform.startswith("linux"):
        yield
        return
    libc = ctypes.CDLL(None)
    libc.mallopt.argtypes, libc.mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    libc.mallopt(M_PERTURB, byte & 0xFF)
    try:
        yield
    finally:
        libc.mallopt(M_PERTURB, 0)
