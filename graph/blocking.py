"""Execution blockers: an output value that stops the nodes downstream of it (ComfyUI's ExecutionBlocker).

A node may return an `ExecutionBlocker` as any output value. A node receiving one in any input is not
called for that (list-mapped) call: each of its outputs becomes the blocker, so the whole branch
below is blocked, and blocked output nodes show nothing. A blocker with message None blocks
silently and the prompt still succeeds; a blocker with a message makes the node it reaches fail the
prompt with `ExecutionBlocked` ("Execution Blocked: <message>").
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any


class ExecutionBlocker:
    """Returned as an output value to stop the branch below it; `message` None means silently."""

    def __init__(self, message: str | None) -> None:
        self.message = message

    def __repr__(self) -> str:
        return f"ExecutionBlocker({self.message!r})"


class ExecutionBlocked(Exception):  # noqa: N818 - ComfyUI's name for this report
    """A node's input was an ExecutionBlocker that carried a message."""

    def __init__(self, message: str) -> None:
        self.blocker_message = message
        super().__init__(f"Execution Blocked: {message}")


def first_blocker(call_inputs: Mapping[str, Any], input_is_list: bool) -> ExecutionBlocker | None:
    """The first ExecutionBlocker among one call's inputs (inside the lists for an input_is_list node)."""
    for value in call_inputs.values():
        values: Iterable[Any] = value if input_is_list and isinstance(value, list) else (value,)
        for item in values:
            if isinstance(item, ExecutionBlocker):
                return item
    return None
