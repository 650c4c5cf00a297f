"""`job_id` (and its alias `prompt_id`) of the files a prompt wrote: the history's file outputs are
registered in the assets index with the prompt's id, as ComfyUI v0.46 registers a run's outputs.

When a prompt ends, the worker hands its stored history entry to an `OutputsClaimer` (wired by
server/app.py as the worker's `on_outputs`), which registers the files on a thread of its own, so the
worker never waits on the index (a seed scan holds it for a while) and an output has its job without
anyone listing first. The asset routes still claim the newest history entries before they answer a
listing or a seed (once per prompt and process): that covers history written before this process ran
(a restarted server) and a listing that comes before the claimer got to a prompt. A file is kept with
the first job that claimed it.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections import deque

from .assets_scan import FILE_ROOTS
from .assets_store import AssetsStore, store_for
from .paths import PathRefusedError
from .ports import ServerRuntime
from .routes_files import locate

log = logging.getLogger("latentgraph.server.assets")

RECENT_ENTRIES = 256  # history entries looked at per claim; older ones were claimed by earlier calls

_claimed: dict[object, set[str]] = {}  # per index file: prompts whose files are registered
_claimed_lock = threading.Lock()
# Per index file, held through a claim: a listing's claim waits for the worker's claim of the same prompt
# to finish, so it never answers with a file whose job_id is about to be set.
_claiming: dict[object, threading.Lock] = {}


def output_files(entry: dict) -> list[tuple[str, str, str]]:
    """(type, subfolder, filename) of every file item in a history entry's outputs."""
    found = []
    for ui in (entry.get("outputs") or {}).values():
        if not isinstance(ui, dict):
            continue
        for items in ui.values():
            for item in items if isinstance(items, list) else ():
                if isinstance(item, dict) and isinstance(item.get("filename"), str):
                    found.append((str(item.get("type") or "output"), str(item.get("subfolder") or ""),
                                  item["filename"]))
    return found


def claim_outputs(store: AssetsStore, history: dict[str, dict]) -> int:
    """Register the output files of `history` (prompt id -> entry) with their prompt id; returns how many
    files were registered. Prompts already claimed by this store in this process are skipped."""
    with _claimed_lock:
        claiming = _claiming.setdefault(store.path, threading.Lock())
    with claiming:
        with _claimed_lock:
            seen = _claimed.setdefault(store.path, set())
            fresh = [(pid, entry) for pid, entry in history.items() if pid not in seen]
        try:
            return sum(_register_outputs(store, prompt_id, entry) for prompt_id, entry in fresh)
        finally:
            with _claimed_lock:
                seen.update(pid for pid, _ in fresh)


def _register_outputs(store: AssetsStore, prompt_id: str, entry: dict) -> int:
    """Register the files of one entry that exist under input/output/temp; the rest are skipped."""
    count = 0
    for file_type, subfolder, name in output_files(entry):
        if file_type not in FILE_ROOTS:
            continue
        try:
            path = locate(store.folders, name, file_type, subfolder)
            if not path.is_file():
                continue
            rel = path.resolve().relative_to(store.folders.directory(file_type).resolve()).as_posix()
            store.register_file(file_type, rel, job_id=prompt_id)
            count += 1
        except (PathRefusedError, OSError, ValueError, sqlite3.Error):
            continue
    return count


def claim_recent(store: AssetsStore, queue_store) -> int:
    """claim_outputs over the newest history entries of the durable queue `queue_store` (nothing is read
    beyond the newest entry when that one was claimed already)."""
    try:
        newest = queue_store.history(max_items=1)
        with _claimed_lock:
            if not newest or next(iter(newest)) in _claimed.get(store.path, ()):
                return 0
        history = queue_store.history(max_items=RECENT_ENTRIES)
    except (sqlite3.Error, RuntimeError):
        return 0
    return claim_outputs(store, history)


class OutputsClaimer:
    """The worker's `OutputsListener` (server/worker_run.py): queues a finished prompt's history entry and
    registers its output files in the index of `runtime.folders` with the prompt's id as job_id, on one
    daemon thread that starts when there is work and ends after IDLE_SECONDS without any. A claim that
    fails is logged; the next listing's lazy claim will not retry that prompt (it counts as claimed)."""

    IDLE_SECONDS = 2.0

    def __init__(self, runtime: ServerRuntime) -> None:
        self.runtime = runtime
        self._pending: deque[tuple[str, dict]] = deque()
        self._busy = False
        self._changed = threading.Condition()
        self._thread: threading.Thread | None = None

    def __call__(self, prompt_id: str, entry: dict) -> None:
        """Called on the worker thread: only queues the work."""
        with self._changed:
            self._pending.append((prompt_id, entry))
            self._changed.notify_all()
            if self._thread is None:
                self._thread = threading.Thread(target=self._drain, daemon=True, name="latentgraph-assets-claim")
                self._thread.start()

    def claim_now(self, prompt_id: str, entry: dict) -> int:
        """Register the entry's files at once (on the calling thread); returns how many were registered."""
        return claim_outputs(store_for(self.runtime.folders), {prompt_id: entry})

    def wait_idle(self, timeout: float) -> bool:
        """Wait until every queued claim is done (tests); False when `timeout` ran out first."""
        with self._changed:
            return self._changed.wait_for(lambda: not self._pending and not self._busy, timeout)

    def _drain(self) -> None:
        while True:
            with self._changed:
                if not self._changed.wait_for(lambda: bool(self._pending), self.IDLE_SECONDS):
                    self._thread = None
                    return
                prompt_id, entry = self._pending.popleft()
                self._busy = True
            try:
                self.claim_now(prompt_id, entry)
            except Exception:
                log.exception("could not register the outputs of prompt %s in the assets index", prompt_id)
            finally:
                with self._changed:
                    self._busy = False
                    self._changed.notify_all()
