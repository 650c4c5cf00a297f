"""A dispatcher over Ray workers: one loop per worker takes the queued prompt routing picks for it.

`Dispatcher(runners, source)` runs one thread per worker. Each free worker asks `source.take(worker,
workers)` for its next prompt (the source applies `routing.choose_prompt` to its queue), runs it
through the worker's `RayPromptRunner`, and reports it back with `source.done(...)`; a worker lost
mid-prompt is marked dead and its prompt goes back with `source.lost(...)` (re-queued once, as the
durable store does after a crash). Used by `bench/scale.py` and by the coordinator.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any, Protocol

from app.cluster.routing import Candidate, WorkerState
from app.cluster.runner import RayPromptRunner, RemoteOutcome, WorkerLostError

log = logging.getLogger("latentgraph.cluster")


class PromptSource(Protocol):
    def take(self, worker: WorkerState, workers: list[WorkerState]) -> Candidate | None: ...

    def done(self, candidate: Candidate, worker: WorkerState, outcome: Any, seconds: float) -> None: ...

    def lost(self, candidate: Candidate, worker: WorkerState) -> None: ...


class Dispatcher:
    def __init__(self, runners: list[RayPromptRunner], source: PromptSource,
                 outputs_of: Callable[[Candidate], list[str]], idle_wait: float = 0.01) -> None:
        self.runners = runners
        self.workers = [WorkerState(r.worker_id) for r in runners]
        self.source = source
        self.outputs_of = outputs_of
        self.idle_wait = idle_wait
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        for runner, worker in zip(self.runners, self.workers, strict=True):
            thread = threading.Thread(target=self._loop, args=(runner, worker), daemon=True,
                                      name=f"latentgraph-dispatch-{worker.worker_id}")
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=5)

    def _loop(self, runner: RayPromptRunner, worker: WorkerState) -> None:
        while not self._stop.is_set() and worker.alive:
            with self._lock:
                candidate = self.source.take(worker, self.workers)
                if candidate is not None:
                    worker.started(candidate.prompt, candidate.client_id)
            if candidate is None:
                time.sleep(self.idle_wait)
                continue
            began = time.perf_counter()
            try:
                outcome = runner.execute(candidate.prompt, prompt_id=candidate.prompt_id,
                                         outputs=self.outputs_of(candidate))
            except WorkerLostError:
                log.warning("worker %s lost while running %s; re-queued", worker.worker_id, candidate.prompt_id)
                with self._lock:
                    worker.alive = False
                    worker.busy = False
                    self.source.lost(candidate, worker)
                return
            except Exception as exc:  # the prompt failed on the worker (not a node error): report it, go on
                log.exception("prompt %s failed on worker %s", candidate.prompt_id, worker.worker_id)
                outcome = RemoteOutcome("error", {"error": {"message": f"{type(exc).__name__}: {exc}"}})
            with self._lock:
                worker.finished()
                self.source.done(candidate, worker, outcome, time.perf_counter() - began)
