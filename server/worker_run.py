"""Running one prompt, outside the worker's loop: what the executor is given, how its events go out, and
the history entry that records the end.

server/worker.py decides which prompt runs where and when; this module holds the per-prompt pieces it
calls: the extra_data the executor sees, the event sink that keeps ComfyUI's status messages and derives
`progress_state` on the way to the Publisher, the history entry, storing it, and telling an
`OutputsListener` (the assets index, wired by server/app.py) of a stored entry's outputs — which the
worker does once the prompt's lane is free, so an output knows its job from the moment the prompt
ends and the listener never holds up the queue. A listener that fails is logged and ignored.
"""

from __future__ import annotations

import logging
import time
import traceback
from collections.abc import Callable
from typing import Protocol

from graph import events as ev

from .progress_state import ProgressStateTracker
from .store import ERROR, SUCCESS, QueueItem, Store
from .ws import OUTPUT_IMAGE

log = logging.getLogger("latentgraph.server.worker")

# Events kept in the history entry's status.messages (ComfyUI's set).
HISTORY_EVENTS = (ev.EXECUTION_START, ev.EXECUTION_CACHED, ev.EXECUTION_SUCCESS, ev.EXECUTION_ERROR,
                  ev.EXECUTION_INTERRUPTED)
# extra_data.preview_method values a prompt may ask for (ComfyUI since Dec 2025); absent, "default" or
# anything else means the server's setting (--preview-method, default none).
PREVIEW_METHODS = ("none", "auto", "latent2rgb", "taesd")
# Output nodes whose progress pictures are their results (ComfyUI's SaveImageWebsocket): published as
# OUTPUT_IMAGE, sent whatever the preview method and never dropped (server/ws.py).
WEBSOCKET_OUTPUT_NODES = frozenset({"SaveImageWebsocket"})

Sink = Callable[[str, dict], None]


class Publisher(Protocol):
    """Where the worker sends events; both methods are called from the worker thread."""

    def event(self, event: str, data: dict, client_id: str | None) -> None: ...

    def status(self) -> None: ...


class NullPublisher:
    def event(self, event: str, data: dict, client_id: str | None) -> None:
        pass

    def status(self) -> None:
        pass


class OutputsListener(Protocol):
    """Told, on the worker thread, of a prompt whose history entry was stored with outputs (a success, or
    an error or interrupt after some output nodes ran): `entry` is the stored history entry."""

    def __call__(self, prompt_id: str, entry: dict) -> None: ...


def now_ms() -> int:
    return int(time.time() * 1000)


def extra_data_for(item: QueueItem, default_extra: dict) -> dict:
    """The extra_data the executor sees: the server's defaults, the prompt's own, its secrets; a
    preview_method the prompt does not name as one of PREVIEW_METHODS is the server's."""
    extra = {**default_extra, **item.extra_data, **item.sensitive}
    if item.extra_data.get("preview_method") not in PREVIEW_METHODS:
        extra.pop("preview_method", None)
        if "preview_method" in default_extra:
            extra["preview_method"] = default_extra["preview_method"]
    return extra


def event_sink(item: QueueItem, progress: ProgressStateTracker, publisher: Publisher, *, previews: bool,
               messages: list[list]) -> Sink:
    """The executor's sink for `item`: history events are kept in `messages` (with a timestamp), previews
    are dropped unless asked for (a websocket output node's are its results), and every event goes to
    `publisher` with the progress_state messages derived from it."""
    client_id = item.extra_data.get("client_id")

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
            publisher.event(name, payload, client_id)

    return sink


def history_entry(status: str, outputs: dict, messages: list[list]) -> dict:
    """ComfyUI's history entry: the outputs' UI dicts, the status with its messages, and per-node meta."""
    return {
        "outputs": outputs,
        "status": {"status_str": "success" if status == SUCCESS else "error",
                   "completed": status == SUCCESS, "messages": messages},
        "meta": {nid: {"node_id": nid, "display_node": nid, "parent_node": None, "real_node_id": nid}
                 for nid in outputs},
    }


def failure_entry(error: dict) -> dict:
    """A history entry with no outputs that records one execution_error."""
    return {"outputs": {}, "meta": {}, "status": {
        "status_str": "error", "completed": False, "messages": [[ev.EXECUTION_ERROR, error]]}}


def store_result(store: Store, publisher: Publisher, item: QueueItem, status: str, entry: dict,
                 client_id: str | None) -> bool:
    """Write the history entry; True when it was stored. If the disk refuses, record a short error entry
    instead (False), and if even that fails leave the row `running` (a restart re-queues it) and go on."""
    try:
        store.finish(item.prompt_id, status, entry)
    except Exception as exc:
        log.exception("could not store the result of prompt %s", item.prompt_id)
        error = executor_error(item.prompt_id, exc, "Could not store the result: ")
        publisher.event(ev.EXECUTION_ERROR, error, client_id)
    else:
        return True
    try:
        store.finish(item.prompt_id, ERROR, failure_entry(error))
    except Exception:
        log.exception("could not store the failure of prompt %s either; it stays marked running", item.prompt_id)
        store.forget_running(item.prompt_id)
    return False


def announce_outputs(on_outputs: OutputsListener | None, prompt_id: str, entry: dict) -> None:
    """Call the listener for an entry with outputs; whatever it raises is logged, never passed on."""
    if on_outputs is None or not entry.get("outputs"):
        return
    try:
        on_outputs(prompt_id, entry)
    except Exception:
        log.exception("the outputs listener failed on prompt %s; the prompt's result is stored", prompt_id)


def executor_error(prompt_id: str, exc: BaseException, prefix: str = "") -> dict:
    """An execution_error payload for a failure outside any node (the executor, the store, a lost runner)."""
    return {"prompt_id": prompt_id, "node_id": None, "node_type": None, "executed": [],
            "exception_message": prefix + str(exc), "exception_type": type(exc).__name__,
            "traceback": traceback.format_exception(type(exc), exc, exc.__traceback__),
            "current_inputs": {}, "current_outputs": [], "timestamp": now_ms()}
