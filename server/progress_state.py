"""ComfyUI's `progress_state` WebSocket events, derived from the executor's events.

graph/ reports `executing`, `progress`, `executed`, `execution_cached`, `execution_success`
and `execution_error`; the editor also wants one `progress_state` message per node state
change: `{prompt_id, nodes: {id: {value, max, state, node_id, prompt_id, display_node_id,
parent_node_id, real_node_id}}}` listing every node that is no longer pending.
`ProgressStateTracker.translate(event, data)` returns the events to publish, in order:
the original event plus the progress_state messages it implies, placed where ComfyUI
sends them (a node's start before its `executing`, an update before its `progress`, a
finish after its `executed`).

Decisions:
- A node is finished when it sent `executed`, when another node starts that it does not
  wait for, or when the prompt succeeds. A node with lazy inputs that announced itself and
  is waiting for an upstream node (`executing` of one of its ancestors) stays running.
- Cached nodes (`execution_cached`) are all reported finished in one message right after it.
- The failing node of an `execution_error` is reported with state "error".
- Only the last `MAX_FINISHED_LISTED` finished nodes are listed (running and failed nodes
  always are), so a prompt of thousands of nodes does not send quadratic amounts of data.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from graph import events as ev
from graph.schema import NodeSchema, Registry

PROGRESS_STATE = "progress_state"
RUNNING, FINISHED, ERROR = "running", "finished", "error"
MAX_FINISHED_LISTED = 200


class ProgressStateTracker:
    """Node states of one prompt; `translate` is called with every executor event, in order."""

    def __init__(self, prompt_id: str, prompt: dict | None = None, lazy_nodes: Iterable[str] = ()) -> None:
        self.prompt_id = prompt_id
        self.prompt = prompt if isinstance(prompt, dict) else {}
        self.lazy_nodes = set(lazy_nodes)
        # node id -> {"value", "max", "state"}; insertion order = order of the last change.
        self.nodes: dict[str, dict[str, Any]] = {}

    # ------------------------------------------------------------------ events
    def translate(self, event: str, data: dict) -> list[tuple[str, dict]]:
        """The events to publish for one executor event: itself plus the progress_state it implies."""
        if event == ev.EXECUTION_CACHED:
            cached = [n for n in data.get("nodes") or () if isinstance(n, str)]
            for node in cached:
                self._set(node, FINISHED, 1.0, 1.0)
            return [(event, data)] + ([self._message()] if cached else [])
        if event == ev.EXECUTING:
            node = data.get("node")
            if not isinstance(node, str):
                return [(event, data)]
            finished = [self._message()] if self._finish_all(waiting_for=node) else []
            self._set(node, RUNNING, 0.0, 1.0)
            return [*finished, self._message(), (event, data)]
        if event == ev.PROGRESS:
            node = data.get("node")
            if not isinstance(node, str):
                return [(event, data)]
            self._set(node, RUNNING, _number(data.get("value"), 0), _number(data.get("max"), 1))
            return [self._message(), (event, data)]
        if event == ev.EXECUTED:
            node = data.get("node")
            if isinstance(node, str) and self.nodes.get(node, {}).get("state") == RUNNING:
                self._set(node, FINISHED)
                return [(event, data), self._message()]
            return [(event, data)]
        if event == ev.EXECUTION_SUCCESS:
            finished = [self._message()] if self._finish_all() else []
            return [*finished, (event, data)]
        if event == ev.EXECUTION_ERROR:
            node = data.get("node_id")
            if isinstance(node, str):
                entry = self.nodes.get(node, {})
                self._set(node, ERROR, entry.get("value", 0.0), entry.get("max", 1.0))
                return [self._message(), (event, data)]
        return [(event, data)]

    # ------------------------------------------------------------------ state
    def _set(self, node: str, state: str, value: float | None = None, maximum: float | None = None) -> None:
        entry = self.nodes.pop(node, {"value": 0.0, "max": 1.0, "state": state})
        if maximum is not None:
            entry["max"] = maximum
        entry["value"] = entry["max"] if state == FINISHED and value is None else (
            value if value is not None else entry["value"])
        entry["state"] = state
        self.nodes[node] = entry

    def _finish_all(self, waiting_for: str | None = None) -> list[str]:
        """Mark running nodes finished (except those waiting for `waiting_for`); the ones changed."""
        changed = []
        for node, entry in list(self.nodes.items()):
            if entry["state"] != RUNNING or node == waiting_for:
                continue
            if waiting_for is not None and node in self.lazy_nodes and depends_on(self.prompt, node, waiting_for):
                continue
            self._set(node, FINISHED)
            changed.append(node)
        return changed

    def snapshot(self) -> dict[str, dict[str, Any]]:
        """The `nodes` field: every non-pending node (finished ones capped at MAX_FINISHED_LISTED)."""
        finished = [n for n, e in self.nodes.items() if e["state"] == FINISHED]
        hidden = set(finished[:-MAX_FINISHED_LISTED]) if len(finished) > MAX_FINISHED_LISTED else set()
        return {node: {"value": entry["value"], "max": entry["max"], "state": entry["state"], "node_id": node,
                       "prompt_id": self.prompt_id, "display_node_id": node, "parent_node_id": None,
                       "real_node_id": node}
                for node, entry in self.nodes.items() if node not in hidden}

    def _message(self) -> tuple[str, dict]:
        return PROGRESS_STATE, {"prompt_id": self.prompt_id, "nodes": self.snapshot()}


def _number(value: Any, default: float) -> float:
    return value if isinstance(value, (int, float)) and not isinstance(value, bool) else default


def depends_on(prompt: dict, node: str, source: str) -> bool:
    """True when `source` is an ancestor of `node` through the prompt's links."""
    seen, stack = {node}, [node]
    while stack:
        current = prompt.get(stack.pop())
        inputs = current.get("inputs") if isinstance(current, dict) else None
        for value in (inputs or {}).values() if isinstance(inputs, dict) else ():
            if isinstance(value, list) and len(value) == 2 and isinstance(value[0], str):
                if value[0] == source:
                    return True
                if value[0] not in seen:
                    seen.add(value[0])
                    stack.append(value[0])
    return False


def lazy_node_ids(prompt: dict, schema_of: Callable[[str], NodeSchema] | None) -> set[str]:
    """Ids of the prompt's nodes whose type declares a lazy input (`schema_of(class_type)` -> NodeSchema)."""
    if schema_of is None or not isinstance(prompt, dict):
        return set()
    lazy_types: dict[str, bool] = {}
    found = set()
    for node_id, node in prompt.items():
        class_type = node.get("class_type") if isinstance(node, dict) else None
        if not isinstance(class_type, str):
            continue
        if class_type not in lazy_types:
            try:
                schema = schema_of(class_type)
                lazy_types[class_type] = any(spec.lazy for spec in schema.inputs)
            except Exception:  # an unknown type cannot be lazy; the executor reports it
                lazy_types[class_type] = False
        if lazy_types[class_type]:
            found.add(node_id)
    return found


def registry_schema_getter(registry: Registry) -> Callable[[str], NodeSchema]:
    """`class_type -> NodeSchema` from a graph.schema.Registry (KeyError for an unknown type)."""

    def schema_of(class_type: str) -> NodeSchema:
        node_type = registry.get(class_type)
        if node_type is None:
            raise KeyError(class_type)
        return node_type.schema()

    return schema_of
