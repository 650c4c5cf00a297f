"""UI workflow → API prompt, as ComfyUI's editor exports it (``graphToPrompt``).

Each node that runs becomes ``{"inputs", "class_type", "_meta": {"title"}}`` keyed by
its execution id (``str(node.id)``; ``"12:5"`` inside subgraph instance 12). Inputs
are the widget values by name (the layout of `graph.widget_layout`; lists wrapped as
``{"__value__": [...]}``), then every connected input as ``[origin_id, origin_slot]``
after resolving through frontend-only nodes:

- ``Reroute`` passes its input through (chains too); ``PrimitiveNode`` copies its
  value into the widgets it drives; ``Note``/``MarkdownNote`` are ignored.
- Bypassed nodes (mode 4) are skipped over: the input with the same slot index if its
  type fits, else the first input of the wanted type (LiteGraph's rules).
- Muted nodes (mode 2) are dropped, and inputs that point at them are deleted.
- Subgraph instances are crossed in both directions (boundary nodes -10 and -20); an
  unconnected subgraph input that feeds a widget gives the instance's widget value.

A widget input driven by a link (a "converted widget") keeps its slot in
``widgets_values``; the link wins. Old files load as the editor loads them: a widget saved
before it existed gets its default (with a note), an old upload-button value is skipped
(graph.widget_layout). Unknown node types of nodes that would run are a
`WorkflowError` naming the node; muted and bypassed nodes need no schema.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from graph.prompt import is_link, wrap_literal
from graph.schema import NodeSchema
from graph.subgraphs import ExecNode, SubgraphDefinition, collect_definitions, expand_workflow
from graph.ui_graph import (
    MODE_BYPASS,
    MODE_NEVER,
    SUBGRAPH_INPUT_ID,
    SUBGRAPH_OUTPUT_ID,
    UILink,
    parse_graph,
)
from graph.widget_layout import read_widget_values, widget_inputs
from graph.workflow_error import WorkflowError

log = logging.getLogger("latentgraph.graph.ui_to_api")

# Frontend-only node types: never sent to the backend.
REROUTE = "Reroute"
PRIMITIVE = "PrimitiveNode"
NOTE_TYPES = frozenset({"Note", "MarkdownNote"})
VIRTUAL_TYPES = frozenset({REROUTE, PRIMITIVE, *NOTE_TYPES})


@dataclass(frozen=True)
class _Ref:
    node_id: str
    slot: int


@dataclass(frozen=True)
class _Value:
    value: Any


def types_connect(a: str, b: str) -> bool:
    """LiteGraph's socket rule used for bypass matching: ``*``/empty match anything,
    otherwise equal ignoring case, or overlapping comma-separated sets."""
    if a in ("", "*") or b in ("", "*"):
        return True
    a, b = a.lower(), b.lower()
    if a == b:
        return True
    return bool(set(a.split(",")) & set(b.split(",")))


def _bypass_input_index(entry: ExecNode, slot: int, wanted: str) -> int:
    """Which input a bypassed node passes to its output `slot` for a consumer of type `wanted`; -1 for none."""
    inputs = entry.input_slots
    if not inputs:
        return -1
    if wanted in ("", "*"):
        return slot if slot < len(inputs) else 0
    out_type = entry.output_types[slot] if slot < len(entry.output_types) else "*"
    if slot < len(inputs) and types_connect(inputs[slot].type, out_type) and types_connect(inputs[slot].type, wanted):
        return slot
    for index, candidate in enumerate(inputs):
        if candidate.type == wanted:
            return index
    for index, candidate in enumerate(inputs):
        if types_connect(candidate.type, out_type) and types_connect(candidate.type, wanted):
            return index
    return -1


class _Converter:
    def __init__(self, workflow: dict, registry: Any, notes: list[str] | None = None) -> None:
        if not isinstance(workflow, dict):
            raise WorkflowError(f"a UI workflow must be an object, not {type(workflow).__name__}")
        self.registry = registry
        self.definitions = collect_definitions(workflow)
        self.flat = expand_workflow(parse_graph(workflow, "workflow"), self.definitions)
        self.schemas: dict[str, NodeSchema] = {}
        self.widget_specs: dict[str, list] = {}
        self.overrides: dict[str, dict[str, Any]] = {}
        self.output_links: dict[str, dict[int, UILink]] = {}
        self.notes = notes if notes is not None else []

    # --- lookups -------------------------------------------------------------------------
    def schema(self, entry: ExecNode) -> NodeSchema:
        class_type = entry.node.type
        if class_type not in self.schemas:
            node_type = self.registry.get(class_type)
            if node_type is None:
                raise WorkflowError(
                    f"{entry.node.where}: unknown node type '{class_type}'{_unknown_hint(class_type)}",
                    node_id=entry.id,
                )
            self.schemas[class_type] = node_type.schema()
            self.widget_specs[class_type] = widget_inputs(self.schemas[class_type])
        return self.schemas[class_type]

    def boundary_output_link(self, definition: SubgraphDefinition, slot: int) -> UILink | None:
        if definition.id not in self.output_links:
            by_slot: dict[int, UILink] = {}
            for link in definition.graph.links.values():
                if link.target_id == SUBGRAPH_OUTPUT_ID:
                    by_slot.setdefault(link.target_slot, link)
            self.output_links[definition.id] = by_slot
        return self.output_links[definition.id].get(slot)

    # --- PrimitiveNode ---------------------------------------------------------------------
    def apply_primitives(self) -> None:
        """Copy each PrimitiveNode's value into the widgets its links drive (the editor's applyToGraph)."""
        for entry in self.flat.values():
            if entry.node.type != PRIMITIVE:
                continue
            links = entry.graph.links_from.get(entry.node.id, [])
            if not links:
                continue
            values = entry.node.widgets_values
            if not isinstance(values, list) or not values:
                raise WorkflowError(
                    f"{entry.node.where}: PrimitiveNode is connected but holds no value", node_id=entry.id
                )
            for link in links:
                target = entry.graph.nodes.get(link.target_id)
                if target is None or link.target_slot >= len(target.inputs):
                    continue
                slot = target.inputs[link.target_slot]
                if slot.link != link.id:
                    continue  # a stale entry of the link table
                name = slot.widget_name or slot.name
                self.overrides.setdefault(entry.sibling_id(target.id), {})[name] = values[0]

    # --- link resolution -------------------------------------------------------------------
    def resolve_input(self, entry: ExecNode, slot_index: int) -> _Ref | _Value | None:
        """Follow input `slot_index` of `entry` to the real node output (or value) that feeds it."""
        visited: set[tuple[str, str, int]] = set()
        kind, cur, slot, wanted = "in", entry, slot_index, ""
        while True:
            key = (kind, cur.id, slot)
            if key in visited:
                raise WorkflowError(
                    f"{entry.node.where}: input '{entry.input_slots[slot_index].name}' is linked in a circle "
                    f"through reroute, bypassed or subgraph nodes (at node {cur.id})",
                    node_id=entry.id,
                    input_name=entry.input_slots[slot_index].name,
                )
            visited.add(key)
            if kind == "in":
                step = self._step_in(cur, slot, wanted)
            else:
                step = self._step_out(cur, slot, wanted)
            if step is None or isinstance(step, (_Ref, _Value)):
                return step
            kind, cur, slot, wanted = step

    def _step_in(self, cur: ExecNode, slot: int, wanted: str):
        """One hop from an input slot to the output (or subgraph input) that feeds it."""
        if slot >= len(cur.input_slots):
            raise WorkflowError(f"{cur.node.where}: has no input slot {slot}", node_id=cur.id)
        in_slot = cur.input_slots[slot]
        if in_slot.link is None:
            return None
        link = cur.graph.links.get(in_slot.link)
        if link is None:
            raise WorkflowError(
                f"{cur.node.where}: input '{in_slot.name}' uses link {in_slot.link}, which is not in the links of "
                f"{cur.graph.where}",
                node_id=cur.id,
                input_name=in_slot.name,
            )
        wanted = wanted or in_slot.type
        if link.origin_id == SUBGRAPH_INPUT_ID:
            instance = cur.parent
            if instance is None:
                raise WorkflowError(
                    f"{cur.node.where}: input '{in_slot.name}' comes from a subgraph input but the node is not "
                    f"inside a subgraph",
                    node_id=cur.id,
                    input_name=in_slot.name,
                )
            if link.origin_slot >= len(instance.input_slots):
                raise WorkflowError(
                    f"{cur.node.where}: input '{in_slot.name}' comes from subgraph input {link.origin_slot}, but "
                    f"{instance.definition.label} has {len(instance.input_slots)} input(s)",
                    node_id=cur.id,
                    input_name=in_slot.name,
                )
            outer = instance.input_slots[link.origin_slot]
            if outer.link is None:
                return _Value(instance.promoted[outer.name]) if outer.name in instance.promoted else None
            return "in", instance, link.origin_slot, ""
        origin = cur.graph.nodes.get(link.origin_id)
        if origin is None:
            raise WorkflowError(
                f"{cur.node.where}: input '{in_slot.name}' is linked (link {link.id}) from node {link.origin_id}, "
                f"which does not exist in {cur.graph.where}",
                node_id=cur.id,
                input_name=in_slot.name,
            )
        return "out", self.flat[cur.sibling_id(origin.id)], link.origin_slot, wanted

    def _step_out(self, cur: ExecNode, slot: int, wanted: str):
        """One hop from an output to what really produces it: a node, a pass-through, or nothing."""
        node = cur.node
        if node.mode == MODE_BYPASS:
            index = _bypass_input_index(cur, slot, wanted)
            return None if index < 0 else ("in", cur, index, "")
        if node.type in VIRTUAL_TYPES:  # Reroute passes through whatever its mode, as in the editor
            return ("in", cur, slot, wanted) if slot < len(cur.input_slots) else None
        if node.mode == MODE_NEVER:
            return _Ref(cur.id, slot)  # deleted once the prompt is built, as the editor does
        if cur.definition is not None:
            inner_link = self.boundary_output_link(cur.definition, slot)
            if inner_link is None:
                return None
            if inner_link.origin_id == SUBGRAPH_INPUT_ID:  # a subgraph input wired straight to an output
                return "in", cur, inner_link.origin_slot, ""
            inner = self.flat.get(":".join((*cur.prefix, node.id, inner_link.origin_id)))
            if inner is None:
                raise WorkflowError(
                    f"{cur.definition.label}: output {slot} comes from node {inner_link.origin_id}, which does not "
                    f"exist in the subgraph",
                    node_id=cur.id,
                )
            return "out", inner, inner_link.origin_slot, wanted
        return _Ref(cur.id, slot)

    # --- output ----------------------------------------------------------------------------
    def node_inputs(self, entry: ExecNode, schema: NodeSchema, refs: list) -> dict[str, Any]:
        node = entry.node
        specs = self.widget_specs[node.type]
        values = read_widget_values(
            schema, node.widgets_values, node.widgets_values_named, node_id=entry.id, where=node.where, specs=specs,
            notes=self.notes,
        )
        for name, value in self.overrides.get(entry.id, {}).items():
            if any(spec.name == name for spec in specs):
                values[name] = value
        inputs = {name: wrap_literal(value) for name, value in values.items()}
        for index, slot in enumerate(entry.input_slots):
            if slot.link is None:
                continue
            resolved = self.resolve_input(entry, index)
            if resolved is None:
                continue
            if isinstance(resolved, _Value):
                inputs[slot.name] = wrap_literal(resolved.value)
                continue
            inputs[slot.name] = [resolved.node_id, resolved.slot]
            refs.append((entry, slot.name, resolved))
        return inputs

    def convert(self) -> dict:
        self.apply_primitives()
        prompt: dict[str, dict] = {}
        refs: list[tuple[ExecNode, str, _Ref]] = []
        for entry in self.flat.values():
            node = entry.node
            if entry.definition is not None or node.type in VIRTUAL_TYPES or node.mode in (MODE_NEVER, MODE_BYPASS):
                continue
            schema = self.schema(entry)
            prompt[entry.id] = {
                "inputs": self.node_inputs(entry, schema, refs),
                "class_type": node.type,
                "_meta": {"title": node.title or schema.display_name or node.type},
            }
        for entry, name, ref in refs:
            if ref.node_id not in prompt:
                continue
            outputs = self.schemas[prompt[ref.node_id]["class_type"]].outputs
            if ref.slot >= len(outputs):
                raise WorkflowError(
                    f"{entry.node.where}: input '{name}' is linked to output {ref.slot} of node {ref.node_id} "
                    f"({prompt[ref.node_id]['class_type']}), which has {len(outputs)} output(s)",
                    node_id=entry.id,
                    input_name=name,
                )
        for api_node in prompt.values():
            inputs = api_node["inputs"]
            for name in [n for n, v in inputs.items() if is_link(v) and v[0] not in prompt]:
                del inputs[name]
        return prompt


def _unknown_hint(class_type: str) -> str:
    if class_type.startswith(("workflow>", "workflow/")):
        return " (a legacy group node; convert it to a subgraph in the editor)"
    if len(class_type) == 36 and class_type.count("-") == 4:
        return " (looks like a subgraph id, but definitions.subgraphs has no such subgraph)"
    return " (not a registered node type)"


def ui_to_api(workflow: dict, registry: Any, *, notes: list[str] | None = None) -> dict:
    """Convert a UI workflow (version 0.4 or 1, with subgraphs) to an API prompt, as the editor's export does.

    `registry` is a `graph.schema.Registry`; node schemas give the widget order.
    Raises `WorkflowError` naming the node (and input) for wrong shapes, unknown node
    types, links to missing nodes, a missing widget value without a default and circular
    reroutes. What was filled in as the editor would (a widget the file was saved without
    gets its default) is appended to `notes` and logged.
    """
    notes = notes if notes is not None else []
    start = len(notes)
    prompt = _Converter(workflow, registry, notes).convert()
    for note in notes[start:]:
        log.info("%s", note)
    return prompt
