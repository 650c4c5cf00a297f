"""Reading one level of a UI-format workflow (the root graph or a subgraph definition).

The editor saves nodes with input/output slots and a link table. Version 0.4 stores
links as arrays ``[id, origin_id, origin_slot, target_id, target_slot, type]``;
version 1 and subgraph definitions store objects ``{id, origin_id, origin_slot,
target_id, target_slot, type}`` (as a list, or a map keyed by id). This module checks
the shapes and normalises both into small read-only records; ids become strings
(``12`` and ``"12"`` are the same node). Every shape error is a `WorkflowError`
naming the node and the JSON position.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, NamedTuple

from graph.workflow_error import WorkflowError

# LiteGraph node modes.
MODE_ALWAYS = 0
MODE_NEVER = 2  # "muted"
MODE_BYPASS = 4

# Subgraph boundary pseudo-nodes (ComfyUI_frontend litegraph constants).
SUBGRAPH_INPUT_ID = "-10"
SUBGRAPH_OUTPUT_ID = "-20"


class UIInputSlot(NamedTuple):
    name: str
    type: str
    link: str | None
    widget_name: str | None = None


class UIOutputSlot(NamedTuple):
    name: str
    type: str


class UILink(NamedTuple):
    id: str
    origin_id: str
    origin_slot: int
    target_id: str
    target_slot: int
    type: str


@dataclass(slots=True)
class UINode:
    id: str
    type: str
    mode: int
    title: str | None
    inputs: list[UIInputSlot]
    outputs: list[UIOutputSlot]
    widgets_values: list | dict | None
    widgets_values_named: dict | None
    where: str


@dataclass
class UIGraph:
    """One graph level: nodes in document order and the link table."""

    where: str
    nodes: dict[str, UINode] = field(default_factory=dict)
    links: dict[str, UILink] = field(default_factory=dict)
    links_from: dict[str, list[UILink]] = field(default_factory=dict)


def id_key(value: Any, what: str) -> str:
    """Normalise a node or link id (int, integral float or string) to its string form."""
    if isinstance(value, bool) or value is None:
        raise WorkflowError(f"{what} must be a number or a string, not {value!r}")
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, str) and value:
        return value
    raise WorkflowError(f"{what} must be a number or a string, not {value!r}")


def _slot_index(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or int(value) != value:
        raise WorkflowError(f"{what} must be a whole number, not {value!r}")
    return int(value)


def _type_name(value: Any) -> str:
    # Slot types are strings; LiteGraph uses -1/-2 for events and 0 for "any".
    if isinstance(value, str):
        return value
    if value in (None, 0):
        return "*"
    return str(value)


def _parse_inputs(raw: Any, where: str, node_id: str) -> list[UIInputSlot]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise WorkflowError(f"{where}: 'inputs' must be an array", node_id=node_id)
    slots = []
    for i, slot in enumerate(raw):
        at = f"{where} inputs[{i}]"
        if not isinstance(slot, dict):
            raise WorkflowError(f"{at} must be an object", node_id=node_id)
        name = slot.get("name")
        if not isinstance(name, str):
            raise WorkflowError(f"{at} has no 'name' string", node_id=node_id)
        link = slot.get("link")
        link_id = None if link is None else id_key(link, f"{at} ('{name}') link")
        widget = slot.get("widget")
        widget_name = None
        if isinstance(widget, dict) and isinstance(widget.get("name"), str):
            widget_name = widget["name"]
        slots.append(UIInputSlot(name, _type_name(slot.get("type")), link_id, widget_name))
    return slots


def _parse_outputs(raw: Any, where: str, node_id: str) -> list[UIOutputSlot]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise WorkflowError(f"{where}: 'outputs' must be an array", node_id=node_id)
    slots = []
    for i, slot in enumerate(raw):
        if not isinstance(slot, dict):
            raise WorkflowError(f"{where} outputs[{i}] must be an object", node_id=node_id)
        name = slot.get("name")
        slots.append(UIOutputSlot(name if isinstance(name, str) else "", _type_name(slot.get("type"))))
    return slots


def parse_node(raw: Any, index: int, where: str) -> UINode:
    """Check and normalise one saved node (`where` names the graph, e.g. ``workflow``)."""
    at = f"{where} nodes[{index}]"
    if not isinstance(raw, dict):
        raise WorkflowError(f"{at} must be an object, not {type(raw).__name__}")
    if "id" not in raw:
        raise WorkflowError(f"{at} has no 'id'")
    node_id = id_key(raw["id"], f"{at} id")
    at = f"{where} node {node_id} (nodes[{index}])"
    node_type = raw.get("type")
    if not isinstance(node_type, str) or not node_type:
        raise WorkflowError(f"{at} has no 'type' string", node_id=node_id)
    mode = raw.get("mode", MODE_ALWAYS)
    if isinstance(mode, bool) or not isinstance(mode, int):
        raise WorkflowError(f"{at}: 'mode' must be an integer, not {mode!r}", node_id=node_id)
    title = raw.get("title")
    values = raw.get("widgets_values")
    if values is not None and not isinstance(values, (list, dict)):
        raise WorkflowError(f"{at}: 'widgets_values' must be an array, not {type(values).__name__}", node_id=node_id)
    named = raw.get("widgets_values_named")
    return UINode(
        id=node_id,
        type=node_type,
        mode=mode,
        title=title if isinstance(title, str) and title else None,
        inputs=_parse_inputs(raw.get("inputs"), at, node_id),
        outputs=_parse_outputs(raw.get("outputs"), at, node_id),
        widgets_values=values,
        widgets_values_named=named if isinstance(named, dict) else None,
        where=at,
    )


def parse_link(raw: Any, at: str) -> UILink:
    """One link: a 0.4 array ``[id, origin, origin_slot, target, target_slot, type]`` or a v1 object."""
    if isinstance(raw, list):
        if len(raw) < 5:
            raise WorkflowError(f"{at} must have 6 items [id, origin_id, origin_slot, target_id, target_slot, type]")
        link_id, origin, origin_slot, target, target_slot = raw[:5]
        link_type = raw[5] if len(raw) > 5 else "*"
    elif isinstance(raw, dict):
        missing = [k for k in ("id", "origin_id", "origin_slot", "target_id", "target_slot") if k not in raw]
        if missing:
            raise WorkflowError(f"{at} is missing {', '.join(missing)}")
        link_id, origin, origin_slot = raw["id"], raw["origin_id"], raw["origin_slot"]
        target, target_slot, link_type = raw["target_id"], raw["target_slot"], raw.get("type", "*")
    else:
        raise WorkflowError(f"{at} must be an array or an object, not {type(raw).__name__}")
    return UILink(
        id=id_key(link_id, f"{at} id"),
        origin_id=id_key(origin, f"{at} origin_id"),
        origin_slot=_slot_index(origin_slot, f"{at} origin_slot"),
        target_id=id_key(target, f"{at} target_id"),
        target_slot=_slot_index(target_slot, f"{at} target_slot"),
        type=_type_name(link_type),
    )


def parse_graph(doc: dict, where: str) -> UIGraph:
    """Normalise the nodes and links of one graph level (root workflow or subgraph definition)."""
    graph = UIGraph(where=where)
    nodes = doc.get("nodes", [])
    if not isinstance(nodes, list):
        raise WorkflowError(f"{where}: 'nodes' must be an array, not {type(nodes).__name__}")
    for index, raw in enumerate(nodes):
        node = parse_node(raw, index, where)
        if node.id in graph.nodes:
            raise WorkflowError(f"{where}: node id {node.id} is used twice (nodes[{index}])", node_id=node.id)
        graph.nodes[node.id] = node
    links = doc.get("links", [])
    if links is None:
        links = []
    if isinstance(links, dict):
        entries = [(f"{where} links[{k!r}]", v) for k, v in links.items()]
    elif isinstance(links, list):
        entries = [(f"{where} links[{i}]", v) for i, v in enumerate(links)]
    else:
        raise WorkflowError(f"{where}: 'links' must be an array, not {type(links).__name__}")
    for at, raw in entries:
        if raw is None:  # LiteGraph leaves holes for deleted links in some old files
            continue
        link = parse_link(raw, at)
        graph.links[link.id] = link
        graph.links_from.setdefault(link.origin_id, []).append(link)
    return graph
