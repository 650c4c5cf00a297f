"""Execution events, named and shaped as ComfyUI's WebSocket messages.

The executor calls `sink(event, data)`; the server forwards to WebSockets, the CLI
drives a progress bar, tests collect them in a list.
"""

from __future__ import annotations

from typing import Any, Protocol

EXECUTION_START = "execution_start"
EXECUTION_CACHED = "execution_cached"
EXECUTING = "executing"
PROGRESS = "progress"
# Not a ComfyUI text event: carries a graph.context.PreviewImage in data["image"]
# (with node_id, prompt_id); the server turns it into a binary preview frame.
PREVIEW = "preview"
# Not a ComfyUI text event either: data {"node_id", "text", "prompt_id"} from NodeContext.progress_text;
# the server turns it into a binary progress-text frame (ComfyUI's type 3).
PROGRESS_TEXT = "progress_text"
EXECUTED = "executed"
EXECUTION_ERROR = "execution_error"
EXECUTION_INTERRUPTED = "execution_interrupted"
EXECUTION_SUCCESS = "execution_success"


class EventSink(Protocol):
    def __call__(self, event: str, data: dict[str, Any]) -> None: ...


class ListSink:
    """Collects events in order; handy for tests and for recording history messages."""

    def __init__(self) -> None:
        self.events: list[tuple[str, dict[str, Any]]] = []

    def __call__(self, event: str, data: dict[str, Any]) -> None:
        self.events.append((event, data))

    def of(self, event: str) -> list[dict[str, Any]]:
        return [d for e, d in self.events if e == event]

    def names(self) -> list[str]:
        return [e for e, _ in self.events]


def null_sink(event: str, data: dict[str, Any]) -> None:
    """Discards every event."""
