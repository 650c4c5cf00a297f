"""What the queue store hands out: queue items, the recovery report, and its errors."""

from __future__ import annotations

import json
from dataclasses import dataclass, field


class QueueFullError(Exception):
    """The queue already holds `max_queue_size` prompts."""


class DuplicatePromptIdError(Exception):
    """A prompt with this id is already queued or in the history."""


@dataclass
class QueueItem:
    """One queued prompt; `as_list()` is ComfyUI's 5-element queue item."""

    number: float
    prompt_id: str
    prompt: dict
    extra_data: dict
    outputs: list
    sensitive: dict = field(default_factory=dict)
    seq: int = 0
    attempts: int = 0

    _json: str | None = field(default=None, repr=False, compare=False)

    def as_list(self) -> list:
        number = int(self.number) if float(self.number).is_integer() else self.number
        return [number, self.prompt_id, self.prompt, self.extra_data, self.outputs]

    def as_json(self) -> str:
        """`as_list()` as JSON text, computed once (queued items never change)."""
        if self._json is None:
            self._json = json.dumps(self.as_list())
        return self._json


@dataclass
class RecoveryReport:
    """What `open` found left over from a previous process."""

    requeued: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
