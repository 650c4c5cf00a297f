"""The worker thread: pops prompts from the durable store and runs them, one at a time.

Given a `PromptRunnerPool` (server/ports.py; `serve --ray`) instead of one runner, the worker runs
one such loop ("lane") per runner of the pool, so several prompts run at once, one per runner: each
lane takes the queued prompt the pool routes to it, has its own interrupt token, and a lane whose
runner died (`RunnerLostError`) re-queues its prompt once (then fails it by restart, as the store
does after a crash) and goes on with a fresh runner from the pool.

One `Executor` is kept for the life of the server so its node cache persists across
prompts. Events go to a `Publisher` (the WebSocket hub), which must be thread-safe: the
hub hands them to the event loop with `call_soon_threadsafe`. ComfyUI's `progress_state`
messages are derived from the executor's events on the way (server/progress_state.py).
Nothing that goes wrong in one prompt (a node, the executor itself, or writing the history)
stops the worker.
"""

from __future__ import annotations

import gc
import logging
import threading
import time
import traceback
from dataclasses import dataclass, field
from typing import Protocol

from graph import events as ev
from graph.context import InterruptToken
from graph.schema import Registry

from .ports import ModelUnloader, PromptRunner, PromptRunnerPool, RunnerLostError
from .progress_state import ProgressStateTracker, lazy_node_ids, registry_schema_getter
from .store import CANCELLED, ERROR, FAILED_BY_RESTART, INTERRUPTED, MAX_ATTEMPTS, SUCCESS, QueueItem, Store
from .ws import OUTPUT_IMAGE

log = logging.getLogger("latentgraph.server.worker")

# Events kept in the history entry's status.messages (ComfyUI's set).
HISTORY_EVENTS = (ev.EXECUTION_START, ev.EXECUTION_CACHED, ev.EXECUTION_SUCCESS, ev.EXECUTION_ERROR,
                  ev.EXECUTION_INTERRUPTED)
_STATUS_OF_RESULT = {"success": SUCCESS, "error": ERROR, "interrupted": INTERRUPTED}
# extra_data.preview_method values a prompt may ask for (ComfyUI since Dec 2025); absent, "default" or
# anything else means the server's setting (--preview-method, default none).
PREVIEW_METHODS = ("none", "auto", "latent2rgb", "taesd")
# Output nodes whose progress pictures are their results (ComfyUI's SaveImageWebsocket): published as
# OUTPUT_IMAGE, sent whatever the preview method and never dropped (server/ws.py).
WEBSOCKET_OUTPUT_NODES = frozenset({"SaveImageWebsocket"})


class Publisher(Protocol):
    """Where the worker sends events; both methods are called from the worker thread."""

    def event(self, event: str, data: dict, client_id: str | None) -> None: ...

    def status(self) -> None: ...


class NullPublisher:
    def event(self, event: str, data: dict, client_id: str | None) -> None:
        pass

    def status(self) -> None:
        pass


def now_ms() -> int:
    return int(time.time() * 1000)


def _no_free_request() -> dict:
    return {"unload_models": False, "free_memory": False}


@dataclass(eq=False)
class _Lane:
    """One runner and what runs on it: the prompt, its interrupt token, a pending /free request."""

    name: str
    runner: PromptRunner
    token: InterruptToken
    current: QueueItem | None = None
    free_request: dict = field(default_factory=_no_free_request)
    thread: threading.Thread | None = None


def is_pool(executor: object) -> bool:
    """True for a PromptRunnerPool (several runners side by side), False for one runner."""
    return callable(getattr(executor, "lane_runners", None)) and callable(getattr(executor, "take", None))


class Worker:
    """Runs queued prompts in order on one thread (one per runner of a pool).
    `start()`, `interrupt()`, `cancel()`, `request_free()`, `stop()`."""

    def __init__(self, store: Store, executor: PromptRunner, *, registry: Registry,
                 publisher: Publisher | None = None, models: ModelUnloader | None = None,
                 default_extra: dict | None = None, interrupt: InterruptToken | None = None) -> None:
        """`registry` gives the node schemas (lazy inputs) for progress_state; `models` is what /free
        unloads (None: only the executor's cache is dropped, and only for free_memory)."""
        self.store = store
        self.executor = executor
        self.publisher = publisher or NullPublisher()
        self.models = models
        self.default_extra = dict(default_extra or {})
        self.token = interrupt or InterruptToken()
        self._schema_of = registry_schema_getter(registry)
        self._lock = threading.Lock()
        self._stopping = False
        # Running prompts a jobs cancel asked to stop: they end in the history as cancelled.
        self._cancelled: set[str] = set()
        self.pool: PromptRunnerPool | None = executor if is_pool(executor) else None  # type: ignore[assignment]
        self._lanes: list[_Lane] = [] if self.pool is not None else [_Lane("local", executor, self.token)]
        self.prompts_done = 0

    # ------------------------------------------------------------------ control
    def start(self) -> None:
        if self.pool is not None:
            self._lanes = [_Lane(str(getattr(runner, "worker_id", index)), runner, InterruptToken())
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

    def _running_lanes(self) -> list[_Lane]:
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
    def _pop(self, lane: _Lane) -> QueueItem | None:
        if self.pool is None:
            return self.store.pop_next(timeout=0.5)
        item = self.store.pop_next(timeout=0.5, choose=lambda pending: self.pool.take(lane.runner, pending))
        if item is None and self.store.queue()[1]:
            time.sleep(0.02)  # the pool routed nothing to this runner now: do not spin
        return item

    def _loop(self, lane: _Lane) -> None:
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

    def _pool_finished(self, lane: _Lane) -> None:
        if self.pool is not None:
            try:
                self.pool.finished(lane.runner)
            except Exception:
                log.exception("the runner pool failed to free runner %s", lane.name)

    def _run(self, item: QueueItem, lane: _Lane | None = None) -> None:
        lane = lane or self._lanes[0]
        runner = lane.runner
        try:
            lost = self._run_on(item, lane)
        finally:
            self._pool_finished(lane)
        if lost and self.pool is not None and lane.runner is runner:
            self._replace(lane)

    def _run_on(self, item: QueueItem, lane: _Lane) -> bool:
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

        extra = self._extra_data(item)
        previews = extra.get("preview_method") != "none"

        def sink(event: str, data: dict) -> None:
            if event == ev.PREVIEW:
                node = item.prompt.get(data.get("node_id"))
                if isinstance(node, dict) and node.get("class_type") in WEBSOCKET_OUTPUT_NODES:
                    event = OUTPUT_IMAGE
                elif not previews:  # nobody asked: no binary preview frames at all
                    return
            if event in HISTORY_EVENTS:
                data = dict(data)
                data.setdefault("timestamp", now_ms())
                messages.append([event, data])
            try:
                translated = progress.translate(event, data)
            except Exception:  # progress display only: the event itself must still go out
                log.exception("could not derive progress_state from %s", event)
                translated = [(event, data)]
            for name, payload in translated:
                self.publisher.event(name, payload, client_id)

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
            sink(ev.EXECUTION_ERROR, _executor_error(item.prompt_id, exc))

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

        entry = {
            "outputs": outputs,
            "status": {"status_str": "success" if status == SUCCESS else "error",
                       "completed": status == SUCCESS, "messages": messages},
            "meta": {nid: {"node_id": nid, "display_node": nid, "parent_node": None, "real_node_id": nid}
                     for nid in outputs},
        }
        self._store_result(item, status, entry, client_id)
        self._end(item, lane, client_id)
        return False

    def _end(self, item: QueueItem, lane: _Lane, client_id: str | None) -> None:
        with self._lock:
            lane.current = None
        self.prompts_done += 1
        self.publisher.status()
        self.publisher.event(ev.EXECUTING, {"node": None, "prompt_id": item.prompt_id}, client_id)

    def _runner_lost(self, item: QueueItem, lane: _Lane, exc: RunnerLostError, sink) -> None:
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
                error = _executor_error(item.prompt_id, exc, f"The worker running this prompt died {item.attempts} "
                                        "times; it was re-queued once and is now reported as failed by restart: ")
                error["exception_type"] = "FailedByRestart"
                sink(ev.EXECUTION_ERROR, error)
                self.store.finish(item.prompt_id, FAILED_BY_RESTART, {"outputs": {}, "meta": {}, "status": {
                    "status_str": "error", "completed": False, "messages": [[ev.EXECUTION_ERROR, error]]}})
                self._end(item, lane, item.extra_data.get("client_id"))
        except Exception:
            log.exception("could not record the loss of prompt %s", item.prompt_id)

    def _replace(self, lane: _Lane) -> None:
        """Carry on with a fresh runner from the pool; the lane stops when none can be started."""
        try:
            replacement = self.pool.replace(lane.runner)
        except Exception:
            log.exception("could not replace runner %s", lane.name)
            replacement = None
        if replacement is None:
            log.error("runner %s was lost and not replaced; %d runner(s) remain", lane.name,
                      sum(1 for other in self._lanes if other.runner is not None) - 1)
        with self._lock:
            lane.runner = replacement
            lane.name = str(getattr(replacement, "worker_id", lane.name))

    def _extra_data(self, item: QueueItem) -> dict:
        """The extra_data the executor sees: the server's defaults, the prompt's own, its secrets; a
        preview_method the prompt does not name as one of PREVIEW_METHODS is the server's."""
        extra = {**self.default_extra, **item.extra_data, **item.sensitive}
        if item.extra_data.get("preview_method") not in PREVIEW_METHODS:
            extra.pop("preview_method", None)
            if "preview_method" in self.default_extra:
                extra["preview_method"] = self.default_extra["preview_method"]
        return extra

    def _lazy_nodes(self, prompt: dict) -> set[str]:
        try:
            return lazy_node_ids(prompt, self._schema_of)
        except Exception:  # progress display only: never let it stop a prompt
            log.exception("could not read the lazy inputs of a prompt")
            return set()

    def _store_result(self, item: QueueItem, status: str, entry: dict, client_id: str | None) -> None:
        """Write the history entry; if the disk refuses, record a short error entry instead,
        and if even that fails leave the row `running` (a restart re-queues it) and go on."""
        try:
            self.store.finish(item.prompt_id, status, entry)
            return
        except Exception as exc:
            log.exception("could not store the result of prompt %s", item.prompt_id)
            error = _executor_error(item.prompt_id, exc, "Could not store the result: ")
            self.publisher.event(ev.EXECUTION_ERROR, error, client_id)
        try:
            self.store.finish(item.prompt_id, ERROR, {"outputs": {}, "meta": {}, "status": {
                "status_str": "error", "completed": False, "messages": [[ev.EXECUTION_ERROR, error]]}})
        except Exception:
            log.exception("could not store the failure of prompt %s either; it stays marked running", item.prompt_id)
            self.store.forget_running(item.prompt_id)

    def _handle_free(self, lane: _Lane | None = None) -> None:
        lane = lane or self._lanes[0]
        with self._lock:
            request = lane.free_request
            lane.free_request = _no_free_request()
        if not (request["unload_models"] or request["free_memory"]) or lane.runner is None:
            return
        try:
            if self.pool is not None:
                if request["unload_models"] or request["free_memory"]:
                    self.pool.unload_models(lane.runner)
            elif self.models is not None:
                self.models.unload_models()
            if request["free_memory"]:
                lane.runner.reset()
            gc.collect()
        except Exception:
            log.exception("/free failed")


def _executor_error(prompt_id: str, exc: BaseException, prefix: str = "") -> dict:
    return {"prompt_id": prompt_id, "node_id": None, "node_type": None, "executed": [],
            "exception_message": prefix + str(exc), "exception_type": type(exc).__name__,
            "traceback": traceback.format_exception(type(exc), exc, exc.__traceback__),
            "current_inputs": {}, "current_outputs": [], "timestamp": now_ms()}
