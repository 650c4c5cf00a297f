"""WS `logs` events: new console entries for the clients that subscribed (PATCH /internal/logs/subscribe).

Console writes come from any thread; the relay collects them and, at most every
`FLUSH_SECONDS`, sends one `{"type": "logs", "data": {"entries": [...], "size": {...}}}` per
subscribed client on the event loop, so a burst of prints (a progress bar) is a few messages,
not thousands that would overflow a client's send queue.
"""

from __future__ import annotations

import asyncio
import threading

from .console_log import ConsoleLog, Entry, terminal_size
from .ws import Hub

FLUSH_SECONDS = 0.05
MAX_SUBSCRIBERS = 256


class TooManySubscribersError(Exception):
    """More connected clients subscribed than MAX_SUBSCRIBERS."""


class LogRelay:
    def __init__(self, console: ConsoleLog, hub: Hub) -> None:
        self.console = console
        self.hub = hub
        self.subscribers: set[str] = set()
        self._pending: list[Entry] = []
        self._lock = threading.Lock()
        self._flush_scheduled = False
        self._loop: asyncio.AbstractEventLoop | None = None

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self.console.add_listener(self._on_entries)

    def stop(self) -> None:
        self.console.remove_listener(self._on_entries)
        self._loop = None

    def subscribe(self, client_id: str, enabled: bool) -> None:
        """Start or stop sending `logs` events to `client_id` (on the loop)."""
        if not enabled:
            self.subscribers.discard(client_id)
            return
        if client_id not in self.subscribers and len(self.subscribers) >= MAX_SUBSCRIBERS:
            self.subscribers &= set(self.hub.clients)  # forget clients that went away
            if len(self.subscribers) >= MAX_SUBSCRIBERS:
                raise TooManySubscribersError(f"{MAX_SUBSCRIBERS} clients already receive the logs")
        self.subscribers.add(client_id)

    # ------------------------------------------------------------------ any thread
    def _on_entries(self, entries: list[Entry]) -> None:
        loop = self._loop
        if loop is None or not self.subscribers:
            return
        with self._lock:
            self._pending.extend(entries)
            if self._flush_scheduled:
                return
            self._flush_scheduled = True
        try:
            loop.call_soon_threadsafe(loop.call_later, FLUSH_SECONDS, self._flush)
        except RuntimeError:  # the loop closed (shutdown): nobody is listening any more
            with self._lock:
                self._flush_scheduled = False

    # ------------------------------------------------------------------ on the loop
    def _flush(self) -> None:
        with self._lock:
            entries, self._pending = self._pending, []
            self._flush_scheduled = False
        if not entries:
            return
        data = {"entries": entries, "size": terminal_size()}
        for client_id in list(self.subscribers):
            self.hub.send("logs", data, client_id)
