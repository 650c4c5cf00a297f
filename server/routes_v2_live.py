"""The live half of the Comfy API v2 jobs: what a running job is doing now, and its SSE listeners.

`LiveJobs` wraps the worker's event publisher (the same events the WebSocket hub gets, handed
on unchanged) and keeps, for each running job, the v2 `Progress` snapshot, the outputs committed
so far and the latest preview. Events arrive on the worker thread and are applied on the event
loop, in order, so each SSE listener sees them in the order the executor sent them. A job's
record is dropped when the worker reports its end (`executing` with node null, sent after the
history entry is written): from then on the store is the whole truth.
"""

from __future__ import annotations

import asyncio
import base64
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from graph import events as ev
from graph.context import PreviewImage

# The last `executing` of a prompt (node null) comes after its history entry was written.
END = "end"


@dataclass
class LiveJob:
    """One running job as the v2 API shows it while it runs."""

    prompt_id: str
    prompt: dict  # the prompt being run (node ids to class types)
    started_ms: int | None = None
    done: set[str] = field(default_factory=set)
    current_node: str | None = None
    current_class: str | None = None
    step: int | None = None
    steps: int | None = None
    outputs: list[tuple[str, dict]] = field(default_factory=list)  # (node_id, ui) as `executed` sent them
    preview: dict | None = None

    @property
    def nodes_total(self) -> int:
        return len(self.prompt)

    def progress(self) -> dict:
        """The complete v2 Progress snapshot (node-count weighted, the current node's steps as a fraction)."""
        total = max(self.nodes_total, 1)
        partial = self.step / self.steps if self.step is not None and self.steps else 0.0
        value = min(1.0, (len(self.done) + partial) / total)
        message = None
        if self.current_node is not None:
            message = self.current_class or self.current_node
            if self.step is not None and self.steps:
                message += f" {self.step}/{self.steps}"
        return {"value": round(value, 4), "nodes_done": len(self.done), "nodes_total": self.nodes_total,
                "current_node": self.current_node, "current_node_class": self.current_class,
                "step": self.step, "steps": self.steps, "message": message}


class LiveJobs:
    """A Publisher (server/worker.py) that records v2 live state and hands every event on to `target`."""

    def __init__(self, target: Any, prompt_of: Callable[[str], dict | None],
                 loop_of: Callable[[], asyncio.AbstractEventLoop | None]) -> None:
        self.target = target
        self.prompt_of = prompt_of  # prompt_id -> the running prompt (for node count and class types), or None
        self.loop_of = loop_of  # the server's loop once started (the hub's)
        self.jobs: dict[str, LiveJob] = {}
        # Running jobs a v2 cancel was asked for: `canceling` until the worker reports their end.
        self.canceling: set[str] = set()
        self.listeners: dict[str, set[asyncio.Queue]] = {}

    # ------------------------------------------------------------------ Publisher (worker thread)
    def event(self, event: str, data: dict, client_id: str | None) -> None:
        self.target.event(event, data, client_id)
        loop = self.loop_of()
        if loop is None or loop.is_closed() or not isinstance(data, dict):
            return
        if event == ev.PREVIEW:  # the frame's bytes are read now: the worker may reuse the object
            image = data.get("image")
            if not isinstance(image, PreviewImage):
                return
            data = {"node_id": data.get("node_id") or data.get("node"), "prompt_id": data.get("prompt_id"),
                    "content_type": "image/png" if image.format.upper() == "PNG" else "image/jpeg",
                    "data_base64": base64.b64encode(image.data).decode("ascii")}
        if event == ev.EXECUTION_START:  # read now, while the store surely lists the prompt as running
            data = {**data, "prompt": self.prompt_of(str(data.get("prompt_id")))}
        try:
            loop.call_soon_threadsafe(self._apply, event, data)
        except RuntimeError:  # the loop closed meanwhile (shutdown)
            pass

    def status(self) -> None:
        self.target.status()

    # ------------------------------------------------------------------ on the loop
    def _apply(self, event: str, data: dict) -> None:
        prompt_id = data.get("prompt_id")
        if not isinstance(prompt_id, str):
            return
        job = self.jobs.get(prompt_id)
        if event == ev.EXECUTION_START:
            prompt = data.get("prompt") or {}
            job = self.jobs[prompt_id] = LiveJob(prompt_id, prompt, data.get("timestamp") or now_ms())
            self._notify(prompt_id, "status", {"status": "running", "queue_position": None})
            self._notify(prompt_id, "progress", job.progress())
            return
        if job is None:
            return
        if event == ev.EXECUTING and data.get("node") is None:
            self.jobs.pop(prompt_id, None)
            self.canceling.discard(prompt_id)
            self._notify(prompt_id, END, {})
            return
        if event == ev.EXECUTION_CACHED:
            job.done.update(str(n) for n in data.get("nodes") or [])
        elif event == ev.EXECUTING:
            if job.current_node is not None:
                job.done.add(job.current_node)
            job.current_node = str(data["node"])
            node = job.prompt.get(job.current_node)
            job.current_class = node.get("class_type") if isinstance(node, dict) else None
            job.step = job.steps = None
        elif event == ev.PROGRESS:
            job.step, job.steps = _int_or_none(data.get("value")), _int_or_none(data.get("max"))
        elif event == ev.EXECUTED:
            node_id = str(data.get("node") or data.get("display_node") or "")
            job.done.add(node_id)
            if isinstance(data.get("output"), dict):
                job.outputs.append((node_id, data["output"]))
                self._notify(prompt_id, "output", {"node_id": node_id, "ui": data["output"]})
        elif event == ev.PREVIEW:
            job.preview = {k: data[k] for k in ("node_id", "content_type", "data_base64")}
            self._notify(prompt_id, "preview", job.preview)
            return
        else:
            return
        self._notify(prompt_id, "progress", job.progress())

    def mark_canceling(self, prompt_id: str) -> None:
        """A v2 cancel interrupted this running job: it shows `canceling` until the worker reports its end."""
        if prompt_id in self.jobs:
            self.canceling.add(prompt_id)
            self._notify(prompt_id, "status", {"status": "canceling", "queue_position": None})

    def _notify(self, prompt_id: str, name: str, payload: dict) -> None:
        for queue in self.listeners.get(prompt_id, ()):
            queue.put_nowait((name, payload))

    def listen(self, prompt_id: str) -> asyncio.Queue:
        queue: asyncio.Queue = asyncio.Queue()
        self.listeners.setdefault(prompt_id, set()).add(queue)
        return queue

    def unlisten(self, prompt_id: str, queue: asyncio.Queue) -> None:
        queues = self.listeners.get(prompt_id)
        if queues is not None:
            queues.discard(queue)
            if not queues:
                del self.listeners[prompt_id]


def now_ms() -> int:
    return int(time.time() * 1000)


def _int_or_none(value: Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return int(value)


LIVE = web.AppKey("latentgraph_v2_live", LiveJobs)
