"""The coordinator's PromptRunner for one Ray actor: runs a prompt there, forwarding its events in order.

`RayPromptRunner(actor)` has the shape `server/ports.py` asks of a runner (`execute`,
`preview_plan`, `reset`), so the server's worker loop drives a remote worker exactly as it drives
the local executor. An interrupt token set on the coordinator reaches the actor within 50 ms. When
the actor dies mid-prompt (its process killed, its machine gone) `execute` raises `WorkerLostError`:
the coordinator re-queues the prompt for another worker. With `deliver_to` the files the worker's
ui outputs name are written into the coordinator's folders as they arrive, before the `executed`
event that names them goes on (outputs.py), so `/view` serves them when a client asks; the other files
the prompt wrote into the worker's output folder arrive in chunks before the result (folder_sync.py).
`needed_soon` (set by the pool when it routes a prompt here) names the model files of the queued prompts
this worker will probably run next; they go with the prompt, for the worker's model manager to evict last.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from app.cluster.folder_sync import IncomingFiles, incoming_for
from app.cluster.outputs import Delivery
from graph.context import InterruptToken
from graph.events import EventSink, null_sink
from server.ports import RunnerLostError


class WorkerLostError(RunnerLostError):
    """The actor running a prompt died before the prompt finished."""


@dataclass
class RemoteOutcome:
    status: str
    outputs: dict[str, dict] = field(default_factory=dict)


def forward(item: tuple, sink: EventSink, delivery: Delivery | None = None,
            incoming: IncomingFiles | None = None) -> RemoteOutcome | None:
    """Handle one item of a worker's stream (actor.py): a file stored, an event passed on with its files'
    stored names; the outcome for the final result, else None."""
    if item[0] == "file" and delivery is not None:
        delivery.store(tuple(item[1]), item[2])
    elif incoming is not None and incoming.take(item):
        pass
    elif item[0] == "event":
        sink(item[1], delivery.rename(item[2]) if delivery is not None else item[2])
    elif item[0] == "result":
        return RemoteOutcome(item[1], delivery.rename(item[2]) if delivery is not None else item[2])
    return None


class RayPromptRunner:
    def __init__(self, actor: Any, worker_id: str, deliver_to: Mapping[str, str] | None = None) -> None:
        """`deliver_to`: the coordinator's {"output": dir, "temp": dir}, where the worker's files are written
        (outputs.py); None when the worker's folders are the coordinator's (`serve --shared-output`)."""
        self.actor = actor
        self.worker_id = worker_id
        self.deliver_to = dict(deliver_to) if deliver_to is not None else None
        self.needed_soon: list[str] = []  # model file names of the prompts expected here next (pool.take)

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
        delivery = Delivery(self.deliver_to) if self.deliver_to is not None else None
        incoming = incoming_for(self.deliver_to)
        try:
            stream = self.actor.execute.options(num_returns="streaming").remote(
                prompt, prompt_id, list(outputs), extra_data or {}, delivery is not None, list(self.needed_soon))
            for ref in stream:
                outcome = forward(ray.get(ref), sink, delivery, incoming)
                if outcome is not None:
                    return outcome
            raise WorkerLostError(f"worker {self.worker_id} ended prompt {prompt_id} without a result")
        except lost as exc:
            raise WorkerLostError(f"worker {self.worker_id} died while running prompt {prompt_id}: "
                             f"{type(exc).__name__}") from exc
        finally:
            if incoming is not None:
                incoming.close()
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
