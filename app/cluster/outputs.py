"""Output files of a Ray worker brought into the coordinator's folders, so `/view` serves them.

A worker on another machine writes SaveImage/PreviewImage files (and any node's ui file entries,
ComfyUI's `{"filename", "subfolder", "type"}`) into its own output and temp folders, which the
coordinator cannot read. Unless `serve --shared-output` says every machine sees the same folder, the
worker ships the bytes of each file a ui output names (`read_files`, on the worker, before the
`executed` event that names it), and the coordinator writes them into its own folder before it passes
the event on (`Delivery`). Both run without Ray.

Two workers number their files independently, so `ComfyUI_00001_.png` from one may meet a different
file of that name from another: the later one is stored as `<stem>_<content hash><suffix>`, and the
event and the history entry name it so. Delivering the same bytes again (a worker on the same machine
and folder as the coordinator, a cached output shipped a second time) writes nothing. The files a prompt
writes into the output folder without naming them (checkpoints, latents) follow in chunks, under the
same rule (`place`; folder_sync.py).
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
import threading
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

log = logging.getLogger("latentgraph.cluster")

FILE_TYPES = ("output", "temp")   # the folders a ui file entry may name that the coordinator serves
RefKey = tuple[str, str, str]      # (type, subfolder, filename)


def file_refs(ui: Any) -> Iterator[RefKey]:
    """Each file entry of one node's ui output (`{"images": [{"filename", "subfolder", "type"}, ...]}`)."""
    if not isinstance(ui, Mapping):
        return
    for values in ui.values():
        for entry in values if isinstance(values, list) else ():
            if (isinstance(entry, Mapping) and isinstance(entry.get("filename"), str)
                    and entry.get("type", "output") in FILE_TYPES):
                yield entry.get("type", "output"), str(entry.get("subfolder") or ""), entry["filename"]


def inside(base: Path, subfolder: str, filename: str) -> Path | None:
    """`base/subfolder/filename` when it stays inside `base` (None for a name that would leave it)."""
    if not filename or "/" in filename or "\\" in filename or filename in (".", ".."):
        return None
    root = base.resolve()
    path = (root / subfolder / filename).resolve()
    return path if path.is_relative_to(root) and path != root else None


def read_files(folders: Any, ui: Any, skip: set[RefKey]) -> Iterator[tuple[RefKey, bytes]]:
    """The bytes of each file `ui` names that is not in `skip` (added to it), read from `folders`
    (anything with `directory(type)`); a missing or unsafe entry is left out (the node wrote no file)."""
    for key in file_refs(ui):
        if key in skip:
            continue
        skip.add(key)
        path = inside(Path(folders.directory(key[0])), key[1], key[2])
        if path is None or not path.is_file():
            continue
        yield key, path.read_bytes()


_PLACE_LOCK = threading.Lock()  # all pools of the process: two workers' files must not take one name
PARTIAL_SUFFIX = ".partial"       # `.<name>.<random>.partial`: a file still arriving (never shipped back)


def new_partial(path: Path) -> Path:
    """An empty hidden file beside `path` to write a file into before `place` gives it its name."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=PARTIAL_SUFFIX)
    os.close(handle)
    return Path(name)


def same_contents(first: Path, second: Path, block: int = 1 << 20) -> bool:
    if first.stat().st_size != second.stat().st_size:
        return False
    with first.open("rb") as a, second.open("rb") as b:
        while chunk := a.read(block):
            if chunk != b.read(block):
                return False
    return True


def place(partial: Path, path: Path, digest: str) -> Path:
    """Give the finished `partial` (content hash `digest`) the name `path`, or `<stem>_<hash><suffix>` when `path`
    holds other bytes; the same bytes already there write nothing. The path it is stored under."""
    stem, suffix = os.path.splitext(path.name)
    alternative = path.with_name(f"{stem}_{digest[:10]}{suffix}")
    try:
        with _PLACE_LOCK:
            for candidate in (path, alternative):
                if not candidate.exists() and not candidate.is_symlink():
                    os.replace(partial, candidate)
                    return candidate
                if candidate.is_file() and same_contents(candidate, partial):
                    return candidate  # the same file: on the coordinator's own folder, or shipped before
        raise FileExistsError(f"{alternative} exists with other contents")
    finally:
        partial.unlink(missing_ok=True)


class Delivery:
    """The coordinator's side: writes shipped files into its folders (`{"output": dir, "temp": dir}`) and
    remembers the name each one got, to rewrite the events and the history entry of the prompt."""

    def __init__(self, directories: Mapping[str, str | Path]) -> None:
        self.directories = {key: Path(value) for key, value in directories.items()}
        self.renamed: dict[RefKey, str] = {}

    def store(self, key: RefKey, data: bytes) -> str:
        """Write one file; the file name it is served under."""
        file_type, subfolder, filename = key
        base = self.directories.get(file_type)
        path = inside(base, subfolder, filename) if base is not None else None
        if path is None:
            raise ValueError(f"a worker sent a file outside the {file_type} folder: {subfolder!r}/{filename!r}")
        partial = new_partial(path)
        partial.write_bytes(data)
        stored = place(partial, path, hashlib.sha256(data).hexdigest())
        if stored != path:
            log.info("a worker's %s took the name of another file; stored as %s", filename, stored.name)
            self.renamed[key] = stored.name
        return stored.name

    def rename(self, ui: Any) -> Any:
        """`ui` (one node's output, or a prompt's {node: output}) with the names its files were stored under."""
        if isinstance(ui, list):
            return [self.rename(value) for value in ui]
        if not isinstance(ui, Mapping):
            return ui
        if isinstance(ui.get("filename"), str) and ui.get("type", "output") in FILE_TYPES:
            key = (ui.get("type", "output"), str(ui.get("subfolder") or ""), ui["filename"])
            if key in self.renamed:
                return {**ui, "filename": self.renamed[key]}
            return ui
        return {key: self.rename(value) for key, value in ui.items()}
