"""Pausing the queue and reordering pending prompts: a mixin of `Store` (server/store.py).

Paused: `pop_next` hands out nothing (the running prompt finishes); the flag is a row of the
`settings` table, so a restart comes back paused, and it is kept also in a file beside the database
(store_pause_file.py), so a database found damaged and rebuilt, or found empty, comes back paused too.
Reordering renumbers the pending rows inside one
transaction: the pending prompts keep the same set of `number`s, handed out again in the new order,
so a prompt queued later (at the back, or with `front`, or with an explicit number) lands where it
would have landed before the move.
"""

from __future__ import annotations

import logging
import math
import sqlite3
import threading
from pathlib import Path

from .store_items import QueueItem
from .store_pause_file import PauseFileError, read_pause_file, write_pause_file
from .store_schema import PENDING

log = logging.getLogger("latentgraph.server.store")

PAUSED_SETTING = "queue_paused"


class MoveError(ValueError):
    """A move the queue cannot make (unknown or running prompt, before itself); nothing was changed."""


def _strictly_increasing(numbers: list[float]) -> list[float]:
    """`numbers` (sorted) with ties broken upwards by the smallest step, so the order they give is total."""
    out: list[float] = []
    for n in numbers:
        out.append(n if not out or n > out[-1] else math.nextafter(out[-1], math.inf))
    return out


class QueueOrderMixin:
    _conn: sqlite3.Connection
    _lock: threading.RLock
    _changed: threading.Condition
    _pending: dict[str, QueueItem]
    _running: dict[str, QueueItem]
    _paused: bool
    _pause_file: Path | None

    # ------------------------------------------------------------------ pause
    def _load_paused(self) -> None:
        row = self._conn.execute("SELECT value FROM settings WHERE name = ?", (PAUSED_SETTING,)).fetchone()
        self._paused = bool(row) and row[0] == "1"

    def _reconcile_pause_file(self, *, rebuilt: bool) -> None:
        """Bring the database's flag and the pause file into agreement at start. A sound database is the
        flag (the file is rewritten when it differs); a rebuilt (or empty) one is paused when either says so,
        since the damage may have taken the settings row. A pause file that cannot be read is warned about,
        the database's value is used, and the file is written again."""
        if self._pause_file is None:
            return
        broken = False
        try:
            in_file = read_pause_file(self._pause_file)
        except PauseFileError as exc:
            log.warning("%s; the queue database's flag is used (%s)", exc, "paused" if self._paused else "not paused")
            in_file, broken = None, True
        if rebuilt and in_file and not self._paused:
            log.warning("The queue was paused before the queue database was rebuilt (%s says so); it stays paused "
                        "until it is resumed.", self._pause_file.name)
            self._write_paused_row(True)
            self._paused = True
        if broken or (in_file is None and self._paused) or (in_file is not None and in_file != self._paused):
            write_pause_file(self._pause_file, self._paused)

    def _write_paused_row(self, paused: bool) -> None:
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            self._conn.execute("INSERT OR REPLACE INTO settings(name, value) VALUES (?, ?)",
                               (PAUSED_SETTING, "1" if paused else "0"))
            self._conn.execute("COMMIT")
        except BaseException:
            self._rollback_quietly()
            raise

    @property
    def paused(self) -> bool:
        with self._lock:
            return self._paused

    def set_paused(self, paused: bool) -> bool:
        """Pause (no new prompt starts) or resume; committed before it returns. True when it changed.

        The pause file is written before the database on a pause and after it on a resume, so it is never
        less paused than the database (a crash between the two leaves the queue paused)."""
        with self._lock:
            self._check_open()
            if paused == self._paused:
                return False
            if paused and self._pause_file is not None:
                write_pause_file(self._pause_file, True)
            try:
                self._write_paused_row(paused)
            except BaseException:
                if paused and self._pause_file is not None:
                    write_pause_file(self._pause_file, False)  # the pause did not happen
                raise
            if not paused and self._pause_file is not None:
                write_pause_file(self._pause_file, False)
            self._paused = paused
            self._changed.notify_all()  # a resume wakes the waiting worker
            return True

    # ------------------------------------------------------------------ reorder
    def move_pending(self, prompt_id: str, *, to: str | None = None, before: str | None = None) -> list[str]:
        """Move a pending prompt to the front or back (`to`), or just before another pending prompt
        (`before`); returns the pending ids in their new order. Raises MoveError, changing nothing."""
        with self._lock:
            self._check_open()
            order = sorted(self._pending.values(), key=lambda it: (it.number, it.seq))
            ids = [it.prompt_id for it in order]
            self._check_movable(prompt_id, "prompt_id")
            if (to is None) == (before is None):
                raise MoveError("Give exactly one of 'to' (\"front\" or \"back\") and 'before' (a pending prompt id).")
            rest = [p for p in ids if p != prompt_id]
            if to is not None:
                if to not in ("front", "back"):
                    raise MoveError(f"'to' must be \"front\" or \"back\", not {to!r}.")
                new = [prompt_id, *rest] if to == "front" else [*rest, prompt_id]
            else:
                if before == prompt_id:
                    raise MoveError("A prompt cannot be moved before itself.")
                self._check_movable(before, "before")
                at = rest.index(before)
                new = [*rest[:at], prompt_id, *rest[at:]]
            if new != ids:
                self._renumber(new, _strictly_increasing(sorted(it.number for it in order)))
            return new

    def _check_movable(self, prompt_id: str, field: str) -> None:
        if prompt_id in self._running:
            raise MoveError(f"'{field}': prompt {prompt_id} is running; only pending prompts can be moved.")
        if prompt_id not in self._pending:
            raise MoveError(f"'{field}': no pending prompt has the id {prompt_id!r}.")

    def _renumber(self, new_order: list[str], numbers: list[float]) -> None:
        changes = [(n, p) for p, n in zip(new_order, numbers, strict=True) if self._pending[p].number != n]
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            self._conn.executemany("UPDATE prompts SET number = ? WHERE prompt_id = ? AND status = ?",
                                   [(n, p, PENDING) for n, p in changes])
            self._conn.execute("COMMIT")
        except BaseException:
            self._rollback_quietly()
            raise
        for number, prompt_id in changes:
            item = self._pending[prompt_id]
            item.number = number
            item._json = None  # its cached /queue JSON shows the old number
