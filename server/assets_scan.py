"""The scan of the assets index (a mixin of assets_store.AssetsStore): walk the folders, index what is new
or changed, mark what vanished as missing, and register single files (an upload, a job's output) at once.

Roots are ComfyUI's: `input`, `output`, `models` (every model folder key but custom_nodes) and, for the
listing's own sync, `temp`. The tags a file gets from where it lies are ComfyUI v0.46's path-derived tags:
the root (`input`/`output`/`temp`), for models `models`, `model_type:<key>` and (as earlier ComfyUI
versions, so old filters keep working) the bare `<key>`, and for a file directly inside one of the editor's
input subfolders (`pasted`, `webcam`, `3d`, `painter`, `threed`) that subfolder's name.

A file that vanished is not forgotten: its row is marked missing (hidden from every answer), and comes back
with its id, tags and metadata when the file reappears; if it reappears changed it is re-hashed.
"""

from __future__ import annotations

import json
import mimetypes
import os
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path

FILE_ROOTS = ("input", "output", "temp")
SCAN_ROOTS = ("models", *FILE_ROOTS)
REF_ROOT = "refs"  # rows made by from-hash: no file of their own, the content of another row's file
INPUT_SUBFOLDER_TAGS = frozenset({"3d", "pasted", "painter", "threed", "webcam"})
_SKIPPED_MODEL_KEYS = ("custom_nodes",)


@dataclass
class ScanProgress:
    """ComfyUI's seed progress: files found, processed, newly indexed, and already indexed unchanged."""

    scanned: int = 0
    total: int = 0
    created: int = 0
    skipped: int = 0

    def as_json(self) -> dict:
        return {"scanned": self.scanned, "total": self.total, "created": self.created, "skipped": self.skipped}


def derived_tags(root: str, category: str, rel_path: str) -> list[str]:
    """The tags a file gets from where it lies (see the module docstring)."""
    if root == "models":
        return ["models", category, f"model_type:{category}"]
    parts = rel_path.split("/")
    if root == "input" and len(parts) == 2 and parts[0] in INPUT_SUBFOLDER_TAGS:
        return [root, parts[0]]
    return [root]


class ScanMixin:
    """Needs `folders`, `hasher`, `_sync_lock` and `_connect()` of AssetsStore."""

    folders: object
    hasher: Callable | None
    _sync_lock: threading.Lock
    _connect: Callable[[], AbstractContextManager[sqlite3.Connection]]

    def _walk_files(self, roots: Iterable[str]) -> Iterator[tuple[str, str, str, Path]]:
        """(root, category, relative posix path, real path) of every file of `roots`: plain files only,
        no hidden names, nothing a symlink leads to outside its folder."""
        for root in (r for r in FILE_ROOTS if r in roots):
            base = Path(self.folders.directory(root)).resolve()
            for folder, dirs, files in os.walk(base):
                dirs[:] = [d for d in dirs if not d.startswith(".")]
                for name in files:
                    if name.startswith("."):
                        continue
                    path = Path(folder) / name
                    real = path.resolve()
                    if base in real.parents and real.is_file():
                        yield root, "", path.relative_to(base).as_posix(), path
        if "models" not in roots:
            return
        for key in self.folders.known_keys():
            if key in _SKIPPED_MODEL_KEYS:
                continue
            for rel in self.folders.list_files(key):
                try:
                    yield "models", key, rel, self.folders.resolve(key, rel)
                except (ValueError, FileNotFoundError):
                    continue

    def sync(self, roots: Iterable[str] = SCAN_ROOTS, progress: ScanProgress | None = None,
             should_stop: Callable[[], bool] | None = None) -> ScanProgress:
        """Bring the rows of `roots` up to date with the folders: new files are indexed, changed ones
        re-hashed, vanished ones marked missing, reappeared ones un-marked. Stops early (between files)
        once `should_stop()` is true; `progress` is updated as it goes."""
        roots = tuple(r for r in SCAN_ROOTS if r in set(roots))
        progress = progress if progress is not None else ScanProgress()
        with self._sync_lock:
            found = {}
            for root, category, rel, path in self._walk_files(roots):
                try:
                    stat = path.stat()
                except OSError:
                    continue
                found[(root, category, rel)] = (path, stat.st_size, stat.st_mtime_ns)
            progress.total = len(found)
            marks = ",".join("?" * len(roots))
            with self._connect() as conn:
                rows = conn.execute("SELECT id, root, category, rel_path, size, mtime_ns, deleted, missing FROM assets"
                                    f" WHERE root IN ({marks})", roots)
                known = {(r[1], r[2], r[3]): r for r in rows.fetchall()}
                gone = [(row[0],) for key, row in known.items() if key not in found and not row[7]]
                conn.executemany("UPDATE assets SET missing = 1 WHERE id = ?", gone)
            for key, (path, size, mtime_ns) in found.items():
                if should_stop is not None and should_stop():
                    break
                progress.scanned += 1
                row = known.get(key)
                if row is not None and (row[4], row[5]) == (size, mtime_ns):
                    progress.skipped += 1
                    if row[7]:
                        with self._connect() as conn:
                            conn.execute("UPDATE assets SET missing = 0 WHERE id = ?", (row[0],))
                    continue
                if row is not None and row[6]:  # a deleted asset's file changed: a new asset
                    with self._connect() as conn:
                        conn.execute("DELETE FROM assets WHERE id = ?", (row[0],))
                    row = None
                progress.created += row is None
                self._index(key, path, size, mtime_ns, row[0] if row is not None else None)
            self._add_derived_tags(known, found)
        return progress

    def _add_derived_tags(self, known: dict, found: dict) -> None:
        """Give rows indexed before a tag was derived (say `model_type:<key>`) the tags they lack."""
        pairs = [(row[0], tag) for key, row in known.items() if key in found and not row[6]
                 for tag in derived_tags(*key)]
        with self._connect() as conn:
            conn.executemany("INSERT OR IGNORE INTO asset_tags (asset_id, tag) VALUES (?, ?)", pairs)

    def prune(self) -> int:
        """Mark missing every row whose file is no longer on disk, in any root (also model keys that left
        the configuration): ComfyUI's `/api/assets/prune`. Returns how many were marked."""
        with self._sync_lock:
            with self._connect() as conn:
                rows = conn.execute("SELECT id, root, category, rel_path FROM assets WHERE missing = 0 AND root != ?",
                                    (REF_ROOT,)).fetchall()
            gone = [(asset_id,) for asset_id, root, category, rel in rows if not self._still_there(root, category, rel)]
            with self._connect() as conn:
                conn.executemany("UPDATE assets SET missing = 1 WHERE id = ?", gone)
        return len(gone)

    def _still_there(self, root: str, category: str, rel: str) -> bool:
        try:
            if root == "models":
                return category in self.folders.known_keys() and self.folders.resolve(category, rel).is_file()
            return root in FILE_ROOTS and (Path(self.folders.directory(root)) / rel).is_file()
        except (ValueError, OSError, KeyError):
            return False

    def _index(self, key: tuple[str, str, str], path: Path, size: int, mtime_ns: int,
               existing_id: str | None) -> str:
        root, category, rel = key
        digest = None
        if root != "models" and self.hasher is not None:
            try:
                with open(path, "rb") as handle:
                    digest = self.hasher(handle)
            except OSError:
                return existing_id or ""
        now = time.time()
        with self._connect() as conn:
            if existing_id is not None:
                conn.execute("UPDATE assets SET size = ?, mtime_ns = ?, hash = ?, updated_at = ?, missing = 0"
                             " WHERE id = ?", (size, mtime_ns, digest, now, existing_id))
                return existing_id
            asset_id = str(uuid.uuid4())
            conn.execute(
                "INSERT INTO assets (id, root, category, rel_path, name, size, mtime_ns, hash, mime_type,"
                " user_metadata, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (root, category, rel_path) DO NOTHING",
                (asset_id, root, category, rel, rel.rsplit("/", 1)[-1], size, mtime_ns, digest,
                 mimetypes.guess_type(rel)[0], json.dumps({"filename": rel}), now, now))
            conn.executemany("INSERT OR IGNORE INTO asset_tags (asset_id, tag) VALUES (?, ?)",
                             [(asset_id, tag) for tag in derived_tags(root, category, rel)])
            return asset_id

    def register_file(self, root: str, rel_path: str, job_id: str | None = None):
        """Index one file of input/output/temp now (after an upload, or a job's output): (its asset, whether
        it is new). `job_id` names the job that wrote the file; it is kept from the first job that claims it."""
        path = Path(self.folders.directory(root)) / rel_path
        stat = path.stat()
        with self._sync_lock:
            with self._connect() as conn:
                row = conn.execute("SELECT id, size, mtime_ns, deleted FROM assets WHERE root = ? AND category = ''"
                                   " AND rel_path = ?", (root, rel_path)).fetchone()
                if row is not None and row[3]:
                    conn.execute("DELETE FROM assets WHERE id = ?", (row[0],))
                    row = None
            if row is not None and (row[1], row[2]) == (stat.st_size, stat.st_mtime_ns):
                asset_id = row[0]
                with self._connect() as conn:
                    conn.execute("UPDATE assets SET missing = 0 WHERE id = ?", (asset_id,))
            else:
                asset_id = self._index((root, "", rel_path), path, stat.st_size, stat.st_mtime_ns,
                                       row[0] if row is not None else None)
        if job_id is not None:
            with self._connect() as conn:
                conn.execute("UPDATE assets SET job_id = ? WHERE id = ? AND job_id IS NULL", (job_id, asset_id))
        asset = self.get(asset_id)
        if asset is None:
            raise FileNotFoundError(f"{rel_path!r} could not be indexed")
        return asset, row is None
