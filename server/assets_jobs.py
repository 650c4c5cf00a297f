"""`job_id` (and its alias `prompt_id`) of the files a prompt wrote: the history's file outputs are
registered in the assets index with the prompt's id, as ComfyUI v0.46 registers a run's outputs.

The worker writes the files and the history; the asset routes claim the newest history entries before
they answer a listing or a seed (once per prompt and process), so an output is an asset with its job
the first time anyone asks. A file is kept with the first job that claimed it.
"""

from __future__ import annotations

import sqlite3
import threading

from .assets_scan import FILE_ROOTS
from .assets_store import AssetsStore
from .paths import PathRefusedError
from .routes_files import locate

RECENT_ENTRIES = 256  # history entries looked at per claim; older ones were claimed by earlier calls

_claimed: dict[object, set[str]] = {}  # per index file
_claimed_lock = threading.Lock()


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
        seen = _claimed.setdefault(store.path, set())
        fresh = [(pid, entry) for pid, entry in history.items() if pid not in seen]
        seen.update(pid for pid, _ in fresh)
    count = 0
    for prompt_id, entry in fresh:
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
