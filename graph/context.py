"""What a running node may touch: progress, previews, interruption and the injected runtime.

Nodes never reach for globals; the executor hands each call a NodeContext.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


class Interrupted(Exception):  # noqa: N818 - the name reads as the event it reports
    """Raised inside a node (or between nodes) when the user interrupted the prompt."""


class InterruptToken:
    """A thread-safe flag the server sets and the executor and nodes check."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def set(self) -> None:
        self._event.set()

    def clear(self) -> None:
        self._event.clear()

    def is_set(self) -> bool:
        return self._event.is_set()

    def check(self) -> None:
        if self._event.is_set():
            raise Interrupted("Processing interrupted")


@dataclass(frozen=True)
class PreviewImage:
    """An already encoded preview frame ("JPEG" or "PNG") for the node being run."""

    format: str
    data: bytes


@dataclass
class NodeContext:
    """Handed to every node call by the executor."""

    node_id: str
    prompt_id: str
    class_type: str = ""
    prompt: dict = field(default_factory=dict)
    extra_data: dict = field(default_factory=dict)
    # Whatever main.py injected (folders, model manager, device, logger); opaque to graph/.
    runtime: Any = None
    interrupt: InterruptToken = field(default_factory=InterruptToken)
    # Called as on_progress(node_id, value, total, preview_or_None); set by the executor.
    on_progress: Callable[[str, int, int, PreviewImage | None], None] | None = None
    # Called as on_text(node_id, text); set by the executor (None: text is discarded).
    on_text: Callable[[str, str], None] | None = None

    def check_interrupted(self) -> None:
        self.interrupt.check()

    def progress(self, value: int, total: int, preview: PreviewImage | None = None) -> None:
        """Report progress of a long node (e.g. one sampler step); raises Interrupted if asked to stop."""
        if self.on_progress is not None:
            self.on_progress(self.node_id, int(value), int(total), preview)
        self.interrupt.check()

    def progress_text(self, text: str) -> None:
        """Show a line of text on the running node in the editor (ComfyUI's progress text).

        Unlike `progress`, this never raises Interrupted; it is a notification only.
        """
        if self.on_text is not None:
            self.on_text(self.node_id, str(text))
