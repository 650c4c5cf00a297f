"""The coordinator's pool of Ray workers behind the server's durable queue (`serve --ray`).

`RayRunnerPool` is a `PromptRunnerPool` (server/ports.py): the server's worker runs one loop per
runner, and each loop, when its worker is free, asks `take` which queued prompt to run; `take` routes
with `routing.choose_prompt` (model affinity, then the client's cached prefix, then first in, first
out) and marks the worker busy under the store's lock; it also gives the runner the model files of the queued
prompts that worker will probably run next (`routing.likely_next`), which go with the prompt to the worker's
model manager (queue-aware eviction). A worker whose process died is replaced by a
fresh actor (`replace`). `describe` is what /system_stats lists.

Each worker has a slot (0..N-1) and its actor a name in the pool's Ray namespace, `<prefix><slot>-<generation>`
(a replacement takes the slot's next generation). When the coordinator joined a cluster it did not start
the actors are detached, and `serve` derives the prefix from its database, so a coordinator restarted on
the same base directory finds the actors it or its predecessor left (`list_named_actors`), stops the
prompt each still ran for the dead one (the durable queue re-queued it) and goes on with them and their
model caches; actors of its names it cannot use (older generations, slots beyond N, one built from other
engine flags or that does not stop) are ended, and an empty slot gets a fresh actor. Ray is imported only here and in actor.py/runner.py.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from app.cluster.actor import engine_signature, remote_worker_class
from app.cluster.routing import Candidate, WorkerState, choose_prompt, choose_worker, likely_next
from app.cluster.runner import RayPromptRunner
from server.needed_models import MAX_PROMPTS, model_files_named

log = logging.getLogger("latentgraph.cluster")
_SLOT_NAME = re.compile(r"(\d+)-(\d+)")  # what follows the prefix in an actor's name: <slot>-<generation>


@dataclass(frozen=True)
class ActorSpec:
    """How worker actors are started: the engine flags (as for `serve`), resources, names, outputs."""

    engine_args: Any                 # an argparse.Namespace of the engine flags, or an argv list
    num_gpus: float = 0
    num_cpus: float = 1
    namespace: str = "latentgraph"
    prefix: str = "latentgraph-w"    # actor names are <prefix><slot>-<generation>; serve derives it from the database
    detached: bool = False           # outlive the coordinator (joined clusters), so a restart reattaches
    deliver_to: Mapping[str, str] | None = None  # the coordinator's output/temp folders; None: shared with workers
    settle_seconds: float = 30.0     # how long a reattached worker may take to stop its orphaned prompt


class RayRunnerPool:
    def __init__(self, spec: ActorSpec, count: int) -> None:
        if count < 1:
            raise ValueError(f"a Ray pool needs at least one worker, got {count}")
        self.spec = spec
        self._actor_class = remote_worker_class(num_gpus=spec.num_gpus, num_cpus=spec.num_cpus)
        self._lock = threading.Lock()
        self._runners: list[RayPromptRunner] = []
        self._states: dict[str, WorkerState] = {}
        self._running: dict[str, str] = {}  # worker id -> prompt id
        self._slot_of: dict[str, int] = {}  # worker id -> slot
        self._generation: dict[int, int] = {}  # slot -> the generation its next fresh actor gets
        self.replaced = 0
        self.reattached: list[str] = []
        found = self._named_actors()
        for slot in sorted(set(found) - set(range(count))):  # a predecessor ran more workers: end the rest
            for _, name in found[slot]:
                self._kill_named(name)
        for slot in range(count):
            if self._reattach(slot, found.get(slot, [])) is None:
                self._start(slot)

    # ------------------------------------------------------------------ workers
    def _named_actors(self) -> dict[int, list[tuple[int, str]]]:
        """The live actors of this pool's names in its namespace (a predecessor's): slot -> [(generation, name)]."""
        import ray.util

        try:
            entries = ray.util.list_named_actors(all_namespaces=True)
        except Exception:
            log.exception("could not list the named Ray actors; starting fresh workers")
            return {}
        found: dict[int, list[tuple[int, str]]] = {}
        for entry in entries:
            name = entry.get("name", "")
            if entry.get("namespace") != self.spec.namespace or not name.startswith(self.spec.prefix):
                continue
            match = _SLOT_NAME.fullmatch(name[len(self.spec.prefix):])
            if match:
                found.setdefault(int(match[1]), []).append((int(match[2]), name))
        return found

    def _kill_named(self, name: str) -> None:
        import ray

        try:
            ray.kill(ray.get_actor(name, namespace=self.spec.namespace), no_restart=True)
            log.info("ended Ray worker %s, which this coordinator does not use", name)
        except Exception:  # gone already
            pass

    def _reattach(self, slot: int, named: list[tuple[int, str]]) -> RayPromptRunner | None:
        """Go on with the newest live actor a predecessor left in `slot` (its caches kept), once it has stopped
        the prompt it ran for the dead coordinator; the others of the slot, and one that stays busy, are ended."""
        import ray

        if named:
            self._generation[slot] = max(generation for generation, _ in named) + 1
        chosen: tuple[Any, str] | None = None
        for _, name in sorted(named, reverse=True):
            try:
                actor = ray.get_actor(name, namespace=self.spec.namespace)
            except ValueError:  # ended meanwhile
                continue
            if chosen is None:
                try:
                    settled = actor.settle.remote(self.spec.settle_seconds, engine_signature(self.spec.engine_args))
                    if ray.get(settled, timeout=self.spec.settle_seconds + 30):
                        chosen = (actor, name)
                        continue
                    log.warning("Ray worker %s was built from other engine flags or did not stop its orphaned "
                                "prompt; replacing it", name)
                except Exception as exc:
                    log.warning("Ray worker %s does not answer (%s); replacing it", name, type(exc).__name__)
            try:
                ray.kill(actor, no_restart=True)
            except Exception:
                pass
        if chosen is None:
            return None
        log.info("reattached Ray worker %s", chosen[1])
        self.reattached.append(chosen[1])
        return self._register(slot, *chosen)

    def _start(self, slot: int) -> RayPromptRunner:
        """A fresh actor for `slot`, under the slot's next generation name."""
        import ray

        with self._lock:
            generation = self._generation.get(slot, 0)
            self._generation[slot] = generation + 1
        worker_id = f"{self.spec.prefix}{slot}-{generation}"
        options: dict[str, Any] = {"name": worker_id, "namespace": self.spec.namespace}
        if self.spec.detached:
            options["lifetime"] = "detached"
        actor = self._actor_class.options(**options).remote(worker_id, self.spec.engine_args)
        ray.get(actor.describe.remote())  # placed, and its engine built
        return self._register(slot, actor, worker_id)

    def _register(self, slot: int, actor: Any, worker_id: str) -> RayPromptRunner:
        runner = RayPromptRunner(actor, worker_id, self.spec.deliver_to)
        with self._lock:
            self._runners.append(runner)
            self._states[worker_id] = WorkerState(worker_id)
            self._slot_of[worker_id] = slot
        return runner

    def lane_runners(self) -> list[RayPromptRunner]:
        with self._lock:
            return list(self._runners)

    def replace(self, runner: RayPromptRunner) -> RayPromptRunner | None:
        """Drop a worker whose process died and start a fresh one in its place (None when that fails)."""
        import ray

        with self._lock:
            state = self._states.pop(runner.worker_id, None)
            if state is not None:
                state.alive = False
            self._running.pop(runner.worker_id, None)
            slot = self._slot_of.pop(runner.worker_id, 0)
            if runner in self._runners:
                self._runners.remove(runner)
        try:
            ray.kill(runner.actor, no_restart=True)
        except Exception:  # already gone
            pass
        try:
            fresh = self._start(slot)
        except Exception:
            log.exception("could not start a worker to replace %s", runner.worker_id)
            return None
        self.replaced += 1
        log.warning("worker %s was lost; %s replaces it", runner.worker_id, fresh.worker_id)
        return fresh

    def shutdown(self, *, kill: bool = True) -> None:
        """Forget the workers; with `kill` end their actors (detached ones otherwise stay for a restart)."""
        import ray

        with self._lock:
            runners, self._runners = list(self._runners), []
        if kill:
            for runner in runners:
                try:
                    ray.kill(runner.actor, no_restart=True)
                except Exception:
                    pass

    # ------------------------------------------------------------------ routing (PromptRunnerPool)
    def take(self, runner: RayPromptRunner, pending: Sequence) -> Any | None:
        with self._lock:
            state = self._states.get(runner.worker_id)
            if state is None or not state.alive or state.busy or not pending:
                return None
            by_id = {item.prompt_id: item for item in pending}
            candidates = [Candidate(item.prompt_id, item.prompt, item.extra_data.get("client_id")) for item in pending]
            chosen = choose_prompt(state, candidates, list(self._states.values()))
            if chosen is None:
                return None
            state.started(chosen.prompt, chosen.client_id)
            self._running[runner.worker_id] = chosen.prompt_id
            likely = likely_next(state, [c for c in candidates if c is not chosen], list(self._states.values()),
                                 MAX_PROMPTS)
            runner.needed_soon = model_files_named(c.prompt for c in likely)
            return by_id[chosen.prompt_id]

    def finished(self, runner: RayPromptRunner) -> None:
        with self._lock:
            state = self._states.get(runner.worker_id)
            if state is not None and state.busy:
                state.finished()
            self._running.pop(runner.worker_id, None)

    # ------------------------------------------------------------------ the rest of PromptRunner
    def execute(self, *args: Any, **kwargs: Any) -> Any:
        raise TypeError("a RayRunnerPool runs prompts through its lane runners (server/worker.py), not execute()")

    def preview_plan(self, prompt: dict, outputs: list[str]) -> dict:
        """The plan on the worker routing would pick if all were free (its cache decides what is cached)."""
        with self._lock:
            states = [WorkerState(s.worker_id, resident=set(s.resident), last_client=s.last_client,
                                  last_prefix=s.last_prefix, completed=s.completed)
                      for s in self._states.values()]
            runners = {runner.worker_id: runner for runner in self._runners}
        chosen = choose_worker(prompt, None, states)
        if chosen is None:
            raise RuntimeError("no Ray worker is alive to plan the prompt")
        return runners[chosen.worker_id].preview_plan(prompt, outputs)

    def reset(self) -> None:
        for runner in self.lane_runners():
            runner.reset()

    def unload_models(self, runner: RayPromptRunner) -> bool:
        import ray

        with self._lock:
            state = self._states.get(runner.worker_id)
            if state is not None:
                state.resident.clear()
        return bool(ray.get(runner.actor.unload_models.remote()))

    def describe(self, timeout: float = 2.0) -> list[dict]:
        """Each worker: id, alive, the prompt it runs, prompts done, and its own report (pid, device,
        resident models), or `error` when it does not answer within `timeout`."""
        import ray

        with self._lock:
            rows = [(runner, self._states.get(runner.worker_id), self._running.get(runner.worker_id))
                    for runner in self._runners]
        answer = []
        for runner, state, prompt_id in rows:
            row: dict[str, Any] = {"worker_id": runner.worker_id, "alive": bool(state and state.alive),
                                   "busy_prompt": prompt_id, "completed": state.completed if state else 0}
            try:
                report: Mapping = ray.get(runner.actor.describe.remote(), timeout=timeout)
                row.update({k: v for k, v in report.items() if k != "worker_id"})
            except Exception as exc:  # dead, or busy beyond its threads: say so, list it anyway
                row["error"] = f"{type(exc).__name__}: {exc}"[:300]
            answer.append(row)
        return answer
