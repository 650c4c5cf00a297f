"""Durable prompt queue and history in one SQLite database (WAL mode, standard library).

Every accepted prompt is committed before `add` returns, so a prompt that `POST /prompt`
acknowledged survives `kill -9`. A row moves pending -> running -> success | error |
interrupted | cancelled (or straight from pending to cancelled); on start-up a row still marked running (the process died under it) is put back
in the queue once, and on the second death it ends as `failed_by_restart`, an explicit
failure in the history. Queue order is (number, insertion order), as ComfyUI's heap.

Durability: accepting a prompt (and deleting queued ones) commits with the configured
`synchronous` level (FULL: survives power loss). Worker bookkeeping (marking running,
writing history) commits with NORMAL, which survives the death of the process but may be
rolled back by a power loss — the prompt then reappears as queued or running and is re-run,
never lost. This keeps the worker's writes from blocking the accept path on an fsync.

Thread-safety: one connection guarded by a lock; an in-memory mirror of the queued rows
answers `/queue` without touching the disk. The worker waits on `pop_next`. The history
half (finishing, cancelling queued prompts, reading entries) is in store_history.py; pausing and
reordering the queue in store_order.py.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path

from .store_history import HistoryMixin
from .store_items import DuplicatePromptIdError, QueueFullError, QueueItem, RecoveryReport
from .store_order import MoveError, QueueOrderMixin
from .store_pause_file import pause_file_for
from .store_repair import RepairReport, is_damage, open_checked, repair
from .store_schema import (
    CANCELLED,
    ERROR,
    FAILED_BY_RESTART,
    INTERRUPTED,
    PENDING,
    RUNNING,
    SUCCESS,
    TERMINAL,
    create_or_upgrade,
)

__all__ = ["CANCELLED", "ERROR", "FAILED_BY_RESTART", "INTERRUPTED", "PENDING", "RUNNING", "SUCCESS", "TERMINAL",
           "DuplicatePromptIdError", "MoveError", "QueueFullError", "QueueItem", "RecoveryReport", "Store"]

# A running prompt is started at most this many times across process deaths.
MAX_ATTEMPTS = 2


class Store(HistoryMixin, QueueOrderMixin):
    """The queue and history. Create with `Store.open(path)`."""

    def __init__(self, conn: sqlite3.Connection, *, max_queue_size: int, history_max: int) -> None:
        self._conn = conn
        self._lock = threading.RLock()
        self._changed = threading.Condition(self._lock)
        self.max_queue_size = max_queue_size
        self.history_max = history_max
        self._pending: dict[str, QueueItem] = {}
        self._running: dict[str, QueueItem] = {}
        self._closed = False
        self._paused = False  # see store_order.py
        self._pause_file: Path | None = None  # the paused flag's copy beside the database (store_pause_file.py)
        self._synchronous = "FULL"
        self.recovery = RecoveryReport()
        # Set when the database was found damaged (or empty) at open: see store_repair.py.
        self.repair: RepairReport | None = None

    # ------------------------------------------------------------------ lifecycle
    @classmethod
    def open(cls, path: str | Path, *, max_queue_size: int = 10000, history_max: int = 10000,
             synchronous: str = "FULL") -> Store:
        """Open (creating if needed) the database and recover what a dead process left running."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        if synchronous not in ("FULL", "NORMAL", "EXTRA"):
            raise ValueError(f"synchronous must be FULL, NORMAL or EXTRA, not {synchronous!r}")
        conn, report = open_checked(path)
        try:
            store = cls._start(conn, max_queue_size, history_max, synchronous)
        except (sqlite3.DatabaseError, ValueError) as exc:  # damage the quick check cannot see (bad JSON)
            conn.close()
            if isinstance(exc, sqlite3.DatabaseError) and not is_damage(exc):
                raise
            report = repair(path, f"a row could not be read: {exc}")
            store = cls._start(open_checked(path)[0], max_queue_size, history_max, synchronous)
        store.repair = report
        store._pause_file = pause_file_for(path)
        store._reconcile_pause_file(rebuilt=report is not None)
        if report is not None:
            report.kept_paused = store._paused
        return store

    @classmethod
    def _start(cls, conn: sqlite3.Connection, max_queue_size: int, history_max: int, synchronous: str) -> Store:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute(f"PRAGMA synchronous={synchronous}")
        create_or_upgrade(conn)
        store = cls(conn, max_queue_size=max_queue_size, history_max=history_max)
        store._synchronous = synchronous
        store._recover()
        store._load_queue()
        store._load_paused()
        return store

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
            try:
                self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            except sqlite3.Error:
                pass
            self._conn.close()
            self._changed.notify_all()

    def _recover(self) -> None:
        rows = self._conn.execute(
            "SELECT prompt_id, attempts FROM prompts WHERE status = ?", (RUNNING,)).fetchall()
        for prompt_id, attempts in rows:
            if attempts < MAX_ATTEMPTS:
                self._conn.execute("UPDATE prompts SET status = ? WHERE prompt_id = ?", (PENDING, prompt_id))
                self.recovery.requeued.append(prompt_id)
            else:
                message = (f"The server stopped {attempts} times while this prompt was running; "
                           "it was re-queued once and is now reported as failed by restart.")
                now = time.time()
                result = {"outputs": {}, "status": {
                    "status_str": "error", "completed": False,
                    "messages": [["execution_error", {
                        "prompt_id": prompt_id, "node_id": None, "node_type": None, "executed": [],
                        "exception_message": message, "exception_type": "FailedByRestart",
                        "traceback": [], "current_inputs": {}, "current_outputs": [],
                        "timestamp": int(now * 1000)}]]}, "meta": {}}
                self._write_terminal(prompt_id, FAILED_BY_RESTART, result, now)
                self.recovery.failed.append(prompt_id)
        if rows:
            self._trim_history()

    def _load_queue(self) -> None:
        rows = self._conn.execute(
            "SELECT seq, prompt_id, number, prompt, extra_data, outputs, sensitive, attempts "
            "FROM prompts WHERE status = ? ORDER BY number, seq", (PENDING,)).fetchall()
        for seq, prompt_id, number, prompt, extra, outputs, sensitive, attempts in rows:
            self._pending[prompt_id] = QueueItem(
                number, prompt_id, json.loads(prompt), json.loads(extra), json.loads(outputs),
                json.loads(sensitive) if sensitive else {}, seq, attempts)

    # ------------------------------------------------------------------ queue
    def add(self, prompt_id: str, prompt: dict, extra_data: dict, outputs: list, *,
            number: float | None = None, front: bool = False, sensitive: dict | None = None,
            request_hash: str | None = None, node_errors: dict | None = None) -> QueueItem:
        """Commit a new pending prompt; returns it. Raises QueueFullError or DuplicatePromptIdError.

        As ComfyUI: without `number` the server counter is used (negated when `front`);
        an explicit `number` is used as given. `request_hash` and `node_errors` are kept so a
        client repeating the same request can be given the same answer (`first_answer`)."""
        with self._lock:
            self._check_open()
            if len(self._pending) + len(self._running) >= self.max_queue_size:
                raise QueueFullError(f"The queue is full ({self.max_queue_size} prompts); wait for some to finish.")
            if prompt_id in self._pending or prompt_id in self._running:
                raise DuplicatePromptIdError(prompt_id)
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                if number is None:
                    row = self._conn.execute("SELECT value FROM counters WHERE name = 'number'").fetchone()
                    counter = row[0] if row else 0
                    self._conn.execute("INSERT OR REPLACE INTO counters(name, value) VALUES ('number', ?)",
                                       (counter + 1,))
                    number = -counter if front else counter
                cur = self._conn.execute(
                    "INSERT INTO prompts(prompt_id, number, prompt, extra_data, outputs, sensitive, status, created, "
                    "request_hash, node_errors) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (prompt_id, number, json.dumps(prompt), json.dumps(extra_data), json.dumps(outputs),
                     json.dumps(sensitive) if sensitive else None, PENDING, time.time(), request_hash,
                     json.dumps(node_errors) if node_errors is not None else None))
                self._conn.execute("COMMIT")
            except sqlite3.IntegrityError as exc:
                self._conn.execute("ROLLBACK")
                raise DuplicatePromptIdError(prompt_id) from exc
            except BaseException:
                self._rollback_quietly()
                raise
            item = QueueItem(number, prompt_id, prompt, extra_data, outputs, sensitive or {}, cur.lastrowid, 0)
            self._pending[prompt_id] = item
            self._changed.notify_all()
            return item

    def pop_next(self, timeout: float | None = None,
                 choose: Callable[[list[QueueItem]], QueueItem | None] | None = None) -> QueueItem | None:
        """Mark the first pending prompt running and return it; None when the queue stays empty (or
        paused) until `timeout`, a `wake()` or `close()`. `choose` (several workers: routing) picks another
        of the pending prompts, in queue order, under the store's lock; its None takes nothing."""
        with self._lock:
            if (self._paused or not self._pending) and not self._closed and (timeout is None or timeout > 0):
                self._changed.wait(timeout)  # an add, a resume, a wake() or the timeout ends the wait
            if self._closed or self._paused or not self._pending:
                return None
            if choose is None:
                item = min(self._pending.values(), key=lambda it: (it.number, it.seq))
            else:
                item = choose(sorted(self._pending.values(), key=lambda it: (it.number, it.seq)))
                if item is None or item.prompt_id not in self._pending:
                    return None
            with self._relaxed():
                self._conn.execute("UPDATE prompts SET status = ?, attempts = attempts + 1 WHERE prompt_id = ?",
                                   (RUNNING, item.prompt_id))
            del self._pending[item.prompt_id]
            item.attempts += 1
            self._running[item.prompt_id] = item
            return item

    def wake(self) -> None:
        """Wake a waiting `pop_next` (e.g. so the worker notices a stop or a /free request)."""
        with self._lock:
            self._changed.notify_all()

    def requeue(self, prompt_id: str, *, count_attempt: bool = False) -> None:
        """Put a running prompt back as pending without counting the attempt (graceful shutdown);
        with `count_attempt` the attempt stays counted (its worker died under it, as a crash)."""
        with self._lock:
            item = self._running.pop(prompt_id, None)
            if item is None or self._closed:
                return
            undo = 0 if count_attempt else 1
            with self._relaxed():
                self._conn.execute("UPDATE prompts SET status = ?, attempts = MAX(attempts - ?, 0) "
                                   "WHERE prompt_id = ?", (PENDING, undo, prompt_id))
            item.attempts = max(item.attempts - undo, 0)
            self._pending[prompt_id] = item
            self._changed.notify_all()

    def forget_running(self, prompt_id: str) -> None:
        """Drop a running prompt from memory only (its row stays running: a restart re-queues it)."""
        with self._lock:
            self._running.pop(prompt_id, None)

    def queue(self) -> tuple[list[QueueItem], list[QueueItem]]:
        """(running, pending); pending sorted by (number, insertion)."""
        with self._lock:
            pending = sorted(self._pending.values(), key=lambda it: (it.number, it.seq))
            return list(self._running.values()), pending

    def queue_remaining(self) -> int:
        with self._lock:
            return len(self._pending) + len(self._running)

    def running_ids(self) -> list[str]:
        with self._lock:
            return list(self._running)

    def delete_pending(self, prompt_ids: list[str] | None = None) -> list[str]:
        """Delete the given pending prompts (all when None); running ones are not touched."""
        with self._lock:
            self._check_open()
            ids = list(self._pending) if prompt_ids is None else [p for p in prompt_ids if p in self._pending]
            if ids:
                self._conn.execute("BEGIN IMMEDIATE")
                try:
                    self._conn.executemany("DELETE FROM prompts WHERE prompt_id = ? AND status = ?",
                                           [(p, PENDING) for p in ids])
                    self._conn.execute("COMMIT")
                except BaseException:
                    self._rollback_quietly()
                    raise
                for p in ids:
                    del self._pending[p]
            return ids

    # ------------------------------------------------------------------ helpers
    @contextlib.contextmanager
    def _relaxed(self):
        """Commit worker bookkeeping with synchronous=NORMAL (see the module docstring)."""
        self._conn.execute("PRAGMA synchronous=NORMAL")
        try:
            yield
        finally:
            if not self._closed:
                self._conn.execute(f"PRAGMA synchronous={self._synchronous}")

    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError("the queue store is closed")

    def _rollback_quietly(self) -> None:
        try:
            self._conn.execute("ROLLBACK")
        except sqlite3.Error:
            pass
