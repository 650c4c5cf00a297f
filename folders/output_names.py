"""How saved outputs are named, as ComfyUI names them: `<prefix>_00001_.png` and the %width%/%year%/... prefix variables."""

from __future__ import annotations

import os
import re
import time
from pathlib import Path, PurePosixPath
from typing import Any

from folders.safe_paths import UnsafePathError, check_relative_name, safe_join

_COUNTER_RE = re.compile(r"^(?P<digits>\d+)_")
# A file name holds at most 255 bytes; "_00001_.png" and a longer counter take up to 16 of them.
MAX_PREFIX_PART_BYTES = 200
MAX_PREFIX_CHARS = 1024


def prefix_problem(prefix: Any) -> str | None:
    """Why `prefix` cannot name saved files (empty, too long, leaving the folder), or None when it can."""
    if not isinstance(prefix, str) or not prefix.strip():
        return "must not be empty"
    if len(prefix) > MAX_PREFIX_CHARS:
        return f"is {len(prefix)} characters long; at most {MAX_PREFIX_CHARS}"
    try:
        check_relative_name(prefix, "filename_prefix")
    except UnsafePathError as exc:
        return str(exc)
    pure = PurePosixPath(prefix)
    if not pure.name or pure.name.strip(".") == "":
        return f"{prefix!r} has no file name part"
    for part in pure.parts:
        size = len(part.encode("utf-8"))
        if size > MAX_PREFIX_PART_BYTES:
            return f"has a folder or file name of {size} bytes; at most {MAX_PREFIX_PART_BYTES}"
    return None


def expand_prefix(prefix: str, width: int, height: int, now: time.struct_time | None = None) -> str:
    """Replaces %width% %height% %year% %month% %day% %hour% %minute% %second% in `prefix`."""
    if "%" not in prefix:
        return prefix
    now = now or time.localtime()
    values = {
        "%width%": str(width), "%height%": str(height), "%year%": str(now.tm_year),
        "%month%": f"{now.tm_mon:02}", "%day%": f"{now.tm_mday:02}", "%hour%": f"{now.tm_hour:02}",
        "%minute%": f"{now.tm_min:02}", "%second%": f"{now.tm_sec:02}",
    }
    for name, value in values.items():
        prefix = prefix.replace(name, value)
    return prefix


def next_counter_path(output_dir: str | os.PathLike, prefix: str, extension: str = "png") -> tuple[Path, str, str]:
    """ComfyUI's save naming: `<prefix>_00001_.<ext>`, counter = highest existing + 1.

    `prefix` may hold a subfolder ("portraits/me"); it is created. Returns
    (full path, subfolder as posix ("" for none), file name). A prefix that would leave
    the output folder raises UnsafePathError.
    """
    if not isinstance(prefix, str) or not prefix.strip():
        raise UnsafePathError(f"filename prefix must be a non-empty string, got {prefix!r}")
    check_relative_name(prefix, "filename prefix")
    pure = PurePosixPath(prefix)
    subfolder = "" if str(pure.parent) == "." else pure.parent.as_posix()
    stem = pure.name
    if not stem or stem.strip(".") == "":
        raise UnsafePathError(f"filename prefix {prefix!r} has no file name part")
    folder = safe_join(output_dir, subfolder) if subfolder else Path(output_dir).resolve()
    folder.mkdir(parents=True, exist_ok=True)
    highest = 0
    lowered = stem.lower()
    for entry in os.listdir(folder):
        if not entry.lower().startswith(lowered + "_"):
            continue
        match = _COUNTER_RE.match(entry[len(stem) + 1:])
        if match:
            highest = max(highest, int(match.group("digits")))
    extension = extension.lstrip(".")
    filename = f"{stem}_{highest + 1:05}_.{extension}"
    return folder / filename, subfolder, filename
