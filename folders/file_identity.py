"""What makes a file on disk "the same file": its resolved path, size and modification time."""

from __future__ import annotations

import os
from pathlib import Path


def file_identity(path: str | os.PathLike) -> tuple[str, int, int]:
    """(resolved path, size, mtime_ns): what makes a loaded file "the same file" (FileNotFoundError if gone)."""
    stat = os.stat(path)
    return str(Path(path).resolve()), int(stat.st_size), int(stat.st_mtime_ns)
