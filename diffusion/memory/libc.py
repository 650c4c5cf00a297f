"""The C library's functions, for the few memory calls torch does not offer (`malloc_trim`, `madvise`).

`libc_function(name, argtypes, restype)` is the process's libc function `name` with its signature set, or
None where there is none: not Linux, or a libc without it (musl has no `malloc_trim`). Looked up once per
name and signature; callers treat None as "skip this step" (the memory stays with the process, nothing fails).
"""

from __future__ import annotations

import ctypes
import functools
import sys


@functools.cache
def libc_function(name: str, argtypes: tuple = (), restype=ctypes.c_int):
    """libc's `name` (errno kept for `ctypes.get_errno`), or None where this platform's libc lacks it."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        function = getattr(ctypes.CDLL(None, use_errno=True), name)
    except (OSError, AttributeError):
        return None
    function.argtypes, function.restype = list(argtypes), restype
    return function


__all__ = ["libc_function"]
