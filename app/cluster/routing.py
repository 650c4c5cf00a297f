"""Which worker takes the next prompt: model affinity first, then the cached prefix, then the load.

A prompt names its model files in loader inputs (`ckpt_name`, `lora_name`, `vae_name`, ...). A
free worker that already holds all of them wins; among those (or, when none holds them, among all
free workers) the one that last ran a prompt of the same client with the same upstream graph (its
node-output cache holds that prefix) wins, then the one holding the most of the files, then the
least loaded, then the lowest id. Pure Python, no Ray: the coordinator keeps one `WorkerState` per
worker and updates it as prompts start and finish.

The same rules say which queued prompts a worker will probably run next (`likely_next`): the coordinator
sends their model files with each prompt, so the worker's model manager evicts those last (queue-aware
eviction, as the in-process server does through server/needed_models.py).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

# Loader inputs whose value is a model file name (ComfyUI's input names).
MODEL_INPUTS = ("ckpt_name", "lora_name", "vae_name", "unet_name", "clip_name", "clip_name1", "clip_name2",
                "control_net_name", "model_name", "style_model_name", "gligen_name", "hypernetwork_name",
                "config_name")


def models_of(prompt: Mapping) -> frozenset[str]:
    """The model files a prompt loads, as "input_name:file" (so a LoRA and a checkpoint never clash)."""
    names = set()
    for node in prompt.values():
        inputs = node.get("inputs", {}) if isinstance(node, Mapping) else {}
        for key in MODEL_INPUTS:
            value = inputs.get(key)
            if isinstance(value, str):
                names.add(f"{key.removesuffix('1').removesuffix('2')}:{value}")
    return frozenset(names)


def prefix_signature(prompt: Mapping) -> str:
    """A digest of the prompt's loader and text-encoding nodes: what the next prompt of a client usually shares."""
    shared = {node_id: node for node_id, node in prompt.items()
              if isinstance(node, Mapping) and (set(node.get("inputs", {})) & set(MODEL_INPUTS)
                                                or "text" in node.get("inputs", {}))}
    return hashlib.sha256(json.dumps(shared, sort_keys=True, default=str).encode()).hexdigest()[:16]


@dataclass
class WorkerState:
    """What the coordinator knows of one worker."""

    worker_id: str
    busy: bool = False
    alive: bool = True
    resident: set[str] = field(default_factory=set)       # model files it has loaded
    last_client: str | None = None
    last_prefix: str | None = None
    completed: int = 0

    def started(self, prompt: Mapping, client_id: str | None) -> None:
        self.busy = True
        self.resident |= models_of(prompt)
        self.last_client = client_id
        self.last_prefix = prefix_signature(prompt)

    def finished(self) -> None:
        self.busy = False
        self.completed += 1


def _holds(worker: WorkerState, needed: frozenset[str]) -> bool:
    """True when `worker` has loaded every model file of a prompt that names some."""
    return bool(needed) and needed <= worker.resident


def choose_worker(prompt: Mapping, client_id: str | None, workers: Iterable[WorkerState]) -> WorkerState | None:
    """The free worker that should run `prompt`, or None when every worker is busy or dead."""
    free = [w for w in workers if w.alive and not w.busy]
    if not free:
        return None
    needed = models_of(prompt)
    holding = [w for w in free if _holds(w, needed)]
    pool = holding or free
    prefix = prefix_signature(prompt)

    def rank(worker: WorkerState) -> tuple:
        same_prefix = client_id is not None and worker.last_client == client_id and worker.last_prefix == prefix
        return (not same_prefix, -len(needed & worker.resident), worker.completed, worker.worker_id)

    return min(pool, key=rank)


@dataclass(frozen=True)
class Candidate:
    """A queued prompt as the dispatcher sees it (oldest first)."""

    prompt_id: str
    prompt: Mapping
    client_id: str | None = None


def choose_prompt(worker: WorkerState, queued: Iterable[Candidate], others: Iterable[WorkerState] = (),
                  lookahead: int = 16) -> Candidate | None:
    """The queued prompt a newly free `worker` should take.

    Within the `lookahead` oldest prompts: the oldest whose model files this worker holds; else the
    oldest that no other live worker holds (another worker will be free for its own soon); else the
    oldest. Beyond the lookahead the queue stays first in, first out, so nothing waits for ever.
    """
    window = []
    for candidate in queued:
        window.append(candidate)
        if len(window) >= lookahead:
            break
    if not window:
        return None
    holders = [w for w in others if w.alive and w is not worker]
    for candidate in window:
        if _holds(worker, models_of(candidate.prompt)):
            return candidate
    for candidate in window:
        needed = models_of(candidate.prompt)
        if not any(_holds(w, needed) for w in holders):
            return candidate
    return window[0]


def likely_next(worker: WorkerState, queued: Iterable[Candidate], others: Iterable[WorkerState] = (),
                lookahead: int = 8) -> list[Candidate]:
    """The queued prompts, within the `lookahead` oldest, that `worker` will probably run after its current one:
    those whose model files it holds, and those whose files no other live worker holds (`choose_prompt` gives
    a prompt to a worker holding its files); a prompt held by another worker goes there. Queue order."""
    holders = [w for w in others if w.alive and w is not worker]
    likely = []
    for index, candidate in enumerate(queued):
        if index >= lookahead:
            break
        needed = models_of(candidate.prompt)
        if _holds(worker, needed) or not any(_holds(w, needed) for w in holders):
            likely.append(candidate)
    return likely
