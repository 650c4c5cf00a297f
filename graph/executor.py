"""The executor: runs a validated prompt, taking unchanged outputs from the cache.

`Executor.execute` plans the nodes the requested outputs need, computes their
structural signatures, takes every node whose signature is cached from the cache and
runs the rest dependencies first, emitting ComfyUI's events to a sink. Decisions:

- The interrupt token is checked before each node, before each list-mapped call and in
  `NodeContext.progress`. execute() does not clear it: the caller (the server's worker)
  clears it when a prompt starts, so an interrupt sent while idle does not cancel the
  next prompt (ComfyUI's behaviour) and one sent just before a prompt starts is kept.
- Each node's result is stored in the cache as soon as it is computed, so neither an
  error nor an interrupt loses finished work: a fixed re-queue resumes from there.
- Exceptions raised by nodes never escape `execute`, including BaseExceptions such as
  asyncio.CancelledError; only KeyboardInterrupt and SystemExit propagate (after the
  execution_error event is sent), so that a process can still be stopped.
- Lazy inputs are evaluated only when `check_lazy_status` asks for them; an unrequested
  lazy input reaches the node as None. A lazy input whose source is already cached is
  always available.
- Input keys a node does not declare are not passed to it.
- A node may expand into a subgraph (graph/expansion.py): its new nodes join this run's copy of the
  prompt, are planned, signed and cached like the others, and the node's result is resolved from
  theirs. An ExecutionBlocker output stops the branch below it (graph/blocking.py).

Not thread-safe: one Executor serves one worker.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any

from graph import events
from graph.cache import CacheEntry, OutputCache
from graph.context import InterruptToken
from graph.events import EventSink, null_sink
from graph.expansion import ExpansionError, PendingExpansion, add_expansion, resolve_expansion
from graph.plan import DependencyCycleError, Plan, build_plan, needed_nodes, node_links, topological_order
from graph.run_node import NodeRunner
from graph.schema import NodeSchema, Registry
from graph.signature import compute_signatures, node_signature
from graph.type_table import TypeTable
from graph.validate_node import exception_info

log = logging.getLogger(__name__)


def now_ms() -> int:
    """Wall-clock time in milliseconds, as ComfyUI stamps its events."""
    return int(time.time() * 1000)


@dataclass
class ExecutionResult:
    """What one prompt's execution produced (ComfyUI's history entry material)."""

    status: str  # "success" | "error" | "interrupted"
    outputs: dict[str, dict] = field(default_factory=dict)
    messages: list[tuple[str, dict]] = field(default_factory=list)
    executed: list[str] = field(default_factory=list)
    cached: list[str] = field(default_factory=list)
    error: dict | None = None


class Executor:
    """Runs prompts against a registry, reusing cached outputs across prompts."""

    def __init__(self, registry: Registry, cache: OutputCache | None = None, runtime: Any = None):
        self.registry = registry
        self.cache = cache if cache is not None else OutputCache()
        self.runtime = runtime

    def reset(self) -> None:
        """Drop every cached output."""
        self.cache.clear()

    def _prepare(self, prompt: dict, outputs: list[str]) -> tuple[TypeTable, Plan, dict[str, str]]:
        types = TypeTable(self.registry)
        plan = build_plan(prompt, outputs, types.schema)
        signatures = compute_signatures(prompt, plan.order, plan.links, types)
        return types, plan, signatures

    def preview_plan(self, prompt: dict, outputs: list[str]) -> dict:
        """``{"run": [ids], "cached": [ids]}``: what `execute` would run and take from the cache.

        Lazy inputs are assumed to be requested. Raises DependencyCycleError or
        graph.type_table.UnknownNodeTypeError for a prompt that would not validate.
        """
        _, plan, signatures = self._prepare(prompt, outputs)
        cached = {n for n in plan.order if self.cache.contains(signatures[n])}
        visited, stack = set(), [o for o in outputs if o in prompt]
        while stack:
            node = stack.pop()
            if node in visited:
                continue
            visited.add(node)
            if node not in cached:
                stack.extend(src for _, src, _ in plan.links.get(node, ()))
        return {
            "run": [n for n in plan.order if n in visited and n not in cached],
            "cached": [n for n in plan.order if n in cached],
        }

    def execute(
        self,
        prompt: dict,
        *,
        prompt_id: str,
        outputs: list[str],
        extra_data: dict | None = None,
        sink: EventSink = null_sink,
        interrupt: InterruptToken | None = None,
    ) -> ExecutionResult:
        """Run the nodes `outputs` need (a validated prompt: `ValidationResult.prompt` and `.outputs`)."""
        run = _Run(self, prompt, prompt_id, outputs, extra_data or {}, sink, interrupt or InterruptToken())
        return run.go()


class _Run:
    """The state of one execute() call."""

    def __init__(self, executor: Executor, prompt: dict, prompt_id: str, outputs: list[str], extra_data: dict,
                 sink: EventSink, interrupt: InterruptToken):
        self.executor = executor
        self.prompt = prompt  # replaced by a copy at the first node expansion, which adds nodes to it
        self.prompt_copied = False
        self.prompt_id = prompt_id
        self.targets = list(outputs)
        self.sink = sink
        self.interrupt = interrupt
        self.result = ExecutionResult(status="success")
        self.visited: list[str] = []
        self.runner = NodeRunner(executor.runtime, prompt, prompt_id, extra_data, interrupt, self.emit)

    def emit(self, event: str, data: dict) -> None:
        try:
            self.sink(event, data)
        except Exception:  # a broken client must not break the prompt
            log.exception("event sink failed on %s", event)

    def _message(self, event: str, data: dict) -> None:
        self.result.messages.append((event, data))
        self.emit(event, data)

    def go(self) -> ExecutionResult:
        self._message(events.EXECUTION_START, {"prompt_id": self.prompt_id, "timestamp": now_ms()})
        node_id = None
        try:
            types, plan, signatures = self.executor._prepare(self.prompt, self.targets)
            cache = self.executor.cache
            hits = {}
            for node in plan.order:
                entry = cache.get(signatures[node])
                if entry is not None:
                    hits[node] = entry
            self.result.cached = list(hits)
            self._message(
                events.EXECUTION_CACHED, {"nodes": list(hits), "prompt_id": self.prompt_id, "timestamp": now_ms()}
            )
            scheduler = _Scheduler(self, types, plan, signatures, hits)
            scheduler.run()
        except (KeyboardInterrupt, SystemExit) as exc:
            self._fail(self.runner.current or node_id, exc)
            raise
        except BaseException as exc:  # noqa: B036 - node failures of any kind are reported, never raised
            if isinstance(exc, DependencyCycleError) and exc.cycles:
                node_id = exc.cycles[0][0]
            current = self.runner.current or node_id
            if self.runner.interrupted(exc):
                self._interrupted(current)
            else:
                self._fail(current, exc)
            return self.result
        self._message(events.EXECUTION_SUCCESS, {"prompt_id": self.prompt_id, "timestamp": now_ms()})
        return self.result

    def _node_type(self, node_id: str | None) -> str | None:
        node = self.prompt.get(node_id) if isinstance(node_id, str) else None
        return node.get("class_type") if isinstance(node, dict) else None

    def _interrupted(self, node_id: str | None) -> None:
        self.result.status = "interrupted"
        data = {
            "prompt_id": self.prompt_id,
            "node_id": node_id,
            "node_type": self._node_type(node_id),
            "executed": list(self.visited),
            "timestamp": now_ms(),
        }
        self.result.error = data
        self._message(events.EXECUTION_INTERRUPTED, data)

    def _fail(self, node_id: str | None, exc: BaseException) -> None:
        self.result.status = "error"
        info = exception_info(exc)
        data = {
            "prompt_id": self.prompt_id,
            "node_id": node_id,
            "node_type": self._node_type(node_id),
            "executed": list(self.visited),
            "exception_message": info["exception_message"],
            "exception_type": info["exception_type"],
            "traceback": info["traceback"],
            "current_inputs": self.runner.current_inputs if node_id == self.runner.current else {},
            "current_outputs": list(self.runner.finished),
            "timestamp": now_ms(),
        }
        self.result.error = data
        self._message(events.EXECUTION_ERROR, data)


class _Scheduler:
    """Runs the plan dependencies first with an explicit stack (lazy inputs add edges on demand)."""

    def __init__(self, run: _Run, types: TypeTable, plan: Plan, signatures: dict[str, str], hits: dict[str, CacheEntry]):
        self.run_state = run
        self.types = types
        self.plan = plan
        self.signatures = signatures
        self.hits = hits
        self.results = run.runner.finished
        self.requested: dict[str, set[str]] = {}
        self.pending: dict[str, PendingExpansion] = {}

    def _lazy_names(self, schema: NodeSchema) -> set[str]:
        return {spec.name for spec in schema.inputs if spec.lazy}

    def _missing(self, node: str, lazy: set[str]) -> list[str]:
        requested = self.requested.get(node, set())
        return [
            src
            for name, src, _ in self.plan.links.get(node, ())
            if src not in self.results and (name not in lazy or name in requested)
        ]

    def _take_cached(self, node: str) -> None:
        entry = self.hits[node]
        self.results[node] = entry
        self.run_state.visited.append(node)
        if entry.ui:
            self.run_state.result.outputs[node] = entry.ui
            self.run_state.emit(
                events.EXECUTED,
                {"node": node, "display_node": node, "output": entry.ui, "prompt_id": self.run_state.prompt_id},
            )

    def _available(self, node: str) -> dict[str, CacheEntry]:
        """Finished or cached sources of a node's links."""
        found = {}
        for _, src, _ in self.plan.links.get(node, ()):
            entry = self.results.get(src) or self.hits.get(src)
            if entry is not None:
                found[src] = entry
        return found

    def _expand(self, pending: PendingExpansion) -> None:
        """Adds an expansion's nodes to the prompt, the plan, the signatures and the cache hits."""
        if not self.run_state.prompt_copied:  # the caller's prompt stays as it was
            self.run_state.prompt = self.run_state.runner.prompt = dict(self.run_state.prompt)
            self.run_state.prompt_copied = True
        prompt = self.run_state.prompt
        self.run_state.runner.current = pending.node_id
        pending = add_expansion(prompt, pending.node_id, pending.results,
                                lambda n: self.types(prompt[n]["class_type"])[1].output_node)
        runner = self.run_state.runner
        for new_id in pending.added:
            runner.display[new_id] = runner.display.get(pending.node_id, pending.node_id)
        new_links = {}

        def sources_of(node: str) -> list[str]:
            if node in self.plan.links:
                return []
            new_links[node] = node_links(prompt, node, self.types(prompt[node]["class_type"])[1])
            return [src for _, src, _ in new_links[node]]

        needed_nodes(pending.waits_for, sources_of)
        links = {**self.plan.links, **new_links}
        if pending.node_id in needed_nodes(pending.waits_for, lambda n: [s for _, s, _ in links.get(n, ())]):
            raise ExpansionError(f"node {pending.node_id} expanded into a subgraph that needs the node's own result")
        order = topological_order({n: [src for _, src, _ in node_links_] for n, node_links_ in new_links.items()})
        for node in order:
            node_type, schema = self.types(prompt[node]["class_type"])
            self.signatures[node] = node_signature(node, prompt[node], schema, node_type, new_links[node], self.signatures)
            entry = self.run_state.executor.cache.get(self.signatures[node])
            if entry is not None:
                self.hits[node] = entry
        self.plan.links.update(new_links)
        self.plan.order.extend(order)
        self.pending[pending.node_id] = pending

    def _resolve(self, node: str, schema: NodeSchema) -> bool:
        """Finishes an expanded node once what it waits for is done; False while it still waits."""
        pending = self.pending[node]
        if any(n not in self.results for n in pending.waits_for):
            return False
        self.run_state.runner.current = node
        self._store(node, resolve_expansion(schema, pending, self.results))
        self.run_state.runner.finish(node, self.results[node])
        del self.pending[node]
        return True

    def _store(self, node: str, entry: CacheEntry) -> None:
        self.results[node] = entry
        self.run_state.executor.cache.put(self.signatures[node], entry)
        self.run_state.visited.append(node)
        self.run_state.result.executed.append(node)
        if entry.ui:
            self.run_state.result.outputs[node] = entry.ui

    def run(self) -> None:
        runner = self.run_state.runner
        stack = list(reversed([t for t in self.run_state.targets if t in self.run_state.prompt]))
        while stack:
            node = stack[-1]
            if node in self.results:
                stack.pop()
                continue
            if node in self.hits:
                self._take_cached(node)
                stack.pop()
                continue
            node_type, schema = self.types(self.run_state.prompt[node]["class_type"])
            if node in self.pending:
                if self._resolve(node, schema):
                    stack.pop()
                else:
                    stack.extend(reversed([n for n in self.pending[node].waits_for if n not in self.results]))
                continue
            lazy = self._lazy_names(schema)
            missing = self._missing(node, lazy)
            if missing:
                stack.extend(reversed(missing))
                continue
            links = self.plan.links.get(node, [])
            if lazy:
                unevaluated = {
                    name for name, src, _ in links if name in lazy and src not in self._available(node)
                }
                if unevaluated:
                    asked = runner.lazy_status(node, node_type, schema, links, self._available(node)) & unevaluated
                    if asked - self.requested.get(node, set()):
                        self.requested.setdefault(node, set()).update(asked)
                        continue
            outcome = runner.run(node, node_type, schema, links, self._available(node))
            if isinstance(outcome, PendingExpansion):
                self._expand(outcome)
                continue
            self._store(node, outcome)
            stack.pop()
