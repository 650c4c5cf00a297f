"""Reading what is still readable from a damaged queue database.

The damaged file is never changed: it is copied (with its write-ahead log) to a working copy, which
is read as it is, then with its header's page count fixed (a file cut short), then with a rebuilt
100-byte header (garbage over the start). Queued and running rows come first, found through their
index; then the table is scanned from both ends, each scan stopping at the first damaged page.
Rows whose fields have the wrong types or whose JSON no longer parses are left out and counted.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
from collections.abc import Callable
from pathlib import Path

from .store_schema import QUEUED, STATUSES

COLUMNS = ("seq", "prompt_id", "number", "prompt", "extra_data", "outputs", "sensitive", "status", "attempts",
           "created", "finished", "done_order", "result", "request_hash", "node_errors")
_JSON_COLUMNS = {"prompt": dict, "extra_data": dict, "outputs": list}
_MAGIC = b"SQLite format 3\x00"
_PAGE_SIZES = (4096, 1024, 2048, 8192, 16384, 32768, 65536, 512)


def readable_rows(damaged: Path) -> tuple[list[dict], int | None, int, dict[str, str]]:
    """(rows kept in seq order, the number counter if readable, rows read but unusable, the readable rows of
    the settings table, such as the queue's paused flag)."""
    work = damaged.with_name(damaged.name + ".reading")
    try:
        for prepare in (_as_found, _fix_page_count, _rebuild_header):
            _copy(damaged, work)
            try:
                if not prepare(work):
                    continue
                conn = sqlite3.connect(str(work), isolation_level=None)
            except (OSError, sqlite3.Error):
                continue
            try:
                columns = _columns(conn)
                if columns:
                    return _rows(conn, columns)
            finally:
                conn.close()
        return [], None, 0, {}
    finally:
        for suffix in ("", "-wal", "-shm", "-journal"):
            work.with_name(work.name + suffix).unlink(missing_ok=True)


def _copy(damaged: Path, work: Path) -> None:
    shutil.copyfile(damaged, work)
    wal = damaged.with_name(damaged.name + "-wal")
    work_wal = work.with_name(work.name + "-wal")
    if wal.is_file():
        shutil.copyfile(wal, work_wal)
    else:
        work_wal.unlink(missing_ok=True)
    work.with_name(work.name + "-shm").unlink(missing_ok=True)


def _as_found(work: Path) -> bool:
    return True


def _page_size(header: bytes) -> int | None:
    value = int.from_bytes(header[16:18], "big")
    size = 65536 if value == 1 else value
    return size if size in _PAGE_SIZES else None


def _fix_page_count(work: Path) -> bool:
    """A file cut short: the header still counts the lost pages, and SQLite then refuses every page."""
    with open(work, "r+b") as handle:
        header = handle.read(100)
        size = _page_size(header) if header.startswith(_MAGIC) else None
        if size is None:
            return False
        pages = work.stat().st_size // size
        handle.truncate(pages * size)
        handle.seek(28)
        handle.write(pages.to_bytes(4, "big"))
        handle.seek(92)
        handle.write(header[24:28])  # "valid for" = the change counter: the page count is trusted
    return True


def _rebuild_header(work: Path) -> bool:
    """Garbage over the start: a plausible header for the commonest page size (the rest of page 1,
    the schema table's root, is usually intact). The log is dropped: its pages would not match."""
    work.with_name(work.name + "-wal").unlink(missing_ok=True)
    size = 4096
    pages = work.stat().st_size // size
    header = bytearray(100)
    header[0:16] = _MAGIC
    header[16:18] = size.to_bytes(2, "big")
    header[18:24] = bytes([1, 1, 0, 64, 32, 32])  # rollback journal, no reserved bytes, standard fractions
    header[24:28] = (1).to_bytes(4, "big")  # change counter
    header[28:32] = pages.to_bytes(4, "big")
    header[40:44] = (1).to_bytes(4, "big")  # schema cookie
    header[44:48] = (4).to_bytes(4, "big")  # schema format
    header[56:60] = (1).to_bytes(4, "big")  # UTF-8
    header[92:96] = (1).to_bytes(4, "big")  # valid for change counter 1
    major, minor, patch = sqlite3.sqlite_version_info
    header[96:100] = (major * 1_000_000 + minor * 1000 + patch).to_bytes(4, "big")
    with open(work, "r+b") as handle:
        handle.truncate(pages * size)
        handle.write(bytes(header))
    return pages > 1


def _columns(conn: sqlite3.Connection) -> list[str]:
    try:
        present = {row[1] for row in conn.execute("PRAGMA table_info(prompts)")}
    except sqlite3.DatabaseError:
        return []
    columns = [name for name in COLUMNS if name in present]
    return columns if {"seq", "prompt_id", "status"} <= set(columns) else []


def _rows(conn: sqlite3.Connection, columns: list[str]) -> tuple[list[dict], int | None, int, dict[str, str]]:
    select = f"SELECT {', '.join(columns)} FROM prompts"
    queued = ",".join(f"'{status}'" for status in QUEUED)
    seqs = [row[0] for row in rows_until_error(
        conn, f"SELECT seq FROM prompts INDEXED BY prompts_status WHERE status IN ({queued})")]
    sources: list[Callable[[], list[tuple]]] = [
        (lambda seq=seq: rows_until_error(conn, select + " WHERE seq = ?", (seq,))) for seq in seqs]
    sources += [lambda: rows_until_error(conn, select + " ORDER BY seq"),
                lambda: rows_until_error(conn, select + " ORDER BY seq DESC")]
    found: dict[int, dict | None] = {}
    unreadable = 0
    for source in sources:
        for values in source():
            row = dict(zip(columns, values, strict=True))
            if not isinstance(row["seq"], int) or row["seq"] in found:
                continue
            found[row["seq"]] = row if usable(row) else None
            unreadable += found[row["seq"]] is None
    counter = rows_until_error(conn, "SELECT value FROM counters WHERE name = 'number'")
    value = counter[0][0] if counter else None
    rows = [row for _, row in sorted(found.items()) if row is not None]
    settings = {name: text for name, text in rows_until_error(conn, "SELECT name, value FROM settings")
                if isinstance(name, str) and isinstance(text, str)}
    return rows, value if isinstance(value, int) else None, unreadable, settings


def rows_until_error(conn: sqlite3.Connection, sql: str, params: tuple = ()) -> list[tuple]:
    """The rows a query returns before it meets a damaged page."""
    rows: list[tuple] = []
    try:
        cursor = conn.execute(sql, params)
        while (row := cursor.fetchone()) is not None:
            rows.append(row)
    except sqlite3.DatabaseError:
        pass
    return rows


def usable(row: dict) -> bool:
    """A row whose fields have the types the store writes and whose JSON parses (optional JSON that
    does not parse is dropped, keeping the prompt)."""
    if not isinstance(row.get("prompt_id"), str) or row.get("status") not in STATUSES:
        return False
    if isinstance(row.get("number"), bool) or not isinstance(row.get("number"), (int, float)):
        return False
    for name, kind in _JSON_COLUMNS.items():
        try:
            if not isinstance(json.loads(row.get(name) or "null"), kind):
                return False
        except (ValueError, TypeError):
            return False
    for name in ("result", "sensitive", "node_errors"):
        if row.get(name) is not None:
            try:
                json.loads(row[name])
            except (ValueError, TypeError):
                row[name] = None
    return True
