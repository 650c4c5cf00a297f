"""Keeping file routes inside the input, output and temp folders.

Names are checked as text first (NUL, backslash, absolute, drive letters, `..` parts), then
the resolved real path (symlinks followed) must still lie inside the real base folder.
"""

from __future__ import annotations

import re
from pathlib import Path

from .ports import FolderLayout

FILE_TYPES = ("output", "input", "temp")
_DRIVE = re.compile(r"^[A-Za-z]:")
_ANNOTATION = re.compile(r"^(.*) \[(output|input|temp)\]$")
# What file systems allow for one name; and our limit for a whole relative path (the OS allows 4096
# bytes including the base folder), so no route ever meets ENAMETOOLONG.
MAX_NAME_BYTES = 255
MAX_PATH_BYTES = 1024


class PathRefusedError(Exception):
    """A path that must not be used; `status` is 400 (bad name) or 403 (escapes the folder)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def split_annotation(name: str) -> tuple[str, str | None]:
    """'x.png [output]' -> ('x.png', 'output'); names without one -> (name, None)."""
    match = _ANNOTATION.match(name)
    return (match.group(1), match.group(2)) if match else (name, None)


def _text_problem(value: str) -> str | None:
    if "\x00" in value:
        return "contains a NUL byte"
    if any(ord(ch) < 32 for ch in value):
        return "contains a control character"
    if "\\" in value:
        return "contains a backslash"
    if value.startswith("/") or _DRIVE.match(value):
        return "is an absolute path"
    if ".." in value.split("/"):
        return "contains '..'"
    if len(value.encode("utf-8", "surrogatepass")) > MAX_PATH_BYTES:
        return f"is too long (longer than {MAX_PATH_BYTES} bytes)"
    if any(len(part.encode("utf-8", "surrogatepass")) > MAX_NAME_BYTES for part in value.split("/")):
        return f"is too long (a name in it is longer than {MAX_NAME_BYTES} bytes)"
    return None


def check_filename(name: str) -> None:
    """A plain file name: no folders, no tricks, at most 255 UTF-8 bytes. Raises PathRefusedError(400)."""
    if not name or not name.strip():
        raise PathRefusedError(400, "The file name is empty.")
    problem = _text_problem(name)
    if problem is None and "/" in name:
        problem = "contains '/'"
    if problem is None and name in (".", ".."):
        problem = "is not a file name"
    if problem is not None:
        raise PathRefusedError(400, f"The file name {name[:80]!r} {problem}.")


def check_subfolder(subfolder: str) -> None:
    """A relative folder below the base. Raises PathRefusedError(403) when it would leave it, 400 on bad text."""
    problem = _text_problem(subfolder)
    if problem in ("is an absolute path", "contains '..'"):
        raise PathRefusedError(403, f"The subfolder {subfolder[:80]!r} {problem}: it would leave the folder.")
    if problem is not None:
        raise PathRefusedError(400, f"The subfolder {subfolder[:80]!r} {problem}.")


def resolve_inside(base: Path, subfolder: str, filename: str = "") -> Path:
    """The real path of base/subfolder/filename, refused (403) when it lies outside base."""
    check_subfolder(subfolder)
    if filename:
        check_filename(filename)
    base_real = Path(base).resolve()
    target = (base_real / subfolder / filename).resolve()
    if target != base_real and base_real not in target.parents:
        raise PathRefusedError(403, "The path leads outside its folder (a symlink pointing out?).")
    check_folders_on_the_way(base_real, target)
    return target


def check_folders_on_the_way(base_real: Path, target: Path) -> None:
    """Every existing folder between base and target must be a folder: 'a.png/x' is refused (400)."""
    for parent in reversed(target.parents):
        if parent != base_real and base_real in parent.parents and parent.exists() and not parent.is_dir():
            shown = parent.relative_to(base_real).as_posix()
            raise PathRefusedError(400, f"{shown[:80]!r} is a file, not a folder, so nothing can lie under it.")


def base_folder(folders: FolderLayout, file_type: str) -> Path:
    """The input/output/temp folder for a `type` value. Raises PathRefusedError(400) for other values."""
    if file_type not in FILE_TYPES:
        raise PathRefusedError(400, f"type must be one of {', '.join(FILE_TYPES)}, not {file_type[:40]!r}.")
    return Path(folders.directory(file_type))
