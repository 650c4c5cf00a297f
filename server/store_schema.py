"""The SQLite schema of the queue store, and bringing a database written by an older version up to it."""

from __future__ import annotations

import sqlite3

# The values of prompts.status. A value is never renamed; a new one needs no migration (the column is
# TEXT), but an older version of the server does not count rows with it as history. "cancelled" came
# with ComfyUI's jobs cancel routes (a queued prompt removed, or a running one interrupted, by a cancel).
PENDING = "pending"
RUNNING = "running"
SUCCESS = "success"
ERROR = "error"
INTERRUPTED = "interrupted"
FAILED_BY_RESTART = "failed_by_restart"
CANCELLED = "cancelled"
QUEUED = (PENDING, RUNNING)
TERMINAL = (SUCCESS, ERROR, INTERRUPTED, FAILED_BY_RESTART, CANCELLED)
STATUSES = QUEUED + TERMINAL

SCHEMA = """
CREATE TABLE IF NOT EXISTS prompts (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    prompt_id TEXT NOT NULL UNIQUE,
    number REAL NOT NULL,
    prompt TEXT NOT NULL,
    extra_data TEXT NOT NULL,
    outputs TEXT NOT NULL,
    sensitive TEXT,
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    created REAL NOT NULL,
    finished REAL,
    done_order INTEGER,
    result TEXT,
    request_hash TEXT,
    node_errors TEXT
);
CREATE INDEX IF NOT EXISTS prompts_status ON prompts(status, number, seq);
CREATE INDEX IF NOT EXISTS prompts_done ON prompts(done_order);
CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS settings (name TEXT PRIMARY KEY, value TEXT NOT NULL);
"""

# Columns added after the first release: (name, SQL type). Older rows read them as NULL.
ADDED_COLUMNS = (("request_hash", "TEXT"), ("node_errors", "TEXT"))


def create_or_upgrade(conn: sqlite3.Connection) -> None:
    """Create the tables (an older database gains the ones it lacks, such as `settings`, the queue's
    paused flag), then add the columns it lacks."""
    conn.executescript(SCHEMA)
    present = {row[1] for row in conn.execute("PRAGMA table_info(prompts)")}
    for name, sql_type in ADDED_COLUMNS:
        if name not in present:
            conn.execute(f"ALTER TABLE prompts ADD COLUMN {name} {sql_type}")
