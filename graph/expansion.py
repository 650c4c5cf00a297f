"""Node expansion (ComfyUI's `{"result": ..., "expand": graph}`): a node that returns a subgraph to run.

A call of a node may return `NodeOutput(values, expand=graph)`, where `graph` is a prompt-format dict
of new nodes (ComfyUI's `GraphBuilder.finalize()`) and `values` may hold links `[node id, index]` to
outputs of those nodes (or of nodes already in the prompt). The executor then:

1. adds the new nodes to the running prompt (`add_expansion`; an id the prompt already has is an
   error, since ids are what links name) and plans and signs them like any other node, so they are
   cached by structure;
2. runs the nodes the links name, plus the new output nodes, dependencies first;
3. replaces each link in `values` by the whole output list it names (`resolve_expansion`): that is
   the expanding node's result, stored in the cache under its own signature, so a later prompt with
   the same inputs takes the result from the cache without expanding again.

A subgraph that links back to the node that expanded it would wait for itself and is refused.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from graph.cache import CacheEntry
from graph.node_call import NodeContractError, merge_ui
from graph.prompt import is_link, link_index
from graph.schema import NodeOutput, NodeSchema


class ExpansionError(Exception):
    """A node's expansion cannot run: a malformed graph, a clashing node id, a link to nothing."""


@dataclass
class PendingExpansion:
    """A node that expanded: its raw call results and what must finish before they resolve."""

    node_id: str
    results: list[NodeOutput]
    added: list[str] = field(default_factory=list)
    waits_for: list[str] = field(default_factory=list)


def add_expansion(prompt: dict, node_id: str, results: list[NodeOutput],
                  is_output_node: Callable[[str], bool]) -> PendingExpansion:
    """Adds the expanded nodes of every call to `prompt` (in place); says what the result waits for."""
    pending = PendingExpansion(node_id, list(results))
    for result in results:
        graph = result.expand
        if not graph:
            continue
        if not isinstance(graph, Mapping):
            raise ExpansionError(f"node {node_id} expanded into a {type(graph).__name__}; expected a dict of nodes")
        for new_id, node in graph.items():
            new_id = str(new_id)
            if new_id in prompt:
                raise ExpansionError(f"node {node_id} expanded into node id {new_id!r}, which the prompt already has; "
                                     "expanded node ids must be new (a GraphBuilder prefixes them)")
            if not isinstance(node, Mapping) or not isinstance(node.get("class_type"), str):
                raise ExpansionError(f"node {node_id} expanded into node {new_id!r} without a class_type")
            inputs = node.get("inputs") or {}
            if not isinstance(inputs, Mapping):
                raise ExpansionError(f"node {node_id} expanded into node {new_id!r} whose inputs are not a dict")
            prompt[new_id] = {"class_type": node["class_type"], "inputs": dict(inputs)}
            pending.added.append(new_id)
    waits: dict[str, None] = {}
    for result in results:
        for value in result.values:
            if is_link(value):
                if value[0] not in prompt:
                    raise ExpansionError(f"node {node_id} returned a link to node {value[0]!r}, "
                                         "which is neither in its expansion nor in the prompt")
                waits[value[0]] = None
    for new_id in pending.added:
        if is_output_node(new_id):
            waits[new_id] = None
    pending.waits_for = list(waits)
    return pending


def resolve_expansion(schema: NodeSchema, pending: PendingExpansion, finished: Mapping[str, CacheEntry]) -> CacheEntry:
    """The expanding node's result: each link in its values replaced by the output list it names."""
    outputs: list[list] = [[] for _ in schema.outputs]
    ui: dict[str, list] = {}
    for result in pending.results:
        values = tuple(result.values) or (None,) * len(outputs)
        if len(values) != len(outputs):
            raise NodeContractError(f"node {schema.class_type} returned {len(values)} value(s) "
                                    f"but declares {len(outputs)} output(s)")
        for slot, (spec, value) in enumerate(zip(schema.outputs, values, strict=True)):
            if is_link(value) and value[0] in finished:
                source, index = finished[value[0]], link_index(value[1])
                if index is None or not 0 <= index < len(source.outputs):
                    raise ExpansionError(f"node {pending.node_id} returned a link to output {value[1]!r} of node "
                                         f"{value[0]!r}, which has {len(source.outputs)} output(s)")
                outputs[slot].extend(source.outputs[index])
            elif spec.is_list and isinstance(value, (list, tuple)):
                outputs[slot].extend(value)
            else:
                outputs[slot].append(value)
        merge_ui(ui, result.ui)
    return CacheEntry(outputs=tuple(outputs), ui=ui or None)
