"""Starting on a damaged queue database: check it, keep what is readable, move the damaged file aside.

`Store.open` runs `integrity_problem` on its connection. When SQLite says the file is damaged (not a
database, malformed pages, a file cut short), `repair` renames the file (and its -wal/-shm) to
`<name>.damaged-<UTC time>`, reads every row it still can from it (store_salvage.py) and writes
them into a fresh database at the old path (the `settings` rows too, such as the paused flag; the
pause file beside the database, store_pause_file.py, covers a flag the damage took). A zero-byte
file (which this store never leaves behind) is reported too, as the queue it held is gone.
Errors that are not damage (a locked database, a full disk) are raised as they are.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from .store_salvage import COLUMNS, QUEUED, readable_rows
from .store_schema import create_or_upgrade

log = logging.getLogger("latentgraph.server.store")

# SQLite's words for "this file is damaged", as opposed to locked, read-only or full.
_DAMAGE_ERRORS = ("SQLITE_CORRUPT", "SQLITE_NOTADB")


@dataclass
class RepairReport:
    """What was found at start and what was done about it (shown by /system_stats)."""

    problem: str
    damaged_file: str | None = None
    kept_queued: int = 0
    kept_history: int = 0
    unreadable_rows: int = 0
    time: float = 0.0
    kept_paused: bool = False  # the queue came back paused, as it was (store_pause_file.py)

    def as_json(self) -> dict:
        return asdict(self)

    def sentence(self) -> str:
        paused = " The queue stays paused, as it was: resume it to start prompts." if self.kept_paused else ""
        if self.damaged_file is None:
            return f"The queue database {self.problem}; the server started with an empty queue and history.{paused}"
        return (f"The queue database was damaged ({self.problem}). It was moved to {self.damaged_file}; "
                f"{self.kept_queued} queued and {self.kept_history} finished prompts could be read and were kept"
                + (f", {self.unreadable_rows} rows were unreadable" if self.unreadable_rows else "") + "." + paused)


def is_damage(exc: sqlite3.DatabaseError) -> bool:
    """True when SQLite reports a damaged file (not a locked or full one)."""
    return getattr(exc, "sqlite_errorname", "") in _DAMAGE_ERRORS


def empty_file_problem(path: Path) -> str | None:
    """'is an empty file' for a zero-byte database with no write-ahead log beside it, else None."""
    wal = path.with_name(path.name + "-wal")
    if path.is_file() and path.stat().st_size == 0 and not (wal.is_file() and wal.stat().st_size > 0):
        return "is an empty file (0 bytes)"
    return None


def integrity_problem(conn: sqlite3.Connection) -> str | None:
    """None when SQLite's quick check passes; else what it found (damage only, other errors raise)."""
    try:
        rows = conn.execute("PRAGMA quick_check(5)").fetchall()
    except sqlite3.DatabaseError as exc:
        if not is_damage(exc):
            raise
        return str(exc)
    found = [" ".join(str(row[0]).split()) for row in rows]
    return None if found == ["ok"] else "; ".join(found)[:500]


def connect(path: Path) -> sqlite3.Connection:
    """The store's connection: shared by its threads under its lock, autocommit, patient with locks."""
    return sqlite3.connect(str(path), check_same_thread=False, isolation_level=None, timeout=30)


def open_checked(path: Path) -> tuple[sqlite3.Connection, RepairReport | None]:
    """A connection to a sound database at `path` (repaired first if it was damaged), and the report
    of what was found: damage, an empty file, or nothing (None)."""
    empty = empty_file_problem(path)
    conn = connect(path)
    try:
        problem = integrity_problem(conn)
    except BaseException:
        conn.close()
        raise
    if problem is not None:
        conn.close()
        report = repair(path, problem)
        return connect(path), report
    if empty is not None:
        report = RepairReport(problem=empty, time=time.time())
        log.warning("%s", report.sentence())
        return conn, report
    return conn, None


def repair(path: Path, problem: str) -> RepairReport:
    """Move the damaged database aside and rebuild `path` from what can still be read."""
    report = RepairReport(problem=problem, time=time.time())
    aside = _move_aside(path)
    report.damaged_file = str(aside)
    rows, counter, unreadable, settings = readable_rows(aside)
    report.unreadable_rows = unreadable
    report.kept_queued = sum(1 for row in rows if row["status"] in QUEUED)
    report.kept_history = len(rows) - report.kept_queued
    _write_fresh(path, rows, counter, settings)
    log.error("%s", report.sentence())
    return report


def _move_aside(path: Path) -> Path:
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    aside = path.with_name(f"{path.name}.damaged-{stamp}")
    n = 1
    while aside.exists():
        n += 1
        aside = path.with_name(f"{path.name}.damaged-{stamp}-{n}")
    for suffix in ("-wal", "-shm"):
        companion = path.with_name(path.name + suffix)
        if companion.exists():
            os.replace(companion, aside.with_name(aside.name + suffix))
    os.replace(path, aside)
    return aside


def _write_fresh(path: Path, rows: list[dict], counter: int | None, settings: dict[str, str]) -> None:
    conn = sqlite3.connect(str(path), isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode=WAL")
        create_or_upgrade(conn)
        conn.execute("BEGIN IMMEDIATE")
        for row in rows:
            row.setdefault("attempts", 0)
            row.setdefault("created", time.time())
            names = [name for name in COLUMNS if name in row]
            conn.execute(f"INSERT INTO prompts({', '.join(names)}) VALUES ({', '.join('?' * len(names))})",
                         [row[name] for name in names])
        if counter is None:  # the counter counts accepted prompts, as seq does
            counter = max((row["seq"] for row in rows), default=0)
        conn.execute("INSERT OR REPLACE INTO counters(name, value) VALUES ('number', ?)", (counter,))
        conn.executemany("INSERT OR REPLACE INTO settings(name, value) VALUES (?, ?)", settings.items())
        conn.execute("COMMIT")
        with contextlib.suppress(sqlite3.Error):
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()
