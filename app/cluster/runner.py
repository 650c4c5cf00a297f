"""The coordinator's PromptRunner for one Ray actor: runs a prompt there, forwarding its events in order.

`RayPromptRunner(actor)` has the shape `server/ports.py` asks of a runner (`execute`,
`preview_plan`, `reset`), so the server's worker loop drives a remote worker exactly as it drives
the local executor. An interrupt token set on the coordinator reaches the actor within 50 ms. When
the actor dies mid-prompt (its process killed, its machine gone) `execute` raises `WorkerLostError`:
the coordinator re-queues the prompt for another worker.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from graph.context import InterruptToken
from graph.events import EventSink, null_sink
from server.ports import RunnerLostError


class WorkerLostError(RunnerLostError):
    """The actor running a prompt died before the prompt finished."""


@dataclass
class RemoteOutcome:
    status: str
    outputs: dict[str, dict] = field(default_factory=dict)


class RayPromptRunner:
    def __init__(self, actor: Any, worker_id: str) -> None:
        self.actor = actor
        self.worker_id = worker_id

    def execute(self, prompt: dict, *, prompt_id: str, outputs: list[str], extra_data: dict | None = None,
                sink: EventSink = null_sink, interrupt: InterruptToken | None = None) -> RemoteOutcome:
        import ray
        from ray.exceptions import ActorDiedError, ActorUnavailableError, RayActorError

        lost = (RayActorError, ActorDiedError, ActorUnavailableError)
        stop = threading.Event()
        watcher = None
        if interrupt is not None:
            watcher = threading.Thread(target=self._forward_interrupt, args=(interrupt, stop), daemon=True)
            watcher.start()
        try:
            stream = self.actor.execute.options(num_returns="streaming").remote(
                prompt, prompt_id, list(outputs), extra_data or {})
            for ref in stream:
                item = ray.get(ref)
                if item[0] == "event":
                    sink(item[1], item[2])
                else:
                    return RemoteOutcome(item[1], item[2])
            raise WorkerLostError(f"worker {self.worker_id} ended prompt {prompt_id} without a result")
        except lost as exc:
            raise WorkerLostError(f"worker {self.worker_id} died while running prompt {prompt_id}: "
                             f"{type(exc).__name__}") from exc
        finally:
            stop.set()
            if watcher is not None:
                watcher.join(timeout=1)

    def _forward_interrupt(self, token: InterruptToken, stop: threading.Event) -> None:
        while not stop.wait(0.05):
            if token.is_set():
                try:
                    self.actor.interrupt.remote()
                except Exception:  # the actor may be gone; execute() reports that
                    pass
                return

    def preview_plan(self, prompt: dict, outputs: list[str]) -> dict:
        import ray

        return ray.get(self.actor.preview_plan.remote(prompt, list(outputs)))

    def reset(self) -> None:
        import ray

        ray.get(self.actor.reset.remote())
