"""The files a prompt wrote into a Ray worker's output folder without naming them in a ui output, brought into
the coordinator's output folder under the same relative path.

SaveImage's files travel because an `executed` event names them (outputs.py). CheckpointSave, SaveLatent
under a subfolder, a custom node writing into `folder_paths.get_output_directory()`: their files are named
nowhere. So the worker notes its output folder (`snapshot`: relative path -> (size, mtime_ns)) before a
prompt, and after it ships every file that is new or changed (`ship_changed`), except those the ui outputs
named, which went already. `ship_changed` returns the snapshot it took after the prompt, which the worker keeps
as the next prompt's "before": one scan of the folder per prompt, not two (a folder of many files is costly
to walk). A file  travels in chunks, each its own item of the worker's Ray stream, so a
checkpoint of several GB is never one message:

    ("chunk", relpath, offset, bytes)  ...  ("end", relpath, size)

and a file the worker keeps (larger than `ship_limit()`, unreadable, still being written) as
("left", relpath, size, reason), which the coordinator logs as a warning naming it. The coordinator's
`IncomingFiles` writes the chunks into a hidden partial file and gives it its name at "end" with the clash
rule of outputs.py (same bytes: nothing written; other bytes under that name: `<stem>_<hash><suffix>`,
logged). A relative path that would leave the output folder (`..`, absolute, through a symlink pointing
out) is refused with a logged error, and nothing is written. Neither half needs Ray.
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Generator, Iterator, Mapping
from pathlib import Path
from typing import Any

from app.cluster.outputs import PARTIAL_SUFFIX, RefKey, inside, new_partial, place

log = logging.getLogger("latentgraph.cluster")

CHUNK_BYTES = 8 << 20            # one stream item; small enough for Ray's object store, large enough to be quick
SHIP_MAX_MB_ENV = "LATENTGRAPH_SHIP_MAX_MB"
DEFAULT_SHIP_MAX_MB = 65536      # a file above this (on the worker) stays there, with a warning

NOT_INSIDE = "its path is not a plain relative path inside the output folder"
Snapshot = dict[str, tuple[int, int]]  # relative posix path -> (size, mtime_ns)


def ship_limit() -> int:
    """The largest file (bytes) a worker ships: $LATENTGRAPH_SHIP_MAX_MB on the worker's machine, else 64 GiB."""
    raw = os.environ.get(SHIP_MAX_MB_ENV, "")
    try:
        megabytes = float(raw) if raw.strip() else DEFAULT_SHIP_MAX_MB
    except ValueError:
        log.warning("%s=%r is not a number; shipping files up to %d MB", SHIP_MAX_MB_ENV, raw, DEFAULT_SHIP_MAX_MB)
        megabytes = DEFAULT_SHIP_MAX_MB
    return int(megabytes * (1 << 20))


# ------------------------------------------------------------------ the worker's side


def _arriving(name: str) -> bool:
    return name.startswith(".") and name.endswith(PARTIAL_SUFFIX)


def snapshot(root: str | Path) -> Snapshot:
    """Every regular file under `root` (symlinks neither followed nor listed; files still arriving left out)."""
    found: Snapshot = {}
    base = Path(root)
    pending = [(base, "")]
    while pending:
        folder, prefix = pending.pop()
        try:
            entries = list(os.scandir(folder))
        except OSError:
            continue  # gone or unreadable: nothing to ship from it
        for entry in entries:
            rel = f"{prefix}{entry.name}"
            try:
                if entry.is_dir(follow_symlinks=False):
                    pending.append((Path(entry.path), f"{rel}/"))
                elif entry.is_file(follow_symlinks=False) and not _arriving(entry.name):
                    stat = entry.stat(follow_symlinks=False)
                    found[rel] = (stat.st_size, stat.st_mtime_ns)
            except OSError:
                continue
    return found


def changed_files(before: Snapshot, after: Snapshot) -> list[str]:
    """The files of `after` that `before` lacks or knew with another size or mtime, in path order."""
    return sorted(rel for rel, state in after.items() if before.get(rel) != state)


def named_paths(root: str | Path, named: set[RefKey]) -> set[str]:
    """The relative paths under the output folder `root` of the ui file entries in `named`."""
    base = Path(root).resolve()
    paths = set()
    for file_type, subfolder, filename in named:
        path = inside(base, subfolder, filename) if file_type == "output" else None
        if path is not None:
            paths.add(path.relative_to(base).as_posix())
    return paths


def ship_changed(root: str | Path, before: Snapshot, skip: set[str] = frozenset(), *, max_bytes: int | None = None,
                 chunk_bytes: int | None = None) -> Generator[tuple, None, Snapshot]:
    """The stream items of each file under `root` new or changed since `before` and not in `skip`; returns
    (`after = yield from ship_changed(...)`) the snapshot of `root` it compared with `before`.

    Never raises for one file: one it cannot send whole is announced as ("left", relpath, size, reason). A file
    that changed while it was being shipped differs from the returned snapshot, so a later comparison with it
    finds the file changed again."""
    limit = ship_limit() if max_bytes is None else max_bytes
    base = Path(root)
    after = snapshot(base)
    for rel in changed_files(before, after):
        if rel in skip:
            continue
        size, mtime_ns = after[rel]
        if size > limit:
            reason = f"it is larger than the {limit >> 20} MB a worker ships (${SHIP_MAX_MB_ENV})"
            log.warning("%s stays in the worker's output folder: %s", rel, reason)
            yield ("left", rel, size, reason)
            continue
        yield from _ship_one(base / rel, rel, (size, mtime_ns), chunk_bytes or CHUNK_BYTES)
    return after


def _ship_one(path: Path, rel: str, state: tuple[int, int], chunk_bytes: int) -> Iterator[tuple]:
    offset = 0
    try:
        with path.open("rb") as handle:
            while chunk := handle.read(chunk_bytes):
                yield ("chunk", rel, offset, chunk)
                offset += len(chunk)
        now = path.stat()
        still = (now.st_size, now.st_mtime_ns) == state and offset == state[0]
    except OSError as exc:
        reason = f"it could not be read: {exc}"
    else:
        if still:
            yield ("end", rel, offset)
            return
        reason = "it changed while it was being shipped (another prompt still writing it?)"
    log.warning("%s stays in the worker's output folder: %s", rel, reason)
    yield ("left", rel, state[0], reason)


# ------------------------------------------------------------------ the coordinator's side


def safe_relative(root: Path, rel: Any) -> Path | None:
    """`root/rel` when `rel` is a plain relative path that stays inside `root` (symlinks resolved); else None."""
    if not isinstance(rel, str) or not rel or "\\" in rel or "\x00" in rel or rel.startswith("/"):
        return None
    parts = rel.split("/")
    if any(part in ("", ".", "..") for part in parts) or _arriving(parts[-1]):
        return None
    return inside(root, "/".join(parts[:-1]), parts[-1])  # the symlink check the named files get too


class IncomingFiles:
    """Writes the chunked files of one prompt into the coordinator's output folder as they arrive."""

    def __init__(self, output_dir: str | Path) -> None:
        self.root = Path(output_dir)
        self.open: dict[str, tuple[Path, Path, Any, Any]] = {}  # rel -> (target, partial, handle, sha256)
        self.refused: set[str] = set()
        self.stored: dict[str, str] = {}  # rel -> the relative path it was stored under

    def take(self, item: tuple) -> bool:
        """Handle one stream item; False when it is none of "chunk", "end", "left". Never raises for one file:
        a file that cannot be stored (refused, or the coordinator's disk full) is logged and left out."""
        kind = item[0]
        if kind not in ("chunk", "end", "left"):
            return False
        rel = item[1]
        if not isinstance(rel, str):
            log.error("refused a worker's output file named by %r, not a path; nothing written", type(rel))
        elif kind == "left":
            self._discard(rel)
            log.warning("a worker kept %s (%s bytes) in its output folder: %s", rel, item[2], item[3])
        else:
            try:
                self._chunk(rel, item[2], item[3]) if kind == "chunk" else self._end(rel, item[2])
            except OSError as exc:
                self._discard(rel)
                self._refuse(rel, f"it could not be written: {exc}")
        return True

    def _chunk(self, rel: Any, offset: int, data: bytes) -> None:
        if rel in self.refused:
            return
        if rel not in self.open:
            target = safe_relative(self.root, rel)
            if target is None or offset != 0:
                self._refuse(rel, NOT_INSIDE if target is None else "it began mid-file")
                return
            partial = new_partial(target)
            self.open[rel] = (target, partial, partial.open("wb"), hashlib.sha256())
        target, partial, handle, digest = self.open[rel]
        if offset != handle.tell():
            due = handle.tell()
            self._discard(rel)
            self._refuse(rel, f"a chunk at byte {offset} came where byte {due} was due")
            return
        handle.write(data)
        digest.update(data)

    def _end(self, rel: Any, size: int) -> None:
        if rel in self.refused:
            return
        if rel not in self.open:  # an empty file sends no chunk
            if safe_relative(self.root, rel) is None:
                self._refuse(rel, NOT_INSIDE)
                return
            self._chunk(rel, 0, b"")
        target, partial, handle, digest = self.open.pop(rel)
        written = handle.tell()
        handle.close()
        if written != size:
            partial.unlink(missing_ok=True)
            self._refuse(rel, f"{written} bytes arrived of {size}")
            return
        stored = place(partial, target, digest.hexdigest())
        self.stored[rel] = stored.relative_to(self.root.resolve()).as_posix()
        if stored != target:
            log.info("a worker's %s took the name of another file; stored as %s", rel, stored.name)

    def _refuse(self, rel: Any, reason: str) -> None:
        self.refused.add(rel)
        log.error("refused a worker's output file %r: %s; nothing written", rel, reason)

    def _discard(self, rel: Any) -> None:
        entry = self.open.pop(rel, None)
        if entry is not None:
            entry[2].close()
            entry[1].unlink(missing_ok=True)

    def close(self) -> None:
        """Remove what arrived of files that never finished (the worker died mid-file)."""
        for rel in list(self.open):
            self._discard(rel)


def incoming_for(directories: Mapping[str, str | Path] | None) -> IncomingFiles | None:
    """The receiver for the coordinator's folders ({"output": dir, ...}); None when there is no output folder."""
    if not directories or "output" not in directories:
        return None
    return IncomingFiles(directories["output"])
