"""The server's console output, kept for ComfyUI's `/internal/logs` routes and WS `logs` events.

`ConsoleLog` keeps the last `MAX_ENTRIES` writes as ComfyUI's log terminal expects them
(`{"t": ISO time, "m": text}`, one entry per write) and tells listeners about new ones.
`capture_console(log)` puts a `ConsoleTee` over `sys.stdout` and `sys.stderr`: everything still
reaches the terminal unchanged, and a copy goes to the log — logging records (whose handler
writes to stderr), print() from nodes and custom node packs, warnings. Only `main.py serve`
installs it; the app and the tests work without it (the log is then empty unless written to).
"""

from __future__ import annotations

import shutil
import sys
import threading
from collections import deque
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any, TextIO

MAX_ENTRIES = 300
MAX_ENTRY_CHARS = 16_384  # one huge write (a dumped tensor) is cut, not kept whole

Entry = dict[str, str]


def terminal_size() -> dict[str, int]:
    """`{"cols", "rows"}` of the server's terminal (80x24 when it has none), as ComfyUI reports it."""
    size = shutil.get_terminal_size((80, 24))
    return {"cols": size.columns, "rows": size.lines}


class ConsoleLog:
    """A bounded, thread-safe record of console writes with change listeners."""

    def __init__(self, max_entries: int = MAX_ENTRIES) -> None:
        self._entries: deque[Entry] = deque(maxlen=max_entries)
        self._lock = threading.Lock()
        self._listeners: list[Callable[[list[Entry]], None]] = []
        self._local = threading.local()

    def write(self, text: str) -> None:
        """Record one write (empty writes are ignored). Listener errors are swallowed: a broken
        listener must never break the print() or log call that got here."""
        if not text:
            return
        if len(text) > MAX_ENTRY_CHARS:
            text = text[:MAX_ENTRY_CHARS] + f"... [{len(text) - MAX_ENTRY_CHARS} more characters]\n"
        entry = {"t": datetime.now(timezone.utc).isoformat(), "m": text}
        with self._lock:
            self._entries.append(entry)
            listeners = list(self._listeners)
        if getattr(self._local, "notifying", False):  # a listener printed: recorded, not re-announced
            return
        self._local.notifying = True
        try:
            for listener in listeners:
                try:
                    listener([entry])
                except Exception:  # noqa: BLE001 - see the docstring
                    pass
        finally:
            self._local.notifying = False

    def entries(self) -> list[Entry]:
        with self._lock:
            return list(self._entries)

    def text(self) -> str:
        """All kept entries joined, as GET /internal/logs returns them."""
        return "".join(entry["m"] for entry in self.entries())

    def add_listener(self, listener: Callable[[list[Entry]], None]) -> None:
        with self._lock:
            self._listeners.append(listener)

    def remove_listener(self, listener: Callable[[list[Entry]], None]) -> None:
        with self._lock:
            if listener in self._listeners:
                self._listeners.remove(listener)


class ConsoleTee:
    """A text stream that writes through to `stream` and records each write in `log`."""

    def __init__(self, stream: TextIO, log: ConsoleLog) -> None:
        self.stream = stream
        self.log = log

    def write(self, text: str) -> int:
        written = self.stream.write(text)
        self.log.write(text)
        return written

    def flush(self) -> None:
        self.stream.flush()

    def __getattr__(self, name: str) -> Any:  # isatty, fileno, encoding, buffer, ... of the real stream
        return getattr(self.stream, name)


def capture_console(log: ConsoleLog) -> Callable[[], None]:
    """Tee sys.stdout and sys.stderr into `log`; returns the function that puts them back."""
    original = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = ConsoleTee(sys.stdout, log), ConsoleTee(sys.stderr, log)

    def restore() -> None:
        sys.stdout, sys.stderr = original

    return restore
