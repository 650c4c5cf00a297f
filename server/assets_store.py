"""The durable assets index behind `/api/assets` (ComfyUI v0.46's asset manager, re-implemented).

One SQLite file (`assets.db`, WAL) in the user folder, where the queue database lives by default
and where ComfyUI keeps its own `comfyui.db`. A row is one file of the input, output or temp folder
(tag `input`/`output`/`temp`) or of a model folder (tags `models`, `<folder key>`), with its size,
mtime, content hash, tags and user metadata. `sync` (assets_scan.py) brings the index up to date with
the folders (new files appear, changed ones are re-hashed, vanished ones are marked missing), so an image
a run saved is an asset the next time anyone lists them. Deleting an asset hides its row and keeps the
file (ComfyUI deletes the reference, not the content); the row comes back as a new asset if the file
changes. `create_from_hash` adds a second reference (root `refs`, no file of its own) to known content.

Hashes are ComfyUI's `blake3:<64 hex>`, computed with the `blake3` package. Without it the index still
works, with `hash` null, and `blake3:` names resolve to nothing (ComfyUI's format allows no other hash).
Model files are never hashed here (gigabytes each; ComfyUI hashes them lazily in the background).

Each operation opens its own short connection, so nothing needs closing when the server stops, and
the request threads never share one; `sync` is serialised per database by a lock.
"""

from __future__ import annotations

import json
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

from . import assets_cursor
from .assets_scan import FILE_ROOTS, REF_ROOT, ScanMixin, derived_tags
from .ports import FolderLayout

ROOT_TAGS = frozenset((*FILE_ROOTS, "models"))
HASH_RE = re.compile(r"^blake3:[0-9a-f]{64}$")
SORT_FIELDS = ("name", "created_at", "updated_at", "size", "last_access_time")
# Columns added after the first release of the index: (name, declaration), added to older files on open.
_ADDED_COLUMNS = (("preview_id", "TEXT"), ("missing", "INTEGER NOT NULL DEFAULT 0"))

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
    preview_id: str | None
    created_at: float
    updated_at: float
    last_access_time: float | None
    tags: list[str] = field(default_factory=list)

    @property
    def loader_path(self) -> str | None:
        """What a loader takes: the name inside the model folder key (as /models/{folder} lists it), or the
        path inside input/output/temp; None for a from-hash reference (no file of its own)."""
        return None if self.root == REF_ROOT else self.rel_path

    @property
    def display_name(self) -> str | None:
        """ComfyUI's label below the storage root: `<key>/<name>` for models, the path for input/output/temp."""
        if self.root == REF_ROOT:
            return None
        return f"{self.category}/{self.rel_path}" if self.root == "models" else self.rel_path

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
    after: assets_cursor.Cursor | None = None


def sort_tags(tags) -> list[str]:
    """Root tags first, then the model folder key, then the rest by name (ComfyUI's order)."""
    tags = set(tags)
    first = [t for t in ("models", *FILE_ROOTS) if t in tags]
    return first + sorted(tags - set(first))


class AssetsStore(ScanMixin):
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
            have = {row[1] for row in conn.execute("PRAGMA table_info(assets)")}
            for name, declaration in _ADDED_COLUMNS:
                if name not in have:
                    conn.execute(f"ALTER TABLE assets ADD COLUMN {name} {declaration}")

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
    def file_path(self, asset: Asset) -> Path | None:
        """Where the asset's file lies (it may have vanished since); for a from-hash reference, the file of
        the oldest live asset with its content (None when there is none)."""
        if asset.root == REF_ROOT:
            source = self.by_hash(asset.hash) if asset.hash else None
            return self.file_path(source) if source is not None else None
        if asset.root == "models":
            return self.folders.resolve(asset.category, asset.rel_path)
        return Path(self.folders.directory(asset.root)) / asset.rel_path

    # ------------------------------------------------------------------ reading
    _COLUMNS = ("id, root, category, rel_path, name, size, hash, mime_type, user_metadata, job_id, preview_id,"
                " created_at, updated_at, last_access_time")
    _LIVE = "deleted = 0 AND missing = 0"

    def _asset(self, conn: sqlite3.Connection, row) -> Asset:
        tags = [t for (t,) in conn.execute("SELECT tag FROM asset_tags WHERE asset_id = ?", (row[0],))]
        return Asset(*row[:8], json.loads(row[8]), *row[9:], tags=sort_tags(tags))

    def get(self, asset_id: str) -> Asset | None:
        with self._connect() as conn:
            row = conn.execute(f"SELECT {self._COLUMNS} FROM assets WHERE id = ? AND {self._LIVE}",
                               (asset_id,)).fetchone()
            return self._asset(conn, row) if row is not None else None

    def by_hash(self, digest: str) -> Asset | None:
        """The first live asset (oldest) with a file of its own whose content has this `blake3:` hash
        (from-hash references are left out: they name content, they do not hold it)."""
        with self._connect() as conn:
            row = conn.execute(f"SELECT {self._COLUMNS} FROM assets WHERE hash = ? AND {self._LIVE}"
                               " AND root != ? ORDER BY created_at, id LIMIT 1", (digest, REF_ROOT)).fetchone()
            return self._asset(conn, row) if row is not None else None

    def _matching(self, conn: sqlite3.Connection, query: ListQuery) -> list[tuple]:
        """The live rows passing the query's tag, name and metadata filters (unsorted)."""
        where, args = [self._LIVE], []
        for tag in query.include_tags:
            where.append("id IN (SELECT asset_id FROM asset_tags WHERE tag = ?)")
            args.append(tag)
        for tag in query.exclude_tags:
            where.append("id NOT IN (SELECT asset_id FROM asset_tags WHERE tag = ?)")
            args.append(tag)
        if query.name_contains:
            where.append("instr(lower(name), ?) > 0")
            args.append(query.name_contains.lower())
        rows = conn.execute(f"SELECT {self._COLUMNS} FROM assets WHERE {' AND '.join(where)}", args).fetchall()
        if query.metadata_filter:
            wanted = query.metadata_filter.items()
            rows = [r for r in rows if all(json.loads(r[8]).get(k) == v for k, v in wanted)]
        return rows

    _SORT_COLUMN = {"name": 4, "size": 5, "created_at": 11, "updated_at": 12, "last_access_time": 13}

    def list(self, query: ListQuery) -> tuple[list[Asset], int, str | None]:
        """One page of the live assets matching `query`, how many match in all, and the cursor of the next
        page (None on the last page, or for a sort without cursor pages). Ties in the sort value go by id,
        in the same direction; with `after` the page starts past that cursor and `offset` is not used."""
        column = self._SORT_COLUMN[query.sort]

        def key(row) -> tuple:
            value = row[column]
            return (False, 0, row[0]) if value is None else (True, assets_cursor.sort_value(query.sort, value), row[0])

        with self._connect() as conn:
            rows = sorted(self._matching(conn, query), key=key, reverse=query.order == "desc")
            total = len(rows)
            if query.after is not None:
                mark = (True, query.after.value, query.after.id)
                rows = [r for r in rows if (key(r) > mark if query.order == "asc" else key(r) < mark)]
                start = 0
            else:
                start = query.offset
            page = rows[start:start + query.limit]
            next_cursor = None
            if page and len(rows) > start + len(page):
                last = key(page[-1])
                if last[0]:
                    next_cursor = assets_cursor.encode(query.sort, last[1], last[2], query.order)
            return [self._asset(conn, row) for row in page], total, next_cursor

    def tag_histogram(self, query: ListQuery, limit: int) -> dict[str, int]:
        """The tags of the assets matching `query`'s filters with how many carry each, the `limit` most
        used (ComfyUI's `/api/assets/tags/refine`)."""
        counts: dict[str, int] = {}
        with self._connect() as conn:
            for row in self._matching(conn, query):
                for (tag,) in conn.execute("SELECT tag FROM asset_tags WHERE asset_id = ?", (row[0],)):
                    counts[tag] = counts.get(tag, 0) + 1
        ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:limit]
        return dict(ranked)

    def tag_counts(self) -> dict[str, int]:
        """Every tag of a live asset with the number of live assets carrying it."""
        with self._connect() as conn:
            rows = conn.execute("SELECT tag, count(*) FROM asset_tags JOIN assets ON assets.id = asset_id"
                                f" WHERE {self._LIVE} GROUP BY tag").fetchall()
        return dict(rows)

    def create_from_hash(self, digest: str, name: str, tags: list[str], user_metadata: dict,
                         mime_type: str | None = None, preview_id: str | None = None) -> Asset | None:
        """A new reference (its own id, name, tags, metadata) to content the index already knows; None when
        no live asset has that hash. The reference has no file of its own: its content is served from the
        file of the oldest asset with the hash (ComfyUI's `POST /api/assets/from-hash`)."""
        source = self.by_hash(digest)
        if source is None:
            return None
        asset_id, now = str(uuid.uuid4()), time.time()
        with self._connect() as conn:
            conn.execute(
                "INSERT INTO assets (id, root, category, rel_path, name, size, mtime_ns, hash, mime_type,"
                " user_metadata, preview_id, created_at, updated_at) VALUES (?, ?, '', ?, ?, ?, 0, ?, ?, ?, ?, ?, ?)",
                (asset_id, REF_ROOT, asset_id, name, source.size, digest, mime_type or source.mime_type,
                 json.dumps(user_metadata), preview_id, now, now))
            conn.executemany("INSERT OR IGNORE INTO asset_tags (asset_id, tag) VALUES (?, ?)",
                             [(asset_id, tag) for tag in tags])
        return self.get(asset_id)

    # ------------------------------------------------------------------ changing
    def touch(self, asset_id: str) -> None:
        with self._connect() as conn:
            conn.execute("UPDATE assets SET last_access_time = ? WHERE id = ?", (time.time(), asset_id))

    def update(self, asset_id: str, *, name: str | None, user_metadata: dict | None,
               preview_id: str | None = None) -> Asset | None:
        with self._connect() as conn:
            if preview_id is not None:
                conn.execute("UPDATE assets SET preview_id = ?, updated_at = ? WHERE id = ? AND deleted = 0",
                             (preview_id, time.time(), asset_id))
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
        """(removed, not present, protected, all tags now); None for an unknown asset. The tags derived from
        where the file lies (assets_scan.derived_tags) are never removed."""
        asset = self.get(asset_id)
        if asset is None:
            return None
        fixed = set() if asset.root == REF_ROOT else set(derived_tags(asset.root, asset.category, asset.rel_path))
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
