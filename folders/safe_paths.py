"""Turning outside names into paths that cannot leave their folder (`..`, absolute, NUL, backslash, symlinks)."""

from __future__ import annotations

import os
import re
from pathlib import Path, PurePosixPath


class UnsafePathError(ValueError):
    """A name that would leave its folder (traversal, absolute path, NUL, backslash)."""


def check_relative_name(name: object, what: str = "file name") -> str:
    """Returns `name` if it is a safe relative posix path, else raises UnsafePathError."""
    if not isinstance(name, str) or not name:
        raise UnsafePathError(f"{what} must be a non-empty string, got {name!r}")
    if "\x00" in name:
        raise UnsafePathError(f"{what} {name!r} contains a NUL character")
    if "\\" in name:
        raise UnsafePathError(f"{what} {name!r} contains a backslash; use '/' between folders")
    if name.startswith("/") or PurePosixPath(name).is_absolute() or re.match(r"^[A-Za-z]:", name):
        raise UnsafePathError(f"{what} {name!r} is an absolute path; only names inside the folder are allowed")
    if ".." in PurePosixPath(name).parts:
        raise UnsafePathError(f"{what} {name!r} contains '..'; only names inside the folder are allowed")
    return name


def safe_join(root: str | os.PathLike, *parts: str) -> Path:
    """Joins `parts` under `root` and guarantees the result (symlinks resolved) stays inside root."""
    root_path = Path(root).resolve()
    for part in parts:
        if not isinstance(part, str):
            raise UnsafePathError(f"path part must be a string, got {part!r}")
        if "\x00" in part:
            raise UnsafePathError(f"path part {part!r} contains a NUL character")
    candidate = root_path.joinpath(*[p for p in parts if p]).resolve()
    if candidate != root_path and root_path not in candidate.parents:
        shown = "/".join(parts)
        raise UnsafePathError(f"{shown!r} points outside the folder {root_path}")
    return candidate
