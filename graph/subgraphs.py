"""Subgraphs in UI workflows: reading the definitions and expanding instances.

A workflow may define reusable subgraphs in ``definitions.subgraphs``; each has an
``id`` (a UUID), a ``name``, its own ``nodes`` and ``links`` (link objects), and
``inputs``/``outputs`` lists. Inside a definition, links leaving the boundary input
node carry ``origin_id`` -10 and ``origin_slot`` = the subgraph input index; links into
the boundary output node carry ``target_id`` -20 and ``target_slot`` = the output index.
A node whose ``type`` is a definition id is an instance of it.

`expand_workflow` flattens the whole document into `ExecNode` records keyed by
ComfyUI's execution ids: the instance ids from the root down, then the node id,
joined by colons (``"12:5"``, nested ``"12:5:3"``). Instances that are muted or
bypassed are not expanded (their inner nodes do not run).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from graph.ui_graph import (
    MODE_BYPASS,
    MODE_NEVER,
    SUBGRAPH_INPUT_ID,
    UIGraph,
    UIInputSlot,
    UINode,
    UIOutputSlot,
    parse_graph,
)
from graph.widget_layout import looks_like_control_value
from graph.workflow_error import WorkflowError

MAX_SUBGRAPH_NESTING = 32
MAX_EXPANDED_NODES = 500_000


@dataclass
class SubgraphDefinition:
    id: str
    name: str
    graph: UIGraph
    inputs: list[UIOutputSlot]
    outputs: list[UIOutputSlot]

    @property
    def label(self) -> str:
        return f"subgraph '{self.name}' ({self.id})"


@dataclass
class ExecNode:
    """One node of the flattened document, real or virtual, with what resolving links needs."""

    id: str
    node: UINode
    graph: UIGraph
    # Execution-id prefix of the graph this node lives in (the instance path from the root).
    prefix: tuple[str, ...]
    parent: ExecNode | None
    definition: SubgraphDefinition | None = None
    input_slots: list[UIInputSlot] = field(default_factory=list)
    output_types: list[str] = field(default_factory=list)
    # Subgraph instances: values of promoted widgets by subgraph input name.
    promoted: dict[str, Any] = field(default_factory=dict)

    def sibling_id(self, node_id: str) -> str:
        """Execution id of another node of the same graph."""
        return ":".join((*self.prefix, node_id))


def _parse_io(raw: Any, where: str) -> list[UIOutputSlot]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise WorkflowError(f"{where} must be an array")
    slots = []
    for i, item in enumerate(raw):
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            raise WorkflowError(f"{where}[{i}] must be an object with a 'name'")
        slot_type = item.get("type")
        slots.append(UIOutputSlot(item["name"], slot_type if isinstance(slot_type, str) else "*"))
    return slots


def _definition_list(doc: dict, where: str) -> list:
    definitions = doc.get("definitions")
    if definitions is None:
        return []
    if not isinstance(definitions, dict):
        raise WorkflowError(f"{where}: 'definitions' must be an object")
    subgraphs = definitions.get("subgraphs", [])
    if not isinstance(subgraphs, list):
        raise WorkflowError(f"{where}: 'definitions.subgraphs' must be an array")
    return subgraphs


def collect_definitions(workflow: dict) -> dict[str, SubgraphDefinition]:
    """All subgraph definitions of a workflow by id (root list and lists nested in definitions)."""
    found: dict[str, SubgraphDefinition] = {}
    pending = [(raw, f"definitions.subgraphs[{i}]", 0) for i, raw in enumerate(_definition_list(workflow, "workflow"))]
    while pending:
        raw, where, depth = pending.pop(0)
        if depth > MAX_SUBGRAPH_NESTING:
            raise WorkflowError(f"{where}: subgraph definitions nest more than {MAX_SUBGRAPH_NESTING} levels")
        if not isinstance(raw, dict):
            raise WorkflowError(f"{where} must be an object")
        sub_id = raw.get("id")
        if not isinstance(sub_id, str) or not sub_id:
            raise WorkflowError(f"{where} has no 'id' string")
        name = raw.get("name") if isinstance(raw.get("name"), str) else sub_id
        label = f"subgraph '{name}' ({sub_id})"
        if sub_id in found:
            continue  # the editor writes each definition once; tolerate repeats
        found[sub_id] = SubgraphDefinition(
            id=sub_id,
            name=name,
            graph=parse_graph(raw, label),
            inputs=_parse_io(raw.get("inputs"), f"{label} inputs"),
            outputs=_parse_io(raw.get("outputs"), f"{label} outputs"),
        )
        pending.extend(
            (nested, f"{label} definitions.subgraphs[{i}]", depth + 1)
            for i, nested in enumerate(_definition_list(raw, label))
        )
    return found


def _instance_inputs(node: UINode, definition: SubgraphDefinition) -> list[UIInputSlot]:
    """The instance's input slots in definition order, with the link ids the saved instance holds.

    Saved slots are matched by name; a slot whose name is no longer in the definition
    (a renamed input) is matched by position, as the editor rebinds them.
    """
    defined_names = {io.name for io in definition.inputs}
    saved_by_name: dict[str, list[UIInputSlot]] = {}
    for slot in node.inputs:
        saved_by_name.setdefault(slot.name, []).append(slot)
    slots = []
    for index, io in enumerate(definition.inputs):
        saved = None
        if saved_by_name.get(io.name):
            saved = saved_by_name[io.name].pop(0)
        elif index < len(node.inputs) and node.inputs[index].name not in defined_names:
            saved = node.inputs[index]
        link = saved.link if saved else None
        slots.append(UIInputSlot(io.name, io.type, link, saved.widget_name if saved else None))
    return slots


def _promoted_input_names(definition: SubgraphDefinition, slots: list[UIInputSlot]) -> list[str]:
    """Subgraph inputs that feed a widget inside (the editor shows them as widgets on the instance)."""
    inner = definition.graph
    feeding_widgets = set()
    for link in inner.links_from.get(SUBGRAPH_INPUT_ID, []):
        target = inner.nodes.get(link.target_id)
        if target and link.target_slot < len(target.inputs) and target.inputs[link.target_slot].widget_name:
            feeding_widgets.add(link.origin_slot)
    return [slot.name for i, slot in enumerate(slots) if slot.widget_name is not None or i in feeding_widgets]


def _promoted_values(node: UINode, definition: SubgraphDefinition, slots: list[UIInputSlot]) -> dict[str, Any]:
    """Widget values the instance holds, by subgraph input name.

    The editor saves one value per promoted input, in input order (or by name in
    ``widgets_values_named``); older saves also kept the control_after_generate value
    after a seed, which is skipped.
    """
    promoted = _promoted_input_names(definition, slots)
    values = node.widgets_values
    named = dict(node.widgets_values_named or {})
    if isinstance(values, dict):
        named = {**values, **named}
        values = []
    values = values or []
    has_control_slots = len(values) > len(promoted)
    result: dict[str, Any] = {}
    index = 0
    for name in promoted:
        if name in named:
            result[name] = named[name]
        elif index < len(values):
            result[name] = values[index]
        index += 1
        if has_control_slots and index < len(values) and looks_like_control_value(values[index]):
            index += 1
    return result


def expand_workflow(root: UIGraph, definitions: dict[str, SubgraphDefinition]) -> dict[str, ExecNode]:
    """Flatten the root graph and every (active) subgraph instance into execution-id-keyed nodes."""
    flat: dict[str, ExecNode] = {}

    def walk(graph: UIGraph, prefix: tuple[str, ...], parent: ExecNode | None, active: tuple[str, ...]) -> None:
        for node in graph.nodes.values():
            exec_id = ":".join((*prefix, node.id))
            if exec_id in flat:
                raise WorkflowError(f"{node.where}: execution id {exec_id} is used twice", node_id=exec_id)
            if len(flat) >= MAX_EXPANDED_NODES:
                raise WorkflowError(f"workflow expands to more than {MAX_EXPANDED_NODES} nodes")
            definition = definitions.get(node.type)
            entry = ExecNode(exec_id, node, graph, prefix, parent, definition)
            if definition is None:
                entry.input_slots = node.inputs
                entry.output_types = [o.type for o in node.outputs]
            else:
                entry.input_slots = _instance_inputs(node, definition)
                entry.output_types = [o.type for o in definition.outputs]
                entry.promoted = _promoted_values(node, definition, entry.input_slots)
            flat[exec_id] = entry
            if definition is None or node.mode in (MODE_NEVER, MODE_BYPASS):
                continue
            if definition.id in active:
                raise WorkflowError(f"{node.where}: {definition.label} contains an instance of itself", node_id=exec_id)
            if len(prefix) >= MAX_SUBGRAPH_NESTING:
                raise WorkflowError(
                    f"{node.where}: subgraph instances nest more than {MAX_SUBGRAPH_NESTING} levels", node_id=exec_id
                )
            walk(definition.graph, (*prefix, node.id), entry, (*active, definition.id))

    walk(root, (), None, ())
    return flat
