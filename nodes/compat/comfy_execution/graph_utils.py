"""ComfyUI's `comfy_execution.graph_utils`: `GraphBuilder` for node expansion, and `is_link`.

A node builds a subgraph and returns `{"result": (node.out(0), ...), "expand": graph.finalize()}`;
latentgraph's executor (graph/expansion.py) runs the subgraph and resolves the links in "result".
Node ids are prefixed so they never clash with the prompt's: without an explicit prefix a
builder made while a node runs takes "<running node id>.<n>." (n counts builders in this process).
"""

from __future__ import annotations

import itertools
from typing import Any

from graph.prompt import is_link
from graph.running import running_node

__all__ = ["GraphBuilder", "Node", "add_graph_prefix", "is_link"]

_BUILDERS = itertools.count()


class Node:
    """One node of a GraphBuilder's graph: `out(i)` is the link to its output i."""

    def __init__(self, id: str, class_type: str, inputs: dict[str, Any]) -> None:  # noqa: A002 - ComfyUI's name
        self.id = id
        self.class_type = class_type
        self.inputs = inputs
        self.override_display_id: str | None = None

    def out(self, index: int) -> list:
        return [self.id, index]

    def set_input(self, key: str, value: Any) -> None:
        if value is None:
            self.inputs.pop(key, None)
        else:
            self.inputs[key] = value

    def get_input(self, key: str) -> Any:
        return self.inputs.get(key)

    def set_override_display_id(self, override_display_id: str) -> None:
        self.override_display_id = override_display_id

    def serialize(self) -> dict:
        serialized: dict[str, Any] = {"class_type": self.class_type, "inputs": dict(self.inputs)}
        if self.override_display_id is not None:
            serialized["override_display_id"] = self.override_display_id
        return serialized


class GraphBuilder:
    """Builds the prompt-format subgraph a node expands into."""

    def __init__(self, prefix: str | None = None) -> None:
        self.prefix = self.alloc_prefix() if prefix is None else prefix
        self.nodes: dict[str, Node] = {}
        self._next_id = 0

    @classmethod
    def alloc_prefix(cls, root: str | None = None, call_index: int | None = None, graph_index: int | None = None) -> str:
        """A prefix unique in this process, rooted at the running node's id when there is one."""
        if root is None:
            context = running_node()
            root = context.node_id if context is not None else "expanded"
        parts = [str(root)]
        if call_index is not None:
            parts.append(str(call_index))
        parts.append(str(next(_BUILDERS) if graph_index is None else graph_index))
        return ".".join(parts) + "."

    @classmethod
    def set_default_prefix(cls, prefix_root: str, call_index: int, graph_index: int = 0) -> None:
        """ComfyUI's executor hook; latentgraph derives prefixes from the running node instead."""

    def node(self, class_type: str, id: str | None = None, **kwargs: Any) -> Node:  # noqa: A002 - ComfyUI's name
        """The node `id` (created with `kwargs` as inputs, or updated with them if it exists)."""
        if id is None:
            id = str(self._next_id)  # noqa: A001
            self._next_id += 1
        full_id = self.prefix + str(id)
        if full_id in self.nodes:
            existing = self.nodes[full_id]
            for key, value in kwargs.items():
                existing.set_input(key, value)
            return existing
        node = Node(full_id, class_type, {k: v for k, v in kwargs.items() if v is not None})
        self.nodes[full_id] = node
        return node

    def lookup_node(self, id: str) -> Node | None:  # noqa: A002
        return self.nodes.get(self.prefix + str(id))

    def remove_node(self, id: str) -> None:  # noqa: A002
        self.nodes.pop(self.prefix + str(id), None)

    def replace_node_output(self, node_id: str, index: int, new_value: Any) -> None:
        """Every input linked to output `index` of `node_id` takes `new_value` instead."""
        full_id = node_id if node_id in self.nodes else self.prefix + str(node_id)
        for node in self.nodes.values():
            for key, value in list(node.inputs.items()):
                if is_link(value) and value[0] == full_id and value[1] == index:
                    node.set_input(key, new_value)

    def finalize(self) -> dict[str, dict]:
        """The graph as the "expand" value of a node's return dict."""
        return {node_id: node.serialize() for node_id, node in self.nodes.items()}


def add_graph_prefix(graph: dict, outputs: list, prefix: str) -> tuple[dict, list]:
    """`graph` and `outputs` with every node id (and every link to one) prefixed by `prefix`."""
    def rename(value: Any) -> Any:
        return [prefix + value[0], value[1]] if is_link(value) and value[0] in graph else value

    renamed = {prefix + node_id: {**node, "inputs": {k: rename(v) for k, v in node.get("inputs", {}).items()}}
               for node_id, node in graph.items()}
    return renamed, [rename(value) for value in outputs]
