"""The durable assets index behind `/api/assets` (ComfyUI v0.46's asset manager, re-implemented).

One SQLite file (`assets.db`, WAL) in the user folder, where the queue database lives by default
and where ComfyUI keeps its own `comfyui.db`. A row is one file of the input, output or temp folder
(tag `input`/`output`/`temp`) or of a model folder (tags `models`, `<folder key>`), with its size,
mtime, content hash, tags and user metadata. `sync` brings the index up to date with the folders
(new files appear, changed ones are re-hashed, vanished ones leave), so an image a run saved is an
asset the next time anyone lists them. Deleting an asset hides its row and keeps the file (ComfyUI
deletes the reference, not the content); the row comes back as a new asset if the file changes.

Hashes are ComfyUI's `blake3:<64 hex>`, computed with the `blake3` package. Without it the index still
works, with `hash` null, and `blake3:` names resolve to nothing (ComfyUI's format allows no other hash).
Model files are never hashed here (gigabytes each; ComfyUI hashes them lazily in the background).

Each operation opens its own short connection, so nothing needs closing when the server stops, and
the request threads never share one; `sync` is serialised per database by a lock.
"""

from __future__ import annotations

import json
import mimetypes
import os
import re
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from .ports import FolderLayout

FILE_ROOTS = ("input", "output", "temp")
ROOT_TAGS = frozenset((*FILE_ROOTS, "models"))
HASH_RE = re.compile(r"^blake3:[0-9a-f]{64}$")
SORT_FIELDS = ("name", "created_at", "updated_at", "size", "last_access_time")
_SKIPPED_MODEL_KEYS = ("custom_nodes",)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS assets (
    id TEXT PRIMARY KEY,
    root TEXT NOT NULL,
    category TEXT NOT NULL DEFAULT '',
    rel_path TEXT NOT NULL,
    name TEXT NOT NULL,
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    hash TEXT,
    mime_type TEXT,
    user_metadata TEXT NOT NULL DEFAULT '{}',
    job_id TEXT,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    last_access_time REAL,
    deleted INTEGER NOT NULL DEFAULT 0,
    UNIQUE (root, category, rel_path)
);
CREATE INDEX IF NOT EXISTS assets_hash ON assets (hash);
CREATE TABLE IF NOT EXISTS asset_tags (
    asset_id TEXT NOT NULL REFERENCES assets (id) ON DELETE CASCADE,
    tag TEXT NOT NULL,
    PRIMARY KEY (asset_id, tag)
);
CREATE INDEX IF NOT EXISTS asset_tags_tag ON asset_tags (tag);
"""


Hasher = Callable[[BinaryIO], str]


def _blake3_hasher() -> Hasher | None:
    try:
        from blake3 import blake3
    except ImportError:
        return None

    def stream_hash(handle: BinaryIO) -> str:
        digest = blake3()
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
        return "blake3:" + digest.hexdigest()

    return stream_hash


# The content hasher (of a binary stream) new stores get: blake3 when the package is installed,
# else None (no hashes).
DEFAULT_HASHER: Hasher | None = _blake3_hasher()


@dataclass
class Asset:
    """One row of the index with its tags (sorted, root tags first)."""

    id: str
    root: str
    category: str
    rel_path: str
    name: str
    size: int
    hash: str | None
    mime_type: str | None
    user_metadata: dict
    job_id: str | None
    created_at: float
    updated_at: float
    last_access_time: float | None
    tags: list[str] = field(default_factory=list)

    def upload_summary(self) -> dict:
        """The `asset` object of a /upload/image answer (ComfyUI's six fields)."""
        return {"id": self.id, "name": self.name, "asset_hash": self.hash, "size": self.size,
                "mime_type": self.mime_type, "tags": self.tags}


@dataclass
class ListQuery:
    """The filters and page of a listing; checked by the route before it gets here."""

    include_tags: list[str] = field(default_factory=list)
    exclude_tags: list[str] = field(default_factory=list)
    name_contains: str | None = None
    metadata_filter: dict | None = None
    limit: int = 20
    offset: int = 0
    sort: str = "created_at"
    order: str = "desc"


def sort_tags(tags) -> list[str]:
    """Root tags first, then the model folder key, then the rest by name (ComfyUI's order)."""
    tags = set(tags)
    first = [t for t in ("models", *FILE_ROOTS) if t in tags]
    return first + sorted(tags - set(first))


class AssetsStore:
    """The index in `path`, over the files of `folders`. Get one with `store_for`."""

    def __init__(self, path: Path, folders: FolderLayout, hasher: Hasher | None) -> None:
        self.path = Path(path)
        self.folders = folders
        self.hasher = hasher
        self._sync_lock = threading.Lock()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as conn:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.executescript(_SCHEMA)

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        conn = sqlite3.connect(self.path, timeout=30)
        try:
            conn.execute("PRAGMA foreign_keys=ON")
            conn.execute("PRAGMA synchronous=NORMAL")
            with conn:
                yield conn
        finally:
            conn.close()

    # ------------------------------------------------------------------ files
    def file_path(self, asset: Asset) -> Path:
        """Where the asset's file lies (it may have vanished since)."""
        if asset.root == "models":
            return self.folders.resolve(asset.category, asset.rel_path)
        return Path(self.folders.directory(asset.root)) / asset.rel_path

    def _walk_files(self) -> Iterator[tuple[str, str, str, Path]]:
        """(root, category, relative posix path, real path) of every indexed file: plain files only,
        no hidden names, nothing a symlink leads to outside its folder."""
        for root in FILE_ROOTS:
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
        for key in self.folders.known_keys():
            if key in _SKIPPED_MODEL_KEYS:
                continue
            for rel in self.folders.list_files(key):
                try:
                    yield "models", key, rel, self.folders.resolve(key, rel)
                except (ValueError, FileNotFoundError):
                    continue

    def sync(self) -> None:
        """Bring the index up to date with the folders (see the module docstring)."""
        with self._sync_lock:
            found = {}
            for root, category, rel, path in self._walk_files():
                try:
                    stat = path.stat()
                except OSError:
                    continue
                found[(root, category, rel)] = (path, stat.st_size, stat.st_mtime_ns)
            with self._connect() as conn:
                rows = conn.execute("SELECT id, root, category, rel_path, size, mtime_ns, deleted FROM assets")
                known = {(r[1], r[2], r[3]): r for r in rows.fetchall()}
            for key, row in known.items():
                if key not in found:
                    with self._connect() as conn:
                        conn.execute("DELETE FROM assets WHERE id = ?", (row[0],))
            for key, (path, size, mtime_ns) in found.items():
                row = known.get(key)
                if row is not None and (row[4], row[5]) == (size, mtime_ns):
                    continue
                if row is not None and row[6]:  # a deleted asset's file changed: a new asset
                    with self._connect() as conn:
                        conn.execute("DELETE FROM assets WHERE id = ?", (row[0],))
                    row = None
                self._index(key, path, size, mtime_ns, row[0] if row is not None else None)

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
                conn.execute("UPDATE assets SET size = ?, mtime_ns = ?, hash = ?, updated_at = ? WHERE id = ?",
                             (size, mtime_ns, digest, now, existing_id))
                return existing_id
            asset_id = str(uuid.uuid4())
            metadata = {"filename": rel}
            conn.execute(
                "INSERT INTO assets (id, root, category, rel_path, name, size, mtime_ns, hash, mime_type,"
                " user_metadata, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (root, category, rel_path) DO NOTHING",
                (asset_id, root, category, rel, rel.rsplit("/", 1)[-1], size, mtime_ns, digest,
                 mimetypes.guess_type(rel)[0], json.dumps(metadata), now, now))
            tags = [root] if root != "models" else ["models", category]
            conn.executemany("INSERT OR IGNORE INTO asset_tags (asset_id, tag) VALUES (?, ?)",
                             [(asset_id, tag) for tag in tags])
            return asset_id

    def register_file(self, root: str, rel_path: str, job_id: str | None = None) -> tuple[Asset, bool]:
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

    # ------------------------------------------------------------------ reading
    _COLUMNS = ("id, root, category, rel_path, name, size, hash, mime_type, user_metadata, job_id, created_at,"
                " updated_at, last_access_time")

    def _asset(self, conn: sqlite3.Connection, row) -> Asset:
        tags = [t for (t,) in conn.execute("SELECT tag FROM asset_tags WHERE asset_id = ?", (row[0],))]
        return Asset(*row[:8], json.loads(row[8]), *row[9:], tags=sort_tags(tags))

    def get(self, asset_id: str) -> Asset | None:
        with self._connect() as conn:
            row = conn.execute(f"SELECT {self._COLUMNS} FROM assets WHERE id = ? AND deleted = 0",
                               (asset_id,)).fetchone()
            return self._asset(conn, row) if row is not None else None

    def by_hash(self, digest: str) -> Asset | None:
        """The first live asset (oldest) whose content has this `blake3:` hash."""
        with self._connect() as conn:
            row = conn.execute(f"SELECT {self._COLUMNS} FROM assets WHERE hash = ? AND deleted = 0"
                               " ORDER BY created_at LIMIT 1", (digest,)).fetchone()
            return self._asset(conn, row) if row is not None else None

    def list(self, query: ListQuery) -> tuple[list[Asset], int]:
        """One page of the live assets matching `query`, and how many match in all."""
        where, args = ["deleted = 0"], []
        for tag in query.include_tags:
            where.append("id IN (SELECT asset_id FROM asset_tags WHERE tag = ?)")
            args.append(tag)
        for tag in query.exclude_tags:
            where.append("id NOT IN (SELECT asset_id FROM asset_tags WHERE tag = ?)")
            args.append(tag)
        if query.name_contains:
            where.append("instr(lower(name), ?) > 0")
            args.append(query.name_contains.lower())
        order = "DESC" if query.order == "desc" else "ASC"
        sql = (f"SELECT {self._COLUMNS} FROM assets WHERE {' AND '.join(where)}"
               f" ORDER BY {query.sort} {order}, id {order}")
        with self._connect() as conn:
            rows = conn.execute(sql, args).fetchall()
            if query.metadata_filter:
                wanted = query.metadata_filter.items()
                rows = [r for r in rows if all(json.loads(r[8]).get(k) == v for k, v in wanted)]
            page = rows[query.offset:query.offset + query.limit]
            return [self._asset(conn, row) for row in page], len(rows)

    def tag_counts(self) -> dict[str, int]:
        """Every tag of a live asset with the number of live assets carrying it."""
        with self._connect() as conn:
            rows = conn.execute("SELECT tag, count(*) FROM asset_tags JOIN assets ON assets.id = asset_id"
                                " WHERE deleted = 0 GROUP BY tag").fetchall()
        return dict(rows)

    # ------------------------------------------------------------------ changing
    def touch(self, asset_id: str) -> None:
        with self._connect() as conn:
            conn.execute("UPDATE assets SET last_access_time = ? WHERE id = ?", (time.time(), asset_id))

    def update(self, asset_id: str, *, name: str | None, user_metadata: dict | None) -> Asset | None:
        with self._connect() as conn:
            if name is not None:
                conn.execute("UPDATE assets SET name = ?, updated_at = ? WHERE id = ? AND deleted = 0",
                             (name, time.time(), asset_id))
            if user_metadata is not None:
                conn.execute("UPDATE assets SET user_metadata = ?, updated_at = ? WHERE id = ? AND deleted = 0",
                             (json.dumps(user_metadata), time.time(), asset_id))
        return self.get(asset_id)

    def delete(self, asset_id: str) -> bool:
        """Hide the asset (the file stays); False when there is no such live asset."""
        with self._connect() as conn:
            cursor = conn.execute("UPDATE assets SET deleted = 1, updated_at = ? WHERE id = ? AND deleted = 0",
                                  (time.time(), asset_id))
            if cursor.rowcount:
                conn.execute("DELETE FROM asset_tags WHERE asset_id = ?", (asset_id,))
            return cursor.rowcount > 0

    def add_tags(self, asset_id: str, tags: list[str]) -> tuple[list[str], list[str], list[str]] | None:
        """(added, already present, all tags now); None for an unknown asset."""
        asset = self.get(asset_id)
        if asset is None:
            return None
        added = [t for t in tags if t not in asset.tags]
        with self._connect() as conn:
            conn.executemany("INSERT OR IGNORE INTO asset_tags (asset_id, tag) VALUES (?, ?)",
                             [(asset_id, t) for t in added])
            conn.execute("UPDATE assets SET updated_at = ? WHERE id = ?", (time.time(), asset_id))
        return added, [t for t in tags if t in asset.tags], sort_tags([*asset.tags, *added])

    def remove_tags(self, asset_id: str, tags: list[str]) -> tuple[list[str], list[str], list[str], list[str]] | None:
        """(removed, not present, protected, all tags now); None for an unknown asset. The folder tags
        (input/output/temp, models and the model key) say where the file lies and are never removed."""
        asset = self.get(asset_id)
        if asset is None:
            return None
        fixed = {asset.root, asset.category} - {""}
        protected = [t for t in tags if t in fixed]
        removed = [t for t in tags if t in asset.tags and t not in fixed]
        with self._connect() as conn:
            conn.executemany("DELETE FROM asset_tags WHERE asset_id = ? AND tag = ?", [(asset_id, t) for t in removed])
            conn.execute("UPDATE assets SET updated_at = ? WHERE id = ?", (time.time(), asset_id))
        remaining = sort_tags(t for t in asset.tags if t not in removed)
        return removed, [t for t in tags if t not in asset.tags], protected, remaining


_STORES: dict[Path, AssetsStore] = {}
_STORES_LOCK = threading.Lock()


def store_for(folders: FolderLayout) -> AssetsStore:
    """The index of these folders (`<user folder>/assets.db`), opened once per process."""
    path = (Path(folders.directory("user")) / "assets.db").resolve()
    with _STORES_LOCK:
        store = _STORES.get(path)
        if store is None or store.folders is not folders:
            store = _STORES[path] = AssetsStore(path, folders, DEFAULT_HASHER)
        return store
