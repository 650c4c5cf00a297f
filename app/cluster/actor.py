"""The Ray actor that runs prompts on one GPU or CPU slot, with its own engine and caches.

`PromptWorker` is a plain class (testable without Ray); `remote_worker_class(num_gpus)` wraps it
with `ray.remote` as a threaded actor (one thread runs a prompt, another takes `interrupt()`).
It is built from the same engine flags as `main.py serve` (folders, --cpu, --precision, the VRAM
flags, ...), so it loads the same models and nodes; its node-output cache and model manager live
as long as the actor, which is what routing by model affinity relies on.

`execute(...)` is a generator: it yields ("event", name, data) in the order the executor sends
them, then one ("result", status, outputs); with `ship_files` the bytes of the files its ui outputs
name come too, for a coordinator that does not share the worker's output folder (outputs.py), and, before
the result, every other file the prompt wrote into the output folder, in chunks (folder_sync.py): the folder
is scanned once per prompt, after it, and compared with the scan that ended the previous prompt.
`needed_models` (the file names of the queued prompts routing expects here next) goes to the engine's model
manager before the prompt runs, resolved against this worker's own folders, so it evicts those models last. Ray
streams each item to the coordinator as it is yielded (`num_returns="streaming"`), so progress and
previews arrive while the prompt runs. The run's thread, not the stream, frees the worker: a stream
abandoned by a coordinator that died leaves it free once its prompt stops (`settle`).
"""

from __future__ import annotations

import argparse
import logging
import os
import queue
import threading
from collections.abc import Iterator
from typing import Any

from app.cluster.folder_sync import Snapshot, named_paths, ship_changed, snapshot
from app.cluster.outputs import read_files
from graph.events import EXECUTED

_DONE = object()
log = logging.getLogger("latentgraph.cluster")


def parse_engine_args(argv: list[str]) -> argparse.Namespace:
    from app.engine import add_engine_arguments

    parser = argparse.ArgumentParser(prog="latentgraph-worker")
    add_engine_arguments(parser)
    return parser.parse_args(argv)


def engine_signature(engine_args: list[str] | argparse.Namespace) -> dict[str, str]:
    """The engine flags (not serve's own) as text: a reattached worker built from other flags is replaced."""
    args = engine_args if isinstance(engine_args, argparse.Namespace) else parse_engine_args(engine_args)
    return {key: str(getattr(args, key, None)) for key in sorted(vars(parse_engine_args([])))}


class PromptWorker:
    """One worker: an engine (registry, runtime, caches) and an executor, running one prompt at a time."""

    def __init__(self, worker_id: str, engine_argv: list[str] | argparse.Namespace) -> None:
        """`engine_argv`: the engine flags as an argv list, or the Namespace `serve` parsed them into."""
        from app.engine import build_engine
        from graph.context import InterruptToken
        from graph.executor import Executor

        self.worker_id = worker_id
        args = engine_argv if isinstance(engine_argv, argparse.Namespace) else parse_engine_args(engine_argv)
        self.signature = engine_signature(args)
        self.engine = build_engine(args)
        self.engine.folders.ensure_dirs()
        self.executor = Executor(self.engine.registry, cache=self.engine.cache, runtime=self.engine.runtime)
        self.token = InterruptToken()
        self._busy = threading.Lock()
        # The output folder as the last shipping prompt left it, (folder, snapshot): the next prompt's "before".
        # Cleared when a prompt starts and set when its shipping ended, so a stream given up midway (or a
        # prompt that shipped nothing) makes the next prompt scan before it runs, as the first prompt does.
        self._seen: tuple[str, Snapshot] | None = None
        self._runs = 0

    def describe(self) -> dict[str, Any]:
        runtime = self.engine.runtime
        device = runtime.models.choice.describe() if runtime.models_loaded else "not decided yet"
        resident = runtime.models.manager.resident() if runtime.models_loaded else []
        return {"worker_id": self.worker_id, "pid": os.getpid(), "device": device, "resident": resident,
                "needed_soon": list(runtime.needed_soon)}

    def interrupt(self) -> None:
        self.token.set()

    def reset(self) -> None:
        self.executor.reset()

    def unload_models(self) -> bool:
        return self.engine.runtime.unload_models()

    def preview_plan(self, prompt: dict, outputs: list[str]) -> dict:
        return self.executor.preview_plan(prompt, outputs)

    def settle(self, timeout: float = 30.0, signature: dict[str, str] | None = None) -> bool:
        """Stop whatever prompt runs here and wait until the worker is free; False when it stays busy, or
        when `signature` (the coordinator's `engine_signature`) differs from the flags this worker was built from.

        A restarted coordinator calls this on the workers it reattaches: the prompt of its dead
        predecessor (re-queued by the durable queue) must stop, and the worker take new ones."""
        if signature is not None and signature != self.signature:
            return False
        self.token.set()
        if not self._busy.acquire(timeout=timeout):
            return False
        self._busy.release()
        return True

    def tell_needed_soon(self, names: list[str]) -> None:
        """Tell the model manager which model files (names as prompts give them) the next prompts here load; the
        names this worker's folders do not hold are left out. Never raises: it is only a hint."""
        from server.needed_models import resolve_model_files

        try:
            runtime = self.engine.runtime
            runtime.models_needed_soon(resolve_model_files(runtime.folders, names))
        except Exception:
            log.exception("worker %s could not resolve the models the queued prompts need", self.worker_id)

    def execute(self, prompt: dict, prompt_id: str, outputs: list[str], extra_data: dict | None = None,
                ship_files: bool = False, needed_models: list[str] | None = None) -> Iterator[tuple]:
        """Run one prompt, yielding its events, then the result. With `ship_files`, each file a ui output
        names is sent first as ("file", (type, subfolder, filename), bytes): before the `executed` event
        that names it, and any the result names beyond those before the result (outputs.py); then each
        other file new or changed in the output folder, as "chunk"/"end" or "left" items (folder_sync.py)."""
        # A prompt still running here (an orphan of a coordinator that died) has a moment to stop; two
        # prompts never run on one worker.
        if not self._busy.acquire(timeout=30):
            raise RuntimeError(f"worker {self.worker_id} is already running a prompt")
        self.token.clear()
        if needed_models is not None:
            self.tell_needed_soon(needed_models)
        output_dir = self.engine.folders.directory("output")
        self._runs += 1
        run_number, seen, self._seen = self._runs, self._seen, None
        try:
            before = self._before(output_dir, seen) if ship_files else {}
        except BaseException:
            self._busy.release()
            raise
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
                # The run, not the stream, frees the worker: the coordinator stops reading at the result and
                # may send the next prompt at once, and a coordinator that died abandons the stream.
                self._busy.release()
                events.put(_DONE)

        try:
            thread = threading.Thread(target=run, name=f"latentgraph-{self.worker_id}", daemon=True)
            thread.start()
        except BaseException:
            self._busy.release()
            raise
        shipped: set = set()
        while (item := events.get()) is not _DONE:
            if ship_files and item[1] == EXECUTED and isinstance(item[2], dict):
                for key, data in read_files(self.engine.folders, item[2].get("output"), shipped):
                    yield ("file", key, data)
            yield item
        thread.join()
        if ship_files:
            for ui in result["value"][2].values() if "value" in result else ():
                for key, data in read_files(self.engine.folders, ui, shipped):
                    yield ("file", key, data)
            # What a prompt wrote stays written when it fails after, as on one machine: ship it either way.
            after = yield from ship_changed(output_dir, before, named_paths(output_dir, shipped))
            if self._runs == run_number:  # no later prompt started meanwhile (this stream was not given up)
                self._seen = (str(output_dir), after)
        if "error" in result:
            raise result["error"]
        yield result["value"]

    @staticmethod
    def _before(output_dir, seen: tuple[str, Snapshot] | None) -> Snapshot:
        """The output folder before a prompt: the previous prompt's after-scan when it was of this folder, else
        a scan now. Files changed in the folder between two prompts therefore travel with the second one (the
        coordinator stores bytes it already has only once)."""
        if seen is not None and seen[0] == str(output_dir):
            return seen[1]
        return snapshot(output_dir)


def remote_worker_class(num_gpus: float = 0, num_cpus: float = 1):
    """`PromptWorker` as a Ray actor class (threaded: interrupt() runs beside execute())."""
    import ray

    return ray.remote(num_gpus=num_gpus, num_cpus=num_cpus, max_concurrency=4, max_restarts=0)(PromptWorker)
