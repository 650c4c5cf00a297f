"""The background seed of the assets index behind `POST /api/assets/seed` (ComfyUI v0.46's asset seeder).

One seeder per index: a scan of the requested roots (`models`, `input`, `output`) runs in a daemon thread
(assets_scan.sync: new files indexed, vanished ones marked missing), one at a time. Its state machine is
ComfyUI's: IDLE -> RUNNING -> IDLE, or RUNNING -> CANCELLING -> IDLE when cancelled (the scan stops
between files). The last scan's progress stays readable after it ended. A prune (mark missing what is no
longer on disk) also holds the seeder, so it is refused while a scan runs, and a scan while it prunes.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Callable

from .assets_scan import ScanProgress
from .assets_store import AssetsStore

SEED_ROOTS = ("models", "input", "output")
IDLE, RUNNING, CANCELLING = "IDLE", "RUNNING", "CANCELLING"
_MAX_ERRORS = 200
log = logging.getLogger(__name__)


class ScanInProgressError(Exception):
    """A prune asked for while a scan runs (or the other way round)."""


class Seeder:
    """Scans of one assets index, one at a time, in a background thread."""

    def __init__(self, store: AssetsStore, before_scan: Callable[[], None] | None = None) -> None:
        self.store = store
        self.before_scan = before_scan  # e.g. claim the history's outputs, so they carry their job id
        self._lock = threading.Lock()
        self._state = IDLE
        self._progress: ScanProgress | None = None
        self._errors: list[str] = []
        self._thread: threading.Thread | None = None
        self._cancel = threading.Event()

    def start(self, roots: tuple[str, ...] = SEED_ROOTS) -> bool:
        """Start a scan of `roots`; False when one (or a prune) is already running."""
        with self._lock:
            if self._state != IDLE:
                return False
            self._state, self._progress, self._errors = RUNNING, ScanProgress(), []
            self._cancel.clear()
            self._thread = threading.Thread(target=self._run, args=(roots, self._progress), name="assets-seed",
                                            daemon=True)
            self._thread.start()
            return True

    def _run(self, roots: tuple[str, ...], progress: ScanProgress) -> None:
        try:
            if self.before_scan is not None:
                try:
                    self.before_scan()
                except (OSError, sqlite3.Error, ValueError) as exc:  # the scan goes on without job ids
                    self._add_error(f"Claiming the history's outputs failed: {exc}")
            self.store.sync(roots, progress=progress, should_stop=self._cancel.is_set)
        except (OSError, sqlite3.Error, ValueError, KeyError) as exc:
            log.exception("asset seed of %s failed", roots)
            self._add_error(f"Scan failed: {exc}")
        finally:
            with self._lock:
                self._state = IDLE

    def _add_error(self, message: str) -> None:
        with self._lock:
            if len(self._errors) < _MAX_ERRORS:
                self._errors.append(message)

    def wait(self, timeout: float | None = None) -> bool:
        """Wait for the running scan to end; True when none runs any more."""
        with self._lock:
            thread = self._thread
        if thread is None:
            return True
        thread.join(timeout)
        return not thread.is_alive()

    def cancel(self) -> bool:
        """Ask the running scan to stop; False when none runs."""
        with self._lock:
            if self._state != RUNNING or self._thread is None:
                return False
            self._state = CANCELLING
            self._cancel.set()
            return True

    def status(self) -> dict:
        """ComfyUI's seed status: `state`, `progress` (of the running or last scan, null before any) and
        `errors`."""
        with self._lock:
            progress = self._progress.as_json() if self._progress is not None else None
            return {"state": self._state, "progress": progress, "errors": list(self._errors)}

    def prune(self) -> int:
        """Mark missing every asset whose file is gone (AssetsStore.prune); ScanInProgressError while a
        scan runs."""
        with self._lock:
            if self._state != IDLE:
                raise ScanInProgressError("Cannot mark missing assets while a scan is running.")
            self._state = RUNNING
        try:
            return self.store.prune()
        finally:
            with self._lock:
                self._state = IDLE


_SEEDERS: dict[int, Seeder] = {}
_SEEDERS_LOCK = threading.Lock()


def seeder_for(store: AssetsStore, before_scan: Callable[[], None] | None = None) -> Seeder:
    """The seeder of this index (one per store object, made on first use)."""
    with _SEEDERS_LOCK:
        seeder = _SEEDERS.get(id(store))
        if seeder is None or seeder.store is not store:
            seeder = _SEEDERS[id(store)] = Seeder(store)
        if before_scan is not None:
            seeder.before_scan = before_scan
        return seeder
