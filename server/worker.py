"""The worker thread: pops prompts from the durable store and runs them, one at a time.

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
from typing import Protocol

from graph import events as ev
from graph.context import InterruptToken
from graph.schema import Registry

from .ports import ModelUnloader, PromptRunner
from .progress_state import ProgressStateTracker, lazy_node_ids, registry_schema_getter
from .store import CANCELLED, ERROR, INTERRUPTED, SUCCESS, QueueItem, Store
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


class Worker:
    """Runs queued prompts in order on one thread. `start()`, `interrupt()`, `request_free()`, `stop()`."""

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
        self._current: QueueItem | None = None
        self._stopping = False
        # Running prompts a jobs cancel asked to stop: they end in the history as cancelled.
        self._cancelled: set[str] = set()
        self._free_request = {"unload_models": False, "free_memory": False}
        self._thread = threading.Thread(target=self._loop, name="latentgraph-worker", daemon=True)
        self.prompts_done = 0

    # ------------------------------------------------------------------ control
    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> bool:
        """Stop taking prompts; interrupt the running one and put it back in the queue.
        Returns True when the thread ended within `timeout`."""
        self._stopping = True
        self.token.set()
        self.store.wake()
        if self._thread.is_alive():
            self._thread.join(timeout)
        return not self._thread.is_alive()

    @property
    def current_prompt_id(self) -> str | None:
        with self._lock:
            return self._current.prompt_id if self._current else None

    @property
    def current_client_id(self) -> str | None:
        with self._lock:
            return self._current.extra_data.get("client_id") if self._current else None

    def interrupt(self, prompt_id: str | None = None) -> bool:
        """Interrupt the running prompt (only if it is `prompt_id`, when given). Idle: no effect."""
        with self._lock:
            if self._current is None:
                return False
            if prompt_id is not None and prompt_id != self._current.prompt_id:
                return False
            self.token.set()
            return True

    def cancel(self, prompt_id: str) -> bool:
        """Interrupt `prompt_id` if it is running (or was just taken from the queue and is about to
        run), so that it ends as cancelled; False when it is not running."""
        with self._lock:
            current = self._current.prompt_id if self._current else None
            if current != prompt_id and prompt_id not in self.store.running_ids():
                return False
            self._cancelled.add(prompt_id)
            if current == prompt_id:
                self.token.set()
            return True

    def request_free(self, *, unload_models: bool = False, free_memory: bool = False) -> None:
        """Ask for models to be unloaded / caches dropped between prompts (ComfyUI's /free)."""
        with self._lock:
            self._free_request["unload_models"] |= bool(unload_models)
            self._free_request["free_memory"] |= bool(free_memory)
        self.store.wake()

    # ------------------------------------------------------------------ loop
    def _loop(self) -> None:
        while not self._stopping:
            try:
                item = self.store.pop_next(timeout=0.5)
                if item is None or self._stopping:
                    if item is not None:
                        self.store.requeue(item.prompt_id)
                    self._handle_free()
                    continue
                self._run(item)
                self._handle_free()
            except Exception:  # the worker must outlive any single failure
                log.exception("worker loop error; continuing")
                time.sleep(0.1)

    def _run(self, item: QueueItem) -> None:
        client_id = item.extra_data.get("client_id")
        with self._lock:
            self._current = item
            self.token.clear()
            if item.prompt_id in self._cancelled:  # cancelled between leaving the queue and starting
                self.token.set()
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
            result = self.executor.execute(item.prompt, prompt_id=item.prompt_id, outputs=list(item.outputs),
                                           extra_data=extra, sink=sink, interrupt=self.token)
            status = _STATUS_OF_RESULT.get(result.status, ERROR)
            outputs = dict(result.outputs)
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
                self._current = None
            return

        entry = {
            "outputs": outputs,
            "status": {"status_str": "success" if status == SUCCESS else "error",
                       "completed": status == SUCCESS, "messages": messages},
            "meta": {nid: {"node_id": nid, "display_node": nid, "parent_node": None, "real_node_id": nid}
                     for nid in outputs},
        }
        self._store_result(item, status, entry, client_id)
        with self._lock:
            self._current = None
        self.prompts_done += 1
        self.publisher.status()
        self.publisher.event(ev.EXECUTING, {"node": None, "prompt_id": item.prompt_id}, client_id)

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

    def _handle_free(self) -> None:
        with self._lock:
            request = dict(self._free_request)
            self._free_request = {"unload_models": False, "free_memory": False}
        if not (request["unload_models"] or request["free_memory"]):
            return
        try:
            if self.models is not None:
                self.models.unload_models()
            if request["free_memory"]:
                self.executor.reset()
            gc.collect()
        except Exception:
            log.exception("/free failed")


def _executor_error(prompt_id: str, exc: BaseException, prefix: str = "") -> dict:
    return {"prompt_id": prompt_id, "node_id": None, "node_type": None, "executed": [],
            "exception_message": prefix + str(exc), "exception_type": type(exc).__name__,
            "traceback": traceback.format_exception(type(exc), exc, exc.__traceback__),
            "current_inputs": {}, "current_outputs": [], "timestamp": now_ms()}
