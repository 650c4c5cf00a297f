"""The worker thread: pops prompts from the durable store and runs them, one at a time.

Given a `PromptRunnerPool` (server/ports.py; `serve --ray`) instead of one runner, the worker runs
one such loop ("lane", server/worker_lanes.py) per runner of the pool, so several prompts run at once,
one per runner: each lane takes the queued prompt the pool routes to it, has its own interrupt token,
and a lane whose runner died (`RunnerLostError`) re-queues its prompt once (then fails it by restart, as
the store does after a crash) and goes on with a fresh runner from the pool.

One `Executor` is kept for the life of the server so its node cache persists across
prompts. Events go to a `Publisher` (the WebSocket hub), which must be thread-safe: the
hub hands them to the event loop with `call_soon_threadsafe`. ComfyUI's `progress_state`
messages are derived from the executor's events on the way (server/progress_state.py). The pieces of
one prompt's run — its extra_data, event sink, history entry, storing it and announcing its outputs to
an `OutputsListener` — are in server/worker_run.py. Nothing that goes wrong in one prompt (a node, the
executor itself, writing the history, or the outputs listener) stops the worker.

Before an in-process prompt runs, the runtime is told which model files the next pending prompts name
(server/needed_models.py), so the model manager evicts those last; runner pools (Ray) keep their own models
and are not told.
"""

from __future__ import annotations

import logging
import threading
import time

from graph import events as ev
from graph.context import InterruptToken
from graph.schema import Registry

from .needed_models import tell_needed_soon
from .ports import ModelUnloader, PromptRunner, PromptRunnerPool, RunnerLostError
from .progress_state import ProgressStateTracker, lazy_node_ids, registry_schema_getter
from .store import CANCELLED, ERROR, FAILED_BY_RESTART, INTERRUPTED, MAX_ATTEMPTS, SUCCESS, QueueItem, Store
from .worker_lanes import Lane, free_lane, is_pool, replacement_runner, runner_name, take_free_request
from .worker_run import (
    HISTORY_EVENTS,
    PREVIEW_METHODS,
    WEBSOCKET_OUTPUT_NODES,
    NullPublisher,
    OutputsListener,
    Publisher,
    announce_outputs,
    event_sink,
    executor_error,
    extra_data_for,
    failure_entry,
    history_entry,
    now_ms,
    store_result,
)

# Names other modules and tests import from here.
__all__ = ["HISTORY_EVENTS", "PREVIEW_METHODS", "WEBSOCKET_OUTPUT_NODES", "NullPublisher", "OutputsListener",
           "ProgressStateTracker", "Publisher", "Worker", "is_pool", "now_ms"]

log = logging.getLogger("latentgraph.server.worker")

_STATUS_OF_RESULT = {"success": SUCCESS, "error": ERROR, "interrupted": INTERRUPTED}


class Worker:
    """Runs queued prompts in order on one thread (one per runner of a pool).
    `start()`, `interrupt()`, `cancel()`, `request_free()`, `stop()`."""

    def __init__(self, store: Store, executor: PromptRunner, *, registry: Registry,
                 publisher: Publisher | None = None, models: ModelUnloader | None = None,
                 default_extra: dict | None = None, interrupt: InterruptToken | None = None,
                 on_outputs: OutputsListener | None = None) -> None:
        """`registry` gives the node schemas (lazy inputs) for progress_state; `models` is what /free
        unloads (None: only the executor's cache is dropped, and only for free_memory); `on_outputs` is
        told of every stored history entry that has outputs (the assets index claims their files)."""
        self.store = store
        self.executor = executor
        self.publisher = publisher or NullPublisher()
        self.models = models
        self.default_extra = dict(default_extra or {})
        self.token = interrupt or InterruptToken()
        self.on_outputs = on_outputs
        self._schema_of = registry_schema_getter(registry)
        self._lock = threading.Lock()
        self._stopping = False
        # Running prompts a jobs cancel asked to stop: they end in the history as cancelled.
        self._cancelled: set[str] = set()
        self.pool: PromptRunnerPool | None = executor if is_pool(executor) else None  # type: ignore[assignment]
        self._lanes: list[Lane] = [] if self.pool is not None else [Lane("local", executor, self.token)]
        self.prompts_done = 0

    # ------------------------------------------------------------------ control
    def start(self) -> None:
        if self.pool is not None:
            self._lanes = [Lane(runner_name(runner, str(index)), runner, InterruptToken())
                           for index, runner in enumerate(self.pool.lane_runners())]
        for lane in self._lanes:
            lane.thread = threading.Thread(target=self._loop, args=(lane,), daemon=True,
                                           name="latentgraph-worker" if self.pool is None
                                           else f"latentgraph-worker-{lane.name}")
            lane.thread.start()

    def stop(self, timeout: float = 10.0) -> bool:
        """Stop taking prompts; interrupt the running ones and put them back in the queue.
        Returns True when the threads ended within `timeout`."""
        self._stopping = True
        for lane in self._lanes:
            lane.token.set()
        self.store.wake()
        deadline = time.monotonic() + timeout
        for lane in self._lanes:
            if lane.thread is not None and lane.thread.is_alive():
                lane.thread.join(max(0.0, deadline - time.monotonic()))
        return not any(lane.thread is not None and lane.thread.is_alive() for lane in self._lanes)

    def _running_lanes(self) -> list[Lane]:
        return [lane for lane in self._lanes if lane.current is not None]

    @property
    def current_prompt_id(self) -> str | None:
        """The running prompt (with several runners: the first that runs one)."""
        with self._lock:
            running = self._running_lanes()
            return running[0].current.prompt_id if running else None

    @property
    def current_client_id(self) -> str | None:
        with self._lock:
            running = self._running_lanes()
            return running[0].current.extra_data.get("client_id") if running else None

    def running(self) -> dict[str, str]:
        """Runner name -> the prompt it runs, for every runner that runs one."""
        with self._lock:
            return {lane.name: lane.current.prompt_id for lane in self._running_lanes()}

    def interrupt(self, prompt_id: str | None = None) -> bool:
        """Interrupt the running prompt (only if it is `prompt_id`, when given; without one, with several
        runners, every running prompt). Idle: no effect."""
        with self._lock:
            hit = [lane for lane in self._running_lanes() if prompt_id is None or lane.current.prompt_id == prompt_id]
            for lane in hit:
                lane.token.set()
            return bool(hit)

    def cancel(self, prompt_id: str) -> bool:
        """Interrupt `prompt_id` if it is running (or was just taken from the queue and is about to
        run), so that it ends as cancelled; False when it is not running."""
        with self._lock:
            lane = next((lane for lane in self._running_lanes() if lane.current.prompt_id == prompt_id), None)
            if lane is None and prompt_id not in self.store.running_ids():
                return False
            self._cancelled.add(prompt_id)
            if lane is not None:
                lane.token.set()
            return True

    def request_free(self, *, unload_models: bool = False, free_memory: bool = False) -> None:
        """Ask for models to be unloaded / caches dropped between prompts (ComfyUI's /free); with several
        runners each does it before its next prompt."""
        with self._lock:
            for lane in self._lanes:
                lane.free_request["unload_models"] |= bool(unload_models)
                lane.free_request["free_memory"] |= bool(free_memory)
        self.store.wake()

    # ------------------------------------------------------------------ loop
    def _pop(self, lane: Lane) -> QueueItem | None:
        if self.pool is None:
            return self.store.pop_next(timeout=0.5)
        item = self.store.pop_next(timeout=0.5, choose=lambda pending: self.pool.take(lane.runner, pending))
        if item is None and self.store.queue()[1]:
            time.sleep(0.02)  # the pool routed nothing to this runner now: do not spin
        return item

    def _loop(self, lane: Lane) -> None:
        while not self._stopping and lane.runner is not None:
            try:
                item = self._pop(lane)
                if item is None or self._stopping:
                    if item is not None:
                        self.store.requeue(item.prompt_id)
                        self._pool_finished(lane)
                    self._handle_free(lane)
                    continue
                self._run(item, lane)
                self._handle_free(lane)
            except Exception:  # the worker must outlive any single failure
                log.exception("worker loop error; continuing")
                time.sleep(0.1)

    def _pool_finished(self, lane: Lane) -> None:
        if self.pool is not None:
            try:
                self.pool.finished(lane.runner)
            except Exception:
                log.exception("the runner pool failed to free runner %s", lane.name)

    def _run(self, item: QueueItem, lane: Lane | None = None) -> None:
        lane = lane or self._lanes[0]
        runner = lane.runner
        try:
            lost = self._run_on(item, lane)
        finally:
            self._pool_finished(lane)
        if lost and self.pool is not None and lane.runner is runner:
            self._replace(lane)

    def _run_on(self, item: QueueItem, lane: Lane) -> bool:
        """Run `item` on the lane's runner and record its end; True when the runner was lost under it."""
        client_id = item.extra_data.get("client_id")
        with self._lock:
            lane.current = item
            lane.token.clear()
            if item.prompt_id in self._cancelled:  # cancelled between leaving the queue and starting
                lane.token.set()
        self.publisher.status()
        messages: list[list] = []
        progress = ProgressStateTracker(item.prompt_id, item.prompt, self._lazy_nodes(item.prompt))
        extra = extra_data_for(item, self.default_extra)
        sink = event_sink(item, progress, self.publisher, previews=extra.get("preview_method") != "none",
                          messages=messages)
        if self.pool is None:  # the in-process runtime: keep what the queued prompts load (never raises)
            tell_needed_soon(self.models, self.store)

        try:
            result = lane.runner.execute(item.prompt, prompt_id=item.prompt_id, outputs=list(item.outputs),
                                         extra_data=extra, sink=sink, interrupt=lane.token)
            status = _STATUS_OF_RESULT.get(result.status, ERROR)
            outputs = dict(result.outputs)
        except RunnerLostError as exc:
            self._runner_lost(item, lane, exc, sink)
            return True
        except BaseException as exc:  # noqa: B036 - the executor itself failed; the prompt must still end
            if isinstance(exc, (KeyboardInterrupt, SystemExit)):
                raise
            log.exception("executor failed on prompt %s", item.prompt_id)
            status, outputs = ERROR, {}
            sink(ev.EXECUTION_ERROR, executor_error(item.prompt_id, exc))

        with self._lock:
            cancelled = item.prompt_id in self._cancelled
            self._cancelled.discard(item.prompt_id)
        if cancelled and status == INTERRUPTED:
            status = CANCELLED
        if self._stopping and status == INTERRUPTED:
            self.store.requeue(item.prompt_id)
            with self._lock:
                lane.current = None
            return False

        entry = history_entry(status, outputs, messages)
        stored = store_result(self.store, self.publisher, item, status, entry, client_id)
        self._end(item, lane, client_id)
        if stored:  # after the lane is free: the listener never holds up the queue or its state
            announce_outputs(self.on_outputs, item.prompt_id, entry)
        return False

    def _end(self, item: QueueItem, lane: Lane, client_id: str | None) -> None:
        with self._lock:
            lane.current = None
        self.prompts_done += 1
        self.publisher.status()
        self.publisher.event(ev.EXECUTING, {"node": None, "prompt_id": item.prompt_id}, client_id)

    def _runner_lost(self, item: QueueItem, lane: Lane, exc: RunnerLostError, sink) -> None:
        """The runner's worker died under `item`: re-queue it once (another runner takes it), or end it
        as failed by restart."""
        log.warning("runner %s lost under prompt %s: %s", lane.name, item.prompt_id, exc)
        with self._lock:
            self._cancelled.discard(item.prompt_id)
            lane.current = None
        try:
            if item.attempts < MAX_ATTEMPTS and not self._stopping:
                self.store.requeue(item.prompt_id, count_attempt=True)
                self.publisher.status()
            else:
                error = executor_error(item.prompt_id, exc, f"The worker running this prompt died {item.attempts} "
                                       "times; it was re-queued once and is now reported as failed by restart: ")
                error["exception_type"] = "FailedByRestart"
                sink(ev.EXECUTION_ERROR, error)
                self.store.finish(item.prompt_id, FAILED_BY_RESTART, failure_entry(error))
                self._end(item, lane, item.extra_data.get("client_id"))
        except Exception:
            log.exception("could not record the loss of prompt %s", item.prompt_id)

    def _replace(self, lane: Lane) -> None:
        """Carry on with a fresh runner from the pool; the lane stops when none can be started."""
        replacement = replacement_runner(self.pool, lane, self._lanes)
        with self._lock:
            lane.runner = replacement
            lane.name = runner_name(replacement, lane.name)

    def _lazy_nodes(self, prompt: dict) -> set[str]:
        try:
            return lazy_node_ids(prompt, self._schema_of)
        except Exception:  # progress display only: never let it stop a prompt
            log.exception("could not read the lazy inputs of a prompt")
            return set()

    def _handle_free(self, lane: Lane | None = None) -> None:
        lane = lane or self._lanes[0]
        free_lane(lane, take_free_request(lane, self._lock), pool=self.pool, models=self.models)
