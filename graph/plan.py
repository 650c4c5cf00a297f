"""Planning: which nodes some target needs, in which order, and where the cycles are.

Edges are read from the declared inputs of each node (undeclared input keys are
ignored everywhere in the engine). Everything here is iterative, so a 100,000-node
chain neither recurses nor hangs; networkx provides the ordering and the strongly
connected components.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

import networkx as nx

from graph.dynamic_inputs import expand_dynamic_inputs
from graph.error_bounds import MAX_LISTED_IDS, listed_ids
from graph.prompt import is_link, link_index, node_inputs
from graph.schema import NodeSchema

# A link as the planner sees it: (input name, source node id, output index).
Link = tuple[str, str, int]


def describe_cycle(nodes: list[str]) -> str:
    """A readable name for a group of nodes that depend on each other."""
    if len(nodes) == 1:
        return f"node {listed_ids(nodes)} links to itself"
    return f"nodes {listed_ids(nodes)} depend on each other"


class DependencyCycleError(Exception):
    """The nodes to run depend on each other in a loop; `cycles` lists the node ids of each loop."""

    def __init__(self, cycles: list[list[str]]):
        self.cycles = cycles
        shown = "; ".join(describe_cycle(c) for c in cycles[:MAX_LISTED_IDS])
        more = f"; and {len(cycles) - MAX_LISTED_IDS} more cycles" if len(cycles) > MAX_LISTED_IDS else ""
        super().__init__(f"Dependency cycle detected: {shown}{more}")


@dataclass
class Plan:
    """The nodes the targets need, dependencies first."""

    order: list[str]
    # node id -> its links to other nodes in the plan
    links: dict[str, list[Link]]


def node_links(prompt: Mapping, node_id: str, schema: NodeSchema) -> list[Link]:
    """The well-formed links of a node's declared inputs that point at nodes in the prompt."""
    inputs = node_inputs(prompt[node_id])
    links: list[Link] = []
    for spec in expand_dynamic_inputs(schema, inputs).inputs:
        value = inputs.get(spec.name)
        if value is not None and is_link(value) and value[0] in prompt:
            index = link_index(value[1])
            if index is not None:
                links.append((spec.name, value[0], index))
    return links


def needed_nodes(targets: Iterable[str], sources_of: Callable[[str], Iterable[str]]) -> list[str]:
    """Every node reachable from `targets` through `sources_of`, targets included, in discovery order."""
    seen: dict[str, None] = {}
    stack = [t for t in reversed(list(targets))]
    while stack:
        node = stack.pop()
        if node in seen:
            continue
        seen[node] = None
        for source in sources_of(node):
            if source not in seen:
                stack.append(source)
    return list(seen)


def is_acyclic(sources: Mapping[str, Iterable[str]]) -> bool:
    """A quick check (Kahn's algorithm, no graph object) that `sources` has no cycle."""
    pending = {node: 0 for node in sources}
    dependents: dict[str, list[str]] = {}
    for node, srcs in sources.items():
        for src in srcs:
            if src in pending:
                pending[node] += 1
                dependents.setdefault(src, []).append(node)
    ready = [node for node, count in pending.items() if count == 0]
    done = 0
    while ready:
        node = ready.pop()
        done += 1
        for nxt in dependents.get(node, ()):
            pending[nxt] -= 1
            if pending[nxt] == 0:
                ready.append(nxt)
    return done == len(pending)


def _natural(node_id: str) -> tuple:
    """Sort key: numeric ids by value ("2" before "10"), after them the others as text."""
    if node_id.isascii() and node_id.isdigit():
        return (0, len(node_id.lstrip("0")), node_id)
    return (1, 0, node_id)


def find_cycles(sources: Mapping[str, Iterable[str]]) -> list[list[str]]:
    """Each group of nodes that depend on each other (self-loops included), ids in natural order
    ("2" before "10"), the groups ordered by their first id."""
    graph = nx.DiGraph()
    graph.add_nodes_from(sources)
    graph.add_edges_from((src, node) for node, srcs in sources.items() for src in srcs if src in sources)
    cycles = []
    for component in nx.strongly_connected_components(graph):
        if len(component) > 1:
            cycles.append(sorted(component, key=_natural))
        else:
            (only,) = component
            if graph.has_edge(only, only):
                cycles.append([only])
    return sorted(cycles, key=lambda cycle: _natural(cycle[0]))


def topological_order(sources: Mapping[str, Iterable[str]]) -> list[str]:
    """The nodes of `sources` (node -> the nodes it depends on), dependencies first.

    Raises DependencyCycleError naming every cycle.
    """
    graph = nx.DiGraph()
    graph.add_nodes_from(sources)
    graph.add_edges_from((src, node) for node, srcs in sources.items() for src in srcs if src in sources)
    try:
        return list(nx.topological_sort(graph))
    except nx.NetworkXUnfeasible:
        raise DependencyCycleError(find_cycles(sources)) from None


def build_plan(prompt: Mapping, targets: Iterable[str], schema_of: Callable[[str], NodeSchema]) -> Plan:
    """The plan for running `targets` of a shape-checked prompt; `schema_of(class_type)` gives schemas."""
    links: dict[str, list[Link]] = {}

    def sources_of(node_id: str) -> list[str]:
        node_links_ = node_links(prompt, node_id, schema_of(prompt[node_id]["class_type"]))
        links[node_id] = node_links_
        return [src for _, src, _ in node_links_]

    needed_nodes([t for t in targets if t in prompt], sources_of)
    order = topological_order({node: [src for _, src, _ in node_links_] for node, node_links_ in links.items()})
    return Plan(order=order, links=links)
