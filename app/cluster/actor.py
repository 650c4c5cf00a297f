"""The Ray actor that runs prompts on one GPU or CPU slot, with its own engine and caches.

`PromptWorker` is a plain class (testable without Ray); `remote_worker_class(num_gpus)` wraps it
with `ray.remote` as a threaded actor (one thread runs a prompt, another takes `interrupt()`).
It is built from the same engine flags as `main.py serve` (folders, --cpu, --precision, the VRAM
flags, ...), so it loads the same models and nodes; its node-output cache and model manager live
as long as the actor, which is what routing by model affinity relies on.

`execute(...)` is a generator: it yields ("event", name, data) in the order the executor sends
them, then one ("result", status, outputs). Ray streams each item to the coordinator as it is
yielded (`num_returns="streaming"`), so progress and previews arrive while the prompt runs.
"""

from __future__ import annotations

import argparse
import os
import queue
import threading
from collections.abc import Iterator
from typing import Any

_DONE = object()


def parse_engine_args(argv: list[str]) -> argparse.Namespace:
    from app.engine import add_engine_arguments

    parser = argparse.ArgumentParser(prog="latentgraph-worker")
    add_engine_arguments(parser)
    return parser.parse_args(argv)


class PromptWorker:
    """One worker: an engine (registry, runtime, caches) and an executor, running one prompt at a time."""

    def __init__(self, worker_id: str, engine_argv: list[str] | argparse.Namespace) -> None:
        """`engine_argv`: the engine flags as an argv list, or the Namespace `serve` parsed them into."""
        from app.engine import build_engine
        from graph.context import InterruptToken
        from graph.executor import Executor

        self.worker_id = worker_id
        args = engine_argv if isinstance(engine_argv, argparse.Namespace) else parse_engine_args(engine_argv)
        self.engine = build_engine(args)
        self.engine.folders.ensure_dirs()
        self.executor = Executor(self.engine.registry, cache=self.engine.cache, runtime=self.engine.runtime)
        self.token = InterruptToken()
        self._busy = threading.Lock()

    def describe(self) -> dict[str, Any]:
        runtime = self.engine.runtime
        device = runtime.models.choice.describe() if runtime.models_loaded else "not decided yet"
        resident = runtime.models.manager.resident() if runtime.models_loaded else []
        return {"worker_id": self.worker_id, "pid": os.getpid(), "device": device, "resident": resident}

    def interrupt(self) -> None:
        self.token.set()

    def reset(self) -> None:
        self.executor.reset()

    def unload_models(self) -> bool:
        return self.engine.runtime.unload_models()

    def preview_plan(self, prompt: dict, outputs: list[str]) -> dict:
        return self.executor.preview_plan(prompt, outputs)

    def execute(self, prompt: dict, prompt_id: str, outputs: list[str], extra_data: dict | None = None
                ) -> Iterator[tuple]:
        # A prompt still running here (an orphan of a coordinator that restarted and interrupted it) has
        # a moment to stop; two prompts never run on one worker.
        if not self._busy.acquire(timeout=30):
            raise RuntimeError(f"worker {self.worker_id} is already running a prompt")
        released = False
        try:
            self.token.clear()
            events: queue.Queue = queue.Queue()
            result: dict[str, Any] = {}

            def run() -> None:
                try:
                    outcome = self.executor.execute(prompt, prompt_id=prompt_id, outputs=list(outputs),
                                                    extra_data=extra_data or {},
                                                    sink=lambda event, data: events.put(("event", event, data)),
                                                    interrupt=self.token)
                    result["value"] = ("result", outcome.status, dict(outcome.outputs))
                except BaseException as exc:  # noqa: B036 - reported to the coordinator as the prompt's failure
                    result["error"] = exc
                finally:
                    events.put(_DONE)

            thread = threading.Thread(target=run, name=f"latentgraph-{self.worker_id}", daemon=True)
            thread.start()
            while (item := events.get()) is not _DONE:
                yield item
            thread.join()
            # Free before the last item: the coordinator stops reading at the result and may send the next
            # prompt at once, while this generator waits to be closed.
            self._busy.release()
            released = True
            if "error" in result:
                raise result["error"]
            yield result["value"]
        finally:
            if not released:
                self._busy.release()


def remote_worker_class(num_gpus: float = 0, num_cpus: float = 1):
    """`PromptWorker` as a Ray actor class (threaded: interrupt() runs beside execute())."""
    import ray

    return ray.remote(num_gpus=num_gpus, num_cpus=num_cpus, max_concurrency=4, max_restarts=0)(PromptWorker)
