"""The history half of the queue store: ending prompts, cancelling queued ones, reading entries.

A mixin of `Store` (server/store.py), which owns the connection, the lock and the in-memory
mirror of queued rows; these methods only touch rows that are, or are becoming, history.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from typing import Any

from .store_items import QueueItem
from .store_schema import CANCELLED, ERROR, FAILED_BY_RESTART, INTERRUPTED, PENDING, SUCCESS, TERMINAL

# FAILED_BY_RESTART: a prompt whose (remote) worker died under it twice (server/worker.py).
_FINISHING = (SUCCESS, ERROR, INTERRUPTED, CANCELLED, FAILED_BY_RESTART)


def cancelled_entry(prompt_id: str, now: float, executed: list | None = None) -> dict:
    """The history entry of a prompt cancelled before it ran: ComfyUI's interrupted shape."""
    return {"outputs": {}, "meta": {}, "status": {
        "status_str": "error", "completed": False, "messages": [["execution_interrupted", {
            "prompt_id": prompt_id, "node_id": None, "node_type": None, "executed": executed or [],
            "timestamp": int(now * 1000)}]]}}


class HistoryMixin:
    _conn: sqlite3.Connection
    _lock: threading.RLock
    _pending: dict[str, QueueItem]
    _running: dict[str, QueueItem]
    history_max: int

    # ------------------------------------------------------------------ ending prompts
    def finish(self, prompt_id: str, status: str, result: dict) -> None:
        """Store the history entry of a running prompt (outputs, status, meta) and end it."""
        if status not in _FINISHING:
            raise ValueError(f"not a finishing status: {status!r}")
        with self._lock:
            self._check_open()
            with self._relaxed():
                self._write_terminal(prompt_id, status, result, time.time())
                self._running.pop(prompt_id, None)
                self._trim_history()

    def cancel_pending(self, prompt_ids: list[str]) -> list[str]:
        """End the given pending prompts as cancelled (history entries, committed with the
        configured durability); returns the ids that were pending. Others are not touched."""
        with self._lock:
            self._check_open()
            ids = [p for p in dict.fromkeys(prompt_ids) if p in self._pending]
            if not ids:
                return []
            now = time.time()
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                order = self._conn.execute("SELECT COALESCE(MAX(done_order), 0) FROM prompts").fetchone()[0]
                for index, prompt_id in enumerate(ids, start=1):
                    self._conn.execute(
                        "UPDATE prompts SET status = ?, result = ?, finished = ?, done_order = ?, sensitive = NULL "
                        "WHERE prompt_id = ? AND status = ?",
                        (CANCELLED, json.dumps(cancelled_entry(prompt_id, now)), now, order + index, prompt_id,
                         PENDING))
                self._conn.execute("COMMIT")
            except BaseException:
                self._rollback_quietly()
                raise
            for prompt_id in ids:
                del self._pending[prompt_id]
            self._trim_history()
            return ids

    def _write_terminal(self, prompt_id: str, status: str, result: dict, now: float) -> None:
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            row = self._conn.execute("SELECT COALESCE(MAX(done_order), 0) FROM prompts").fetchone()
            self._conn.execute(
                "UPDATE prompts SET status = ?, result = ?, finished = ?, done_order = ?, sensitive = NULL "
                "WHERE prompt_id = ?", (status, json.dumps(result), now, row[0] + 1, prompt_id))
            self._conn.execute("COMMIT")
        except BaseException:
            self._rollback_quietly()
            raise

    def _trim_history(self) -> None:
        terminal = ",".join("?" * len(TERMINAL))
        count = self._conn.execute(f"SELECT COUNT(*) FROM prompts WHERE status IN ({terminal})", TERMINAL).fetchone()[0]
        excess = count - self.history_max
        if excess > 0:
            self._conn.execute(
                f"DELETE FROM prompts WHERE prompt_id IN (SELECT prompt_id FROM prompts WHERE status IN ({terminal}) "
                "ORDER BY done_order LIMIT ?)", (*TERMINAL, excess))

    # ------------------------------------------------------------------ reading
    def history(self, *, max_items: int | None = None, offset: int | None = None,
                prompt_id: str | None = None) -> dict[str, dict]:
        """History entries oldest -> newest, ComfyUI's shape; `max_items` alone gives the newest N."""
        return {pid: entry for pid, (entry, _status) in self.history_rows(
            max_items=max_items, offset=offset, prompt_id=prompt_id).items()}

    def history_rows(self, *, max_items: int | None = None, offset: int | None = None,
                     prompt_id: str | None = None) -> dict[str, tuple[dict, str]]:
        """As `history`, each entry with its store status (success, error, cancelled, ...)."""
        terminal = ",".join("?" * len(TERMINAL))
        sql = ("SELECT prompt_id, number, prompt, extra_data, outputs, result, status FROM prompts "
               f"WHERE status IN ({terminal})")
        params: list[Any] = list(TERMINAL)
        if prompt_id is not None:
            sql += " AND prompt_id = ?"
            params.append(prompt_id)
        with self._lock:
            self._check_open()
            if max_items is not None and offset is None:
                count = self._conn.execute(sql.replace("SELECT prompt_id, number, prompt, extra_data, outputs, "
                                                       "result, status", "SELECT COUNT(*)"), params).fetchone()[0]
                offset = max(count - max_items, 0)
            sql += " ORDER BY done_order LIMIT ? OFFSET ?"
            params += [-1 if max_items is None else max_items, offset or 0]
            rows = self._conn.execute(sql, params).fetchall()
        entries = {}
        for pid, number, prompt, extra, outputs, result, status in rows:
            item = QueueItem(number, pid, json.loads(prompt), json.loads(extra), json.loads(outputs))
            entry = {"prompt": item.as_list(), **json.loads(result or "{}")}
            entry.setdefault("outputs", {})
            entry.setdefault("meta", {})
            entries[pid] = (entry, status)
        return entries

    def first_answer(self, prompt_id: str, request_hash: str) -> dict | None:
        """`{"prompt_id", "number", "node_errors"}` as first answered, when the prompt was accepted
        from a request with this hash (queued, running or in the history); else None."""
        with self._lock:
            self._check_open()
            row = self._conn.execute("SELECT number, node_errors FROM prompts WHERE prompt_id = ? AND "
                                     "request_hash = ?", (prompt_id, request_hash)).fetchone()
        if row is None:
            return None
        number = int(row[0]) if float(row[0]).is_integer() else row[0]
        return {"prompt_id": prompt_id, "number": number, "node_errors": json.loads(row[1] or "{}")}

    def status_of(self, prompt_id: str) -> str | None:
        with self._lock:
            self._check_open()
            row = self._conn.execute("SELECT status FROM prompts WHERE prompt_id = ?", (prompt_id,)).fetchone()
            return row[0] if row else None

    def counts(self) -> dict[str, int]:
        """Rows per status (for checks and the benchmark)."""
        with self._lock:
            self._check_open()
            return dict(self._conn.execute("SELECT status, COUNT(*) FROM prompts GROUP BY status").fetchall())

    def delete_history(self, prompt_ids: list[str] | None = None) -> None:
        """Delete the given history entries (all when None)."""
        terminal = ",".join("?" * len(TERMINAL))
        with self._lock:
            self._check_open()
            if prompt_ids is None:
                self._conn.execute(f"DELETE FROM prompts WHERE status IN ({terminal})", TERMINAL)
            else:
                self._conn.execute("BEGIN IMMEDIATE")
                try:
                    self._conn.executemany(f"DELETE FROM prompts WHERE prompt_id = ? AND status IN ({terminal})",
                                           [(p, *TERMINAL) for p in prompt_ids])
                    self._conn.execute("COMMIT")
                except BaseException:
                    self._rollback_quietly()
                    raise

