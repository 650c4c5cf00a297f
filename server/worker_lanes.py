"""The worker's lanes: one runner each, what runs on it, and the upkeep between its prompts.

A `Lane` is one runner (the executor, or one runner of a `PromptRunnerPool`) with its interrupt token,
the prompt it runs and the /free request waiting for it. Kept apart from server/worker.py, which runs
the lanes' loops, because the upkeep here — honouring /free between prompts and swapping a runner
the pool lost for a fresh one — touches only the lane and the pool, never the queue or the history.
"""

from __future__ import annotations

import gc
import logging
import threading
from dataclasses import dataclass, field

from graph.context import InterruptToken

from .ports import ModelUnloader, PromptRunner, PromptRunnerPool
from .store import QueueItem

log = logging.getLogger("latentgraph.server.worker")


def no_free_request() -> dict:
    return {"unload_models": False, "free_memory": False}


@dataclass(eq=False)
class Lane:
    """One runner and what runs on it: the prompt, its interrupt token, a pending /free request."""

    name: str
    runner: PromptRunner | None
    token: InterruptToken
    current: QueueItem | None = None
    free_request: dict = field(default_factory=no_free_request)
    thread: threading.Thread | None = None


def is_pool(executor: object) -> bool:
    """True for a PromptRunnerPool (several runners side by side), False for one runner."""
    return callable(getattr(executor, "lane_runners", None)) and callable(getattr(executor, "take", None))


def runner_name(runner: object, fallback: str) -> str:
    """A pool runner's `worker_id` (what logs and /queue name it by), else `fallback`."""
    return str(getattr(runner, "worker_id", fallback))


def take_free_request(lane: Lane, lock: threading.Lock) -> dict:
    """The lane's pending /free request, leaving none pending."""
    with lock:
        request = lane.free_request
        lane.free_request = no_free_request()
    return request


def free_lane(lane: Lane, request: dict, *, pool: PromptRunnerPool | None, models: ModelUnloader | None) -> None:
    """Do a /free request on the lane: unload models (the pool's runner, or `models`), and with
    free_memory drop the runner's node cache too. Failures are logged; the lane goes on."""
    if not (request["unload_models"] or request["free_memory"]) or lane.runner is None:
        return
    try:
        if pool is not None:
            pool.unload_models(lane.runner)
        elif models is not None:
            models.unload_models()
        if request["free_memory"]:
            lane.runner.reset()
        gc.collect()
    except Exception:
        log.exception("/free failed")


def replacement_runner(pool: PromptRunnerPool, lane: Lane, lanes: list[Lane]) -> PromptRunner | None:
    """A fresh runner from the pool for the lane whose runner was lost; None (logged) when none starts."""
    try:
        replacement = pool.replace(lane.runner)
    except Exception:
        log.exception("could not replace runner %s", lane.name)
        replacement = None
    if replacement is None:
        log.error("runner %s was lost and not replaced; %d runner(s) remain", lane.name,
                  sum(1 for other in lanes if other.runner is not None) - 1)
    return replacement
